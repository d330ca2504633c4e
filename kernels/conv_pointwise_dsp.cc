#include "kernels/conv_pointwise_dsp.h"

#if TFLM_TRAIN_KERNELS_DSP

#include <arm_acle.h>

#include <cstddef>

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
// Output channels whose entries are prepared at once (36 bytes each and 8 for its start, in
// the 48 the plan gives a channel); more channels go in chunks, each widening the inputs again.
constexpr int32_t kChunk = 32;

// One output channel, laid out for the assembly below (which reads it with LDM, so the field
// order is part of it). acc: the four positions' sums, starting at the bias; row: the current
// slice's filter bytes (it advances slice by slice; the slice ends where the widened inputs
// do, BlockJob::x_end, the same for every channel); x: the widened inputs (the same in every
// entry: one LDM then resets the input pointer too); q: the channel's DoubledRequant
// (unset outside its domain, where the general output stage reads the raw multiplier and
// shift). An entry with a null row ends the list. The entries follow each other without a gap,
// so that the LDM of q leaves the pointer at the next entry (what rewinds an entry, which the
// assembly never reads, is in ChannelStart).
struct Channel {
  int32_t acc[kPixels];
  const int8_t* row;
  const uint32_t* x;
  DoubledRequant q;
};
// Where a channel's entry starts for the next positions (Rewind, TailPass): its first sum (the
// bias, doubled with doubled entries) and its filter row. One per channel, after the entries.
struct ChannelStart {
  int32_t bias;
  const int8_t* row0;
};
static_assert(sizeof(Channel) == 36, "the assembly steps through the entries 36 bytes apart");
static_assert(sizeof(Channel) + sizeof(ChannelStart) <= kConvPointwiseDspChannelBytes,
              "ConvPointwiseDspGetBufferSize: chunk + 1 entries and chunk starts fit");
static_assert(kSliceGroups == kConvPointwiseDspSliceGroups && kChunk == kConvPointwiseDspChunk,
              "ConvPointwiseDspGetBufferSize sizes the scratch by these");
static_assert(offsetof(Channel, q) == 24 && offsetof(DoubledRequant, round) == 8,
              "the assembly's LDM of an entry's q into r8-r10");

// What the assembly reads, in its LDM order: the four positions' input bytes of the slice, the
// widened inputs and their end, Splat16(input offset); where channel 0's byte of the four
// positions goes (out + 0 / d1 / d2 / d3); the first entry; the group count modulo 4.
struct BlockJob {
  const int8_t* in[kPixels];
  uint32_t* x;
  uint32_t xo;
  const uint32_t* x_end;
  int8_t* out;
  int32_t d1, d2, d3;
  Channel* ch;
  int32_t rest;
};

// One block (four positions) x one slice, as one assembly function: GCC keeps neither the 13
// live values of the inner loop nor the channel loop's bookkeeping out of the stack, and LDM /
// STM need fixed registers.
// 1. Widen: the slice's input groups of the four positions into 16-bit lanes plus the input
//    offset (x: per group the even lanes of positions 0..3, then the odd lanes; doubled for
//    FinishDoubled). [sp] job, [sp + 4] x_end. Unrolled twice (an odd group count, bit 5 of
//    x_end - x, enters at the second copy): the end test (LDR, CMP, taken branch: 6 cycles on
//    the M4) once per two groups.
#define TT_PW_WIDEN_GROUP(doubled)                \
  "ldr r8, [r1], #4\n\t"                          \
  "ldr r9, [r2], #4\n\t"                          \
  "ldr r10, [r3], #4\n\t"                         \
  "ldr r11, [r4], #4\n\t"                         \
  "sxtab16 r0, r6, r8\n\t"                        \
  "sxtab16 r7, r6, r9\n\t"                        \
  "sxtab16 r12, r6, r10\n\t"                      \
  "sxtab16 lr, r6, r11\n\t" doubled("r0", "r7", "r12", "lr") \
  "stm r5!, {r0, r7, r12, lr}\n\t"                \
  "sxtab16 r8, r6, r8, ror #8\n\t"                \
  "sxtab16 r9, r6, r9, ror #8\n\t"                \
  "sxtab16 r10, r6, r10, ror #8\n\t"              \
  "sxtab16 r11, r6, r11, ror #8\n\t" doubled("r8", "r9", "r10", "r11") \
  "stm r5!, {r8-r11}\n\t"

