// C entry points over the model reader for the Python tests (ctypes). Test-only code: it may use
// the heap. A handle owns a private copy of the model bytes, placed `misalign` bytes past a
// 16-byte boundary so the tests can exercise unaligned buffers.
#include <cstdlib>
#include <cstring>

#include "tests/native/layout.h"
#include "tflm_train/runtime/tflite_model.h"

using tflm_train::ErrorMessage;
using tflm_train::ModelView;
using tflm_train::Status;

namespace {

struct Handle {
  uint8_t* storage = nullptr;
  const uint8_t* data = nullptr;
  size_t size = 0;
  ModelView model;
};

void CopyString(const tflm_train::fb::StringRef& s, char* out, size_t cap) {
  if (out == nullptr || cap == 0) return;
  const size_t n = s.size < cap - 1 ? s.size : cap - 1;
  memcpy(out, s.data, n);
  out[n] = 0;
}

template <typename T>
int32_t CopyArray(const tflm_train::fb::ScalarArray<T>& a, T* out, int32_t cap) {
  for (uint32_t i = 0; i < a.size() && static_cast<int32_t>(i) < cap; ++i) out[i] = a[i];
  return static_cast<int32_t>(a.size());
}

// Sum of everything the accessors expose; forces every accessor to read every field.
uint64_t Mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211ull; }

template <typename T>
uint64_t MixArray(uint64_t h, const tflm_train::fb::ScalarArray<T>& a) {
  for (uint32_t i = 0; i < a.size(); ++i) {
    T v = a[i];
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    h = Mix(h, bits);
  }
  return Mix(h, a.size());
}

uint64_t MixString(uint64_t h, const tflm_train::fb::StringRef& s) {
  for (uint32_t i = 0; i <= s.size; ++i) h = Mix(h, static_cast<uint8_t>(s.data[i]));  // incl NUL
  return h;
}

}  // namespace

