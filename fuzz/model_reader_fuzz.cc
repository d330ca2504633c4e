// libFuzzer target: the verifying .tflite reader (tflite_model.h). Every input either fails
// LoadModel with a message or loads; a loaded model's accessors are then all read, so a field the
// verifier let through unchecked is touched here under ASan.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tflm_train/runtime/tflite_model.h"

namespace {

using tflm_train::fb::ScalarArray;
using tflm_train::fb::StringRef;

// A value the compiler cannot drop, so every accessor really reads its field.
volatile uint64_t g_sink;

uint64_t Mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211ull; }

template <typename T>
uint64_t MixArray(uint64_t h, const ScalarArray<T>& a) {
  for (uint32_t i = 0; i < a.size(); ++i) {
    T v = a[i];
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    h = Mix(h, bits);
  }
  return h;
}

uint64_t MixString(uint64_t h, const StringRef& s) {
  if (!s.present) return h;
  for (uint32_t i = 0; i <= s.size; ++i) h = Mix(h, static_cast<uint8_t>(s.data[i]));  // + NUL
  return h;
}

uint64_t MixOptions(uint64_t h, const tflm_train::OperatorView& op) {
  tflm_train::Conv2DOptions conv;
  tflm_train::DepthwiseConv2DOptions dw;
  tflm_train::FullyConnectedOptions fc;
  tflm_train::Pool2DOptions pool;
  tflm_train::ReshapeOptions reshape;
  tflm_train::SoftmaxOptions softmax;
  tflm_train::ReducerOptions reducer;
  tflm_train::AddOptions add;
  tflm_train::ConcatenationOptions concat;
  tflm_train::PadOptions pad;
  if (op.GetOptions(&conv)) h = Mix(h, conv.stride_w + conv.dilation_h_factor);
  if (op.GetOptions(&dw)) h = Mix(h, dw.depth_multiplier);
  if (op.GetOptions(&fc)) h = Mix(h, fc.weights_format);
  if (op.GetOptions(&pool)) h = Mix(h, pool.filter_width);
  if (op.GetOptions(&reshape)) h = MixArray(h, reshape.new_shape);
  if (op.GetOptions(&softmax)) h = Mix(h, softmax.beta > 0.5f);
  if (op.GetOptions(&reducer)) h = Mix(h, reducer.keep_dims);
  if (op.GetOptions(&add)) h = Mix(h, add.fused_activation_function);
  if (op.GetOptions(&concat)) h = Mix(h, concat.axis);
  if (op.GetOptions(&pad)) h = Mix(h, 1);
  return h;
}

uint64_t WalkModel(const tflm_train::ModelView& m) {
  uint64_t h = Mix(0, m.version());
  h = MixString(h, m.description());
  for (uint32_t i = 0; i < m.num_operator_codes(); ++i) {
    const tflm_train::OperatorCodeInfo c = m.operator_code(i);
    h = MixString(Mix(Mix(h, c.builtin_code), c.version), c.custom_code);
  }
  for (uint32_t i = 0; i < m.num_buffers(); ++i) {
    const tflm_train::BufferInfo b = m.buffer(i);
    if (b.size > 0) h = Mix(Mix(h, b.data[0]), b.data[b.size - 1]);
  }
  for (uint32_t i = 0; i < m.num_metadata(); ++i) {
    h = MixString(Mix(h, m.metadata(i).buffer), m.metadata(i).name);
  }
  for (uint32_t g = 0; g < m.num_subgraphs(); ++g) {
    const tflm_train::SubgraphView sg = m.subgraph(g);
    h = MixArray(MixArray(MixString(h, sg.name()), sg.inputs()), sg.outputs());
    for (uint32_t t = 0; t < sg.num_tensors(); ++t) {
      const tflm_train::TensorInfo info = sg.tensor(t);
      h = MixString(Mix(Mix(h, info.type), info.buffer), info.name);
      h = MixArray(MixArray(h, info.shape), info.shape_signature);
      h = MixArray(MixArray(h, info.quantization.scale), info.quantization.zero_point);
    }
    for (uint32_t i = 0; i < sg.num_operators(); ++i) {
      const tflm_train::OperatorView op = sg.op(i);
      h = Mix(Mix(h, op.opcode_index()), op.builtin_options_type());
      h = MixArray(MixArray(MixArray(h, op.inputs()), op.outputs()), op.custom_options());
      h = MixOptions(h, op);
    }
  }
  return Mix(h, static_cast<uint64_t>(m.FindMetadata("tflm_train") + 1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The reader wants the buffer 16-byte aligned like a model in flash; malloc gives that, and an
  // exact-size copy lets ASan see a read one byte past the end.
  uint8_t* copy = static_cast<uint8_t*>(malloc(size > 0 ? size : 1));
  if (size > 0) memcpy(copy, data, size);
  tflm_train::ModelView model;
  tflm_train::ErrorMessage err;
  const tflm_train::Status status = tflm_train::LoadModel(copy, size, &model, &err);
  if (status == tflm_train::Status::kOk) {
    g_sink = WalkModel(model);
  } else if (err.text[0] == 0) {
    abort();  // every refusal must name its problem
  }
  free(copy);
  return 0;
}