#define TT_PW_WIDEN(doubled)                      \
  "push {r4-r11, lr}\n\t"                         \
  "ldr r7, [r0, #24]\n\t"                         \
  "push {r0, r7}\n\t"                             \
  "ldm r0, {r1-r6}\n\t"                           \
  "sub r8, r7, r5\n\t"                            \
  "tst r8, #32\n\t"                               \
  "bne 7f\n"                                      \
  "4:\n\t" TT_PW_WIDEN_GROUP(doubled)              \
  "7:\n\t" TT_PW_WIDEN_GROUP(doubled)              \
  "ldr r0, [sp, #4]\n\t"                          \
  "cmp r5, r0\n\t"                                \
  "bne 4b\n\t"                                    \
  "pop {r0, r7}\n\t"

#define TT_PW_SAME(a, b, c, d) ""
#define TT_PW_TWICE(a, b, c, d)  \
  "sadd16 " a ", " a ", " a "\n\t" \
  "sadd16 " b ", " b ", " b "\n\t" \
  "sadd16 " c ", " c ", " c "\n\t" \
  "sadd16 " d ", " d ", " d "\n\t"

// 2. The channel loop: [sp] out, d1, d2, d3, the group loop's entry; lr the entry; r5 the
//    widened inputs' end (x_end) throughout. Per channel LDM r0-r3 the sums, r4 the filter
//    pointer, r6 the widened inputs; the group loop is unrolled four times, and a group count
//    n enters it at copy (4 - n % 4) % 4 (LDR PC): MobileNet's small-depth layers (2, 4, 6 or 8
//    groups) then take the back-edge at most once per channel, where the twice-unrolled loop
//    took it up to three times (M4: 3 cycles a taken branch, 1 not taken; the M7 point
//    estimate: fewer mispredicted loop exits, as the 2-group and 4-group layers share the
//    code). One group: r7 / r12 the filter word's even / odd lanes, r8-r11 four input words;
//    15 instructions for 16 multiply-accumulates (the M4 form). The Cortex-M7 form loads the
//    input words one by one beside the SMLADs (its LDMs issue alone, 2 cycles each) and
//    neighbouring copies differ in order, so that each pairs with its neighbours: 40
//    instructions in about 20 cycles per two groups, where the LDM form takes about 27. The
//    last copy leaves its last SMLAD to TT_PW_LOOP (after the CMP, which it does not disturb:
//    SMLAD sets only Q).
#if TFLM_TRAIN_DSP_DUAL_ISSUE
#define TT_PW_GROUP_FIRST            \
  "ldr r12, [r4], #4\n\t"           \
  "ldr r8, [r6], #32\n\t"           \
  "sxtb16 r7, r12\n\t"              \
  "ldr r9, [r6, #-28]\n\t"          \
  "smlad r0, r8, r7, r0\n\t"        \
  "ldr r10, [r6, #-24]\n\t"         \
  "smlad r1, r9, r7, r1\n\t"        \
  "ldr r11, [r6, #-20]\n\t"         \
  "smlad r2, r10, r7, r2\n\t"       \
  "ldr r8, [r6, #-16]\n\t"          \
  "sxtb16 r12, r12, ror #8\n\t"     \
  "smlad r3, r11, r7, r3\n\t"       \
  "ldr r9, [r6, #-12]\n\t"          \
  "smlad r0, r8, r12, r0\n\t"       \
  "ldr r10, [r6, #-8]\n\t"          \
  "smlad r1, r9, r12, r1\n\t"       \
  "ldr r11, [r6, #-4]\n\t"          \
  "smlad r2, r10, r12, r2\n\t"      \
  "smlad r3, r11, r12, r3\n\t"

