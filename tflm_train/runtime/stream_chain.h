// STREAM_CHAIN instruction: runs subgraph-0 ops [first, first + count) row by row
// (kernels/row_stream.h), so the tensors between them only ever exist as row windows inside the
// instruction's int8 scratch tensor. Arguments: first op, op count, scratch tensor (extra int8).
//
// A chain is accepted only if it is exactly what the kernel streams: consecutive ops of the
// streamable kinds (CONV_2D, DEPTHWISE_CONV_2D, PAD, PADV2, ADD without broadcast,
// AVERAGE/MAX_POOL_2D), each op's streamed input is the previous op's only output, every tensor
// between two chain ops is used by no other op and is not the program's input or output, the
// chain's input, output and ADD operands have storage, and the scratch holds at least
// RowStreamBufferSize bytes, plus RowStreamSourceWindowBytes when the chain input is fed by the
// input source (so the runtime never uses more than the plan).
#ifndef TFLM_TRAIN_RUNTIME_STREAM_CHAIN_H_
#define TFLM_TRAIN_RUNTIME_STREAM_CHAIN_H_

#include <cstdint>

#include "kernels/row_stream.h"
#include "tflm_train/runtime/program.h"
#include "tflm_train/runtime/session.h"
#include "tflm_train/runtime/status.h"

namespace tflm_train {

constexpr int32_t kStreamChainArgs = StreamChainArgs::kCount;

// Whether tensor t lies between two ops of some STREAM_CHAIN instruction of the program and is
// touched by nothing else (one producer, one consumer slot): such a tensor legitimately has no
// arena storage. Usable before ops are prepared (it reads only the program and the graph).
bool IsStreamIntermediate(const Session& session, int32_t tensor);

// Whether tensor t is the program's input fed by the caller's input source (flag
// INPUT_SOURCE): it has no storage, and exactly one op reads it, as input 0, that op being the
// first of a STREAM_CHAIN of the forward part. Usable before ops are prepared.
bool IsSourceFedInput(const Session& session, int32_t tensor);

// With flag INPUT_SOURCE: the input tensor is planned nowhere and is source-fed as above.
Status CheckInputSourceFlag(const Session& session, ErrorMessage* err);

// Full check of one STREAM_CHAIN instruction against the prepared ops.
Status CheckStreamChain(const Session& session, const Instruction& ins, ErrorMessage* err);

// Whether a FORWARD of `op` has storage for everything it touches (a tensor left without
// storage for a chain must not be written or read by a whole-tensor op).
bool ForwardTensorsStored(const Session& session, int32_t op);

// Whether input `input` of `op` has storage a kernel may read (WEIGHT_UPDATE reads the op's
// input; its output may legitimately exist only as row windows).
bool OpInputReadable(const Session& session, int32_t op, int32_t input);

// Runs a checked STREAM_CHAIN instruction: an error if a stage fails like its whole kernel
// would, or the input source fails (kInputSource, with the source's reason).
Status RunStreamChain(const Session& session, const Instruction& ins, ErrorMessage* err);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_STREAM_CHAIN_H_
