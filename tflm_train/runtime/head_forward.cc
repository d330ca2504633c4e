#include <cstring>

#include "kernels/conv.h"
#include "kernels/mean.h"
#include "tflm_train/runtime/fused_backward.h"
#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

// The forward pass of a CONV_2D whose output only a spatial MEAN reads (the classifier head):
// the conv is run for one group of output channels at a time into `group` ([positions, G]
// int8), the MEAN reduces that group, and with training the group's activation mask bits are
// saved. Every output channel of both ops depends on its own channel only, so the bytes are
// those of the two whole ops; the conv output (the largest forward tensor of a MobileNet head)
// never exists whole.
void MeanHeadForward(Session* s, const int32_t* a, bool training) {
  using A = MeanHeadForwardArgs;
  const int32_t conv = a[A::kConv], mean = a[A::kMean];
  OpContext cc{s, conv, s->subgraph().op(static_cast<uint32_t>(conv)), s->op_state(conv),
               s->op_channel_data(conv)};
  OpContext mc{s, mean, s->subgraph().op(static_cast<uint32_t>(mean)), s->op_state(mean),
               s->op_channel_data(mean)};
  const Dims in_d = ToDims(cc.input(0)), f_d = ToDims(cc.input(1)), out_d = ToDims(cc.output(0));
  const int32_t positions = out_d.n * out_d.h * out_d.w, channels = out_d.c;
  const int32_t group = static_cast<int32_t>(ExtraElements(s->program(), a[A::kGroup]) / positions);
  int8_t* buf = reinterpret_cast<int8_t*>(s->data(a[A::kGroup]));
  uint8_t* mask = training && a[A::kMask] >= 0 ? s->data(a[A::kMask]) : nullptr;
  const int32_t lo = a[A::kLo], hi = a[A::kHi];
  const int8_t* input = reinterpret_cast<const int8_t*>(cc.input_data(0));
  int8_t* mean_out = reinterpret_cast<int8_t*>(mc.output_data(0));
  const int32_t* bias = OptionalBias(cc);
  const FilterRows filter = s->filter_rows(conv);
  // bits past the tensor's last element stay 0, as ActivationMaskSave leaves them
  if (mask != nullptr) memset(mask, 0, static_cast<size_t>((positions * channels + 7) / 8));
  // The conv kernels' scratch: this instruction runs near the top of the stack (as FORWARD).
  alignas(8) int8_t scratch[kConvInt8RowsMaxBufferSize];
  for (int32_t c0 = 0; c0 < channels; c0 += group) {
    const int32_t g = channels - c0 < group ? channels - c0 : group;
    const Dims group_out{out_d.n, out_d.h, out_d.w, g};
    ConvInt8Rows(cc.state->conv, PerChannelQuant{cc.channel_data + c0,
                                                 cc.channel_data + channels + c0},
                 in_d, input, Dims{g, f_d.h, f_d.w, f_d.c}, filter.from(c0),
                 bias != nullptr ? bias + c0 : nullptr, group_out, buf, scratch);
    if (mask != nullptr) {
      for (int32_t p = 0; p < positions; ++p) {
        for (int32_t j = 0; j < g; ++j) {
          const int32_t q = buf[p * g + j], bit = p * channels + c0 + j;
          if (q > lo && q < hi) mask[bit >> 3] = static_cast<uint8_t>(mask[bit >> 3] | (1u << (bit & 7)));
        }
      }
    }
    MeanSpatialInt8(mc.state->mean, group_out, buf, mean_out + c0);
  }
}

bool IsGroupedHeadOutput(const Session& s, int32_t tensor) {
  const ProgramHeader& h = s.program().header();
  int32_t cursor = 0;
  Instruction ins;
  for (int32_t n = 0; n < h.n_forward && s.program().Next(&cursor, &ins); ++n) {
    if (ins.opcode != Opcode::kMeanHeadForward || ins.num_args != MeanHeadForwardArgs::kCount) {
      continue;
    }
    const int32_t conv = ins.args[MeanHeadForwardArgs::kConv];
    if (conv < 0 || static_cast<uint32_t>(conv) >= s.subgraph().num_operators()) continue;
    const OperatorView v = s.subgraph().op(static_cast<uint32_t>(conv));
    if (v.outputs().size() == 1 && v.outputs()[0] == tensor) return true;
  }
  return false;
}

}  // namespace tflm_train