#define TT_PW_GROUP_SECOND           \
  "ldr r12, [r4], #4\n\t"           \
  "sxtb16 r7, r12\n\t"              \
  "ldr r8, [r6], #32\n\t"           \
  "smlad r0, r8, r7, r0\n\t"        \
  "ldr r9, [r6, #-28]\n\t"          \
  "smlad r1, r9, r7, r1\n\t"        \
  "ldr r10, [r6, #-24]\n\t"         \
  "smlad r2, r10, r7, r2\n\t"       \
  "ldr r11, [r6, #-20]\n\t"         \
  "sxtb16 r12, r12, ror #8\n\t"     \
  "smlad r3, r11, r7, r3\n\t"       \
  "ldr r8, [r6, #-16]\n\t"          \
  "ldr r9, [r6, #-12]\n\t"          \
  "smlad r0, r8, r12, r0\n\t"       \
  "ldr r10, [r6, #-8]\n\t"          \
  "smlad r1, r9, r12, r1\n\t"       \
  "ldr r11, [r6, #-4]\n\t"          \
  "smlad r2, r10, r12, r2\n\t"

#define TT_PW_GROUP_SECOND_WHOLE TT_PW_GROUP_SECOND "smlad r3, r11, r12, r3\n\t"
#define TT_PW_LOOP          \
  "cmp r6, r5\n\t"         \
  "smlad r3, r11, r12, r3\n\t" \
  "bne 2b\n\t"
#else
// The Cortex-M4 form: the filter word and the first four input words by five single LDRs in a
// row (2 + 1 + 1 + 1 + 1 cycles: an LDR right after a load is pipelined, TRM) where an LDR and
// an LDM of 4 took 2 + 5; the load that advances r6 comes last, so that no load's address
// waits for a base written back by the one before it. The second four words come by four LDRs
// (2 + 1 + 1 + 1, as the LDM): 21 cycles per group, 22 before.
#define TT_PW_GROUP_FIRST           \
  "ldr r12, [r4], #4\n\t"           \
  "ldr r9, [r6, #4]\n\t"            \
  "ldr r10, [r6, #8]\n\t"           \
  "ldr r11, [r6, #12]\n\t"          \
  "ldr r8, [r6], #32\n\t"           \
  "sxtb16 r7, r12\n\t"              \
  "sxtb16 r12, r12, ror #8\n\t"     \
  "smlad r0, r8, r7, r0\n\t"        \
  "smlad r1, r9, r7, r1\n\t"        \
  "smlad r2, r10, r7, r2\n\t"       \
  "smlad r3, r11, r7, r3\n\t"       \
  "ldr r8, [r6, #-16]\n\t"          \
  "ldr r9, [r6, #-12]\n\t"          \
  "ldr r10, [r6, #-8]\n\t"          \
  "ldr r11, [r6, #-4]\n\t"          \
  "smlad r0, r8, r12, r0\n\t"       \
  "smlad r1, r9, r12, r1\n\t"       \
  "smlad r2, r10, r12, r2\n\t"      \
  "smlad r3, r11, r12, r3\n\t"
#define TT_PW_GROUP_SECOND TT_PW_GROUP_FIRST
#define TT_PW_GROUP_SECOND_WHOLE TT_PW_GROUP_FIRST
#define TT_PW_LOOP  \
  "cmp r6, r5\n\t" \
  "bne 2b\n\t"
#endif

// The next channel's entry into r0-r4 and r6 (lr then at its q), then into the group loop,
// or out after the last channel. r5 holds x_end throughout.
#define TT_PW_LOAD_ENTRY "ldm lr!, {r0-r4, r6}\n\t"

#define TT_PW_ENTER     \
  "cbz r4, 9f\n\t"      \
  "ldr pc, [sp, #16]\n" \
  "9:\n\t"              \
  "add sp, #20\n\t"     \
  "pop {r4-r11, pc}\n"

