#include "kernels/training/activation_grad.h"
#include "kernels/training/conv_grad.h"
#include "tflm_train/runtime/fused_backward.h"
#include "tflm_train/runtime/instruction.h"

namespace tflm_train {

// The backward pass of a CONV_2D whose output feeds only a spatial MEAN (the classifier head
// of MobileNet-like models). Its output gradient is the MEAN gradient broadcast over H*W
// (divided by H*W, as MeanGrad does) and masked by the fused activation; it is built one group
// of output channels at a time into `group` ([positions, G] floats) and consumed at once: bias
// update, weight updates of the group's channels, and the group's terms of the input gradient
// (ConvInputGradAccumulate). The broadcast gradient of the whole MEAN input never exists.
void MeanHeadBackward(const Optimizer& opt, const int32_t* a) {
  using A = MeanHeadBackwardArgs;
  Session* s = opt.session;
  const Program& program = s->program();
  const int32_t conv = a[A::kConv];
  OpContext ctx{s, conv, s->subgraph().op(static_cast<uint32_t>(conv)), s->op_state(conv),
                s->op_channel_data(conv)};
  const Dims in_d = ToDims(ctx.input(0)), out_d = ToDims(ctx.output(0));
  const Dims f_d = ToDims(ctx.input(1));
  const int32_t positions = out_d.n * out_d.h * out_d.w, channels = out_d.c;
  const int32_t group = static_cast<int32_t>(ExtraElements(program, a[A::kGroup]) / positions);
  const float count = static_cast<float>(out_d.h * out_d.w);
  const float* g_mean = reinterpret_cast<const float*>(s->data(a[A::kGMean]));
  const uint8_t* mask = a[A::kMask] >= 0 ? s->data(a[A::kMask]) : nullptr;
  float* buf = reinterpret_cast<float*>(s->data(a[A::kGroup]));
  float* g_in = a[A::kGIn] >= 0 ? reinterpret_cast<float*>(s->data(a[A::kGIn])) : nullptr;
  float* temp = a[A::kTemp] >= 0 ? reinterpret_cast<float*>(s->data(a[A::kTemp])) : nullptr;
  const FilterRows filter = s->filter_rows(conv);
  LayerInfo l = {};
  if (a[A::kLayer] >= 0) l = program.layer(a[A::kLayer]);
  ConvFilterUpdate update{};  // read from the model once, not per channel group
  if (a[A::kLayer] >= 0) update = PrepareConvFilterUpdate(opt, l, ctx);
  // Stochastic rounding draws as one group over all channels would: every bias, then every
  // weight channel. Each kind takes its draws from its own copy of the generator, started
  // where that order starts it, so the group size changes no bit.
  uint32_t bias_rng = *opt.rng_state;
  const int64_t bias_draws =
      a[A::kLayer] >= 0 && l.update_bias ? UpdateDraws(opt, l.bias_state >= 0, channels) : 0;
  uint32_t weight_rng = StateAfterDraws(bias_rng, bias_draws);
  Optimizer bias_opt = opt, weight_opt = opt;
  bias_opt.rng_state = &bias_rng;
  weight_opt.rng_state = &weight_rng;
  for (int32_t c0 = 0; c0 < channels; c0 += group) {
    const int32_t g = channels - c0 < group ? channels - c0 : group;
    // One division per image and channel (VDIV: 14-16 cycles), copied to its other positions.
    const int32_t hw = out_d.h * out_d.w;
    for (int32_t p = 0; p < positions; ++p) {
      float* row = buf + p * g;
      if (p % hw == 0) {
        const float* gm = g_mean + (p / hw) * channels + c0;
        for (int32_t j = 0; j < g; ++j) row[j] = gm[j] / count;
      } else {
        for (int32_t j = 0; j < g; ++j) row[j] = row[j - g];
      }
    }
    ActivationGradFromMaskGroup(positions, channels, c0, g, mask, buf);
    const Dims group_out{out_d.n, out_d.h, out_d.w, g};
    // The input gradient reads the filter, so it comes before this group's weights move.
    // Each group's terms continue g_in's sums: any group size gives the same bits.
    if (g_in != nullptr) {
      ConvInputGradAccumulate(ctx.state->conv, group_out, buf, Dims{g, f_d.h, f_d.w, f_d.c},
                              filter.from(c0), program.FloatPointer(a[A::kScales]) + c0, in_d,
                              c0 == 0, g_in);
    }
    if (a[A::kLayer] >= 0) {
      if (l.update_bias) UpdateBias(bias_opt, l, buf, positions, g, c0, c0, c0 + g);
      const int32_t w_end = l.weight_channels < c0 + g ? l.weight_channels : c0 + g;
      UpdateConvFilterBlocks(weight_opt, l, ctx, update, in_d,
                             reinterpret_cast<const int8_t*>(ctx.input_data(0)),
                             group_out, buf, c0, w_end, temp, ExtraElements(program, a[A::kTemp]));
    }
  }
  *opt.rng_state = weight_rng;  // after the last weight channel's draws
}

}  // namespace tflm_train
