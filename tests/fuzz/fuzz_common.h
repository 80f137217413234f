// Shared by the libFuzzer targets in tests/fuzz/ (docs/hardening.md).
//
// Every target hands its bytes to one loader and lets only the loader's
// documented error through: cohort::InputError for the JSON loaders (the CLI's
// exit 2), std::runtime_error for a checkpoint (exit 1; InputError is one).
// Any other exception is a finding: it is printed with its type and the
// process aborts, so libFuzzer keeps the input. Crashes, leaks and undefined
// behaviour abort through the sanitizers.
#pragma once

#include <cxxabi.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <typeinfo>

namespace cohort::fuzz {

namespace fs = std::filesystem;

// The directory the shipped scenarios/ live in (a compile definition).
inline fs::path SourceDir() { return fs::path(COHORT_SOURCE_DIR); }

// A private directory, $TMPDIR (else /dev/shm, else /tmp)/cohort_fuzz_NAME_PID,
// removed at exit (and, when a finding aborted the process, at the next start). It mirrors scenarios/: a symbolic link to every shipped
// file and folder except sweeps/ and meta/, which are real folders for the
// input, so that the relative "base" and "scenario" paths of the seed files
// ("../bandit_family.json") resolve as they do in the source tree.
inline const fs::path& WorkDir(const std::string& name) {
  static const fs::path dir = [&] {
    fs::path root = "/tmp";
    if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0') {
      root = t;
    } else if (std::error_code ec; fs::is_directory("/dev/shm", ec) && access("/dev/shm", W_OK) == 0) {
      root = "/dev/shm";
    }
    // A process that aborted on a finding left its directory: remove those of dead processes.
    const std::string prefix = "cohort_fuzz_" + name + "_";
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
      const std::string leaf = e.path().filename().string();
      if (leaf.rfind(prefix, 0) != 0 || leaf.size() == prefix.size() || leaf.size() > prefix.size() + 9 ||
          leaf.find_first_not_of("0123456789", prefix.size()) != std::string::npos)
        continue;
      const long pid = std::stol(leaf.substr(prefix.size()));
      if (kill(pid_t(pid), 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
    }
    const fs::path d = root / (prefix + std::to_string(getpid()));
    fs::remove_all(d);
    fs::create_directories(d / "scenarios" / "sweeps");
    fs::create_directories(d / "scenarios" / "meta");
    for (const fs::directory_entry& e : fs::directory_iterator(SourceDir() / "scenarios")) {
      const std::string leaf = e.path().filename().string();
      if (leaf == "sweeps" || leaf == "meta") continue;
      fs::create_symlink(e.path(), d / "scenarios" / leaf);
    }
    return d;
  }();
  static const struct Cleanup {
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup;
  return dir;
}

// Writes the input to WorkDir(name)/relative and returns its path.
inline std::string WriteInput(const std::string& name, const std::string& relative, const uint8_t* data,
                              size_t size) {
  const fs::path p = WorkDir(name) / relative;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "%s: cannot write %s\n", name.c_str(), p.c_str());
    std::abort();
  }
  return p.string();
}

[[noreturn]] inline void Escaped(const std::string& target, const std::type_info& type, const char* what) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                  &std::free);
  std::fprintf(stderr, "%s: FINDING: an input escaped as %s: %s\n", target.c_str(),
               status == 0 ? name.get() : type.name(), what);
  std::abort();
}

// COHORT_FUZZ_EXPECT_LOAD set: every input is a good file (the checkpoints
// `cohort run` wrote), so the clean error is a finding too.
inline bool ExpectLoad() {
  static const bool expect = std::getenv("COHORT_FUZZ_EXPECT_LOAD") != nullptr;
  return expect;
}

// Runs `fn`; an exception of type Clean (or derived) is the expected outcome
// of a bad input; any other exception aborts.
template <typename Clean, typename Fn>
void Run(const std::string& target, Fn&& fn) {
  try {
    fn();
  } catch (const Clean& e) {
    if (ExpectLoad()) {
      std::fprintf(stderr, "%s: COHORT_FUZZ_EXPECT_LOAD: a good input was refused: %s\n", target.c_str(), e.what());
      std::abort();
    }
  } catch (const std::exception& e) {
    Escaped(target, typeid(e), e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: FINDING: an input escaped as an exception of unknown type\n", target.c_str());
    std::abort();
  }
}

}  // namespace cohort::fuzz
