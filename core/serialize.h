// Binary checkpoints: a flat byte string written and read field by field in
// the same order. Only trivially copyable values and vectors of them (plus
// strings) are stored, so a checkpoint is exact (floats bit for bit) and a
// resumed run continues bit-identically.
//
// A checkpoint is data, never a way to write memory: runs are resumed on
// other machines (sweeps, MPI), from files anyone could have edited. So
// - a file ends with a 64-bit checksum of its payload (Seal / Unseal), checked
//   before anything is read: a damaged file is refused as a whole;
// - every count read from the file is checked against the bytes left before
//   anything is allocated (Count, Vector, String);
// - every loader checks each vector's length against the shape it was
//   configured with (Vector with an expected length) and every stored index
//   (topic, segment, item, position, slot) against its bound (CheckRange),
//   so a file whose checksum was recomputed after editing is refused too.
// Every refusal is a std::runtime_error "checkpoint FILE is corrupt: WHY".
#pragma once

#include <algorithm>
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
    if constexpr (std::is_same_v<T, bool>) {
      // A byte other than 0 or 1 is not a bool (loading it would be undefined).
      uint8_t b = 0;
      std::memcpy(&b, data_.data() + pos_, 1);
      if (b > 1) Fail("a stored flag holds " + std::to_string(b));
      v = b != 0;
    } else {
      std::memcpy(&v, data_.data() + pos_, sizeof(T));
    }
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
  // A vector whose length the configuration fixes.
  template <typename T>
  void Vector(std::vector<T>& v, const std::string& field, size_t expected) {
    Vector(v);
    if (v.size() != expected)
      Fail(field + " holds " + std::to_string(v.size()) + " values, the configuration expects " +
           std::to_string(expected));
  }
  // A vector already allocated to its configured length (a rollout buffer).
  template <typename T>
  void VectorLike(std::vector<T>& v, const std::string& field) {
    Vector(v, field, v.size());
  }
  // A count of items that follow, each at least `min_bytes` long: checked
  // against the bytes left before the caller allocates for it.
  size_t Count(const std::string& field, size_t min_bytes) {
    const uint64_t n = Get<uint64_t>();
    if (n > (data_.size() - pos_) / std::max<size_t>(min_bytes, 1))
      Fail(field + ": a stored count of " + std::to_string(n) + " is more than the data left");
    return size_t(n);
  }
  // Every element of `v` (an index, id or flag) lies in [lo, hi].
  template <typename T>
  void CheckRange(const std::vector<T>& v, int64_t lo, int64_t hi, const std::string& field) const {
    for (size_t i = 0; i < v.size(); ++i) {
      static_assert(std::is_integral_v<T> && sizeof(T) <= sizeof(int64_t));
      const int64_t x = static_cast<int64_t>(v[i]);
      if (x < lo || x > hi)
        Fail(field + "[" + std::to_string(i) + "] = " + std::to_string(x) + " is outside [" +
             std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
  }
  // A count, then that many vectors, into `block` whose shape (the count and
  // each vector's length) is already the configured one and must not change.
  template <typename T>
  void VectorsLike(std::vector<std::vector<T>>& block, const std::string& field) {
    const size_t n = Count(field, sizeof(uint64_t));
    if (n != block.size())
      Fail(field + " holds " + std::to_string(n) + " blocks, the configuration has " + std::to_string(block.size()));
    for (size_t i = 0; i < n; ++i) Vector(block[i], field + "[" + std::to_string(i) + "]", block[i].size());
  }
  void Check(bool ok, const std::string& why) const {
    if (!ok) Fail(why);
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
  const std::string& what() const { return what_; }
  [[noreturn]] void Fail(const std::string& why) const {
    throw std::runtime_error("checkpoint " + what_ + " is corrupt: " + why);
  }

 private:
  void Need(size_t n) const {
    if (n > data_.size() - pos_) Fail("truncated");
  }
  std::string_view data_;
  size_t pos_ = 0;
  std::string what_;
};

// 64-bit FNV-1a over the bytes. Any change of one byte changes it (each step
// is a bijection of the state); a random change goes unnoticed with
// probability 2^-64.
inline uint64_t Checksum64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// The file's bytes: the payload, then its checksum (8 bytes, little-endian).
inline std::string Seal(std::string payload) {
  const uint64_t h = Checksum64(payload);
  for (int i = 0; i < 8; ++i) payload += static_cast<char>((h >> (8 * i)) & 0xff);
  return payload;
}

// The payload of a sealed file, after checking its checksum; `what` names the
// file in the error.
inline std::string_view Unseal(std::string_view bytes, const std::string& what) {
  const BinaryReader reader(bytes, what);  // for its error message only
  auto fail = [&](const std::string& why) { reader.Fail(why); };
  if (bytes.size() < 8) fail("shorter than its checksum");
  const std::string_view payload = bytes.substr(0, bytes.size() - 8);
  uint64_t stored = 0;
  for (int i = 0; i < 8; ++i) stored |= uint64_t(static_cast<unsigned char>(bytes[payload.size() + size_t(i)])) << (8 * i);
  if (stored != Checksum64(payload))
    fail("its checksum does not match its contents (the file was damaged, cut short or edited, or was written by a "
         "Cohort older than checkpoint format 2)");
  return payload;
}

}  // namespace cohort
