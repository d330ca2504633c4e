// Bit-exactness of the DSP path against the reference path on the board: seeded random cases
// per kernel (case_gen.h), each run through both builds of the same kernel sources (runner.h);
// every output byte must match. Exit code 0 iff all cases match and the two builds really are
// the DSP and the reference path.
#include <cstdint>
#include <cmath>
#include <cstring>

#include "kernels/firmware/case_gen.h"
#include "kernels/firmware/runner.h"
#include "targets/board/board.h"

#ifndef CASES_PER_OP
#define CASES_PER_OP 300
#endif
#ifndef ADD_PARAM_SETS
#define ADD_PARAM_SETS 100
#endif

namespace {

using kernel_test::Op;

constexpr uint32_t kSeed = 0x5EED0004u;
constexpr int32_t kMaxReports = 5;  // mismatching cases printed per op
constexpr int32_t kOutputBytes = kernel_test::CaseBuffers::kInputBytes;

kernel_test::CaseBuffers g_buf;
int8_t g_out_dsp[kOutputBytes];
int8_t g_out_ref[kOutputBytes];

// Bytes strictly inside the activation's int8 range say the sum was not just clamped away.
struct Stats {
  int32_t cases = 0;
  int32_t mismatched_cases = 0;
  int32_t bytes = 0;
  int32_t interior_bytes = 0;
};

void PrintCase(const kernel_test::OpCase& c) {
  board_printf("  in %ldx%ldx%ldx%ld filter %ldx%ldx%ldx%ld stride %ld,%ld dil %ld,%ld pad %ld "
               "act %ld dm %ld scales %ld zp in %ld w %ld out %ld bias %d\n",
               (long)c.input_dims[0], (long)c.input_dims[1], (long)c.input_dims[2],
               (long)c.input_dims[3], (long)c.filter_dims[0], (long)c.filter_dims[1],
               (long)c.filter_dims[2], (long)c.filter_dims[3], (long)c.stride_h,
               (long)c.stride_w, (long)c.dilation_h, (long)c.dilation_w, (long)c.padding,
               (long)c.activation, (long)c.depth_multiplier, (long)c.num_filter_scales,
               (long)c.input_zero_point, (long)c.filter_zero_point, (long)c.output_zero_point,
               c.bias != nullptr ? 1 : 0);
}

bool CheckOp(Op op, kernel_test::Rng& rng, Stats* s) {
  for (int32_t i = 0; i < CASES_PER_OP; ++i) {
    kernel_test::OpCase c;
    kernel_test::RandomCase(op, rng, g_buf, &c);
    int32_t n_dsp = 0, n_ref = 0;
    // Different fill bytes: a kernel that skips an output cannot match by accident.
    std::memset(g_out_dsp, 0x55, sizeof(g_out_dsp));
    std::memset(g_out_ref, 0xAA, sizeof(g_out_ref));
    const bool ok_dsp = kernel_test::dsp::Run(c, 1, g_out_dsp, kOutputBytes, &n_dsp, nullptr);
    const bool ok_ref = kernel_test::ref::Run(c, 1, g_out_ref, kOutputBytes, &n_ref, nullptr);
    ++s->cases;
    if (!ok_dsp || !ok_ref || n_dsp != n_ref) {
      board_printf("[kernels] %s case %ld: prepare failed (dsp %d ref %d)\n",
                   kernel_test::OpName(op), (long)i, ok_dsp ? 1 : 0, ok_ref ? 1 : 0);
      PrintCase(c);
      return false;
    }
    int32_t lo = -128, hi = 127;  // interior of the int8 range (activation clamps count as edge)
    for (int32_t k = 0; k < n_ref; ++k) {
      if (g_out_ref[k] < hi && g_out_ref[k] > lo) ++s->interior_bytes;
    }
    s->bytes += n_ref;
    for (int32_t k = 0; k < n_ref; ++k) {
      if (g_out_dsp[k] != g_out_ref[k]) {
        if (++s->mismatched_cases > kMaxReports) break;
        board_printf("[kernels] %s case %ld: MISMATCH at byte %ld of %ld: dsp %d ref %d\n",
                     kernel_test::OpName(op), (long)i, (long)k, (long)n_ref, g_out_dsp[k],
                     g_out_ref[k]);
        PrintCase(c);
        break;
      }
    }
  }
  return true;
}

// The output stage alone, DSP formulation against the reference: INT32 extremes, powers of
// two and neighbours, ties of both roundings (multiplier 2^30 with odd x: the doubling high
// multiply on a half; multiplier INT32_MIN: the high multiply is exactly -x, so
// x = -(k * 2^e + 2^(e-1)) is a half for the rounding shift by e), every shift in [-31, 31],
// multipliers at the int32 edges, offsets/clamps at the int8 edges; then random inputs.
// Returns the number of mismatches (the first few printed).
int32_t g_edge_acc[512];
constexpr int64_t kTieMultiples[] = {0, 1, 1000};

int32_t EdgeAccumulators() {
  int32_t n = 0;
  auto add = [&n](int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX && n < 512) g_edge_acc[n++] = static_cast<int32_t>(v);
  };
  const int64_t fixed[] = {INT32_MIN, INT32_MIN + 1LL, -1, 0, 1, 2, 3, INT32_MAX - 1LL, INT32_MAX};
  for (int64_t v : fixed) add(v);
  for (int b = 0; b < 31; ++b) {
    for (int d = -1; d <= 1; ++d) {
      add((int64_t{1} << b) + d);
      add(-(int64_t{1} << b) + d);
    }
  }
  for (int e = 1; e < 32; ++e) {
    for (const int64_t k : kTieMultiples) {
      const int64_t t = k * (int64_t{1} << e) + (int64_t{1} << (e - 1));
      add(t);
      add(-t);
      add(-t + 1);
    }
  }
  return n;
}

