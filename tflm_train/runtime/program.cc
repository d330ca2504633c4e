#include "tflm_train/runtime/program.h"

namespace tflm_train {
namespace {

// A section [off, off + count * width) must lie inside the blob's words.
bool SectionFits(int32_t off, int32_t count, int32_t width, int32_t total) {
  if (off < kProgramHeaderWords || count < 0 || off > total) return false;
  return static_cast<int64_t>(count) * width <= static_cast<int64_t>(total - off);
}

}  // namespace

Status Program::Load(const uint8_t* blob, size_t size, int32_t n_model_tensors, int32_t n_ops,
                     ErrorMessage* err) {
  TT_ENSURE(err, blob != nullptr && size >= kProgramHeaderWords * 4, Status::kInvalidModel,
            "training program: %u bytes, shorter than its %d-byte header",
            static_cast<unsigned>(size), static_cast<int>(kProgramHeaderWords * 4));
  TT_ENSURE(err, size % 4 == 0 && size < (1u << 30), Status::kInvalidModel,
            "training program: size %u is not a whole number of words",
            static_cast<unsigned>(size));
  TT_ENSURE(err, (reinterpret_cast<uintptr_t>(blob) & 3) == 0, Status::kInvalidModel,
            "training program: data is not 4-byte aligned (align the model buffer to 16 bytes)");
  memcpy(&header_, blob, sizeof(header_));
  blob_ = blob;
  const ProgramHeader& h = header_;
  const int32_t total = static_cast<int32_t>(size / 4);
  TT_ENSURE(err, h.magic == kProgramMagic, Status::kInvalidModel,
            "training program: bad magic 0x%08lx", static_cast<unsigned long>(h.magic));
  TT_ENSURE(err, h.version == kProgramVersion, Status::kUnsupported,
            "training program format version %ld; this runtime reads version %d",
            static_cast<long>(h.version), static_cast<int>(kProgramVersion));
  TT_ENSURE(err, h.total_words == total, Status::kInvalidModel,
            "training program: header says %ld words, metadata buffer has %ld",
            static_cast<long>(h.total_words), static_cast<long>(total));
  TT_ENSURE(err, h.n_model_tensors == n_model_tensors && h.n_ops == n_ops,
            Status::kInvalidModel,
            "training program was made for %ld tensors/%ld ops, subgraph 0 has %ld/%ld",
            static_cast<long>(h.n_model_tensors), static_cast<long>(h.n_ops),
            static_cast<long>(n_model_tensors), static_cast<long>(n_ops));
  TT_ENSURE(err,
            SectionFits(h.off_model, h.n_model_tensors, 1, total) &&
                SectionFits(h.off_extra, h.n_extra, kExtraTensorWords, total) &&
                SectionFits(h.off_ops, h.n_ops, kOpRecordWords, total) &&
                SectionFits(h.off_layers, h.n_layers, kLayerWords, total) &&
                SectionFits(h.off_instructions, h.instruction_words, 1, total) &&
                SectionFits(h.off_floats, h.n_floats, 1, total) &&
                SectionFits(h.off_channel_data, h.channel_data_words, 1, total),
            Status::kInvalidModel, "training program: a section lies outside the blob");
  TT_ENSURE(err,
            h.persistent_bytes >= 0 && h.arena_bytes >= h.persistent_bytes &&
                h.n_forward >= 0 && h.n_forward <= h.n_instructions,
            Status::kInvalidModel, "training program: inconsistent arena sizes or counts");
  TT_ENSURE(err, h.input_tensor >= 0 && h.input_tensor < n_model_tensors &&
                     h.output_tensor >= 0 && h.output_tensor < n_model_tensors &&
                     h.num_classes > 0,
            Status::kInvalidModel, "training program: bad input/output tensor or class count");
  for (int32_t t = 0; t < h.n_model_tensors; ++t) {
    const int32_t off = model_offset(t);
    TT_ENSURE(err, off >= -1 && off < h.arena_bytes, Status::kInvalidModel,
              "training program: tensor %ld has arena offset %ld outside the %ld-byte arena",
              static_cast<long>(t), static_cast<long>(off), static_cast<long>(h.arena_bytes));
  }
  for (int32_t i = 0; i < h.n_extra; ++i) {
    const ExtraTensorInfo e = extra(i);
    const int64_t bytes = static_cast<int64_t>(e.elements) * (e.dtype == DType::kInt8 ? 1 : 4);
    TT_ENSURE(err,
              (e.dtype == DType::kFloat32 || e.dtype == DType::kInt8 ||
               e.dtype == DType::kInt32) &&
                  e.elements > 0 && e.offset >= h.persistent_bytes &&
                  e.offset + bytes <= h.arena_bytes && (e.offset & 7) == 0,  // kernel scratch
              Status::kInvalidModel, "training program: extra tensor %ld is malformed",
              static_cast<long>(i));
  }
  for (int32_t op = 0; op < h.n_ops; ++op) {
    const int32_t s = op_state_offset(op), c = op_channel_offset(op);
    // -1 marks an op folded at convert time (never prepared or run, converter/shape_fold.py).
    // That the states lie back to back in op order, each as large as its op's kind needs, is
    // checked with the model (Session::CheckOpStates).
    TT_ENSURE(err,
              ((s >= 0 && (s & 7) == 0 && s < h.persistent_bytes) || (s == -1 && c == -1)) &&
                  c >= -1 && c < h.channel_data_words,
              Status::kInvalidModel, "training program: op %ld has a bad state or channel-data offset",
              static_cast<long>(op));
  }
  for (int32_t i = 0; i < h.n_layers; ++i) {
    const LayerInfo l = layer(i);
    TT_ENSURE(err,
              l.op_index >= 0 && l.op_index < n_ops && l.weight_tensor >= 0 &&
                  l.weight_tensor < n_model_tensors && l.bias_tensor >= -1 &&
                  l.bias_tensor < n_model_tensors && l.out_channels > 0 &&
                  l.weight_channels >= 0 && l.weight_channels <= l.out_channels &&
                  (l.update_bias == 0 || l.update_bias == 1) &&
                  l.weight_factors >= 0 &&
                  int64_t{l.weight_factors} + l.out_channels <= h.n_floats &&
                  (l.bias_tensor < 0 ||
                   (l.bias_factors >= 0 && int64_t{l.bias_factors} + l.out_channels <= h.n_floats)),
              Status::kInvalidModel, "training program: layer %ld is malformed",
              static_cast<long>(i));
    // Optimizer state exists for exactly what the layer updates when the flag says so.
    const bool state = has_optimizer_state();
    const bool weight_ok = state && l.weight_channels > 0 ? l.weight_state >= 0 : l.weight_state == -1;
    const bool bias_ok = state && l.update_bias ? l.bias_state >= 0 : l.bias_state == -1;
    TT_ENSURE(err, weight_ok && bias_ok, Status::kInvalidModel,
              "training program: layer %ld's optimizer state does not match its update",
              static_cast<long>(i));
  }
  const float mu = momentum();
  TT_ENSURE(err, mu >= 0.0f && mu < 1.0f && (mu == 0.0f || has_optimizer_state()),
            Status::kInvalidModel, "training program: momentum must be in [0, 1) with state");
  // The instruction stream must decode into exactly n_instructions well-formed instructions.
  int32_t cursor = 0, count = 0;
  Instruction ins;
  while (cursor < h.instruction_words) {
    TT_ENSURE(err, Next(&cursor, &ins), Status::kInvalidModel,
              "training program: instruction %ld is truncated or has too many arguments",
              static_cast<long>(count));
    ++count;
  }
  TT_ENSURE(err, count == h.n_instructions, Status::kInvalidModel,
            "training program: %ld instructions decoded, header says %ld",
            static_cast<long>(count), static_cast<long>(h.n_instructions));
  return Status::kOk;
}

ExtraTensorInfo Program::extra(int32_t i) const {
  const int32_t base = header_.off_extra + kExtraTensorWords * i;
  return ExtraTensorInfo{static_cast<DType>(Word(base + kExtraTensorDtype)),
                         Word(base + kExtraTensorElements), Word(base + kExtraTensorOffset)};
}

LayerInfo Program::layer(int32_t i) const {
  LayerInfo l;
  memcpy(&l, blob_ + 4 * (header_.off_layers + kLayerWords * i), sizeof(l));
  return l;
}

const int32_t* Program::ChannelData(int32_t op, int32_t words) const {
  const int32_t off = op_channel_offset(op);
  if (off < 0 || words < 0 || words > header_.channel_data_words - off) return nullptr;
  return reinterpret_cast<const int32_t*>(blob_ + 4 * (header_.off_channel_data + off));
}

float Program::Float(int32_t i) const {
  float f;
  memcpy(&f, blob_ + 4 * (header_.off_floats + i), 4);
  return f;
}

bool Program::Next(int32_t* cursor, Instruction* out) const {
  const int32_t end = header_.instruction_words;
  if (*cursor < 0 || *cursor + 2 > end) return false;
  const int32_t base = header_.off_instructions + *cursor;
  out->opcode = static_cast<Opcode>(Word(base));
  out->num_args = Word(base + 1);
  if (out->num_args < 0 || out->num_args > kMaxInstructionArgs ||
      *cursor + 2 + out->num_args > end) {
    return false;
  }
  for (int32_t i = 0; i < out->num_args; ++i) out->args[i] = Word(base + 2 + i);
  *cursor += 2 + out->num_args;
  return true;
}

}  // namespace tflm_train
