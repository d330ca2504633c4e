// Struct layouts a test shim exports so the Python tests can check their ctypes mirrors
// (tests/kernels/test_layouts.py): a mirror written by hand with a field missing, swapped or of
// the wrong kind would otherwise pass garbage to a kernel without any error.
//
// TTS_LAYOUT(S, a, b, c) describes struct S whose fields are a, b, c in declaration order: a
// structured binding of exactly those names (a compile error when the count differs) gives each
// field's offset, size and kind as the compiler lays it out.
#ifndef TFLM_TRAIN_TESTS_NATIVE_LAYOUT_H_
#define TFLM_TRAIN_TESTS_NATIVE_LAYOUT_H_

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace tts {

constexpr int32_t kMaxFields = 32;

// kind: 'f' floating point, 'i' signed integer or enum, 'u' unsigned, 'p' pointer, 'a' array,
// 's' struct (the letters tests/kernels/test_layouts.py derives from a ctypes type).
struct FieldInfo {
  int32_t offset;
  int32_t size;
  char kind;
};

struct StructLayout {
  const char* type;
  const char* fields;  // "a, b, c", as written in TTS_LAYOUT
  int32_t size;
  int32_t (*describe)(FieldInfo* out);  // one FieldInfo per field; returns the count
};

// Which argument struct each entry point reads, and whether it returns a status (int32_t) or
// nothing (void).
struct EntryArgs {
  const char* entry;
  const char* type;
  bool returns_status = true;
};

template <typename T>
constexpr char KindOf() {
  if constexpr (std::is_pointer_v<T>) {
    return 'p';
  } else if constexpr (std::is_array_v<T>) {
    return 'a';
  } else if constexpr (std::is_floating_point_v<T>) {
    return 'f';
  } else if constexpr (std::is_enum_v<T>) {
    return std::is_signed_v<std::underlying_type_t<T>> ? 'i' : 'u';
  } else if constexpr (std::is_integral_v<T>) {
    return std::is_signed_v<T> ? 'i' : 'u';
  } else {
    return 's';
  }
}

template <typename S, typename... T>
int32_t Describe(const S& s, FieldInfo* out, const T&... fields) {
  static_assert(sizeof...(T) <= kMaxFields, "raise kMaxFields");
  const char* base = reinterpret_cast<const char*>(&s);
  int32_t n = 0;
  ((out[n++] = FieldInfo{static_cast<int32_t>(reinterpret_cast<const char*>(&fields) - base),
                         static_cast<int32_t>(sizeof(T)), KindOf<T>()}),
   ...);
  return n;
}

// The index of `name` in the list "a, b, c", or -1.
inline int32_t FieldIndex(const char* list, const char* name) {
  const size_t length = strlen(name);
  for (int32_t i = 0; *list != 0; ++i) {
    while (*list == ' ') ++list;
    const char* end = list;
    while (*end != 0 && *end != ',') ++end;
    if (static_cast<size_t>(end - list) == length && strncmp(list, name, length) == 0) return i;
    list = *end == ',' ? end + 1 : end;
  }
  return -1;
}

inline const StructLayout* FindStruct(const StructLayout* table, int32_t count,
                                      const char* type) {
  for (int32_t i = 0; i < count; ++i) {
    if (strcmp(table[i].type, type) == 0) return &table[i];
  }
  return nullptr;
}

inline const EntryArgs* FindEntry(const EntryArgs* table, int32_t count, const char* entry) {
  for (int32_t i = 0; i < count; ++i) {
    if (strcmp(table[i].entry, entry) == 0) return &table[i];
  }
  return nullptr;
}

// Field `field` of `type` (the struct itself for ""): 1 and its offset, size and kind, or 0.
inline int32_t FindLayout(const StructLayout* table, int32_t count, const char* type,
                          const char* field, int32_t* offset, int32_t* size, char* kind) {
  const StructLayout* s = FindStruct(table, count, type);
  if (s == nullptr) return 0;
  if (field[0] == 0) {
    *offset = 0;
    *size = s->size;
    *kind = 's';
    return 1;
  }
  FieldInfo info[kMaxFields];
  const int32_t n = s->describe(info);
  const int32_t i = FieldIndex(s->fields, field);
  if (i < 0 || i >= n) return 0;
  *offset = info[i].offset;
  *size = info[i].size;
  *kind = info[i].kind;
  return 1;
}

}  // namespace tts

// (The lambda's own names end in _ so no field name can clash with them.)
#define TTS_LAYOUT(S, ...)                                                               \
  tts::StructLayout {                                                                    \
    #S, #__VA_ARGS__, static_cast<int32_t>(sizeof(S)), [](tts::FieldInfo* layout_out_) { \
      static const S instance_{};                                                        \
      const auto& [__VA_ARGS__] = instance_;                                             \
      return tts::Describe(instance_, layout_out_, __VA_ARGS__);                         \
    }                                                                                    \
  }

// Defines the lookups every shim exports over its tables kLayouts and kEntries.
#define TTS_EXPORT_LAYOUTS()                                                                \
  namespace {                                                                               \
  constexpr int32_t kLayoutCount = sizeof(kLayouts) / sizeof(kLayouts[0]);                  \
  constexpr int32_t kEntryCount = sizeof(kEntries) / sizeof(kEntries[0]);                   \
  }                                                                                         \
  extern "C" int32_t tts_layout(const char* type, const char* field, int32_t* offset,      \
                                int32_t* size, char* kind) {                                \
    return tts::FindLayout(kLayouts, kLayoutCount, type, field, offset, size, kind);        \
  }                                                                                         \
  extern "C" int32_t tts_layout_field_count(const char* type) {                             \
    const tts::StructLayout* s = tts::FindStruct(kLayouts, kLayoutCount, type);             \
    tts::FieldInfo info[tts::kMaxFields];                                                   \
    return s == nullptr ? -1 : s->describe(info);                                           \
  }                                                                                         \
  extern "C" const char* tts_entry_args(const char* entry) {                                \
    const tts::EntryArgs* e = tts::FindEntry(kEntries, kEntryCount, entry);                 \
    return e == nullptr ? nullptr : e->type;                                                \
  }                                                                                         \
  extern "C" int32_t tts_entry_returns_status(const char* entry) {                          \
    const tts::EntryArgs* e = tts::FindEntry(kEntries, kEntryCount, entry);                 \
    return e != nullptr && e->returns_status ? 1 : 0;                                       \
  }                                                                                         \
  extern "C" const char* tts_entry_name(int32_t i) {                                        \
    return i >= 0 && i < kEntryCount ? kEntries[i].entry : nullptr;                         \
  }

#endif  // TFLM_TRAIN_TESTS_NATIVE_LAYOUT_H_
