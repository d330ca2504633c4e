#include "tflm_train/runtime/checkpoint.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace tflm_train {

// Headers and commit words are written with memcpy: the format is little-endian, as are the host
// and both Cortex-M targets.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoint format is little-endian");

namespace {

constexpr uint32_t kStageBytes = kCheckpointMaxWriteSize;  // a multiple of every write_size
constexpr uint32_t kHeaderCrcBytes = kCheckpointHeaderBytes - 4;

// CRC-32 (poly 0xEDB88320 reflected), four bits per lookup: a 64-byte table instead of 1 KB.
constexpr uint32_t kCrcNibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

CheckpointStatus Fail(ErrorMessage* err, CheckpointStatus status, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
CheckpointStatus Fail(ErrorMessage* err, CheckpointStatus status, const char* format, ...) {
  if (err != nullptr) {
    va_list args;
    va_start(args, format);
    vsnprintf(err->text, ErrorMessage::kCapacity, format, args);
    va_end(args);
  }
  return status;
}

uint32_t CrcValue(uint32_t crc, uint32_t v) { return Crc32(crc, &v, 4); }

uint32_t RoundUp(uint32_t v, uint32_t m) { return (v + m - 1) / m * m; }

uint32_t CommitOffset(uint32_t payload_bytes, uint32_t write_size) {
  return kCheckpointHeaderBytes + RoundUp(payload_bytes, write_size);
}

// Bytes a checkpoint of `payload_bytes` occupies in its slot (header, padded payload, commit).
uint64_t SlotBytesNeeded(uint32_t payload_bytes, uint32_t write_size) {
  return uint64_t{kCheckpointHeaderBytes} + RoundUp(payload_bytes, write_size) + write_size;
}

uint32_t HeaderCrc(const CheckpointHeader& h) { return Crc32(0, &h, kHeaderCrcBytes); }

// Every 32-bit word of the commit unit. Tied to the header CRC (hence to the sequence number),
// so a commit unit left from an older save can never validate a newer header.
uint32_t CommitWord(const CheckpointHeader& h) { return kCheckpointCommitMagic ^ h.header_crc; }

// True if tensor t of layer `layer` was not already stored for an earlier layer (a tensor
// shared by two layers is one copy in SRAM and one in the payload).
bool FirstUse(const Program& program, int32_t layer, int32_t t) {
  if (t < 0) return false;
  for (int32_t j = 0; j < layer; ++j) {
    const LayerInfo o = program.layer(j);
    if (TrainedWeight(o) == t || o.bias_tensor == t) return false;
  }
  return true;
}

// Start of the session's arena. The session exposes trained tensors but not the arena itself;
// a tensor planned at arena offset `off` lives at arena + off, which gives the base back.
// Optimizer state is addressed by arena offset (LayerInfo::weight_state / bias_state).
uint8_t* ArenaBase(const Session& session) {
  const Program& program = session.program();
  for (int32_t i = 0; i < program.header().n_layers; ++i) {
    const int32_t t = program.layer(i).bias_tensor;
    const int32_t w = TrainedWeight(program.layer(i));
    const int32_t any = t >= 0 && program.model_offset(t) >= 0 ? t : w;
    if (any >= 0 && program.model_offset(any) >= 0) {
      return session.data(any) - program.model_offset(any);
    }
  }
  return nullptr;
}

// Calls fn(data, bytes) for each range of the payload, in order: per layer its trained weight
// tensor and bias tensor (arena copies; a tensor shared by two layers once), then its optimizer
// state (momentum velocity / mini-batch sums: weight_channels x elements per channel floats,
// out_channels floats), so a restored session continues exactly where the saved one was.
// Stops when fn returns false. Layout and sizes were verified by Session::Open.
template <typename Fn>
void ForEachTrainedRange(const Session& session, Fn fn) {
  const Program& program = session.program();
  uint8_t* const arena = ArenaBase(session);
  for (int32_t i = 0; i < program.header().n_layers; ++i) {
    const LayerInfo l = program.layer(i);
    const int32_t ids[2] = {TrainedWeight(l), l.bias_tensor};
    for (int32_t k = 0; k < 2; ++k) {
      const int32_t t = ids[k];
      if ((k == 1 && t == ids[0]) || !FirstUse(program, i, t)) continue;
      // Only arena copies are trained (and writable); never touch a tensor left in flash.
      if (program.model_offset(t) < 0) continue;
      if (!fn(session.data(t), static_cast<uint32_t>(session.trained_bytes(t)))) return;
    }
    if (arena == nullptr || l.out_channels <= 0) continue;
    const int64_t per_channel = session.model_tensor_bytes(l.weight_tensor) / l.out_channels;
    const int64_t state_bytes[2] = {4 * per_channel * l.weight_channels,
                                    4 * int64_t{l.out_channels}};
    const int32_t offsets[2] = {l.weight_state, l.bias_state};
    for (int32_t k = 0; k < 2; ++k) {
      if (offsets[k] < 0 || state_bytes[k] <= 0) continue;
      if (!fn(arena + offsets[k], static_cast<uint32_t>(state_bytes[k]))) return;
    }
  }
}

// Copies payload bytes [offset, offset + bytes) between the session's trained ranges and
// `buffer` (to_session: buffer -> session; else session -> buffer).
void PayloadSpan(const Session& session, uint32_t offset, uint32_t bytes, uint8_t* buffer,
                 bool to_session) {
  uint32_t start = 0;  // payload offset of the current range
  const uint32_t end = offset + bytes;
  ForEachTrainedRange(session, [&](uint8_t* data, uint32_t n) {
    const uint32_t lo = offset > start ? offset : start;
    const uint32_t hi = end < start + n ? end : start + n;
    if (lo < hi) {
      uint8_t* range = data + (lo - start);
      uint8_t* buf = buffer + (lo - offset);
      if (to_session) {
        memcpy(range, buf, hi - lo);
      } else {
        memcpy(buf, range, hi - lo);
      }
    }
    start += n;
    return start < end;
  });
}

// CRC of flash bytes [offset, offset + bytes); returns the device code (0 = ok).
int32_t FlashCrc(const FlashDevice& flash, uint32_t offset, uint32_t bytes, uint32_t* crc) {
  uint8_t stage[kStageBytes];
  uint32_t c = 0;
  for (uint32_t done = 0; done < bytes;) {
    const uint32_t n = bytes - done < kStageBytes ? bytes - done : kStageBytes;
    const int32_t rc = flash.read(flash.context, offset + done, stage, n);
    if (rc != 0) return rc;
    c = Crc32(c, stage, n);
    done += n;
  }
  *crc = c;
  return 0;
}

const char* SlotStateName(SlotState s) {
  switch (s) {
    case SlotState::kErased:
      return "erased";
    case SlotState::kValid:
      return "valid";
    case SlotState::kUncommitted:
      return "an uncommitted (interrupted) save";
    case SlotState::kCorrupt:
      return "corrupt (CRC or size check failed)";
    case SlotState::kOtherVersion:
      return "another format version";
    case SlotState::kReadError:
      return "unreadable";
  }
  return "?";
}

// Slot with the highest sequence among valid ones (slot 0 on a tie), or -1.
int32_t NewestValid(const SlotState* states, const CheckpointHeader* headers) {
  int32_t best = -1;
  for (int32_t k = 0; k < kCheckpointSlots; ++k) {
    if (states[k] != SlotState::kValid) continue;
    if (best < 0 || headers[k].sequence > headers[best].sequence) best = k;
  }
  return best;
}

CheckpointStatus InspectBoth(const FlashDevice& flash, SlotState* states,
                             CheckpointHeader* headers, ErrorMessage* err) {
  for (int32_t k = 0; k < kCheckpointSlots; ++k) {
    states[k] = InspectSlot(flash, k, &headers[k]);
    if (states[k] == SlotState::kReadError) {
      return Fail(err, CheckpointStatus::kFlashError, "checkpoint: cannot read slot %ld of the flash",
                  static_cast<long>(k));
    }
  }
  return CheckpointStatus::kOk;
}

// Programs `bytes` (a multiple of write_size) at `offset`, naming the step on failure.
CheckpointStatus ProgramOrFail(const FlashDevice& flash, uint32_t offset, const void* data,
                               uint32_t bytes, const char* what, ErrorMessage* err) {
  const int32_t rc = flash.program(flash.context, offset, data, bytes);
  if (rc == 0) return CheckpointStatus::kOk;
  return Fail(err, CheckpointStatus::kFlashError,
              "checkpoint: programming the %s at flash offset %lu failed (device code %ld); the "
              "previous checkpoint is untouched", what, static_cast<unsigned long>(offset),
              static_cast<long>(rc));
}

CheckpointStatus ProgramPayload(const Session& session, const FlashDevice& flash, uint32_t base,
                                uint32_t payload_bytes, ErrorMessage* err) {
  uint8_t stage[kStageBytes];
  const uint32_t padded = RoundUp(payload_bytes, flash.write_size);
  for (uint32_t done = 0; done < padded; done += kStageBytes) {
    const uint32_t n = padded - done < kStageBytes ? padded - done : kStageBytes;
    memset(stage, 0xFF, sizeof(stage));  // padding stays erased
    const uint32_t data = payload_bytes > done ? payload_bytes - done : 0;
    PayloadSpan(session, done, data < n ? data : n, stage, false);
    const CheckpointStatus st = ProgramOrFail(flash, base + kCheckpointHeaderBytes + done, stage,
                                              n, "payload", err);
    if (st != CheckpointStatus::kOk) return st;
  }
  return CheckpointStatus::kOk;
}

}  // namespace

uint32_t Crc32(uint32_t crc, const void* data, size_t bytes) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < bytes; ++i) {
    crc ^= p[i];
    crc = (crc >> 4) ^ kCrcNibble[crc & 15];
    crc = (crc >> 4) ^ kCrcNibble[crc & 15];
  }
  return ~crc;
}

