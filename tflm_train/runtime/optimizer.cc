#include "tflm_train/runtime/optimizer.h"

#include "kernels/training/bias_grad.h"
#include "kernels/training/conv_grad.h"
#include "kernels/training/grad_accumulate.h"
#include "kernels/training/sgd_update.h"
#include "tflm_train/runtime/ops.h"

namespace tflm_train {

const float* OptimizerGradient(const Optimizer& opt, float* g, int32_t count, float* state) {
  if (state == nullptr) return g;
  const TrainOptions& options = *opt.options;
  if (options.sample_in_batch == 0) {
    // A new mini-batch: the velocity decays once (or starts from zero for plain SGD).
    const float mu = opt.session->program().momentum();
    if (mu == 0.0f) {
      for (int32_t i = 0; i < count; ++i) state[i] = 0.0f;
    } else {
      GradScale(count, mu, state);
    }
  }
  if (options.batch_size > 1) GradScale(count, 1.0f / static_cast<float>(options.batch_size), g);
  GradAccumulate(count, g, state);
  return options.sample_in_batch == options.batch_size - 1 ? state : nullptr;
}

int64_t UpdateDraws(const Optimizer& opt, bool has_state, int64_t elements) {
  const TrainOptions& options = *opt.options;
  if (options.rounding != RoundingMode::kStochastic) return 0;
  if (has_state && options.sample_in_batch != options.batch_size - 1) return 0;
  return elements;
}

uint32_t StateAfterDraws(uint32_t state, int64_t draws) {
  for (int64_t i = 0; i < draws; ++i) XorShift32(&state);
  return state;
}

void UpdateBias(const Optimizer& opt, const LayerInfo& l, const float* grad, int32_t positions,
                int32_t stride, int32_t c_offset, int32_t c_begin, int32_t c_end) {
  int32_t* bias = reinterpret_cast<int32_t*>(opt.session->data(l.bias_tensor));
  float* state = l.bias_state >= 0 ? reinterpret_cast<float*>(opt.arena + l.bias_state) : nullptr;
  const SgdParams sgd{opt.options->learning_rate, 0.0f, opt.options->rounding};
  // A few channels at a time: one pass sums their positions, then the optimizer and the update
  // run over them in channel order (elementwise, the same as one channel at a time).
  constexpr int32_t kChunk = 8;
  float sums[kChunk];
  for (int32_t c0 = c_begin; c0 < c_end; c0 += kChunk) {
    const int32_t end = c_end - c0 < kChunk ? c_end : c0 + kChunk;
    BiasGrad(positions, stride, grad, c0 - c_offset, end - c_offset, sums);
    const float* apply = OptimizerGradient(opt, sums, end - c0, state ? state + c0 : nullptr);
    if (apply == nullptr) continue;
    SgdUpdateInt32(sgd, ChannelSlice{1, l.out_channels, 1, c0, end}, apply,
                   opt.session->program().FloatPointer(l.bias_factors), nullptr, opt.rng_state,
                   bias);
  }
}

WeightChannels PrepareWeightChannels(const Optimizer& opt, const LayerInfo& l,
                                     const OpContext& ctx) {
  const OpRegistration* reg = ctx.state->registration;
  const int32_t per_channel = reg->weight_grad_elements(ctx);
  ChannelSlice slice = reg->weight_slice(ctx, 0);
  // A split filter's SRAM part holds its leading channels only: for a depthwise filter
  // (channels last) that is the channel stride; conv/FC rows (outer 1) are addressed alike.
  const int32_t head = opt.session->head_channels(l.weight_tensor);
  if (head >= 0) slice.channels = head;
  return WeightChannels{per_channel, slice,
                        reinterpret_cast<int8_t*>(opt.session->data(l.weight_tensor))};
}

void UpdateWeightChannel(const Optimizer& opt, const LayerInfo& l, const WeightChannels& w,
                         int32_t c, float* scratch) {
  const int32_t per_channel = w.per_channel;
  float* state = l.weight_state >= 0 ? reinterpret_cast<float*>(opt.arena + l.weight_state) +
                                           static_cast<size_t>(c) * per_channel
                                     : nullptr;
  const float* apply = OptimizerGradient(opt, scratch, per_channel, state);
  if (apply == nullptr) return;
  const SgdParams sgd{opt.options->learning_rate, 0.0f, opt.options->rounding};
  ChannelSlice slice = w.slice;
  slice.c_begin = c;
  slice.c_end = c + 1;
  SgdUpdateInt8(sgd, slice, apply, opt.session->program().FloatPointer(l.weight_factors),
                nullptr, opt.rng_state, w.weights);
}

void UpdateWeights(const Optimizer& opt, const LayerInfo& l, int32_t op, const float* grad_out,
                   float* scratch) {
  Session* s = opt.session;
  OpContext ctx{s, op, s->subgraph().op(static_cast<uint32_t>(op)), s->op_state(op),
                s->op_channel_data(op)};
  // One channel at a time: its gradient is consumed (applied or summed) before the next one is
  // computed, so the scratch holds a single channel.
  const WeightChannels w = PrepareWeightChannels(opt, l, ctx);
  for (int32_t c = 0; c < l.weight_channels; ++c) {
    ctx.state->registration->weight_grad(ctx, grad_out, c, scratch);
    UpdateWeightChannel(opt, l, w, c, scratch);
  }
}

ConvFilterUpdate PrepareConvFilterUpdate(const Optimizer& opt, const LayerInfo& l,
                                         const OpContext& ctx) {
  return ConvFilterUpdate{ToDims(ctx.input(1)), ctx.input(0).quantization.scale[0],
                          PrepareWeightChannels(opt, l, ctx)};
}

void UpdateConvFilterBlocks(const Optimizer& opt, const LayerInfo& l, const OpContext& ctx,
                            const ConvFilterUpdate& u, const Dims& input_dims, const int8_t* input,
                            const Dims& group_out, const float* group_grad, int32_t c0,
                            int32_t c_end, float* scratch, int64_t scratch_elements) {
  const Dims& f = u.filter;
  const int32_t per_channel = f.h * f.w * f.c;
  // As many channels per filter-gradient call as the scratch holds (programs converted before
  // the scratch held a block have room for one), each then applied in channel order: every
  // channel's gradient and update are those of one channel at a time.
  const int64_t fits = per_channel > 0 ? scratch_elements / per_channel : 1;
  const int32_t block = fits < 1 ? 1 : (fits < kConvFilterGradBlock ? static_cast<int32_t>(fits)
                                                                     : kConvFilterGradBlock);
  for (int32_t c = c0; c < c_end; c += block) {
    const int32_t end = c_end - c < block ? c_end : c + block;
    ConvFilterGrad(ctx.state->conv, input_dims, input, u.input_scale, group_out, group_grad, f,
                   c - c0, end - c0, scratch);
    for (int32_t k = c; k < end; ++k) {
      UpdateWeightChannel(opt, l, u.weights, k,
                          scratch + static_cast<size_t>(k - c) * per_channel);
    }
  }
}

}  // namespace tflm_train
