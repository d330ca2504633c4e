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

/* Session storage firmware reserves statically; tt_session_size() is at most this on every
   build (c_api.cc checks it at compile time). */
#define TT_SESSION_BYTES 1024

enum { TT_ROUND_NEAREST = 0, TT_ROUND_STOCHASTIC = 1 };

size_t tt_session_size(void);
/* Verifies model and training program, prepares every op. On failure the session still holds
   the error text, and tt_arena_required() tells the planned arena size if it was known. */
int32_t tt_open(void* storage, size_t storage_size, const uint8_t* model, size_t model_size,
                uint8_t* arena, size_t arena_size, uint32_t seed, tt_session** out);
const char* tt_error(const tt_session* s);
size_t tt_arena_required(const tt_session* s);
/* The model's input and output tensors; *bytes is their size in bytes. A float-I/O model
   (float32 input read by its QUANTIZE, float32 output made by its DEQUANTIZE) has float32
   tensors there: cast the pointer (16-byte aligned) to float, and *bytes is 4 per element.
   A program that reads its input from an input source stores none: NULL, *bytes 0 (see
   tt_set_input_source below). */
int8_t* tt_input(tt_session* s, size_t* bytes);
const int8_t* tt_output(const tt_session* s, size_t* bytes);
int32_t tt_invoke(tt_session* s);
int32_t tt_train_step(tt_session* s, int32_t label, float learning_rate, int32_t rounding,
                      float* loss);
/* One training sample with every option. Programs converted with optimizer state (momentum or
   mini_batch) sum samples 0..batch_size-1 and update after the last one; otherwise batch_size
   must be 1. MSE programs read num_classes real targets and ignore the label. */
typedef struct {
  float learning_rate;
  int32_t rounding;         /* TT_ROUND_* */
  int32_t batch_size;       /* samples per update */
  int32_t sample_in_batch;  /* 0 .. batch_size - 1 */
  const float* target;      /* MSE programs only; else NULL */
} tt_train_options;
int32_t tt_train(tt_session* s, int32_t label, const tt_train_options* options, float* loss);
/* Learning rate for update `step` of a warm-up + cosine schedule (kernels/training/lr_schedule.h);
   the same float arithmetic on host and board. */
typedef struct {
  float base;
  int32_t warmup_steps;
  int32_t total_steps;
  float final_fraction;
} tt_lr_schedule;
float tt_learning_rate(const tt_lr_schedule* schedule, int32_t step);
/* Bytes of subgraph-0 tensor `tensor` (trained tensors: the live SRAM copy). */
const uint8_t* tt_tensor_data(const tt_session* s, int32_t tensor, size_t* bytes);
int32_t tt_num_layers(const tt_session* s);
/* Weight and bias tensor of trained layer i, each -1 if that tensor is not trained (a layer
   that trains only its bias keeps its weights in flash). */
int32_t tt_layer_tensors(const tt_session* s, int32_t i, int32_t* weight, int32_t* bias);

/* Runs subgraph-0 operator `op` alone (its forward kernel only). Calling it for op 0, 1, ...
   in order after filling the input equals tt_invoke(), and lets a caller read each op's output
   with tt_tensor_data() right after it is produced, before the arena plan reuses its bytes
   (to compare intermediate tensors with another runtime). Returns TT unsupported (2) for an op
   whose tensors are not stored whole (inside a streamed chain): use a plan without streaming. */
int32_t tt_invoke_op(tt_session* s, int32_t op);
/* Number of subgraph-0 operators (0 if the session is not open). */
int32_t tt_num_ops(const tt_session* s);

/* Profiling: `hook` is called before every program instruction of tt_invoke / tt_train runs,
   with its index, opcode (program.h) and first argument (the op index for per-op opcodes),
   and once more with index -1 after the last one; null removes it. A board reads its cycle
   or tick counter in the hook to time each instruction. */
typedef void (*tt_instruction_hook)(void* user, int32_t index, int32_t opcode, int32_t arg0);
void tt_set_instruction_hook(tt_session* s, tt_instruction_hook hook, void* user);

/* ---- Input source: the input delivered row by row, never held whole ----
   A program converted with an input source (tflm_train.convert(..., input_source=True) when
   streaming saves memory; flag INPUT_SOURCE) stores no input tensor: tt_input() returns NULL
   and the first streamed chain asks the source for input rows as it needs them, each row once,
   in increasing order (rows no output reads are skipped), keeping only a few rows in the arena.
   For a program that stores its input whole, a source set here fills all of it (one request)
   at the start of every tt_invoke / tt_train, so firmware can use one path for both.
   A row is dimension 1 of the input (NHWC: W * C elements); inputs of rank < 3 are one row. */
