#include "kernels/training/lr_schedule.h"

namespace tflm_train {

float CosPi(float t) {
  // cos(pi t) = -sin(pi (t - 1/2)); |pi (t - 1/2)| <= pi/2, where the odd Taylor series to
  // degree 13 is accurate to 7e-10 (x^15 / 15!).
  const float x = 3.14159265358979f * (t - 0.5f);
  const float x2 = x * x;
  float p = -1.0f / 6227020800.0f;
  p = p * x2 + 1.0f / 39916800.0f;
  p = p * x2 - 1.0f / 362880.0f;
  p = p * x2 + 1.0f / 5040.0f;
  p = p * x2 - 1.0f / 120.0f;
  p = p * x2 + 1.0f / 6.0f;
  return -(x - (x * x2) * p);
}

float ScheduledLearningRate(const LrSchedule& schedule, int32_t step) {
  if (step < 0) step = 0;
  if (step < schedule.warmup_steps) {
    return schedule.base * (static_cast<float>(step + 1) /
                            static_cast<float>(schedule.warmup_steps));
  }
  if (schedule.total_steps <= schedule.warmup_steps) return schedule.base;
  const int32_t span = schedule.total_steps - schedule.warmup_steps;
  const int32_t done = step - schedule.warmup_steps;
  const float t = done >= span ? 1.0f : static_cast<float>(done) / static_cast<float>(span);
  const float f = schedule.final_fraction;
  return schedule.base * (f + (1.0f - f) * (0.5f * (1.0f + CosPi(t))));
}

}  // namespace tflm_train
