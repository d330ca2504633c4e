"""A stack bound for a linked firmware, computed without running it (targets/tools/board_data.py
calls this; NOTES "Issue 13" says how it compares with measured high-water marks).

Inputs of one firmware build: the ELF, and for every translation unit compiled from our sources
GCC's -fstack-usage (.su), -fcallgraph-info=su (.ci) and -fdump-tree-optimized-lineno output.

- Frames: GCC's own static frame size (.su) for our functions, or what the function's code in the
  ELF pushes and subtracts from sp if that is more (inline asm pushes, a variadic function's
  saved argument registers: .su counts neither); for code we did not compile (newlib, libgcc,
  libstdc++) the latter alone.
- Direct calls: every bl / b / b<cond> to a function start in the disassembly of the ELF (this
  catches the calls GCC inserts after its call graph is final: memcpy for block copies, libgcc
  helpers), plus the .ci edges.
- Indirect calls: each one GCC lists in .ci is resolved by the function pointer's type at that
  source location (the optimized GIMPLE names it): its targets are our functions whose address
  is stored anywhere in the image (a Thumb address word in flash or RAM data, or a movw/movt
  pair) and whose parameter types and return type class match. A library function's indirect
  call (blx/bx rN without .ci) may reach any address-taken library function and the static
  constructors/destructors.
- The bound from a root is the largest sum of frames along a call path. A cycle among our own
  functions (recursion) has a bound only if its nesting depth is declared (the row-streamed
  chains' ProduceRow/InputRows, at most kMaxStreamStages deep); otherwise it is an error.
"""
from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

# Words that say nothing about which struct a parameter is: builtin types, qualifiers and the
# fixed-width typedefs GIMPLE may print either way. Parameter types are compared by what remains.
_PLAIN = {"const", "volatile", "struct", "class", "union", "enum", "unsigned", "signed", "int",
          "long", "short", "char", "float", "double", "void", "bool", "size_t", "uintptr_t",
          "ptrdiff_t", "__restrict"} | {f"{u}int{n}_t" for u in ("", "u") for n in (8, 16, 32, 64)}


def _split_top(params: str) -> list[str]:
    """Top-level comma split of a parameter list (no outer parentheses)."""
    out, depth, cur = [], 0, []
    for ch in params:
        if ch in "(<[":
            depth += 1
        elif ch in ")>]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur))
    return [p.strip() for p in out]


def _last_group(text: str) -> str | None:
    """Contents of the last top-level parenthesised group of `text`."""
    end = text.rfind(")")
    if end < 0:
        return None
    depth = 0
    for i in range(end, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            depth -= 1
            if depth == 0:
                return text[i + 1:end]
    return None


def _param_key(param: str, named: bool) -> tuple:
    words = re.findall(r"[A-Za-z_][\w.]*|\.\.\.", param)
    if named and words and words[-1] != "...":
        words = words[:-1]  # the parameter's own name (GIMPLE names every one: ctx, D.1234)
    return tuple(w for w in words if w not in _PLAIN)


def return_key(text: str) -> tuple:
    """The class of a return type: pointer or reference, void, floating, the struct or enum's
    name, else integer. Indirect calls match on it as well as on the parameters: a registration's
    `int32_t (*)(const OpContext&)` never reaches the ops' `void Eval(const OpContext&)`."""
    if "*" in text or "&" in text:
        return ("*",)
    words = re.findall(r"[A-Za-z_][\w.]*", text)
    names = [w for w in words if w not in _PLAIN]
    if names:
        return (names[-1],)
    if "void" in words:
        return ("void",)
    return ("float",) if "float" in words or "double" in words else ("int",)


def _return_part(header: str, group: str) -> str:
    """What precedes the function's name in a GIMPLE definition line `ret name<T, ..> (group)`."""
    i = header.rfind("(" + group + ")") - 1
    while i >= 0 and header[i] == " ":
        i -= 1
    depth = 0
    while i >= 0 and (depth > 0 or header[i] != " "):
        depth += header[i] == ">"
        depth -= header[i] == "<"
        i -= 1
    return header[:max(i, 0)]


def signature_key(params: str, named: bool) -> tuple:
    """(arity, per-parameter struct names): equal for equal types, coarser than the types."""
    parts = [] if params.strip() in ("", "void") else _split_top(params)
    return (len(parts),) + tuple(_param_key(p, named) for p in parts)


@dataclass
class Gimple:
    """What the optimized GIMPLE dumps say: each function's parameter key (by mangled name) and
    the pointer type key of each indirect call (by source location)."""
    signatures: dict[str, tuple] = field(default_factory=dict)
    calls: dict[str, tuple] = field(default_factory=dict)  # "file:line:col" -> key


def read_gimple(dump: Path, into: Gimple) -> None:
    lines = dump.read_text(errors="replace").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r";; Function .* \((\S+), funcdef_no", lines[i])
        if not m:
            i += 1
            continue
        mangled = m.group(1)
        j = i + 1  # the definition's line is the one before its opening brace
        while j + 1 < len(lines) and lines[j + 1] != "{":
            j += 1
        header = lines[j] if j < len(lines) else ""
        group = _last_group(header)
        if group is not None:
            into.signatures.setdefault(mangled, return_key(_return_part(header, group)) +
                                       signature_key(group, named=True))
        # body until the next function
        k = j + 1
        decls: dict[str, str] = {}
        for p in _split_top(group or ""):  # parameters: "type name"
            words = p.split()
            if words and "(*" in p:
                decls[words[-1]] = (p[:p.find("(*")], _last_group(p[:p.rfind(words[-1])]))
        while k < len(lines) and not lines[k].startswith(";; Function"):
            line = lines[k]
            d = re.match(r"\s+(.*)\(\*<T[0-9a-f]+>\) \((.*)\) ([\w.]+);$", line)
            if d:
                decls[d.group(3)] = (d.group(1), d.group(2))
            c = re.match(r"\s+\[([^\]]+:\d+:\d+)\] (?:[\w.]+ = )?([\w.]+)(?:\(D\))? \(", line)
            if c:
                callee = c.group(2)
                # a parameter's default definition is named <parameter>_<n>
                decl = decls.get(callee, decls.get(re.sub(r"_\d+$", "", callee)))
                if decl is not None and decl[1] is not None:
                    into.calls[c.group(1)] = return_key(decl[0]) + \
                        signature_key(decl[1], named=False)
            k += 1
        i = k


