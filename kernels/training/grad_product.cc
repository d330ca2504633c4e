#include "kernels/training/grad_product.h"

#include "kernels/training/grad_product_mve.h"
#include "kernels/training/vfp_asm.h"

namespace tflm_train {
namespace {

// Register tile: 4 positions x 4 columns of accumulators, plus 4 + 4 operands, fits the 32
// single-precision registers without spills (checked in the Cortex-M4 assembly).
constexpr int32_t kTile = 4;
// Reduction-axis chunk and column chunk of the input gradient. The operands of one chunk are
// turned into floats once, on the stack: kDepthChunk x kColumnChunk converted weights and
// kDepthChunk x kTile scaled gradients of a position tile (2.3 KB); every tile then reads them
// with immediate offsets from two pointers, and a term is a multiply and an add. 32-deep chunks
// (4.6 KB) made this the deepest stack path of a training step once the forward kernels' buffers
// moved to the arena, for 0.3 M fewer instructions of MobileNetV2's step (M4); 16-wide column
// chunks instead cost 0.9 M. Products shallower than kDepthChunk take wider column chunks in the
// same buffer (Product). The chunk sizes change no bit: a tile's sums are parked in `out`
// between chunks.
constexpr int32_t kDepthChunk = 16;
constexpr int32_t kColumnChunk = 32;

#if TFLM_TRAIN_VFP_ASM
// One k of a 4 x 4 tile: 4 gradients (s16-s19) and 4 weights (s20-s23) loaded, 16 products
// added to the accumulators s0-s15 (row p in s4p..s4p+3). The Cortex-M7 adds each product with
// a VMLA (not fused: the bits of a VMUL then a VADD, see vfp_asm.h); the Cortex-M4, where VMLA
// costs 3 cycles, with a VMUL into s24-s31 and a VADD.
#if TFLM_TRAIN_VFP_VMLA
// The 16 products of one k: gradients g0-g3 times weights w0-w3 added to s0-s15 (row p in
// s4p..s4p+3).
#define TT_VMLA_ROW(a0, a1, a2, a3, g, w0, w1, w2, w3) \
      "vmla.f32 " #a0 ", " #g ", " #w0 "\n\t" \
      "vmla.f32 " #a1 ", " #g ", " #w1 "\n\t" \
      "vmla.f32 " #a2 ", " #g ", " #w2 "\n\t" \
      "vmla.f32 " #a3 ", " #g ", " #w3 "\n\t"
#define TT_VMLA_4X4(g0, g1, g2, g3, w0, w1, w2, w3) \
      TT_VMLA_ROW(s0, s1, s2, s3, g0, w0, w1, w2, w3)     \
      TT_VMLA_ROW(s4, s5, s6, s7, g1, w0, w1, w2, w3)     \
      TT_VMLA_ROW(s8, s9, s10, s11, g2, w0, w1, w2, w3)   \
      TT_VMLA_ROW(s12, s13, s14, s15, g3, w0, w1, w2, w3)
#define TT_TILE4X4_STEP \
      "vldmia %[g]!, {s16-s19}\n\t"    \
      "vldmia %[w], {s20-s23}\n\t"     \
      "add %[w], %[w], %[stride]\n\t"  \
      TT_VMLA_4X4(s16, s17, s18, s19, s20, s21, s22, s23)

// Two k at once on the Cortex-M7, the second k's operands in s24-s31: its four VLDMs go
// together, since none may issue in the 3 cycles after a VMLA (about 44 cycles per two k
// against 46 for two single steps).
#define TT_TILE4X4_STEP2 \
      "vldmia %[w], {s20-s23}\n\t"     \
      "add %[w], %[w], %[stride]\n\t"  \
      "vldmia %[g]!, {s16-s19}\n\t"    \
      "vldmia %[g]!, {s24-s27}\n\t"    \
      "vldmia %[w], {s28-s31}\n\t"     \
      "add %[w], %[w], %[stride]\n\t"  \
      TT_VMLA_4X4(s16, s17, s18, s19, s20, s21, s22, s23) \
      TT_VMLA_4X4(s24, s25, s26, s27, s28, s29, s30, s31)

// An odd depth takes one step first, then the pairs.
#define TT_TILE4X4_LOOP  \
      "tst %[gb], #16\n\t" \
      "beq 3f\n\t"         \
      TT_TILE4X4_STEP      \
      "cmp %[g], %[end]\n\t" \
      "beq 4f\n"           \
      "3:\n\t"             \
      TT_TILE4X4_STEP2     \
      "cmp %[g], %[end]\n\t" \
      "bne 3b\n"           \
      "4:\n\t"
#else
#define TT_TILE4X4_STEP \
      "vldmia %[g]!, {s16-s19}\n\t"    \
      "vldmia %[w], {s20-s23}\n\t"     \
      "add %[w], %[w], %[stride]\n\t"  \
      "vmul.f32 s24, s16, s20\n\t"     \
      "vmul.f32 s25, s16, s21\n\t"     \
      "vmul.f32 s26, s16, s22\n\t"     \
      "vmul.f32 s27, s16, s23\n\t"     \
      "vmul.f32 s28, s17, s20\n\t"     \
      "vmul.f32 s29, s17, s21\n\t"     \
      "vmul.f32 s30, s17, s22\n\t"     \
      "vmul.f32 s31, s17, s23\n\t"     \
      "vadd.f32 s0, s0, s24\n\t"       \
      "vadd.f32 s1, s1, s25\n\t"       \
      "vadd.f32 s2, s2, s26\n\t"       \
      "vadd.f32 s3, s3, s27\n\t"       \
      "vadd.f32 s4, s4, s28\n\t"       \
      "vadd.f32 s5, s5, s29\n\t"       \
      "vadd.f32 s6, s6, s30\n\t"       \
      "vadd.f32 s7, s7, s31\n\t"       \
      "vmul.f32 s24, s18, s20\n\t"     \
      "vmul.f32 s25, s18, s21\n\t"     \
      "vmul.f32 s26, s18, s22\n\t"     \
      "vmul.f32 s27, s18, s23\n\t"     \
      "vmul.f32 s28, s19, s20\n\t"     \
      "vmul.f32 s29, s19, s21\n\t"     \
      "vmul.f32 s30, s19, s22\n\t"     \
      "vmul.f32 s31, s19, s23\n\t"     \
      "vadd.f32 s8, s8, s24\n\t"       \
      "vadd.f32 s9, s9, s25\n\t"       \
      "vadd.f32 s10, s10, s26\n\t"     \
      "vadd.f32 s11, s11, s27\n\t"     \
      "vadd.f32 s12, s12, s28\n\t"     \
      "vadd.f32 s13, s13, s29\n\t"     \
      "vadd.f32 s14, s14, s30\n\t"     \
      "vadd.f32 s15, s15, s31\n\t"

// The loop is unrolled four times: its CMP and taken branch cost 4 of ~90 estimated cycles per
// two k on the Cortex-M4. A depth of 4n + r enters at copy (4 - r) % 4: bits 4 and 5 of gb
// (depth * 16) go to N and C; r = 0 (the 8- and 16-deep products) falls through, r = 2 branches
// forward, odd r through TT_TILE4X4_ODD (placed before the tile loop, outside the k loop).
#define TT_TILE4X4_LOOP            \
      "lsls %[tmp], %[gb], #27\n\t" \
      "bmi 7b\n\t"                  \
      "bcs 5f\n"                    \
      "3:\n\t"                      \
      TT_TILE4X4_STEP               \
      "4:\n\t"                      \
      TT_TILE4X4_STEP               \
      "5:\n\t"                      \
      TT_TILE4X4_STEP               \
      "6:\n\t"                      \
      TT_TILE4X4_STEP               \
      "cmp %[g], %[end]\n\t"        \
      "bne 3b\n\t"
#define TT_TILE4X4_ODD \
      "b 1f\n"        \
      "7:\n\t"        \
      "bcs 4f\n\t"    \
      "b 6f\n"
// The dispatch's scratch register (an operand of the M4 form only: the M7 form's register
// allocation stays as it was).
#define TT_TILE4X4_SCRATCH , [tmp] "=&r"(scratch)
#endif
#ifndef TT_TILE4X4_ODD
#define TT_TILE4X4_ODD ""
#define TT_TILE4X4_SCRATCH
#endif

// All `tiles` 4 x 4 tiles of a row of 4 positions in one assembly block: each tile's sums start
// from what out holds, add the terms gs[k * kTile + p] * wf[k * w_stride + j] in k order
// and go back to out; then the next 4 columns. One call per row, not per tile: with 8-channel
// groups (depth 8) a tile call's entry and exit (pushes, arguments, 16 single loads and stores
// at computed addresses) cost half as much as its k steps. GCC's own loop also copied
// operands with VMOVs, and 16 accumulators cannot be asm operands (30 at most). One pointer
// per output row: the tile's loads need no address arithmetic, and its stores step the
// pointers to the next tile (writeback). depth >= 1, tiles >= 1.
__attribute__((noinline)) void Row4x4(int32_t depth, const float* gs, const float* wf,
                                      int32_t w_stride, int32_t tiles,
            float* out, int32_t out_stride) {
  const float* end = gs + depth * kTile;
  const int32_t g_back = depth * kTile * 4;  // bytes; bit 4 is depth's parity
  const int32_t ws = w_stride * 4;
  const int32_t w_back = depth * ws - kTile * 4;
  float* t1 = out + out_stride;
  float* t2 = t1 + out_stride;
  float* t3 = t2 + out_stride;
#if !TFLM_TRAIN_VFP_VMLA
  int32_t scratch;
#endif
  __asm__ volatile(
      TT_TILE4X4_ODD
      "1:\n\t"
      "vldmia %[t0], {s0-s3}\n\t"
      "vldmia %[t1], {s4-s7}\n\t"
      "vldmia %[t2], {s8-s11}\n\t"
      "vldmia %[t3], {s12-s15}\n\t"
      TT_TILE4X4_LOOP
      "vstmia %[t0]!, {s0-s3}\n\t"
      "vstmia %[t1]!, {s4-s7}\n\t"
      "vstmia %[t2]!, {s8-s11}\n\t"
      "vstmia %[t3]!, {s12-s15}\n\t"
      "sub %[g], %[g], %[gb]\n\t"
      "sub %[w], %[w], %[wb]\n\t"
      "subs %[n], %[n], #1\n\t"
      "bne 1b"
      : [g] "+r"(gs), [w] "+r"(wf), [t0] "+r"(out), [t1] "+r"(t1), [t2] "+r"(t2),
        [t3] "+r"(t3), [n] "+r"(tiles) TT_TILE4X4_SCRATCH
      : [end] "r"(end), [gb] "r"(g_back), [wb] "r"(w_back), [stride] "r"(ws)
      : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13",
        "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25",
        "s26", "s27", "s28", "s29", "s30", "s31", "cc", "memory");
}
#undef TT_TILE4X4_LOOP
#undef TT_TILE4X4_ODD
#undef TT_TILE4X4_SCRATCH
#undef TT_TILE4X4_STEP
#undef TT_TILE4X4_STEP2
#undef TT_VMLA_4X4
#undef TT_VMLA_ROW
#endif

#if TFLM_TRAIN_VFP_ASM
// Bytes w[o..o+3] as int32 in the s registers a..d: back-to-back byte loads (pipelined), then
// the moves; TT_S32X4_TO_F32 converts them (exactly: every int8 is a float).
#define TT_S8X4_TO_S(o, a, b, c, d)        \
  "ldrsb %[b0], [%[w], #" #o "]\n\t"      \
  "ldrsb %[b1], [%[w], #" #o " + 1]\n\t"  \
  "ldrsb %[b2], [%[w], #" #o " + 2]\n\t"  \
  "ldrsb %[b3], [%[w], #" #o " + 3]\n\t"  \
  "vmov " #a ", %[b0]\n\t"                \
  "vmov " #b ", %[b1]\n\t"                \
  "vmov " #c ", %[b2]\n\t"                \
  "vmov " #d ", %[b3]\n\t"
#define TT_S32X4_TO_F32(a, b, c, d)       \
  "vcvt.f32.s32 " #a ", " #a "\n\t"       \
  "vcvt.f32.s32 " #b ", " #b "\n\t"       \
  "vcvt.f32.s32 " #c ", " #c "\n\t"       \
  "vcvt.f32.s32 " #d ", " #d "\n\t"
#define TT_S8_OPERANDS(n)                                                          \
  : [b0] "=&r"(b0), [b1] "=&r"(b1), [b2] "=&r"(b2), [b3] "=&r"(b3),               \
    "=m"(*reinterpret_cast<float(*)[n]>(out))                                      \
  : [w] "r"(w), [out] "r"(out), "m"(*reinterpret_cast<const int8_t(*)[n]>(w))

// out[0..3] = float(w[0..3]) with one VSTM, where GCC interleaves each load with its conversion
// and stores with a VSTR each (30.5 -> 24 estimated cycles per 4 weights on the Cortex-M4).
inline void ConvertS8x4(const int8_t* w, float* out) {
  int32_t b0, b1, b2, b3;
  __asm__ volatile(TT_S8X4_TO_S(0, s12, s13, s14, s15) TT_S32X4_TO_F32(s12, s13, s14, s15)
                   "vstmia %[out], {s12-s15}" TT_S8_OPERANDS(4)
                   : "s12", "s13", "s14", "s15");
}

// out[0..7] = float(w[0..7]): the four registers loaded twice, one VSTM of 8 (~40 estimated M4
// cycles per 8 weights with the loop, against ~48 as two of 4).
inline void ConvertS8x8(const int8_t* w, float* out) {
  int32_t b0, b1, b2, b3;
  __asm__ volatile(TT_S8X4_TO_S(0, s8, s9, s10, s11) TT_S8X4_TO_S(4, s12, s13, s14, s15)
                   TT_S32X4_TO_F32(s8, s9, s10, s11) TT_S32X4_TO_F32(s12, s13, s14, s15)
                   "vstmia %[out], {s8-s15}" TT_S8_OPERANDS(8)
                   : "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15");
}
#undef TT_S8X4_TO_S
#undef TT_S32X4_TO_F32
#undef TT_S8_OPERANDS
#endif

#if TFLM_TRAIN_VFP_ASM
// Four k of a position tile's scaled gradients: gs[k * kTile + p] = s[k] * g_p[k] for k < 4 and
// the four positions' gradient rows g_p; every pointer then steps past what it read or wrote.
// One VLDM of 4 per row and a VSTM per k, where GCC loads, multiplies and stores float by float
// (each VSTR 2 estimated cycles on the Cortex-M4: 28 a k, here ~16.5; two k at a time with
// VLDMs of 2, ~19.5). The product's operands are in GCC's order for `g[k] * s`. The rest of a
// chunk goes float by float (the zoo models' chunks are 4n or 4n + 1 deep).
inline void ScaleGrads4x4(const float*& s, const float*& g0, const float*& g1, const float*& g2,
                          const float*& g3, float*& gs) {
  __asm__ volatile(
      "vldmia %[s]!, {s16-s19}\n\t"
      "vldmia %[g0]!, {s0-s3}\n\t"
      "vldmia %[g1]!, {s4-s7}\n\t"
      "vldmia %[g2]!, {s8-s11}\n\t"
      "vldmia %[g3]!, {s12-s15}\n\t"
      "vmul.f32 s20, s16, s0\n\t"
      "vmul.f32 s21, s16, s4\n\t"
      "vmul.f32 s22, s16, s8\n\t"
      "vmul.f32 s23, s16, s12\n\t"
      "vstmia %[gs]!, {s20-s23}\n\t"
      "vmul.f32 s20, s17, s1\n\t"
      "vmul.f32 s21, s17, s5\n\t"
      "vmul.f32 s22, s17, s9\n\t"
      "vmul.f32 s23, s17, s13\n\t"
      "vstmia %[gs]!, {s20-s23}\n\t"
      "vmul.f32 s20, s18, s2\n\t"
      "vmul.f32 s21, s18, s6\n\t"
      "vmul.f32 s22, s18, s10\n\t"
      "vmul.f32 s23, s18, s14\n\t"
      "vstmia %[gs]!, {s20-s23}\n\t"
      "vmul.f32 s20, s19, s3\n\t"
      "vmul.f32 s21, s19, s7\n\t"
      "vmul.f32 s22, s19, s11\n\t"
      "vmul.f32 s23, s19, s15\n\t"
      "vstmia %[gs]!, {s20-s23}"
      : [s] "+r"(s), [g0] "+r"(g0), [g1] "+r"(g1), [g2] "+r"(g2), [g3] "+r"(g3), [gs] "+r"(gs)
      :
      : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13",
        "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "memory");
}
#endif

// The PB x JB accumulators of a tile start from `from` (nullptr: 0.0f), add the terms
// gs[k * kTile + p] * wf[k * w_stride + j] for k < depth, and are stored to `to`. Not inlined:
// inlined into the column loop, GCC keeps one strength-reduced pointer per accumulator and
// spills them.
template <int PB, int JB>
__attribute__((noinline)) void InputTile(int32_t depth, const float* gs, const float* wf,
                                         int32_t w_stride, const float* from,
                                         int32_t from_stride, float* to, int32_t to_stride) {
  float acc[PB][JB];
  if (from != nullptr) {
#pragma GCC unroll 4
    for (int p = 0; p < PB; ++p) {
#pragma GCC unroll 4
      for (int j = 0; j < JB; ++j) acc[p][j] = from[p * from_stride + j];
    }
  } else {
#pragma GCC unroll 4
    for (int p = 0; p < PB; ++p) {
#pragma GCC unroll 4
      for (int j = 0; j < JB; ++j) acc[p][j] = 0.0f;
    }
  }
  const float* end = gs + depth * kTile;
  while (gs != end) {
    float g[PB], w[JB];
#if TFLM_TRAIN_VFP_ASM
    if constexpr (PB == 4) {  // VLDMs instead of VLDRs: the gradients advancing gs, 4 weights
      LoadS24x4Next(gs, g);
      if constexpr (JB == 4) {
        LoadS28x4(wf, w);
      } else {
#pragma GCC unroll 4
        for (int j = 0; j < JB; ++j) w[j] = wf[j];
      }
    } else  // NOLINT(readability/braces)
#endif
    {
#pragma GCC unroll 4
      for (int p = 0; p < PB; ++p) g[p] = gs[p];
#pragma GCC unroll 4
      for (int j = 0; j < JB; ++j) w[j] = wf[j];
      gs += kTile;
    }
    wf += w_stride;
#pragma GCC unroll 4
    for (int p = 0; p < PB; ++p) {
#pragma GCC unroll 4
      for (int j = 0; j < JB; ++j) acc[p][j] = MulAdd(acc[p][j], g[p], w[j]);
    }
  }
#pragma GCC unroll 4
  for (int p = 0; p < PB; ++p) {
#pragma GCC unroll 4
    for (int j = 0; j < JB; ++j) to[p * to_stride + j] = acc[p][j];
  }
}

// All columns [0, columns) of PB positions (weights w_stride floats apart per k).
template <int PB>
inline void InputTileRow(int32_t depth, const float* gs, const float* wf, int32_t w_stride,
                         int32_t columns, const float* from, int32_t from_stride, float* to,
                         int32_t to_stride) {
#if TFLM_TRAIN_KERNELS_MVE_FLOAT
  if (PB == 4 &&
      InputRow4Mve(depth, gs, wf, w_stride, columns, from, from_stride, to, to_stride)) {
    return;
  }
#endif
  int32_t j = 0;
#if TFLM_TRAIN_VFP_ASM
  if constexpr (PB == kTile) {  // from is nullptr or to (InputColumns parks its sums in out)
    const int32_t tiles = columns / kTile;
    if (tiles > 0) {
      j = tiles * kTile;
      if (from == nullptr) {  // sums from 0.0f: zeros stored, then read as the partial sums
        for (int32_t p = 0; p < PB; ++p) {
          for (int32_t i = 0; i < j; ++i) to[p * to_stride + i] = 0.0f;
        }
      }
      Row4x4(depth, gs, wf, w_stride, tiles, to, to_stride);
    }
  } else  // NOLINT(readability/braces)
#endif
  {
    for (; j + kTile <= columns; j += kTile) {
      InputTile<PB, kTile>(depth, gs, wf + j, w_stride, from == nullptr ? nullptr : from + j,
                           from_stride, to + j, to_stride);
    }
  }
  // The last 1 to 3 columns in one tile: a tile of 4 x 3 makes 12 terms per 7 loaded floats,
  // three of 4 x 1 make 12 per 15 and pay their loop and call three times (groups of 15
  // channels are common in the block backward).
  const int32_t rest = columns - j;
  if (PB == 4 && rest == 3) {
    InputTile<PB, 3>(depth, gs, wf + j, w_stride, from == nullptr ? nullptr : from + j,
                     from_stride, to + j, to_stride);
  } else if (PB == 4 && rest == 2) {
    InputTile<PB, 2>(depth, gs, wf + j, w_stride, from == nullptr ? nullptr : from + j,
                     from_stride, to + j, to_stride);
  } else {
    for (; j < columns; ++j) {
      InputTile<PB, 1>(depth, gs, wf + j, w_stride, from == nullptr ? nullptr : from + j,
                       from_stride, to + j, to_stride);
    }
  }
}

// Positions [p_begin, p_end) of columns [j0, j0 + jc) of the input gradient, over the whole
// reduction axis in chunks. The sums start from 0.0f, or with `accumulate` from what out holds;
// between chunks they are parked in out itself (a float stored and reloaded is the same float),
// so no stack is needed beyond the two operand buffers.
void InputColumns(int32_t p_begin, int32_t p_end, int32_t depth, const float* grad,
                  int32_t grad_stride, const float* scales, const FilterRows& rows, int32_t col,
                  int32_t j0, int32_t jc, float* out, int32_t out_stride, bool accumulate) {
  float wf[kDepthChunk * kColumnChunk];
  float gs[kDepthChunk * kTile];
  for (int32_t k0 = 0; k0 < depth; k0 += kDepthChunk) {
    const int32_t kc = depth - k0 < kDepthChunk ? depth - k0 : kDepthChunk;
    const bool from_zero = k0 == 0 && !accumulate;
    for (int32_t k = 0; k < kc; ++k) {
      const int8_t* w = rows.row(k0 + k) + col + j0;
      float* wk = wf + k * jc;  // rows jc apart: Product sizes jc to fill wf
      int32_t j = 0;
#if TFLM_TRAIN_VFP_ASM
      for (; j + 8 <= jc; j += 8) ConvertS8x8(w + j, wk + j);
#endif
      for (; j + 4 <= jc; j += 4) {
#if TFLM_TRAIN_VFP_ASM
        ConvertS8x4(w + j, wk + j);
#else
        wk[j] = static_cast<float>(w[j]);
        wk[j + 1] = static_cast<float>(w[j + 1]);
        wk[j + 2] = static_cast<float>(w[j + 2]);
        wk[j + 3] = static_cast<float>(w[j + 3]);
#endif
      }
      for (; j < jc; ++j) wk[j] = static_cast<float>(w[j]);
    }
    int32_t p0 = p_begin;
    for (; p0 + kTile <= p_end; p0 += kTile) {
      const float* g = grad + p0 * grad_stride + k0;
      int32_t k = 0;
#if TFLM_TRAIN_VFP_ASM
      {
        const float* s = scales + k0;
        const float *g0 = g, *g1 = g + grad_stride, *g2 = g1 + grad_stride,
                    *g3 = g2 + grad_stride;
        float* o = gs;
        for (; k + 4 <= kc; k += 4) ScaleGrads4x4(s, g0, g1, g2, g3, o);
      }
#endif
      for (; k < kc; ++k) {
        const float s = scales[k0 + k];
        gs[k * kTile + 0] = g[k] * s;
        gs[k * kTile + 1] = g[grad_stride + k] * s;
        gs[k * kTile + 2] = g[2 * grad_stride + k] * s;
        gs[k * kTile + 3] = g[3 * grad_stride + k] * s;
      }
      float* o = out + p0 * out_stride + j0;
      InputTileRow<kTile>(kc, gs, wf, jc, jc, from_zero ? nullptr : o, out_stride, o,
                          out_stride);
    }
    for (; p0 < p_end; ++p0) {
      const float* g = grad + p0 * grad_stride + k0;
      for (int32_t k = 0; k < kc; ++k) gs[k * kTile] = g[k] * scales[k0 + k];
      float* o = out + p0 * out_stride + j0;
      InputTileRow<1>(kc, gs, wf, jc, jc, from_zero ? nullptr : o, out_stride, o, out_stride);
    }
  }
}

void Product(int32_t positions, int32_t depth, const float* grad, int32_t grad_stride,
             const float* scales, const FilterRows& rows, int32_t col, int32_t columns,
             float* out, int32_t out_stride, bool accumulate) {
  if (depth <= 0) {  // empty sums: 0.0f, or what out holds
    if (accumulate) return;
    for (int32_t p = 0; p < positions; ++p) {
      for (int32_t j = 0; j < columns; ++j) out[p * out_stride + j] = 0.0f;
    }
    return;
  }
  // Columns per chunk: as many as fill wf at the first depth chunk's depth (kColumnChunk when
  // it is kDepthChunk deep, 64 for 8-channel groups). Each chunk scales the gradients again
  // and calls the tiles again; the sums' order (k, chunk by chunk) does not depend on it.
  const int32_t k_first = depth < kDepthChunk ? depth : kDepthChunk;
  const int32_t width = kDepthChunk * kColumnChunk / k_first / kTile * kTile;
  for (int32_t j0 = 0; j0 < columns; j0 += width) {
    const int32_t jc = columns - j0 < width ? columns - j0 : width;
    InputColumns(0, positions, depth, grad, grad_stride, scales, rows, col, j0, jc, out,
                 out_stride, accumulate);
  }
}

}  // namespace

void GradTimesInt8Rows(int32_t positions, int32_t depth, const float* grad, int32_t grad_stride,
                       const float* scales, const FilterRows& rows, int32_t col,
                       int32_t columns, float* out, int32_t out_stride) {
  Product(positions, depth, grad, grad_stride, scales, rows, col, columns, out, out_stride,
          false);
}

void GradTimesInt8RowsAccumulate(int32_t positions, int32_t depth, const float* grad,
                                 int32_t grad_stride, const float* scales,
                                 const FilterRows& rows, int32_t col, int32_t columns, float* out,
                                 int32_t out_stride) {
  Product(positions, depth, grad, grad_stride, scales, rows, col, columns, out, out_stride,
          true);
}

namespace {

#if TFLM_TRAIN_VFP_ASM
// xf[j] = float(x[j] + offset) for j < 8 in s16-s23: the 8 byte loads, additions and moves in
// two groups of 4, then the 8 conversions back to back. GCC converts one value at a time
// through one register, each conversion waiting for the previous one's move and each VMLA for
// its conversion (on the Cortex-M7 about 59 cycles per 8 terms of a single-channel tile).
// int8 + offset (|offset| <= 128) converts exactly.
inline void ConvertS8x8Plus(const int8_t* x, int32_t offset, float (&xf)[8]) {
  register float a __asm__("s16"), b __asm__("s17"), c __asm__("s18"), d __asm__("s19");
  register float e __asm__("s20"), f __asm__("s21"), g __asm__("s22"), h __asm__("s23");
  int32_t t0, t1, t2, t3;
  __asm__(
      "ldrsb %[t0], [%[x]]\n\t"
      "ldrsb %[t1], [%[x], #1]\n\t"
      "ldrsb %[t2], [%[x], #2]\n\t"
      "ldrsb %[t3], [%[x], #3]\n\t"
      "add %[t0], %[t0], %[o]\n\t"
      "add %[t1], %[t1], %[o]\n\t"
      "add %[t2], %[t2], %[o]\n\t"
      "add %[t3], %[t3], %[o]\n\t"
      "vmov %[a], %[t0]\n\t"
      "vmov %[b], %[t1]\n\t"
      "vmov %[c], %[t2]\n\t"
      "vmov %[d], %[t3]\n\t"
      "ldrsb %[t0], [%[x], #4]\n\t"
      "ldrsb %[t1], [%[x], #5]\n\t"
      "ldrsb %[t2], [%[x], #6]\n\t"
      "ldrsb %[t3], [%[x], #7]\n\t"
      "add %[t0], %[t0], %[o]\n\t"
      "add %[t1], %[t1], %[o]\n\t"
      "add %[t2], %[t2], %[o]\n\t"
      "add %[t3], %[t3], %[o]\n\t"
      "vmov %[e], %[t0]\n\t"
      "vmov %[f], %[t1]\n\t"
      "vmov %[g], %[t2]\n\t"
      "vmov %[h], %[t3]\n\t"
      "vcvt.f32.s32 %[a], %[a]\n\t"
      "vcvt.f32.s32 %[b], %[b]\n\t"
      "vcvt.f32.s32 %[c], %[c]\n\t"
      "vcvt.f32.s32 %[d], %[d]\n\t"
      "vcvt.f32.s32 %[e], %[e]\n\t"
      "vcvt.f32.s32 %[f], %[f]\n\t"
      "vcvt.f32.s32 %[g], %[g]\n\t"
      "vcvt.f32.s32 %[h], %[h]"
      : [a] "=&t"(a), [b] "=&t"(b), [c] "=&t"(c), [d] "=&t"(d), [e] "=&t"(e), [f] "=&t"(f),
        [g] "=&t"(g), [h] "=&t"(h), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2),
        [t3] "=&r"(t3)
      : [x] "r"(x), [o] "r"(offset), "m"(*reinterpret_cast<const int8_t(*)[8]>(x)));
  xf[0] = a, xf[1] = b, xf[2] = c, xf[3] = d, xf[4] = e, xf[5] = f, xf[6] = g, xf[7] = h;
}
#endif

#if TFLM_TRAIN_VFP_ASM && !TFLM_TRAIN_VFP_VMLA
// FilterTile<8, 2> on the Cortex-M4, whole: acc[c][j] in s2c+j from +0.0f, then for each of
// `positions` positions g[0..7] by one VLDM into s16-s23 and float(x[0..1] + offset) in
// s24-s25, their 16 products by VMUL into s26-s31 and VADD (MulAdd's bits); out[(c - skip) *
// out_stride + j] = acc[c][j] * scale for c >= skip by one VSTM per channel, the last first.
// Two positions a loop (an odd count enters at the second). GCC's loop loaded the bytes
// unpipelined and copied three operands with VMOVs: 58 estimated cycles a position, here 54.
// 16 accumulators cannot be asm operands.
#define TT_FILTER8X2_STEP \
  "ldrsb %[t0], [%[x]]\n\t"     \
  "ldrsb %[t1], [%[x], #1]\n\t" \
  "vldmia %[g], {s16-s23}\n\t"  \
  "add %[g], %[g], %[gs]\n\t"   \
  "add %[t0], %[t0], %[o]\n\t"  \
  "add %[t1], %[t1], %[o]\n\t"  \
  "vmov s24, %[t0]\n\t"         \
  "vmov s25, %[t1]\n\t"         \
  "add %[x], %[x], %[xs]\n\t"   \
  "vcvt.f32.s32 s24, s24\n\t"   \
  "vcvt.f32.s32 s25, s25\n\t"   \
  "vmul.f32 s26, s16, s24\n\t"  \
  "vmul.f32 s27, s16, s25\n\t"  \
  "vmul.f32 s28, s17, s24\n\t"  \
  "vmul.f32 s29, s17, s25\n\t"  \
  "vmul.f32 s30, s18, s24\n\t"  \
  "vmul.f32 s31, s18, s25\n\t"  \
  "vadd.f32 s0, s0, s26\n\t"    \
  "vadd.f32 s1, s1, s27\n\t"    \
  "vadd.f32 s2, s2, s28\n\t"    \
  "vadd.f32 s3, s3, s29\n\t"    \
  "vadd.f32 s4, s4, s30\n\t"    \
  "vadd.f32 s5, s5, s31\n\t"    \
  "vmul.f32 s26, s19, s24\n\t"  \
  "vmul.f32 s27, s19, s25\n\t"  \
  "vmul.f32 s28, s20, s24\n\t"  \
  "vmul.f32 s29, s20, s25\n\t"  \
  "vmul.f32 s30, s21, s24\n\t"  \
  "vmul.f32 s31, s21, s25\n\t"  \
  "vadd.f32 s6, s6, s26\n\t"    \
  "vadd.f32 s7, s7, s27\n\t"    \
  "vadd.f32 s8, s8, s28\n\t"    \
  "vadd.f32 s9, s9, s29\n\t"    \
  "vadd.f32 s10, s10, s30\n\t"  \
  "vadd.f32 s11, s11, s31\n\t"  \
  "vmul.f32 s26, s22, s24\n\t"  \
  "vmul.f32 s27, s22, s25\n\t"  \
  "vmul.f32 s28, s23, s24\n\t"  \
  "vmul.f32 s29, s23, s25\n\t"  \
  "vadd.f32 s12, s12, s26\n\t"  \
  "vadd.f32 s13, s13, s27\n\t"  \
  "vadd.f32 s14, s14, s28\n\t"  \
  "vadd.f32 s15, s15, s29\n\t"
inline void FilterTile8x2(int32_t positions, const float* g, int32_t g_stride, const int8_t* x,
                          int32_t x_stride, int32_t offset, float scale, float* out,
                          int32_t out_stride, int32_t skip) {
  float* last = out + (7 - skip) * out_stride;
  int32_t rows = 8 - skip, t0 = 0, t1;
  __asm__ volatile(
      "vmov d0, %[t0], %[t0]\n\t"
      "vmov d1, %[t0], %[t0]\n\t"
      "vmov d2, %[t0], %[t0]\n\t"
      "vmov d3, %[t0], %[t0]\n\t"
      "vmov d4, %[t0], %[t0]\n\t"
      "vmov d5, %[t0], %[t0]\n\t"
      "vmov d6, %[t0], %[t0]\n\t"
      "vmov d7, %[t0], %[t0]\n\t"
      "cmp %[n], #0\n\t"
      "ble 3f\n\t"
      "lsls %[t1], %[n], #31\n\t"
      "bpl 1f\n\t"
      "adds %[n], %[n], #1\n\t"
      "b 4f\n"
      "1:\n\t"
      TT_FILTER8X2_STEP
      "4:\n\t"
      TT_FILTER8X2_STEP
      "subs %[n], %[n], #2\n\t"
      "bne 1b\n"
      "3:\n\t"
      "vmov s16, %[scale]\n\t"
      "vmul.f32 s0, s0, s16\n\t"
      "vmul.f32 s1, s1, s16\n\t"
      "vmul.f32 s2, s2, s16\n\t"
      "vmul.f32 s3, s3, s16\n\t"
      "vmul.f32 s4, s4, s16\n\t"
      "vmul.f32 s5, s5, s16\n\t"
      "vmul.f32 s6, s6, s16\n\t"
      "vmul.f32 s7, s7, s16\n\t"
      "vmul.f32 s8, s8, s16\n\t"
      "vmul.f32 s9, s9, s16\n\t"
      "vmul.f32 s10, s10, s16\n\t"
      "vmul.f32 s11, s11, s16\n\t"
      "vmul.f32 s12, s12, s16\n\t"
      "vmul.f32 s13, s13, s16\n\t"
      "vmul.f32 s14, s14, s16\n\t"
      "vmul.f32 s15, s15, s16\n\t"
      "vstmia %[out], {s14-s15}\n\t"
      "subs %[rows], %[rows], #1\n\t"
      "beq 2f\n\t"
      "sub %[out], %[out], %[os]\n\t"
      "vstmia %[out], {s12-s13}\n\t"
      "subs %[rows], %[rows], #1\n\t"
      "beq 2f\n\t"
      "sub %[out], %[out], %[os]\n\t"
      "vstmia %[out], {s10-s11}\n\t"
      "subs %[rows], %[rows], #1\n\t"
      "beq 2f\n\t"
      "sub %[out], %[out], %[os]\n\t"
      "vstmia %[out], {s8-s9}\n\t"
      "subs %[rows], %[rows], #1\n\t"
      "beq 2f\n\t"
      "sub %[out], %[out], %[os]\n\t"
      "vstmia %[out], {s6-s7}\n\t"
      "subs %[rows], %[rows], #1\n\t"
      "beq 2f\n\t"
      "sub %[out], %[out], %[os]\n\t"
      "vstmia %[out], {s4-s5}\n\t"
      "subs %[rows], %[rows], #1\n\t"
      "beq 2f\n\t"
      "sub %[out], %[out], %[os]\n\t"
      "vstmia %[out], {s2-s3}\n\t"
      "subs %[rows], %[rows], #1\n\t"
      "beq 2f\n\t"
      "sub %[out], %[out], %[os]\n\t"
      "vstmia %[out], {s0-s1}\n\t"
      "2:"
      : [g] "+r"(g), [x] "+r"(x), [n] "+r"(positions), [out] "+r"(last), [rows] "+r"(rows),
        [t0] "+&r"(t0), [t1] "=&r"(t1)
      : [gs] "r"(g_stride * 4), [xs] "r"(x_stride), [o] "r"(offset), [os] "r"(out_stride * 4),
        [scale] "r"(scale)
      : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13",
        "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25",
        "s26", "s27", "s28", "s29", "s30", "s31", "cc", "memory");
}
#undef TT_FILTER8X2_STEP
#endif

// out[c][j] (c < CB, j < JB) = (sum over p of g[p * g_stride + c] * float(x[p * x_stride + j] +
// offset)) * scale. One int8 -> float conversion per (p, j) serves CB channels: with one channel
// per call the conversion costs more than the multiply-add it feeds (about 7 instructions per
// term on the M4 against 3.6 for 4 channels), so callers should pass channel ranges.
template <int CB, int JB>
inline void FilterTile(int32_t positions, const float* g, int32_t g_stride, const int8_t* x,
                       int32_t x_stride, int32_t offset, float scale, float* out,
                       int32_t out_stride, int32_t skip) {
#if TFLM_TRAIN_VFP_ASM && !TFLM_TRAIN_VFP_VMLA
  if constexpr (CB == 8 && JB == 2) {
    FilterTile8x2(positions, g, g_stride, x, x_stride, offset, scale, out, out_stride, skip);
    return;
  }
#endif
  float acc[CB][JB];
#pragma GCC unroll 8
  for (int c = 0; c < CB; ++c) {
#pragma GCC unroll 8
    for (int j = 0; j < JB; ++j) acc[c][j] = 0.0f;
  }
  for (int32_t p = positions; p > 0; --p) {  // down: SUBS + BGT, no CMP
    float xf[JB];
#if TFLM_TRAIN_VFP_ASM
    if constexpr (CB == 1 && JB == 8) {
      ConvertS8x8Plus(x, offset, xf);
    } else  // NOLINT(readability/braces)
#endif
    {
#pragma GCC unroll 8
      for (int j = 0; j < JB; ++j) {
        xf[j] = static_cast<float>(static_cast<int32_t>(x[j]) + offset);
      }
    }
    float gc[CB];
#if TFLM_TRAIN_VFP_ASM
    if constexpr (CB == 8) {  // one VLDM instead of CB VLDRs
      LoadS24x8(g, gc);
    } else if constexpr (CB == 4) {
      LoadS24x4(g, gc);
    } else  // NOLINT(readability/braces)
#endif
    {
#pragma GCC unroll 8
      for (int c = 0; c < CB; ++c) gc[c] = g[c];
    }
#pragma GCC unroll 8
    for (int c = 0; c < CB; ++c) {
#pragma GCC unroll 8
      for (int j = 0; j < JB; ++j) acc[c][j] = MulAdd(acc[c][j], gc[c], xf[j]);
    }
    g += g_stride;
    x += x_stride;
  }
#pragma GCC unroll 8
  for (int c = 0; c < CB; ++c) {
    if (c < skip) continue;
#pragma GCC unroll 8
    for (int j = 0; j < JB; ++j) out[(c - skip) * out_stride + j] = acc[c][j] * scale;
  }
}

// CB channels, all columns; the first `skip` channels are computed, not stored (out holds
// channel skip's row).
template <int CB, int JB>
inline void FilterTileRow(int32_t positions, const float* g, int32_t g_stride, const int8_t* x,
                          int32_t x_stride, int32_t offset, int32_t columns, float scale,
                          float* out, int32_t skip = 0) {
  int32_t j = 0;
  for (; j + JB <= columns; j += JB) {
    FilterTile<CB, JB>(positions, g, g_stride, x + j, x_stride, offset, scale, out + j, columns,
                       skip);
  }
  for (; j < columns; ++j) {
    FilterTile<CB, 1>(positions, g, g_stride, x + j, x_stride, offset, scale, out + j, columns,
                      skip);
  }
}

}  // namespace

void GradTransposeTimesInt8(int32_t positions, const float* grad, int32_t grad_stride,
                            int32_t c_begin, int32_t c_end, const int8_t* x, int32_t x_stride,
                            int32_t offset, int32_t columns, float scale, float* out) {
#if TFLM_TRAIN_KERNELS_MVE_FLOAT
  if (GradTransposeTimesInt8Mve(positions, grad, grad_stride, c_begin, c_end, x, x_stride,
                                offset, columns, scale, out)) {
    return;
  }
#endif
  // 6 or 7 channels left: the 8 channels up to c_end (all in the gradient's rows), the first 1
  // or 2 computed again and not stored. Each channel's sums are its own, so the bits are those of
  // the 4 x 4 and single-channel tiles; per position and 8 columns 4 tiles of 8 x 2 cost ~224
  // estimated M4 cycles against ~232 / ~287 for 6 / 7 channels (layers of 14 and 15; the
  // Cortex-M7's VMLA forms gain too).
  int32_t c = c_begin;
  while (c + 8 <= c_end || (c_end - c >= 6 && c_end >= 8)) {
    const int32_t first = c + 8 <= c_end ? c : c_end - 8;
    FilterTileRow<8, 2>(positions, grad + first, grad_stride, x, x_stride, offset, columns,
                        scale, out + (c - c_begin) * columns, c - first);
    c = first + 8;
  }
  for (; c + kTile <= c_end; c += kTile) {
    FilterTileRow<kTile, kTile>(positions, grad + c, grad_stride, x, x_stride, offset, columns,
                                scale, out + (c - c_begin) * columns);
  }
  for (; c < c_end; ++c) {
    FilterTileRow<1, 8>(positions, grad + c, grad_stride, x, x_stride, offset, columns, scale,
                        out + (c - c_begin) * columns);
  }
}

}  // namespace tflm_train
