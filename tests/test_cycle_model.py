"""The cycle model (bench/cycles): its classification of capstone's text, and micro-kernels
whose Cortex-M4 cycles are derived by hand from the TRM, run in QEMU with the plugin; the M7
point estimate (bench/cycles/m7_issue.py) derived by hand on the same kernels and checked
against llvm-mca's simulation of LLVM's Cortex-M7 model."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.cycles import m7_issue, model, trace

MICRO = Path(trace.__file__).resolve().parent / "micro"


def price(lines, variant="m4"):
    insns = [model.classify(t, s) for t, s in lines]
    return model.block_cycles(insns, variant)


@pytest.mark.parametrize("text,kind", [
    ("movs r0, #1", "alu"), ("lsls r1, r2, #3", "alu"), ("sbcs.w r1, r2, r3", "alu"),
    ("bics r0, r1", "alu"), ("teq.w r0, r1", "alu"), ("moveq r0, #1", "alu"),
    ("smlal r0, r1, r2, r3", "mul"), ("umlal r0, r1, r2, r3", "mul"), ("mls r0, r1, r2, r3",
                                                                           "mla"),
    ("smlad r0, r1, r2, r0", "mul"), ("sdiv r0, r1, r2", "div"), ("bls #0x100", "branch"),
    ("blo #0x100", "branch"), ("bl #0x100", "branch"), ("bxeq lr", "branch"),
    ("cbz r0, #0x10", "branch"), ("ldrsb.w r0, [r1, #1]", "load"), ("ldrd r0, r1, [r2]", "ldrd"),
    ("pop.w {r4, r5, r6, r7, r8, sb, pc}", "ldm"), ("vldmia r0!, {d0, d1}", "vldm"),
    ("vmla.f32 s0, s1, s2", "fpmac"), ("vsqrt.f32 s0, s1", "fpdiv"), ("itte eq", "it"),
    ("vmov r0, r1, d0", "vmov2"), ("vcvt.f32.s32 s0, s0", "fp"),
])
def test_classify(text, kind):
    assert model.classify(text, 4).kind == kind


def test_register_lists_and_returns():
    # POP {..., pc}: 1 + N + P; VLDM of D registers moves two words each
    assert price([("pop.w {r4, r5, r6, r7, r8, sb, pc}", 4)]) == ([1 + 7 + 2], False)
    assert price([("vldmia r0!, {d0, d1}", 4)]) == ([1 + 4], False)
    assert price([("vpush {s16, s17, s18}", 4)]) == ([1 + 3], False)


def test_pipelining_and_stalls():
    # a load after a load: 1 unless it uses the first one's result for its address
    assert price([("ldr r0, [r1]", 2), ("ldr r2, [r3]", 2)])[0] == [2, 1]
    assert price([("ldr r0, [r1]", 2), ("ldr r2, [r0]", 2)])[0] == [2, 2]
    # an address from the preceding data-processing result: one more cycle
    assert price([("adds r0, r1, r2", 2), ("ldr r2, [r0]", 2)])[0] == [1, 3]
    assert price([("adds r0, r1, r2", 2), ("str r2, [r3, r0]", 2)])[0] == [1, 3]
    # stores: immediate offset 1, register offset 2 (1 after a load)
    assert price([("str r0, [r1, #4]", 2), ("str r0, [r1, r2]", 2)])[0] == [1, 2]
    # IT folds onto a preceding 16-bit instruction only
    assert price([("cmp r0, #0", 2), ("it eq", 2)])[0] == [1, 0]
    assert price([("cmp.w r0, #0x100", 4), ("it eq", 2)])[0] == [1, 1]
    # a final branch: 1 here, P per taken execution added from the plugin's count
    assert price([("subs r0, #1", 2), ("bne #0x10", 2)]) == ([1, 1], True)


def _have_tools():
    return all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "gcc"))


@pytest.fixture(scope="module")
def micro_run(tmp_path_factory):
    if not _have_tools():
        pytest.skip("needs arm-none-eabi-gcc, qemu-system-arm and gcc")
    elf = tmp_path_factory.mktemp("micro") / "micro.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16",
                    "-mfloat-abi=hard", "-nostdlib", "-T", str(MICRO / "micro.ld"),
                    str(MICRO / "micro.S"), "-o", str(elf)], check=True)
    syms = trace.symbols(elf)
    names = ["smlad_loop", "ldm_block", "vldm_block", "branches", "load_chain", "float_ops",
             "m7_vmla_chain", "m7_load_use", "m7_mac_chain", "split_loop", "whole_loop"]
    marks = {n: trace.address_of(syms, n) for n in names}
    run = trace.run("an386", elf, list(marks.values()), timeout=60)
    assert run.rc == 0, run.output
    pricer = trace.Pricer(run.blocks)
    out = {}
    for n, addr in marks.items():
        (counts,) = trace.calls(run, addr)
        out[n] = (pricer.instructions(counts),
                  {v: pricer.cycles(counts, v) for v in trace.VARIANTS})
    # how QEMU cut split_loop: blocks that start inside it
    lo = marks["split_loop"]
    out["split_loop_blocks"] = sorted({v for v, _ in run.blocks.values() if lo <= v < lo + 32})
    return out


def test_runs_of_blocks_share_the_final_branch():
    # two entries (0x0f8 and 0x100) fall through, without a branch, into the block at 0x104,
    # which also runs 5 times on its own (a branch to it): three runs, and the 36 taken
    # branches shared by executions (the M4 prices each taken one P = 2: 72 in every split)
    blocks = {0: (0x0f8, [(0x0f8, 4, "ldr.w r2, [r1]"), (0x0fc, 4, "ldr.w r3, [r1]"),
                          (0x100, 4, "ldr.w r4, [r1]")]),
              1: (0x100, [(0x100, 4, "ldr.w r4, [r1]")]),
              2: (0x104, [(0x104, 4, "ldr.w r5, [r1]"), (0x108, 2, "subs r0, #1"),
                          (0x10a, 2, "bne #0x100")])}
    pricer = trace.Pricer(blocks)
    counts = {0: (30, 30), 1: (10, 0), 2: (45, 36)}
    assert pricer.units(counts) == {(0, 2): (30, 24.0), (1, 2): (10, 8.0), (2,): (5, 4.0)}
    # joined, the load at 0x104 pipelines behind the one before it: 1 cycle, alone 2
    assert pricer.cycles(counts, "m4") == 30 * (2 + 1 + 1 + 1 + 1 + 1) + 10 * (2 + 1 + 1 + 1) \
        + 5 * (2 + 1 + 1) + 36 * 2
    assert pricer.instructions(counts) == 30 * 3 + 10 + 45 * 3


def test_placement_does_not_change_the_estimate(micro_run):
    # QEMU cut the split loop at the page (0x800) and around its straddling load (0x7fe)...
    assert micro_run["split_loop_blocks"] == [0x7ee, 0x7fe, 0x802, 0x80c]  # 0x80c: BX LR
    # ...but the model joins blocks that end without a branch: every variant prices the loop
    # as at its whole placement, where the straddling load pipelines behind the one before
    # (50 x 8 instructions + BX LR)
    assert micro_run["split_loop"][0] == micro_run["whole_loop"][0] == 401
    assert micro_run["split_loop"][1] == micro_run["whole_loop"][1]
    # M4: LDR 2, LDR 1, SMLAD 1, LDR 2, LDR 1, SMLAD 1, SUBS 1, BNE 1 (+ P when taken: 49
    # times) and BX LR 1 + P
    for variant, (p, _) in model.VARIANTS.items():
        assert micro_run["whole_loop"][1][variant] == 50 * 10 + 49 * p + 1 + p, variant


# Hand derivations (Cortex-M4 TRM, zero wait states; P = pipeline refill, 2 in `m4`, 1 in
# `m4_low`, 3 in `m4_high`); each kernel ends with BX LR = 1 + P.
@pytest.mark.parametrize("name,insns,cycles", [
    # 100 x (SMLAD 1 + SMLAD 1 + SUBS 1 + BNE 1) + 99 taken x P + BX LR
    ("smlad_loop", 401, lambda p: 400 + 99 * p + 1 + p),
    # LDM {4 regs} 1 + 4, LDM {2 regs} 1 + 2
    ("ldm_block", 3, lambda p: 5 + 3 + 1 + p),
    # VLDM {s0-s7} 1 + 8, VLDM {d0-d1} 1 + 4 words
    ("vldm_block", 3, lambda p: 9 + 5 + 1 + p),
    # CMP 1, BNE not taken 1, BEQ taken 1 + P (the NOP skipped)
    ("branches", 4, lambda p: 1 + 1 + (1 + p) + 1 + p),
    # LDR 2; LDR from the loaded address 2 (not pipelined); LDR, LDR pipelined 1 + 1;
    # ADD 1; LDR from the ADD's result 2 + 1 (no forwarding to the address); STR #imm 1
    ("load_chain", 8, lambda p: 2 + 2 + 1 + 1 + 1 + 3 + 1 + 1 + p),
    # VMLA 3, VMUL 1, VADD 1, VDIV 14
    ("float_ops", 5, lambda p: 3 + 1 + 1 + 14 + 1 + p),
    # VMLA 3 x 3, VADD 1, VSTR.32 2
    ("m7_vmla_chain", 6, lambda p: 3 + 3 + 3 + 1 + 2 + 1 + p),
    # LDRB 2, ADDS 1, LDR 2 (after an ADDS), LDR from the loaded address 2, MUL 1, ADDS 1
    ("m7_load_use", 7, lambda p: 2 + 1 + 2 + 2 + 1 + 1 + 1 + p),
    # SMLAD 1, SMLAD 1, SMMLAR 1, SSAT 1
    ("m7_mac_chain", 5, lambda p: 1 + 1 + 1 + 1 + 1 + p),
])
def test_micro_kernel_cycles(micro_run, name, insns, cycles):
    got_insns, got = micro_run[name]
    assert got_insns == insns
    for variant, (p, _) in model.VARIANTS.items():
        assert got[variant] == cycles(p), variant


# Hand derivations of the M7 bound (`m7_high`, P = 2): single issue; a result of latency L
# reaches an EX2 reader issued L cycles later, an address (EX1) one cycle later still, store
# data and a MAC accumulator one cycle sooner, VMLA's accumulator 3 sooner (model.py's L7
# latencies: ALU 1, MUL/SMLAD 2, word load 1, byte load 2, SSAT 2, FP 3, VMLA 6, VDIV 16).
@pytest.mark.parametrize("name,cycles", [
    # as on the M4: the SMLADs accumulate (1 each, no stall), the loop's branch 1 + P
    ("smlad_loop", 400 + 99 * 2 + 1 + 2),
    ("ldm_block", 5 + 3 + 1 + 2),     # LDM keeps the M4's 1 + N (no M7 figure)
    ("vldm_block", 9 + 5 + 1 + 2),
    ("branches", 1 + 1 + (1 + 2) + 1 + 2),
    # LDR 1; LDR [r2] waits for r2 (ready at 1, its address needed at 2): 2; LDR 1; LDR 1;
    # ADD 1 (r6 ready at 6); LDR [r6]: 2; STR 1; BX LR 1 + P
    ("load_chain", 1 + 2 + 1 + 1 + 1 + 2 + 1 + 1 + 2),
    # VMLA 1 (s0 at 6); VMUL 1; VADD reads s0 at EX2: issues at 6, 5; VDIV 16; BX LR 1 + P
    ("float_ops", 1 + 1 + 5 + 16 + 1 + 2),
    # VMLA 1 (s0 at 6); the chained VMLA reads its accumulator 3 later: issues at 3, 3;
    # VMLA s3 1 (s3 at 10); VADD waits for s3: issues at 10, 6; VSTR reads s4 (13) 2 later:
    # issues at 11, 1; BX LR 1 + P
    ("m7_vmla_chain", 1 + 3 + 1 + 6 + 1 + 1 + 2),
    # LDRB 1 (r2 at 2); ADDS 2; LDR issues at 3 (r4 at 4); LDR [r4] needs it at EX1: issues
    # at 5, 2; MUL 1 (r6 at 8); ADDS 2; BX LR 1 + P
    ("m7_load_use", 1 + 2 + 1 + 2 + 1 + 2 + 1 + 2),
    # SMLAD 1 (r0 at 2); SMLAD reads the accumulator 1 later: 1 (r0 at 3); SMMLAR reads r0
    # as a multiplicand: issues at 3, 2 (r3 at 5); SSAT reads at EX1: issues at 6, 3
    ("m7_mac_chain", 1 + 1 + 2 + 3 + 1 + 2),
])
def test_micro_kernel_cycles_m7(micro_run, name, cycles):
    assert micro_run[name][1]["m7_high"] == cycles


def test_m7_operands():
    # VMLA's accumulator is read 3 cycles after EX2: four independent VMLAs issue 1 a cycle,
    # four on one accumulator 3 apart
    indep = [("vmla.f32 s%d, s8, s9" % k, 4) for k in range(4)]
    assert price(indep, "m7_high")[0] == [1, 1, 1, 1]
    assert price([("vmla.f32 s0, s8, s9", 4)] * 4, "m7_high")[0] == [1, 3, 3, 3]
    # D registers are two S registers; a VLDM's registers are ready when it ends
    assert price([("vldmia r0!, {d0, d1}", 4), ("vadd.f32 s3, s3, s3", 4)], "m7_high")[0] \
        == [5, 1]
    assert price([("vmov r0, r1, d1", 4), ("vadd.f32 s3, s3, s3", 4)], "m7_high")[0] == [2, 1]
    assert price([("vadd.f32 s3, s3, s3", 4), ("vmov r0, r1, d1", 4)], "m7_high")[0] == [1, 4]
    # post-indexed and pre-indexed writeback are free for the next address; immediates such
    # as #-4 are no registers
    assert price([("ldr r3, [r0], #4", 4), ("ldr r4, [r0, #-4]!", 4), ("ldr r5, [r0]", 2)],
                 "m7_high")[0] == [1, 1, 1]
    # a register-offset address reads both registers at EX1
    assert price([("adds r1, #1", 2), ("ldr r5, [r0, r1, lsl #2]", 4)], "m7_high")[0] == [1, 2]
    # STRD's data is read at EX3, LDRD's results come at 1 after its 3 cycles
    assert price([("ldrd r2, r3, [r0]", 4), ("strd r2, r3, [r1]", 4)], "m7_high")[0] == [3, 3]


# Hand derivations of the M7 point estimate (`m7`, bench/cycles/m7_issue.py): two instructions
# a cycle in order, one MAC, one VFP, one store and two load pipes; LDM/VLDM alone for
# ceil(words / 2) cycles; results at model.py's L7 latencies and read stages; no VADD/VLDM in
# the 3 cycles after a VMLA; a block starts on a fresh cycle; conditional branches mispredict
# in their minority direction (P = 6; `m7_est_low` 4; `m7_est_high` 8, every indirect branch
# mispredicted, +1 per taken branch and no pairing across a loop's back-edge). Every kernel
# ends with BX LR: 1 issue slot, and in the high variant + 8 (mispredicted) + 1 (taken).
@pytest.mark.parametrize("name,point,high", [
    # the loop block: first pass SMLAD | SMLAD + SUBS | BNE = 3; then BNE pairs with the next
    # SMLAD: 2 an iteration for the 99 back-edges (high: 3, + 1 per taken BNE); its one exit
    # mispredicts; BX LR is a block of its own: 1
    ("smlad_loop", 3 + 99 * 2 + 6 + 1, 3 + 99 * 3 + 8 + 99 + 1 + 9),
    # LDM of 4 words 2 cycles, of 2 words 1, BX LR 1
    ("ldm_block", 2 + 1 + 1, 2 + 1 + 1 + 9),
    # VLDM of 8 words 4, of 4 words (two D registers) 2, BX LR 1
    ("vldm_block", 4 + 2 + 1, 4 + 2 + 1 + 9),
    # three blocks: CMP + BNE (never taken: predicted) 1; BEQ (always taken: predicted) 1
    # (high: + 1 taken); BX LR 1
    ("branches", 1 + 1 + 1, 1 + (1 + 1) + 1 + 9),
    # LDR 0; LDR [r2] waits for r2 at EX1: 2, paired with LDR r4; LDR r5 + ADD 3; LDR [r6]
    # 5 + STR (its data read a stage late) 5; BX LR 6: 7
    ("load_chain", 7, 7 + 9),
    # VMLA 0, VMUL 1 (one VFP pipe), VADD waits for s0: 6, VDIV alone 7..22, BX LR 23: 24
    ("float_ops", 24, 24 + 9),
    # VMLA 0; the chained VMLA 3; VMLA s3 4 (s3 at 10); VADD 10; VSTR 11 + BX LR: 12
    ("m7_vmla_chain", 12, 12 + 9),
    # LDRB 0 (r2 at 2); ADDS 2 + LDR 2 (r4 at 3); LDR [r4] 4; MUL 5 (r6 at 7); ADDS 7 + BX
    # LR: 8
    ("m7_load_use", 8, 8 + 9),
    # SMLAD 0; SMLAD 1 (accumulator a stage late); SMMLAR 3 (r0 at 3); SSAT 6 (at EX1) + BX
    # LR: 7
    ("m7_mac_chain", 7, 7 + 9),
])
def test_micro_kernel_cycles_m7_point(micro_run, name, point, high):
    got = micro_run[name][1]
    assert got["m7"] == point
    assert got["m7_est_high"] == high
    # the low variant differs only by a 4-cycle mispredict
    assert got["m7_est_low"] == point - (2 if name == "smlad_loop" else 0)
    # the point estimate lies between the bounds
    assert micro_run[name][0] / 2 <= got["m7"] <= got["m7_high"]


def issue(lines):
    p = m7_issue.Pipeline()
    return [p.issue(model.classify(t, 4)) for t in lines]


def test_m7_dual_issue_rules():
    # two ALU pipes; one Shift1 for inline-shifted operands; DSP ops only as the older slot
    assert issue(["add.w r0, r0, r1", "add.w r2, r2, r3", "add.w r4, r4, r5"]) == [0, 0, 1]
    assert issue(["add.w r0, r1, r2, lsl #2", "add.w r3, r4, r5, lsl #2"]) == [0, 1]
    assert issue(["adds r4, r5", "sxtb16 r0, r1"]) == [0, 1]
    # a MAC pairs with no store (measured), MACs never with each other
    assert issue(["mul r0, r1, r2", "str r3, [r4]"]) == [0, 1]
    assert issue(["smlad r0, r1, r2, r0", "smlad r3, r1, r2, r3"]) == [0, 1]
    # the two-operand form reads its destination
    assert issue(["mul r0, r1, r2", "adds r0, #1"]) == [0, 2]
    # after a VMLA: VLDM waits 3 cycles, VLDR.32 only not as the younger slot
    assert issue(["vmla.f32 s0, s1, s2", "vldmia r0, {s4, s5}"]) == [0, 4]
    assert issue(["vmla.f32 s0, s1, s2", "vldr s4, [r0]"]) == [0, 1]
    assert issue(["vmla.f32 s0, s1, s2", "adds r1, #1", "vldr s4, [r0]"]) == [0, 0, 1]
    # LDM registers arrive one cycle after the last pair
    assert issue(["ldm.w r1, {r2, r3, r4}", "add.w r5, r4, r4"]) == [0, 2]


def test_m7_block_accounting():
    loop = [model.classify(t, s) for t, s in
            [("smlad r2, r3, r4, r2", 4), ("subs r0, #1", 2), ("bne #0x100", 2)]]
    cost = m7_issue.block_cost(0x100, loop)
    assert cost.loop and cost.kind == "cond" and cost.single == 2
    # SMLAD + SUBS | BNE + SMLAD | SUBS + BNE | SMLAD + SUBS ...: 3 cycles per 2 iterations;
    # without pairing across the back-edge 2 an iteration
    assert cost.steady["m7"] == 1.5 and cost.steady["m7_est_high"] == 2
    # 10 entries of 5 iterations: 10 first passes, 40 back-edges, 10 exits mispredicted
    assert m7_issue.cycles(cost, 50, 40, "m7") == 10 * 2 + 40 * 1.5 + 10 * 6
    assert m7_issue.cycles(cost, 50, 40, "m7_est_high") == 10 * 2 + 40 * 2 + 10 * 8 + 40
    # a 50/50 forward branch: half its executions mispredict
    fwd = m7_issue.block_cost(0x200, loop)
    assert not fwd.loop
    assert m7_issue.cycles(fwd, 100, 50, "m7") == 100 * 2 + 50 * 6
    # returns: predicted in the point estimate, mispredicted in the high variant
    ret = m7_issue.block_cost(0x300, [model.classify("pop {r4, r5, pc}", 2)])
    assert ret.kind == "indirect" and ret.single == 2
    assert m7_issue.cycles(ret, 10, 10, "m7") == 20
    assert m7_issue.cycles(ret, 10, 10, "m7_est_high") == 20 + 80 + 10
    assert m7_issue.branch_kind([model.classify("bl #0x400", 4)]) == "direct"
    assert m7_issue.branch_kind([model.classify("cbz r0, #0x10", 2)]) == "cond"
    assert m7_issue.branch_kind([model.classify("tbb [pc, r0]", 4)]) == "indirect"


def empty_slots(lines):
    lost = {}
    cycles = m7_issue.single_pass([model.classify(t, 4) for t in lines], lost)
    return cycles, lost


def test_m7_empty_slots_by_reason():
    # SMLAD | SMLAD: the MAC pipe takes one a cycle; the last cycle's other slot: block end
    assert empty_slots(["smlad r0, r1, r2, r0", "smlad r3, r1, r2, r3"]) == \
        (2, {"mac pipe busy": 1, "block boundary": 1})
    # an LDM of 4 issues alone for 2 cycles (3 empty slots); the ADD then has its r4
    assert empty_slots(["ldm.w r1, {r2, r3, r4, r5}", "add.w r6, r4, r4"]) == \
        (3, {"alone: ldm": 3, "block boundary": 1})
    # the ADDS waits 2 cycles for the MUL's result
    assert empty_slots(["mul r0, r1, r2", "adds r0, #1"]) == \
        (3, {"waits for mul": 3, "block boundary": 1})
    # SXTB16 takes only the older slot; a VLDM waits 3 cycles after a VMLA
    assert empty_slots(["adds r4, #1", "sxtb16 r0, r1"])[1] == \
        {"older slot only: sxtb16": 1, "block boundary": 1}
    assert empty_slots(["vmla.f32 s0, s1, s2", "vldmia r0, {s4, s5}"]) == \
        (5, {"VLDM/VADD... in the 3 cycles after a VMLA": 7, "alone: vldm": 1})
    # a full pair leaves nothing
    assert empty_slots(["ldr r0, [r1]", "smlad r2, r3, r4, r2"]) == (1, {})


def test_m7_empty_slots_add_up():
    """Instructions plus empty slots are two slots a cycle, for a block's single pass, a
    loop's steady state and a whole run with its mispredictions."""
    loop = [model.classify(t, s) for t, s in
            [("ldr r5, [r1], #4", 4), ("smlad r2, r5, r4, r2", 4), ("smlad r3, r5, r4, r3", 4),
             ("subs r0, #1", 2), ("bne #0x100", 2)]]
    for pair in (True, False):
        lost = {}
        steady = m7_issue.steady_state(loop, pair, lost)
        assert 2 * steady == pytest.approx(len(loop) + sum(lost.values()))
    cost = m7_issue.block_cost(0x100, loop)
    for v in m7_issue.VARIANTS:
        lost = m7_issue.lost_slots(cost, loop, 50, 40, v)
        assert 2 * m7_issue.cycles(cost, 50, 40, v) == pytest.approx(
            50 * len(loop) + sum(lost.values()) + (2 * 40 if v == "m7_est_high" else 0))
        assert lost["mispredicted branches"] == 2 * 10 * m7_issue.VARIANTS[v][0]


