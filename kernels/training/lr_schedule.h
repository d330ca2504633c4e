// Learning-rate schedule of a training run: linear warm-up, then cosine decay. Evaluated in
// strict float32 with a polynomial cosine (no libm), so the host and the board compute the same
// rate for the same step; the Python Trainer calls this same code through the C API.
#ifndef TFLM_TRAIN_KERNELS_TRAINING_LR_SCHEDULE_H_
#define TFLM_TRAIN_KERNELS_TRAINING_LR_SCHEDULE_H_

#include <cstdint>

namespace tflm_train {

struct LrSchedule {
  float base;              // peak learning rate
  int32_t warmup_steps;    // updates 0..warmup-1 ramp linearly: base * (step + 1) / warmup
  int32_t total_steps;     // cosine from base (end of warm-up) to base * final_fraction at
                           // total_steps; <= warmup_steps means constant after warm-up
  float final_fraction;
};

// Rate for update number `step` (0-based; steps past total_steps keep the final rate).
float ScheduledLearningRate(const LrSchedule& schedule, int32_t step);

// cos(pi * t) for t in [0, 1], within 2 float ulps of the exact value near +-1 and 1e-7
// absolute elsewhere.
float CosPi(float t);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_LR_SCHEDULE_H_
