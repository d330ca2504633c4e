// Deterministic float32 Exp/Log for the training path. libm's expf/logf differ between newlib
// (firmware) and glibc (host) in the last bit, which would make a training step produce different
// bytes on the board and on the host. These use only +, -, *, / and bit manipulation, so with
// -ffp-contract=off they give identical results on every IEEE-754 binary32 target.
//
// Accuracy (measured by tests/kernels/test_float_math.py against float64 numpy, whole domain
// including subnormal results/arguments): both are faithfully rounded (error < 1 ulp, about
// 0.99 ulp worst case for Exp and 0.94 ulp for Log; ~91% / ~97% correctly rounded).
// Exp(0) == 1 and Log(1) == 0 exactly.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_FLOAT_MATH_H_
#define TFLM_TRAIN_KERNELS_TRAINING_FLOAT_MATH_H_

#include <cstdint>

namespace tflm_train {

// e^x. NaN -> NaN, x > 89 -> +inf, x < -104 -> +0 (true result below half the smallest
// subnormal). Subnormal results are rounded once (no flush to zero).
float Exp(float x);

// Natural logarithm. x == 0 (either sign) -> -inf, x < 0 or NaN -> NaN, +inf -> +inf.
// Subnormal arguments are handled exactly (no flush to zero).
float Log(float x);

// Largest integer-valued float <= x, without libm (NaN/inf returned unchanged).
float Floor(float x);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_FLOAT_MATH_H_