# ---- llvm-mca: LLVM's own simulation of its Cortex-M7 model (Debian's llvm-14, the M7
# build's FPU: -mfpu=fpv5-d16 = +fp-armv8d16) ----
LLVM_MCA = shutil.which("llvm-mca") or shutil.which("llvm-mca-14")


def llvm_mca_issue(lines, tmp_path):
    """The cycle llvm-mca issues each instruction in (one iteration, its timeline's D)."""
    src = tmp_path / "block.s"
    src.write_text("\n".join(lines) + "\n")
    out = subprocess.run([LLVM_MCA, "-mtriple=thumbv7em-none-eabi", "-mcpu=cortex-m7",
                          "-mattr=+fp-armv8d16", "-iterations=1", "-timeline",
                          "-timeline-max-cycles=0", "-resource-pressure=false",
                          "-instruction-info=false", str(src)],
                         capture_output=True, text=True, check=True).stdout
    header = next(l for l in out.splitlines() if l.startswith("Index"))
    col = len(header) - len(header[len("Index"):].lstrip())
    return [l.index("D", col) - col for l in out.splitlines() if re.match(r"^\[0,\d+\]", l)]


needs_mca = pytest.mark.skipif(LLVM_MCA is None, reason="llvm-mca not installed (Debian "
                               "package llvm-14, in scripts/install.sh's apt list)")