int32_t CheckRequantize(int32_t acc, int32_t m, int32_t shift, int32_t off, int32_t lo,
                        int32_t hi, int32_t* reported) {
  const int32_t v_dsp = kernel_test::dsp::RequantizeInt32(acc, m, shift);
  const int32_t v_ref = kernel_test::ref::RequantizeInt32(acc, m, shift);
  const int8_t o_dsp = kernel_test::dsp::Requantize(acc, m, shift, off, lo, hi);
  const int8_t o_ref = kernel_test::ref::Requantize(acc, m, shift, off, lo, hi);
  if (v_dsp == v_ref && o_dsp == o_ref) return 0;
  if ((*reported)++ < kMaxReports) {
    board_printf("[kernels] requantize MISMATCH acc %ld mult %ld shift %ld offset %ld: dsp %ld/%d "
                 "ref %ld/%d\n", (long)acc, (long)m, (long)shift, (long)off, (long)v_dsp, o_dsp,
                 (long)v_ref, o_ref);
  }
  return 1;
}

int32_t CheckRequantizeEdges(kernel_test::Rng& rng, int32_t* checked) {
  const int32_t n_acc = EdgeAccumulators();
  const int32_t mults[] = {INT32_MIN, INT32_MIN + 1, -(1 << 30), -1, 0, 1, 3, (1 << 30) - 1,
                           1 << 30, (1 << 30) + 1, 1518500250, INT32_MAX};
  const int32_t stages[][3] = {{0, -128, 127}, {127, -128, 127}, {-128, 0, 6}};
  int32_t bad = 0, reported = 0;
  *checked = 0;
  for (int32_t m : mults) {
    for (int32_t shift = -31; shift <= 31; ++shift) {
      for (int32_t i = 0; i < n_acc; ++i) {
        const int32_t* st = stages[(i + shift) % 3 < 0 ? 0 : (i + shift) % 3];
        bad += CheckRequantize(g_edge_acc[i], m, shift, st[0], st[1], st[2], &reported);
        ++*checked;
      }
    }
  }
  for (int32_t i = 0; i < 100000; ++i) {
    const int32_t acc = rng.Chance(50) ? static_cast<int32_t>(rng.Next())
                                       : rng.Uniform(-(1 << 20), 1 << 20);
    const int32_t m = rng.Chance(70) ? rng.Uniform(1 << 30, INT32_MAX)
                                     : static_cast<int32_t>(rng.Next());
    const int32_t lo = rng.Uniform(-128, 127);
    const int32_t hi = rng.Uniform(lo, 127);
    bad += CheckRequantize(acc, m, rng.Uniform(-31, 30), rng.Uniform(-128, 127), lo, hi,
                           &reported);
    ++*checked;
  }
  return bad;
}