#define TT_PW_CHANNELS(finish)      \
  "add r0, #28\n\t"                 \
  "ldm r0, {r1-r6}\n\t"             \
  "mov lr, r5\n\t"                  \
  "adr.w r5, 2f\n\t"                \
  "adr.w r7, 3f\n\t"                \
  "cmp r6, #3\n\t"                  \
  "it eq\n\t"                       \
  "moveq r5, r7\n\t"                \
  "adr.w r7, 5f\n\t"                \
  "cmp r6, #2\n\t"                  \
  "it eq\n\t"                       \
  "moveq r5, r7\n\t"                \
  "adr.w r7, 6f\n\t"                \
  "cmp r6, #1\n\t"                  \
  "it eq\n\t"                       \
  "moveq r5, r7\n\t"                \
  "orr r5, r5, #1\n\t"              \
  "push {r1-r5}\n\t"                \
  "ldr r5, [r0, #-4]\n\t"           \
  TT_PW_LOAD_ENTRY TT_PW_ENTER      \
  "2:\n\t" TT_PW_GROUP_FIRST        \
  "3:\n\t" TT_PW_GROUP_SECOND_WHOLE \
  "5:\n\t" TT_PW_GROUP_FIRST        \
  "6:\n\t" TT_PW_GROUP_SECOND       \
  TT_PW_LOOP finish                 \
  TT_PW_ENTER

// 3a. Not the last slice: the sums and the advanced filter pointer go back into the entry.
#define TT_PW_STORE_BACK  \
  "sub r7, lr, #24\n\t"   \
  "stm r7, {r0-r4}\n\t"   \
  "add lr, #12\n\t"       \
  TT_PW_LOAD_ENTRY

// 3b. The last slice: RequantizeDoubled (quant_math.h; r8 multiplier, r9 shift, r10 round as
//    the LDM loads the entry's q, -c added to round before the SMMLAR; the LDM's writeback
//    leaves lr at the next entry) and the
//    four stores (r4 out, r8, r6, r7 the deltas). FinishBlock doubles the sum here,
//    FinishBlockDoubled's arrive doubled. (The sign of the plain sum is the doubled one's.)
//    The four outputs go through each step side by side, in their own registers (r11 / r12 the
//    two rounding terms): one after the other, each ASR waited for its SMMLAR and each SSAT
//    for its ASR on the Cortex-M7 (8 cycles per 4 outputs); the same instructions on the M4.
//    The Cortex-M7 form loads with single LDRs beside the arithmetic and the stores (q, the
//    output pointer and deltas, then the next entry, whose fields lie 12 bytes on: lr ends 36
//    bytes on, where the LDM form leaves it) instead of three LDMs, which issue alone: about 19
//    cycles per channel and 4 outputs (21 with the doubling) against 25 (27).
#if TFLM_TRAIN_DSP_DUAL_ISSUE
#define TT_PW_REQUANTIZE              \
  "add r11, r10, r1, asr #31\n\t"    \
  "lsl r1, r1, #1\n\t"               \
  "add r12, r10, r2, asr #31\n\t"    \
  "smmlar r1, r1, r8, r11\n\t"       \
  "lsl r2, r2, #1\n\t"               \
  "add r11, r10, r3, asr #31\n\t"    \
  "smmlar r2, r2, r8, r12\n\t"       \
  "lsl r3, r3, #1\n\t"               \
  "add r12, r10, r0, asr #31\n\t"    \
  "smmlar r3, r3, r8, r11\n\t"       \
  "lsl r0, r0, #1\n\t"               \
  "smmlar r0, r0, r8, r12\n\t"

#define TT_PW_REQUANTIZE_DOUBLED      \
  "add r11, r10, r1, asr #31\n\t"    \
  "smmlar r1, r1, r8, r11\n\t"       \
  "add r12, r10, r2, asr #31\n\t"    \
  "smmlar r2, r2, r8, r12\n\t"       \
  "add r11, r10, r3, asr #31\n\t"    \
  "smmlar r3, r3, r8, r11\n\t"       \
  "add r12, r10, r0, asr #31\n\t"    \
  "smmlar r0, r0, r8, r12\n\t"

