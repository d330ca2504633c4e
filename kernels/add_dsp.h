// DSP-path specialisation of same-shape int8 ADD (kernel_path.h): the three reference
// rescalings per element regrouped into two SMMLARs and a few shifts, bit-identical to
// AddSubOne<1> (add.h). Only built on the DSP path; AddInt8 computes the elements this leaves
// (the tail after the last multiple of 4 and every parameter set outside its domain).
#ifndef TFLM_TRAIN_KERNELS_ADD_DSP_H_
#define TFLM_TRAIN_KERNELS_ADD_DSP_H_

#include <cstdint>

#include "kernels/add.h"
#include "kernels/kernel_path.h"

namespace tflm_train {

#if TFLM_TRAIN_KERNELS_DSP
// Computes output[0, returned count) (a multiple of 4; 0 when the parameters are outside the
// domain proved in add_dsp.cc).
int32_t AddInt8Dsp(const AddParams& params, int32_t size, const int8_t* input1,
                   const int8_t* input2, int8_t* output);

// For tests: twice the reference's rescaled sum r1 + r2 (before the output rescaling) of each
// pair, as AddInt8Dsp computes it; false (sums2 untouched) when AddInt8Dsp would not take
// these parameters.
bool AddDspDoubledSums(const AddParams& params, int32_t size, const int8_t* input1,
                       const int8_t* input2, int32_t* sums2);
#endif

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_ADD_DSP_H_
