"""Runs a firmware ELF in QEMU with the block_counts plugin and prices what ran with
bench/cycles/model.py: cycles per segment (the calls of marked functions), per variant, and
per function of the ELF.

    python -m bench.cycles.trace an386 firmware.elf --mark tt_train [--functions 15]
"""
from __future__ import annotations

import argparse
import bisect
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.cycles import m7_issue, model

ROOT = Path(__file__).resolve().parents[2]
# Every variant a trace is priced under: the per-instruction tables (model.py) and the M7 point
# estimate's block-level dual-issue model (m7_issue.py).
VARIANTS = tuple(model.PRICED) + tuple(m7_issue.VARIANTS)
DESCRIPTION = {**model.DESCRIPTION, **m7_issue.DESCRIPTION}
PLUGIN_SRC = Path(__file__).resolve().parent / "plugin" / "block_counts.c"
RUN_QEMU = ROOT / "targets" / "qemu" / "run_qemu.sh"


def build_plugin(out_dir: Path) -> Path:
    """The plugin as a host shared object (gcc), rebuilt when its source is newer."""
    so = out_dir / "block_counts.so"
    if not so.exists() or so.stat().st_mtime < PLUGIN_SRC.stat().st_mtime:
        out_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall",
                        "-Werror", "-o", str(so), str(PLUGIN_SRC)], check=True)
    return so


def symbols(elf: Path) -> list[tuple[int, int, str]]:
    """(address, size, demangled name) of the ELF's functions, by address."""
    text = subprocess.run(["arm-none-eabi-nm", "-C", "-S", "--defined-only", str(elf)],
                          capture_output=True, text=True, check=True).stdout
    out = []
    for line in text.splitlines():
        m = re.match(r"^([0-9a-f]+)(?: ([0-9a-f]+))? [TtWw] (.*)$", line)
        if m:  # assembler labels have no size
            out.append((int(m.group(1), 16) & ~1, int(m.group(2) or "0", 16), m.group(3)))
    return sorted(out)


def address_of(syms, name: str) -> int:
    """The function whose demangled name is `name` or starts with `name(`."""
    hits = {a for a, _, n in syms if n == name or n.startswith(name + "(") or
            n.endswith("::" + name) or re.search(r"::%s\(" % re.escape(name), n)}
    if len(hits) != 1:
        raise ValueError(f"function '{name}': {len(hits)} matches in the ELF")
    return hits.pop()


@dataclass
class Segment:
    kind: str            # enter | leave | exit: the boundary that ended it
    addr: int            # the marked function of that boundary
    counts: dict = field(default_factory=dict)  # block id -> (executions, taken)


@dataclass
class Trace:
    blocks: dict         # id -> (vaddr, [(addr, size, text)])
    segments: list
    output: str          # the firmware's stdout + stderr
    rc: int


def parse(path: Path) -> tuple[dict, list]:
    blocks: dict = {}
    segments: list = []
    counts: dict = {}
    cur = None
    with open(path) as f:
        for line in f:
            tag = line[0]
            if tag == "I":
                _, addr, size, text = line.rstrip("\n").split(" ", 3)
                cur.append((int(addr, 16), int(size), text))
            elif tag == "C":
                _, i, n, t = line.split()
                counts[int(i)] = (int(n), int(t))
            elif tag == "T":
                _, i, vaddr, _ = line.split()
                cur = []
                blocks[int(i)] = (int(vaddr, 16), cur)
            elif tag == "B":
                _, kind, addr = line.split()
                segments.append(Segment(kind, int(addr, 16), counts))
                counts = {}
    return blocks, segments


def run(board: str, elf: Path, marks: list[int], timeout: int = 1800) -> Trace:
    with tempfile.TemporaryDirectory() as d:
        so = build_plugin(Path(d))
        out = Path(d) / "blocks.txt"
        args = ",".join([f"out={out}"] + [f"mark={hex(m)}" for m in marks])
        proc = subprocess.run([str(RUN_QEMU), board, str(elf), "-plugin", f"{so},{args}"],
                              capture_output=True, text=True, timeout=timeout + 60,
                              env={"QEMU_TIMEOUT": str(timeout), "PATH": "/usr/bin:/bin"})
        if not out.exists():
            raise RuntimeError(f"QEMU wrote no plugin output (exit {proc.returncode}): "
                               f"{proc.stderr[-500:]}")
        blocks, segments = parse(out)
    return Trace(blocks, segments, proc.stdout + proc.stderr, proc.returncode)


