// Prepare + eval of one OpCase through the forward kernels, declared for two builds of the same
// runner.cc: namespace kernel_test::dsp links the kernels as the board normally builds them
// (DSP path), kernel_test::ref links //kernels:forward_reference_twin (the portable path of the
// same sources, renamed to tflm_train_ref). One firmware can then run both on the same data.
#ifndef TFLM_TRAIN_KERNELS_FIRMWARE_RUNNER_H_
#define TFLM_TRAIN_KERNELS_FIRMWARE_RUNNER_H_

#include <cstdint>

#include "kernels/firmware/op_case.h"

#define KERNEL_TEST_DECLARE_RUNNER(path)                                                     \
  namespace kernel_test {                                                                    \
  namespace path {                                                                           \
  /* Name of the kernel path this build compiled ("dsp" or "reference"). */                 \
  const char* KernelPathName();                                                              \
  /* Runs prepare once, then eval `repeats` (>= 1) times; output_size gets the number of  */ \
  /* output bytes (at most capacity), eval_ticks (if not null) the board ticks of all     */ \
  /* evals. Returns false if prepare rejects the case or the output would not fit.        */ \
  bool Run(const OpCase& c, int32_t repeats, int8_t* output, int32_t capacity,               \
           int32_t* output_size, uint64_t* eval_ticks);                                      \
  /* The kernels' output stage alone (RequantizeToInt8 as this path compiles it) and its   */ \
  /* int32 requantised value before the zero point and clamp.                              */ \
  int8_t Requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_offset,   \
                    int32_t act_min, int32_t act_max);                                       \
  int32_t RequantizeInt32(int32_t acc, int32_t multiplier, int32_t shift);                   \
  /* The fast output stage (quant_math.h RequantizeDoubledInt32 / RequantizeDoubled, fed */ \
  /* 2 * acc; acc within +-2^30) as this build compiles it: the exact value and the int8 */ \
  /* one; false outside its parameter domain.                                             */ \
  bool RequantizeDoubledForm(int32_t acc, int32_t multiplier, int32_t shift,                 \
                             int32_t output_offset, int32_t* value, int8_t* saturated);      \
  /* Whether ADD with c's parameters runs the DSP specialisation (add_dsp.h); false on the  */ \
  /* reference build.                                                                      */ \
  bool AddTakesDspKernel(const OpCase& c);                                                   \
  /* ADD's rescaled sum of each input pair, doubled, before the output rescaling: the     */ \
  /* reference formula on the reference build, the DSP kernel's (false where it does not  */ \
  /* apply) on the DSP build.                                                              */ \
  bool AddDoubledSums(const OpCase& c, int32_t* sums2);                                      \
  }                                                                                          \
  }

KERNEL_TEST_DECLARE_RUNNER(dsp)
KERNEL_TEST_DECLARE_RUNNER(ref)

#undef KERNEL_TEST_DECLARE_RUNNER

#endif  // TFLM_TRAIN_KERNELS_FIRMWARE_RUNNER_H_
