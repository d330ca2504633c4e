"""The cycle model (bench/cycles): its classification of capstone's text, and micro-kernels
whose Cortex-M4 cycles are derived by hand from the TRM, run in QEMU with the plugin."""
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.cycles import model, trace

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
             "m7_vmla_chain", "m7_load_use", "m7_mac_chain"]
    marks = {n: trace.address_of(syms, n) for n in names}
    run = trace.run("an386", elf, list(marks.values()), timeout=60)
    assert run.rc == 0, run.output
    pricer = trace.Pricer(run.blocks)
    out = {}
    for n, addr in marks.items():
        (counts,) = trace.calls(run, addr)
        out[n] = (pricer.instructions(counts),
                  {v: pricer.cycles(counts, v) for v in model.PRICED})
    return out


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
