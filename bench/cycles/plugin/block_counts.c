// QEMU TCG plugin: execution counts of every translation block, split into segments at
// function calls, for the Cortex-M cycle model in bench/cycles/model.py.
//
//   qemu-system-arm ... -plugin block_counts.so,out=FILE[,mark=0xADDR]...
//
// The plugin knows nothing about cycles: it writes what the model needs and the model (one
// documented Python file) applies the timing table, so one QEMU run serves every table.
//   T <id> <vaddr> <n>          a newly translated block of n instructions, then per instruction
//   I <vaddr> <size> <disas>    (capstone's text, as QEMU prints it)
//   C <id> <count> <taken>      one segment's executions of block id, and how many of them were
//                               followed by a block that does not start at its fall-through
//                               address (the block's last instruction branched, taken)
//   B enter|leave|exit <addr>   the segment boundary that ended the counts above
// A segment boundary is the entry of a marked function (its address is a mark: "enter") and
// the return from it (the block at the return address of the call that entered it: "leave").
// QEMU ends a block at every branch and call, so a function entry and a return address are
// always block starts, and a block's taken branch can only be its last instruction.
//
// Written against the QEMU 7.2 plugin API (version 1); the declarations below are ours.
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- The part of the QEMU plugin C API this plugin uses ----
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;  // opaque here: not read
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };

#define EXPORTED __attribute__((visibility("default")))
EXPORTED int qemu_plugin_version = 1;

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb* tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb* tb);
struct qemu_plugin_insn* qemu_plugin_tb_get_insn(const struct qemu_plugin_tb* tb, size_t idx);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn* insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn* insn);
char* qemu_plugin_insn_disas(const struct qemu_plugin_insn* insn);
void qemu_plugin_register_vcpu_tb_trans_cb(
    qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t id, struct qemu_plugin_tb* tb));
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb* tb,
                                          void (*cb)(unsigned int vcpu, void* userdata),
                                          enum qemu_plugin_cb_flags flags, void* userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
                                    void (*cb)(qemu_plugin_id_t id, void* userdata),
                                    void* userdata);

// ---- State (one vCPU: the Cortex-M boards have one, so no locking) ----
typedef struct Block {
  uint32_t id;
  uint64_t vaddr, fallthrough;
  uint32_t n;
  bool is_mark;
} Block;

enum { kMaxMarks = 64, kMaxPending = 16 };

static FILE* g_out;
static uint64_t g_marks[kMaxMarks];
static int g_n_marks;
static Block** g_blocks;  // by id
static uint32_t g_n_blocks, g_cap_blocks;
static uint64_t *g_count, *g_taken;  // this segment's, by id
static uint32_t* g_touched;          // ids with a non-zero count in this segment
static uint32_t g_n_touched;
static const Block* g_prev;
static struct {
  uint64_t return_addr, mark;
} g_pending[kMaxPending];
static int g_n_pending;

static void Fail(const char* what) {
  fprintf(stderr, "block_counts plugin: %s\n", what);
  exit(2);
}

static bool IsMark(uint64_t vaddr) {
  for (int i = 0; i < g_n_marks; ++i)
    if (g_marks[i] == vaddr) return true;
  return false;
}

// Writes this segment's counts and the boundary that ends it, and starts a new segment.
static void EndSegment(const char* kind, uint64_t addr) {
  for (uint32_t i = 0; i < g_n_touched; ++i) {
    const uint32_t id = g_touched[i];
    fprintf(g_out, "C %" PRIu32 " %" PRIu64 " %" PRIu64 "\n", id, g_count[id], g_taken[id]);
    g_count[id] = 0;
    g_taken[id] = 0;
  }
  g_n_touched = 0;
  fprintf(g_out, "B %s 0x%" PRIx64 "\n", kind, addr);
}

