// Row-streamed execution of a chain of spatial int8 ops (CONV_2D, DEPTHWISE_CONV_2D, PAD, ADD,
// AVERAGE/MAX_POOL_2D): the chain's output is produced one row at a time and every tensor
// between two stages of the chain lives only as a window of rows, so an inverted bottleneck's
// expanded tensor is never materialised. The arithmetic is the existing kernels', called on row
// views (one output row from the few input rows it reads), so the bytes equal whole-tensor
// execution by construction.
//
// Memory (RowStreamBufferSize): for every intermediate tensor k (input of stage k, k >= 1)
//   window_k = min(span_k, H_k) * W_k * C_k bytes, rounded up to 4,
// where span_k = (kernel_h - 1) * dilation_h + 1 for conv/depthwise, filter_h for pooling and 1
// for 1x1 conv, PAD and ADD. A window is a sliding window: when the next output row needs rows
// [lo, hi), the rows it still holds from lo on are moved to the front (memmove of at most
// span_k - 1 rows) and the missing rows are computed behind them. That keeps every window
// contiguous for the kernels at exactly span_k rows (a ring buffer would need a second copy of
// the rows to be contiguous, twice the bytes); the price is the row move, small next to the
// kernel_h * kernel_w MACs per element of the consumer. Rows no output row reads (a 1x1 stride-2
// conv skips every other row) are never computed.
// The conv / depthwise kernels' own scratch (ConvInt8RowsGetBufferSize /
// DepthwiseConvInt8GetBufferSize, the largest of the chain's: the stages run one at a time, a
// stage's input rows being produced before its kernel runs) is one more buffer; a plan may put
// it after the windows, 8-byte aligned (RowStreamScratchBytes), alive during the chain only,
// instead of on the stack below the recursion.
// The chain output is a whole tensor; so is its input, unless an input source delivers the
// input's rows on demand (RowSource): then the input too lives only as a window of
// min(span_0, H_0) rows (RowStreamSourceWindowBytes), placed after the other windows, and each
// input row is asked for once, in increasing order (rows no output row reads are skipped). The output may overlap the input (in place)
// when no row of the input is read after the output row that overwrites it (the converter
// checks this; e.g. a stride-1 residual block whose output row r is written after the last read
// of input rows <= r).
#ifndef TFLM_TRAIN_KERNELS_ROW_STREAM_H_
#define TFLM_TRAIN_KERNELS_ROW_STREAM_H_

#include <cstdint>

#include "kernels/add.h"
#include "kernels/types.h"

namespace tflm_train {

// Longest chain one call streams; it bounds the recursion depth (one frame per stage).
constexpr int32_t kMaxStreamStages = 16;

enum class StreamOp : int32_t {
  kConv = 0,
  kDepthwise = 1,
  kPad = 2,
  kAdd = 3,
  kAveragePool = 4,
  kMaxPool = 5,
};

// The weights of a kConv / kDepthwise stage.
struct StreamWeights {
  PerChannelQuant quant;
  Dims filter_dims;
  const int8_t* filter;
  const int32_t* bias;  // may be null
};

// A kPad stage: NHWC padding (batch padding must be 0) and the fill value.
struct StreamPadding {
  int32_t before[4];
  int32_t after[4];
  int8_t value;
};

// A kAdd stage: same-shape ADD; `other` is the whole non-streamed operand (output_dims); the
// streamed row is input 1 of the op when stream_is_input1, else input 2.
struct StreamOperand {
  const int8_t* other;
  bool stream_is_input1;
};

// One op of the chain with its prepared parameters. input_dims/output_dims describe the whole
// (virtual) tensors, batch 1; the stage's streamed input is the previous stage's output (or
// the chain input for stage 0). Each op kind's members share storage (unions): the runtime
// keeps kMaxStreamStages of these on the stack below the row recursion.
struct StreamStage {
  StreamOp op;
  Dims input_dims;
  Dims output_dims;
  union {  // the op's prepared parameters (none for kPad)
    const ConvParams* conv;            // kConv
    const DepthwiseParams* depthwise;  // kDepthwise
    const PoolParams* pool;            // kAveragePool / kMaxPool
    const AddParams* add;              // kAdd
  };
  union {
    StreamWeights weights;  // kConv / kDepthwise
    StreamPadding pad;      // kPad
    StreamOperand operand;  // kAdd
  };
};

// Input rows output row r of a stage reads: [r * stride - offset, ... + span), clipped to the
// input height.
struct RowReach {
  int32_t stride;
  int32_t offset;
  int32_t span;
};

RowReach StreamStageReach(const StreamStage& stage);

// True when the chain is well formed: 1..kMaxStreamStages stages, batch 1, each stage's input
// dims equal the previous stage's output dims, the stage's own shape rules hold (conv/pool
// output height agrees with its reach, PAD adds exactly its padding, ADD shapes equal), and
// every pointer a stage needs is set.
bool RowStreamCheck(const StreamStage* stages, int32_t num_stages);

// Bytes of scratch the row windows need (see the formula above); 0 for a single stage.
int32_t RowStreamBufferSize(const StreamStage* stages, int32_t num_stages);

// Delivers rows [first, first + count) of the chain input (count * W_0 * C_0 bytes) into dest;
// false stops the chain (the caller's read keeps the reason).
struct RowSource {
  bool (*read)(void* user, int32_t first, int32_t count, int8_t* dest);
  void* user;
};

// Bytes of the chain input's window when a RowSource delivers it (see the formula above).
int32_t RowStreamSourceWindowBytes(const StreamStage& first_stage);

// Bytes of the conv / depthwise kernels' scratch a chain needs (0 when none takes any).
int32_t RowStreamKernelBufferSize(const StreamStage* stages, int32_t num_stages);

// Bytes of the whole scratch RowStreamInt8 takes: the windows, the source's window with a source,
// then (8-byte aligned, at *kernel_offset if given) RowStreamKernelBufferSize.
int32_t RowStreamScratchBytes(const StreamStage* stages, int32_t num_stages, bool source,
                              int32_t* kernel_offset = nullptr);

// Runs the chain: input is the whole stage-0 input (or null with a source), output the whole
// last-stage output, scratch the windows (RowStreamBufferSize bytes, plus
// RowStreamSourceWindowBytes with a source; any alignment), kernel_scratch
// RowStreamKernelBufferSize bytes (8-byte aligned; may be null when that is 0). Returns false if
// a stage fails the way its whole kernel does (an average-pool window without input elements)
// or the source fails; true otherwise.
bool RowStreamInt8(const StreamStage* stages, int32_t num_stages, const int8_t* input,
                   int8_t* output, int8_t* scratch, const RowSource* source,
                   void* kernel_scratch);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_ROW_STREAM_H_