// The DSP kernels' fast output stage (RequantizeDoubled, quant_math.h; the DSP build's SMMLAR
// and the reference build's portable helper) against the reference requantisation plus the
// output offset, exactly before the int8 saturation and after it: accumulators at
// +-(2^30 - 1) and the edge values inside them, every right shift of the domain and the ones
// next to it, multipliers from 0 to INT32_MAX and negative ones (outside the domain: the
// eligibility must agree), offsets at and past the int8 edges; then random inputs. Returns the
// number of mismatches.
int32_t CheckDoubledRequantize(kernel_test::Rng& rng, int32_t* checked) {
  const int32_t n_acc = EdgeAccumulators();
  const int32_t mults[] = {INT32_MIN, -1, 0, 1, 3, (1 << 30) - 1, 1 << 30, (1 << 30) + 1,
                           1518500250, INT32_MAX};
  const int32_t offsets[] = {-129, -128, -1, 0, 1, 127, 128};
  int32_t bad = 0, reported = 0;
  *checked = 0;
  auto check = [&](int32_t acc, int32_t m, int32_t shift, int32_t off) {
    int32_t v_dsp = 0, v_ref = 0;
    int8_t o_dsp = 0, o_ref = 0;
    const bool in_dsp = kernel_test::dsp::RequantizeDoubledForm(acc, m, shift, off, &v_dsp, &o_dsp);
    const bool in_ref = kernel_test::ref::RequantizeDoubledForm(acc, m, shift, off, &v_ref, &o_ref);
    const bool domain = m >= 0 && shift <= -1 && shift >= -22 && off >= -128 && off <= 127;
    const int32_t want = kernel_test::ref::RequantizeInt32(acc, m, shift) + off;
    const int32_t want8 = want < -128 ? -128 : (want > 127 ? 127 : want);
    if (domain) ++*checked;
    if (in_dsp == domain && in_ref == domain &&
        (!domain || (v_dsp == want && v_ref == want && o_dsp == want8 && o_ref == want8))) {
      return;
    }
    ++bad;
    if (reported++ < kMaxReports) {
      board_printf("[kernels] doubled requantize MISMATCH acc %ld mult %ld shift %ld offset %ld: "
                   "dsp %d %ld/%d, ref build %d %ld/%d, reference %ld\n", (long)acc, (long)m,
                   (long)shift, (long)off, in_dsp, (long)v_dsp, o_dsp, in_ref, (long)v_ref, o_ref,
                   (long)want);
    }
  };
  for (int32_t m : mults) {
    for (int32_t shift = -23; shift <= 0; ++shift) {
      for (int32_t off : offsets) {
        check((1 << 30) - 1, m, shift, off);
        check(-(1 << 30) + 1, m, shift, off);
        for (int32_t i = 0; i < n_acc; ++i) {
          const int32_t a = g_edge_acc[i];
          if (a > -(1 << 30) && a < (1 << 30)) check(a, m, shift, off);
        }
      }
    }
  }
  for (int32_t i = 0; i < 100000; ++i) {
    const int32_t acc = rng.Chance(50) ? rng.Uniform(-(1 << 30) + 1, (1 << 30) - 1)
                                       : rng.Uniform(-(1 << 20), 1 << 20);
    check(acc, rng.Uniform(1 << 30, INT32_MAX), rng.Uniform(-22, -1), rng.Uniform(-128, 127));
  }
  return bad;
}

// ADD: every (input1, input2) byte pair (65536) for each of ADD_PARAM_SETS random parameter
// sets: scale ratios from equal and exact powers of two to 2^+-9 (the small input's right shift
// from 0 to past the DSP kernel's overflow bound), output scales up to 2^4 times the inputs'
// (output shifts past kDoubledMaxRightShift) or equal to the larger input scale, zero points at
// the int8 edges, every activation. Returns false on a prepare failure; counts mismatching
// parameter sets and those the DSP specialisation took.
constexpr int32_t kAddChunk = 4096;
int8_t g_add_in1[kAddChunk];
int8_t g_add_in2[kAddChunk];
int32_t g_add_sums_dsp[kAddChunk];
int32_t g_add_sums_ref[kAddChunk];