uint32_t CheckpointModelId(const Session& session) {
  if (!session.is_open()) return 0;
  const Program& program = session.program();
  const ProgramHeader& h = program.header();
  uint32_t crc = Crc32(0, &h, sizeof(h));
  for (int32_t i = 0; i < h.n_layers; ++i) {
    const LayerInfo l = program.layer(i);
    crc = Crc32(crc, &l, sizeof(l));
  }
  for (int32_t i = 0; i < h.n_extra; ++i) {
    const ExtraTensorInfo e = program.extra(i);
    crc = CrcValue(crc, static_cast<uint32_t>(e.dtype));
    crc = CrcValue(crc, static_cast<uint32_t>(e.elements));
    crc = CrcValue(crc, static_cast<uint32_t>(e.offset));
  }
  for (int32_t i = 0; i < h.n_floats; ++i) {
    const float f = program.Float(i);
    crc = Crc32(crc, &f, sizeof(f));
  }
  int32_t cursor = 0;
  Instruction ins;
  while (program.Next(&cursor, &ins)) {
    crc = CrcValue(crc, static_cast<uint32_t>(ins.opcode));
    crc = CrcValue(crc, static_cast<uint32_t>(ins.num_args));
    for (int32_t a = 0; a < ins.num_args && a < kMaxInstructionArgs; ++a) {
      crc = CrcValue(crc, static_cast<uint32_t>(ins.args[a]));
    }
  }
  for (int32_t t = 0; t < h.n_model_tensors; ++t) {
    const TensorInfo info = session.tensor(t);
    const int64_t bytes = session.model_tensor_bytes(t);
    crc = CrcValue(crc, static_cast<uint32_t>(static_cast<uint8_t>(info.type)));
    crc = Crc32(crc, &bytes, sizeof(bytes));
    crc = CrcValue(crc, info.quantization.scale.size());
    for (uint32_t k = 0; k < info.quantization.scale.size(); ++k) {
      const float s = info.quantization.scale[k];
      crc = Crc32(crc, &s, sizeof(s));
    }
    crc = CrcValue(crc, info.quantization.zero_point.size());
    for (uint32_t k = 0; k < info.quantization.zero_point.size(); ++k) {
      const int64_t z = info.quantization.zero_point[k];
      crc = Crc32(crc, &z, sizeof(z));
    }
  }
  // Ops and the frozen data they read (only op inputs are verified by Session::Open to have
  // constant data of their full size, so only those are read).
  const SubgraphView& sg = session.subgraph();
  for (uint32_t i = 0; i < sg.num_operators(); ++i) {
    const OperatorView op = sg.op(i);
    crc = CrcValue(crc, op.opcode_index());
    crc = CrcValue(crc, op.builtin_options_type());
    for (int pass = 0; pass < 2; ++pass) {
      const fb::ScalarArray<int32_t> ids = pass == 0 ? op.inputs() : op.outputs();
      crc = CrcValue(crc, ids.size());
      for (uint32_t k = 0; k < ids.size(); ++k) crc = CrcValue(crc, static_cast<uint32_t>(ids[k]));
    }
    const fb::ScalarArray<int32_t> in = op.inputs();
    for (uint32_t k = 0; k < in.size(); ++k) {
      const int32_t t = in[k];
      if (t < 0 || program.model_offset(t) >= 0) continue;
      size_t n = 0;
      const uint8_t* data = session.tensor_data(t, &n);
      if (data != nullptr) crc = Crc32(crc, data, n);
    }
  }
  return crc;
}