extern "C" {

void* tts_open(const uint8_t* data, size_t size, size_t misalign, int32_t* status, char* err,
              size_t err_cap) {
  Handle* h = new Handle();
  h->storage = static_cast<uint8_t*>(malloc(size + 32));
  uint8_t* base = reinterpret_cast<uint8_t*>(
      (reinterpret_cast<uintptr_t>(h->storage) + 15) & ~static_cast<uintptr_t>(15));
  uint8_t* copy = base + (misalign & 15);
  if (size > 0) memcpy(copy, data, size);
  h->data = copy;
  h->size = size;
  ErrorMessage message;
  const Status s = tflm_train::LoadModel(copy, size, &h->model, &message);
  *status = static_cast<int32_t>(s);
  if (err != nullptr && err_cap > 0) {
    strncpy(err, message.text, err_cap - 1);
    err[err_cap - 1] = 0;
  }
  return h;
}

void tts_close(void* handle) {
  Handle* h = static_cast<Handle*>(handle);
  free(h->storage);
  delete h;
}

static const ModelView& M(void* h) { return static_cast<Handle*>(h)->model; }
static tflm_train::SubgraphView SG(void* h, uint32_t sg) { return M(h).subgraph(sg); }

uint32_t tts_version(void* h) { return M(h).version(); }
int32_t tts_description(void* h, char* out, size_t cap) {
  const tflm_train::fb::StringRef s = M(h).description();
  CopyString(s, out, cap);
  return s.present ? static_cast<int32_t>(s.size) : -1;
}

uint32_t tts_num_operator_codes(void* h) { return M(h).num_operator_codes(); }
// Returns the custom code length, or -1 when absent.
int32_t tts_operator_code(void* h, uint32_t i, int32_t* builtin, int32_t* version, char* custom,
                         size_t cap) {
  const tflm_train::OperatorCodeInfo info = M(h).operator_code(i);
  *builtin = info.builtin_code;
  *version = info.version;
  CopyString(info.custom_code, custom, cap);
  return info.custom_code.present ? static_cast<int32_t>(info.custom_code.size) : -1;
}

uint32_t tts_num_subgraphs(void* h) { return M(h).num_subgraphs(); }
int32_t tts_subgraph_name(void* h, uint32_t sg, char* out, size_t cap) {
  const tflm_train::fb::StringRef s = SG(h, sg).name();
  CopyString(s, out, cap);
  return s.present ? static_cast<int32_t>(s.size) : -1;
}
// which: 0 = inputs, 1 = outputs. Returns the count.
int32_t tts_subgraph_io(void* h, uint32_t sg, int32_t which, int32_t* out, int32_t cap) {
  const tflm_train::SubgraphView s = SG(h, sg);
  return CopyArray(which == 0 ? s.inputs() : s.outputs(), out, cap);
}
uint32_t tts_num_tensors(void* h, uint32_t sg) { return SG(h, sg).num_tensors(); }
uint32_t tts_num_operators(void* h, uint32_t sg) { return SG(h, sg).num_operators(); }

struct TensorOut {
  int32_t type;
  uint32_t buffer;
  int32_t is_variable;
  int32_t rank;
  int32_t shape[16];
  int32_t has_shape_signature;
  int32_t signature_rank;
  int32_t shape_signature[16];
  int32_t quant_present;
  int32_t quantized_dimension;
  int32_t num_scales;
  int32_t num_zero_points;
  int32_t name_length;  // -1 when absent
};

const tts::StructLayout kLayouts[] = {
    TTS_LAYOUT(TensorOut, type, buffer, is_variable, rank, shape, has_shape_signature,
               signature_rank, shape_signature, quant_present, quantized_dimension, num_scales,
               num_zero_points, name_length),
};
constexpr tts::EntryArgs kEntries[] = {{"tts_tensor", "TensorOut", false}};
TTS_EXPORT_LAYOUTS()

void tts_tensor(void* h, uint32_t sg, uint32_t t, TensorOut* out, char* name, size_t cap) {
  const tflm_train::TensorInfo info = SG(h, sg).tensor(t);
  memset(out, 0, sizeof(*out));
  out->type = info.type;
  out->buffer = info.buffer;
  out->is_variable = info.is_variable;
  out->rank = CopyArray(info.shape, out->shape, 16);
  out->has_shape_signature = info.has_shape_signature;
  out->signature_rank = CopyArray(info.shape_signature, out->shape_signature, 16);
  out->quant_present = info.quantization.present;
  out->quantized_dimension = info.quantization.quantized_dimension;
  out->num_scales = static_cast<int32_t>(info.quantization.scale.size());
  out->num_zero_points = static_cast<int32_t>(info.quantization.zero_point.size());
  out->name_length = info.name.present ? static_cast<int32_t>(info.name.size) : -1;
  CopyString(info.name, name, cap);
}

int32_t tts_tensor_scales(void* h, uint32_t sg, uint32_t t, float* out, int32_t cap) {
  return CopyArray(SG(h, sg).tensor(t).quantization.scale, out, cap);
}
int32_t tts_tensor_zero_points(void* h, uint32_t sg, uint32_t t, int64_t* out, int32_t cap) {
  return CopyArray(SG(h, sg).tensor(t).quantization.zero_point, out, cap);
}

void tts_operator(void* h, uint32_t sg, uint32_t i, uint32_t* opcode_index, int32_t* options_type,
                 int32_t* custom_options_size) {
  const tflm_train::OperatorView op = SG(h, sg).op(i);
  *opcode_index = op.opcode_index();
  *options_type = op.builtin_options_type();
  *custom_options_size = static_cast<int32_t>(op.custom_options().size());
}
int32_t tts_operator_io(void* h, uint32_t sg, uint32_t i, int32_t which, int32_t* out,
                       int32_t cap) {
  const tflm_train::OperatorView op = SG(h, sg).op(i);
  return CopyArray(which == 0 ? op.inputs() : op.outputs(), out, cap);
}

// Flattens typed options into int32 values in struct field order (floats as bit patterns;
// Reshape: has_new_shape, then the shape). `kind` is the BuiltinOptionsType value of the struct
// requested. Returns the number of values, or -1 when the operator carries another type.
static int32_t FlattenOptions(const tflm_train::OperatorView& op, int32_t kind, int32_t* v,
                              int32_t cap) {
  using namespace tflm_train;
  int32_t n = 0;
  auto put = [&](int32_t x) {
    if (n < cap) v[n] = x;
    ++n;
  };
  switch (kind) {
    case tflite::kConv2DOptions: {
      Conv2DOptions o;
      if (!op.GetOptions(&o)) return -1;
      put(o.padding); put(o.stride_w); put(o.stride_h); put(o.fused_activation_function);
      put(o.dilation_w_factor); put(o.dilation_h_factor); put(o.quantized_bias_type);
      break;
    }
    case tflite::kDepthwiseConv2DOptions: {
      DepthwiseConv2DOptions o;
      if (!op.GetOptions(&o)) return -1;
      put(o.padding); put(o.stride_w); put(o.stride_h); put(o.depth_multiplier);
      put(o.fused_activation_function); put(o.dilation_w_factor); put(o.dilation_h_factor);
      break;
    }
    case tflite::kFullyConnectedOptions: {
      FullyConnectedOptions o;
      if (!op.GetOptions(&o)) return -1;
      put(o.fused_activation_function); put(o.weights_format); put(o.keep_num_dims);
      put(o.asymmetric_quantize_inputs); put(o.quantized_bias_type);
      break;
    }
    case tflite::kPool2DOptions: {
      Pool2DOptions o;
      if (!op.GetOptions(&o)) return -1;
      put(o.padding); put(o.stride_w); put(o.stride_h); put(o.filter_width);
      put(o.filter_height); put(o.fused_activation_function);
      break;
    }
    case tflite::kReshapeOptions: {
      ReshapeOptions o;
      if (!op.GetOptions(&o)) return -1;
      put(o.has_new_shape);
      for (uint32_t k = 0; k < o.new_shape.size(); ++k) put(o.new_shape[k]);
      break;
    }
    case tflite::kSoftmaxOptions: {
      SoftmaxOptions o;
      if (!op.GetOptions(&o)) return -1;
      int32_t bits;
      memcpy(&bits, &o.beta, 4);
      put(bits);
      break;
    }
    case tflite::kReducerOptions: {
      ReducerOptions o;
      if (!op.GetOptions(&o)) return -1;
      put(o.keep_dims);
      break;
    }
    case tflite::kAddOptions: {
      AddOptions o;
      if (!op.GetOptions(&o)) return -1;
      put(o.fused_activation_function); put(o.pot_scale_int16);
      break;
    }
    case tflite::kConcatenationOptions: {
      ConcatenationOptions o;
      if (!op.GetOptions(&o)) return -1;
      put(o.axis); put(o.fused_activation_function);
      break;
    }
    case tflite::kPadOptions: {
      PadOptions o;
      if (!op.GetOptions(&o)) return -1;
      break;
    }
    default:
      return -2;
  }
  return n;
}

int32_t tts_operator_options(void* h, uint32_t sg, uint32_t i, int32_t kind, int32_t* v,
                            int32_t cap) {
  return FlattenOptions(SG(h, sg).op(i), kind, v, cap);
}

uint32_t tts_num_buffers(void* h) { return M(h).num_buffers(); }
// Returns the byte offset of the buffer data inside the model (or -1 when empty) and its size.
int64_t tts_buffer(void* h, uint32_t i, uint32_t* size) {
  const tflm_train::BufferInfo b = M(h).buffer(i);
  *size = b.size;
  if (b.data == nullptr) return -1;
  return static_cast<int64_t>(b.data - static_cast<Handle*>(h)->data);
}

uint32_t tts_num_metadata(void* h) { return M(h).num_metadata(); }
uint32_t tts_metadata(void* h, uint32_t i, char* name, size_t cap) {
  const tflm_train::MetadataInfo m = M(h).metadata(i);
  CopyString(m.name, name, cap);
  return m.buffer;
}
int32_t tts_find_metadata(void* h, const char* name) { return M(h).FindMetadata(name); }

// Loads `data` in place and, when it verifies, reads every accessor of every element, checking
// that each pointer handed out lies inside [data, data + size). Returns the status, or 100 when an
// accessor produced an out-of-bounds view (a reader bug). `checksum` receives a hash of all values.
int32_t tts_load_and_touch(const uint8_t* data, size_t size, uint64_t* checksum, char* err,
                          size_t err_cap) {
  using namespace tflm_train;
  ModelView m;
  ErrorMessage message;
  const Status s = LoadModel(data, size, &m, &message);
  if (err != nullptr && err_cap > 0) {
    strncpy(err, message.text, err_cap - 1);
    err[err_cap - 1] = 0;
  }
  if (s != Status::kOk) return static_cast<int32_t>(s);
  const uint8_t* end = data + size;
  auto inside = [&](const void* p, uint64_t bytes) {
    const uint8_t* q = static_cast<const uint8_t*>(p);
    return bytes == 0 || (q >= data && q <= end && bytes <= static_cast<uint64_t>(end - q));
  };
  bool ok = true;
  uint64_t h = 14695981039346656037ull;
  h = Mix(h, m.version());
  h = MixString(h, m.description());
  for (uint32_t i = 0; i < m.num_operator_codes(); ++i) {
    const OperatorCodeInfo c = m.operator_code(i);
    h = Mix(Mix(h, c.builtin_code), c.version);
    h = MixString(h, c.custom_code);
    ok = ok && (!c.custom_code.present || inside(c.custom_code.data, c.custom_code.size + 1));
  }
  for (uint32_t i = 0; i < m.num_buffers(); ++i) {
    const BufferInfo b = m.buffer(i);
    ok = ok && inside(b.data, b.size);
    for (uint32_t k = 0; k < b.size; k += 61) h = Mix(h, b.data[k]);
  }
  for (uint32_t i = 0; i < m.num_metadata(); ++i) {
    const MetadataInfo md = m.metadata(i);
    h = Mix(MixString(h, md.name), md.buffer);
    ok = ok && md.buffer < m.num_buffers() &&
         (!md.name.present || inside(md.name.data, md.name.size + 1));
    // A name with an embedded NUL cannot be looked up by C string; any other must be found.
    if (md.name.present && strlen(md.name.data) == md.name.size) {
      ok = ok && m.FindMetadata(md.name.data) >= 0;
    }
  }
  for (uint32_t g = 0; g < m.num_subgraphs(); ++g) {
    const SubgraphView sg = m.subgraph(g);
    h = MixArray(MixArray(MixString(h, sg.name()), sg.inputs()), sg.outputs());
    for (uint32_t t = 0; t < sg.num_tensors(); ++t) {
      const TensorInfo ti = sg.tensor(t);
      h = MixArray(MixArray(MixString(h, ti.name), ti.shape), ti.shape_signature);
      h = Mix(Mix(Mix(h, ti.type), ti.buffer), ti.is_variable);
      h = MixArray(MixArray(h, ti.quantization.scale), ti.quantization.zero_point);
      h = Mix(h, ti.quantization.quantized_dimension);
      ok = ok && ti.buffer < m.num_buffers() && inside(ti.shape.data(), ti.shape.size() * 4) &&
           inside(ti.quantization.scale.data(), ti.quantization.scale.size() * 4) &&
           inside(ti.quantization.zero_point.data(), ti.quantization.zero_point.size() * 8) &&
           (!ti.name.present || inside(ti.name.data, ti.name.size + 1));
    }
    for (uint32_t o = 0; o < sg.num_operators(); ++o) {
      const OperatorView op = sg.op(o);
      ok = ok && op.opcode_index() < m.num_operator_codes();
      const fb::ScalarArray<int32_t> in = op.inputs(), out = op.outputs();
      for (uint32_t k = 0; k < in.size(); ++k) {
        ok = ok && in[k] >= -1 && in[k] < static_cast<int32_t>(sg.num_tensors());
      }
      for (uint32_t k = 0; k < out.size(); ++k) {
        ok = ok && out[k] >= 0 && out[k] < static_cast<int32_t>(sg.num_tensors());
      }
      h = MixArray(MixArray(Mix(h, op.opcode_index()), in), out);
      h = MixArray(Mix(h, op.builtin_options_type()), op.custom_options());
      int32_t values[64];
      int32_t matches = 0;
      static const int32_t kKinds[] = {1, 2, 5, 8, 9, 10, 11, 17, 22, 27};
      for (int32_t kind : kKinds) {
        const int32_t n = FlattenOptions(op, kind, values, 64);
        if (n < 0) continue;
        ++matches;
        for (int32_t k = 0; k < n && k < 64; ++k) h = Mix(h, static_cast<uint32_t>(values[k]));
      }
      // Either the options are of one known type (or none, which every getter accepts).
      ok = ok && (matches == 1 || matches == 10 || matches == 0);
    }
  }
  if (checksum != nullptr) *checksum = h;
  return ok ? 0 : 100;
}

}  // extern "C"
