// The pair path of the DSP-path depth-multiplier-1 depthwise kernel (depthwise_conv_dsp.cc):
// square K x K windows (K = 3, 5, 7), column stride S = 1 or 2, no column dilation, doubled
// requantisation. Each output row is copied, chunk by chunk, into a padded patch of
// compile-time row pitch, so every input and filter word of a window is an immediate offset
// from one of two pointers; two positions S columns apart are computed together, each input
// word loaded and widened once for both (position 2's tap c - S is position 1's tap c), in 14
// registers (8 accumulators), mostly two taps of a channel per SMLAD over a filter laid out for
// it (PreparePairFilter in depthwise_conv_dsp.cc). The input offset is folded into the base (Group::
// folded_base), so the widening is a plain SXTB16 and needs no offset register: a padded tap
// (the zero point z = -input_offset) adds w * z, which the folded base's input_offset * w
// cancels, as the reference's skipped tap adds nothing; the sum is the reference's exact int32.
//
// Included by depthwise_conv_dsp.cc alone, its functions file-local there (unnamed namespace):
// GCC (no LTO) then knows what they write and how they are called, and compiles the channel
// group loop and the runs as one file. As a translation unit of its own, or with external
// linkage, the loop reloaded the call's shape, geometry and group after every row, and PairRun
// tested count > 0 again on entry.
#ifndef TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_PAIR_DSP_H_
#define TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_PAIR_DSP_H_

#include <cstddef>
#include <cstdint>

#include "kernels/kernel_path.h"
#include "kernels/types.h"

#if TFLM_TRAIN_KERNELS_DSP

#include "kernels/arm_simd.h"
#include "kernels/depthwise_dsp_common.h"
#include "kernels/quant_math.h"

