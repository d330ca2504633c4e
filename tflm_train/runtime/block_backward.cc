// Backward pass of an inverted-bottleneck block (1x1 expand conv X -> depthwise D -> 1x1 project
// conv P) by groups of expanded channels. Every channel of the expanded tensors only meets its own
// channel in D, so the gradients of D's output and input can be produced and consumed one group at
// a time: the [positions, expanded channels] float gradients of the block never exist whole
// (at 128x128 inputs they are the largest buffers of a MobileNet training step).
#include "kernels/training/activation_grad.h"
#include "kernels/training/conv_grad.h"
#include "kernels/training/depthwise_conv_grad.h"
#include "tflm_train/runtime/fused_backward.h"
#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

void BottleneckBackward(const Optimizer& opt, const int32_t* a) {
  using A = BottleneckBackwardArgs;
  Session* s = opt.session;
  const Program& program = s->program();
  OpContext pc{s, a[A::kP], s->subgraph().op(static_cast<uint32_t>(a[A::kP])),
               s->op_state(a[A::kP]), s->op_channel_data(a[A::kP])};
  OpContext dc{s, a[A::kD], s->subgraph().op(static_cast<uint32_t>(a[A::kD])),
               s->op_state(a[A::kD]), s->op_channel_data(a[A::kD])};
  OpContext xc{s, a[A::kX], s->subgraph().op(static_cast<uint32_t>(a[A::kX])),
               s->op_state(a[A::kX]), s->op_channel_data(a[A::kX])};
  const Dims p_out = ToDims(pc.output(0)), e2 = ToDims(dc.output(0)), e1 = ToDims(dc.input(0));
  const Dims x_in = ToDims(xc.input(0)), x_f = ToDims(xc.input(1)), d_f = ToDims(dc.input(1));
  const int32_t pos2 = e2.n * e2.h * e2.w, pos1 = e1.n * e1.h * e1.w, channels = e2.c;
  const int32_t group = a[A::kGroup];
  const float* g_out = reinterpret_cast<const float*>(s->data(a[A::kGOut]));
  float* g_x = a[A::kGX] >= 0 ? reinterpret_cast<float*>(s->data(a[A::kGX])) : nullptr;
  float* grad_e2 = reinterpret_cast<float*>(s->data(a[A::kGradE2]));  // [pos2, g]
  float* grad_e1 = reinterpret_cast<float*>(s->data(a[A::kGradE1]));  // [pos1, g]
  float* temp = a[A::kTemp] >= 0 ? reinterpret_cast<float*>(s->data(a[A::kTemp])) : nullptr;
  const uint8_t* mask_d = a[A::kMaskD] >= 0 ? s->data(a[A::kMaskD]) : nullptr;
  const uint8_t* mask_x = a[A::kMaskX] >= 0 ? s->data(a[A::kMaskX]) : nullptr;
  const FilterRows p_rows = s->filter_rows(a[A::kP]), x_rows = s->filter_rows(a[A::kX]);
  const DepthwiseFilter d_filter = s->depthwise_filter(a[A::kD]);
  const int8_t* x_input = reinterpret_cast<const int8_t*>(xc.input_data(0));
  LayerInfo ld = {}, lx = {};
  if (a[A::kLayerD] >= 0) ld = program.layer(a[A::kLayerD]);
  if (a[A::kLayerX] >= 0) lx = program.layer(a[A::kLayerX]);
  // D's and X's per-layer update data, read from the model once, not per channel or group.
  WeightChannels d_weights{};
  float e1_scale = 0.0f;
  // D's input, whole or the channels D trains as SAVE_CHANNELS kept them.
  const int8_t* e1_data = reinterpret_cast<const int8_t*>(dc.input_data(0));
  int32_t e1_stride = channels;
  if (a[A::kLayerD] >= 0) {
    d_weights = PrepareWeightChannels(opt, ld, dc);
    e1_scale = dc.input(0).quantization.scale[0];
    // e1_stride stays `channels` when nothing saved D's input (SavedChannelsOf returns -1
    // without writing it).
    const int32_t saved = SavedChannelsOf(program, dc.input_id(0), &e1_stride);
    if (saved >= 0) e1_data = reinterpret_cast<const int8_t*>(s->data(saved));
  }
  ConvFilterUpdate x_update{};
  if (a[A::kLayerX] >= 0) x_update = PrepareConvFilterUpdate(opt, lx, xc);
  // Stochastic rounding draws as one group over all channels would: D's biases, D's weight
  // channels, X's biases, X's weight channels. Each takes its draws from its own copy of the
  // generator, started where that order starts it, so the group size changes no bit.
  const bool has_d = a[A::kLayerD] >= 0, has_x = a[A::kLayerX] >= 0;
  uint32_t d_bias_rng = *opt.rng_state;
  uint32_t d_weight_rng = StateAfterDraws(
      d_bias_rng, has_d && ld.update_bias ? UpdateDraws(opt, ld.bias_state >= 0, channels) : 0);
  uint32_t x_bias_rng = StateAfterDraws(
      d_weight_rng, has_d ? UpdateDraws(opt, ld.weight_state >= 0,
                                        int64_t{ld.weight_channels} * d_weights.per_channel)
                          : 0);
  uint32_t x_weight_rng = StateAfterDraws(
      x_bias_rng, has_x && lx.update_bias ? UpdateDraws(opt, lx.bias_state >= 0, channels) : 0);
  Optimizer d_bias = opt, d_weight = opt, x_bias = opt, x_weight = opt;
  d_bias.rng_state = &d_bias_rng;
  d_weight.rng_state = &d_weight_rng;
  x_bias.rng_state = &x_bias_rng;
  x_weight.rng_state = &x_weight_rng;
  for (int32_t c0 = 0; c0 < channels; c0 += group) {
    const int32_t g = channels - c0 < group ? channels - c0 : group;
    // Gradient of D's output (P's input) for this group, through D's activation.
    PointwiseInputGradChannels(pos2, p_out.c, g_out, p_rows,
                               program.FloatPointer(a[A::kScalesP]), c0, c0 + g, grad_e2);
    ActivationGradFromMaskGroup(pos2, channels, c0, g, mask_d, grad_e2);
    if (a[A::kLayerD] >= 0 && ld.update_bias) {
      UpdateBias(d_bias, ld, grad_e2, pos2, g, c0, c0, c0 + g);
    }
    // Gradient of D's input (X's output), through X's activation.
    const int32_t d_end = a[A::kLayerD] >= 0 && ld.weight_channels < c0 + g
                              ? ld.weight_channels
                              : (a[A::kLayerD] >= 0 ? c0 + g : c0);
    // Unless D's filter gradient still reads grad_e2, the input gradient may consume it (scale
    // it in place: one multiply per element instead of one per term).
    const Dims d_out{e2.n, e2.h, e2.w, g}, d_in{e1.n, e1.h, e1.w, g}, d_group{1, d_f.h, d_f.w, g};
    const float* d_scales = program.FloatPointer(a[A::kScalesD]) + c0;
    if (c0 < d_end) {
      DepthwiseConvInputGradStrided(dc.state->depthwise, d_out, grad_e2, d_group,
                                    d_filter.from(c0), d_scales, d_in, grad_e1);
    } else {
      DepthwiseConvInputGradConsuming(dc.state->depthwise, d_out, grad_e2, d_group,
                                      d_filter.from(c0), d_scales, d_in, grad_e1);
    }
    // D's weights of this group move only now that its input gradient is taken. The filter
    // gradient reads D's input (X's output) for the group, gathered into temp with a scratch.
    if (c0 < d_end) {
      // Only the group's channels D trains: the filter gradient reads no other.
      int8_t* e1_group = reinterpret_cast<int8_t*>(temp);
      float* d_scratch = temp + (pos1 * g + 3) / 4;
      const int32_t trained = d_end - c0;
      for (int32_t q = 0; q < pos1; ++q) {
        for (int32_t j = 0; j < trained; ++j) {
          e1_group[q * g + j] = e1_data[q * e1_stride + c0 + j];
        }
      }
      for (int32_t c = c0; c < d_end; ++c) {
        DepthwiseConvFilterGrad(dc.state->depthwise, Dims{e1.n, e1.h, e1.w, g}, e1_group,
                                e1_scale, Dims{e2.n, e2.h, e2.w, g},
                                grad_e2, Dims{1, d_f.h, d_f.w, g}, c - c0, c - c0 + 1,
                                d_scratch);
        UpdateWeightChannel(d_weight, ld, d_weights, c, d_scratch);
      }
    }
    ActivationGradFromMaskGroup(pos1, channels, c0, g, mask_x, grad_e1);
    const Dims group_out{e1.n, e1.h, e1.w, g}, group_filter{g, x_f.h, x_f.w, x_f.c};
    // X's input gradient reads X's filter, so it comes before this group's rows move. Each
    // group's terms continue g_x's sums: any group size gives the same bits.
    if (g_x != nullptr) {
      ConvInputGradAccumulate(xc.state->conv, group_out, grad_e1, group_filter, x_rows.from(c0),
                              program.FloatPointer(a[A::kScalesX]) + c0, x_in, c0 == 0, g_x);
    }
    if (a[A::kLayerX] < 0) continue;
    if (lx.update_bias) UpdateBias(x_bias, lx, grad_e1, pos1, g, c0, c0, c0 + g);
    const int32_t w_end = lx.weight_channels < c0 + g ? lx.weight_channels : c0 + g;
    UpdateConvFilterBlocks(x_weight, lx, xc, x_update, x_in, x_input, group_out, grad_e1, c0,
                           w_end, temp, ExtraElements(program, a[A::kTemp]));
  }
  *opt.rng_state = x_weight_rng;  // after X's last weight channel's draws
}

}  // namespace tflm_train
