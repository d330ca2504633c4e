"""Cortex-M7 point estimate: an in-order dual-issue model of the M7 build's blocks, its rules
and every assumption (bench/cycles/model.py holds the M4 table and the M7 bounds and names
this file).

Sources (facts, not text):
- L7: LLVM's Cortex-M7 scheduling model (llvm/lib/Target/ARM/ARMScheduleM7.td), the one
  public, Arm-contributed description of the M7's issue rules: issue width 2, in order; pipes
  2 ALU, 2 load (LoadL, LoadH), 1 store, 1 MAC, 1 branch, 1 VFP, 1 SIMD, shifters Shift1 and
  Shift2, 2 VFP register ports; which instructions issue alone ("SingleIssue") or only as the
  older of a pair ("BeginGroup"); result latencies and the stage each operand is read in (the
  latencies and read stages are model.m7_operands', shared with the `m7_high` bound).
- M7B: public cycle measurements of the M7 on an STM32H743 (a third-party micro-benchmark
  report, DWT cycle counter; found with the search tool): LDM/STM/PUSH/POP take ceil(N/2)
  cycles and pair with nothing; a predicted taken branch can pair with the first instruction
  at its target; a mispredicted branch costs 8 cycles, 6 when the flags were set at least 3
  cycles earlier; MACs pair with neither each other nor stores; two VFP arithmetic
  instructions never pair.
- `llvm-mca -mcpu=cortex-m7` (Debian's llvm-14) simulates L7; tests/test_cycle_model.py checks
  this file against it where the two agree by construction and shows where they do not.

The model, per block (a straight run of code between branches: the plugin's QEMU blocks,
which end at every branch and call, with the ones QEMU cut without a branch joined back,
trace.Pricer.units):
- Issue: instructions issue in program order, at most two per cycle, no earlier than the
  cycle their operands are ready (model.m7_operands: L7's latencies and read stages), each
  pipe taking one instruction per cycle; an instruction L7 marks SingleIssue takes a cycle of
  its own, a BeginGroup one only the older slot.
- Per instruction class (L7 unless said): ALU ops 1 ALU; with an inline-shifted register
  operand, or BFI/BFC, ALU + Shift1 (BFI/BFC/CLZ older slot only); DSP/bit-field ops (SXT*,
  UXT*, parallel add/sub, SEL, Q-arith, USAD8, SSAT/USAT, REV/RBIT, SBFX/UBFX, PKH, SXTA*)
  SIMD + ALU, older slot only; MUL/MLA/SMLAD/SMLAL/SMMLA... 1 MAC; word, byte and halfword
  loads and VLDR.32 1 load pipe (VLDR.32 also a VFP port); stores and VSTR.32 the store pipe;
  LDRD/STRD, VLDR.64/VSTR.64 alone, 1 cycle; TBB/TBH alone, 2 cycles; SDIV/UDIV alone for
  their 7 cycles, VDIV/VSQRT for 16 (L7's latencies; M7B: "locks the pipeline"); MRS/MSR,
  barriers, NOP, SVC, BKPT alone (L7's "non general purpose"); VADD/VMUL/VCVT/VMLA/VFMA...
  the VFP pipe and a port; VMOV between core and FP registers a port, of two core registers
  both ports; branches the branch pipe.
- LDM/STM/VLDM/VSTM/PUSH/POP: alone, ceil(words / 2) cycles, loaded registers ready one
  cycle after the last pair. L7 issues them in one cycle whatever their length; M7B measures
  ceil(N / 2), which is also what the M7's 64-bit load/store paths allow: M7B's side is taken.
- IT: takes an issue slot and no pipe (L7 has no timing for IT, llvm-mca rejects it; M7B:
  "IT cannot be triple issued").
- M7B's pairing limits beyond L7's pipes, applied: a MAC pairs with no store; in the 3
  cycles after a VMLA-class instruction (VMLA/VMLS/VNMLA/VNMLS/VFMA...) no VADD/VSUB,
  VLDM/VSTM/VPUSH/VPOP, VLDR.64/VSTR.64 or VMOV of an FP immediate issues, and no
  VLDR.32/VSTR.32/VMOV issues as the younger of a pair; a VMLA pairs with no VLDR/VSTR/VMOV.
- Not modelled (simplifications, each named): condition flags and GE bits (a compare feeding
  a branch costs nothing extra), M7B's dual-load bank rule (two loads pair only on different
  64-bit banks: modelled as always pairing), the DSP ops' slot stickiness, the alignment of
  16-bit instructions, unaligned accesses, wait states and cache misses (zero wait states:
  code and data in TCM or hitting the caches).
- llvm-mca's own in-order rule that results are written back in program order is NOT
  applied: it turns L7's forwarding latencies into stalls that L7's data does not describe
  (llvm-mca holds an ADDS after a VADD.F32 for 2 cycles, a SUBS after an SMLAD and a
  post-indexed store after a load for 1, so a loop of two SMLADs, SUBS and BNE takes 4
  cycles an iteration in llvm-mca and 2 here; M7B measures MACs chained on their accumulator
  every cycle and VMLAs pairing with integer instructions). Where both apply L7 alike, this
  file issues every instruction in the cycle llvm-mca does (tests/test_cycle_model.py).
- Blocks: a block is priced once from an empty pipeline with its registers ready (its
  "single pass": the cycles from its first issue to the cycle after its last), and a block
  whose final branch goes back to its own start (a loop of one block) at its steady state
  per iteration after the first (the loop simulated 8 times with its registers carried: the
  cycles from the 2nd iteration's first issue to the 8th's, over 6): entries x single pass
  + back-edges x steady state. A block never pairs with the one before it (the point
  variant lets a loop's back-edge pair with its first instruction, which M7B measures for
  predicted taken branches).
- Branches (the M7 has a branch predictor; Arm does not publish its penalties):
  * a conditional branch is predicted in its majority direction: min(taken, not taken) of its
    executions mispredict (one per exit of a loop; half of a 50/50 branch), P cycles each;
  * direct unconditional branches and calls (B, BL) are predicted, as are, in `m7` and
    `m7_est_low`, indirect ones (BX LR, POP {..PC}, LDR PC, BLX Rm, TBB/TBH: the hot returns
    go back to one call site);
  * a predicted taken branch costs nothing beyond its issue slot (M7B: it pairs with its
    target; a block starting on a fresh cycle already loses that pairing).
  Variants: `m7` (point) P = 6 (L7's comment: "mispredict cost for forward branches is 6";
  M7B: 6 with flags set early); `m7_est_low` P = 4 (L7's MispredictPenalty); `m7_est_high`
  P = 8 (M7B's worst), every indirect branch mispredicted, one more cycle per taken branch and
  no pairing across a loop's back-edge.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bench.cycles import model

# variant: (mispredict penalty, indirect branches mispredict, extra cycles per taken branch,
#           a loop's back-edge pairs with its first instruction)
VARIANTS = {"m7": (6, False, 0, True), "m7_est_low": (4, False, 0, True),
            "m7_est_high": (8, True, 1, False)}
POINT = "m7"  # the point estimate among VARIANTS
LOOP_ITERATIONS = 8  # the steady state: iterations 3..8 of a one-block loop

_SIMD = re.compile(r"^(sxt[bh]|uxt[bh]|sxtb16|uxtb16|[su]h?(add|sub)(8|16)|[su]h?(asx|sax)|sel|"
                   r"q[ds]?(add|sub)(8|16)?|qasx|qsax|uq(add|sub)(8|16)|uqasx|uqsax|usada?8|"
                   r"ssat|usat|ssat16|usat16|rev|rev16|revsh|rbit|sbfx|ubfx|pkhbt|pkhtb|"
                   r"sxta[bh]|sxtab16|uxta[bh]|uxtab16)$")
_SLOT0 = re.compile(r"^(bfi|bfc|clz)$")
_NON_GENERAL = {"mrs", "msr", "dmb", "dsb", "isb", "nop", "svc", "bkpt", "cpsid", "cpsie",
                "wfi", "wfe", "sev", "yield", "udf"}
_INLINE_SHIFT = re.compile(r",\s*(lsl|lsr|asr|ror|rrx)\b")


@dataclass(frozen=True)
class Issue:
    pipes: tuple          # pipes taken in its cycle (ALU has two, load two, VFP ports two)
    alone: bool = False   # SingleIssue: a cycle (or cycles) of its own
    older: bool = False   # BeginGroup: only the older slot of a pair
    cycles: int = 1       # cycles it holds the issue stage when alone


_CAPACITY = {"alu": 2, "load": 2, "vport": 2}


def issue_class(ins: model.Insn) -> Issue:
    """The pipes and issue constraints of one instruction (see the module docstring)."""
    k = ins.kind
    base = model._known(model._base(ins.mnemonic))
    if k == "alu":
        if base in _NON_GENERAL:
            return Issue((), alone=True)
        if _SIMD.match(base):
            return Issue(("simd", "alu"), older=True)
        if _SLOT0.match(base):
            return Issue(("alu", "shift1") if base != "clz" else ("alu",), older=True)
        if _INLINE_SHIFT.search(ins.text.partition(" ")[2]):
            return Issue(("alu", "shift1"))
        return Issue(("alu",))
    if k in ("mul", "mla"):
        return Issue(("mac",))
    if k == "div":
        return Issue(("alu",), alone=True, cycles=model._M7_LAT["div"])
    if k == "load":
        return Issue(("load", "branch") if ins.pc_load else ("load",))
    if k == "store":
        return Issue(("store",))
    if k == "ldrd":
        return Issue(("load",) if ins.dests else ("store",), alone=True)
    if k in ("ldm", "stm", "vldm", "vstm"):
        return Issue(("load",) if k in ("ldm", "vldm") else ("store",), alone=True,
                     cycles=max(1, math.ceil(ins.words / 2)))
    if k == "branch":
        return Issue(("branch",))
    if k == "tbb":
        return Issue(("load", "branch"), alone=True, cycles=2)
    if k == "it":
        return Issue(())
    if k in ("fp", "fpmac"):
        vm = model._strip_cond(base)
        if vm.startswith(("vmov", "vmrs", "vmsr")) and k == "fp":
            if vm.startswith(("vmrs", "vmsr")):
                return Issue((), alone=True)
            return Issue(("vport",))
        return Issue(("vfp", "vport"))
    if k == "fpdiv":
        return Issue(("vfp", "vport"), alone=True, cycles=model._M7_LAT["fpdiv"])
    if k == "vload":
        return Issue(("load",), alone=True) if ins.double else Issue(("load", "vport"))
    if k == "vstore":
        return Issue(("store",), alone=True) if ins.double else Issue(("store", "vport"))
    if k == "vmov2":
        return Issue(("vport", "vport"))
    return Issue(("alu",))


def _writes(ins: model.Insn, start: int, iss: Issue, writes: list) -> list:
    if ins.kind in ("ldm", "vldm"):  # the loaded registers: one cycle after the last pair
        last = start + iss.cycles
        return [(r, 0 if lat == 0 else last - start) for r, lat in writes]
    return writes


def _after_vmla(ins: model.Insn) -> str | None:
    """How M7B's hazards after a VMLA-class instruction (VMLA/VMLS/VNMLA/VNMLS/VFMA...) treat
    this one: 'blocked' (VADD/VSUB, VLDM/VSTM/VPUSH/VPOP, VLDR.64/VSTR.64, VMOV of an FP
    immediate: not in the 3 cycles after it), 'older' (VLDR.32/VSTR.32 and the other VMOVs:
    not in its younger slot in those cycles, and never paired with a VMLA), else None."""
    k = ins.kind
    if k in ("vldm", "vstm") or (k in ("vload", "vstore") and ins.double):
        return "blocked"
    if k in ("vload", "vstore", "vmov2"):
        return "older"
    if k == "fp":
        vm = model._strip_cond(model._base(ins.mnemonic))
        if vm in ("vadd", "vsub"):
            return "blocked"
        if vm == "vmov":
            return "blocked" if "#" in ins.text else "older"
    return None


class Pipeline:
    """In-order dual issue over a stream of instructions (one block, or a loop's iterations).
    With `track`, it also records the issue slots left empty, by the reason the next
    instruction did not take them (`issue`'s docstring; `empty_slots` sums them)."""

    def __init__(self, track: bool = False):
        self.ready: dict = {}
        self.producer: dict = {}  # register -> the kind of instruction that wrote it last
        self.cycle = 0          # the cycle the next instruction may issue in
        self.used: list = []    # pipes taken in `cycle`
        self.kinds: list = []   # model.Insn kinds issued in `cycle`
        self.slots = 0          # instructions issued in `cycle`
        self.last_vmla = -10    # issue cycle of the last VMLA-class instruction
        self.events: list | None = [] if track else None  # (from, to, slots used, reason)

    def _next_cycle(self, t: int, why: str | None = None) -> None:
        if self.events is not None and why is not None and t > self.cycle:
            self.events.append((self.cycle, t, self.slots, why))
        self.cycle, self.used, self.kinds, self.slots = t, [], [], 0

    def empty_slots(self, first: int | None = None, stop: int | None = None) -> dict:
        """The empty issue slots of cycles [first, stop) (all recorded ones by default), by
        reason."""
        out: dict = {}
        for f, t, used, why in self.events or ():
            a = f if first is None else max(f, first)
            b = t if stop is None else min(t, stop)
            n = 2 * (b - a) - (used if a == f else 0)
            if a < b and n:
                out[why] = out.get(why, 0) + n
        return out

    def fresh_cycle(self) -> None:
        """The next instruction starts a cycle of its own (a block boundary)."""
        if self.slots:
            self._next_cycle(self.cycle + 1, "block boundary")

    def _misfit(self, ins: model.Insn, iss: Issue, hazard: str | None) -> str | None:
        """Why the instruction cannot issue in the current cycle (None: it can)."""
        if self.slots >= 2:
            return "two issued"
        if self.slots and iss.alone:
            return "issues alone: " + ins.kind
        if self.slots and iss.older:
            return "older slot only: " + model._base(ins.mnemonic)
        for p in set(iss.pipes):
            if self.used.count(p) + iss.pipes.count(p) > _CAPACITY.get(p, 1):
                return p + " pipe busy"
        if self.slots:  # M7B's pairing limits beyond L7's pipes
            if ins.kind in ("mul", "mla") and "store" in self.used or \
                    ins.kind == "store" and "mac" in self.used:
                return "MAC beside a store"  # a MAC pairs with no store
            if hazard == "older" and ("fpmac" in self.kinds or
                                      self.cycle < self.last_vmla + 4):
                return "VFP move/load beside or after a VMLA"
            if ins.kind == "fpmac" and any(k in ("vload", "vstore", "vmov2") or
                                           (k == "fp_move") for k in self.kinds):
                return "VMLA beside a VFP move/load"
        return None

    def _fits(self, ins: model.Insn, iss: Issue, hazard: str | None) -> bool:
        return self._misfit(ins, iss, hazard) is None

    def issue(self, ins: model.Insn) -> int:
        """Issues one instruction; returns its issue cycle. Empty slots it leaves behind are
        counted (with `lost`) as: 'waits for <kind>' (an operand of it not ready: the kind of
        the instruction that writes it), 'VLDM/VADD... in the 3 cycles after a VMLA', the
        reason it could not join the current cycle (_misfit: a pipe busy, older slot only,
        issues alone, M7B's pairing limits), 'alone: <kind>' (the extra cycles of an
        instruction that issues alone) and 'block boundary' (a block's last odd slot)."""
        iss = issue_class(ins)
        hazard = _after_vmla(ins)
        reads, writes = model.m7_operands(ins)
        waits = [(self.ready[r] - off, r) for r, off in reads if r in self.ready]
        t = max([self.cycle] + [w for w, _ in waits])
        why = None
        if t > self.cycle:
            why = "waits for " + self.producer.get(max(waits)[1], "?")
        if hazard == "blocked" and self.last_vmla + 4 > t:
            t = self.last_vmla + 4
            if t > self.cycle:
                why = "VLDM/VADD... in the 3 cycles after a VMLA"
        if t > self.cycle:
            self._next_cycle(t, why)
        while (miss := self._misfit(ins, iss, hazard)) is not None:
            self._next_cycle(self.cycle + 1, miss)
        start = self.cycle
        for r, lat in _writes(ins, start, iss, writes):
            self.ready[r] = start + lat
            self.producer[r] = ins.kind
        if ins.kind == "fpmac":
            self.last_vmla = start
        if iss.alone:
            self.slots = 1
            self._next_cycle(start + iss.cycles, "alone: " + ins.kind)
        else:
            self.used += list(iss.pipes)
            self.kinds.append("fp_move" if hazard == "older" and ins.kind == "fp"
                              else ins.kind)
            self.slots += 1
        return start

    def end(self) -> int:
        """The first cycle after everything issued so far."""
        return self.cycle + (1 if self.slots else 0)


def single_pass(insns: list, lost: dict | None = None) -> int:
    """Cycles of one pass over a block from an empty pipeline, registers ready (with `lost`:
    its empty issue slots added by reason, Pipeline.issue)."""
    p = Pipeline(track=lost is not None)
    for ins in insns:
        p.issue(ins)
    if p.slots == 1:
        p.fresh_cycle()
    if lost is not None:
        for why, n in p.empty_slots().items():
            lost[why] = lost.get(why, 0) + n
    return p.end()


def steady_state(insns: list, pair_back_edge: bool, lost: dict | None = None) -> float:
    """Cycles per iteration of a one-block loop, after its first iterations (with `lost`: the
    empty issue slots per iteration by reason, over the same iterations)."""
    p = Pipeline(track=lost is not None)
    starts = []
    for _ in range(LOOP_ITERATIONS):
        if not pair_back_edge:
            p.fresh_cycle()
        starts.append(None)
        for k, ins in enumerate(insns):
            c = p.issue(ins)
            if k == 0:
                starts[-1] = c
    if lost is not None:
        for why, n in p.empty_slots(starts[1], starts[-1]).items():
            lost[why] = lost.get(why, 0) + n / (LOOP_ITERATIONS - 2)
    return (starts[-1] - starts[1]) / (LOOP_ITERATIONS - 2)


def lost_slots(cost: "BlockCost", insns: list, n: int, taken: int, variant: str) -> dict:
    """The empty issue slots of a block executed n times (its final branch taken `taken`
    times), by reason: as `cycles` prices it, two slots a cycle, mispredictions included."""
    penalty, indirect_miss, _, pair = VARIANTS[variant]
    out: dict = {}
    one: dict = {}
    single_pass(insns, one)
    if cost.loop and taken:
        per: dict = {}
        steady_state(insns, pair, per)
        for why, k in one.items():
            out[why] = out.get(why, 0) + k * (n - taken)
        for why, k in per.items():
            out[why] = out.get(why, 0) + k * taken
    else:
        out = {why: k * n for why, k in one.items()}
    miss = 0
    if cost.kind == "cond":
        miss = min(taken, n - taken)
    elif cost.kind == "indirect" and indirect_miss:
        miss = n
    if miss:
        out["mispredicted branches"] = 2 * penalty * miss
    return out


def branch_kind(insns: list) -> str | None:
    """'cond', 'direct' or 'indirect' for a block's final branch, None without one."""
    if not insns:
        return None
    last = insns[-1]
    if last.kind == "tbb" or (last.kind in ("load", "ldm") and last.pc_load):
        return "indirect"
    if last.kind != "branch":
        return None
    mn = model._base(last.mnemonic)
    ops = last.text.partition(" ")[2]
    if mn in ("cbz", "cbnz"):
        return "cond"
    if mn in ("bx", "blx") or not ops.strip().startswith("#"):
        return "indirect" if mn[:3] != "bxe" else "cond"
    if mn in ("b", "bl"):
        return "direct"
    return "cond"


def branch_target(insns: list) -> int | None:
    """The address a block's final direct branch goes to."""
    if not insns or insns[-1].kind != "branch":
        return None
    m = re.search(r"#(0x[0-9a-f]+|\d+)\s*$", insns[-1].text)
    return int(m.group(1), 0) if m else None


@dataclass
class BlockCost:
    single: int
    steady: dict          # variant -> cycles per back-edge iteration (one-block loops)
    kind: str | None      # final branch: cond / direct / indirect / None
    loop: bool            # the final branch goes back to the block's start


def block_cost(vaddr: int, insns: list) -> BlockCost:
    loop = branch_target(insns) == vaddr
    steady = {}
    if loop:
        for pair in (True, False):
            s = steady_state(insns, pair)
            for v, (_, _, _, pv) in VARIANTS.items():
                if pv == pair:
                    steady[v] = s
    return BlockCost(single_pass(insns), steady, branch_kind(insns), loop)


def cycles(cost: BlockCost, n: int, taken: int, variant: str) -> float:
    """Cycles of a block executed n times, its final branch taken `taken` times."""
    penalty, indirect_miss, per_taken, _ = VARIANTS[variant]
    if cost.loop and taken:
        c = (n - taken) * cost.single + taken * cost.steady[variant]
    else:
        c = n * cost.single
    if cost.kind == "cond":
        c += min(taken, n - taken) * penalty
    elif cost.kind == "indirect" and indirect_miss:
        c += n * penalty
    if cost.kind is not None:
        c += taken * per_taken
    return c


DESCRIPTION = {
    "m7": "Cortex-M7 point estimate: in-order dual issue at LLVM's Cortex-M7 model "
          "(bench/cycles/m7_issue.py), LDM 2 words a cycle, one-block loops at their steady "
          "state, conditional branches mispredicted in their minority direction at 6 cycles",
    "m7_est_low": "the M7 point estimate with a 4-cycle mispredict (LLVM's figure)",
    "m7_est_high": "the M7 point estimate with an 8-cycle mispredict, every indirect branch "
                   "mispredicted, +1 cycle per taken branch, no pairing across a loop's "
                   "back-edge",
}
