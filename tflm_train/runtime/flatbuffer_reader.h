// Bounds-checked primitives for reading a flatbuffer binary (little-endian, 32-bit offsets).
//
// Every position is a byte offset from the start of the buffer (uint32_t; flatbuffers are capped
// below 2 GiB). Reads go through memcpy so the buffer itself need not be aligned in memory; the
// *format* alignment (tables, offsets and vector length prefixes on 4-byte boundaries relative to
// the buffer start, vtables on 2) is verified, because a conforming writer always produces it and
// a violation is a sign of corruption.
//
// Two kinds of calls:
//  - Verifying calls (return Status, fill ErrorMessage with a sentence naming `what`): used once
//    up front by the model loader. `err` may be null (quiet mode: only the status is returned),
//    which the typed accessors use to re-walk data that was already verified.
//  - Plain getters (GetScalar, ScalarArray::operator[]): never fail; they are still bounds-safe
//    (returning the default when something is missing) so a misuse cannot read out of bounds.
#ifndef TFLM_TRAIN_RUNTIME_FLATBUFFER_READER_H_
#define TFLM_TRAIN_RUNTIME_FLATBUFFER_READER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tflm_train/runtime/status.h"

namespace tflm_train {
namespace fb {

// Flatbuffers use signed 32-bit offsets internally, so no valid buffer reaches 2 GiB.
constexpr uint32_t kMaxBufferSize = 0x7FFFFFFFu;
// A vtable lists 2 bytes per field; 512 bytes (254 fields) is far above any TFLite table, and a
// larger value is almost certainly garbage.
constexpr uint16_t kMaxVtableSize = 512;

// Loads a little-endian scalar from any address (no alignment requirement).
template <typename T>
inline T LoadLE(const uint8_t* p) {
  T value;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  uint8_t bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = p[sizeof(T) - 1 - i];
  memcpy(&value, bytes, sizeof(T));
#else
  memcpy(&value, p, sizeof(T));
#endif
  return value;
}

// True when `p` is aligned to `alignment` (a power of two) in memory.
inline bool IsAligned(const void* p, size_t alignment) {
  return (reinterpret_cast<uintptr_t>(p) & (alignment - 1)) == 0;
}

// A verified vector of little-endian scalars. Element reads use memcpy, so they work whether or
// not the data is aligned; aligned() tells the caller whether it may use data() in place as T*.
template <typename T>
class ScalarArray {
 public:
  ScalarArray() = default;
  ScalarArray(const uint8_t* data, uint32_t size) : data_(data), size_(size) {}

  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Out-of-range indices read as 0 rather than outside the buffer.
  T operator[](uint32_t i) const { return i < size_ ? LoadLE<T>(data_ + i * sizeof(T)) : T(0); }
  const uint8_t* data() const { return data_; }
  bool aligned() const { return data_ == nullptr || IsAligned(data_, alignof(T)); }

 private:
  const uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
};

// A verified string: `data` is NUL-terminated inside the buffer (checked), `size` excludes it.
struct StringRef {
  const char* data = "";
  uint32_t size = 0;
  bool present = false;

  bool Equals(const char* other) const;
};

// A table whose header and vtable were verified to lie inside the buffer. pos == 0 means absent
// (position 0 always holds the root offset, so no table can start there).
struct Table {
  uint32_t pos = 0;
  uint32_t vtable = 0;
  uint16_t vtable_size = 0;
  uint16_t table_size = 0;
  bool present() const { return pos != 0; }
};

// A verified vector: `pos` is the length prefix, elements follow it. pos == 0 means absent.
struct Vector {
  uint32_t pos = 0;
  uint32_t length = 0;
  uint32_t elem_size = 0;
  bool present() const { return pos != 0; }
  uint32_t data_pos() const { return pos + 4; }
};

class Reader {
 public:
  Reader() = default;
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

  // Checks the size bounds and the root offset; optionally checks a 4-byte file identifier.
  Status Root(const char* identifier, Table* out, ErrorMessage* err) const;

  // Verifies the table at `pos`: 4-aligned, header in bounds, vtable aligned/sane/in bounds,
  // inline object in bounds.
  Status ReadTable(uint32_t pos, const char* what, Table* out, ErrorMessage* err) const;

  // Position of field `id` of `t`, or 0 when the vtable does not list it. Verified tables only.
  uint32_t FieldPos(const Table& t, uint16_t id) const;

  // Verifies that the scalar field `id` (if present) lies within the table's inline object.
  Status CheckScalar(const Table& t, uint16_t id, uint32_t size, const char* what,
                     ErrorMessage* err) const;

  // Reads a scalar field, or `def` when absent (or, defensively, when it does not fit).
  template <typename T>
  T GetScalar(const Table& t, uint16_t id, T def) const {
    const uint32_t pos = FieldPos(t, id);
    if (pos == 0 || !ScalarFits(t, pos, sizeof(T))) return def;
    return LoadLE<T>(data_ + pos);
  }

  // Follows the offset field `id` to a table. Absent field: out->pos == 0 and kOk.
  Status GetTable(const Table& t, uint16_t id, const char* what, Table* out,
                  ErrorMessage* err) const;
  // Follows the offset field `id` to a vector of `elem_size`-byte elements with at most
  // `max_length` elements. Absent field: out->pos == 0, length 0 and kOk.
  Status GetVector(const Table& t, uint16_t id, uint32_t elem_size, uint32_t max_length,
                   const char* what, Vector* out, ErrorMessage* err) const;
  // Follows the offset field `id` to a NUL-terminated string. Absent: out->present == false.
  Status GetString(const Table& t, uint16_t id, const char* what, StringRef* out,
                   ErrorMessage* err) const;
  // Element `i` of a vector of offsets to tables / strings.
  Status GetTableElement(const Vector& v, uint32_t i, const char* what, Table* out,
                         ErrorMessage* err) const;
  Status GetStringElement(const Vector& v, uint32_t i, const char* what, StringRef* out,
                          ErrorMessage* err) const;
  // A union: a uint8 type at field `type_id` and an offset to a table at `type_id + 1`.
  // Type NONE (0) or a missing value yields an absent table.
  Status GetUnion(const Table& t, uint16_t type_id, const char* what, uint8_t* type, Table* value,
                  ErrorMessage* err) const;

  // Typed view of a verified vector of scalars (empty when absent or of another element size).
  template <typename T>
  ScalarArray<T> Scalars(const Vector& v) const {
    if (!v.present() || v.elem_size != sizeof(T)) return ScalarArray<T>();
    return ScalarArray<T>(data_ + v.data_pos(), v.length);
  }

 private:
  bool ScalarFits(const Table& t, uint32_t pos, uint32_t size) const;
  // Resolves the uoffset stored at `pos` (which must be in bounds and 4-aligned).
  Status FollowOffset(uint32_t pos, const char* what, uint32_t* target, ErrorMessage* err) const;
  Status ReadVectorAt(uint32_t pos, uint32_t elem_size, uint32_t max_length, const char* what,
                      Vector* out, ErrorMessage* err) const;
  Status ReadStringAt(uint32_t pos, const char* what, StringRef* out, ErrorMessage* err) const;
  Status OffsetField(const Table& t, uint16_t id, const char* what, uint32_t* target,
                     ErrorMessage* err) const;
  // Resolves element i of a vector of offsets (tables or strings); i must be below its length.
  Status OffsetElement(const Vector& v, uint32_t i, const char* what, uint32_t* target,
                       ErrorMessage* err) const;

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace fb
}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_FLATBUFFER_READER_H_
