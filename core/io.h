// Atomic file output: write to a temporary file beside the target, flush and
// fsync, then rename over it. A reader (or a crash) sees the old file or the
// new one, never a torn one.
//
// Temporaries are named TARGET.tmp.<host>.<pid> (WriteFileAtomic) and
// TARGET.partial (AtomicLineWriter). Every error path closes the descriptor
// and removes the temporary; only a process killed between the write and
// the rename (kill -9, power loss) leaves one behind, and
// RemoveStaleTemporaries clears those when the directory is reopened.
#pragma once

#include <string>
#include <vector>

namespace cohort {

void WriteFileAtomic(const std::string& path, const std::string& content);

// Appends lines to PATH.partial and renames it to PATH on Commit(); the
// target only ever holds a complete file. Destroying without Commit() leaves
// the .partial file for inspection, never a truncated target; a failed
// Commit() removes it.
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

// Who may be writing in a directory while it is reopened.
enum class DirectoryUse {
  // One process at a time by contract (a run directory, a meta run
  // directory): every temporary in it is stale.
  kOwned,
  // Several processes at once, possibly on several hosts (a sweep directory:
  // its shards and `cohort report`): a temporary is stale when it names this
  // host and a process that no longer runs, or when it is older than
  // kStaleTemporarySeconds (a write and its rename take milliseconds).
  kShared,
};
inline constexpr double kStaleTemporarySeconds = 3600.0;

// Removes the stale temporaries (NAME.tmp.<host>.<pid>, NAME.tmp.<pid> of
// older versions, NAME.partial) of the directory's own files directly in
// `dir` (not below it): NAME must be one of `own_files` (an entry "*.svg"
// matches every NAME ending in .svg). No other file is ever touched, so a
// user's own *.partial beside a run directory's files stays. Returns the
// names removed; a missing directory has none.
std::vector<std::string> RemoveStaleTemporaries(const std::string& dir, DirectoryUse use,
                                                const std::vector<std::string>& own_files);

// This host's name as temporaries record it ('.' and '/' replaced by '_').
std::string TemporaryHostName();

}  // namespace cohort
