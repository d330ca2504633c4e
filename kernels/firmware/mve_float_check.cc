// The MVE-float backward products (kernels/training/grad_product_mve.h) against the plain loops
// of their definition (grad_product.h) compiled for the scalar FPU, bit for bit, on the M55:
// seeded random shapes whose gradients are normal floats and zeros (the MVE path must take
// them) and shapes that also hold subnormal gradients (the MVE path must refuse them, and the
// public functions, which then run the portable code, must still give the plain loops' bits).
#include <cstdint>
#include <cstring>

#include "kernels/training/grad_product.h"
#include "kernels/training/grad_product_mve.h"
#include "kernels/training/sgd_update.h"
#include "targets/board/board.h"

namespace {

using tflm_train::XorShift32;

constexpr int32_t kCases = 200;
constexpr int32_t kMaxPositions = 24, kMaxDepth = 70, kMaxColumns = 37;

float g_grad[kMaxPositions * kMaxDepth];
float g_scales[kMaxDepth];
int8_t g_rows[kMaxDepth * kMaxColumns];
int8_t g_x[kMaxPositions * kMaxColumns];
float g_out[kMaxDepth * kMaxColumns + kMaxPositions * kMaxColumns];
float g_ref[kMaxDepth * kMaxColumns + kMaxPositions * kMaxColumns];

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// A gradient value: zero (a quarter), a normal float of magnitude 2^-20..2^4, or with
// `subnormal` sometimes a subnormal.
float RandomGrad(uint32_t* s, bool subnormal) {
  const uint32_t r = XorShift32(s);
  if ((r & 3) == 0) return (r & 4) ? -0.0f : 0.0f;
  if (subnormal && (r & 0x70) == 0) {
    const uint32_t u = (r & 0x80000000u) | (XorShift32(s) & 0x007fffffu) | 1u;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  const uint32_t exponent = 107 + (XorShift32(s) % 25);
  const uint32_t u = (r & 0x80000000u) | (exponent << 23) | (XorShift32(s) & 0x007fffffu);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// The definitions, operand for operand (noinline: plain scalar code).
__attribute__((noinline)) void FilterRef(int32_t positions, int32_t grad_stride, int32_t c_begin,
                                         int32_t c_end, int32_t offset, int32_t columns,
                                         float scale, float* out) {
  for (int32_t c = c_begin; c < c_end; ++c) {
    for (int32_t j = 0; j < columns; ++j) {
      float acc = 0.0f;
      for (int32_t p = 0; p < positions; ++p) {
        acc = acc + g_grad[p * grad_stride + c] *
                        static_cast<float>(static_cast<int32_t>(g_x[p * columns + j]) + offset);
      }
      out[(c - c_begin) * columns + j] = acc * scale;
    }
  }
}

__attribute__((noinline)) void InputRef(int32_t positions, int32_t depth, int32_t columns,
                                        bool accumulate, float* out) {
  for (int32_t p = 0; p < positions; ++p) {
    for (int32_t j = 0; j < columns; ++j) {
      float acc = accumulate ? out[p * columns + j] : 0.0f;
      for (int32_t k = 0; k < depth; ++k) {
        acc = acc + (g_grad[p * depth + k] * g_scales[k]) *
                        static_cast<float>(g_rows[k * columns + j]);
      }
      out[p * columns + j] = acc;
    }
  }
}

int32_t Compare(const float* a, const float* b, int32_t n) {
  int32_t bad = 0;
  for (int32_t i = 0; i < n; ++i) bad += Bits(a[i]) != Bits(b[i]);
  return bad;
}

}  // namespace

int main() {
  board_init();
  uint32_t s = 0x5EED0055u;
  int32_t bad = 0, mve_filter = 0, mve_refused = 0, input_cases = 0;
  for (int32_t i = 0; i < kCases; ++i) {
    const bool subnormal = i % 4 == 3;
    const int32_t positions = 1 + XorShift32(&s) % kMaxPositions;
    const int32_t depth = 1 + XorShift32(&s) % kMaxDepth;
    const int32_t columns = 1 + XorShift32(&s) % kMaxColumns;
    const int32_t offset = static_cast<int32_t>(XorShift32(&s) % 256) - 128;
    for (int32_t k = 0; k < positions * depth; ++k) g_grad[k] = RandomGrad(&s, subnormal);
    for (int32_t k = 0; k < depth; ++k) g_scales[k] = RandomGrad(&s, false);
    for (int32_t k = 0; k < depth * columns; ++k) g_rows[k] = static_cast<int8_t>(XorShift32(&s));
    for (int32_t k = 0; k < positions * columns; ++k) g_x[k] = static_cast<int8_t>(XorShift32(&s));
    const float scale = RandomGrad(&s, false);
    // Filter gradient: channels [c_begin, c_end) of depth, through the MVE function directly
    // (taken or refused as the gradients say) and through the public one.
    const int32_t c_begin = XorShift32(&s) % depth;
    const int32_t c_end = depth;
    const int32_t n = (c_end - c_begin) * columns;
    FilterRef(positions, depth, c_begin, c_end, offset, columns, scale, g_ref);
    std::memset(g_out, 0x7f, sizeof(g_out));
    const bool took = tflm_train::GradTransposeTimesInt8Mve(positions, g_grad, depth, c_begin,
                                                             c_end, g_x, columns, offset, columns,
                                                             scale, g_out);
    if (took) {
      ++mve_filter;
      const int32_t b0 = Compare(g_out, g_ref, n);
      if (b0) board_printf("filter mve case %ld: %ld\n", (long)i, (long)b0);
      bad += b0;
    } else if (subnormal) {
      ++mve_refused;
    }
    std::memset(g_out, 0x7f, sizeof(g_out));
    tflm_train::GradTransposeTimesInt8(positions, g_grad, depth, c_begin, c_end, g_x, columns,
                                       offset, columns, scale, g_out);
    { const int32_t b1 = Compare(g_out, g_ref, n);
      if (b1) board_printf("filter public case %ld: %ld\n", (long)i, (long)b1);
      bad += b1; }
    // Input gradient, plain and accumulating, through the public functions (their 4 x 4 tiles take
    // the MVE form when the scaled gradients allow).
    const tflm_train::FilterRows rows = tflm_train::WholeFilter(g_rows, columns);
    tflm_train::GradTimesInt8Rows(positions, depth, g_grad, depth, g_scales, rows, 0, columns,
                                  g_out, columns);
    InputRef(positions, depth, columns, false, g_ref);
    { const int32_t b2 = Compare(g_out, g_ref, positions * columns);
      if (b2) board_printf("input case %ld: %ld\n", (long)i, (long)b2);
      bad += b2; }
    for (int32_t k = 0; k < positions * columns; ++k) g_out[k] = g_ref[k] = RandomGrad(&s, true);
    tflm_train::GradTimesInt8RowsAccumulate(positions, depth, g_grad, depth, g_scales, rows, 0,
                                            columns, g_out, columns);
    InputRef(positions, depth, columns, true, g_ref);
    { const int32_t b3 = Compare(g_out, g_ref, positions * columns);
      if (b3) board_printf("input accumulate case %ld: %ld\n", (long)i, (long)b3);
      bad += b3; }
    ++input_cases;
  }
  board_printf("[mve_float] %ld cases: filter gradient through MVE in %ld, refused (subnormal "
               "gradients) in %ld; input gradient %ld cases x 2 forms; %ld mismatching floats\n",
               (long)kCases, (long)mve_filter, (long)mve_refused, (long)input_cases, (long)bad);
  const bool ok = bad == 0 && mve_filter > kCases / 2 && mve_refused > 0;
  board_printf("[mve_float] %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
