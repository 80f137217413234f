// Binary checkpoints: a flat byte string written and read field by field in
// the same order. Only trivially copyable values and vectors of them (plus
// strings) are stored, so a checkpoint is exact (floats bit for bit) and a
// resumed run continues bit-identically. Readers check every length and throw
// std::runtime_error naming the checkpoint when it is truncated or corrupt.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cohort {

class BinaryWriter {
 public:
  template <typename T>
  void Pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    data_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  template <typename T>
  void Vector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    Pod<uint64_t>(v.size());
    if (!v.empty()) data_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void Bytes(const void* p, size_t n) {
    Pod<uint64_t>(n);
    data_.append(static_cast<const char*>(p), n);
  }
  void String(const std::string& s) { Bytes(s.data(), s.size()); }
  // A tag checked on reading: catches a reader that drifted out of step.
  void Tag(const char* name) { String(name); }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
};

class BinaryReader {
 public:
  BinaryReader(std::string_view data, std::string what) : data_(data), what_(std::move(what)) {}
  template <typename T>
  void Pod(T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    Need(sizeof(T));
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
  }
  template <typename T>
  T Get() {
    T v{};
    Pod(v);
    return v;
  }
  template <typename T>
  void Vector(std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const uint64_t n = Get<uint64_t>();
    if (n > (data_.size() - pos_) / (sizeof(T) ? sizeof(T) : 1)) Fail("a vector is longer than the data left");
    v.resize(size_t(n));
    if (n > 0) std::memcpy(v.data(), data_.data() + pos_, size_t(n) * sizeof(T));
    pos_ += size_t(n) * sizeof(T);
  }
  // Reads into a buffer whose size the caller knows (e.g. a tensor).
  void BytesInto(void* p, size_t n) {
    if (Get<uint64_t>() != n) Fail("a stored block has the wrong size (different model shape?)");
    Need(n);
    std::memcpy(p, data_.data() + pos_, n);
    pos_ += n;
  }
  void String(std::string& s) {
    const uint64_t n = Get<uint64_t>();
    Need(size_t(n));
    s.assign(data_.data() + pos_, size_t(n));
    pos_ += size_t(n);
  }
  void Tag(const char* name) {
    std::string s;
    String(s);
    if (s != name) Fail(std::string("expected section \"") + name + "\", found \"" + s + "\"");
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  void Need(size_t n) const {
    if (n > data_.size() - pos_) Fail("truncated");
  }
  [[noreturn]] void Fail(const std::string& why) const {
    throw std::runtime_error("checkpoint " + what_ + " is corrupt or from another version: " + why);
  }
  std::string_view data_;
  size_t pos_ = 0;
  std::string what_;
};

}  // namespace cohort
