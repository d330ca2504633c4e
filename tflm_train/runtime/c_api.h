/* C API of the tflm-train runtime: used by the Python binding (ctypes) and by firmware.
   No heap: the caller provides the session storage (tt_session_size() bytes, 8-byte aligned),
   the model (16-byte aligned, kept alive) and the arena (16-byte aligned). Every call returns
   0 on success or a status code; tt_error() then explains it in a sentence. */
#ifndef TFLM_TRAIN_RUNTIME_C_API_H_
#define TFLM_TRAIN_RUNTIME_C_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_session tt_session;

enum { TT_ROUND_NEAREST = 0, TT_ROUND_STOCHASTIC = 1 };

size_t tt_session_size(void);
/* Verifies model and training program, prepares every op. On failure the session still holds
   the error text, and tt_arena_required() tells the planned arena size if it was known. */
int32_t tt_open(void* storage, size_t storage_size, const uint8_t* model, size_t model_size,
                uint8_t* arena, size_t arena_size, uint32_t seed, tt_session** out);
const char* tt_error(const tt_session* s);
size_t tt_arena_required(const tt_session* s);
int8_t* tt_input(tt_session* s, size_t* bytes);
const int8_t* tt_output(const tt_session* s, size_t* bytes);
int32_t tt_invoke(tt_session* s);
int32_t tt_train_step(tt_session* s, int32_t label, float learning_rate, int32_t rounding,
                      float* loss);
/* Bytes of subgraph-0 tensor `tensor` (trained tensors: the live SRAM copy). */
const uint8_t* tt_tensor_data(const tt_session* s, int32_t tensor, size_t* bytes);
int32_t tt_num_layers(const tt_session* s);
/* Weight and bias tensor (or -1) of trained layer i. */
int32_t tt_layer_tensors(const tt_session* s, int32_t i, int32_t* weight, int32_t* bias);

#ifdef __cplusplus
}
#endif

#endif /* TFLM_TRAIN_RUNTIME_C_API_H_ */
