// libFuzzer target: the training-program reader (program.h). The input is the program blob
// alone (the "tflm_train" metadata buffer of an extended model). Subgraph 0's tensor and
// op counts are taken from the blob's own header, within the model reader's limits, so the
// fuzzer gets past the count check to the sections; a loaded program's accessors are then read
// over every count its header declares.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tflm_train/runtime/program.h"
#include "tflm_train/runtime/tflite_model.h"

namespace {

volatile uint64_t g_sink;

uint64_t Mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211ull; }

// Header word `index`, or 0 if the blob is shorter.
int32_t HeaderWord(const uint8_t* data, size_t size, size_t index) {
  int32_t v = 0;
  if (size >= 4 * (index + 1)) memcpy(&v, data + 4 * index, 4);
  return v;
}

// A count a real subgraph 0 could have (ModelLimits), else 0.
int32_t ModelCount(int32_t v, uint32_t limit) {
  return v >= 0 && static_cast<uint32_t>(v) <= limit ? v : 0;
}

uint64_t WalkProgram(const tflm_train::Program& p) {
  const tflm_train::ProgramHeader& h = p.header();
  uint64_t sum = Mix(0, static_cast<uint32_t>(h.flags));
  for (int32_t t = 0; t < h.n_model_tensors; ++t) sum = Mix(sum, p.model_offset(t));
  for (int32_t i = 0; i < h.n_extra; ++i) {
    const tflm_train::ExtraTensorInfo e = p.extra(i);
    sum = Mix(Mix(sum, e.elements), e.offset);
  }
  for (int32_t op = 0; op < h.n_ops; ++op) {
    sum = Mix(Mix(sum, p.op_state_offset(op)), p.op_channel_offset(op));
    // The largest per-channel block ChannelData hands out must lie inside the blob.
    const int32_t* data = p.ChannelData(op, h.channel_data_words - p.op_channel_offset(op));
    if (data != nullptr && h.channel_data_words > p.op_channel_offset(op)) {
      sum = Mix(sum, data[h.channel_data_words - p.op_channel_offset(op) - 1]);
    }
  }
  for (int32_t i = 0; i < h.n_layers; ++i) {
    const tflm_train::LayerInfo l = p.layer(i);
    sum = Mix(sum, l.out_channels);
    for (int32_t c = 0; c < l.out_channels; ++c) {
      float f = p.Float(l.weight_factors + c);
      if (l.bias_tensor >= 0) f += p.Float(l.bias_factors + c);
      uint32_t bits;
      memcpy(&bits, &f, 4);
      sum = Mix(sum, bits);
    }
  }
  for (int32_t i = 0; i < h.n_floats; ++i) sum = Mix(sum, p.Float(i) > 0.0f);
  int32_t cursor = 0, count = 0;
  tflm_train::Instruction ins;
  while (p.Next(&cursor, &ins)) {
    sum = Mix(sum, static_cast<uint32_t>(ins.opcode));
    for (int32_t a = 0; a < ins.num_args; ++a) sum = Mix(sum, ins.args[a]);
    ++count;
  }
  if (count != h.n_instructions) abort();  // Load promised exactly this many
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const tflm_train::ModelLimits limits;
  const int32_t n_tensors = ModelCount(HeaderWord(data, size, 3), limits.max_tensors);
  const int32_t n_ops = ModelCount(HeaderWord(data, size, 5), limits.max_operators);
  // Metadata buffers are 4-byte aligned inside a 16-byte aligned model; malloc gives 16, and the
  // exact size lets ASan catch a read past the end.
  uint8_t* blob = static_cast<uint8_t*>(malloc(size > 0 ? size : 1));
  if (size > 0) memcpy(blob, data, size);
  tflm_train::Program program;
  tflm_train::ErrorMessage err;
  if (program.Load(blob, size, n_tensors, n_ops, &err) == tflm_train::Status::kOk) {
    g_sink = WalkProgram(program);
  } else if (err.text[0] == 0) {
    abort();  // every refusal must name its problem
  }
  free(blob);
  return 0;
}
