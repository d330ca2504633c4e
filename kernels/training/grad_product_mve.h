// MVE-float (Helium, Cortex-M55) forms of grad_product.h's two products, vectorised across
// independent outputs (four columns of the input gradient, four channels of the filter
// gradient): every output element still gets exactly the plain loops' float operations in
// their order (VMUL then VADD per term, never the fused VFMA; sums from 0.0f).
// One difference of the hardware is handled here: MVE float instructions flush denormal
// operands and results to zero (their FPSCR is the standard one, whatever FPSCR.FZ says; QEMU
// models the same), where the scalar FPU and the host keep them. So each function first checks
// its operands: when every scaled gradient (input gradient) or gradient (filter gradient) is
// zero or at least 2^-103 in magnitude and finite, each product is zero or at least 2^-103
// (the other factor is an integer-valued float) and a multiple of 2^-126, every partial sum is
// a multiple of 2^-126 too, so no operand or result can be denormal and the flush never acts.
// Otherwise it returns false and the portable code runs. Results that leave the vector registers
// are scaled by the scalar FPU. Only built with MVE float (kernel_path.h).
#ifndef TFLM_TRAIN_KERNELS_TRAINING_GRAD_PRODUCT_MVE_H_
#define TFLM_TRAIN_KERNELS_TRAINING_GRAD_PRODUCT_MVE_H_

#include <cstdint>

#include "kernels/kernel_path.h"

namespace tflm_train {

#if TFLM_TRAIN_KERNELS_MVE_FLOAT
// grad_product.cc's InputTileRow<4>: 4 positions x `columns` columns, sums over k < depth of
// gs[k * 4 + p] * wf[k * w_stride + j] from `from` (nullptr: 0.0f) to `to`.
// False (nothing written) when an operand is outside the range above.
bool InputRow4Mve(int32_t depth, const float* gs, const float* wf, int32_t w_stride,
                  int32_t columns, const float* from, int32_t from_stride, float* to,
                  int32_t to_stride);

// GradTransposeTimesInt8 (grad_product.h) over the MVE, or false (nothing written).
bool GradTransposeTimesInt8Mve(int32_t positions, const float* grad, int32_t grad_stride,
                               int32_t c_begin, int32_t c_end, const int8_t* x,
                               int32_t x_stride, int32_t offset, int32_t columns, float scale,
                               float* out);
#endif

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_GRAD_PRODUCT_MVE_H_
