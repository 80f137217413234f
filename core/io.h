// Atomic file output: write to a temporary file beside the target, flush and
// fsync, then rename over it. A reader (or a crash) sees the old file or the
// new one, never a torn one.
#pragma once

#include <string>

namespace cohort {

void WriteFileAtomic(const std::string& path, const std::string& content);

// Appends lines to PATH.partial and renames it to PATH on Commit(); the
// target only ever holds a complete file. Destroying without Commit() leaves
// the .partial file for inspection, never a truncated target.
class AtomicLineWriter {
 public:
  explicit AtomicLineWriter(std::string path);
  ~AtomicLineWriter();
  void Write(const std::string& line);
  void Commit();

 private:
  std::string path_, partial_;
  int fd_ = -1;
  std::string buffer_;
  void Flush();
};

}  // namespace cohort
