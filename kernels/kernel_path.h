// Build-time choice between the portable reference path and the Cortex-M DSP path of the forward
// kernels. The DSP path is compiled when the target has the DSP extension (__ARM_FEATURE_DSP:
// Cortex-M4/M7/M33...) unless TFLM_TRAIN_KERNELS_REFERENCE is defined
// (`--copt=-DTFLM_TRAIN_KERNELS_REFERENCE` forces the portable path everywhere). Both paths give
// identical bytes: they only reorder exact int32 additions.
#ifndef TFLM_TRAIN_KERNELS_KERNEL_PATH_H_
#define TFLM_TRAIN_KERNELS_KERNEL_PATH_H_

#if defined(__ARM_FEATURE_DSP) && !defined(TFLM_TRAIN_KERNELS_REFERENCE)
#define TFLM_TRAIN_KERNELS_DSP 1
#else
#define TFLM_TRAIN_KERNELS_DSP 0
#endif

namespace tflm_train {

// For logs and tests that must know which path they exercise.
constexpr bool kKernelsUseDsp = TFLM_TRAIN_KERNELS_DSP != 0;
constexpr const char* kKernelPathName = TFLM_TRAIN_KERNELS_DSP ? "dsp" : "reference";

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_KERNEL_PATH_H_
