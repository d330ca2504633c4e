// Struct layouts a test shim exports so the Python tests can check their ctypes mirrors
// (tests/kernels/test_layouts.py): a mirror written by hand with a field missing, swapped or of
// the wrong kind would otherwise pass garbage to a kernel without any error.
#ifndef TFLM_TRAIN_TESTS_NATIVE_LAYOUT_H_
#define TFLM_TRAIN_TESTS_NATIVE_LAYOUT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace tts {

// One row per field, plus one row with an empty field name for the struct's size. `kind`:
// 'f' floating point, 'i' signed integer or enum, 'u' unsigned, 'p' pointer, 'a' array,
// 's' struct (the same letters tests/kernels/native.py derives from a ctypes type).
struct FieldLayout {
  const char* type;
  const char* field;
  int32_t offset;
  int32_t size;
  char kind;
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

// Which argument struct each entry point reads.
struct EntryArgs {
  const char* entry;
  const char* type;
};

// Finds (type, field) in `table`; returns 1 and fills the outputs, or 0 when absent.
inline int32_t FindLayout(const FieldLayout* table, int32_t count, const char* type,
                          const char* field, int32_t* offset, int32_t* size, char* kind) {
  for (int32_t i = 0; i < count; ++i) {
    if (strcmp(table[i].type, type) == 0 && strcmp(table[i].field, field) == 0) {
      *offset = table[i].offset;
      *size = table[i].size;
      *kind = table[i].kind;
      return 1;
    }
  }
  return 0;
}

// The number of fields of `type` (so a field the Python mirror lacks is found too).
inline int32_t CountFields(const FieldLayout* table, int32_t count, const char* type) {
  int32_t n = 0;
  for (int32_t i = 0; i < count; ++i) {
    if (strcmp(table[i].type, type) == 0 && table[i].field[0] != 0) ++n;
  }
  return n;
}

inline const char* FindEntryArgs(const EntryArgs* table, int32_t count, const char* entry) {
  for (int32_t i = 0; i < count; ++i) {
    if (strcmp(table[i].entry, entry) == 0) return table[i].type;
  }
  return nullptr;
}

}  // namespace tts

#define TTS_STRUCT(S) \
  tts::FieldLayout { #S, "", 0, static_cast<int32_t>(sizeof(S)), 's' }
#define TTS_FIELD(S, f)                                                               \
  tts::FieldLayout {                                                                  \
    #S, #f, static_cast<int32_t>(offsetof(S, f)), static_cast<int32_t>(sizeof(S::f)), \
        tts::KindOf<decltype(S::f)>()                                                 \
  }

// Defines the lookups every shim exports over its tables kLayouts and kEntries.
#define TTS_EXPORT_LAYOUTS()                                                                \
  extern "C" int32_t tts_layout(const char* type, const char* field, int32_t* offset,      \
                                int32_t* size, char* kind) {                                \
    return tts::FindLayout(kLayouts, sizeof(kLayouts) / sizeof(kLayouts[0]), type, field,   \
                           offset, size, kind);                                             \
  }                                                                                         \
  extern "C" int32_t tts_layout_field_count(const char* type) {                             \
    return tts::CountFields(kLayouts, sizeof(kLayouts) / sizeof(kLayouts[0]), type);         \
  }                                                                                         \
  extern "C" const char* tts_entry_args(const char* entry) {                                \
    return tts::FindEntryArgs(kEntries, sizeof(kEntries) / sizeof(kEntries[0]), entry);     \
  }

#endif  // TFLM_TRAIN_TESTS_NATIVE_LAYOUT_H_
