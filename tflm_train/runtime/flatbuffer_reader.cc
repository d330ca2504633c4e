#include "tflm_train/runtime/flatbuffer_reader.h"

namespace tflm_train {
namespace fb {
namespace {

// All bounds arithmetic is done in 64 bits so that hostile 32-bit values cannot wrap around.
bool InBounds(uint64_t pos, uint64_t length, uint64_t size) {
  return pos <= size && length <= size - pos;
}

bool Aligned(uint64_t pos, uint64_t alignment) { return (pos & (alignment - 1)) == 0; }

// Like TT_ENSURE, but a null `err` is allowed: the accessors re-walk already verified data in
// quiet mode and only need the status.
#define FB_ENSURE(err, cond, ...)                                            \
  do {                                                                       \
    if (!(cond)) {                                                           \
      return (err) != nullptr ? (err)->Set(Status::kInvalidModel, __VA_ARGS__) \
                              : Status::kInvalidModel;                       \
    }                                                                        \
  } while (0)

}  // namespace

bool StringRef::Equals(const char* other) const {
  if (!present || other == nullptr) return false;
  const size_t n = strlen(other);
  return n == size && memcmp(data, other, n) == 0;
}

Status Reader::Root(const char* identifier, Table* out, ErrorMessage* err) const {
  FB_ENSURE(err, data_ != nullptr, "model data is a null pointer");
  // The smallest useful buffer holds the root offset and the 4-byte file identifier.
  FB_ENSURE(err, size_ >= 8,
            "model is %u bytes; a flatbuffer needs at least 8 (root offset and identifier)",
            static_cast<unsigned>(size_));
  FB_ENSURE(err, size_ <= kMaxBufferSize,
            "model is %llu bytes; flatbuffers are limited to 2 GiB",
            static_cast<unsigned long long>(size_));
  if (identifier != nullptr) {
    FB_ENSURE(err, memcmp(data_ + 4, identifier, 4) == 0,
              "file identifier (bytes 4..7) is '%c%c%c%c' (hex %02x%02x%02x%02x), expected '%s': "
              "not a TFLite flatbuffer",
              data_[4] >= 32 && data_[4] < 127 ? data_[4] : '?',
              data_[5] >= 32 && data_[5] < 127 ? data_[5] : '?',
              data_[6] >= 32 && data_[6] < 127 ? data_[6] : '?',
              data_[7] >= 32 && data_[7] < 127 ? data_[7] : '?', data_[4], data_[5], data_[6],
              data_[7], identifier);
  }
  const uint32_t root = LoadLE<uint32_t>(data_);
  // The root table cannot overlap the root offset (and the identifier when there is one).
  FB_ENSURE(err, root >= (identifier != nullptr ? 8u : 4u) && root < size_,
            "root table offset %u is outside the %u-byte buffer", static_cast<unsigned>(root),
            static_cast<unsigned>(size_));
  return ReadTable(root, "root table", out, err);
}

Status Reader::ReadTable(uint32_t pos, const char* what, Table* out, ErrorMessage* err) const {
  *out = Table();
  FB_ENSURE(err, pos != 0 && InBounds(pos, 4, size_),
            "%s: table at offset %u is outside the %u-byte buffer", what,
            static_cast<unsigned>(pos),
            static_cast<unsigned>(size_));
  FB_ENSURE(err, Aligned(pos, 4),
            "%s: table at offset %u is not 4-byte aligned", what, static_cast<unsigned>(pos));
  // The table starts with a signed offset back (or forward) to its vtable.
  const int64_t vtable = static_cast<int64_t>(pos) - LoadLE<int32_t>(data_ + pos);
  FB_ENSURE(err, vtable >= 0 && InBounds(static_cast<uint64_t>(vtable), 4, size_),
            "%s: vtable of table at offset %u points to %lld, outside the "
            "%u-byte buffer", what, static_cast<unsigned>(pos), static_cast<long long>(vtable),
            static_cast<unsigned>(size_));
  FB_ENSURE(err, Aligned(static_cast<uint64_t>(vtable), 2),
            "%s: vtable at offset %lld is not 2-byte aligned", what,
            static_cast<long long>(vtable));
  const uint16_t vtable_size = LoadLE<uint16_t>(data_ + vtable);
  const uint16_t table_size = LoadLE<uint16_t>(data_ + vtable + 2);
  FB_ENSURE(err, vtable_size >= 4 && Aligned(vtable_size, 2) && vtable_size <= kMaxVtableSize,
            "%s: vtable at offset %lld has invalid size %u", what,
            static_cast<long long>(vtable), static_cast<unsigned>(vtable_size));
  FB_ENSURE(err, InBounds(static_cast<uint64_t>(vtable), vtable_size, size_),
            "%s: vtable at offset %lld (%u bytes) extends past the end of "
            "the %u-byte buffer", what, static_cast<long long>(vtable),
            static_cast<unsigned>(vtable_size),
            static_cast<unsigned>(size_));
  FB_ENSURE(err, table_size >= 4 && InBounds(pos, table_size, size_),
            "%s: table at offset %u declares %u inline bytes, past the end of the %u-byte buffer",
            what, static_cast<unsigned>(pos), static_cast<unsigned>(table_size),
            static_cast<unsigned>(size_));
  out->pos = pos;
  out->vtable = static_cast<uint32_t>(vtable);
  out->vtable_size = vtable_size;
  out->table_size = table_size;
  return Status::kOk;
}

uint32_t Reader::FieldPos(const Table& t, uint16_t id) const {
  if (!t.present()) return 0;
  const uint32_t entry = 4u + 2u * id;
  if (entry + 2u > t.vtable_size) return 0;  // field newer than the writer's schema: absent
  const uint16_t field = LoadLE<uint16_t>(data_ + t.vtable + entry);
  return field == 0 ? 0 : t.pos + field;
}

bool Reader::ScalarFits(const Table& t, uint32_t pos, uint32_t size) const {
  // A field lives after the vtable offset and inside the table's declared inline object.
  const uint64_t rel = static_cast<uint64_t>(pos) - t.pos;
  return rel >= 4 && rel + size <= t.table_size && InBounds(pos, size, size_);
}

Status Reader::CheckScalar(const Table& t, uint16_t id, uint32_t size, const char* what,
                           ErrorMessage* err) const {
  const uint32_t pos = FieldPos(t, id);
  if (pos == 0) return Status::kOk;
  FB_ENSURE(err, ScalarFits(t, pos, size),
            "%s: field at table offset +%u (%u bytes) lies outside the table's %u inline bytes",
            what, static_cast<unsigned>(pos - t.pos), static_cast<unsigned>(size),
            static_cast<unsigned>(t.table_size));
  return Status::kOk;
}

Status Reader::FollowOffset(uint32_t pos, const char* what, uint32_t* target,
                            ErrorMessage* err) const {
  FB_ENSURE(err, InBounds(pos, 4, size_),
            "%s: offset at %u is outside the %u-byte buffer", what, static_cast<unsigned>(pos),
            static_cast<unsigned>(size_));
  FB_ENSURE(err, Aligned(pos, 4), "%s: offset at %u is not 4-byte aligned",
            what, static_cast<unsigned>(pos));
  const uint32_t delta = LoadLE<uint32_t>(data_ + pos);
  // Offsets always point forward; 0 would make the object overlap its own reference.
  const uint64_t t = static_cast<uint64_t>(pos) + delta;
  FB_ENSURE(err, delta != 0 && t < size_,
            "%s: offset %u at position %u points to %llu, outside the %u-byte buffer", what,
            static_cast<unsigned>(delta),
            static_cast<unsigned>(pos), static_cast<unsigned long long>(t),
            static_cast<unsigned>(size_));
  *target = static_cast<uint32_t>(t);
  return Status::kOk;
}

Status Reader::OffsetField(const Table& t, uint16_t id, const char* what, uint32_t* target,
                           ErrorMessage* err) const {
  *target = 0;
  const uint32_t pos = FieldPos(t, id);
  if (pos == 0) return Status::kOk;
  FB_ENSURE(err, ScalarFits(t, pos, 4),
            "%s: offset field at table offset +%u lies outside the table's %u inline bytes", what,
            static_cast<unsigned>(pos - t.pos), static_cast<unsigned>(t.table_size));
  return FollowOffset(pos, what, target, err);
}

Status Reader::ReadVectorAt(uint32_t pos, uint32_t elem_size, uint32_t max_length,
                            const char* what, Vector* out, ErrorMessage* err) const {
  FB_ENSURE(err, Aligned(pos, 4),
            "%s: vector at offset %u is not 4-byte aligned", what, static_cast<unsigned>(pos));
  FB_ENSURE(err, InBounds(pos, 4, size_),
            "%s: vector length at offset %u is outside the %u-byte buffer", what,
            static_cast<unsigned>(pos),
            static_cast<unsigned>(size_));
  const uint32_t length = LoadLE<uint32_t>(data_ + pos);
  FB_ENSURE(err, length <= max_length,
            "%s: vector has %u elements, more than the limit of %u", what,
            static_cast<unsigned>(length), static_cast<unsigned>(max_length));
  const uint64_t bytes = static_cast<uint64_t>(length) * elem_size;
  FB_ENSURE(err, InBounds(static_cast<uint64_t>(pos) + 4, bytes, size_),
            "%s: vector of %u elements (%llu bytes) at offset %u extends past the end of the "
            "%u-byte buffer", what, static_cast<unsigned>(length),
            static_cast<unsigned long long>(bytes), static_cast<unsigned>(pos),
            static_cast<unsigned>(size_));
  out->pos = pos;
  out->length = length;
  out->elem_size = elem_size;
  return Status::kOk;
}

Status Reader::ReadStringAt(uint32_t pos, const char* what, StringRef* out,
                            ErrorMessage* err) const {
  Vector v;
  TT_RETURN_IF_ERROR(ReadVectorAt(pos, 1, kMaxBufferSize, what, &v, err));
  // Strings carry a NUL terminator after their bytes; it must exist inside the buffer.
  const uint64_t nul = static_cast<uint64_t>(v.data_pos()) + v.length;
  FB_ENSURE(err, nul < size_ && data_[nul] == 0,
            "%s: string of %u bytes at offset %u is not NUL-terminated inside the buffer", what,
            static_cast<unsigned>(v.length), static_cast<unsigned>(pos));
  out->data = reinterpret_cast<const char*>(data_ + v.data_pos());
  out->size = v.length;
  out->present = true;
  return Status::kOk;
}

Status Reader::GetTable(const Table& t, uint16_t id, const char* what, Table* out,
                        ErrorMessage* err) const {
  *out = Table();
  uint32_t target = 0;
  TT_RETURN_IF_ERROR(OffsetField(t, id, what, &target, err));
  if (target == 0) return Status::kOk;
  return ReadTable(target, what, out, err);
}

Status Reader::GetVector(const Table& t, uint16_t id, uint32_t elem_size, uint32_t max_length,
                         const char* what, Vector* out, ErrorMessage* err) const {
  *out = Vector();
  out->elem_size = elem_size;
  uint32_t target = 0;
  TT_RETURN_IF_ERROR(OffsetField(t, id, what, &target, err));
  if (target == 0) return Status::kOk;
  return ReadVectorAt(target, elem_size, max_length, what, out, err);
}

Status Reader::GetString(const Table& t, uint16_t id, const char* what, StringRef* out,
                         ErrorMessage* err) const {
  *out = StringRef();
  uint32_t target = 0;
  TT_RETURN_IF_ERROR(OffsetField(t, id, what, &target, err));
  if (target == 0) return Status::kOk;
  return ReadStringAt(target, what, out, err);
}

Status Reader::OffsetElement(const Vector& v, uint32_t i, const char* what, uint32_t* target,
                             ErrorMessage* err) const {
  *target = 0;
  FB_ENSURE(err, v.present() && v.elem_size == 4 && i < v.length,
            "%s: element %u requested from a vector of %u", what, static_cast<unsigned>(i),
            static_cast<unsigned>(v.length));
  return FollowOffset(v.data_pos() + 4 * i, what, target, err);
}

Status Reader::GetTableElement(const Vector& v, uint32_t i, const char* what, Table* out,
                               ErrorMessage* err) const {
  *out = Table();
  uint32_t target = 0;
  TT_RETURN_IF_ERROR(OffsetElement(v, i, what, &target, err));
  return ReadTable(target, what, out, err);
}

Status Reader::GetStringElement(const Vector& v, uint32_t i, const char* what, StringRef* out,
                                ErrorMessage* err) const {
  *out = StringRef();
  uint32_t target = 0;
  TT_RETURN_IF_ERROR(OffsetElement(v, i, what, &target, err));
  return ReadStringAt(target, what, out, err);
}

Status Reader::GetUnion(const Table& t, uint16_t type_id, const char* what, uint8_t* type,
                        Table* value, ErrorMessage* err) const {
  *value = Table();
  TT_RETURN_IF_ERROR(CheckScalar(t, type_id, 1, what, err));
  *type = GetScalar<uint8_t>(t, type_id, 0);
  // With type NONE the value is ignored, as any reader of the format would do.
  if (*type == 0) return Status::kOk;
  // A type without a value is accepted (the format allows it); the caller applies defaults.
  return GetTable(t, static_cast<uint16_t>(type_id + 1), what, value, err);
}

}  // namespace fb
}  // namespace tflm_train
