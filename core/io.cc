#include "core/io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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

void SyncCloseRename(int fd, const std::string& from, const std::string& to) {
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw std::runtime_error("cannot flush " + from + ": " + std::strerror(errno));
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throw std::runtime_error("cannot rename " + from + " to " + to + ": " + std::strerror(errno));
}

}  // namespace

void WriteFileAtomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
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
  Flush();
  SyncCloseRename(fd_, partial_, path_);
  fd_ = -1;
}

}  // namespace cohort
