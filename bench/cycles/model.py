"""Cortex-M cycle model: the table, the rules and every assumption, in this one file.

QEMU executes the firmware; the block_counts plugin (plugin/block_counts.c) records how often
each translated block ran and how often its final branch was taken; this module prices every
instruction of a block with the tables below and sums count x price. QEMU's own count of
instructions (-icount) is the exact number the model starts from; cycles are an estimate.

Sources (facts, not text): Arm Cortex-M4 Technical Reference Manual, "Processor instruction
timings" and "Load/store timings" (the M3/M4 integer pipeline), and its FPU chapter "FPU
instruction set" (cycle counts of VFPv4-SP).

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
publishes no cycle table for it. Bounds, applied to the M7 build's instruction stream:
- `m7_low` = instructions / 2: both issue slots busy every cycle (no M7 code does better)
- `m7_high` = the `m4` table as above: every instruction single-issued at its M4 price
  (VMLA at 3, which overstates the M7's pipelined VMLA: the bound is loose for float code).
  It is an upper bound under assumptions, not a proven one: zero wait states (code and data in
  TCM or hitting the caches; the STM32F746 runs flash at 216 MHz with wait states behind its
  ART accelerator and caches), and branches predicted well enough that the M7's longer
  pipeline refill on a misprediction costs no more than P = 2 per taken branch on average (the
  hot loops here are long and regular).
No point estimate is given for the M7: Arm documents no M7 cycle table or dual-issue rules,
and a point estimate built on reverse-engineered pairing rules would not be justified here.
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
    branch whose taken executions add P). Pairing rules look only inside the block: QEMU
    ends a block at every branch, so the instructions before a block are not known."""
    p, div = VARIANTS[variant]
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
    return VARIANTS[variant][0]


DESCRIPTION = {
    "m4": "Cortex-M4 TRM table, P = 2, SDIV/UDIV 7 (point estimate)",
    "m4_low": "Cortex-M4 TRM table, P = 1, SDIV/UDIV 2 (lower end)",
    "m4_high": "Cortex-M4 TRM table, P = 3, SDIV/UDIV 12 (upper end)",
    "m7_low": "Cortex-M7 lower bound: instructions / 2 (dual issue every cycle)",
    "m7_high": "Cortex-M7 upper bound: the m4 table on the M7 build (single issue)",
}
