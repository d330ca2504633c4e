"""Cortex-M cycle model: the tables, the rules and every assumption, in this file and, for the
M7 point estimate's dual-issue rules, its sibling bench/cycles/m7_issue.py.

QEMU executes the firmware; the block_counts plugin (plugin/block_counts.c) records how often
each translated block ran and how often its final branch was taken; this module prices every
instruction of a block with the tables below and sums count x price. A block here is a straight
run of code between branches: QEMU also cuts its blocks where a core sees nothing (1 KB page
boundaries, its size limits), and bench/cycles/trace.py joins those back before pricing, so the
estimate does not depend on where the linker placed the code. QEMU's own count of
instructions (-icount) is the exact number the model starts from; cycles are an estimate.

Sources (facts, not text): Arm Cortex-M4 Technical Reference Manual, "Processor instruction
timings" and "Load/store timings" (the M3/M4 integer pipeline), and its FPU chapter "FPU
instruction set" (cycle counts of VFPv4-SP); for the M7 bound, LLVM's Cortex-M7 scheduling
model (llvm/lib/Target/ARM/ARMScheduleM7.td: issue width, pipes, result latencies).

Cortex-M4 table (`m4`), zero wait states (the Nano 33 BLE's nRF52840 runs flash at 64 MHz with
a cache; SRAM is zero wait; wait states and cache misses are not modelled):
- data processing, shifts, compares, moves, extends, bit-field, saturation, packing, parallel
  (SIMD) add/subtract, SEL, CLZ, REV: 1
- MUL 1; MLA, MLS 2; SMULL, UMULL, SMLAL, UMLAL, UMAAL, SMLAD(X), SMLSD, SMUAD, SMUSD,
  SMLAxy, SMULxy, SMLAWx, SMULWx, SMMUL(R), SMMLA(R), SMMLS(R), SMLALD, USAD8, USADA8: 1
- SDIV, UDIV: 2..12 (early termination on the operands' leading zeros); `m4` prices 7,
  `m4_low` 2, `m4_high` 12
- LDR/LDRB/LDRH/LDRSB/LDRSH/LDREX/LDR literal: 2, or 1 when it directly follows a single load
  (LDR*, VLDR) whose destination it does not use for its address ("LDR [any] are pipelined
  when possible")
- STR/STRB/STRH with an immediate offset: 1 ("STR Rx,[Ry,#imm] is always one cycle": the write
  buffer); with a register offset: 2, or 1 after a single load as above
- LDRD, STRD: 3 (1 + N, N = 2; never pipelined)
- LDM, STM, PUSH, POP: 1 + N (N registers); with PC in the list: 1 + N + P
- any load or store whose address register was written by the preceding data-processing or
  multiply instruction: +1 ("no forwarding path for this scenario")
- B, BL, BX, BLX, CBZ, CBNZ, B<cond>: 1, plus P when taken (the plugin counts taken exactly:
  the next block does not start at the branch's fall-through address); TBB/TBH: 2 + P
- P, the pipeline refill after a taken branch, is 1..3 (target alignment and width, early
  speculation): `m4` prices 2, `m4_low` 1, `m4_high` 3; LDR PC: 2 + P
- IT: 0 when it follows a 16-bit instruction (folded), else 1
- an instruction whose IT condition fails is priced as if it executed (the plugin does not see
  conditions; the TRM gives 1 cycle for most failed instructions, so loads and multi-cycle
  instructions in IT blocks are slightly overpriced)
- FPU: VADD, VSUB, VMUL, VNMUL, VABS, VNEG, VCMP(E), VCVT, VMOV (register, immediate, one core
  register), VMRS, VMSR: 1; VMOV of two core registers: 2; VMLA, VMLS, VNMLA, VNMLS, VFMA,
  VFMS, VFNMA, VFNMS: 3; VDIV, VSQRT: 14; VLDR.32, VSTR.32: 2; .64: 3; VLDM, VSTM, VPUSH,
  VPOP: 1 + N words (a D register is 2 words)
- assumption, not in the TRM's FPU table: a VLDR that directly follows a single load is
  pipelined like an LDR (1 cycle)
- not modelled: overlap of an integer instruction with a multi-cycle FP instruction (the M4 FPU
  lets them overlap; this makes VMLA/VDIV sequences slightly overpriced), interrupts, the
  plugin's rare double count when QEMU restarts a block at a peripheral access (the training
  step touches no peripheral; each run checks the plugin's instruction total against -icount).

Cortex-M7 (`m7_low`, `m7_high`): the M7 is dual-issue, in order, with a branch predictor; Arm
publishes no cycle table for it. Its latencies and issue rules are public in LLVM's Cortex-M7
scheduling model (llvm/lib/Target/ARM/ARMScheduleM7.td, "L7" below). Bounds,
applied to the M7 build's instruction stream:
- `m7_low` = instructions / 2: both issue slots busy every cycle (no M7 code does better)
- `m7_high` = single issue at the M7's latencies (`block_cycles_m7`): every instruction issues
  alone, in order, once its operands are ready. From L7: ALU 1 (SSAT/USAT, Q-arithmetic,
  USAD8 2; REV/RBIT 0); MUL, SMLAD, SMLAxy, SMMLA(R), SMULL/SMLAL 2 with the accumulator read
  one stage later (a chain of SMLADs on one sum does not stall); word loads, LDRD, LDM and
  VLDR.32 1, byte and halfword loads 2 (two load pipes: no M4-style "2 unless pipelined");
  address registers read one stage early (EX1: the M4's address-generation stall, and a
  pointer loaded by the previous instruction costs one cycle); store data read one stage
  late (VSTR two); SSAT/USAT, SBFX/UBFX, REV/RBIT and PKH/SXTA's second register read at EX1;
  VADD/VSUB/VMUL/VCVT/VMOV 3; VMLA/VMLS/VNMLA/VNMLS.F32 6 with the accumulator read 3 later
  (a chain on one accumulator issues every 3 cycles, independent VMLAs every cycle: the
  M7's FPU is pipelined, the M4's VMLA takes 3); VFMA 5, accumulator 2 later; VDIV/VSQRT 16
  (priced blocking: L7 gives the latency only); SDIV/UDIV 7, blocking ("stall for their
  latency"); TBB/TBH 2 to issue. Where L7 gives no cycle figure the M4's is kept: LDM, STM,
  VLDM, VSTM, PUSH, POP 1 + N (the M7's 64-bit paths likely move two words a cycle: kept
  high), LDRD/STRD 3, VMOV of two core registers 2, IT folding, and P = 2 per taken branch
  (L7 gives 4-6 cycles per mispredicted branch, nothing per predicted one: the hot loops
  are long and regular, so the M4's refill is assumed to cover the M7's average).
  Assumptions: zero wait states (code and data in TCM or hitting the caches; the STM32F746
  runs flash at 216 MHz with wait states behind its ART accelerator and caches); registers
  are ready at a block's entry (blocks start after branches: a result still in flight
  across a taken branch is covered by its refill for latencies up to 3, not for a VMLA
  result read right after a loop's branch). Condition flags and the GE bits are not tracked
  (a compare feeding a branch or SEL costs nothing extra). It is an upper bound in the sense
  that no dual issue is credited; under these assumptions, not a proven one.
The M7's point estimate (`m7`, with its range `m7_est_low`..`m7_est_high`) is not a table: it
is an in-order dual-issue model over whole blocks, documented in its own file,
bench/cycles/m7_issue.py (L7's pipes and issue rules, these latencies, the M7's measured LDM
and VMLA limits where L7 disagrees with them, and the branch predictor's assumptions).
Both boards: zero wait states is optimistic for code running from flash (the paper's figure
is measured with its board's real memory system).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

COND = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt",
        "gt", "le", "al")

# variant: (P, SDIV/UDIV cycles)
VARIANTS = {"m4": (2, 7), "m4_low": (1, 2), "m4_high": (3, 12)}
# The M7 build's priced bound (single issue at the M7's latencies, below): P kept from `m4`.
M7_VARIANTS = {"m7_high": (2, 7)}
PRICED = {**VARIANTS, **M7_VARIANTS}

_ALIAS = {"sb": 9, "sl": 10, "fp": 11, "ip": 12, "sp": 13, "lr": 14, "pc": 15}
_MUL1 = re.compile(r"^(mul|smull|umull|smlal|umlal|umaal|smla[dl]?d?x?|smlsl?dx?|smuad|smusd|"
                   r"smla[bt][bt]|smul[bt][bt]|smlaw[bt]|smulw[bt]|smmulr?|smmlar?|smmlsr?|"
                   r"smlal[bt][bt]|smlald|usada?8|smlad|smladx|smlsd|smlsdx)$")
_ALU = re.compile(
    r"^(adc|add|addw|adr|and|asr|bfc|bfi|bic|clz|cmn|cmp|eor|lsl|lsr|mov|movw|movt|mvn|neg|orn|"
    r"orr|pkhbt|pkhtb|rbit|rev|rev16|revsh|ror|rrx|rsb|sbc|sbfx|sdiv|sel|ssat|ssat16|sub|subw|"
    r"sxtab|sxtab16|sxtah|sxtb|sxtb16|sxth|teq|tst|ubfx|udiv|usat|usat16|uxtab|uxtab16|uxtah|"
    r"uxtb|uxtb16|uxth|[su]h?add8|[su]h?add16|[su]h?sub8|[su]h?sub16|[su]h?asx|[su]h?sax|"
    r"q?add8|q?add16|q?sub8|q?sub16|qadd|qsub|qdadd|qdsub|qasx|qsax|uqadd8|uqadd16|uqsub8|"
    r"uqsub16|uqasx|uqsax|nop|dmb|dsb|isb|mrs|msr|cpsid|cpsie|bkpt|svc|wfi|wfe|sev|yield|pld|"
    r"pli)$")
_FP1 = re.compile(r"^v(add|sub|mul|nmul|abs|neg|cmpe?|cvtr?|mov|mrs|msr|sel|maxnm|minnm|"
                  r"rint[anmpxz]?)$")
_FPMAC = re.compile(r"^v(mla|mls|nmla|nmls|fma|fms|fnma|fnms)$")
_NO_DEST = {"cmp", "cmn", "tst", "teq", "nop", "dmb", "dsb", "isb", "msr", "cpsid", "cpsie",
            "bkpt", "svc", "wfi", "wfe", "sev", "yield", "pld", "pli"}


def _reg(name: str) -> int | None:
    name = name.strip().lstrip("{").rstrip("}!^ ")
    if name in _ALIAS:
        return _ALIAS[name]
    if re.fullmatch(r"r\d+", name):
        return int(name[1:])
    return None


def _reglist(ops: str) -> tuple[int, bool]:
    """(32-bit words moved, PC in list) of a register list {r4, r5, pc} / {s0-s3} / {d8, d9}."""
    m = re.search(r"\{([^}]*)\}", ops)
    if not m:
        raise ValueError(f"no register list in '{ops}'")
    words, pc = 0, False
    for item in m.group(1).split(","):
        item = item.strip()
        lo, _, hi = item.partition("-")
        width = 2 if lo.startswith("d") else 1
        n = int(hi[1:]) - int(lo[1:]) + 1 if hi else 1
        words += n * width
        pc |= item == "pc"
    return words, pc


@dataclass
class Insn:
    kind: str            # alu mul mla div load store ldrd ldm stm branch ret it fp fpmac fpdiv
    #                      vload vstore vldm vmov2 other
    size: int
    words: int = 0       # registers (32-bit words) of LDM/STM/VLDM/VSTM, 2 for LDRD/STRD
    pc_load: bool = False  # loads PC: a branch
    imm_offset: bool = True  # store with an immediate offset
    dests: tuple = ()    # core registers written (data processing, loads)
    addr: tuple = ()     # core registers forming a load/store address
    double: bool = False  # VLDR/VSTR of a D register
    mnemonic: str = ""
    text: str = ""       # capstone's text, which the M7 table's operand timing reads


def _base(mn: str) -> str:
    mn = mn.split(".")[0]
    return mn


def _strip_cond(mn: str) -> str:
    for c in COND:
        if mn.endswith(c) and len(mn) > len(c):
            return mn[: -len(c)]
    return mn


def _addr_regs(ops: str) -> tuple[tuple, bool]:
    """Registers inside [...] and whether the offset is an immediate."""
    m = re.search(r"\[([^\]]*)\]", ops)
    if not m:
        return (), True
    parts = [p.strip() for p in m.group(1).split(",")]
    regs = tuple(r for r in (_reg(p.split()[0]) for p in parts if p) if r is not None)
    return regs, len(regs) <= 1


def classify(text: str, size: int) -> Insn:
    """One instruction from capstone's text (as QEMU's plugin API gives it)."""
    ins = _classify(text, size)
    ins.text = text.strip()
    return ins


def _classify(text: str, size: int) -> Insn:
    mn, _, ops = text.strip().partition(" ")
    full = mn
    mn = _base(mn)
    if mn in ("b", "bl", "blx", "bx", "cbz", "cbnz") or (mn[:1] == "b" and mn[1:] in COND) or \
            (mn[:2] == "bx" and mn[2:] in COND) or (mn[:3] in ("blx",) and mn[3:] in COND) or \
            (mn[:2] == "bl" and mn[2:] in COND and mn not in ("blo", "bls", "ble", "blt")):
        return Insn("branch", size, mnemonic=full)
    if mn in ("tbb", "tbh"):
        return Insn("tbb", size, mnemonic=full)
    if re.fullmatch(r"it[te]{0,3}", mn):
        return Insn("it", size, mnemonic=full)
    first = ops.split(",")[0] if ops else ""
    if mn.startswith("v"):
        vm = _strip_cond(mn) if not re.match(r"^v(ldm|stm|ldr|str|push|pop|mov|mrs|msr)", mn) \
            else mn
        vm = re.sub(r"(ia|db)$", "", vm) if vm.startswith(("vldm", "vstm")) else vm
        if vm in ("vldm", "vpop"):
            return Insn("vldm", size, words=_reglist(ops)[0], addr=_addr_or_base(ops),
                        mnemonic=full)
        if vm in ("vstm", "vpush"):
            return Insn("vstm", size, words=_reglist(ops)[0], addr=_addr_or_base(ops),
                        mnemonic=full)
        if vm in ("vldr", "vstr"):
            regs, _ = _addr_regs(ops)
            return Insn("vload" if vm == "vldr" else "vstore", size, addr=regs,
                        double=first.strip().startswith("d"), mnemonic=full)
        if vm in ("vdiv", "vsqrt"):
            return Insn("fpdiv", size, mnemonic=full)
        if _FPMAC.match(vm):
            return Insn("fpmac", size, mnemonic=full)
        if vm == "vmov":
            cores = [r for r in (_reg(o) for o in ops.split(",")) if r is not None]
            kind = "vmov2" if len(cores) == 2 else "fp"
            dest = (_reg(first),) if _reg(first) is not None else ()
            return Insn(kind, size, dests=dest, mnemonic=full)
        if vm in ("vmrs",):
            dest = (_reg(first),) if _reg(first) is not None else ()
            return Insn("fp", size, dests=dest, mnemonic=full)
        if _FP1.match(vm):
            return Insn("fp", size, mnemonic=full)
        return Insn("other", size, mnemonic=full)
    m = mn if re.match(r"^(ldr|str|ldm|stm|push|pop)", mn) else _strip_cond(mn)
    if m.startswith(("ldm", "pop")):
        words, pc = _reglist(ops)
        dests = tuple(r for r in (_reg(x) for x in re.findall(r"[a-z]+\d*", ops.split("{")[1]))
                      if r is not None)
        return Insn("ldm", size, words=words, pc_load=pc, dests=dests,
                    addr=_addr_or_base(ops), mnemonic=full)
    if m.startswith(("stm", "push")):
        return Insn("stm", size, words=_reglist(ops)[0], addr=_addr_or_base(ops), mnemonic=full)
    lm = re.match(r"^(ldrd|strd|ldrex[bhd]?|strex[bhd]?|ldr[bh]?t?|ldrs[bh]t?|str[bh]?t?)"
                  r"(%s)?$" % "|".join(COND), m)
    if lm:
        op = lm.group(1)
        regs, imm = _addr_regs(ops)
        if op in ("ldrd", "strd"):
            dests = tuple(r for r in (_reg(x) for x in ops.split(",")[:2]) if r is not None) \
                if op == "ldrd" else ()
            return Insn("ldrd", size, words=2, dests=dests, addr=regs, mnemonic=full)
        if op.startswith("ldr"):
            d = _reg(first)
            if "[" not in ops:  # literal: ldr r0, [pc, #x] is printed with brackets
                regs = ()
            return Insn("load", size, pc_load=d == 15, dests=(d,) if d is not None else (),
                        addr=regs, mnemonic=full)
        return Insn("store", size, imm_offset=imm, addr=regs, mnemonic=full)
    base = _known(mn)
    if base in ("mla", "mls"):
        return Insn("mla", size, dests=_dests(base, ops), mnemonic=full)
    if _MUL1.match(base):
        return Insn("mul", size, dests=_dests(base, ops), mnemonic=full)
    if base in ("sdiv", "udiv"):
        return Insn("div", size, dests=_dests(base, ops), mnemonic=full)
    if _ALU.match(base):
        d = _dests(base, ops)
        if 15 in d:  # mov pc, ... / add pc, ...: a branch
            return Insn("branch", size, mnemonic=full)
        return Insn("alu", size, dests=d, mnemonic=full)
    return Insn("other", size, mnemonic=full)


def _known(mn: str) -> str:
    """The table's name of a data-processing mnemonic: as written, without the flag-setting S,
    without an IT condition, or without both (tried in that order: "movs" is MOV + S, not
    MO + VS; "smlal" is SMLAL, not SML + AL)."""
    def ok(m):
        return bool(_ALU.match(m) or _MUL1.match(m) or m in ("mla", "mls"))
    for m in (mn, mn[:-1] if mn.endswith("s") else None, _strip_cond(mn)):
        if m and ok(m):
            return m
    m = _strip_cond(mn)
    if m.endswith("s") and ok(m[:-1]):
        return m[:-1]
    return mn


def _addr_or_base(ops: str) -> tuple:
    """Base register of LDM/STM/VLDM (sp for PUSH/POP)."""
    if "{" in ops and not ops.split("{")[0].strip():
        return (13,)
    r = _reg(ops.split(",")[0].rstrip("!"))
    return (r,) if r is not None else ()


def _dests(mn: str, ops: str) -> tuple:
    if mn in _NO_DEST or not ops:
        return ()
    regs = [o.strip() for o in ops.split(",")]
    n = 2 if mn in ("smull", "umull", "smlal", "umlal", "umaal", "smlald", "smlalbb",
                    "smlalbt", "smlaltb", "smlaltt") else 1
    return tuple(r for r in (_reg(x) for x in regs[:n]) if r is not None)


_LOAD1 = ("load", "vload")


def block_cycles(insns: list[Insn], variant: str) -> tuple[list[int], bool]:
    """(cycles of each instruction with its final branch not taken, final instruction is a
    branch whose taken executions add P). Pairing rules look only inside the block: a block
    starts after a branch (trace.Pricer.units joins the ones QEMU cut without a branch), so
    the instructions before it are not known."""
    p, div = PRICED[variant]
    if variant in M7_VARIANTS:
        last = insns[-1] if insns else None
        return block_cycles_m7(insns, p), last is not None and last.kind == "branch"
    out = []
    prev: Insn | None = None
    for ins in insns:
        k = ins.kind
        pipelined = prev is not None and prev.kind in _LOAD1 and \
            not set(prev.dests) & set(ins.addr)
        agu = prev is not None and prev.kind in ("alu", "mul", "mla", "div", "vmov2") and \
            bool(set(prev.dests) & set(ins.addr))
        if k in ("alu", "mul", "fp", "branch", "other"):
            c = 1
        elif k == "it":
            c = 0 if prev is not None and prev.size == 2 else 1
        elif k == "mla" or k == "vmov2":
            c = 2
        elif k == "div":
            c = div
        elif k == "load":
            c = (1 if pipelined else 2) + (p if ins.pc_load else 0)
        elif k == "store":
            c = 1 if ins.imm_offset or pipelined else 2
        elif k == "vload":
            c = 3 if ins.double else (1 if pipelined else 2)
        elif k == "vstore":
            c = 3 if ins.double else 2
        elif k == "ldrd":
            c = 3
        elif k in ("ldm", "stm", "vldm", "vstm"):
            c = 1 + ins.words + (p if ins.pc_load else 0)
        elif k == "tbb":
            c = 2 + p
        elif k == "fpmac":
            c = 3
        elif k == "fpdiv":
            c = 14
        else:
            raise AssertionError(k)
        if agu and k in ("load", "store", "vload", "vstore", "ldrd", "ldm", "stm", "vldm",
                         "vstm"):
            c += 1
        out.append(c)
        prev = ins
    last = insns[-1] if insns else None
    ends_branch = last is not None and last.kind == "branch"
    return out, ends_branch


def branch_penalty(variant: str) -> int:
    return PRICED[variant][0]


DESCRIPTION = {
    "m4": "Cortex-M4 TRM table, P = 2, SDIV/UDIV 7 (point estimate)",
    "m4_low": "Cortex-M4 TRM table, P = 1, SDIV/UDIV 2 (lower end)",
    "m4_high": "Cortex-M4 TRM table, P = 3, SDIV/UDIV 12 (upper end)",
    "m7_low": "Cortex-M7 lower bound: instructions / 2 (dual issue every cycle)",
    "m7_high": "Cortex-M7 upper bound: single issue at the M7's latencies (LLVM's "
               "ARMScheduleM7.td; LDM/VLDM, LDRD and taken branches at the M4's figures)",
}


# ---- Cortex-M7 upper bound (`m7_high`): single issue at the M7's documented latencies ----
# Each instruction issues alone, in order, no earlier than the cycle its operands are ready;
# its cycles are the stall before it plus its issue cycles. Latencies (L7 below) are those of
# LLVM's Cortex-M7 scheduling model (llvm/lib/Target/ARM/ARMScheduleM7.td; EX2 is its zero
# point: a result of latency L reaches an EX2 reader issued L cycles
# later; an operand read at EX1 (address registers, "read at ISS") needs it one cycle sooner,
# one read at EX3 (store data, a MAC's accumulator) one cycle later).

# Latencies, in cycles (L7: ARMScheduleM7.td)
_M7_LAT = {
    "alu": 1,        # WriteALU, WriteALUsi: 1
    "alu2": 2,       # SSAT/USAT, Q(D)ADD/SUB, USAD8(A): M7WriteShSIMD2 / M7WriteSIMD2: 2
    "rev": 0,        # REV/RBIT: M7WriteShSIMD0 (bypassable out of EX1): 0
    "mul": 2,        # WriteMUL16/32/64, WriteMAC16/32/64: 2
    "load": 1,       # word loads, LDM, LDRD, VLDR.32 (WriteLd, M7LoadLatency1, M7LoadSP): 1
    "load_bh": 2,    # byte / halfword loads (M7SlowLoad): 2
    "fp": 3,         # WriteFPALU32, WriteFPMUL32, WriteFPCVT, WriteFPMOV: 3
    "fpmac": 6,      # WriteFPMAC32 (VMLA/VMLS/VNMLA/VNMLS.F32): 6, accumulator read 3 later
    "fpfma": 5,      # VFMA/VFMS/VFNMA/VFNMS.F32: 5 (M7WriteVFPLatOverride5), accumulator 2 later
    "fpdiv": 16,     # WriteFPDIV32, WriteFPSQRT32: 16
    "div": 7,        # WriteDIV: 7, single issue, stalls for its latency
}
# How much later than EX2 an operand is read (negative: sooner).
_M7_READ = {"addr": -1,      # M7Read_ISS on every load/store base and offset register
            "iss": -1,       # M7Read_ISS: SSAT/USAT, SBFX/UBFX, REV/RBIT, PKH/SXTA's Rm
            "store": 1,      # M7Read_EX2 on STR data
            "vstore": 2,     # M7Read_EX3 on VSTR data
            "mac": 1,        # ReadMAC: the accumulator of MLA/SMLAD/SMLAxy/SMMLA/SMLAL
            "fpmac": 3,      # ReadFPMAC: VMLA's accumulator
            "fpfma": 2}      # M7ReadFPMAC2: VFMA's accumulator
_SAT2 = re.compile(r"^(ssat|usat|ssat16|usat16|q[ds]?(add|sub)(8|16)?|qasx|qsax|uq(add|sub)"
                   r"(8|16)|uqasx|uqsax|usada?8)$")
_ISS_ALL = re.compile(r"^(ssat|usat|ssat16|usat16|sbfx|ubfx|rev|rev16|revsh|rbit|qdadd|qdsub)$")
_ISS_LAST = re.compile(r"^(sxta[bh]|sxtab16|uxta[bh]|uxtab16|pkhbt|pkhtb)$")
_ACC_LAST = re.compile(r"^(mla|mls|smla[bt][bt]|smlaw[bt]|smlad|smladx|smlsd|smlsdx|smmlar?|"
                       r"smmlsr?|usada8)$")
_LONG = ("smull", "umull", "smlal", "umlal", "umaal", "smlald", "smlaldx", "smlsld",
         "smlsldx", "smlalbb", "smlalbt", "smlaltb", "smlaltt")
_SHIFT = re.compile(r"^(lsl|lsr|asr|ror|rrx)\b")
# Operations whose two-operand form ("adds r0, #1", "lsls r0, r1") reads the destination.
_TWO_OP = re.compile(r"^(add|adc|sub|sbc|rsb|and|orr|orn|eor|bic|lsl|lsr|asr|ror|mul)$")


def _regs(token: str) -> list:
    """Register keys of one operand: core r0-r15 as 0-15, S registers as 100 + n (a D
    register is its two S registers); ranges of a {list} expanded."""
    out = []
    for item in token.strip().strip("{}").split(","):
        item = item.strip().rstrip("!^ ")
        lo, _, hi = item.partition("-")
        lo, hi = lo.strip(), hi.strip()
        if hi and not (re.fullmatch(r"[rsd]\d+", lo) and re.fullmatch(r"[rsd]\d+", hi)):
            continue  # an immediate such as #-4
        for name in ([lo] if not hi else
                     [lo[0] + str(k) for k in range(int(lo[1:]), int(hi[1:]) + 1)]):
            if re.fullmatch(r"s\d+", name):
                out.append(100 + int(name[1:]))
            elif re.fullmatch(r"d\d+", name):
                out += [100 + 2 * int(name[1:]), 101 + 2 * int(name[1:])]
            else:
                r = _reg(name)
                if r is not None:
                    out.append(r)
    return out


def _split_ops(ops: str) -> list[str]:
    """Top-level operands: commas inside [...] and {...} do not split."""
    out, depth, cur = [], 0, ""
    for ch in ops:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def m7_operands(ins: Insn) -> tuple[list, list]:
    """(reads [(register, read offset)], writes [(register, latency)]) of one instruction
    under the M7 table. Condition flags and the GE bits are not tracked."""
    mn, _, ops = ins.text.partition(" ")
    base = _known(_base(mn))
    parts = _split_ops(ops)
    reads, writes = [], []
    mem = next((p for p in parts if p.startswith("[")), None)
    if mem is not None:  # the address registers; base writeback (! or a post-index) is free
        addr = _regs(mem.strip("[]!").split(",")[0]) + \
            [r for p in mem.strip("[]!").split(",")[1:] for r in _regs(p.split()[0])]
        reads += [(r, _M7_READ["addr"]) for r in addr]
        idx = parts.index(mem)
        if mem.endswith("!") or idx < len(parts) - 1:
            writes.append((addr[0], 0))
    k = ins.kind
    if k in ("ldm", "stm", "vldm", "vstm"):
        lst = next((p for p in parts if p.startswith("{")), "{}")
        if not parts[0].startswith("{"):  # LDM rN!, {...}: the base, written back when !
            b = _regs(parts[0])
            reads += [(r, _M7_READ["addr"]) for r in b]
            if parts[0].endswith("!"):
                writes += [(r, 0) for r in b]
        else:  # PUSH/POP, VPUSH/VPOP: sp
            reads.append((13, _M7_READ["addr"]))
            writes.append((13, 0))
        regs = _regs(lst)
        if k in ("ldm", "vldm"):  # every loaded register counted ready after the last word
            writes += [(r, ins.words + _M7_LAT["load"]) for r in regs]
        else:
            reads += [(r, _M7_READ["store"]) for r in regs]
        return reads, writes
    if k == "ldrd" and base.startswith("strd"):
        data = [r for p in parts[:2] for r in _regs(p)]
        return reads + [(r, _M7_READ["store"]) for r in data], writes
    if k in ("load", "ldrd", "vload"):
        dests = [r for p in parts[:2 if k == "ldrd" else 1] for r in _regs(p)]
        bh = k == "load" and re.match(r"^ldr(s?[bh]|exb|exh)", base) is not None
        writes += [(r, _M7_LAT["load_bh" if bh else "load"]) for r in dests]
        return reads, writes
    if k in ("store", "vstore"):
        data = [r for p in parts if not p.startswith("[") for r in _regs(p)]
        role = "vstore" if k == "vstore" else "store"
        reads += [(r, _M7_READ[role]) for r in data[:2]]
        return reads, writes
    if k in ("branch", "tbb", "it"):
        return reads + [(r, 0) for p in parts for r in _regs(p)], writes
    regs = [(_regs(p), p) for p in parts if not p.startswith(("#", "[")) and not _SHIFT.match(p)]
    regs = [(r, p) for r, p in regs if r]
    if not regs:
        return reads, writes
    vm = _strip_cond(base) if base.startswith("v") else base
    if k in ("fp", "fpmac", "fpdiv", "vmov2") or base.startswith("v"):
        if vm.startswith(("vcmp", "vmsr")):
            return reads + [(r, 0) for rs, _ in regs for r in rs], writes
        n_dest = 2 if k == "vmov2" and len(regs) == 4 else 1  # vmov s0, s1, r0, r1
        if k == "vmov2" and len(regs) == 3 and len(regs[0][0]) == 1 and regs[0][0][0] < 16:
            n_dest = 2  # vmov r0, r1, d0
        dests = [r for rs, _ in regs[:n_dest] for r in rs]
        srcs = [r for rs, _ in regs[n_dest:] for r in rs]
        if k == "fpmac":
            fused = vm.startswith("vf")
            lat = _M7_LAT["fpfma" if fused else "fpmac"]
            reads += [(r, _M7_READ["fpfma" if fused else "fpmac"]) for r in dests]
        else:
            lat = _M7_LAT["fpdiv" if k == "fpdiv" else "fp"]
        return reads + [(r, 0) for r in srcs], writes + [(r, lat) for r in dests]
    if base in _NO_DEST:
        return reads + [(r, 0) for rs, _ in regs for r in rs], writes
    n_dest = 2 if base in _LONG else 1
    dests = [r for rs, _ in regs[:n_dest] for r in rs]
    srcs = regs[n_dest:]
    if k in ("mul", "mla"):
        lat = _M7_LAT["mul"]
    elif k == "div":
        lat = _M7_LAT["div"]
    elif _SAT2.match(base):
        lat = _M7_LAT["alu2"]
    elif base in ("rev", "rev16", "revsh", "rbit"):
        lat = _M7_LAT["rev"]
    else:
        lat = _M7_LAT["alu"]
    for j, (rs, p) in enumerate(srcs):
        last = j == len(srcs) - 1
        if _ISS_ALL.match(base) or (last and _ISS_LAST.match(base)):
            off = _M7_READ["iss"]
        elif last and _ACC_LAST.match(base):
            off = _M7_READ["mac"]
        else:
            off = 0
        reads += [(r, off) for r in rs]
    if base in _LONG and base not in ("smull", "umull"):  # SMLAL: the pair accumulates
        reads += [(r, _M7_READ["mac"]) for r in dests]
    if base in ("bfi", "movt") or re.match(r"^(bfc)$", base):
        reads += [(r, 0) for r in dests]
    if _TWO_OP.match(base) and len([p for p in parts if not _SHIFT.match(p)]) == 2:
        reads += [(r, 0) for r in dests]  # adds r0, #1 / ands r0, r1: r0 is also a source
    return reads, writes + [(r, lat) for r in dests]


def _m7_issue_cycles(ins: Insn, prev: Insn | None, p: int) -> int:
    """Cycles an instruction holds the single issue slot. Where ARMScheduleM7.td gives no
    figure (LDM/STM/VLDM/VSTM/PUSH/POP, LDRD/STRD, VMOV of two core registers, IT, the
    refill after a taken branch) the M4's figure is kept: see the docstring."""
    k = ins.kind
    if k in ("ldm", "stm", "vldm", "vstm"):
        return 1 + ins.words + (p if ins.pc_load else 0)
    if k == "ldrd":
        return 3
    if k in ("vmov2", "tbb"):
        return 2 + (p if k == "tbb" else 0)  # TBB/TBH: "takes two cycles to issue" (L7)
    if k == "it":
        return 0 if prev is not None and prev.size == 2 else 1
    if k == "div":
        return _M7_LAT["div"]
    if k == "fpdiv":
        return _M7_LAT["fpdiv"]
    if k == "load" and ins.pc_load:
        return 1 + p
    return 1


def block_cycles_m7(insns: list[Insn], p: int) -> list[int]:
    """Each instruction's cycles in the single-issue M7 bound: the stall until its operands
    are ready plus its issue cycles. Registers start ready at the block's entry."""
    ready: dict = {}
    t = 0  # the cycle the next instruction could issue
    out = []
    prev = None
    for ins in insns:
        reads, writes = m7_operands(ins)
        start = max([t] + [ready[r] - off for r, off in reads if r in ready])
        issue = _m7_issue_cycles(ins, prev, p)
        out.append(start - t + issue)
        for r, lat in writes:
            ready[r] = start + lat
        t = start + issue
        prev = ins
    return out