uint32_t CheckpointPayloadBytes(const Session& session) {
  if (!session.is_open()) return 0;
  uint32_t total = 0;
  ForEachTrainedRange(session, [&](uint8_t*, uint32_t n) {
    total += n;
    return true;
  });
  return total;
}

CheckpointStatus CheckFlashGeometry(const FlashDevice* flash, ErrorMessage* err) {
  if (flash == nullptr || flash->read == nullptr || flash->program == nullptr ||
      flash->erase_page == nullptr) {
    return Fail(err, CheckpointStatus::kInvalidArgument,
                "checkpoint: the flash device or one of its read/program/erase_page functions is "
                "null");
  }
  const uint32_t w = flash->write_size, p = flash->page_size;
  if (w == 0 || (w & (w - 1)) != 0 || w > kCheckpointMaxWriteSize) {
    return Fail(err, CheckpointStatus::kInvalidArgument,
                "checkpoint: flash write_size %lu is not a power of two between 1 and %lu",
                static_cast<unsigned long>(w), static_cast<unsigned long>(kCheckpointMaxWriteSize));
  }
  if (p == 0 || p % w != 0 || flash->size == 0 || flash->size % (2 * p) != 0) {
    return Fail(err, CheckpointStatus::kInvalidArgument,
                "checkpoint: flash of %lu bytes with %lu-byte pages cannot hold two slots of whole "
                "pages (page_size must be a multiple of write_size %lu, size of 2 * page_size)",
                static_cast<unsigned long>(flash->size), static_cast<unsigned long>(p),
                static_cast<unsigned long>(w));
  }
  return CheckpointStatus::kOk;
}

