// Checkpoints: the trained tensors of a session (the SRAM copies of updated weights and biases),
// their optimizer state (momentum velocity / mini-batch sums, if the program has any), the
// stochastic-rounding generator state and a step counter, persisted to NOR flash so that a power cut at ANY moment leaves the last
// good checkpoint loadable.
//
// Layout. The flash region (flash.h) is split into two equal slots, each a whole number of
// pages. A slot holds, from its start:
//   [0, 64)                 header (CheckpointHeader, little-endian, CRC-protected)
//   [64, 64 + P)            payload, layer by layer: trained weight tensor, bias tensor (a
//                           tensor shared by two layers appears once), then the layer's
//                           optimizer state (weight state, bias state; float32), P = payload_bytes
//                           rounded up to write_size (padding left erased)
//   [64 + P, 64 + P + W)    commit unit (W = write_size): kCheckpointCommitMagic ^ header_crc
//                           in every 32-bit word
// A slot is valid only if the header magic, header CRC, commit unit and payload CRC (read back
// from flash) all agree. Format version 1.
//
// Write protocol (SaveCheckpoint) and why it is power-safe:
//   1. Read both slots; the newest valid one (highest sequence) is never touched. The other slot
//      (older, torn, corrupt or erased) is the target.
//   2. Erase the target's pages that the new checkpoint covers (header page first).
//   3. Program the header, then the payload, computing the payload CRC from the source.
//   4. Read the payload back from flash and check its CRC (a failed program is caught before
//      the commit, never after).
//   5. Program the commit unit last.
// A cut during 2-4 leaves the target without a matching commit unit (a stale commit cannot
// match: it is tied to the header CRC, which covers the new sequence number); a cut during 5
// leaves a partly programmed unit that does not equal the commit value unless every bit that
// had to be cleared is cleared. In every case the previous checkpoint, in the other slot, is
// still valid and still the newest valid one, so RestoreCheckpoint returns it. Once step 5 has
// completed, the new checkpoint has the higher sequence and wins. Garbage left by a torn erase
// or program is rejected by the CRCs (undetected with probability ~2^-32 per check).
// Limits: a bit that a torn operation left weakly programmed may read differently later (real
// NOR physics, not modelled); sequence numbers are 32-bit (SaveCheckpoint refuses to wrap, far
// beyond any flash endurance).
//
// Restore (RestoreCheckpoint) picks the valid slot with the highest sequence, checks that it
// was written for this model (model identity, CheckpointModelId) and holds exactly this
// session's trained bytes, verifies it, and only then copies it into the session: on any error
// the session's tensors are unchanged.
//
// No heap: a 64-byte staging buffer on the stack; the flash device does the I/O.
#ifndef TFLM_TRAIN_RUNTIME_CHECKPOINT_H_
#define TFLM_TRAIN_RUNTIME_CHECKPOINT_H_

#include <cstddef>
#include <cstdint>

#include "tflm_train/runtime/flash.h"
#include "tflm_train/runtime/session.h"
#include "tflm_train/runtime/status.h"

