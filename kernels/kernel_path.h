// Build-time choice between the portable reference path and the Cortex-M paths of the kernels.
// The DSP path is compiled when the target has the DSP extension (__ARM_FEATURE_DSP:
// Cortex-M4/M7/M33/M55...) unless TFLM_TRAIN_KERNELS_REFERENCE is defined
// (`--copt=-DTFLM_TRAIN_KERNELS_REFERENCE` forces the portable path everywhere). On targets with
// Helium (__ARM_FEATURE_MVE: the Cortex-M55) the MVE kernels (`*_mve.cc`) take the pointwise and
// depthwise forward and, with MVE float, the float backward products on top of the DSP path;
// `--copt=-DTFLM_TRAIN_KERNELS_NO_MVE` leaves them out (the DSP path alone, for comparisons).
// Every path gives identical bytes: the integer kernels only reorder exact int32 additions, the
// float ones keep each output's operations and their order.
#ifndef TFLM_TRAIN_KERNELS_KERNEL_PATH_H_
#define TFLM_TRAIN_KERNELS_KERNEL_PATH_H_

#if defined(__ARM_FEATURE_DSP) && !defined(TFLM_TRAIN_KERNELS_REFERENCE)
#define TFLM_TRAIN_KERNELS_DSP 1
#else
#define TFLM_TRAIN_KERNELS_DSP 0
#endif

#if TFLM_TRAIN_KERNELS_DSP && defined(__ARM_FEATURE_MVE) && !defined(TFLM_TRAIN_KERNELS_NO_MVE)
#define TFLM_TRAIN_KERNELS_MVE 1
#else
#define TFLM_TRAIN_KERNELS_MVE 0
#endif

// MVE with single-precision float lanes (__ARM_FEATURE_MVE bit 1: -mcpu=cortex-m55 with an FPU).
#if TFLM_TRAIN_KERNELS_MVE && (__ARM_FEATURE_MVE & 2)
#define TFLM_TRAIN_KERNELS_MVE_FLOAT 1
#else
#define TFLM_TRAIN_KERNELS_MVE_FLOAT 0
#endif

namespace tflm_train {

// For logs and tests that must know which path they exercise.
constexpr bool kKernelsUseDsp = TFLM_TRAIN_KERNELS_DSP != 0;
constexpr bool kKernelsUseMve = TFLM_TRAIN_KERNELS_MVE != 0;
constexpr const char* kKernelPathName =
    TFLM_TRAIN_KERNELS_MVE ? "mve" : (TFLM_TRAIN_KERNELS_DSP ? "dsp" : "reference");

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_KERNEL_PATH_H_
