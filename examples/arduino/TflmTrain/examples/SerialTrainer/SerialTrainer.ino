// SerialTrainer: fine-tune a model on the board from labelled samples sent over Serial.
//
// The model (model_data.h / model_data.cpp, generated into this folder when the library zip is
// built) is the tflm-train demo: a small int8 MNIST CNN extended by `tflm-train convert`, so it
// both infers and trains. Samples are 28x28 int8 images (784 bytes) in the model's input
// quantisation; labels are digits 0-9.
//
// Line protocol (115200 baud; one command per line, '\n' ends a line, '\r' is ignored):
//   T <label> <hex>   train one step on the sample; <hex> is the int8 input, two hex digits per
//                     byte, two's complement (80 = -128, 7f = 127).
//                     reply: OK T <steps so far> <loss, 6 decimals> <loss float32 bits, hex>
//                     (the weights change on every 8th sample: mini-batches of 8)
//   P <hex>           predict the sample.
//                     reply: OK P <class> <int8 output 0> ... <int8 output 9>
//   H                 checksum of the trained weights (to compare with a host replaying the
//                     same steps).  reply: OK H <steps so far> <FNV-1a hash, hex>
//   S                 save a checkpoint (trained weights, optimizer state, step count) to the
//                     board's flash.  reply: OK S <steps> <slot> <sequence>
//   R                 restore the newest checkpoint (as setup() does after a reset).
//                     reply: OK R <steps> <slot> <sequence>
//   B                 reboot now, as a power cut would: RAM is lost, the checkpoint is not.
//                     reply: OK B, then READY ... after the restart (bytes sent meanwhile are lost)
//   anything else     reply: ERR <reason>
// After reset the sketch restores the newest checkpoint if there is one, then prints
// "READY <input bytes> <classes> arena <planned arena bytes> steps <restored steps, or 0>"
// (or "ERR begin: <reason>").
//
// Samples reach the model through an input source (trainer.setInputSource): the runtime asks
// for the rows it needs and readSampleRows() decodes them from the command's hex, so the
// sketch never copies a whole sample. A model converted with an input source
// (`tflm-train convert --input-source`) asks a few rows at a time and never holds the frame;
// the demo model stores its 784-byte input and gets all rows in one request. To train from a
// sensor, deliver its rows the same way and call trainer.trainStep(label, kLearningRate) as
// handleTrain() does.
#include <TflmTrain.h>

#include "model_data.h"

