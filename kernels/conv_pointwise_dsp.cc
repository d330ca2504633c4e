#include "kernels/conv_pointwise_dsp.h"

#if TFLM_TRAIN_KERNELS_DSP

#include <arm_acle.h>

#include "kernels/arm_simd.h"
#include "kernels/conv_window.h"
#include "kernels/quant_math.h"

namespace tflm_train {

namespace {

// Output positions computed together: each filter word is loaded and widened once for them.
constexpr int32_t kPixels = 4;
// 4-channel input groups widened at once (8 words each: 1 KB); deeper inputs go in slices
// whose partial sums wait in the channel entries.
constexpr int32_t kSliceGroups = 32;
// Output channels whose entries are prepared at once (40 bytes each); more channels go in
// chunks, each widening the inputs again.
constexpr int32_t kChunk = 32;

// One output channel, laid out for the assembly below (which reads it with LDM, so the field
// order is part of it): acc (the four positions' sums, starting at the bias) and row (the next
// filter byte) advance slice by slice; bias and row0 restore them for the next positions.
// multiplier / round / shift: FoldedRequant's, or the raw multiplier and shift for chunks
// outside its domain.
struct Channel {
  int32_t acc[kPixels];
  const int8_t* row;
  int32_t multiplier;
  int32_t round;
  int32_t shift;
  int32_t bias;
  const int8_t* row0;
};
static_assert(sizeof(Channel) == 40, "the assembly steps through the entries 40 bytes apart");

// What the assembly reads (LDM order): where channel 0's byte of the four positions goes (out
// + 0 / d1 / d2 / d3), the widened inputs, the slice's filter bytes per channel, the entries.
struct BlockJob {
  int8_t* out;
  int32_t d1, d2, d3;
  const uint32_t* x;
  int32_t group_bytes;
  Channel* ch;
  Channel* ch_end;
};

// The multiply-accumulate loop over one slice of every channel of a block, as one assembly
// function: GCC keeps neither the 13 live values of the inner loop nor the channel loop's
// bookkeeping out of the stack, and LDM needs fixed registers. Registers in the loop:
// r0-r3 the four positions' sums, r4 the filter pointer, r5 its end, r6 the widened inputs,
// r7 / r12 the filter word's even / odd lanes, r8-r11 four input words, lr the channel entry.
// One 4-channel group: 13 instructions for 16 multiply-accumulates (x: the group's even lanes
// of positions 0..3, then its odd lanes, widened with the input offset).
#define TT_PW_GROUP               \
  "ldr r12, [r4], #4\n\t"         \
  "ldm r6!, {r8, r9, r10, r11}\n\t" \
  "sxtb16 r7, r12\n\t"            \
  "sxtb16 r12, r12, ror #8\n\t"   \
  "smlad r0, r8, r7, r0\n\t"      \
  "smlad r1, r9, r7, r1\n\t"      \
  "smlad r2, r10, r7, r2\n\t"     \
  "smlad r3, r11, r7, r3\n\t"     \
  "ldm r6!, {r8, r9, r10, r11}\n\t" \
  "smlad r0, r8, r12, r0\n\t"     \
  "smlad r1, r9, r12, r1\n\t"     \
  "smlad r2, r10, r12, r2\n\t"    \
  "smlad r3, r11, r12, r3\n\t"

// Prologue: the job's fields on the stack ([sp] out, d1, d2, d3, x, group_bytes, the loop's
// entry address, ch_end), lr = the first entry. The group loop is unrolled twice; an odd group
// count enters it at the second copy (LDR PC: one instruction per channel).
// Then per channel: the sums and the filter pointer from the entry, the groups.
#define TT_PW_CHANNEL_LOOP               \
  "push {r4-r11, lr}\n\t"                \
  "ldm r0, {r1-r8}\n\t"                  \
  "mov lr, r7\n\t"                       \
  "adr.w r7, 2f\n\t"                     \
  "adr.w r9, 3f\n\t"                     \
  "tst r6, #4\n\t"                       \
  "it ne\n\t"                            \
  "movne r7, r9\n\t"                     \
  "orr r7, r7, #1\n\t"                   \
  "push {r1-r8}\n"                       \
  "1:\n\t"                               \
  "ldm lr!, {r0-r4}\n\t"                 \
  "ldr r6, [sp, #16]\n\t"                \
  "ldr r5, [sp, #20]\n\t"                \
  "add r5, r4\n\t"                       \
  "ldr pc, [sp, #24]\n"                  \
  "2:\n\t" TT_PW_GROUP                   \
  "3:\n\t" TT_PW_GROUP                   \
  "cmp r4, r5\n\t"                       \
  "bne 2b\n\t"

#define TT_PW_NEXT_CHANNEL \
  "ldr r12, [sp, #28]\n\t" \
  "cmp lr, r12\n\t"        \
  "bne 1b\n\t"             \
  "add sp, #32\n\t"        \
  "pop {r4-r11, pc}\n\t"

// Not the last slice: the sums and the advanced filter pointer go back into the entry.
__attribute__((naked)) void AccumulateSlice(const BlockJob* /*job*/) {
  __asm__ volatile(TT_PW_CHANNEL_LOOP
                   "stmdb lr, {r0-r4}\n\t"
                   "add lr, #20\n\t" TT_PW_NEXT_CHANNEL);
}

// The last slice, then FoldedRequantize (r8 multiplier, r9 round, r10 shift; LDM also loads
// bias and row0 into r11 / r12, overwritten next), int8 saturation and the four stores
// (r4 out, r5-r7 the deltas). kDoubled: the sums are already doubled (inputs and bias).
#define TT_PW_REQUANTIZE_DOUBLED(acc, store) \
  "add r12, r9, " acc ", asr #31\n\t"       \
  "smmlar r11, " acc ", r8, r12\n\t"        \
  "asr r11, r11, r10\n\t"                   \
  "ssat r11, #8, r11\n\t"                   \
  "strb r11, " store "\n\t"

#define TT_PW_REQUANTIZE(acc, store)        \
  "lsl r11, " acc ", #1\n\t"               \
  "add r12, r9, " acc ", asr #31\n\t"       \
  "smmlar r11, r11, r8, r12\n\t"           \
  "asr r11, r11, r10\n\t"                   \
  "ssat r11, #8, r11\n\t"                   \
  "strb r11, " store "\n\t"

#define TT_PW_FINISH(requantize)                 \
  "ldm lr!, {r8-r12}\n\t"                        \
  "ldm sp, {r4-r7}\n\t" requantize("r0", "[r4]") \
      requantize("r1", "[r4, r5]")               \
      requantize("r2", "[r4, r6]")               \
      requantize("r3", "[r4, r7]")               \
  "add r4, #1\n\t"                               \
  "str r4, [sp]\n\t"

__attribute__((naked)) void FinishSlice(const BlockJob* /*job*/) {
  __asm__ volatile(TT_PW_CHANNEL_LOOP TT_PW_FINISH(TT_PW_REQUANTIZE) TT_PW_NEXT_CHANNEL);
}

__attribute__((naked)) void FinishSliceDoubled(const BlockJob* /*job*/) {
  __asm__ volatile(TT_PW_CHANNEL_LOOP TT_PW_FINISH(TT_PW_REQUANTIZE_DOUBLED)
                       TT_PW_NEXT_CHANNEL);
}

#undef TT_PW_GROUP
#undef TT_PW_CHANNEL_LOOP
#undef TT_PW_NEXT_CHANNEL
#undef TT_PW_REQUANTIZE
#undef TT_PW_REQUANTIZE_DOUBLED
#undef TT_PW_FINISH

// Input groups [0, groups) of the four positions (byte offset `offset` into each) widened into
// 16-bit lanes plus the input offset, in TT_PW_GROUP's layout; kDoubled: each lane doubled.
template <bool kDoubled>
void Widen(const int8_t* const* in, int32_t offset, int32_t groups, uint32_t xo, uint32_t* x) {
  const int8_t* p0 = in[0] + offset;
  const int8_t* p1 = in[1] + offset;
  const int8_t* p2 = in[2] + offset;
  const int8_t* p3 = in[3] + offset;
  auto lanes = [](int32_t v) {
    return static_cast<uint32_t>(kDoubled ? static_cast<int32_t>(__sadd16(v, v)) : v);
  };
  for (int32_t g = 0; g < groups; ++g) {
    const uint32_t v0 = simd::Load4(p0), v1 = simd::Load4(p1);
    const uint32_t v2 = simd::Load4(p2), v3 = simd::Load4(p3);
    x[0] = lanes(simd::EvenBytesPlus(xo, v0));
    x[1] = lanes(simd::EvenBytesPlus(xo, v1));
    x[2] = lanes(simd::EvenBytesPlus(xo, v2));
    x[3] = lanes(simd::EvenBytesPlus(xo, v3));
    x[4] = lanes(simd::OddBytesPlus(xo, v0));
    x[5] = lanes(simd::OddBytesPlus(xo, v1));
    x[6] = lanes(simd::OddBytesPlus(xo, v2));
    x[7] = lanes(simd::OddBytesPlus(xo, v3));
    x += 8;
    p0 += 4;
    p1 += 4;
    p2 += 4;
    p3 += 4;
  }
}

// The last in_c % 4 input channels (from byte `offset`), one multiply at a time.
void TailPass(const int8_t* const* in, int32_t offset, int32_t tail, int32_t input_offset,
              Channel* ch, int32_t count) {
  for (int32_t k = 0; k < count; ++k) {
    const int8_t* w = ch[k].row0 + offset;
    for (int32_t t = 0; t < tail; ++t) {
      for (int32_t p = 0; p < kPixels; ++p) {
        ch[k].acc[p] += static_cast<int32_t>(w[t]) *
                        (static_cast<int32_t>(in[p][offset + t]) + input_offset);
      }
    }
  }
}

// The output stage in C, for chunks the assembly does not finish: FoldedRequantize with the
// activation clamp (kClamp) or without it.
template <bool kClamp>
void RequantFast(const Channel* ch, int32_t count, const BlockJob& o, int32_t lo, int32_t hi) {
  int8_t* out = o.out;
  for (int32_t k = 0; k < count; ++k) {
    const FoldedRequant q{ch[k].multiplier, ch[k].round, ch[k].shift};
    int32_t v[kPixels];
    for (int32_t p = 0; p < kPixels; ++p) {
      // Doubled without overflow: |acc| < 2^30 (BuildChannels).
      const int32_t acc2 = static_cast<int32_t>(static_cast<uint32_t>(ch[k].acc[p]) << 1);
      v[p] = __ssat(FoldedRequantize(acc2, q), 8);
      if (kClamp) v[p] = ClampToRange(v[p], lo, hi);
    }
    out[0] = static_cast<int8_t>(v[0]);
    out[o.d1] = static_cast<int8_t>(v[1]);
    out[o.d2] = static_cast<int8_t>(v[2]);
    out[o.d3] = static_cast<int8_t>(v[3]);
    ++out;
  }
}

// Channels outside FoldedRequant's domain: the general output stage.
void RequantGeneral(const Channel* ch, int32_t count, const BlockJob& o, int32_t output_offset,
                    ActivationRange act) {
  int8_t* out = o.out;
  for (int32_t k = 0; k < count; ++k) {
    const int32_t m = ch[k].multiplier, s = ch[k].shift;
    out[0] = RequantizeToInt8(ch[k].acc[0], m, s, output_offset, act);
    out[o.d1] = RequantizeToInt8(ch[k].acc[1], m, s, output_offset, act);
    out[o.d2] = RequantizeToInt8(ch[k].acc[2], m, s, output_offset, act);
    out[o.d3] = RequantizeToInt8(ch[k].acc[3], m, s, output_offset, act);
    ++out;
  }
}

// The entries back at their start for the next positions.
void Rewind(Channel* ch, int32_t count) {
  for (int32_t k = 0; k < count; ++k) {
    for (int32_t p = 0; p < kPixels; ++p) ch[k].acc[p] = ch[k].bias;
    ch[k].row = ch[k].row0;
  }
}

// Channels [c0, c0 + count) into ch. Returns whether all of them take the fast output stage:
// FoldedRequant's domain, and a bias that keeps every accumulator within +-2^30 (each of the
// in_c products is at most 255 * 128 in magnitude). kDoubled biases are stored doubled.
bool BuildChannels(const PerChannelQuant& quant, const int32_t* bias, const FilterRows& filter,
                   int32_t c0, int32_t count, int32_t in_c, int32_t output_offset,
                   Channel* ch) {
  const int64_t reach = static_cast<int64_t>(in_c) * 255 * 128;
  const int64_t bias_lo = -(int64_t{1} << 30) + reach, bias_hi = (int64_t{1} << 30) - 1 - reach;
  bool fast = true;
  for (int32_t k = 0; k < count; ++k) {
    const int32_t oc = c0 + k;
    const int32_t b = bias != nullptr ? bias[oc] : 0;
    ch[k].bias = b;
    ch[k].row0 = filter.row(oc);
    ch[k].multiplier = quant.multiplier[oc];
    ch[k].shift = quant.shift[oc];
    ch[k].round = 0;
    if (!FoldedRequantEligible(ch[k].multiplier, ch[k].shift, output_offset) || b < bias_lo ||
        b > bias_hi) {
      fast = false;
    }
  }
  if (fast) {
    for (int32_t k = 0; k < count; ++k) {
      const FoldedRequant q = MakeFoldedRequant(ch[k].multiplier, ch[k].shift, output_offset);
      ch[k].round = q.round;
      ch[k].shift = q.shift;
    }
  }
  return fast;
}

// Walks the output positions in NHWC order and yields their input pixels.
struct PixelCursor {
  const int8_t* batch;  // the current batch's input
  int32_t oy, ox;
  int32_t out_h, out_w;
  int32_t x_step;      // input bytes between horizontal positions: stride.w * in_c
  int32_t y_step;      // between rows: stride.h * in_w * in_c
  int32_t batch_step;  // between batches: in_h * in_w * in_c
  const int8_t* Pixel() const { return batch + oy * y_step + ox * x_step; }
  void Next() {
    if (++ox < out_w) return;
    ox = 0;
    if (++oy < out_h) return;
    oy = 0;
    batch += batch_step;
  }
};

}  // namespace

bool ConvPointwiseDsp(const ConvParams& params, const PerChannelQuant& quant,
                      const Dims& input_dims, const int8_t* input, const Dims& filter_dims,
                      const FilterRows& filter, const int32_t* bias, const Dims& output_dims,
                      int8_t* output) {
  const int32_t in_c = input_dims.c, out_c = output_dims.c;
  const int32_t out_h = output_dims.h, out_w = output_dims.w;
  if (filter_dims.h != 1 || filter_dims.w != 1 || filter_dims.c != in_c || in_c < 4) {
    return false;
  }
  if (params.padding.h != 0 || params.padding.w != 0 || out_c <= 0 || out_h <= 0 ||
      out_w <= 0 || output_dims.n != input_dims.n || output_dims.n <= 0) {
    return false;
  }
  // Every position must read an input pixel (a padded one would need the reference's skip).
  if ((out_h - 1) * params.stride.h >= input_dims.h ||
      (out_w - 1) * params.stride.w >= input_dims.w) {
    return false;
  }
  const int32_t zero_point = -params.input_offset;
  if (zero_point < -128 || zero_point > 127) return false;

  const int32_t groups = in_c / 4, tail = in_c % 4;
  const int32_t positions = output_dims.n * out_h * out_w;
  const uint32_t xo = simd::Splat16(params.input_offset);
  const int32_t output_offset = params.output_offset;
  const ActivationRange act = params.activation;
  const bool clamp = act.min > -128 || act.max < 127;

  alignas(8) uint32_t x[kSliceGroups * 8];
  Channel ch[kChunk];
  for (int32_t c0 = 0; c0 < out_c; c0 += kChunk) {
    const int32_t count = out_c - c0 < kChunk ? out_c - c0 : kChunk;
    const bool fast = BuildChannels(quant, bias, filter, c0, count, in_c, output_offset, ch);
    // The assembly finishes fast chunks without a clamp or a tail (every MobileNet layer).
    // It then takes doubled sums when that is cheaper: one instruction less per output against
    // two more per widened group.
    const bool finish = fast && !clamp && tail == 0;
    const bool doubled = finish && 2 * groups < count;
    if (doubled) {
      for (int32_t k = 0; k < count; ++k) ch[k].bias *= 2;  // |bias| < 2^30
    }
    Rewind(ch, count);
    PixelCursor cur{input, 0, 0, out_h, out_w, params.stride.w * in_c,
                    params.stride.h * input_dims.w * in_c, input_dims.h * input_dims.w * in_c};
    for (int32_t i = 0; i < positions; i += kPixels) {
      // The last block may be short: its missing positions repeat the last one, whose bytes
      // are then written twice with the same value.
      const int8_t* in[kPixels];
      int32_t out_delta[kPixels];
      for (int32_t p = 0; p < kPixels; ++p) {
        if (i + p < positions) {
          in[p] = cur.Pixel();
          out_delta[p] = p * out_c;
          cur.Next();
        } else {
          in[p] = in[p - 1];
          out_delta[p] = out_delta[p - 1];
        }
      }
      BlockJob job{output + i * out_c + c0, out_delta[1], out_delta[2], out_delta[3], x, 0,
                   ch, ch + count};
      for (int32_t g0 = 0; g0 < groups; g0 += kSliceGroups) {
        const int32_t n = groups - g0 < kSliceGroups ? groups - g0 : kSliceGroups;
        if (doubled) {
          Widen<true>(in, 4 * g0, n, xo, x);
        } else {
          Widen<false>(in, 4 * g0, n, xo, x);
        }
        job.group_bytes = 4 * n;
        if (!finish || g0 + n < groups) {
          AccumulateSlice(&job);
        } else if (doubled) {
          FinishSliceDoubled(&job);
        } else {
          FinishSlice(&job);
        }
      }
      // Single-slice finished blocks leave the entries untouched; the others rewind them.
      if (finish) {
        if (groups > kSliceGroups) Rewind(ch, count);
        continue;
      }
      if (tail != 0) TailPass(in, 4 * groups, tail, params.input_offset, ch, count);
      if (!fast) {
        RequantGeneral(ch, count, job, output_offset, act);
      } else if (clamp) {
        RequantFast<true>(ch, count, job, act.min, act.max);
      } else {
        RequantFast<false>(ch, count, job, act.min, act.max);
      }
      Rewind(ch, count);
    }
  }
  return true;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DSP
