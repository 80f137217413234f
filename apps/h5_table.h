// Columns of equal length streamed into an HDF5 file: the writer behind
// `cohort log` (apps/log.h). Each column is one dataset of shape (rows,
// width) (or (rows,) for width 1) in a group, chunked along the rows and
// compressed (shuffle + deflate), grown as rows arrive; at most one chunk of
// rows per column is held in memory, so a log larger than memory works.
//
// The file is written as PATH.partial and renamed to PATH by Commit() after
// an fsync: a reader never sees a partial log, and an abandoned writer
// (destroyed without Commit, e.g. on SIGINT) removes its .partial file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cohort {

class H5Table {
 public:
  enum class Type { kInt8, kUInt8, kInt32, kInt64, kFloat32, kFloat64 };
  // Opens PATH.partial (truncating it). Throws std::runtime_error naming the
  // file when HDF5 cannot create it.
  explicit H5Table(std::string path, int rows_per_chunk = 8192, int deflate_level = 1);
  ~H5Table();
  H5Table(const H5Table&) = delete;
  H5Table& operator=(const H5Table&) = delete;

  // A column `group`/`name` of `width` values per row (width >= 1); returns
  // its index for Append. All columns are declared before the first row.
  int AddColumn(const std::string& group, const std::string& name, Type type, int width, const std::string& doc);
  // One row's values of column `column` (width values of its type). Every
  // column receives exactly one Append per row, in any column order.
  void Append(int column, const void* values);
  // The rows appended so far (all columns agree after each complete row).
  int64_t rows() const;
  // A string attribute of the file (or of `group` when non-empty).
  void SetAttribute(const std::string& group, const std::string& name, const std::string& value);
  // Writes what is buffered, closes the file, fsyncs it and renames it to PATH.
  void Commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reading a log back (`cohort ope`): string attributes of the file and whole
// columns as doubles or integers. Errors name the file and the column
// (InputError from the caller's point of view: a file that is not a log).
class H5Reader {
 public:
  explicit H5Reader(const std::string& path);
  ~H5Reader();
  H5Reader(const H5Reader&) = delete;
  H5Reader& operator=(const H5Reader&) = delete;
  bool HasAttribute(const std::string& name) const;
  std::string Attribute(const std::string& name) const;
  bool HasColumn(const std::string& path) const;
  // The column at `path` ("steps/reward"): rows * width values, converted.
  std::vector<double> Doubles(const std::string& path, int64_t* rows, int* width) const;
  std::vector<int64_t> Integers(const std::string& path, int64_t* rows, int* width) const;

 private:
  template <class T>
  std::vector<T> Read(const std::string& path, int64_t* rows, int* width, int64_t memory_type) const;
  std::string path_;
  int64_t file_ = -1;
};

}  // namespace cohort