typedef struct {
  int32_t first_row;      /* in: first row wanted */
  int32_t num_rows;       /* in: consecutive rows wanted (>= 1) */
  size_t row_bytes;       /* in: bytes per row */
  int8_t* dest;           /* in: where the num_rows * row_bytes bytes go */
  int32_t delivered_row;  /* out: first row written; preset to first_row */
  size_t delivered_bytes; /* out: bytes written; preset to num_rows * row_bytes */
} tt_input_request;
/* Fills request->dest and returns 0, or returns a non-zero code of its own. A source that
   cannot deliver everything sets delivered_bytes (a short read); one that can only deliver
   another row (a camera's next line) sets delivered_row. Either stops the run with
   TT_INPUT_SOURCE_ERROR and a message naming the rows. */
typedef int32_t (*tt_input_source)(void* user, tt_input_request* request);
enum { TT_INPUT_SOURCE_ERROR = 6 };
/* Sets (or, with NULL, removes) the session's input source; 0, or 4 for a NULL session. */
int32_t tt_set_input_source(tt_session* s, tt_input_source source, void* user);
/* 1 if the session's program reads its input only through a source, 0 if it stores it whole
   (tt_input); *rows and *row_bytes (may be NULL) get the input's row layout either way. */
int32_t tt_input_streamed(const tt_session* s, int32_t* rows, size_t* row_bytes);

/* ---- Checkpoints in NOR flash (checkpoint.h: layout and why a power cut loses nothing) ----
   `flash` is a device from flash.h (a board driver, or the simulation below). Status codes
   beyond the ones above: */
struct tt_flash;
enum {
  TT_CHECKPOINT_NONE = 16,        /* both slots erased: nothing saved yet */
  TT_CHECKPOINT_CORRUPT = 17,     /* data present but no complete, CRC-clean checkpoint */
  TT_CHECKPOINT_WRONG_MODEL = 18, /* newest checkpoint belongs to another model / layout */
  TT_CHECKPOINT_VERSION = 19,     /* newest header has another format version */
  TT_CHECKPOINT_FLASH_ERROR = 20, /* device failure or power lost during the operation */
  TT_CHECKPOINT_TOO_LARGE = 21    /* trained tensors do not fit in one slot */
};
typedef struct {
  int32_t slot;           /* slot written / restored (0 or 1), -1 if none */
  uint32_t sequence;      /* checkpoint sequence number (higher = newer) */
  uint32_t step;          /* the caller's step counter stored with it */
  uint32_t payload_bytes; /* trained bytes saved / restored */
  uint32_t model_id;      /* identity of the model (tt_checkpoint_model_id) */
  char message[256];      /* on failure: a sentence naming the problem; else empty */
} tt_checkpoint_report;
/* Saves the trained tensors and `step` into the older slot; the newest good one is kept. */
int32_t tt_checkpoint_save(const tt_session* s, const struct tt_flash* flash, uint32_t step,
                           tt_checkpoint_report* report);
/* Loads the newest valid checkpoint; on any error the session's tensors are unchanged. */
int32_t tt_checkpoint_restore(tt_session* s, const struct tt_flash* flash,
                              tt_checkpoint_report* report);
/* Erases both slots (discards every checkpoint). */
int32_t tt_checkpoint_erase(const struct tt_flash* flash, tt_checkpoint_report* report);
uint32_t tt_checkpoint_model_id(const tt_session* s);
/* State of one slot: 0 erased, 1 valid, 2 uncommitted (torn save), 3 corrupt, 4 other format
   version, 5 read error; -1 bad arguments. `sequence` (may be NULL) gets its header's value. */
int32_t tt_checkpoint_slot_state(const struct tt_flash* flash, int32_t slot, uint32_t* sequence);

/* RAM-backed simulated NOR flash (flash_sim.h) with power-cut injection, for tests. `memory`
   (size bytes) stays owned by the caller and is not cleared: erase it or keep old contents. */
typedef struct tt_sim_flash tt_sim_flash;
size_t tt_sim_flash_size(void);
int32_t tt_sim_flash_init(void* storage, size_t storage_size, uint8_t* memory, uint32_t size,
                          uint32_t page_size, uint32_t write_size, tt_sim_flash** out);
const struct tt_flash* tt_sim_flash_device(tt_sim_flash* f);
/* Power is cut during the operation with this index (counted from now: each programmed write
   unit and each page erase is one operation); that one is left torn (random mix of old and new
   bits), the later ones are lost. -1 disarms. */
void tt_sim_flash_cut_at(tt_sim_flash* f, int64_t operation, uint32_t seed);
/* "Reboot": power back on, cut disarmed, operation counter zeroed. Memory is kept. */
void tt_sim_flash_power_on(tt_sim_flash* f);
uint64_t tt_sim_flash_operations(const tt_sim_flash* f);
int32_t tt_sim_flash_powered(const tt_sim_flash* f);

#ifdef __cplusplus
}
#endif

#endif /* TFLM_TRAIN_RUNTIME_C_API_H_ */