namespace tflm_train {

constexpr uint32_t kCheckpointMagic = 0x50435454;        // "TTCP"
constexpr uint32_t kCheckpointFormatVersion = 1;
constexpr uint32_t kCheckpointCommitMagic = 0x54494D43;  // "CMIT"
constexpr uint32_t kCheckpointHeaderBytes = 64;
constexpr uint32_t kCheckpointMaxWriteSize = 64;
constexpr int32_t kCheckpointSlots = 2;

struct CheckpointHeader {
  uint32_t magic;          // kCheckpointMagic
  uint32_t version;        // kCheckpointFormatVersion
  uint32_t sequence;       // 1 for the first save, +1 for every later one; higher wins
  uint32_t model_id;       // CheckpointModelId() of the session that wrote it
  uint32_t payload_bytes;  // trained bytes (before padding)
  uint32_t payload_crc;    // CRC-32 of those bytes
  uint32_t step;           // caller's step counter, returned by restore
  uint32_t n_tensors;      // ranges (tensors and optimizer states) in the payload
  // The stochastic-rounding generator's state when saved, so a restored session rounds its next
  // updates exactly like the one that saved; 0 (older checkpoints) leaves the session's own.
  uint32_t rounding_state;
  uint32_t reserved[6];    // zero
  uint32_t header_crc;     // CRC-32 of the 60 bytes above
};
static_assert(sizeof(CheckpointHeader) == kCheckpointHeaderBytes, "header layout");

// Every status a checkpoint call returns (numbers shared with the C API; 4 = Status's
// kInvalidArgument).
enum class CheckpointStatus : int32_t {
  kOk = 0,
  kInvalidArgument = 4,     // null pointer, closed session, unusable flash geometry
  kNoCheckpoint = 16,       // both slots erased: nothing was ever saved
  kCorrupt = 17,            // data present, but no slot is a complete, CRC-clean checkpoint
  kWrongModel = 18,         // newest checkpoint was written for another model or layout
  kUnsupportedVersion = 19, // newest CRC-clean header has another format version
  kFlashError = 20,         // the device failed (or lost power) during read/program/erase
  kTooLarge = 21,           // the trained tensors do not fit in one slot
};

// What one slot holds (InspectSlot).
enum class SlotState : int32_t {
  kErased = 0,        // header area all 0xFF
  kValid = 1,
  kUncommitted = 2,   // header CRC-clean but no commit unit: a save was cut short
  kCorrupt = 3,       // bad magic / header CRC / payload CRC / sizes
  kOtherVersion = 4,  // CRC-clean header of another format version
  kReadError = 5,
};

struct CheckpointInfo {
  int32_t slot = -1;
  uint32_t sequence = 0;
  uint32_t step = 0;
  uint32_t payload_bytes = 0;
  uint32_t model_id = 0;
};

// CRC-32 (IEEE 802.3, reflected, as zlib.crc32): pass the previous result to continue, 0 first.
uint32_t Crc32(uint32_t crc, const void* data, size_t bytes);

// Identity of everything a checkpoint does NOT contain: the training program (header, layers,
// instructions, QAS factors), every subgraph-0 tensor's type and size, and the bytes of every
// constant (frozen) tensor an op reads. Two sessions with the same id differ at most in their
// trained tensors, so restoring the checkpoint reproduces the saved state exactly.
// Reads all frozen weights once (CRC, ~2 table lookups per byte).
uint32_t CheckpointModelId(const Session& session);

// Payload size of this session's trained tensors (each counted once) and optimizer state.
uint32_t CheckpointPayloadBytes(const Session& session);

// Checks the flash geometry: non-null callbacks, write_size a power of two <= 64, page_size a
// multiple of write_size, size a non-zero multiple of 2 * page_size.
CheckpointStatus CheckFlashGeometry(const FlashDevice* flash, ErrorMessage* err);

// State of slot 0 or 1; *header receives the raw header (also when not valid).
SlotState InspectSlot(const FlashDevice& flash, int32_t slot, CheckpointHeader* header);

// Writes the session's trained tensors and `step` into the older slot (protocol above).
// `info` (may be null) receives the new checkpoint's slot/sequence/ids.
CheckpointStatus SaveCheckpoint(const Session& session, const FlashDevice* flash, uint32_t step,
                                CheckpointInfo* info, ErrorMessage* err);

// Loads the newest valid checkpoint into the session's trained tensors; `info` (may be null)
// receives slot, sequence, step. On any non-kOk status the session is unchanged.
CheckpointStatus RestoreCheckpoint(Session* session, const FlashDevice* flash,
                                   CheckpointInfo* info, ErrorMessage* err);

// Erases both slots (factory reset). Not power-safe by design: it discards everything.
CheckpointStatus EraseCheckpoints(const FlashDevice* flash, ErrorMessage* err);

}  // namespace tflm_train

#endif  // TFLM_TRAIN_RUNTIME_CHECKPOINT_H_