namespace tflm_train {
namespace depthwise_dsp_detail {
namespace {

// Words of the pair path's patch: 1 KB of stack, so that the rows of most streamed layers fit
// one chunk (each chunk copies its K - 1 overlap columns again and has a per-row cost).
constexpr int32_t kPairPatchWords = 256;
// Patch row pitch (words) for K rows (at most 63: the row step is an 8-bit writeback offset),
// and the positions one chunk covers (even: pairs).
constexpr int32_t PairPitch(int k) { return kPairPatchWords / k < 63 ? kPairPatchWords / k : 63; }
constexpr int32_t PairChunk(int k, int s) { return ((PairPitch(k) - k) / s + 1) & ~1; }

// The pair path's filter layout (PreparePairFilter), PairRowWords(K) words per filter row:
// words 0, 1: tap 0 widened (even / odd channel bytes); 2, 3: tap K - 1 widened (the taps a
// position takes alone); then, for every tap t < K - 1, four words (channels 0..3), each the
// channel's weights of taps t and t + 1 as two 16-bit lanes: an SMLAD operand.
// The asm below spells these offsets with the same macros.
#define TFLM_TRAIN_DW_PAIR_TAPS(tap) (4 + 4 * (tap))
#define TFLM_TRAIN_DW_PAIR_FIRST 0
#define TFLM_TRAIN_DW_PAIR_LAST 2
constexpr int32_t PairRowWords(int k) { return 4 * k; }
constexpr int32_t PairFirstWord() { return TFLM_TRAIN_DW_PAIR_FIRST; }
constexpr int32_t PairLastWord() { return TFLM_TRAIN_DW_PAIR_LAST; }
constexpr int32_t PairTapsWord(int tap) { return TFLM_TRAIN_DW_PAIR_TAPS(tap); }
static_assert(7 * PairRowWords(7) <= 2 * kMaxPaddedTaps, "the pair layout fits Group::w");
static_assert(PairFirstWord() == 0, "a window row starts at its first single tap's words");

// The window of a pair is one asm statement (GCC, given separate statements per tap, spilled
// accumulators): K copies of the text of one window row, which starts by moving the patch
// pointer p and the filter pointer w one row on (pre-indexed writeback), so that every other
// offset in it is a literal. Taps go by two (SMLAD: two MACs of one channel per instruction):
// two adjacent patch columns c, c + 1 are loaded, their words' halves swapped into
// channels 0/1 and 2/3 words (PKHBT / PKHTB) and sign-extended (SXTB16) into one word per
// channel holding its column-c and column-c + 1 bytes, which position 1 multiplies with its
// taps (c, c + 1) and position 2 (S columns on) with its taps (c - S, c - S + 1). A tap left
// over at a row's end is a single column as before: one load, two SXTB16s and, per position,
// two loads of the tap's two widened words and four SMLAxy.
#define TFLM_TRAIN_DW_PAIR_STR2(x) #x
#define TFLM_TRAIN_DW_PAIR_STR(x) TFLM_TRAIN_DW_PAIR_STR2(x)
#define TFLM_TRAIN_DW_PAIR_WORD(word) "[%[w], #(4 * (" TFLM_TRAIN_DW_PAIR_STR(word) "))]"
#define TFLM_TRAIN_DW_PAIR_COL(c) "[%[p], #(4 * (" TFLM_TRAIN_DW_PAIR_STR(c) "))]"
// One position's single tap from the column word in x: widened, times its two filter words
// (w0: channels 0, 2; w1: 1, 3).
#define TFLM_TRAIN_DW_PAIR_SINGLE_MACS(acc)                   \
  "sxtb16 %[t], %[x]\n\t"                                    \
  "sxtb16 %[x], %[x], ror #8\n\t"                            \
  "smlabb %[" acc "0], %[t], %[w0], %[" acc "0]\n\t"             \
  "smlatt %[" acc "2], %[t], %[w0], %[" acc "2]\n\t"             \
  "smlabb %[" acc "1], %[x], %[w1], %[" acc "1]\n\t"             \
  "smlatt %[" acc "3], %[x], %[w1], %[" acc "3]\n\t"
// One column (address col), one position's single tap (filter words word, word + 1): three
// single loads in a row (4 cycles on the M4: an LDRD is never pipelined, so a column load then
// an LDRD took 5).
#define TFLM_TRAIN_DW_PAIR_SINGLE(col, word, acc)             \
  "ldr %[x], " col "\n\t"                                    \
  "ldr %[w0], " TFLM_TRAIN_DW_PAIR_WORD(word) "\n\t"         \
  "ldr %[w1], " TFLM_TRAIN_DW_PAIR_WORD(word + 1) "\n\t"     \
  TFLM_TRAIN_DW_PAIR_SINGLE_MACS(acc)
// Columns c, c + 1 widened into channel words: leaves channel 0 in x, 1 in w1, the channels
// 2 / 3 bytes in t; w0 holds the filter word at fa (loaded with the columns: pipelined loads).
#define TFLM_TRAIN_DW_PAIR_COLS(c, fa)            \
  "ldr %[x], " TFLM_TRAIN_DW_PAIR_COL(c) "\n\t"   \
  "ldr %[t], " TFLM_TRAIN_DW_PAIR_COL(c + 1) "\n\t" \
  "ldr %[w0], " TFLM_TRAIN_DW_PAIR_WORD(fa) "\n\t"  \
  "pkhbt %[w1], %[x], %[t], lsl #16\n\t"          \
  "pkhtb %[t], %[t], %[x], asr #16\n\t"           \
  "sxtb16 %[x], %[w1]\n\t"                        \
  "sxtb16 %[w1], %[w1], ror #8\n\t"
// Columns c, c + 1 for both positions: position 1's taps from tA, position 2's from tB.
#define TFLM_TRAIN_DW_PAIR_BOTH(c, tA, tB)                                   \
  TFLM_TRAIN_DW_PAIR_COLS(c, TFLM_TRAIN_DW_PAIR_TAPS(tA))                               \
  "smlad %[a0], %[x], %[w0], %[a0]\n\t"                                      \
  "ldr %[w0], " TFLM_TRAIN_DW_PAIR_WORD(TFLM_TRAIN_DW_PAIR_TAPS(tB)) "\n\t"             \
  "smlad %[b0], %[x], %[w0], %[b0]\n\t"                                      \
  "ldr %[x], " TFLM_TRAIN_DW_PAIR_WORD(TFLM_TRAIN_DW_PAIR_TAPS(tA) + 1) "\n\t"          \
  "ldr %[w0], " TFLM_TRAIN_DW_PAIR_WORD(TFLM_TRAIN_DW_PAIR_TAPS(tB) + 1) "\n\t"         \
  "smlad %[a1], %[w1], %[x], %[a1]\n\t"                                      \
  "smlad %[b1], %[w1], %[w0], %[b1]\n\t"                                     \
  "sxtb16 %[x], %[t]\n\t"                                                    \
  "sxtb16 %[t], %[t], ror #8\n\t"                                            \
  "ldr %[w0], " TFLM_TRAIN_DW_PAIR_WORD(TFLM_TRAIN_DW_PAIR_TAPS(tA) + 2) "\n\t"         \
  "ldr %[w1], " TFLM_TRAIN_DW_PAIR_WORD(TFLM_TRAIN_DW_PAIR_TAPS(tB) + 2) "\n\t"         \
  "smlad %[a2], %[x], %[w0], %[a2]\n\t"                                      \
  "smlad %[b2], %[x], %[w1], %[b2]\n\t"                                      \
  "ldr %[w0], " TFLM_TRAIN_DW_PAIR_WORD(TFLM_TRAIN_DW_PAIR_TAPS(tA) + 3) "\n\t"         \
  "ldr %[w1], " TFLM_TRAIN_DW_PAIR_WORD(TFLM_TRAIN_DW_PAIR_TAPS(tB) + 3) "\n\t"         \
  "smlad %[a3], %[t], %[w0], %[a3]\n\t"                                      \
  "smlad %[b3], %[t], %[w1], %[b3]\n\t"
// Columns c, c + 1 for one position (accumulators acc: "a" or "b"), its taps from tap.
#define TFLM_TRAIN_DW_PAIR_ONE(c, tap, acc)                                  \
  TFLM_TRAIN_DW_PAIR_COLS(c, TFLM_TRAIN_DW_PAIR_TAPS(tap))                              \
  "smlad %[" acc "0], %[x], %[w0], %[" acc "0]\n\t"                              \
  "ldr %[x], " TFLM_TRAIN_DW_PAIR_WORD(TFLM_TRAIN_DW_PAIR_TAPS(tap) + 1) "\n\t"         \
  "ldr %[w0], " TFLM_TRAIN_DW_PAIR_WORD(TFLM_TRAIN_DW_PAIR_TAPS(tap) + 2) "\n\t"        \
  "smlad %[" acc "1], %[w1], %[x], %[" acc "1]\n\t"                              \
  "sxtb16 %[x], %[t]\n\t"                                                    \
  "sxtb16 %[t], %[t], ror #8\n\t"                                            \
  "smlad %[" acc "2], %[x], %[w0], %[" acc "2]\n\t"                              \
  "ldr %[w0], " TFLM_TRAIN_DW_PAIR_WORD(TFLM_TRAIN_DW_PAIR_TAPS(tap) + 3) "\n\t"        \
  "smlad %[" acc "3], %[t], %[w0], %[" acc "3]\n\t"
#define TFLM_TRAIN_DW_PAIR_A "a"
#define TFLM_TRAIN_DW_PAIR_B "b"
// Column 0, position 1's tap 0 (filter words 0, 1: TFLM_TRAIN_DW_PAIR_FIRST): the row moves.
// The patch load sits between the filter pointer's writeback and the next load from it.
#define TFLM_TRAIN_DW_PAIR_ROW_START            \
  "ldr %[w0], [%[w], %[w_row]]!\n\t"           \
  "ldr %[x], [%[p], %[p_row]]!\n\t"            \
  "ldr %[w1], [%[w], #4]\n\t"                  \
  TFLM_TRAIN_DW_PAIR_SINGLE_MACS(TFLM_TRAIN_DW_PAIR_A)

// Stride 1: position 1 takes tap 0 alone, taps (1, 2), (3, 4).. by two; position 2 (one column
// on) taps (0, 1), (2, 3).. by two from the same columns, and tap K - 1 alone.
#define TFLM_TRAIN_DW_PAIR_B_LAST(k)                                                      \
  TFLM_TRAIN_DW_PAIR_SINGLE(TFLM_TRAIN_DW_PAIR_COL(k), TFLM_TRAIN_DW_PAIR_LAST,           \
                            TFLM_TRAIN_DW_PAIR_B)
#define TFLM_TRAIN_DW_PAIR_ROW_3_1 \
  TFLM_TRAIN_DW_PAIR_ROW_START TFLM_TRAIN_DW_PAIR_BOTH(1, 1, 0) TFLM_TRAIN_DW_PAIR_B_LAST(3)
#define TFLM_TRAIN_DW_PAIR_ROW_5_1                                                        \
  TFLM_TRAIN_DW_PAIR_ROW_START TFLM_TRAIN_DW_PAIR_BOTH(1, 1, 0)                           \
      TFLM_TRAIN_DW_PAIR_BOTH(3, 3, 2) TFLM_TRAIN_DW_PAIR_B_LAST(5)
#define TFLM_TRAIN_DW_PAIR_ROW_7_1                                                        \
  TFLM_TRAIN_DW_PAIR_ROW_START TFLM_TRAIN_DW_PAIR_BOTH(1, 1, 0)                           \
      TFLM_TRAIN_DW_PAIR_BOTH(3, 3, 2) TFLM_TRAIN_DW_PAIR_BOTH(5, 5, 4)                   \
          TFLM_TRAIN_DW_PAIR_B_LAST(7)
// Stride 2: both positions take tap 0 alone (columns 0 and 2) and taps (1, 2), (3, 4), (5, 6)
// by two: position 1 from columns 1.., position 2 from columns 3..; columns 3..6 serve both.
#define TFLM_TRAIN_DW_PAIR_ROW_7_2                                                        \
  TFLM_TRAIN_DW_PAIR_ROW_START TFLM_TRAIN_DW_PAIR_SINGLE(                                 \
      TFLM_TRAIN_DW_PAIR_COL(2), TFLM_TRAIN_DW_PAIR_FIRST, TFLM_TRAIN_DW_PAIR_B) TFLM_TRAIN_DW_PAIR_ONE(1, 1, TFLM_TRAIN_DW_PAIR_A)            \
      TFLM_TRAIN_DW_PAIR_BOTH(3, 3, 1) TFLM_TRAIN_DW_PAIR_BOTH(5, 5, 3)                   \
          TFLM_TRAIN_DW_PAIR_ONE(7, 5, TFLM_TRAIN_DW_PAIR_B)
#define TFLM_TRAIN_DW_PAIR_X3(t) t t t
#define TFLM_TRAIN_DW_PAIR_X5(t) t t t t t
#define TFLM_TRAIN_DW_PAIR_X7(t) t t t t t t t

// Both positions' sums start from the group's folded base, which lies at a fixed offset from
// the filter pointer: eight pipelined loads (9 cycles on the M4), where GCC's two LDRDs and
// four register copies took 10 and needed the group's address in a register.
#define TFLM_TRAIN_DW_PAIR_BASE(acc, lane) \
  "ldr %[" acc #lane "], [%[w], #(%c[fb] + 4 * " #lane ")]\n\t"
#define TFLM_TRAIN_DW_PAIR_BASES                                                          \
  TFLM_TRAIN_DW_PAIR_BASE("a", 0) TFLM_TRAIN_DW_PAIR_BASE("a", 1)                         \
      TFLM_TRAIN_DW_PAIR_BASE("a", 2) TFLM_TRAIN_DW_PAIR_BASE("a", 3)                     \
          TFLM_TRAIN_DW_PAIR_BASE("b", 0) TFLM_TRAIN_DW_PAIR_BASE("b", 1)                 \
              TFLM_TRAIN_DW_PAIR_BASE("b", 2) TFLM_TRAIN_DW_PAIR_BASE("b", 3)

// a, b = the folded base + the windows of the pair at patch address p (position 2 S columns
// on); w: the filter in the pair layout. p and w arrive one row before their first rows.
#define TFLM_TRAIN_DW_PAIR_WINDOW(k, s)                                                      \
  __asm__(TFLM_TRAIN_DW_PAIR_BASES TFLM_TRAIN_DW_PAIR_X##k(TFLM_TRAIN_DW_PAIR_ROW_##k##_##s) \
          : [x] "=&r"(x), [t] "=&r"(t), [w0] "=&r"(w0), [w1] "=&r"(w1), [a0] "=&r"(a.a0),   \
            [a1] "=&r"(a.a1), [a2] "=&r"(a.a2), [a3] "=&r"(a.a3), [b0] "=&r"(b.a0),          \
            [b1] "=&r"(b.a1), [b2] "=&r"(b.a2), [b3] "=&r"(b.a3), [p] "+r"(p), [w] "+r"(w)   \
          : [p_row] "i"(4 * PairPitch(k)), [w_row] "i"(4 * PairRowWords(k)),                 \
            [fb] "i"(offsetof(Group, folded_base) + 4 * PairRowWords(k)))

// No memory operand (it would force the accumulators through the stack): the patch and filter
// words and the folded base it reads are written before the (non-inlined) PairRun that runs it.
// w: the group's filter less one row (its folded base at a known offset from it).
template <int K, int S>
__attribute__((always_inline)) inline void PairWindow(uintptr_t p, uintptr_t w, Acc4& a,
                                                      Acc4& b) {
  uint32_t x, t, w0, w1;
  if constexpr (K == 3 && S == 1) {
    TFLM_TRAIN_DW_PAIR_WINDOW(3, 1);
  } else if constexpr (K == 5 && S == 1) {
    TFLM_TRAIN_DW_PAIR_WINDOW(5, 1);
  } else if constexpr (K == 7 && S == 1) {
    TFLM_TRAIN_DW_PAIR_WINDOW(7, 1);
  } else {
    static_assert(K == 7 && S == 2, "pair window shape");
    TFLM_TRAIN_DW_PAIR_WINDOW(7, 2);
  }
}

#undef TFLM_TRAIN_DW_PAIR_WINDOW
#undef TFLM_TRAIN_DW_PAIR_BASES
#undef TFLM_TRAIN_DW_PAIR_BASE
#undef TFLM_TRAIN_DW_PAIR_X7
#undef TFLM_TRAIN_DW_PAIR_X5
#undef TFLM_TRAIN_DW_PAIR_X3
#undef TFLM_TRAIN_DW_PAIR_ROW_7_2
#undef TFLM_TRAIN_DW_PAIR_ROW_7_1
#undef TFLM_TRAIN_DW_PAIR_ROW_5_1
#undef TFLM_TRAIN_DW_PAIR_ROW_3_1
#undef TFLM_TRAIN_DW_PAIR_B_LAST
#undef TFLM_TRAIN_DW_PAIR_ROW_START
#undef TFLM_TRAIN_DW_PAIR_B
#undef TFLM_TRAIN_DW_PAIR_A
#undef TFLM_TRAIN_DW_PAIR_ONE
#undef TFLM_TRAIN_DW_PAIR_BOTH
#undef TFLM_TRAIN_DW_PAIR_COLS
#undef TFLM_TRAIN_DW_PAIR_SINGLE
#undef TFLM_TRAIN_DW_PAIR_SINGLE_MACS
#undef TFLM_TRAIN_DW_PAIR_COL
#undef TFLM_TRAIN_DW_PAIR_WORD
#undef TFLM_TRAIN_DW_PAIR_STR
#undef TFLM_TRAIN_DW_PAIR_STR2
#undef TFLM_TRAIN_DW_PAIR_LAST
#undef TFLM_TRAIN_DW_PAIR_FIRST
#undef TFLM_TRAIN_DW_PAIR_TAPS

// `count` positions from the patch (position i at column i * S; count even, > 0), output
// positions `step` bytes apart, before any activation clamp (PairRow's).
// Not inlined: the window's asm gets the whole register file. The loop holds no test but its
// end: the pair's second store, the activation clamp and the geometry's reloads (a byte store
// may alias it) cost ~15 cycles a pair inside it.
template <int K, int S>
__attribute__((noinline)) void PairRun(const Group& g, const uint32_t* patch, int8_t* out,
                                       int32_t step, int32_t count) {
  // One row before the first: each window row's text starts by moving on.
  const uintptr_t w_start = reinterpret_cast<uintptr_t>(g.w) - 4 * PairRowWords(K);
  uintptr_t p_start = reinterpret_cast<uintptr_t>(patch) - 4 * PairPitch(K);
  const int8_t* const end = out + count * step;
  do {
    Acc4 a, b;
    PairWindow<K, S>(p_start, w_start, a, b);
    RequantizePairDoubled(g.doubled, a, b);  // packed into a.a0, b.a0
    simd::Store4(out, static_cast<uint32_t>(a.a0));
    simd::Store4(out + step, static_cast<uint32_t>(b.a0));
    out += 2 * step;
    p_start += 8 * S;
  } while (out != end);
}

// FillPatch for the pair path's patch (PairPitch(K) words a row), column by column when all K
// window rows lie inside the input: a column's K words are loaded, then stored at immediate
// offsets, and no row restarts a loop (FillPatch's rows of ~16 words spent more cycles on their
// loop set-up than on their copy). Windows that reach above or below the input take FillPatch.
template <int K>
__attribute__((noinline)) void FillPairPatch(const Shape& s, const int8_t* in_batch, int32_t y0,
                                             int32_t x0, int32_t width, uint32_t* patch) {
  const int32_t dh = s.params->dilation.h;
  if (y0 < 0 || y0 + (K - 1) * dh >= s.in.h) {
    FillPatch(s, K, in_batch, y0, x0, width, PairPitch(K), patch);
    return;
  }
  // Patch columns [c_begin, c_end) lie inside the input.
  const int32_t c_begin = x0 < 0 ? (-x0 < width ? -x0 : width) : 0;
  int32_t c_end = s.in.w - x0 < width ? s.in.w - x0 : width;
  if (c_end < c_begin) c_end = c_begin;
  const uint32_t z = s.zero_point4;
  uint32_t* d = patch;
  for (int32_t c = 0; c < c_begin; ++c, ++d) {
#pragma GCC unroll 8
    for (int r = 0; r < K; ++r) d[r * PairPitch(K)] = z;
  }
  const int32_t in_c = s.in.c, row_bytes = dh * s.in.w * in_c;
  const int8_t* q = in_batch + (y0 * s.in.w + x0 + c_begin) * in_c;
  for (int32_t n = c_end - c_begin; n > 0; --n, q += in_c, ++d) {
    uint32_t v[K];
#pragma GCC unroll 8
    for (int r = 0; r < K; ++r) v[r] = simd::Load4(q + r * row_bytes);
#pragma GCC unroll 8
    for (int r = 0; r < K; ++r) d[r * PairPitch(K)] = v[r];
  }
  for (int32_t c = c_end; c < width; ++c, ++d) {
#pragma GCC unroll 8
    for (int r = 0; r < K; ++r) d[r * PairPitch(K)] = z;
  }
}

// One output row (top window row y0) through the pair path; out_w >= 2 (PairShape).
// Runs are of pairs: an odd chunk after the first starts one position back (that position is
// computed again, the pair count unchanged); an odd first chunk (the whole row) runs its
// positions but the last by pairs, then the last two positions as one more pair.
template <int K, int S>
__attribute__((noinline)) void PairRow(const Shape& s, const RunGeometry& geo, const Group& g,
                                       const int8_t* in_batch, int32_t y0, int8_t* out) {
  uint32_t* const patch = s.patch;
  const int32_t step = geo.out_step;
  const bool clamp = ClampsOutput(geo);
  for (int32_t ox = 0; ox < s.out_w;) {
    const int32_t left = s.out_w - ox;
    int32_t n = left < PairChunk(K, S) ? left : PairChunk(K, S);
    if ((n & 1) != 0 && ox > 0) {  // n < PairChunk (even): n + 1 positions fit the patch
      --ox;
      ++n;
    }
    const int32_t width = ((n + 1) & ~1) * S - S + K;
    FillPairPatch<K>(s, in_batch, y0, ox * S - s.params->padding.w, width, patch);
    int8_t* const o = out + ox * step;
    const int32_t even = n & ~1;
    PairRun<K, S>(g, patch, o, step, even);
    if (even != n) PairRun<K, S>(g, patch + (n - 2) * S, o + (n - 2) * step, step, 2);
    if (clamp) ClampPositions(o, step, n, geo.act_lo, geo.act_hi);
    ox += n;
  }
}

template <int K, int S>
void PairGroup(const Shape& s, const RunGeometry& geo, const Group& g, int32_t out_h,
               const int8_t* in_batch, int8_t* out_batch) {
  const DepthwiseParams& p = *s.params;
  for (int32_t oy = 0; oy < out_h; ++oy) {
    PairRow<K, S>(s, geo, g, in_batch, oy * p.stride.h - p.padding.h,
                  out_batch + oy * s.out_w * geo.out_step);
  }
}

// Whether the pair path handles the call's shape, for channel groups that requantise doubled.
// Stride 2 only for 7x7: at 3x3/2 and 5x5/2 the patch copy (two new columns per position and
// row) eats the gain, so those keep the direct interior loop and its smaller code.
// A row of one position has no pair (PairRow).
bool PairShape(const DepthwiseParams& p, int32_t kh, int32_t kw, int32_t out_w) {
  if (kh != kw || p.dilation.w != 1 || out_w < 2) return false;
  if (p.stride.w == 1) return kw == 3 || kw == 5 || kw == 7;
  return p.stride.w == 2 && kw == 7;
}

// Every output position of one batch (in_batch, out_batch at channel oc) for one channel group
// that requantises doubled, of a shape PairShape accepts.
void PairGroupDispatch(const Shape& s, const RunGeometry& geo, const Group& g, int32_t out_h,
                       const int8_t* in_batch, int8_t* out_batch) {
  if (geo.kw == 3) {
    PairGroup<3, 1>(s, geo, g, out_h, in_batch, out_batch);
  } else if (geo.kw == 5) {
    PairGroup<5, 1>(s, geo, g, out_h, in_batch, out_batch);
  } else if (s.params->stride.w == 1) {
    PairGroup<7, 1>(s, geo, g, out_h, in_batch, out_batch);
  } else {
    PairGroup<7, 2>(s, geo, g, out_h, in_batch, out_batch);
  }
}

}  // namespace
}  // namespace depthwise_dsp_detail
}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DSP

#endif  // TFLM_TRAIN_KERNELS_DEPTHWISE_CONV_PAIR_DSP_H_