#define TT_PW_FINISH(requantize) \
  "ldr r10, [lr, #8]\n\t"       \
  "ldr r8, [lr]\n\t"            \
  "ldr r9, [lr, #4]\n\t"        \
  requantize                    \
  "ldr r4, [sp]\n\t"            \
  "asr r1, r1, r9\n\t"          \
  "asr r2, r2, r9\n\t"          \
  "asr r3, r3, r9\n\t"          \
  "asr r0, r0, r9\n\t"          \
  "ssat r1, #8, r1\n\t"         \
  "ldr r8, [sp, #4]\n\t"        \
  "ssat r2, #8, r2\n\t"         \
  "ldr r6, [sp, #8]\n\t"        \
  "ssat r3, #8, r3\n\t"         \
  "ldr r7, [sp, #12]\n\t"       \
  "ssat r0, #8, r0\n\t"         \
  "strb r1, [r4, r8]\n\t"       \
  "strb r2, [r4, r6]\n\t"       \
  "ldr r1, [lr, #16]\n\t"       \
  "strb r3, [r4, r7]\n\t"       \
  "ldr r2, [lr, #20]\n\t"       \
  "strb r0, [r4], #1\n\t"       \
  "ldr r3, [lr, #24]\n\t"       \
  "str r4, [sp]\n\t"            \
  "ldr r0, [lr, #12]\n\t"       \
  "ldr r4, [lr, #28]\n\t"       \
  "ldr r6, [lr, #32]\n\t"       \
  "add lr, #36\n\t"
#else
#define TT_PW_ROUND_TERMS(a, b) \
  "add r11, r10, " a ", asr #31\n\t" \
  "add r12, r10, " b ", asr #31\n\t"

#define TT_PW_DOUBLE(a, b)       \
  "lsl " a ", " a ", #1\n\t"    \
  "lsl " b ", " b ", #1\n\t"

#define TT_PW_MULTIPLY(a, b)              \
  "smmlar " a ", " a ", r8, r11\n\t"   \
  "smmlar " b ", " b ", r8, r12\n\t"

#define TT_PW_REQUANTIZE(a, b) \
  TT_PW_ROUND_TERMS(a, b) TT_PW_DOUBLE(a, b) TT_PW_MULTIPLY(a, b)

#define TT_PW_REQUANTIZE_DOUBLED(a, b) TT_PW_ROUND_TERMS(a, b) TT_PW_MULTIPLY(a, b)

// The output pointer and deltas come by single LDRs right before the stores: the first
// register-offset STRB then directly follows a load, which the M4 pipelines (1 cycle, not 2).
#define TT_PW_FINISH(requantize)  \
  "ldm lr!, {r8-r10}\n\t"         \
  requantize("r1", "r2")          \
  requantize("r3", "r0")          \
  "asr r1, r1, r9\n\t"            \
  "asr r2, r2, r9\n\t"            \
  "asr r3, r3, r9\n\t"            \
  "asr r0, r0, r9\n\t"            \
  "ssat r1, #8, r1\n\t"           \
  "ssat r2, #8, r2\n\t"           \
  "ssat r3, #8, r3\n\t"           \
  "ssat r0, #8, r0\n\t"           \
  "ldr r4, [sp]\n\t"              \
  "ldr r8, [sp, #4]\n\t"          \
  "ldr r6, [sp, #8]\n\t"          \
  "ldr r7, [sp, #12]\n\t"         \
  "strb r1, [r4, r8]\n\t"         \
  "strb r2, [r4, r6]\n\t"         \
  "strb r3, [r4, r7]\n\t"         \
  "strb r0, [r4], #1\n\t"         \
  "str r4, [sp]\n\t"              \
  TT_PW_LOAD_ENTRY
#endif

// 4-byte aligned: the ADR.W above computes its label from the word-aligned PC, which the
// assembler resolves assuming the function's section starts on a word; at -Os GCC aligns
// functions to 2 bytes only, and the jump into the group loop would land mid-instruction.
#define TT_PW_FUNCTION __attribute__((naked, aligned(4))) void

TT_PW_FUNCTION AccumulateBlock(const BlockJob* /*job*/) {
  __asm__ volatile(TT_PW_WIDEN(TT_PW_SAME) TT_PW_CHANNELS(TT_PW_STORE_BACK));
}

TT_PW_FUNCTION FinishBlock(const BlockJob* /*job*/) {
  __asm__ volatile(TT_PW_WIDEN(TT_PW_SAME) TT_PW_CHANNELS(TT_PW_FINISH(TT_PW_REQUANTIZE)));
}

TT_PW_FUNCTION FinishBlockDoubled(const BlockJob* /*job*/) {
  __asm__ volatile(
      TT_PW_WIDEN(TT_PW_TWICE) TT_PW_CHANNELS(TT_PW_FINISH(TT_PW_REQUANTIZE_DOUBLED)));
}