SlotState InspectSlot(const FlashDevice& flash, int32_t slot, CheckpointHeader* header) {
  const uint32_t slot_size = flash.size / 2;
  const uint32_t base = static_cast<uint32_t>(slot) * slot_size;
  CheckpointHeader h;
  if (flash.read(flash.context, base, &h, sizeof(h)) != 0) return SlotState::kReadError;
  if (header != nullptr) *header = h;
  const uint8_t* raw = reinterpret_cast<const uint8_t*>(&h);
  bool erased = true;
  for (uint32_t i = 0; i < sizeof(h); ++i) erased = erased && raw[i] == 0xFF;
  if (erased) return SlotState::kErased;
  if (h.magic != kCheckpointMagic || h.header_crc != HeaderCrc(h)) return SlotState::kCorrupt;
  if (h.version != kCheckpointFormatVersion) return SlotState::kOtherVersion;
  if (SlotBytesNeeded(h.payload_bytes, flash.write_size) > slot_size) return SlotState::kCorrupt;
  // Commit unit first: a save cut short is the common case and is cheaper to detect.
  const uint32_t commit = base + CommitOffset(h.payload_bytes, flash.write_size);
  for (uint32_t off = 0; off < flash.write_size; off += 4) {
    uint32_t word = 0;
    const uint32_t n = flash.write_size - off < 4 ? flash.write_size - off : 4;
    if (flash.read(flash.context, commit + off, &word, n) != 0) return SlotState::kReadError;
    const uint32_t want = CommitWord(h);
    if (memcmp(&word, &want, n) != 0) return SlotState::kUncommitted;
  }
  uint32_t crc = 0;
  if (FlashCrc(flash, base + kCheckpointHeaderBytes, h.payload_bytes, &crc) != 0) {
    return SlotState::kReadError;
  }
  return crc == h.payload_crc ? SlotState::kValid : SlotState::kCorrupt;
}

