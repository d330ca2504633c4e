#include "bench/firmware/infer/infer_driver.h"

#include "tflm_train/runtime/c_api.h"

namespace tflm_train_fw {
namespace {

uint32_t Fnv1a(uint32_t h, const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ data[i]) * 16777619u;
  return h;
}

// nano printf has no %llu: decimal digits by hand.
const char* U64(uint64_t v, char (&buf)[21]) {
  char* p = buf + 20;
  *p = 0;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  return p;
}

// Opens an inference-only session and prints the model and arena sizes (and the error, if any)
// (the first line of every run); returns tt_open's status.
int32_t Open(const uint8_t* model, size_t model_len, uint8_t* arena, size_t arena_size,
             void* session_storage, size_t storage_size, PrintFn print, tt_session** s) {
  const int32_t rc =
      tt_open(session_storage, storage_size, model, model_len, arena, arena_size, 1, s);
  print("[infer] model %lu bytes, planned arena %lu bytes, available %lu bytes\n",
        static_cast<unsigned long>(model_len), static_cast<unsigned long>(tt_arena_required(*s)),
        static_cast<unsigned long>(arena_size));
  if (rc != 0) print("[infer] error: %s\n", tt_error(*s));
  return rc;
}

}  // namespace

void FillInput(uint32_t seed, uint32_t index, int8_t* input, size_t bytes) {
  uint32_t x = seed ^ (0x9E3779B9u * (index + 1u));
  if (x == 0) x = 1;  // xorshift state must be non-zero
  for (size_t i = 0; i < bytes; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    input[i] = static_cast<int8_t>(x >> 24);
  }
}

int RunInference(const uint8_t* model, size_t model_len, uint8_t* arena, size_t arena_size,
                 void* session_storage, size_t storage_size, uint32_t seed, uint32_t runs,
                 PrintFn print, TicksFn ticks) {
  tt_session* s = nullptr;
  if (storage_size < tt_session_size()) {
    print("[infer] error: session storage %lu < %lu bytes\n",
          static_cast<unsigned long>(storage_size),
          static_cast<unsigned long>(tt_session_size()));
    return 4;
  }
  int32_t rc = Open(model, model_len, arena, arena_size, session_storage, storage_size, print, &s);
  if (rc != 0) return rc;
  size_t in_bytes = 0, out_bytes = 0;
  int8_t* input = tt_input(s, &in_bytes);
  tt_output(s, &out_bytes);
  uint32_t all = 2166136261u;
  for (uint32_t i = 0; i < runs; ++i) {
    FillInput(seed, i, input, in_bytes);
    const uint64_t t0 = ticks ? ticks() : 0;
    rc = tt_invoke(s);
    const uint64_t t1 = ticks ? ticks() : 0;
    if (rc != 0) {
      print("[infer] error in inference %lu: %s\n", static_cast<unsigned long>(i), tt_error(s));
      return rc;
    }
    const uint8_t* out = reinterpret_cast<const uint8_t*>(tt_output(s, &out_bytes));
    static const char kDigits[] = "0123456789abcdef";
    char hex[2 * 64 + 1];
    const size_t shown = out_bytes < 64 ? out_bytes : 64;
    for (size_t k = 0; k < shown; ++k) {
      hex[2 * k] = kDigits[out[k] >> 4];
      hex[2 * k + 1] = kDigits[out[k] & 15];
    }
    hex[2 * shown] = 0;
    print("infer %lu out %s fnv 0x%08lx\n", static_cast<unsigned long>(i), hex,
          static_cast<unsigned long>(Fnv1a(2166136261u, out, out_bytes)));
    all = Fnv1a(all, out, out_bytes);
    if (ticks) {
      char buf[21];
      print("[infer] ticks %lu %s\n", static_cast<unsigned long>(i), U64(t1 - t0, buf));
    }
  }
  print("checksum 0x%08lx\n", static_cast<unsigned long>(all));
  return 0;
}

int RunProfile(const uint8_t* model, size_t model_len, uint8_t* arena, size_t arena_size,
               void* session_storage, size_t storage_size, uint32_t seed, PrintFn print,
               TicksFn ticks) {
  tt_session* s = nullptr;
  if (storage_size < tt_session_size()) return 4;
  int32_t rc = Open(model, model_len, arena, arena_size, session_storage, storage_size, print, &s);
  if (rc != 0) return rc;
  size_t in_bytes = 0, out_bytes = 0;
  FillInput(seed, 0, tt_input(s, &in_bytes), in_bytes);
  char buf[21];
  for (int32_t op = 0; op < tt_num_ops(s); ++op) {
    const uint64_t t0 = ticks();
    rc = tt_invoke_op(s, op);
    const uint64_t t1 = ticks();
    if (rc != 0) {
      print("[infer] error: op %ld cannot run alone (status %ld)\n", static_cast<long>(op),
            static_cast<long>(rc));
      return rc;
    }
    print("[profile] op %ld ticks %s\n", static_cast<long>(op), U64(t1 - t0, buf));
  }
  const uint8_t* out = reinterpret_cast<const uint8_t*>(tt_output(s, &out_bytes));
  print("profile out fnv 0x%08lx\n",
        static_cast<unsigned long>(Fnv1a(2166136261u, out, out_bytes)));
  return 0;
}

}  // namespace tflm_train_fw
