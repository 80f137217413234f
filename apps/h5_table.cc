#include "apps/h5_table.h"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>

namespace cohort {
namespace {

size_t SizeOf(H5Table::Type t) {
  switch (t) {
    case H5Table::Type::kInt8:
    case H5Table::Type::kUInt8:
      return 1;
    case H5Table::Type::kInt32:
    case H5Table::Type::kFloat32:
      return 4;
    case H5Table::Type::kInt64:
    case H5Table::Type::kFloat64:
      return 8;
  }
  return 0;
}

hid_t FileType(H5Table::Type t) {
  switch (t) {
    case H5Table::Type::kInt8:
      return H5T_STD_I8LE;
    case H5Table::Type::kUInt8:
      return H5T_STD_U8LE;
    case H5Table::Type::kInt32:
      return H5T_STD_I32LE;
    case H5Table::Type::kInt64:
      return H5T_STD_I64LE;
    case H5Table::Type::kFloat32:
      return H5T_IEEE_F32LE;
    case H5Table::Type::kFloat64:
      return H5T_IEEE_F64LE;
  }
  return -1;
}

hid_t MemoryType(H5Table::Type t) {
  switch (t) {
    case H5Table::Type::kInt8:
      return H5T_NATIVE_INT8;
    case H5Table::Type::kUInt8:
      return H5T_NATIVE_UINT8;
    case H5Table::Type::kInt32:
      return H5T_NATIVE_INT32;
    case H5Table::Type::kInt64:
      return H5T_NATIVE_INT64;
    case H5Table::Type::kFloat32:
      return H5T_NATIVE_FLOAT;
    case H5Table::Type::kFloat64:
      return H5T_NATIVE_DOUBLE;
  }
  return -1;
}

}  // namespace

struct H5Table::Impl {
  struct Column {
    hid_t dataset = -1;
    Type type;
    int width;
    std::vector<char> buffer;  // buffered rows, row-major
    int64_t buffered = 0, written = 0;
  };
  std::string path, partial;
  int rows_per_chunk, deflate;
  hid_t file = -1;
  std::map<std::string, hid_t> groups;
  std::vector<Column> columns;
  bool committed = false;

  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error(partial + ": HDF5 could not " + what);
  }
  hid_t Group(const std::string& name) {
    if (name.empty()) return file;
    auto it = groups.find(name);
    if (it != groups.end()) return it->second;
    // No modification times in object headers: the same log is the same bytes.
    const hid_t props = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(props, false);
    const hid_t g = H5Gcreate2(file, name.c_str(), H5P_DEFAULT, props, H5P_DEFAULT);
    H5Pclose(props);
    if (g < 0) Fail("create group " + name);
    groups[name] = g;
    return g;
  }
  void Flush(Column& c) {
    if (c.buffered == 0) return;
    const int rank = c.width == 1 ? 1 : 2;
    const hsize_t total[2] = {hsize_t(c.written + c.buffered), hsize_t(c.width)};
    if (H5Dset_extent(c.dataset, total) < 0) Fail("grow a dataset");
    const hid_t space = H5Dget_space(c.dataset);
    const hsize_t start[2] = {hsize_t(c.written), 0}, count[2] = {hsize_t(c.buffered), hsize_t(c.width)};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
    const hid_t memory = H5Screate_simple(rank, count, nullptr);
    const herr_t status = H5Dwrite(c.dataset, MemoryType(c.type), memory, space, H5P_DEFAULT, c.buffer.data());
    H5Sclose(memory);
    H5Sclose(space);
    if (status < 0) Fail("write rows");
    c.written += c.buffered;
    c.buffered = 0;
  }
  void Close() {
    for (Column& c : columns)
      if (c.dataset >= 0) H5Dclose(c.dataset), c.dataset = -1;
    for (auto& [name, g] : groups) H5Gclose(g);
    groups.clear();
    if (file >= 0) H5Fclose(file), file = -1;
  }
};

H5Table::H5Table(std::string path, int rows_per_chunk, int deflate_level) : impl_(std::make_unique<Impl>()) {
  impl_->path = std::move(path);
  impl_->partial = impl_->path + ".partial";
  impl_->rows_per_chunk = rows_per_chunk;
  impl_->deflate = deflate_level;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported by the exceptions below
  impl_->file = H5Fcreate(impl_->partial.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (impl_->file < 0) impl_->Fail("create the file");
}

H5Table::~H5Table() {
  if (impl_->committed) return;
  impl_->Close();
  std::remove(impl_->partial.c_str());
}

int H5Table::AddColumn(const std::string& group, const std::string& name, Type type, int width,
                       const std::string& doc) {
  if (width < 1) throw std::invalid_argument("H5Table: column " + name + " has width " + std::to_string(width));
  Impl::Column c;
  c.type = type;
  c.width = width;
  const int rank = width == 1 ? 1 : 2;
  const hsize_t now[2] = {0, hsize_t(width)}, max[2] = {H5S_UNLIMITED, hsize_t(width)};
  const hsize_t chunk[2] = {hsize_t(impl_->rows_per_chunk), hsize_t(width)};
  const hid_t space = H5Screate_simple(rank, now, max);
  const hid_t props = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(props, rank, chunk);
  H5Pset_obj_track_times(props, false);
  if (impl_->deflate > 0) {
    H5Pset_shuffle(props);
    H5Pset_deflate(props, unsigned(impl_->deflate));
  }
  c.dataset = H5Dcreate2(impl_->Group(group), name.c_str(), FileType(type), space, H5P_DEFAULT, props, H5P_DEFAULT);
  H5Pclose(props);
  H5Sclose(space);
  if (c.dataset < 0) impl_->Fail("create dataset " + group + "/" + name);
  if (!doc.empty()) {
    const hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, doc.size());
    const hid_t scalar = H5Screate(H5S_SCALAR);
    const hid_t attr = H5Acreate2(c.dataset, "doc", str, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, str, doc.data());
    H5Aclose(attr);
    H5Sclose(scalar);
    H5Tclose(str);
  }
  c.buffer.resize(size_t(impl_->rows_per_chunk) * size_t(width) * SizeOf(type));
  impl_->columns.push_back(std::move(c));
  return int(impl_->columns.size()) - 1;
}

