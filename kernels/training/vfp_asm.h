// Multiply-accumulate on the single-precision VFP of the Cortex-M4F / M7 (FPv4-SP / FPv5).
// VMLA.F32 d, n, m is not fused: the ARM ARM defines it as d = FPAdd(d, FPMul(n, m)), the
// product rounded to float before the add, so it gives exactly the bits of `d + n * m` under
// -ffp-contract=off (a VMUL then a VADD) in one instruction. GCC never emits it under
// -ffp-contract=off, hence inline asm. (VFMA, fused, would change results: never use it.)
// Proven on both boards against VMUL + VADD on random and special operands:
// examples/firmware/grad_bench (vmla check).
#ifndef TFLM_TRAIN_KERNELS_TRAINING_VFP_ASM_H_
#define TFLM_TRAIN_KERNELS_TRAINING_VFP_ASM_H_

#if defined(__ARM_FP) && (__ARM_FP & 4) && !defined(TFLM_TRAIN_KERNELS_REFERENCE)
#define TFLM_TRAIN_VFP_ASM 1
#else
#define TFLM_TRAIN_VFP_ASM 0
#endif

namespace tflm_train {

// acc + a * b with the product rounded first: the C++ expression, operand for operand.
inline float MulAdd(float acc, float a, float b) {
#if TFLM_TRAIN_VFP_ASM
  __asm__("vmla.f32 %0, %1, %2" : "+t"(acc) : "t"(a), "t"(b));
  return acc;
#else
  return acc + a * b;
#endif
}

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_VFP_ASM_H_
