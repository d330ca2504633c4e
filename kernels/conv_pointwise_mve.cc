#include "kernels/conv_pointwise_mve.h"

#if TFLM_TRAIN_KERNELS_MVE

#include <arm_mve.h>

#include "kernels/conv_window.h"
#include "kernels/requant_mve.h"

namespace tflm_train {

namespace {

using mve_detail::ChunkQuant;
using mve_detail::kMveChunk;

// sum over i < n of w[i], the filter row's part of the folded base.
int32_t RowSum(const int8_t* w, int32_t n) {
  int32_t sum = 0;
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) sum = vaddvaq_s8(sum, vldrbq_s8(w + i));
  if (i < n) {
    const mve_pred16_t p = vctp8q(static_cast<uint32_t>(n - i));
    sum = vaddvaq_p_s8(sum, vldrbq_z_s8(w + i, p), p);
  }
  return sum;
}

// The raw dot products (no base) of one input pixel x with four filter rows w[0..3], n bytes
// each, as the four lanes of a vector: one input vector serves the four channels.
inline int32x4_t Dot4Channels(const int8_t* x, const int8_t* const* w, int32_t n) {
  const int8_t *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int8x16_t xv = vldrbq_s8(x + i);
    a0 = vmladavaq_s8(a0, xv, vldrbq_s8(w0 + i));
    a1 = vmladavaq_s8(a1, xv, vldrbq_s8(w1 + i));
    a2 = vmladavaq_s8(a2, xv, vldrbq_s8(w2 + i));
    a3 = vmladavaq_s8(a3, xv, vldrbq_s8(w3 + i));
  }
  if (n - i >= 8) {  // eight more as int16 lanes: no predicate (GCC's predicated code is long)
    const int16x8_t xv = vldrbq_s16(x + i);
    a0 = vmladavaq_s16(a0, xv, vldrbq_s16(w0 + i));
    a1 = vmladavaq_s16(a1, xv, vldrbq_s16(w1 + i));
    a2 = vmladavaq_s16(a2, xv, vldrbq_s16(w2 + i));
    a3 = vmladavaq_s16(a3, xv, vldrbq_s16(w3 + i));
    i += 8;
  }
  if (i < n) {  // the tail: inactive lanes load as zeros and add nothing
    const mve_pred16_t p = vctp8q(static_cast<uint32_t>(n - i));
    const int8x16_t xv = vldrbq_z_s8(x + i, p);
    a0 = vmladavaq_p_s8(a0, xv, vldrbq_z_s8(w0 + i, p), p);
    a1 = vmladavaq_p_s8(a1, xv, vldrbq_z_s8(w1 + i, p), p);
    a2 = vmladavaq_p_s8(a2, xv, vldrbq_z_s8(w2 + i, p), p);
    a3 = vmladavaq_p_s8(a3, xv, vldrbq_z_s8(w3 + i, p), p);
  }
  int32x4_t v = vdupq_n_s32(a0);
  v = vsetq_lane_s32(a1, v, 1);
  v = vsetq_lane_s32(a2, v, 2);
  return vsetq_lane_s32(a3, v, 3);
}

// One output pixel's channels [0, count) of a chunk whose groups all take the vector output
// stage. Not inlined: its loop then keeps everything in registers.
__attribute__((noinline)) void FastPixel(const int8_t* x, const int8_t* const* rows,
                                         const int32_t* base, const ChunkQuant& q,
                                         int32_t count, int32_t in_c, int32_t lo, int32_t hi,
                                         int8_t* out) {
  for (int32_t k = 0; k < count; k += 4) {
    const int32x4_t acc = vaddq_s32(vldrwq_s32(base + k), Dot4Channels(x, rows + k, in_c));
    mve_detail::RequantizeStore(acc, q, k, lo, hi, out + k, count - k);
  }
}

}  // namespace

bool ConvPointwiseMve(const ConvParams& params, const PerChannelQuant& quant,
                      const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                      const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                      int8_t* output) {
  const int32_t in_c = input_dims.c, out_c = output_dims.c;
  const int32_t out_h = output_dims.h, out_w = output_dims.w;
  // Fewer than 16 input channels leave VMLADAVA mostly a tail: the DSP kernel takes those
  // (kernels/firmware:bench on the an547: 16x16x8->48 2.65 instructions per MAC here, 1.85 there).
  if (filter_dims.h != 1 || filter_dims.w != 1 || filter_dims.c != in_c || in_c < 16) {
    return false;
  }
  if (params.padding.h != 0 || params.padding.w != 0 || out_c <= 0 || out_h <= 0 ||
      out_w <= 0 || output_dims.n != input_dims.n || output_dims.n <= 0) {
    return false;
  }
  if ((out_h - 1) * params.stride.h >= input_dims.h ||
      (out_w - 1) * params.stride.w >= input_dims.w) {
    return false;
  }
    const int32_t output_offset = params.output_offset;
  const ActivationRange act = params.activation;
  const int64_t reach = static_cast<int64_t>(in_c) * 255 * 128;

  ChunkQuant q;
  alignas(8) int32_t base[kMveChunk];
  // Filter rows of the chunk; rows past the chunk's end repeat its last row (their lanes are
  // computed and never stored).
  const int8_t* rows[kMveChunk];
  for (int32_t c0 = 0; c0 < out_c; c0 += kMveChunk) {
    const int32_t count = out_c - c0 < kMveChunk ? out_c - c0 : kMveChunk;
    mve_detail::PrepareChunkQuant(quant, bias, c0, count, reach, output_offset, act, &q);
    for (int32_t k = 0; k < kMveChunk; ++k) {
      rows[k] = filter.row(c0 + (k < count ? k : count - 1));
      const uint32_t b = bias != nullptr && k < count ? static_cast<uint32_t>(bias[c0 + k]) : 0u;
      // Modulo 2^32, as every sum here: the reference's exact int32 sum is the same residue.
      base[k] = static_cast<int32_t>(
          b + static_cast<uint32_t>(params.input_offset) *
                  static_cast<uint32_t>(k < count ? RowSum(rows[k], in_c) : 0));
    }
    bool all_fast = true;
    for (int32_t k = 0; k < count; k += 4) all_fast = all_fast && q.fast[k / 4];
    const int8_t* in_batch = input;
    int8_t* out = output + c0;
    for (int32_t b = 0; b < output_dims.n; ++b, in_batch += input_dims.h * input_dims.w * in_c) {
      for (int32_t oy = 0; oy < out_h; ++oy) {
        const int8_t* x = in_batch + oy * params.stride.h * input_dims.w * in_c;
        for (int32_t ox = 0; ox < out_w; ++ox, x += params.stride.w * in_c, out += out_c) {
          if (all_fast) {
            FastPixel(x, rows, base, q, count, in_c, act.min, act.max, out);
            continue;
          }
          for (int32_t k = 0; k < count; k += 4) {
            const int32_t n = count - k < 4 ? count - k : 4;
            const int32x4_t acc =
                vaddq_s32(vldrwq_s32(base + k), Dot4Channels(x, rows + k, in_c));
            if (q.fast[k / 4]) {
              mve_detail::RequantizeStore(acc, q, k, act.min, act.max, out + k, n);
              continue;
            }
            int32_t a[4];
            vstrwq_s32(a, acc);
            for (int32_t j = 0; j < n; ++j) {
              out[k + j] = RequantizeToInt8(a[j], quant.multiplier[c0 + k + j],
                                            quant.shift[c0 + k + j], output_offset, act);
            }
          }
        }
      }
    }
  }
  return true;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_MVE
