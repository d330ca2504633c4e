#include "examples/firmware/checkpoint/demo_steps.h"

#include <cstddef>

#include "tflm_train/runtime/checkpoint.h"

namespace ckpt_demo {

tflm_train::Status TrainStep(tflm_train::Session* session, uint32_t step,
                             SampleStream samples) {
  size_t bytes = 0;
  int8_t* in = session->input(&bytes);
  uint32_t x = samples.seed ^ (step * samples.step_multiplier);
  for (size_t i = 0; i < bytes; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    in[i] = static_cast<int8_t>(x);
  }
  float loss = 0.0f;
  const tflm_train::TrainOptions options{0.05f, tflm_train::RoundingMode::kNearest};
  const int32_t classes = session->program().header().num_classes;
  return session->TrainStep(static_cast<int32_t>(step % static_cast<uint32_t>(classes)), options,
                            &loss);
}

uint32_t WeightsCrc(const tflm_train::Session& session) {
  const tflm_train::Program& p = session.program();
  uint32_t crc = 0;
  for (int32_t i = 0; i < p.header().n_layers; ++i) {
    const tflm_train::LayerInfo l = p.layer(i);
    const int32_t ids[2] = {l.weight_tensor, l.bias_tensor};
    for (int32_t t : ids) {
      size_t n = 0;
      const uint8_t* d = t >= 0 ? session.tensor_data(t, &n) : nullptr;
      if (d != nullptr) crc = tflm_train::Crc32(crc, d, n);
    }
  }
  return crc;
}

}  // namespace ckpt_demo