CheckpointStatus SaveCheckpoint(const Session& session, const FlashDevice* flash, uint32_t step,
                                CheckpointInfo* info, ErrorMessage* err) {
  const CheckpointStatus geometry = CheckFlashGeometry(flash, err);
  if (geometry != CheckpointStatus::kOk) return geometry;
  if (!session.is_open()) {
    return Fail(err, CheckpointStatus::kInvalidArgument, "checkpoint: the session is not open");
  }
  const FlashDevice& f = *flash;
  const uint32_t slot_size = f.size / 2;
  const uint32_t payload = CheckpointPayloadBytes(session);
  if (SlotBytesNeeded(payload, f.write_size) > slot_size) {
    return Fail(err, CheckpointStatus::kTooLarge,
                "checkpoint: the trained tensors (%lu bytes) plus header and commit unit do not "
                "fit a slot of %lu bytes (flash of %lu bytes holds two slots)",
                static_cast<unsigned long>(payload), static_cast<unsigned long>(slot_size),
                static_cast<unsigned long>(f.size));
  }
  SlotState states[kCheckpointSlots];
  CheckpointHeader headers[kCheckpointSlots];
  const CheckpointStatus read = InspectBoth(f, states, headers, err);
  if (read != CheckpointStatus::kOk) return read;
  const int32_t newest = NewestValid(states, headers);
  if (newest >= 0 && headers[newest].sequence == 0xFFFFFFFFu) {
    return Fail(err, CheckpointStatus::kInvalidArgument,
                "checkpoint: sequence numbers are exhausted; erase the checkpoints first");
  }
  const int32_t target = newest < 0 ? 0 : 1 - newest;  // never the newest valid checkpoint
  const uint32_t base = static_cast<uint32_t>(target) * slot_size;

  CheckpointHeader h;
  memset(&h, 0, sizeof(h));
  h.magic = kCheckpointMagic;
  h.version = kCheckpointFormatVersion;
  h.sequence = newest < 0 ? 1 : headers[newest].sequence + 1;
  h.model_id = CheckpointModelId(session);
  h.payload_bytes = payload;
  h.payload_crc = 0;
  h.step = step;
  h.rounding_state = session.rounding_state();
  ForEachTrainedRange(session, [&](uint8_t* data, uint32_t n) {
    h.payload_crc = Crc32(h.payload_crc, data, n);
    ++h.n_tensors;
    return true;
  });
  h.header_crc = HeaderCrc(h);

  // Erase in ascending order: the header page goes first, so the old contents of the target
  // stop being a checkpoint at the first erase.
  const uint32_t used = static_cast<uint32_t>(SlotBytesNeeded(payload, f.write_size));
  for (uint32_t off = 0; off < used; off += f.page_size) {
    const int32_t rc = f.erase_page(f.context, base + off);
    if (rc != 0) {
      return Fail(err, CheckpointStatus::kFlashError,
                  "checkpoint: erasing flash page at offset %lu failed (device code %ld); the "
                  "previous checkpoint is untouched", static_cast<unsigned long>(base + off),
                  static_cast<long>(rc));
    }
  }
  CheckpointStatus st = ProgramOrFail(f, base, &h, sizeof(h), "header", err);
  if (st == CheckpointStatus::kOk) st = ProgramPayload(session, f, base, payload, err);
  if (st != CheckpointStatus::kOk) return st;

  // Read back before committing: a program that silently failed must not become the newest.
  CheckpointHeader back;
  uint32_t crc = 0;
  if (f.read(f.context, base, &back, sizeof(back)) != 0 ||
      FlashCrc(f, base + kCheckpointHeaderBytes, payload, &crc) != 0 ||
      memcmp(&back, &h, sizeof(h)) != 0 || crc != h.payload_crc) {
    return Fail(err, CheckpointStatus::kFlashError,
                "checkpoint: read-back of slot %ld does not match what was programmed; not "
                "committed, the previous checkpoint is kept", static_cast<long>(target));
  }
  uint8_t commit[kCheckpointMaxWriteSize];
  const uint32_t word = CommitWord(h);
  for (uint32_t off = 0; off < f.write_size; off += 4) {
    memcpy(commit + off, &word, f.write_size - off < 4 ? f.write_size - off : 4);
  }
  st = ProgramOrFail(f, base + CommitOffset(payload, f.write_size), commit, f.write_size,
                     "commit unit", err);
  if (st != CheckpointStatus::kOk) return st;
  if (InspectSlot(f, target, nullptr) != SlotState::kValid) {
    return Fail(err, CheckpointStatus::kFlashError,
                "checkpoint: slot %ld is not valid after its commit; the previous checkpoint is "
                "kept", static_cast<long>(target));
  }
  if (info != nullptr) {
    *info = CheckpointInfo{target, h.sequence, h.step, h.payload_bytes, h.model_id};
  }
  return CheckpointStatus::kOk;
}

