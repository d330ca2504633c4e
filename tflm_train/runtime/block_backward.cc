// Backward pass of an inverted-bottleneck block (1x1 expand conv X -> depthwise D -> 1x1 project
// conv P) by groups of expanded channels. Every channel of the expanded tensors only meets its own
// channel in D, so the gradients of D's output and input can be produced and consumed one group at
// a time: the [positions, expanded channels] float gradients of the block never exist whole
// (at 128x128 inputs they are the largest buffers of a MobileNet training step).
#include "kernels/training/activation_grad.h"
#include "kernels/training/bias_grad.h"
#include "kernels/training/conv_grad.h"
#include "kernels/training/depthwise_conv_grad.h"
#include "kernels/training/grad_accumulate.h"
#include "tflm_train/runtime/ops.h"
#include "tflm_train/runtime/stream_chain.h"

namespace tflm_train {

void Session::BottleneckBackward(const int32_t* a, const TrainOptions& options) {
  OpContext pc{this, a[0], subgraph_.op(static_cast<uint32_t>(a[0])), op_state(a[0]),
               op_channel_data(a[0])};
  OpContext dc{this, a[1], subgraph_.op(static_cast<uint32_t>(a[1])), op_state(a[1]),
               op_channel_data(a[1])};
  OpContext xc{this, a[2], subgraph_.op(static_cast<uint32_t>(a[2])), op_state(a[2]),
               op_channel_data(a[2])};
  const Dims p_out = ToDims(pc.output(0)), e2 = ToDims(dc.output(0)), e1 = ToDims(dc.input(0));
  const Dims x_in = ToDims(xc.input(0)), x_f = ToDims(xc.input(1)), d_f = ToDims(dc.input(1));
  const int32_t pos2 = e2.n * e2.h * e2.w, pos1 = e1.n * e1.h * e1.w, channels = e2.c;
  const int32_t group = a[8];
  const float* g_out = reinterpret_cast<const float*>(data(a[3]));
  float* g_x = a[4] >= 0 ? reinterpret_cast<float*>(data(a[4])) : nullptr;
  float* grad_e2 = reinterpret_cast<float*>(data(a[5]));  // [pos2, g]
  float* grad_e1 = reinterpret_cast<float*>(data(a[6]));  // [pos1, g]
  float* temp = a[7] >= 0 ? reinterpret_cast<float*>(data(a[7])) : nullptr;
  const uint8_t* mask_d = a[9] >= 0 ? data(a[9]) : nullptr;
  const uint8_t* mask_x = a[10] >= 0 ? data(a[10]) : nullptr;
  const FilterRows p_rows = filter_rows(a[0]), x_rows = filter_rows(a[2]);
  const int8_t* d_filter = reinterpret_cast<const int8_t*>(dc.input_data(1));
  const int8_t* x_input = reinterpret_cast<const int8_t*>(xc.input_data(0));
  LayerInfo ld = {}, lx = {};
  if (a[11] >= 0) ld = program_.layer(a[11]);
  if (a[12] >= 0) lx = program_.layer(a[12]);
  for (int32_t c0 = 0; c0 < channels; c0 += group) {
    const int32_t g = channels - c0 < group ? channels - c0 : group;
    // Gradient of D's output (P's input) for this group, through D's activation.
    PointwiseInputGradChannels(pos2, p_out.c, g_out, p_rows, program_.FloatPointer(a[13]), c0,
                               c0 + g, grad_e2);
    ActivationGradFromMaskGroup(pos2, channels, c0, g, mask_d, grad_e2);
    if (a[11] >= 0 && ld.update_bias) UpdateBias(ld, grad_e2, pos2, g, c0, c0, c0 + g, options);
    // Gradient of D's input (X's output), through X's activation.
    const int32_t d_end = a[11] >= 0 && ld.weight_channels < c0 + g ? ld.weight_channels
                                                                      : (a[11] >= 0 ? c0 + g : c0);
    // Unless D's filter gradient still reads grad_e2, the input gradient may consume it (scale
    // it in place: one multiply per element instead of one per term).
    const Dims d_out{e2.n, e2.h, e2.w, g}, d_in{e1.n, e1.h, e1.w, g}, d_group{1, d_f.h, d_f.w, g};
    const float* d_scales = program_.FloatPointer(a[14]) + c0;
    if (c0 < d_end) {
      DepthwiseConvInputGradStrided(dc.state->depthwise, d_out, grad_e2, d_group, d_filter + c0,
                                    channels, d_scales, d_in, grad_e1);
    } else {
      DepthwiseConvInputGradConsuming(dc.state->depthwise, d_out, grad_e2, d_group,
                                      d_filter + c0, channels, d_scales, d_in, grad_e1);
    }
    // D's weights of this group move only now that its input gradient is taken. The filter
    // gradient reads D's input (X's output) for the group, gathered into temp with a scratch.
    if (c0 < d_end) {
      int8_t* e1_group = reinterpret_cast<int8_t*>(temp);
      float* d_scratch = temp + (pos1 * g + 3) / 4;
      const int8_t* e1_data = reinterpret_cast<const int8_t*>(dc.input_data(0));
      for (int32_t q = 0; q < pos1; ++q) {
        for (int32_t j = 0; j < g; ++j) e1_group[q * g + j] = e1_data[q * channels + c0 + j];
      }
      for (int32_t c = c0; c < d_end; ++c) {
        DepthwiseConvFilterGrad(dc.state->depthwise, Dims{e1.n, e1.h, e1.w, g}, e1_group,
                                dc.input(0).quantization.scale[0], Dims{e2.n, e2.h, e2.w, g},
                                grad_e2, Dims{1, d_f.h, d_f.w, g}, c - c0, c - c0 + 1,
                                d_scratch);
        UpdateWeightChannel(ld, dc, c, d_scratch, options);
      }
    }
    ActivationGradFromMaskGroup(pos1, channels, c0, g, mask_x, grad_e1);
    const Dims group_out{e1.n, e1.h, e1.w, g}, group_filter{g, x_f.h, x_f.w, x_f.c};
    // X's input gradient share reads X's filter, so it comes before this group's rows move.
    // Later groups add their share to g_x (through temp where the product cannot add).
    if (g_x != nullptr) {
      ConvInputGradGroupShare(xc.state->conv, group_out, grad_e1, group_filter, x_rows.from(c0),
                              program_.FloatPointer(a[15]) + c0, x_in, c0 == 0, g_x, temp);
    }
    if (a[12] < 0) continue;
    if (lx.update_bias) UpdateBias(lx, grad_e1, pos1, g, c0, c0, c0 + g, options);
    const int32_t w_end = lx.weight_channels < c0 + g ? lx.weight_channels : c0 + g;
    UpdateConvFilterBlocks(lx, xc, x_in, x_input, group_out, grad_e1, c0, w_end,
                           temp, ExtraElements(a[7]), options);
  }
}

void Session::UpdateConvFilterBlocks(const LayerInfo& l, const OpContext& ctx,
                                     const Dims& input_dims, const int8_t* input,
                                     const Dims& group_out, const float* group_grad, int32_t c0,
                                     int32_t c_end, float* scratch, int64_t scratch_elements,
                                     const TrainOptions& options) {
  const Dims f = ToDims(ctx.input(1));
  const int32_t per_channel = f.h * f.w * f.c;
  // As many channels per filter-gradient call as the scratch holds (programs converted before
  // the scratch held a block have room for one), each then applied in channel order: every
  // channel's gradient and update are those of one channel at a time.
  const int64_t fits = per_channel > 0 ? scratch_elements / per_channel : 1;
  const int32_t block = fits < 1 ? 1 : (fits < kConvFilterGradBlock ? static_cast<int32_t>(fits)
                                                                     : kConvFilterGradBlock);
  for (int32_t c = c0; c < c_end; c += block) {
    const int32_t end = c_end - c < block ? c_end : c + block;
    ConvFilterGrad(ctx.state->conv, input_dims, input, ctx.input(0).quantization.scale[0],
                   group_out, group_grad, f, c - c0, end - c0, scratch);
    for (int32_t k = c; k < end; ++k) {
      UpdateWeightChannel(l, ctx, k, scratch + static_cast<size_t>(k - c) * per_channel,
                          options);
    }
  }
}

Status Session::CheckBottleneckBackward(const Instruction& ins, int32_t n) {
  const ProgramHeader& h = program_.header();
  const int32_t* a = ins.args;
  auto code = [&](int32_t op) { return op_state(op)->registration->builtin_code; };
  bool ok = ins.num_args == 16 && n >= h.n_forward;
  for (int32_t i = 0; ok && i < 3; ++i) ok = a[i] >= 0 && a[i] < h.n_ops;
  ok = ok && code(a[0]) == tflite::kConv2D && code(a[1]) == tflite::kDepthwiseConv2D &&
       code(a[2]) == tflite::kConv2D && a[8] > 0 && a[11] >= -1 && a[11] < h.n_layers &&
       a[12] >= -1 && a[12] < h.n_layers;
  if (ok) {
    const OperatorView p = subgraph_.op(static_cast<uint32_t>(a[0]));
    const OperatorView d = subgraph_.op(static_cast<uint32_t>(a[1]));
    const OperatorView x = subgraph_.op(static_cast<uint32_t>(a[2]));
    const Dims p_in = ToDims(tensor(p.inputs()[0])), p_out = ToDims(tensor(p.outputs()[0]));
    const Dims p_f = ToDims(tensor(p.inputs()[1]));
    const Dims e2 = ToDims(tensor(d.outputs()[0])), e1 = ToDims(tensor(d.inputs()[0]));
    const Dims d_f = ToDims(tensor(d.inputs()[1]));
    const Dims x_in = ToDims(tensor(x.inputs()[0])), x_f = ToDims(tensor(x.inputs()[1]));
    const ConvParams& pp = op_state(a[0])->conv;
    const int64_t pos2 = int64_t{e2.n} * e2.h * e2.w, pos1 = int64_t{e1.n} * e1.h * e1.w;
    const int64_t channels = e2.c, group = a[8];
    const bool x_weights = a[12] >= 0 && program_.layer(a[12]).weight_channels > 0;
    const bool d_weights = a[11] >= 0 && program_.layer(a[11]).weight_channels > 0;
    const int64_t x_scratch = int64_t{x_f.h} * x_f.w * x_f.c;
    const int64_t x_in_elements = int64_t{x_in.n} * x_in.h * x_in.w * x_in.c;
    // later groups add their input-gradient share straight into g_x, or sum it through temp
    const bool x_adds = ConvInputGradAdds(op_state(a[2])->conv, x_f, x_in, e1);
    ok = p.inputs()[0] == d.outputs()[0] && d.inputs()[0] == x.outputs()[0] &&
         p_f.h == 1 && p_f.w == 1 && pp.stride.h == 1 && pp.stride.w == 1 &&
         p_in.h == p_out.h && p_in.w == p_out.w && p_f.c == channels && e1.c == channels &&
         d_f.c == channels && x_f.n == channels && group <= channels &&
         ExtraTensorFits(a[3], DType::kFloat32, pos2 * p_out.c) &&
         (a[4] == -1 || (ExtraTensorFits(a[4], DType::kFloat32, x_in_elements) &&
                         (group >= channels || x_adds ||
                          ExtraTensorFits(a[7], DType::kFloat32, x_in_elements)))) &&
         ExtraTensorFits(a[5], DType::kFloat32, pos2 * group) &&
         ExtraTensorFits(a[6], DType::kFloat32, pos1 * group) &&
         (!x_weights || (a[7] >= 0 && ExtraTensorFits(a[7], DType::kFloat32, x_scratch) &&
                         OpInputReadable(*this, a[2], 0))) &&
         (a[9] == -1 || ExtraTensorFits(a[9], DType::kInt8, (pos2 * channels + 7) / 8)) &&
         (a[10] == -1 || ExtraTensorFits(a[10], DType::kInt8, (pos1 * channels + 7) / 8)) &&
         (a[11] == -1 || LayerFits(a[11], a[1], program_.layer(a[11]).update_bias != 0)) &&
         (!d_weights || (a[7] >= 0 && OpInputReadable(*this, a[1], 0) &&
                         ExtraTensorFits(a[7], DType::kFloat32,
                                  (pos1 * group + 3) / 4 + int64_t{d_f.h} * d_f.w))) &&
         (a[12] == -1 || LayerFits(a[12], a[2], program_.layer(a[12]).update_bias != 0)) &&
         a[13] >= 0 && a[13] + p_out.c <= h.n_floats && a[14] >= 0 &&
         a[14] + channels <= h.n_floats &&
         (a[4] == -1 || (a[15] >= 0 && a[15] + channels <= h.n_floats));
  }
  TT_ENSURE(&error_, ok, Status::kInvalidModel,
            "training program: instruction %ld (BOTTLENECK_BACKWARD) does not match the model",
            static_cast<long>(n));
  return Status::kOk;
}

}  // namespace tflm_train