@needs_mca
@pytest.mark.parametrize("lines", [
    # the load_chain kernel: address registers at EX1, load pairs, store data a stage late
    ["ldr r2, [r1]", "ldr r3, [r2]", "ldr r4, [r1, #4]", "ldr r5, [r1, #8]",
     "add.w r6, r1, #4", "ldr r7, [r6]", "str r7, [r1, #0xc]"],
    ["add.w r0, r0, r1", "add.w r2, r2, r3", "add.w r4, r4, r5", "add.w r6, r6, r7"],
    ["add.w r0, r1, r2, lsl #2", "add.w r3, r4, r5, lsl #2", "add.w r6, r6, r7"],
    ["ldrb r0, [r1]", "adds r2, r0, #1"],
    ["ldrh r0, [r1]", "ldrsb r2, [r3]", "add.w r4, r0, r2"],
    ["sxtb16 r0, r1", "sxtb16 r2, r3", "add.w r4, r4, r5"],
    ["ldr r0, [r1]", "ldr r2, [r3]", "ldr r4, [r5]", "str r6, [r7]", "str r6, [r7, #4]"],
    ["ldrd r0, r1, [r2]", "add.w r3, r3, r4", "add.w r5, r5, r6"],
    ["bfi r0, r1, #0, #8", "add.w r2, r2, r3", "clz r4, r5", "add.w r6, r6, r7"],
    ["vldr s0, [r0]", "vldr s1, [r0, #4]", "vadd.f32 s2, s0, s1"],
])
def test_m7_point_matches_llvm_mca(lines, tmp_path):
    """Where the estimate applies LLVM's model as llvm-mca does, both issue alike."""
    assert issue(lines) == llvm_mca_issue(lines, tmp_path)