#undef TT_PW_FUNCTION
#undef TT_PW_WIDEN
#undef TT_PW_WIDEN_GROUP
#undef TT_PW_SAME
#undef TT_PW_TWICE
#undef TT_PW_GROUP_FIRST
#undef TT_PW_GROUP_SECOND
#undef TT_PW_GROUP_SECOND_WHOLE
#undef TT_PW_LOOP
#undef TT_PW_CHANNELS
#undef TT_PW_LOAD_ENTRY
#undef TT_PW_ENTER
#undef TT_PW_STORE_BACK
#undef TT_PW_REQUANTIZE
#undef TT_PW_REQUANTIZE_DOUBLED
#undef TT_PW_ROUND_TERMS
#undef TT_PW_DOUBLE
#undef TT_PW_MULTIPLY
#undef TT_PW_FINISH

// The last in_c % 4 input channels (from byte `offset`), one multiply at a time.
void TailPass(const int8_t* const* in, int32_t offset, int32_t tail, int32_t input_offset,
              Channel* ch, const ChannelStart* start, int32_t count) {
  for (int32_t k = 0; k < count; ++k) {
    const int8_t* w = start[k].row0 + offset;
    for (int32_t t = 0; t < tail; ++t) {
      for (int32_t p = 0; p < kPixels; ++p) {
        ch[k].acc[p] += static_cast<int32_t>(w[t]) *
                        (static_cast<int32_t>(in[p][offset + t]) + input_offset);
      }
    }
  }
}

// The output stage in C, for chunks the assembly does not finish: RequantizeDoubled with the
// activation clamp (kClamp) or without it.
template <bool kClamp>
void RequantFast(const Channel* ch, int32_t count, const BlockJob& o, int32_t lo, int32_t hi) {
  int8_t* out = o.out;
  for (int32_t k = 0; k < count; ++k) {
    const DoubledRequant q = ch[k].q;
    int32_t v[kPixels];
    for (int32_t p = 0; p < kPixels; ++p) {
      // Doubled without overflow: |acc| < 2^30 (BuildChannels).
      const int32_t acc2 = static_cast<int32_t>(static_cast<uint32_t>(ch[k].acc[p]) << 1);
      v[p] = RequantizeDoubled(acc2, q);
      if (kClamp) v[p] = ClampToRange(v[p], lo, hi);
    }
    out[0] = static_cast<int8_t>(v[0]);
    out[o.d1] = static_cast<int8_t>(v[1]);
    out[o.d2] = static_cast<int8_t>(v[2]);
    out[o.d3] = static_cast<int8_t>(v[3]);
    ++out;
  }
}

// Chunks with channels outside DoubledRequant's domain: the general output stage (multiplier
// and shift: the chunk's own).
void RequantGeneral(const Channel* ch, int32_t count, const BlockJob& o,
                    const int32_t* multiplier, const int32_t* shift, int32_t output_offset,
                    ActivationRange act) {
  int8_t* out = o.out;
  for (int32_t k = 0; k < count; ++k) {
    const int32_t m = multiplier[k], s = shift[k];
    out[0] = RequantizeToInt8(ch[k].acc[0], m, s, output_offset, act);
    out[o.d1] = RequantizeToInt8(ch[k].acc[1], m, s, output_offset, act);
    out[o.d2] = RequantizeToInt8(ch[k].acc[2], m, s, output_offset, act);
    out[o.d3] = RequantizeToInt8(ch[k].acc[3], m, s, output_offset, act);
    ++out;
  }
}

// The entries at their start for the next positions.
void Rewind(Channel* ch, const ChannelStart* start, int32_t count) {
  for (int32_t k = 0; k < count; ++k) {
    for (int32_t p = 0; p < kPixels; ++p) ch[k].acc[p] = start[k].bias;
    ch[k].row = start[k].row0;
  }
}

