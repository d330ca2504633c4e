// int8 RESIZE_NEAREST_NEIGHBOR on NHWC tensors: each output pixel copies the input pixel TFLM's
// reference picks (float32 source coordinates, as TFLM computes them).
#ifndef TFLM_TRAIN_KERNELS_RESIZE_NEAREST_NEIGHBOR_H_
#define TFLM_TRAIN_KERNELS_RESIZE_NEAREST_NEIGHBOR_H_

#include <cstdint>

#include "kernels/types.h"

namespace tflm_train {

// Source index along one axis of output index `out_index`.
int32_t NearestSourceIndex(int32_t out_index, int32_t in_size, int32_t out_size,
                           bool align_corners, bool half_pixel_centers);

// output_dims.n and .c equal input_dims'.
void ResizeNearestNeighborInt8(const Dims& input_dims, const int8_t* input,
                               const Dims& output_dims, bool align_corners,
                               bool half_pixel_centers, int8_t* output);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_RESIZE_NEAREST_NEIGHBOR_H_