class Pricer:
    """Cycles of the trace's blocks under each variant: the per-instruction tables of
    model.py, and the M7 point estimate (m7_issue.py), which prices whole blocks.

    A priced block is a straight run of code between branches, as on the core. QEMU's
    translation blocks end at every branch and call, and also where the core sees nothing: at
    a 1 KB page boundary, around an instruction that straddles one, and at QEMU's own size
    limits. Where the code was placed would then change the estimate (a loop split by a page
    boundary loses its pairing across the split and its loop steady state), so `units` joins
    every block that does not end in a branch with the block that follows it, and prices the
    joined run as one. Retranslations of the same code (same address, same instructions) are
    one block."""

    def __init__(self, blocks: dict, variants=tuple(model.PRICED)):
        self.variants = variants
        self.size = {}
        self.insns = {}
        self.unknown: dict[str, int] = {}
        self.canon: dict[int, int] = {}     # id -> the first id with the same code
        self.cls: dict[int, list] = {}      # canonical id -> classified instructions
        self.falls_through: dict[int, bool] = {}
        first: dict[tuple, int] = {}
        starts: dict[int, list] = {}
        for i, (vaddr, ins) in sorted(blocks.items()):
            self.size[i] = len(ins)
            self.insns[i] = ins
            key = (vaddr, tuple(t for _, _, t in ins))
            if key in first:
                self.canon[i] = first[key]
                continue
            first[key] = self.canon[i] = i
            cls = [model.classify(t, s) for _, s, t in ins]
            for c in cls:
                if c.kind == "other":
                    self.unknown[c.mnemonic] = self.unknown.get(c.mnemonic, 0) + 1
            self.cls[i] = cls
            self.falls_through[i] = bool(ins) and m7_issue.branch_kind(cls) is None
            starts.setdefault(vaddr, []).append(i)
        self._starts = starts
        self._addrs = sorted(starts)
        self._cost: dict[tuple, tuple] = {}

    def instructions(self, counts: dict) -> int:
        return sum(n * self.size[i] for i, (n, _) in counts.items())

    def _next_block(self, i: int, present: dict) -> int | None:
        """The block that runs after block i when i ends without a branch: the one starting
        right after i's last instruction (the plugin may report an instruction that
        straddles a page as longer than it is, so the next start inside its reported span)."""
        addr, size, _ = self.insns[i][-1]
        j = bisect.bisect_right(self._addrs, addr)
        if j == len(self._addrs) or self._addrs[j] > addr + size:
            return None
        ids = [k for k in self._starts[self._addrs[j]] if k in present]
        return ids[0] if len(ids) == 1 else None

    def units(self, counts: dict) -> dict[tuple, tuple[int, float]]:
        """{run of canonical block ids: (executions, taken)}. Every execution of a block that
        ends without a branch continues into the next block, so a run starts at a block's
        executions that no such block fed, and follows the chain to a block that ends in a
        branch. A run's taken count is its final block's, shared among the runs that end
        there by their executions (exact when one run ends there, as in a split loop)."""
        c: dict[int, list] = {}
        for i, (n, t) in counts.items():
            acc = c.setdefault(self.canon[i], [0, 0])
            acc[0] += n
            acc[1] += t
        nxt = {}
        fed: dict[int, int] = {}
        for i in c:
            if self.falls_through[i]:
                j = self._next_block(i, c)
                if j is not None and j != i:
                    nxt[i] = j
                    fed[j] = fed.get(j, 0) + c[i][0]
        # a block fed more often than it ran: the counts do not fit a chain (never seen in a
        # training step); price it alone
        for j in [j for j, f in fed.items() if f > c[j][0]]:
            for i in [i for i, k in nxt.items() if k == j]:
                del nxt[i]
            del fed[j]
        out: dict[tuple, list] = {}
        for i, (n, _) in c.items():
            own = n - fed.get(i, 0)
            if own <= 0:
                continue
            run = [i]
            while run[-1] in nxt and nxt[run[-1]] not in run:
                run.append(nxt[run[-1]])
            n_last, t_last = c[run[-1]]
            acc = out.setdefault(tuple(run), [0, 0.0])
            acc[0] += own
            acc[1] += t_last * own / n_last if n_last else 0.0
        return {k: (n, t) for k, (n, t) in out.items()}

    def _unit_cost(self, run: tuple) -> tuple:
        """(per-variant cycles of each instruction, ends in a branch, M7 block cost,
        instructions) of a run of blocks priced as one block."""
        if run not in self._cost:
            cls = [c for i in run for c in self.cls[i]]
            insns = [x for i in run for x in self.insns[i]]
            static, ends = {}, False
            for v in self.variants:
                static[v], ends = model.block_cycles(cls, v)
            self._cost[run] = (static, ends, m7_issue.block_cost(insns[0][0], cls), insns)
        return self._cost[run]

    def cycles(self, counts: dict, variant: str) -> int:
        units = self.units(counts)
        if variant in m7_issue.VARIANTS:
            return round(sum(m7_issue.cycles(self._unit_cost(r)[2], n, t, variant)
                             for r, (n, t) in units.items()))
        p = model.branch_penalty(variant)
        total = 0.0
        for r, (n, t) in units.items():
            static, ends, _, _ = self._unit_cost(r)
            total += n * sum(static[variant]) + (t * p if ends else 0)
        return round(total)

    def by_function(self, counts: dict, variant: str, syms) -> dict[str, int]:
        starts = [a for a, _, _ in syms]

        def name_of(addr):
            j = bisect.bisect_right(starts, addr) - 1
            return syms[j][2] if j >= 0 and addr < syms[j][0] + max(syms[j][1], 2) else "?"

        out: dict[str, float] = {}
        units = self.units(counts)
        if variant in m7_issue.VARIANTS:
            for r, (n, t) in units.items():
                _, _, cost, insns = self._unit_cost(r)
                name = name_of(insns[0][0])
                out[name] = out.get(name, 0) + m7_issue.cycles(cost, n, t, variant)
            return {k: round(v) for k, v in out.items()}
        p = model.branch_penalty(variant)
        for r, (n, t) in units.items():
            static, ends, _, insns = self._unit_cost(r)
            per = static[variant]
            for k, (addr, _, _) in enumerate(insns):
                name = name_of(addr)
                c = n * per[k] + (t * p if ends and k == len(per) - 1 else 0)
                out[name] = out.get(name, 0) + c
        return {k: round(v) for k, v in out.items()}

    def hottest_blocks(self, counts: dict, variant: str, syms, n: int) -> list[dict]:
        """The n blocks (runs of blocks, joined as in `units`) with the most M7
        point-estimate cycles (`variant` one of m7_issue.VARIANTS): where they lie, how often
        they ran, their instructions per cycle (2.0 is full dual issue) and their empty issue
        slots by reason (m7_issue.lost_slots), all over the whole run of `counts`."""
        starts = [a for a, _, _ in syms]

        def name_of(addr):
            j = bisect.bisect_right(starts, addr) - 1
            return syms[j][2] if j >= 0 else "?"

        rows = sorted(((m7_issue.cycles(self._unit_cost(r)[2], e, t, variant), r, e, t)
                       for r, (e, t) in self.units(counts).items()), reverse=True)[:n]
        out = []
        for cyc, r, e, t in rows:
            _, _, cost, ins = self._unit_cost(r)
            cls = [c for i in r for c in self.cls[i]]
            lost = m7_issue.lost_slots(cost, cls, e, t, variant)
            out.append({
                "function": name_of(ins[0][0])[:120], "address": hex(ins[0][0]),
                "executions": e, "instructions": len(ins), "cycles": round(cyc),
                "loop": cost.loop,
                "instructions_per_cycle": round(e * len(ins) / cyc, 2) if cyc else None,
                "empty_slots": {k: round(v) for k, v in
                                sorted(lost.items(), key=lambda kv: -kv[1]) if round(v)}})
        return out


