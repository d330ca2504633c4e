// The checkpoint demo's training steps and weights checksum, shared by the firmware
// (demo_main.cc) and its host twin (host_twin.cc) so their printed values can be compared, and
// by the power-cut firmware (cut_main.cc).
#ifndef TFLM_TRAIN_EXAMPLES_FIRMWARE_CHECKPOINT_DEMO_STEPS_H_
#define TFLM_TRAIN_EXAMPLES_FIRMWARE_CHECKPOINT_DEMO_STEPS_H_

#include <cstdint>

#include "tflm_train/runtime/session.h"

namespace ckpt_demo {

// The pseudo-random samples: step s's input is xorshift32 from seed ^ (s * step_multiplier).
struct SampleStream {
  uint32_t seed;
  uint32_t step_multiplier;
};
// The demo's stream (demo_main.cc and host_twin.cc).
constexpr SampleStream kDemoSamples{0x2545F491u, 0x9E3779B9u};

// One step on the sample of `step` in `samples`, label step % classes (nearest rounding, lr 0.05).
tflm_train::Status TrainStep(tflm_train::Session* session, uint32_t step,
                             SampleStream samples = kDemoSamples);

// CRC-32 of the trained tensors as the session holds them.
uint32_t WeightsCrc(const tflm_train::Session& session);

}  // namespace ckpt_demo

#endif  // TFLM_TRAIN_EXAMPLES_FIRMWARE_CHECKPOINT_DEMO_STEPS_H_