static void OnBlock(unsigned int vcpu, void* userdata) {
  (void)vcpu;
  const Block* b = userdata;
  if (g_prev != NULL && b->vaddr != g_prev->fallthrough) ++g_taken[g_prev->id];
  for (int i = 0; i < g_n_pending; ++i) {
    if (g_pending[i].return_addr == b->vaddr) {
      EndSegment("leave", g_pending[i].mark);
      g_pending[i] = g_pending[--g_n_pending];
      break;
    }
  }
  if (b->is_mark) {
    bool active = false;  // a loop back to a marked entry is not a new call
    for (int i = 0; i < g_n_pending; ++i) active |= g_pending[i].mark == b->vaddr;
    if (!active) {
      if (g_prev == NULL || g_n_pending == kMaxPending) Fail("marked call without a caller");
      g_pending[g_n_pending].return_addr = g_prev->fallthrough;
      g_pending[g_n_pending++].mark = b->vaddr;
      EndSegment("enter", b->vaddr);
    }
  }
  if (g_count[b->id]++ == 0) g_touched[g_n_touched++] = b->id;
  g_prev = b;
}

static void Grow(void) {
  const uint32_t cap = g_cap_blocks ? 2 * g_cap_blocks : 4096;
  g_blocks = realloc(g_blocks, cap * sizeof(*g_blocks));
  g_count = realloc(g_count, cap * sizeof(*g_count));
  g_taken = realloc(g_taken, cap * sizeof(*g_taken));
  g_touched = realloc(g_touched, cap * sizeof(*g_touched));
  if (!g_blocks || !g_count || !g_taken || !g_touched) Fail("out of memory");
  memset(g_count + g_cap_blocks, 0, (cap - g_cap_blocks) * sizeof(*g_count));
  memset(g_taken + g_cap_blocks, 0, (cap - g_cap_blocks) * sizeof(*g_taken));
  g_cap_blocks = cap;
}

// QEMU retranslates a block (same code, e.g. after its cache filled up or with fewer
// instructions under -icount); every translation gets its own id, the model sums them.
static void OnTranslate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  if (n == 0) return;
  if (g_n_blocks == g_cap_blocks) Grow();
  Block* b = malloc(sizeof(*b));
  if (!b) Fail("out of memory");
  b->id = g_n_blocks;
  b->vaddr = qemu_plugin_tb_vaddr(tb);
  b->n = (uint32_t)n;
  b->is_mark = IsMark(b->vaddr);
  fprintf(g_out, "T %" PRIu32 " 0x%" PRIx64 " %zu\n", b->id, b->vaddr, n);
  for (size_t i = 0; i < n; ++i) {
    const struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    char* text = qemu_plugin_insn_disas(insn);
    const uint64_t at = qemu_plugin_insn_vaddr(insn);
    const size_t size = qemu_plugin_insn_size(insn);
    fprintf(g_out, "I 0x%" PRIx64 " %zu %s\n", at, size, text ? text : "?");
    free(text);
    if (i + 1 == n) b->fallthrough = at + size;
  }
  g_blocks[g_n_blocks++] = b;
  qemu_plugin_register_vcpu_tb_exec_cb(tb, OnBlock, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void OnExit(qemu_plugin_id_t id, void* userdata) {
  (void)id;
  (void)userdata;
  EndSegment("exit", 0);
  fclose(g_out);
}

EXPORTED int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc,
                                 char** argv) {
  (void)info;
  const char* out = NULL;
  for (int i = 0; i < argc; ++i) {
    if (strncmp(argv[i], "out=", 4) == 0) {
      out = argv[i] + 4;
    } else if (strncmp(argv[i], "mark=", 5) == 0 && g_n_marks < kMaxMarks) {
      char* end = NULL;
      g_marks[g_n_marks++] = strtoull(argv[i] + 5, &end, 0) & ~1ull;  // drop the Thumb bit
      if (end == argv[i] + 5 || *end != '\0') Fail("mark= wants an address");
    } else {
      fprintf(stderr, "block_counts plugin: unknown argument '%s' (out=FILE, mark=ADDR)\n",
              argv[i]);
      return -1;
    }
  }
  if (out == NULL) Fail("out=FILE is required");
  g_out = fopen(out, "w");
  if (g_out == NULL) Fail("cannot open the out= file");
  setvbuf(g_out, NULL, _IOFBF, 1 << 20);
  qemu_plugin_register_vcpu_tb_trans_cb(id, OnTranslate);
  qemu_plugin_register_atexit_cb(id, OnExit, NULL);
  return 0;
}