CheckpointStatus RestoreCheckpoint(Session* session, const FlashDevice* flash,
                                   CheckpointInfo* info, ErrorMessage* err) {
  const CheckpointStatus geometry = CheckFlashGeometry(flash, err);
  if (geometry != CheckpointStatus::kOk) return geometry;
  if (session == nullptr || !session->is_open()) {
    return Fail(err, CheckpointStatus::kInvalidArgument, "checkpoint: the session is not open");
  }
  const FlashDevice& f = *flash;
  SlotState states[kCheckpointSlots];
  CheckpointHeader headers[kCheckpointSlots];
  const CheckpointStatus read = InspectBoth(f, states, headers, err);
  if (read != CheckpointStatus::kOk) return read;
  const int32_t best = NewestValid(states, headers);
  if (best < 0) {
    if (states[0] == SlotState::kErased && states[1] == SlotState::kErased) {
      return Fail(err, CheckpointStatus::kNoCheckpoint,
                  "checkpoint: the flash holds no checkpoint (both slots are erased)");
    }
    for (int32_t k = 0; k < kCheckpointSlots; ++k) {
      if (states[k] == SlotState::kOtherVersion) {
        return Fail(err, CheckpointStatus::kUnsupportedVersion,
                    "checkpoint: slot %ld holds format version %lu; this runtime reads version "
                    "%lu", static_cast<long>(k), static_cast<unsigned long>(headers[k].version),
                    static_cast<unsigned long>(kCheckpointFormatVersion));
      }
    }
    return Fail(err, CheckpointStatus::kCorrupt,
                "checkpoint: no valid checkpoint in flash: slot 0 is %s, slot 1 is %s",
                SlotStateName(states[0]), SlotStateName(states[1]));
  }
  const CheckpointHeader& h = headers[best];
  const uint32_t id = CheckpointModelId(*session);
  if (h.model_id != id) {
    return Fail(err, CheckpointStatus::kWrongModel,
                "checkpoint: the newest checkpoint (slot %ld, sequence %lu) was written for model "
                "id 0x%08lx, but this session's model is 0x%08lx; refusing to load it",
                static_cast<long>(best), static_cast<unsigned long>(h.sequence),
                static_cast<unsigned long>(h.model_id), static_cast<unsigned long>(id));
  }
  const uint32_t payload = CheckpointPayloadBytes(*session);
  if (h.payload_bytes != payload) {
    return Fail(err, CheckpointStatus::kWrongModel,
                "checkpoint: the newest checkpoint holds %lu trained bytes, this session has %lu",
                static_cast<unsigned long>(h.payload_bytes), static_cast<unsigned long>(payload));
  }
  // InspectSlot verified the payload CRC; copy it in and check the CRC of what was copied.
  const uint32_t base = static_cast<uint32_t>(best) * (f.size / 2) + kCheckpointHeaderBytes;
  uint8_t stage[kStageBytes];
  uint32_t crc = 0;
  for (uint32_t done = 0; done < payload; done += kStageBytes) {
    const uint32_t n = payload - done < kStageBytes ? payload - done : kStageBytes;
    if (f.read(f.context, base + done, stage, n) != 0) {
      return Fail(err, CheckpointStatus::kFlashError,
                  "checkpoint: reading slot %ld failed during the copy; the session's trained "
                  "tensors are partly overwritten, restore again", static_cast<long>(best));
    }
    crc = Crc32(crc, stage, n);
    PayloadSpan(*session, done, n, stage, true);
  }
  if (crc != h.payload_crc) {
    return Fail(err, CheckpointStatus::kFlashError,
                "checkpoint: slot %ld changed while it was being copied; restore again",
                static_cast<long>(best));
  }
  if (h.rounding_state != 0) session->set_rounding_state(h.rounding_state);
  if (info != nullptr) *info = CheckpointInfo{best, h.sequence, h.step, h.payload_bytes, id};
  return CheckpointStatus::kOk;
}

CheckpointStatus EraseCheckpoints(const FlashDevice* flash, ErrorMessage* err) {
  const CheckpointStatus geometry = CheckFlashGeometry(flash, err);
  if (geometry != CheckpointStatus::kOk) return geometry;
  for (uint32_t off = 0; off < flash->size; off += flash->page_size) {
    const int32_t rc = flash->erase_page(flash->context, off);
    if (rc != 0) {
      return Fail(err, CheckpointStatus::kFlashError,
                  "checkpoint: erasing flash page at offset %lu failed (device code %ld)",
                  static_cast<unsigned long>(off), static_cast<long>(rc));
    }
  }
  return CheckpointStatus::kOk;
}

}  // namespace tflm_train