void H5Table::Append(int column, const void* values) {
  Impl::Column& c = impl_->columns[size_t(column)];
  const size_t row_bytes = size_t(c.width) * SizeOf(c.type);
  std::memcpy(c.buffer.data() + size_t(c.buffered) * row_bytes, values, row_bytes);
  if (++c.buffered == impl_->rows_per_chunk) impl_->Flush(c);
}

int64_t H5Table::rows() const {
  if (impl_->columns.empty()) return 0;
  const Impl::Column& c = impl_->columns[0];
  return c.written + c.buffered;
}

void H5Table::SetAttribute(const std::string& group, const std::string& name, const std::string& value) {
  const hid_t owner = impl_->Group(group);
  const hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, std::max<size_t>(1, value.size()));
  const hid_t scalar = H5Screate(H5S_SCALAR);
  const hid_t attr = H5Acreate2(owner, name.c_str(), str, scalar, H5P_DEFAULT, H5P_DEFAULT);
  const herr_t status = attr < 0 ? -1 : H5Awrite(attr, str, value.empty() ? "" : value.data());
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(scalar);
  H5Tclose(str);
  if (status < 0) impl_->Fail("write attribute " + name);
}

void H5Table::Commit() {
  const int64_t n = rows();
  for (Impl::Column& c : impl_->columns) {
    if (c.written + c.buffered != n)
      throw std::logic_error("H5Table: columns of different lengths at commit");
    impl_->Flush(c);
  }
  impl_->Close();
  const int fd = ::open(impl_->partial.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (std::rename(impl_->partial.c_str(), impl_->path.c_str()) != 0)
    throw std::runtime_error(impl_->partial + ": cannot rename to " + impl_->path + ": " + std::strerror(errno));
  impl_->committed = true;
}

H5Reader::H5Reader(const std::string& path) : path_(path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0) throw std::runtime_error(path + ": not an HDF5 file HDF5 can open");
}

H5Reader::~H5Reader() {
  if (file_ >= 0) H5Fclose(hid_t(file_));
}

bool H5Reader::HasAttribute(const std::string& name) const { return H5Aexists(hid_t(file_), name.c_str()) > 0; }

std::string H5Reader::Attribute(const std::string& name) const {
  if (!HasAttribute(name)) throw std::runtime_error(path_ + ": no attribute \"" + name + "\"");
  const hid_t attr = H5Aopen(hid_t(file_), name.c_str(), H5P_DEFAULT);
  const hid_t type = H5Aget_type(attr);
  std::string out;
  if (H5Tget_class(type) == H5T_STRING && !H5Tis_variable_str(type)) {
    out.resize(H5Tget_size(type));
    const hid_t memory = H5Tcopy(H5T_C_S1);
    H5Tset_size(memory, out.size());
    H5Aread(attr, memory, out.data());
    H5Tclose(memory);
    while (!out.empty() && out.back() == '\0') out.pop_back();
  }
  H5Tclose(type);
  H5Aclose(attr);
  return out;
}

bool H5Reader::HasColumn(const std::string& path) const {
  const size_t slash = path.find('/');
  if (slash != std::string::npos && H5Lexists(hid_t(file_), path.substr(0, slash).c_str(), H5P_DEFAULT) <= 0)
    return false;
  return H5Lexists(hid_t(file_), path.c_str(), H5P_DEFAULT) > 0;
}

template <class T>
std::vector<T> H5Reader::Read(const std::string& path, int64_t* rows, int* width, int64_t memory_type) const {
  if (!HasColumn(path)) throw std::runtime_error(path_ + ": no column \"" + path + "\"");
  const hid_t dataset = H5Dopen2(hid_t(file_), path.c_str(), H5P_DEFAULT);
  const hid_t space = H5Dget_space(dataset);
  const int rank = H5Sget_simple_extent_ndims(space);
  hsize_t dims[2] = {0, 1};
  if (rank < 1 || rank > 2) {
    H5Sclose(space);
    H5Dclose(dataset);
    throw std::runtime_error(path_ + ": column \"" + path + "\" is not a table column");
  }
  H5Sget_simple_extent_dims(space, dims, nullptr);
  std::vector<T> out(size_t(dims[0]) * size_t(rank == 2 ? dims[1] : 1));
  const herr_t status = out.empty() ? 0 : H5Dread(dataset, hid_t(memory_type), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
  H5Sclose(space);
  H5Dclose(dataset);
  if (status < 0) throw std::runtime_error(path_ + ": column \"" + path + "\" could not be read (damaged file?)");
  *rows = int64_t(dims[0]);
  *width = rank == 2 ? int(dims[1]) : 1;
  return out;
}

std::vector<double> H5Reader::Doubles(const std::string& path, int64_t* rows, int* width) const {
  return Read<double>(path, rows, width, int64_t(H5T_NATIVE_DOUBLE));
}
std::vector<int64_t> H5Reader::Integers(const std::string& path, int64_t* rows, int* width) const {
  return Read<int64_t>(path, rows, width, int64_t(H5T_NATIVE_INT64));
}

}  // namespace cohort
