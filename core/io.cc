#include "core/io.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace cohort {
namespace {

void WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    }
    done += size_t(n);
  }
}

int OpenForWrite(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  return fd;
}

// Flushes, closes `fd` and renames `from` over `to`. On any failure the
// descriptor is closed (once) and `from` removed before the error is thrown.
void SyncCloseRename(int fd, const std::string& from, const std::string& to) {
  auto fail = [&](const std::string& what, int error) {
    std::remove(from.c_str());
    throw std::runtime_error(what + ": " + std::strerror(error));
  };
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    fail("cannot flush " + from, error);
  }
  // close() releases the descriptor even when it reports an error.
  if (::close(fd) != 0) fail("cannot flush " + from, errno);
  if (std::rename(from.c_str(), to.c_str()) != 0) fail("cannot rename " + from + " to " + to, errno);
}

bool AllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// A temporary's writer: host ("" for the legacy NAME.tmp.<pid>) and pid.
struct TemporaryName {
  bool is_temporary = false;
  std::string target;  // NAME
  bool partial = false;
  std::string host;
  long long pid = -1;
};

TemporaryName ParseTemporary(const std::string& name) {
  TemporaryName t;
  if (name.size() > 8 && name.compare(name.size() - 8, 8, ".partial") == 0) {
    t.is_temporary = t.partial = true;
    t.target = name.substr(0, name.size() - 8);
    return t;
  }
  const size_t last = name.rfind('.');
  if (last == std::string::npos || last == 0 || !AllDigits(name.substr(last + 1)) || name.size() - last > 19) return t;
  const std::string rest = name.substr(0, last);
  auto ends_with_tmp = [](const std::string& s) { return s.size() > 4 && s.compare(s.size() - 4, 4, ".tmp") == 0; };
  if (ends_with_tmp(rest)) {
    t.is_temporary = true;  // NAME.tmp.<pid>
    t.target = rest.substr(0, rest.size() - 4);
  } else {
    const size_t dot = rest.rfind('.');
    if (dot == std::string::npos || dot + 1 == rest.size() || !ends_with_tmp(rest.substr(0, dot))) return t;
    t.is_temporary = true;  // NAME.tmp.<host>.<pid>
    t.host = rest.substr(dot + 1);
    t.target = rest.substr(0, dot - 4);
  }
  t.pid = std::stoll(name.substr(last + 1));
  return t;
}

bool ProcessRuns(long long pid) {
  if (pid <= 0 || pid > 0x7fffffff) return false;
  return ::kill(pid_t(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

std::string TemporaryHostName() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "localhost";
  std::string h(host);
  for (char& c : h)
    if (c == '.' || c == '/') c = '_';
  return h;
}

void WriteFileAtomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + TemporaryHostName() + "." + std::to_string(::getpid());
  const int fd = OpenForWrite(tmp);
  try {
    WriteAll(fd, content, tmp);
  } catch (...) {
    ::close(fd);
    std::remove(tmp.c_str());
    throw;
  }
  SyncCloseRename(fd, tmp, path);
}

AtomicLineWriter::AtomicLineWriter(std::string path) : path_(std::move(path)), partial_(path_ + ".partial") {
  fd_ = OpenForWrite(partial_);
}

AtomicLineWriter::~AtomicLineWriter() {
  if (fd_ >= 0) {
    try {
      Flush();
    } catch (...) {
    }
    ::close(fd_);
  }
}

void AtomicLineWriter::Write(const std::string& line) {
  buffer_ += line;
  buffer_ += '\n';
  if (buffer_.size() > (1 << 16)) Flush();
}

void AtomicLineWriter::Flush() {
  WriteAll(fd_, buffer_, partial_);
  buffer_.clear();
}

void AtomicLineWriter::Commit() {
  const int fd = fd_;
  try {
    Flush();
  } catch (...) {
    ::close(fd);
    fd_ = -1;
    std::remove(partial_.c_str());
    throw;
  }
  fd_ = -1;  // SyncCloseRename closes it, whatever happens
  SyncCloseRename(fd, partial_, path_);
}

namespace {
bool IsOwnFile(const std::string& name, const std::vector<std::string>& own_files) {
  for (const std::string& f : own_files) {
    if (f == name) return true;
    if (f.size() > 1 && f[0] == '*' && name.size() > f.size() - 1 &&
        name.compare(name.size() - (f.size() - 1), f.size() - 1, f, 1) == 0)
      return true;
  }
  return false;
}
}  // namespace

std::vector<std::string> RemoveStaleTemporaries(const std::string& dir, DirectoryUse use,
                                                const std::vector<std::string>& own_files) {
  std::vector<std::string> removed;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return removed;
  const std::string host = TemporaryHostName();
  const time_t now = std::time(nullptr);
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) names.push_back(e->d_name);
  ::closedir(d);
  for (const std::string& name : names) {
    const TemporaryName t = ParseTemporary(name);
    if (!t.is_temporary || !IsOwnFile(t.target, own_files)) continue;
    const std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    bool stale = use == DirectoryUse::kOwned;
    if (!stale) {
      const bool old = std::difftime(now, st.st_mtime) > kStaleTemporarySeconds;
      const bool here = !t.partial && (t.host.empty() || t.host == host);
      // Our own pid: a process of an earlier boot or container had it.
      stale = old || (here && (t.pid == ::getpid() || !ProcessRuns(t.pid)));
    }
    if (stale && std::remove(path.c_str()) == 0) removed.push_back(name);
  }
  return removed;
}

}  // namespace cohort