int32_t RandomZeroPoint(kernel_test::Rng& rng) {
  if (rng.Chance(15)) return rng.Chance(50) ? -128 : 127;
  return rng.Uniform(-128, 127);
}

bool CheckAdd(kernel_test::Rng& rng, int32_t* mismatched, int32_t* dsp_sets) {
  *mismatched = 0;
  *dsp_sets = 0;
  for (int32_t set = 0; set < ADD_PARAM_SETS; ++set) {
    kernel_test::OpCase c{};
    c.op = Op::kAdd;
    c.input_scale = rng.UniformF(0.005f, 0.2f);
    const int32_t kind = rng.Uniform(0, 9);
    const float ratio = kind == 0 ? 1.0f
                        : kind == 1 ? (rng.Chance(50) ? 0.5f : 2.0f)
                                    : std::exp2(rng.UniformF(-9.0f, 9.0f));
    c.input2_scale = c.input_scale * ratio;
    const float max_scale = c.input_scale > c.input2_scale ? c.input_scale : c.input2_scale;
    // The zoo's residual ADDs have the larger input's scale on the output (a power-of-two
    // output rescaling, multiplier exactly 2^30).
    c.output_scale = rng.Chance(25) ? max_scale : max_scale * std::exp2(rng.UniformF(-1.0f, 4.0f));
    c.input_zero_point = RandomZeroPoint(rng);
    c.input2_zero_point = RandomZeroPoint(rng);
    c.output_zero_point = RandomZeroPoint(rng);
    c.activation = rng.Uniform(0, 3);
    c.input_dims[0] = 1;
    c.input_dims[1] = 1;
    c.input_dims[2] = 1;
    // Chunks of a length that is not a multiple of 4 leave the scalar tail some pairs too.
    c.input_dims[3] = kAddChunk - (set % 4);
    c.input = g_add_in1;
    c.input2 = g_add_in2;
    const bool dsp_kernel = kernel_test::dsp::AddTakesDspKernel(c);
    if (dsp_kernel) ++*dsp_sets;
    bool same = true;
    for (int32_t first = 0; first < 65536; first += c.input_dims[3]) {
      for (int32_t i = 0; i < c.input_dims[3]; ++i) {
        const int32_t pair = (first + i) & 0xFFFF;
        g_add_in1[i] = static_cast<int8_t>(pair >> 8);
        g_add_in2[i] = static_cast<int8_t>(pair & 0xFF);
      }
      int32_t n_dsp = 0, n_ref = 0;
      std::memset(g_out_dsp, 0x55, sizeof(g_out_dsp));
      std::memset(g_out_ref, 0xAA, sizeof(g_out_ref));
      if (!kernel_test::dsp::Run(c, 1, g_out_dsp, kOutputBytes, &n_dsp, nullptr) ||
          !kernel_test::ref::Run(c, 1, g_out_ref, kOutputBytes, &n_ref, nullptr) ||
          n_dsp != n_ref) {
        board_printf("[kernels] ADD set %ld: prepare failed\n", (long)set);
        return false;
      }
      // The rescaled sums too: an off-by-one there rarely reaches an output byte.
      const bool sums = dsp_kernel && kernel_test::dsp::AddDoubledSums(c, g_add_sums_dsp) &&
                        kernel_test::ref::AddDoubledSums(c, g_add_sums_ref);
      for (int32_t k = 0; same && k < n_ref; ++k) {
        if (g_out_dsp[k] == g_out_ref[k] &&
            (!sums || g_add_sums_dsp[k] == g_add_sums_ref[k])) {
          continue;
        }
        same = false;
        if (*mismatched < kMaxReports) {
          board_printf("[kernels] ADD set %ld MISMATCH in1 %d in2 %d: dsp %d/%ld ref %d/%ld (scales "
                       "%ld %ld %ld e-6, zp %ld %ld %ld, act %ld)\n",
                       (long)set, g_add_in1[k], g_add_in2[k], g_out_dsp[k],
                       sums ? (long)g_add_sums_dsp[k] : 0L, g_out_ref[k],
                       sums ? (long)g_add_sums_ref[k] : 0L,
                       (long)(c.input_scale * 1e6f), (long)(c.input2_scale * 1e6f),
                       (long)(c.output_scale * 1e6f), (long)c.input_zero_point,
                       (long)c.input2_zero_point, (long)c.output_zero_point,
                       (long)c.activation);
        }
      }
    }
    if (!same) ++*mismatched;
  }
  return true;
}

}  // namespace

