// SAVE_CHANNELS: during the forward pass, the leading channels of an int8 activation, so that
// the whole activation need not live until the backward pass that reads only those channels
// (the input of a depthwise filter trained at a partial ratio, read by its filter gradient).
#ifndef TFLM_TRAIN_RUNTIME_INSTRUCTIONS_SAVE_CHANNELS_H_
#define TFLM_TRAIN_RUNTIME_INSTRUCTIONS_SAVE_CHANNELS_H_

#include <cstring>

#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

struct SaveChannelsInstruction {
  using A = SaveChannelsArgs;
  static Status Check(const CheckContext& c, const Instruction& ins) {
    const int32_t* a = ins.args;
    const int32_t src = a[A::kSrc], channels = a[A::kChannels];
    bool ok = IsForward<A>(c, ins) && IsInt8ModelTensor(c, src) &&
              c.program->model_offset(src) >= 0 && channels > 0;
    if (ok) {
      const TensorInfo t = c.session->tensor(src);
      const int32_t depth = t.shape.size() > 0 ? t.shape[t.shape.size() - 1] : 0;
      ok = depth > 0 && channels <= depth &&
           ExtraTensorFits(*c.program, a[A::kDst], DType::kInt8,
                           ModelElements(*c.session, src) / depth * channels);
    }
    return ok ? Status::kOk : InstructionMismatch(c, ins, "SAVE_CHANNELS");
  }
  // Out of line: inlined into the interpreter loop (instruction_table.h) it grew the loop's
  // frame, which every instruction's stack path starts from, by 16 B (M4).
  [[gnu::noinline]] static Status Run(const RunContext& r, const Instruction& ins) {
    if (r.options() == nullptr) return Status::kOk;  // inference: no backward reads them
    const int32_t* a = ins.args;
    const TensorInfo t = r.session->tensor(a[A::kSrc]);
    const int32_t depth = t.shape[t.shape.size() - 1], channels = a[A::kChannels];
    const int64_t positions = r.session->model_tensor_bytes(a[A::kSrc]) / depth;
    const int8_t* src = r.data<const int8_t>(a[A::kSrc]);
    int8_t* dst = r.data<int8_t>(a[A::kDst]);
    for (int64_t p = 0; p < positions; ++p, src += depth, dst += channels) {
      memcpy(dst, src, static_cast<size_t>(channels));
    }
    return Status::kOk;
  }
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_INSTRUCTIONS_SAVE_CHANNELS_H_