// n channels of one filter array (rows `row_size` apart from `row`) into ch and start: sums
// and start at the bias (doubled when double_shift is 1), filter pointers at the row's start.
// `bias` advances by bias_step (0: no bias, one zero read over and over), so the loop carries
// no branch.
void ChannelRows(Channel* ch, ChannelStart* start, int32_t n, const int32_t* bias,
                 int32_t bias_step, int32_t double_shift, const int8_t* row, int32_t row_size,
                 const uint32_t* x) {
  for (Channel* const end = ch + n; ch != end;
       ++ch, ++start, bias += bias_step, row += row_size) {
    const int32_t sum = static_cast<int32_t>(static_cast<uint32_t>(*bias) << double_shift);
    ch->acc[0] = ch->acc[1] = ch->acc[2] = ch->acc[3] = sum;
    start->bias = sum;
    start->row0 = row;
    ch->row = row;
    ch->x = x;
  }
}

// Channels [c0, c0 + count) into ch (and the end marker after them) and start, at their start
// for the first positions (as Rewind leaves them; sums and bias doubled when `doubled`).
// Returns whether all of them take the fast output stage: DoubledRequant's domain, and a bias
// that keeps every accumulator within +-2^30 (each of the in_c products is at most 255 * 128
// in magnitude). Doubled entries are only usable when it returns true.
// The kernel runs once per streamed output row, so this set-up repeats for every row of a
// layer: two short loops (the output stage's constants, stopping at the first channel outside
// its domain, whose chunk then reads none; then the entries, ChannelRows) keep GCC's live
// values in registers, where one loop doing both spilled them.
bool BuildChannels(const PerChannelQuant& quant, const int32_t* bias, const FilterRows& filter,
                   int32_t c0, int32_t count, int32_t in_c, int32_t output_offset, bool doubled,
                   const uint32_t* x, Channel* ch, ChannelStart* start) {
  const int64_t reach = static_cast<int64_t>(in_c) * 255 * 128;
  // The bias bounds in int32 (empty when the products alone can pass 2^30).
  const bool reachable = reach < (int64_t{1} << 30);
  const int32_t bias_lo = reachable ? static_cast<int32_t>(-(int64_t{1} << 30) + reach) : 1;
  const int32_t bias_hi = reachable ? static_cast<int32_t>((int64_t{1} << 30) - 1 - reach) : 0;
  const int32_t zero = 0;
  const int32_t* const b = bias != nullptr ? bias + c0 : &zero;
  const int32_t bias_step = bias != nullptr ? 1 : 0;
  // Local copies: a store into ch[k].q may alias quant's fields for all GCC knows.
  const int32_t* const multiplier = quant.multiplier + c0;
  const int32_t* const shift = quant.shift + c0;
  bool fast = true;
  for (int32_t k = 0; k < count; ++k) {
    const int32_t bk = b[k * bias_step];
    if (bk < bias_lo || bk > bias_hi ||
        !PrepareDoubledRequant(multiplier[k], shift[k], output_offset, &ch[k].q)) {
      fast = false;
      break;
    }
  }
  // Rows at `head`, then rows at `base`: each part's rows are row_size apart.
  const int32_t head = filter.head_rows_in(c0, count);
  const int32_t double_shift = doubled ? 1 : 0;
  ChannelRows(ch, start, head, b, bias_step, double_shift, filter.row(c0), filter.row_size, x);
  ChannelRows(ch + head, start + head, count - head, b + head * bias_step, bias_step,
              double_shift, filter.row(c0 + head), filter.row_size, x);
  ch[count].row = nullptr;
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
                      int8_t* output, void* scratch) {
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
  const int32_t output_offset = params.output_offset;
  const ActivationRange act = params.activation;
  const bool clamp = act.min > -128 || act.max < 127;
  const int32_t first_groups = groups < kSliceGroups ? groups : kSliceGroups;
  // With stride 1 over the whole input the positions' pixels are the input's, in order.
  const bool dense = params.stride.h == 1 && params.stride.w == 1 &&
                     out_h == input_dims.h && out_w == input_dims.w;

  // The widened inputs, the channel entries and the list's end, then the entries' starts
  // (ConvPointwiseDspGetBufferSize).
  uint32_t* const x = static_cast<uint32_t*>(scratch);
  Channel* const ch = reinterpret_cast<Channel*>(x + 8 * first_groups);
  ChannelStart* const start =
      reinterpret_cast<ChannelStart*>(ch + (out_c < kChunk ? out_c : kChunk) + 1);
  BlockJob job;
  job.x = x;
  job.xo = simd::Splat16(params.input_offset);
  job.ch = ch;
  for (int32_t c0 = 0; c0 < out_c; c0 += kChunk) {
    const int32_t count = out_c - c0 < kChunk ? out_c - c0 : kChunk;
    // The assembly finishes fast chunks without a clamp or a tail (every MobileNet layer).
    // It then takes doubled sums when that is cheaper: one instruction less per output against
    // eight more per widened group (which also keeps doubled blocks to one slice).
    const bool want_doubled = !clamp && tail == 0 && 2 * groups < count;
    bool fast = BuildChannels(quant, bias, filter, c0, count, in_c, output_offset,
                              want_doubled, x, ch, start);
    if (want_doubled && !fast) {
      fast = BuildChannels(quant, bias, filter, c0, count, in_c, output_offset, false, x, ch,
                           start);
    }
    const bool finish = fast && !clamp && tail == 0;
    const bool doubled = finish && want_doubled;
    PixelCursor cur{input, 0, 0, out_h, out_w, params.stride.w * in_c,
                    params.stride.h * input_dims.w * in_c, input_dims.h * input_dims.w * in_c};
    int32_t i = 0;
    if (finish && dense && groups <= kSliceGroups) {
      // The common case (every MobileNet layer but the deepest): whole blocks of consecutive
      // pixels, one slice, finished by the assembly; the entries stay as they are.
      job.d1 = out_c;
      job.d2 = 2 * out_c;
      job.d3 = 3 * out_c;
      job.x_end = x + 8 * groups;
      job.rest = groups & 3;
      void (*const block)(const BlockJob*) = doubled ? FinishBlockDoubled : FinishBlock;
      for (; i + kPixels <= positions; i += kPixels) {
        const int8_t* p = input + i * in_c;
        job.in[0] = p;
        job.in[1] = p + in_c;
        job.in[2] = p + 2 * in_c;
        job.in[3] = p + 3 * in_c;
        job.out = output + i * out_c + c0;
        block(&job);
      }
    }
    for (; i < positions; i += kPixels) {
      // A short last block repeats its last position, whose bytes are then written twice.
      const int32_t valid = positions - i < kPixels ? positions - i : kPixels;
      const int8_t* in[kPixels];
      int32_t delta[kPixels];
      for (int32_t p = 0; p < kPixels; ++p) {
        if (p < valid) {
          in[p] = dense ? input + (i + p) * in_c : cur.Pixel();
          delta[p] = p * out_c;
          if (!dense) cur.Next();
        } else {
          in[p] = in[p - 1];
          delta[p] = delta[p - 1];
        }
      }
      job.out = output + i * out_c + c0;
      job.d1 = delta[1];
      job.d2 = delta[2];
      job.d3 = delta[3];
      for (int32_t g0 = 0; g0 < groups; g0 += kSliceGroups) {
        const int32_t n = groups - g0 < kSliceGroups ? groups - g0 : kSliceGroups;
        for (int32_t p = 0; p < kPixels; ++p) job.in[p] = in[p] + 4 * g0;
        job.x_end = x + 8 * n;
        job.rest = n & 3;
        if (!finish || g0 + n < groups) {
          AccumulateBlock(&job);
        } else if (doubled) {
          FinishBlockDoubled(&job);
        } else {
          FinishBlock(&job);
        }
      }
      // Single-slice finished blocks leave the entries as they were; the others rewind them.
      if (finish) {
        if (groups > kSliceGroups) Rewind(ch, start, count);
        continue;
      }
      if (tail != 0) TailPass(in, 4 * groups, tail, params.input_offset, ch, start, count);
      if (!fast) {
        RequantGeneral(ch, count, job, quant.multiplier + c0, quant.shift + c0, output_offset,
                       act);
      } else if (clamp) {
        RequantFast<true>(ch, count, job, act.min, act.max);
      } else {
        RequantFast<false>(ch, count, job, act.min, act.max);
      }
      Rewind(ch, start, count);
    }
  }
  return true;
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_DSP
