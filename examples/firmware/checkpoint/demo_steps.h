// The checkpoint demo's training steps and weights checksum, shared by the firmware
// (demo_main.cc) and its host twin (host_twin.cc) so their printed values can be compared.
#ifndef TFLM_TRAIN_EXAMPLES_FIRMWARE_CHECKPOINT_DEMO_STEPS_H_
#define TFLM_TRAIN_EXAMPLES_FIRMWARE_CHECKPOINT_DEMO_STEPS_H_

#include <cstdint>

#include "tflm_train/runtime/session.h"

namespace ckpt_demo {

// One step on a pseudo-random sample that depends only on `step` (nearest rounding).
tflm_train::Status TrainStep(tflm_train::Session* session, uint32_t step);

// CRC-32 of the trained tensors as the session holds them.
uint32_t WeightsCrc(const tflm_train::Session& session);

}  // namespace ckpt_demo

#endif  // TFLM_TRAIN_EXAMPLES_FIRMWARE_CHECKPOINT_DEMO_STEPS_H_