def merge(segments) -> dict:
    """Counts summed over segments."""
    out: dict = {}
    for s in segments:
        for i, (n, t) in s.counts.items():
            a, b = out.get(i, (0, 0))
            out[i] = (a + n, b + t)
    return out


def calls(trace: Trace, addr: int) -> list[dict]:
    """The counts of every completed call of the marked function at `addr` (segments between
    its enter and leave boundaries; calls it makes to other marked functions included)."""
    out, inside = [], None
    for s in trace.segments:
        if inside is not None:
            inside.append(s)
        if s.kind == "enter" and s.addr == addr:
            inside = []
        elif s.kind == "leave" and s.addr == addr and inside is not None:
            out.append(merge(inside))
            inside = None
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("board", choices=["an386", "an500"])
    p.add_argument("elf", type=Path)
    p.add_argument("--mark", action="append", default=[], help="function to time (repeatable)")
    p.add_argument("--functions", type=int, default=10, help="hottest functions to list")
    p.add_argument("--blocks", type=int, default=0,
                   help="hottest blocks to list by the M7 point estimate, with their dual "
                        "issue and empty slots by reason")
    p.add_argument("--variant", default="m4", choices=list(VARIANTS),
                   help="the variant that prices the function list (m7: the M7 point "
                        "estimate, m7_high: the M7 bound)")
    args = p.parse_args(argv)
    syms = symbols(args.elf)
    marks = {name: address_of(syms, name) for name in args.mark}
    trace = run(args.board, args.elf, list(marks.values()))
    print(trace.output[-2000:])
    pricer = Pricer(trace.blocks)
    if pricer.unknown:
        print("unpriced mnemonics (1 cycle):", pricer.unknown)
    for name, addr in marks.items():
        for k, c in enumerate(calls(trace, addr)):
            cyc = {v: pricer.cycles(c, v) for v in VARIANTS}
            insns = pricer.instructions(c)
            print(f"{name} call {k}: {insns} instructions, " +
                  ", ".join(f"{v} {n} ({n / insns:.3f}/insn)" for v, n in cyc.items()))
            if k == 0 and args.functions:
                for fn, n in sorted(pricer.by_function(c, args.variant, syms).items(),
                                    key=lambda kv: -kv[1])[:args.functions]:
                    print(f"    {n:>12}  {fn[:100]}")
            if k == 0 and args.blocks:
                print(f"  hottest blocks ({m7_issue.POINT}; empty issue slots by reason):")
                for r in pricer.hottest_blocks(c, m7_issue.POINT, syms, args.blocks):
                    print(f"    {r['cycles']:>10}  {r['address']} x{r['executions']} "
                          f"{r['instructions']} insns, {r['instructions_per_cycle']}/cycle"
                          f"{' loop' if r['loop'] else ''}  {r['function'][:60]}")
                    print("                " + ", ".join(
                        f"{why} {n}" for why, n in list(r["empty_slots"].items())[:6]))
    return 0 if trace.rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