int main() {
  board_init();
  board_printf("[kernels] board %s: '%s' build vs '%s' build, seed 0x%08lx, %d cases per op\n",
               board_name(), kernel_test::dsp::KernelPathName(),
               kernel_test::ref::KernelPathName(), static_cast<unsigned long>(kSeed),
               CASES_PER_OP);
  // Helium targets run the MVE kernels on top of the DSP path: that build must say so.
#if defined(__ARM_FEATURE_MVE)
  const char* const fast_path = "mve";
#else
  const char* const fast_path = "dsp";
#endif
  bool ok = std::strcmp(kernel_test::dsp::KernelPathName(), fast_path) == 0 &&
            std::strcmp(kernel_test::ref::KernelPathName(), "reference") == 0;
  if (!ok) {
    board_printf("[kernels] FAIL: the builds are not the %s and the reference path\n", fast_path);
  }
  kernel_test::Rng rng(kSeed);
  const Op ops[] = {Op::kConv, Op::kDepthwise, Op::kFullyConnected, Op::kPointwise};
  for (Op op : ops) {
    Stats s;
    const uint64_t t0 = board_ticks();
    const bool ran = CheckOp(op, rng, &s);
    char insns[21];
    board_printf("[kernels] %s: %ld cases, %ld output bytes (%ld%% inside the int8 range), "
                 "%ld mismatching cases (%s insns)\n",
                 kernel_test::OpName(op), (long)s.cases, (long)s.bytes,
                 (long)(s.bytes > 0 ? (100LL * s.interior_bytes) / s.bytes : 0),
                 (long)s.mismatched_cases,
                 board_u64_str(board_ticks_to_insns(board_ticks() - t0), insns));
    // Mostly-clamped outputs would make the comparison weak: require a healthy interior share.
    const bool informative = s.bytes > 0 && 2 * s.interior_bytes > s.bytes;
    if (!informative) board_printf("[kernels] FAIL: %s outputs mostly clamped\n",
                                   kernel_test::OpName(op));
    ok = ok && ran && s.mismatched_cases == 0 && informative;
  }
  {
    int32_t mismatched = 0, dsp_sets = 0;
    const uint64_t t0 = board_ticks();
    const bool ran = CheckAdd(rng, &mismatched, &dsp_sets);
    char insns[21];
    board_printf("[kernels] ADD: %d parameter sets x 65536 input pairs, %ld through the DSP "
                 "kernel, %ld mismatching sets (%s insns)\n", ADD_PARAM_SETS, (long)dsp_sets,
                 (long)mismatched, board_u64_str(board_ticks_to_insns(board_ticks() - t0), insns));
    // The DSP kernel must really be exercised.
    const bool exercised = 2 * dsp_sets > ADD_PARAM_SETS;
    if (!exercised) board_printf("[kernels] FAIL: ADD cases mostly outside the DSP kernel\n");
    ok = ok && ran && mismatched == 0 && exercised;
  }
  {
    int32_t checked = 0;
    const uint64_t t0 = board_ticks();
    const int32_t bad = CheckRequantizeEdges(rng, &checked);
    char insns[21];
    board_printf("[kernels] requantize: %ld inputs (edge cases + random), %ld mismatching "
                 "(%s insns)\n", (long)checked, (long)bad,
                 board_u64_str(board_ticks_to_insns(board_ticks() - t0), insns));
    ok = ok && bad == 0;
  }
  {
    int32_t checked = 0;
    const int32_t bad = CheckDoubledRequantize(rng, &checked);
    board_printf("[kernels] doubled requantize: %ld inputs (edge cases + random), %ld "
                 "mismatching\n", (long)checked, (long)bad);
    ok = ok && bad == 0 && checked > 100000;
  }
  board_printf("[kernels] %s%s%s\n", ok ? "PASS: " : "FAIL", ok ? fast_path : "",
               ok ? " == reference on every case" : "");
  return ok ? 0 : 1;
}
