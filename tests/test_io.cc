// core/io.h: atomic writes leave no descriptor and no temporary behind on any
// error path, and reopened directories lose the temporaries a killed process
// left (and nothing else).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/io.h"

namespace fs = std::filesystem;
using namespace cohort;

namespace {

fs::path Scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("cohort_test_io_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

size_t OpenDescriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::vector<std::string> Names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void Touch(const fs::path& p, double age_seconds = 0) {
  std::ofstream(p.string()) << "x";
  if (age_seconds > 0) {
    const time_t t = std::time(nullptr) - time_t(age_seconds);
    const struct utimbuf times { t, t };
    REQUIRE(utime(p.c_str(), &times) == 0);
  }
}

// A pid that ran and has exited (and been reaped).
long DeadPid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return long(child);
}

}  // namespace

TEST_CASE("io: a failed fsync closes the descriptor and removes the temporary") {
  const fs::path dir = Scratch("fsync");
  const fs::path target = dir / "summary.json";
  // The temporary WriteFileAtomic will open, made a link to /dev/null: the
  // write succeeds and fsync fails (EINVAL: a device that cannot sync).
  const fs::path tmp = dir / ("summary.json.tmp." + TemporaryHostName() + "." + std::to_string(getpid()));
  fs::create_symlink("/dev/null", tmp);
  const size_t before = OpenDescriptors();
  std::string error;
  try {
    WriteFileAtomic(target.string(), "{}\n");
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  CHECK(error.find("cannot flush") != std::string::npos);
  CHECK(OpenDescriptors() == before);
  CHECK_FALSE(fs::exists(fs::symlink_status(tmp)));
  CHECK_FALSE(fs::exists(target));
  CHECK(fs::exists("/dev/null"));
}

TEST_CASE("io: a failed rename removes the temporary (WriteFileAtomic and AtomicLineWriter)") {
  const fs::path dir = Scratch("rename");
  // A non-empty directory cannot be renamed over.
  const fs::path target = dir / "cells.jsonl";
  fs::create_directories(target / "inside");
  const size_t before = OpenDescriptors();
  CHECK_THROWS_AS(WriteFileAtomic(target.string(), "x\n"), std::runtime_error);
  CHECK(OpenDescriptors() == before);
  {
    AtomicLineWriter w(target.string());
    w.Write("a line");
    CHECK_THROWS_AS(w.Commit(), std::runtime_error);
  }
  CHECK(OpenDescriptors() == before);
  CHECK(Names(dir) == std::vector<std::string>{"cells.jsonl"});  // no .tmp.*, no .partial
}

TEST_CASE("io: temporaries are named after the host and pid, and the target only appears whole") {
  const fs::path dir = Scratch("names");
  WriteFileAtomic((dir / "a.json").string(), "1\n");
  CHECK(Names(dir) == std::vector<std::string>{"a.json"});
  CHECK(TemporaryHostName().find('.') == std::string::npos);
  CHECK(TemporaryHostName().find('/') == std::string::npos);
}

TEST_CASE("io: an owned directory loses every temporary of its own files, nothing else") {
  const fs::path dir = Scratch("owned");
  const std::string host = TemporaryHostName();
  for (const std::string& name :
       std::vector<std::string>{"checkpoint.bin", "checkpoint.bin.tmp." + host + ".123", "summary.json.tmp.77",
                                "metrics.jsonl.partial", "checkpoint.bin.tmp.otherhost." + std::to_string(getppid()),
                                "notes.txt.partial", "notes.txt.tmp.5", "summary.json.tmp.x5", "summary.json.tmpfile"})
    Touch(dir / name);
  fs::create_directories(dir / "metrics.jsonl.tmp.9");  // a directory: never removed
  const std::vector<std::string> own = {"checkpoint.bin", "summary.json", "metrics.jsonl"};
  std::vector<std::string> removed = RemoveStaleTemporaries(dir.string(), DirectoryUse::kOwned, own);
  std::sort(removed.begin(), removed.end());
  std::vector<std::string> expected = {"checkpoint.bin.tmp." + host + ".123",
                                       "checkpoint.bin.tmp.otherhost." + std::to_string(getppid()),
                                       "metrics.jsonl.partial", "summary.json.tmp.77"};
  std::sort(expected.begin(), expected.end());
  CHECK(removed == expected);
  CHECK(Names(dir) == std::vector<std::string>{"checkpoint.bin", "metrics.jsonl.tmp.9", "notes.txt.partial",
                                               "notes.txt.tmp.5", "summary.json.tmp.x5", "summary.json.tmpfile"});
  CHECK(RemoveStaleTemporaries((dir / "missing").string(), DirectoryUse::kOwned, own).empty());
}

TEST_CASE("io: a shared directory loses only temporaries that are certainly stale") {
  const fs::path dir = Scratch("shared");
  const std::string host = TemporaryHostName();
  const std::string dead = std::to_string(DeadPid()), alive = std::to_string(getppid());
  const std::string dead_here = "cells.jsonl.tmp." + host + "." + dead;                // this host, process gone
  const std::string alive_here = "cells.jsonl.tmp." + host + "." + alive;              // this host, still running
  const std::string mine = "results.md.tmp." + host + "." + std::to_string(getpid());  // an earlier process's
  const std::string legacy_dead = "results.csv.tmp." + dead;                           // older name, process gone
  const std::string other_fresh = "sweep.resolved.json.tmp.elsewhere.1";               // another host, just now
  const std::string other_old = "sweep.resolved.json.tmp.elsewhere.2";                 // another host, 2 hours ago
  for (const std::string& n : std::vector<std::string>{dead_here, alive_here, mine, legacy_dead, other_fresh})
    Touch(dir / n);
  Touch(dir / other_old, 2 * kStaleTemporarySeconds);
  Touch(dir / "unrelated.tmp.elsewhere.3", 2 * kStaleTemporarySeconds);
  std::vector<std::string> removed = RemoveStaleTemporaries(
      dir.string(), DirectoryUse::kShared, {"sweep.resolved.json", "cells.jsonl", "results.csv", "results.md"});
  std::sort(removed.begin(), removed.end());
  std::vector<std::string> expected = {dead_here, legacy_dead, mine, other_old};
  std::sort(expected.begin(), expected.end());
  CHECK(removed == expected);
  std::vector<std::string> kept = {alive_here, other_fresh, "unrelated.tmp.elsewhere.3"};
  std::sort(kept.begin(), kept.end());
  CHECK(Names(dir) == kept);

  // A pattern entry matches by suffix (plots/*.svg).
  Touch(dir / "bar_ctr.svg.tmp.elsewhere.4", 2 * kStaleTemporarySeconds);
  CHECK(RemoveStaleTemporaries(dir.string(), DirectoryUse::kShared, {"*.svg"}) ==
        std::vector<std::string>{"bar_ctr.svg.tmp.elsewhere.4"});
}