def _with_varargs(signatures: dict[str, tuple]) -> dict[str, tuple]:
    """GIMPLE prints a variadic definition without its `...`; the demangled name has it."""
    names = sorted(signatures)
    out = subprocess.run(["arm-none-eabi-c++filt"], input="\n".join(names), capture_output=True,
                         text=True, check=True).stdout.splitlines()
    fixed = dict(signatures)
    for name, plain in zip(names, out):
        group = _last_group(plain.replace(" const", ""))
        if group is not None and group.rstrip().endswith("..."):
            key = signatures[name]  # (return class, arity, parameters...)
            fixed[name] = (key[0], key[1] + 1) + key[2:] + (("...",),)
    return fixed


@dataclass
class Function:
    name: str
    start: int
    frame: int | None = None        # bytes
    frame_source: str = ""          # "su" or "prologue"
    calls: set[str] = field(default_factory=set)
    indirect_sites: list[tuple] = field(default_factory=list)  # our sites: type keys
    library_indirect: bool = False  # blx/bx rN in code without call-graph info
    # a register call (blx / bx rN; RISC-V jalr): our function's must be in its .ci (a RISC-V
    # jr rN in ours is a switch's jump table, or an indirect tail call its .ci lists)
    register_call: bool = False


def _run(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def is_riscv(elf: Path) -> bool:
    """e_machine of the ELF header: RISC-V (243) rather than Arm (40)."""
    return int.from_bytes(elf.read_bytes()[18:20], "little") == 243


def tool_prefix(elf: Path) -> str:
    return "riscv64-unknown-elf-" if is_riscv(elf) else "arm-none-eabi-"


# A call or a (tail) branch to another function: bl, blx, b and the conditional b<cond>.
_BRANCH = re.compile(r"bl|blx|b(eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al)?")


# RISC-V (objdump prints addi as add): direct calls and jumps (jal / j / conditional branches),
# register jumps (jalr / jr; ret and the millicode's jr t0 return).
_RV_BRANCH = re.compile(r"jal|j|beq|bne|blt|bge|bltu|bgeu|beqz|bnez|blez|bgez|bltz|bgtz")
# picolibc's -msave-restore millicode (__riscv_save_N, called with jal t0) allocates its
# caller's register save area, at most 64 bytes: counted in the caller's frame.
_RV_SAVE_BYTES = 64
# targets/rv32/startup_rv32.cc's entry points: never called through a pointer.
_RV_ROOTS = {"_start", "board_trap_entry"}


def _prologue_frame_riscv(body: list[tuple[str, str]]) -> int:
    """Bytes a RISC-V function subtracts from sp anywhere in its body (conservative)."""
    total = 0
    for mnem, ops in body:
        m = re.fullmatch(r"sp,sp,-(\d+)", ops)
        if mnem in ("add", "addi") and m:  # (`sp,sp,-N # sym`, sp set from an address, is not)
            total += int(m.group(1))
        elif mnem == "jal" and re.match(r"t0,[0-9a-f]+ <__riscv_save_\d+>", ops):
            total += _RV_SAVE_BYTES
    return total


def _prologue_frame(body: list[tuple[str, str]]) -> int:
    """Bytes a function pushes or subtracts from sp anywhere in its body (conservative)."""
    total = 0
    for mnem, ops in body:
        m = mnem.split(".")[0]
        if m in ("push", "stmdb") and (m == "push" or ops.startswith("sp!")):
            regs = ops[ops.find("{") + 1:ops.find("}")]
            total += 4 * _count_regs(regs)
        elif m == "vpush":
            regs = ops[ops.find("{") + 1:ops.find("}")]
            n = _count_regs(regs)
            total += n * (8 if regs.strip().startswith("d") else 4)
        elif m in ("sub", "subw") and re.match(r"sp, (sp, )?#\d+", ops):
            total += int(ops.split("#")[1].split()[0])
        elif m == "str" and re.search(r"\[sp, #-(\d+)\]!", ops):
            total += int(re.search(r"\[sp, #-(\d+)\]!", ops).group(1))
    return total


def _count_regs(regs: str) -> int:
    n = 0
    for part in regs.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-")
            n += int(b[1:]) - int(a[1:]) + 1
        elif part:
            n += 1
    return n


def read_elf(elf: Path) -> tuple[dict[str, Function], set[str], dict[int, str]]:
    """Functions of the ELF with their direct callees and library indirect calls, and the set
    of address-taken functions (vector table excluded: handlers are roots). Arm (Thumb) or
    RISC-V code (rv32: addresses without the Thumb bit, taken where an instruction's operand
    resolves to a function start, as objdump's `# address <symbol>` comment shows)."""
    riscv = is_riscv(elf)
    prefix = tool_prefix(elf)
    syms = {}
    if riscv:  # its rodata lies in .text: nm's types do not tell code from data, ELF's do
        for line in _run([f"{prefix}readelf", "-sW", str(elf)]).splitlines():
            parts = line.split()
            if len(parts) >= 8 and parts[3] == "FUNC" and parts[6] != "UND":
                syms.setdefault(int(parts[1], 16), parts[7])
    for line in ([] if riscv else _run([f"{prefix}nm", "--defined-only", str(elf)]).splitlines()):
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWw":
            syms.setdefault(int(parts[0], 16) & ~1, parts[2])
    funcs: dict[str, Function] = {}
    by_addr: dict[int, str] = {}
    cur: Function | None = None
    body: list[tuple[str, str]] = []
    bodies: dict[str, list] = {}
    movw: dict[str, int] = {}
    address_words: set[int] = set()
    rv_refs: set[int] = set()
    for line in _run([f"{prefix}objdump", "-d", "--no-show-raw-insn",
                      str(elf)]).splitlines():
        h = re.match(r"^([0-9a-f]+) <(.+)>:$", line)
        if h:
            addr = int(h.group(1), 16)
            if riscv and addr not in syms:  # rv32 keeps rodata in .text: a data label
                cur = None
                continue
            # (rv32: objdump's own label: __vectors_start shares _start's address)
            name = h.group(2) if riscv else syms.get(addr, h.group(2))
            cur = funcs.setdefault(name, Function(name, addr))
            by_addr[addr] = name
            body = []  # local functions of several files may share a name: one body each
            bodies.setdefault(name, []).append(body)
            movw = {}
            continue
        ins = re.match(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if not ins or cur is None:
            continue
        if riscv:
            mnem, text = ins.group(2), ins.group(3)
            ops, _, comment = text.partition("#")
            ops = ops.strip()
            body.append((mnem, ops + (" #" if comment else "")))
            ref = re.match(r"\s*([0-9a-f]+) <([^>+]+)>", comment)
            if ref:  # an address the instruction computes: a function's is taken
                rv_refs.add(int(ref.group(1), 16))
            target = re.search(r"([0-9a-f]+) <([^>]+)>", ops)
            if _RV_BRANCH.fullmatch(mnem) and target and "+" not in target.group(2):
                tname = target.group(2)
                if tname != cur.name and not tname.startswith("__riscv_save_"):
                    cur.calls.add(tname)
            elif mnem in ("jalr", "jr") and not re.fullmatch(r"ra|t0|zero", ops):
                cur.library_indirect = True  # for our functions: resolved by .ci below
                cur.register_call |= mnem == "jalr"
            continue
        mnem, ops = ins.group(2), ins.group(3).split(";")[0].strip()
        if mnem.startswith((".word", ".short", ".byte")):
            if mnem.startswith(".word"):
                address_words.add(int(ops.split()[0], 16))
            continue
        body.append((mnem, ops))
        base = mnem.split(".")[0]
        if _BRANCH.fullmatch(base) and "<" in ops:
            target = re.search(r"([0-9a-f]+) <([^>+]+)>", ops)
            if target and "+" not in ops.split("<")[1]:
                tname = syms.get(int(target.group(1), 16), target.group(2))
                if tname != cur.name:
                    cur.calls.add(tname)
        elif base in ("blx", "bx") and re.fullmatch(r"r\d+|ip", ops):
            cur.library_indirect = cur.register_call = True  # ours: checked against .ci below
        mw = re.match(r"(r\d+|ip|lr), #(\d+)", ops)
        if base == "movw" and mw:
            movw[mw.group(1)] = int(mw.group(2))
        elif base == "movt" and mw and mw.group(1) in movw:
            address_words.add(movw[mw.group(1)] | (int(mw.group(2)) << 16))
    frame = _prologue_frame_riscv if riscv else _prologue_frame
    for name, f in funcs.items():
        f.frame = max(frame(b) for b in bodies[name])
        f.frame_source = "prologue"
    # data words anywhere in the loaded image (the disassembly shows only code and its pools)
    vectors = _section_words(elf, ".isr_vector", prefix)
    for sec in (".rodata", ".data", ".init_array", ".fini_array", ".text", ".srodata", ".sdata"):
        address_words |= _section_words(elf, sec, prefix)
    init_words = _section_words(elf, ".init_array", prefix) | _section_words(elf, ".fini_array",
                                                                             prefix)
    if riscv:  # no Thumb bit: a word or a computed address equal to a function start; the
        # entry and the trap vector (written to mtvec) are roots, as the Arm vector table's
        taken = {by_addr[w] for w in (address_words | rv_refs) if w in by_addr} - _RV_ROOTS
        init = {by_addr[w] for w in init_words if w in by_addr}
        return funcs, taken, init
    taken = {by_addr[w & ~1] for w in address_words - vectors if w & 1 and (w & ~1) in by_addr}
    init = {by_addr[w & ~1] for w in init_words if (w & ~1) in by_addr}
    return funcs, taken, init


def _section_words(elf: Path, section: str, prefix: str = "arm-none-eabi-") -> set[int]:
    try:
        out = _run([f"{prefix}objdump", "-s", "-j", section, str(elf)])
    except subprocess.CalledProcessError:
        return set()
    words = set()
    for line in out.splitlines():
        m = re.match(r"^ ([0-9a-f]+) ((?:[0-9a-f]{8} ?){1,4})", line)
        if not m:
            continue
        for w in m.group(2).split():
            if len(w) == 8:
                words.add(int.from_bytes(bytes.fromhex(w), "little"))
    return words


def read_callgraph(ci_files: list[Path]) -> tuple[dict[str, int], dict[str, list[str]],
                                                  dict[str, set[str]]]:
    """From .ci: frame bytes per function (ELF symbol name), the source locations of each
    function's indirect calls, and its direct callees."""
    frames: dict[str, int] = {}
    sites: dict[str, list[str]] = defaultdict(list)
    callees: dict[str, set[str]] = defaultdict(set)

    def symbol(title: str) -> str:  # a static function's title is "<source file>:<name>"
        return title.rsplit(":", 1)[-1]

    for ci in ci_files:
        for line in ci.read_text(errors="replace").splitlines():
            n = re.match(r'node: \{ title: "([^"]+)" label: "[^"]*\\n(\d+) bytes \((\w+)', line)
            if n:
                if n.group(3) != "static":
                    raise ValueError(f"{ci}: {n.group(1)} has a {n.group(3)} stack frame: "
                                     "no static bound")
                name = symbol(n.group(1))
                frames[name] = max(frames.get(name, 0), int(n.group(2)))
                continue
            e = re.match(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)" label: "([^"]+)"',
                         line)
            if e:
                src = symbol(e.group(1))
                if e.group(2) == "__indirect_call":
                    sites[src].append(e.group(3))
                else:
                    callees[src].add(symbol(e.group(2)))
    return frames, sites, callees


@dataclass
class Bound:
    bytes: int
    path: list[str]


class StackGraph:
    def __init__(self, elf: Path, ci_files: list[Path], dumps: list[Path],
                 recursion: dict[tuple, int] | None = None, exclude: set[str] = frozenset()):
        # recursion: (name parts) -> nesting depth of a known, bounded recursion
        self.recursion = recursion or {}
        self.exclude = set(exclude)
        self.funcs, self.taken, init = read_elf(elf)
        frames, sites, callees = read_callgraph(ci_files)
        gimple = Gimple()
        for d in dumps:
            read_gimple(d, gimple)
        self.unresolved: list[str] = []
        self.su_mismatch: list[str] = []
        for name, f in self.funcs.items():
            if name in frames:
                # GCC's frame does not count what inline asm pushes, nor a variadic function's
                # saved argument registers: the larger of the two counts
                if f.frame != frames[name]:
                    self.su_mismatch.append(name)
                f.frame, f.frame_source = max(frames[name], f.frame), "su"
                if f.register_call and not sites.get(name):
                    self.unresolved.append(f"{name}: an indirect branch the call graph lacks")
                f.library_indirect = False  # our indirect calls are resolved by type below
                f.calls |= {c for c in callees.get(name, ()) if c in self.funcs}
                for loc in sites.get(name, ()):
                    key = gimple.calls.get(loc)
                    if key is None:
                        self.unresolved.append(f"{name} @ {loc}")
                    else:
                        f.indirect_sites.append(key)
        self.signatures = _with_varargs(gimple.signatures)
        # by type key, the address-taken functions of ours an indirect call of ours may reach
        # (library functions whose address is taken are newlib's internal callbacks: our code
        # never stores one in a function pointer)
        self.by_key: dict[tuple, set[str]] = defaultdict(set)
        for t in self.taken:
            if t in self.signatures:
                self.by_key[self.signatures[t]].add(t)
        # what a library indirect call may reach: library callbacks, and the static constructors
        # and destructors __libc_init_array / exit call
        self.library_taken = {t for t in self.taken
                              if self.funcs[t].frame_source == "prologue"} | init
        self._memo: dict[str, Bound] = {}

    def targets(self, f: Function) -> set[str]:
        out = set(f.calls)
        for key in f.indirect_sites:
            out |= self.by_key.get(key, set())
        if f.library_indirect:
            out |= self.library_taken
        return {t for t in out if t in self.funcs and t not in self.exclude}

    def bound(self, root: str) -> Bound:
        """Deepest call path from root, over the graph's strongly connected components: a
        component of several library functions (a cycle only the conservative library indirect
        calls make) counts the sum of its frames, which no simple path through it exceeds; a
        cycle through our own functions is recursion and has no bound."""
        if root in self._memo:
            return self._memo[root]
        comps = self._components(root)
        for comp in comps:  # successors first (Tarjan's order)
            members = sorted(comp)
            cyclic = len(comp) > 1 or members[0] in self.targets(self.funcs[members[0]])
            levels = 1
            if cyclic and any(self.funcs[m].frame_source == "su" for m in members):
                levels = self._recursion_levels(members)
            best = Bound(0, [])
            for m in members:  # in name order: equal paths resolve the same in every run
                for t in sorted(self.targets(self.funcs[m])):
                    if t not in comp and self._memo[t].bytes > best.bytes:
                        best = self._memo[t]
            weight = levels * sum(self.funcs[m].frame for m in members)
            head = members if cyclic else members[:1]
            for m in members:
                self._memo[m] = Bound(weight + best.bytes, head + best.path)
        return self._memo[root]

    def _recursion_levels(self, members: list[str]) -> int:
        """A recursion is bounded only when declared: every member's name contains one of the
        declared names, and the declared depth is how often the cycle can nest."""
        for names, levels in self.recursion.items():
            if all(any(n in m for n in names) for m in members):
                return levels
        raise ValueError("recursion without a declared depth, no static stack bound: " +
                         ", ".join(members))

    def _components(self, root: str) -> list[set[str]]:
        """Strongly connected components reachable from root, callees' before callers'."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on: set[str] = set()
        comps: list[set[str]] = []
        work = [(root, iter(sorted(self.targets(self.funcs[root]))))]
        index[root] = low[root] = 0
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for t in it:
                if t in self._memo:
                    continue
                if t not in index:
                    index[t] = low[t] = len(index)
                    stack.append(t)
                    on.add(t)
                    work.append((t, iter(sorted(self.targets(self.funcs[t])))))
                    advanced = True
                    break
                if t in on:
                    low[node] = min(low[node], index[t])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    m = stack.pop()
                    on.discard(m)
                    comp.add(m)
                    if m == node:
                        break
                comps.append(comp)
        return comps