@needs_mca
@pytest.mark.parametrize("lines,mca,ours", [
    # llvm-mca writes results back in program order: SUBS waits for the SMLAD's 2-cycle
    # result, an ADDS or a post-indexed base for a load's; the M7 chains MACs every cycle
    # and pairs ALU work beside them (m7_issue.py's docstring)
    (["smlad r2, r3, r4, r2", "smlad r5, r3, r4, r5", "subs r0, r0, #1"], [0, 1, 3], [0, 1, 1]),
    (["vadd.f32 s0, s1, s2", "vmul.f32 s3, s4, s5", "vldr s6, [r0]"], [0, 1, 3], [0, 1, 1]),
    (["ldr r0, [r1]", "add.w r2, r0, r3", "ldr r4, [r2]", "str r4, [r5], #4"],
     [0, 1, 3, 4], [0, 1, 3, 3]),
    # LLVM issues an LDM of any length in one cycle; the M7 moves two words a cycle
    (["ldm.w r1, {r2, r3, r4, r5}", "add.w r0, r0, r1"], [0, 1], [0, 2]),
    # LLVM pairs a MAC with a store; measured on an M7, they never pair
    (["mul r0, r1, r2", "str r3, [r4]"], [0, 0], [0, 1]),
])
def test_m7_point_departs_from_llvm_mca(lines, mca, ours, tmp_path):
    """The documented departures from llvm-mca, each seen in the installed llvm-mca."""
    assert llvm_mca_issue(lines, tmp_path) == mca
    assert issue(lines) == ours
