// Generated from converter/program_format.py: do not edit. Regenerate with
//   python -m tflm_train.converter.gen_headers
// The training-program format: names and numbers shared with the converter.
#ifndef TFLM_TRAIN_RUNTIME_PROGRAM_FORMAT_H_
#define TFLM_TRAIN_RUNTIME_PROGRAM_FORMAT_H_

#include <cstdint>

namespace tflm_train {

constexpr char kProgramMetadataName[] = "tflm_train";
constexpr int32_t kProgramMagic = 0x4E525454;
constexpr int32_t kProgramVersion = 5;
constexpr int32_t kProgramHeaderWords = 26;
constexpr int32_t kLayerWords = 10;
constexpr int32_t kOpStateBytes = 64;
constexpr int32_t kProgramAlignment = 16;
constexpr int32_t kMaxInstructionArgs = 16;

// Op-state bytes of the kinds that take less than kOpStateBytes.
constexpr int32_t kOpStateBytesConv2D = 48;
constexpr int32_t kOpStateBytesDepthwiseConv2D = 56;
constexpr int32_t kOpStateBytesFullyConnected = 56;
constexpr int32_t kOpStateBytesAveragePool2D = 40;
constexpr int32_t kOpStateBytesMaxPool2D = 40;
constexpr int32_t kOpStateBytesMean = 32;
constexpr int32_t kOpStateBytesSoftmax = 24;

// The op-state bytes the converter reserves for an op of this builtin code.
constexpr int32_t OpStateBytesOf(int32_t builtin_code) {
  switch (builtin_code) {
    case 3:  // CONV_2D
      return kOpStateBytesConv2D;
    case 4:  // DEPTHWISE_CONV_2D
      return kOpStateBytesDepthwiseConv2D;
    case 9:  // FULLY_CONNECTED
      return kOpStateBytesFullyConnected;
    case 1:  // AVERAGE_POOL_2D
      return kOpStateBytesAveragePool2D;
    case 17:  // MAX_POOL_2D
      return kOpStateBytesMaxPool2D;
    case 40:  // MEAN
      return kOpStateBytesMean;
    case 25:  // SOFTMAX
      return kOpStateBytesSoftmax;
    default:
      return kOpStateBytes;
  }
}

enum class Opcode : int32_t {
  // FORWARD(op): run subgraph-0 op `op`
  kForward = 1,
  // LOSS_SOFTMAX_CE(logits, grad): cross-entropy of the final SOFTMAX from the int8 logits it reads
  // (its beta applied); grad (float) of the logits
  kLossSoftmaxCe = 2,
  // LOSS_LOGITS_CE(logits, grad): cross-entropy from int8 logits
  kLossLogitsCe = 3,
  // ACTIVATION_GRAD(grad, output, lo, hi): float grad in place, masked where the saved int8 output
  // is outside (lo, hi)
  kActivationGrad = 4,
  // INPUT_GRAD(op, grad_out, grad_in, weight_scales|-1): gradient of op's input 0; weight_scales:
  // float pool index
  kInputGrad = 5,
  // BIAS_UPDATE(op, grad_out, layer): bias update of a layer
  kBiasUpdate = 6,
  // WEIGHT_UPDATE(op, grad_out, layer, scratch): weight update of a layer, one output channel at a
  // time
  kWeightUpdate = 7,
  // LOSS_MSE(prediction, grad): mean squared error of the int8 output; targets given per step
  kLossMse = 8,
  // GRAD_ACCUMULATE(src, dst): dst += src (a tensor with several consumers)
  kGradAccumulate = 9,
  // GRAD_COPY(src, dst): dst = src
  kGradCopy = 10,
  // INPUT_GRAD_AT(op, grad_out, grad_in, input): gradient of op's input `input` (ops with several
  // inputs)
  kInputGradAt = 11,
  // SAVE_MASK(output, mask, lo, hi): forward: 1 bit per element of the int8 output, inside (lo, hi)
  kSaveMask = 12,
  // MASK_GRAD(grad, mask, output, lo, hi): activation backward from the bits SAVE_MASK saved of
  // `output`
  kMaskGrad = 13,
  // MEAN_HEAD_BACKWARD(conv, g_mean, group, mask|-1, g_in|-1, temp|-1, layer|-1, scales|-1):
  // backward of a CONV_2D whose output only feeds a spatial MEAN, one group of output channels at a
  // time (the MEAN input's gradient never exists whole)
  kMeanHeadBackward = 14,
  // DEPTHWISE_GRAD_IN_PLACE(op, grad, scratch, weight_scales, channel_group): depthwise input
  // gradient written over its output gradient
  kDepthwiseGradInPlace = 15,
  // STREAM_CHAIN(first_op, op_count, scratch): forward ops [first_op, first_op + op_count) row by
  // row; scratch: the row windows, then the conv kernels' scratch (converter/streaming.py)
  kStreamChain = 16,
  // BOTTLENECK_BACKWARD(p, d, x, g_out, g_x|-1, grad_e2, grad_e1, temp|-1, group, mask_d|-1,
  // mask_x|-1, layer_d|-1, layer_x|-1, scales_p, scales_d, scales_x|-1): inverted-bottleneck
  // backward (1x1 project P <- depthwise D <- expand conv X) by groups of expanded channels
  // (tflm_train/runtime/block_backward.cc)
  kBottleneckBackward = 17,
  // MEAN_HEAD_FORWARD(conv, mean, group, mask|-1, lo, hi): forward CONV_2D `conv` and the spatial
  // MEAN `mean` that alone reads it, one group of output channels at a time through `group` (int8
  // [positions, G]); with training, the conv output's activation mask bits inside (lo, hi): the
  // conv output never exists whole
  kMeanHeadForward = 18,
  // SAVE_CHANNELS(src, dst, channels): forward: channels [0, channels) of int8 activation `src`
  // ([positions, C]) into `dst` ([positions, channels]): a partially trained depthwise filter's
  // gradient (BOTTLENECK_BACKWARD) reads only those, so `src` need not live until the backward pass
  kSaveChannels = 19,
};

// X(Name) for every opcode, in definition order.
#define TT_PROGRAM_OPCODES(X) \
  X(Forward) \
  X(LossSoftmaxCe) \
  X(LossLogitsCe) \
  X(ActivationGrad) \
  X(InputGrad) \
  X(BiasUpdate) \
  X(WeightUpdate) \
  X(LossMse) \
  X(GradAccumulate) \
  X(GradCopy) \
  X(InputGradAt) \
  X(SaveMask) \
  X(MaskGrad) \
  X(MeanHeadBackward) \
  X(DepthwiseGradInPlace) \
  X(StreamChain) \
  X(BottleneckBackward) \
  X(MeanHeadForward) \
  X(SaveChannels)

// Argument positions of each opcode; kCount is the argument count.
struct ForwardArgs { enum : int32_t { kOp = 0, kCount = 1 }; };
struct LossSoftmaxCeArgs { enum : int32_t { kLogits = 0, kGrad = 1, kCount = 2 }; };
struct LossLogitsCeArgs { enum : int32_t { kLogits = 0, kGrad = 1, kCount = 2 }; };
struct ActivationGradArgs { enum : int32_t { kGrad = 0, kOutput = 1, kLo = 2, kHi = 3, kCount = 4 };
    };
struct InputGradArgs { enum : int32_t { kOp = 0, kGradOut = 1, kGradIn = 2, kWeightScales = 3,
    kCount = 4 }; };
struct BiasUpdateArgs { enum : int32_t { kOp = 0, kGradOut = 1, kLayer = 2, kCount = 3 }; };
struct WeightUpdateArgs { enum : int32_t { kOp = 0, kGradOut = 1, kLayer = 2, kScratch = 3, kCount =
    4 }; };
struct LossMseArgs { enum : int32_t { kPrediction = 0, kGrad = 1, kCount = 2 }; };
struct GradAccumulateArgs { enum : int32_t { kSrc = 0, kDst = 1, kCount = 2 }; };
struct GradCopyArgs { enum : int32_t { kSrc = 0, kDst = 1, kCount = 2 }; };
struct InputGradAtArgs { enum : int32_t { kOp = 0, kGradOut = 1, kGradIn = 2, kInput = 3, kCount = 4
    }; };
struct SaveMaskArgs { enum : int32_t { kOutput = 0, kMask = 1, kLo = 2, kHi = 3, kCount = 4 }; };
struct MaskGradArgs { enum : int32_t { kGrad = 0, kMask = 1, kOutput = 2, kLo = 3, kHi = 4, kCount =
    5 }; };
struct MeanHeadBackwardArgs { enum : int32_t { kConv = 0, kGMean = 1, kGroup = 2, kMask = 3, kGIn =
    4, kTemp = 5, kLayer = 6, kScales = 7, kCount = 8 }; };
struct DepthwiseGradInPlaceArgs { enum : int32_t { kOp = 0, kGrad = 1, kScratch = 2, kWeightScales =
    3, kChannelGroup = 4, kCount = 5 }; };
struct StreamChainArgs { enum : int32_t { kFirstOp = 0, kOpCount = 1, kScratch = 2, kCount = 3 }; };
struct BottleneckBackwardArgs { enum : int32_t { kP = 0, kD = 1, kX = 2, kGOut = 3, kGX = 4, kGradE2
    = 5, kGradE1 = 6, kTemp = 7, kGroup = 8, kMaskD = 9, kMaskX = 10, kLayerD = 11, kLayerX = 12,
    kScalesP = 13, kScalesD = 14, kScalesX = 15, kCount = 16 }; };
struct MeanHeadForwardArgs { enum : int32_t { kConv = 0, kMean = 1, kGroup = 2, kMask = 3, kLo = 4,
    kHi = 5, kCount = 6 }; };
struct SaveChannelsArgs { enum : int32_t { kSrc = 0, kDst = 1, kChannels = 2, kCount = 3 }; };

enum class DType : int32_t {
  kFloat32 = 0,
  kInt8 = 1,
  kInt32 = 2,
};

enum ProgramFlags : int32_t {
  kFlagQas = 1,  // weight updates are scaled by QAS factors
  kFlagLossFromSoftmax = 2,  // the loss folds the final SOFTMAX in (LOSS_SOFTMAX_CE)
  kFlagOptimizerState = 4,  // layers carry float state: momentum and/or mini-batch sums
  kFlagLossMse = 8,  // regression: per-step real targets instead of a class label
  kFlagInputSource = 16,  // the input tensor is never stored: the STREAM_CHAIN reading it asks the caller's input source for its rows (tt_set_input_source)
};

// The header, word by word.
struct ProgramHeader {
  int32_t magic;  // MAGIC
  int32_t version;  // VERSION
  int32_t total_words;  // words in the whole program
  int32_t n_model_tensors;  // subgraph-0 tensors (entries of the model tensor table)
  int32_t n_extra;  // extra tensors (gradients, scratch)
  int32_t n_ops;  // subgraph-0 ops (entries of the op table)
  int32_t n_layers;  // updated layers
  int32_t n_instructions;  // instructions in the stream
  int32_t n_forward;  // leading instructions that make up inference
  int32_t n_floats;  // floats in the float pool
  int32_t off_model;  // word offset of the model tensor table
  int32_t off_extra;  // word offset of the extra tensor table
  int32_t off_ops;  // word offset of the op table
  int32_t off_layers;  // word offset of the layer table
  int32_t off_instructions;  // word offset of the instruction stream
  int32_t off_floats;  // word offset of the float pool
  int32_t persistent_bytes;  // arena bytes of op states, trained tensors and optimizer state
  int32_t arena_bytes;  // whole planned arena
  int32_t input_tensor;  // model input tensor
  int32_t output_tensor;  // model output tensor
  int32_t num_classes;  // output elements (classes, or regression targets)
  int32_t flags;  // FLAGS
  int32_t instruction_words;  // words of the instruction stream
  int32_t momentum_bits;  // SGD momentum as float bits
  int32_t off_channel_data;  // word offset of the per-channel requantisation words
  int32_t channel_data_words;  // words of the channel-data section
};
static_assert(sizeof(ProgramHeader) == kProgramHeaderWords * 4, "header layout");

// One entry of the layer table, word by word.
struct LayerInfo {
  int32_t op_index;  // the trained op
  int32_t weight_tensor;  // its weight tensor
  int32_t bias_tensor;  // its bias tensor, or -1
  int32_t out_channels;  // output channels
  int32_t weight_channels;  // leading output channels whose weights are updated
  int32_t update_bias;  // 1 if the bias is updated
  int32_t weight_factors;  // float pool index of out_channels QAS factors
  int32_t bias_factors;  // float pool index of out_channels bias QAS factors, or -1
  int32_t weight_state;  // persistent offset of weight_channels x per-channel floats, or -1
  int32_t bias_state;  // persistent offset of out_channels floats, or -1
};
static_assert(sizeof(LayerInfo) == kLayerWords * 4, "layer layout");

enum ExtraTensorField : int32_t {
  kExtraTensorDtype = 0,
  kExtraTensorElements = 1,
  kExtraTensorOffset = 2,
  kExtraTensorWords = 3,
};

enum OpRecordField : int32_t {
  kOpRecordStateOffset = 0,
  kOpRecordChannelData = 1,
  kOpRecordWords = 2,
};

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_PROGRAM_FORMAT_H_