namespace {

// The demo model was converted with momentum over mini-batches of 8 (tflm_train/demo.py): the
// weights change on every 8th sample, at this learning rate.
const float kLearningRate = 0.02f;
const int kBatchSize = 8;
const uint32_t kSeed = 1;

// The arena holds activations, gradients, updated weights and momentum: the demo model's plan
// needs about 45 KB (READY prints the exact number); 80 KB leaves room for a larger model.
alignas(16) uint8_t arena[80 * 1024];
TflmTrain trainer;

// One line of input: the command letter, the label and two hex digits per input byte.
char line[2 * 1024 + 32];
size_t lineLength = 0;
bool lineTooLong = false;

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const char* skipSpaces(const char* p) {
  while (*p == ' ') ++p;
  return p;
}

// The sample of the command being handled: trainer.inputBytes() hex pairs.
const char* sampleHex = nullptr;

// The input source: rows [first_row, first_row + num_rows) of the sample, decoded on demand.
int32_t readSampleRows(void*, tt_input_request* request) {
  const size_t first = static_cast<size_t>(request->first_row) * request->row_bytes;
  const size_t n = static_cast<size_t>(request->num_rows) * request->row_bytes;
  if (sampleHex == nullptr || first + n > trainer.inputBytes()) return 1;
  const char* p = sampleHex + 2 * first;
  for (size_t i = 0; i < n; ++i) {
    const int hi = hexDigit(p[2 * i]);
    const int lo = hi < 0 ? -1 : hexDigit(p[2 * i + 1]);
    if (lo < 0) return 2;
    request->dest[i] = static_cast<int8_t>(static_cast<uint8_t>(hi * 16 + lo));
  }
  return 0;
}

// Checks that p holds exactly trainer.inputBytes() hex pairs and makes it the current sample.
bool readSample(const char* p) {
  p = skipSpaces(p);
  for (size_t i = 0; i < 2 * trainer.inputBytes(); ++i) {
    if (hexDigit(p[i]) < 0) return false;
  }
  if (*skipSpaces(p + 2 * trainer.inputBytes()) != '\0') return false;
  sampleHex = p;
  return true;
}

void reply(const char* what) {
  Serial.print("ERR ");
  Serial.println(what);
}

void handleTrain(const char* p) {
  p = skipSpaces(p);
  int label = 0;
  if (*p < '0' || *p > '9') return reply("T: label must be a number");
  while (*p >= '0' && *p <= '9') label = label * 10 + (*p++ - '0');
  if (label >= static_cast<int>(trainer.numClasses())) return reply("T: label out of range");
  if (*p != ' ' || !readSample(p)) return reply("T: sample must be inputBytes hex pairs");
  float loss = 0.0f;
  if (!trainer.trainStep(label, kLearningRate, &loss)) return reply(trainer.errorMessage());
  uint32_t bits;
  memcpy(&bits, &loss, sizeof(bits));
  Serial.print("OK T ");
  Serial.print(static_cast<unsigned long>(trainer.steps()));
  Serial.print(' ');
  Serial.print(loss, 6);
  Serial.print(' ');
  Serial.println(static_cast<unsigned long>(bits), HEX);
}

void handlePredict(const char* p) {
  if (!readSample(p)) return reply("P: sample must be inputBytes hex pairs");
  const int cls = trainer.predict();
  if (cls < 0) return reply(trainer.errorMessage());
  Serial.print("OK P ");
  Serial.print(cls);
  const int8_t* out = trainer.output();
  for (size_t i = 0; i < trainer.numClasses(); ++i) {
    Serial.print(' ');
    Serial.print(out[i]);
  }
  Serial.println();
}

void handleChecksum() {
  Serial.print("OK H ");
  Serial.print(static_cast<unsigned long>(trainer.steps()));
  Serial.print(' ');
  Serial.println(static_cast<unsigned long>(trainer.weightsChecksum()), HEX);
}

void printCheckpoint(const char* what) {
  const tt_checkpoint_report& r = trainer.lastCheckpoint();
  Serial.print(what);
  Serial.print(static_cast<unsigned long>(trainer.steps()));
  Serial.print(' ');
  Serial.print(static_cast<long>(r.slot));
  Serial.print(' ');
  Serial.println(static_cast<unsigned long>(r.sequence));
}

void handleSave() {
  if (!trainer.save()) return reply(trainer.errorMessage());
  printCheckpoint("OK S ");
}

void handleRestore() {
  if (!trainer.restore()) return reply(trainer.errorMessage());
  printCheckpoint("OK R ");
}

void handleReboot() {
  Serial.println("OK B");
  Serial.flush();
  NVIC_SystemReset();
}

void handleLine() {
  if (lineTooLong) return reply("line too long");
  if (lineLength == 0) return;
  if (!trainer.ready()) return reply("model not loaded");
  switch (line[0]) {
    case 'T':
      return handleTrain(line + 1);
    case 'P':
      return handlePredict(line + 1);
    case 'H':
      return handleChecksum();
    case 'S':
      return handleSave();
    case 'R':
      return handleRestore();
    case 'B':
      return handleReboot();
    default:
      return reply("unknown command (T, P, H, S, R, B)");
  }
}

}  // namespace

void setup() {
  Serial.begin(115200);
  while (!Serial) {
  }
  if (!trainer.begin(tflm_demo_model, tflm_demo_model_len, arena, sizeof(arena), kSeed)) {
    Serial.print("ERR begin: ");
    Serial.println(trainer.errorMessage());
    return;
  }
  trainer.setBatchSize(kBatchSize);
  trainer.setInputSource(readSampleRows, nullptr);
  Serial.print("READY ");
  Serial.print(static_cast<unsigned long>(trainer.inputBytes()));
  Serial.print(' ');
  Serial.print(static_cast<unsigned long>(trainer.numClasses()));
  // Resume from the last checkpoint: training survives a reset or power cut. Without one (first
  // boot, or a checkpoint of another model) the model's own weights are used.
  trainer.restore();
  Serial.print(" arena ");
  Serial.print(static_cast<unsigned long>(trainer.arenaRequired()));
  Serial.print(" steps ");
  Serial.println(static_cast<unsigned long>(trainer.steps()));
}

void loop() {
  while (Serial.available() > 0) {
    const char c = static_cast<char>(Serial.read());
    if (c == '\r') continue;
    if (c == '\n') {
      line[lineLength < sizeof(line) ? lineLength : sizeof(line) - 1] = '\0';
      handleLine();
      lineLength = 0;
      lineTooLong = false;
    } else if (lineLength + 1 < sizeof(line)) {
      line[lineLength++] = c;
    } else {
      lineTooLong = true;
    }
  }
}
