#include "kernels/conv_pointwise_mve.h"

#if TFLM_TRAIN_KERNELS_MVE

#include <arm_mve.h>

#include "kernels/conv_window.h"
#include "kernels/requant_mve.h"

namespace tflm_train {

namespace {

using mve_detail::ChunkQuant;
using mve_detail::kMveChunk;

// Output positions computed together: each filter vector is loaded once for them.
constexpr int32_t kPixels = 4;

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

// acc[p] += sum over i < n of w[i] * in[p][i] for the four positions.
inline void Dot4(const int8_t* w, const int8_t* const* in, int32_t n, int32_t* acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  const int8_t *x0 = in[0], *x1 = in[1], *x2 = in[2], *x3 = in[3];
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int8x16_t wv = vldrbq_s8(w + i);
    a0 = vmladavaq_s8(a0, vldrbq_s8(x0 + i), wv);
    a1 = vmladavaq_s8(a1, vldrbq_s8(x1 + i), wv);
    a2 = vmladavaq_s8(a2, vldrbq_s8(x2 + i), wv);
    a3 = vmladavaq_s8(a3, vldrbq_s8(x3 + i), wv);
  }
  if (i < n) {  // the tail: inactive lanes load as zeros and add nothing
    const mve_pred16_t p = vctp8q(static_cast<uint32_t>(n - i));
    const int8x16_t wv = vldrbq_z_s8(w + i, p);
    a0 = vmladavaq_p_s8(a0, vldrbq_z_s8(x0 + i, p), wv, p);
    a1 = vmladavaq_p_s8(a1, vldrbq_z_s8(x1 + i, p), wv, p);
    a2 = vmladavaq_p_s8(a2, vldrbq_z_s8(x2 + i, p), wv, p);
    a3 = vmladavaq_p_s8(a3, vldrbq_z_s8(x3 + i, p), wv, p);
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

}  // namespace

bool ConvPointwiseMve(const ConvParams& params, const PerChannelQuant& quant,
                      const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                      const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                      int8_t* output) {
  const int32_t in_c = input_dims.c, out_c = output_dims.c;
  const int32_t out_h = output_dims.h, out_w = output_dims.w;
  if (filter_dims.h != 1 || filter_dims.w != 1 || filter_dims.c != in_c || in_c < 1) {
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
  const int32_t positions = output_dims.n * out_h * out_w;
  const int32_t output_offset = params.output_offset;
  const ActivationRange act = params.activation;
  const int64_t reach = static_cast<int64_t>(in_c) * 255 * 128;

  ChunkQuant q;
  int32_t base[kMveChunk];
  int32_t acc[kPixels][kMveChunk];
  for (int32_t c0 = 0; c0 < out_c; c0 += kMveChunk) {
    const int32_t count = out_c - c0 < kMveChunk ? out_c - c0 : kMveChunk;
    mve_detail::PrepareChunkQuant(quant, bias, c0, count, reach, output_offset, act, &q);
    for (int32_t k = 0; k < count; ++k) {
      const uint32_t b = bias != nullptr ? static_cast<uint32_t>(bias[c0 + k]) : 0u;
      // Modulo 2^32, as every sum here: the reference's exact int32 sum is the same residue.
      base[k] = static_cast<int32_t>(
          b + static_cast<uint32_t>(params.input_offset) *
                  static_cast<uint32_t>(RowSum(filter.row(c0 + k), in_c)));
    }
    for (int32_t i = 0; i < positions; i += kPixels) {
      // A short last block repeats its last position (computed twice, stored once).
      const int32_t valid = positions - i < kPixels ? positions - i : kPixels;
      const int8_t* in[kPixels];
      for (int32_t p = 0; p < kPixels; ++p) {
        const int32_t pos = i + (p < valid ? p : valid - 1);
        const int32_t ox = pos % out_w, rest = pos / out_w;
        const int32_t oy = rest % out_h, b = rest / out_h;
        in[p] = input + ((b * input_dims.h + oy * params.stride.h) * input_dims.w +
                         ox * params.stride.w) * in_c;
      }
      for (int32_t k = 0; k < count; ++k) {
        int32_t a[kPixels] = {base[k], base[k], base[k], base[k]};
        Dot4(filter.row(c0 + k), in, in_c, a);
        for (int32_t p = 0; p < kPixels; ++p) acc[p][k] = a[p];
      }
      for (int32_t p = 0; p < valid; ++p) {
        int8_t* out = output + (i + p) * out_c + c0;
        for (int32_t k = 0; k < count; k += 4) {
          const int32_t n = count - k < 4 ? count - k : 4;
          if (q.fast[k / 4]) {
            mve_detail::RequantizeStore(vldrwq_s32(&acc[p][k]), q, k, act.min, act.max, out + k,
                                        n);
            continue;
          }
          for (int32_t j = k; j < k + n; ++j) {
            out[j] = RequantizeToInt8(acc[p][j], quant.multiplier[c0 + j], quant.shift[c0 + j],
                                      output_offset, act);
          }
        }
      }
    }
  }
  return true;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_MVE
