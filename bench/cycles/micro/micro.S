@ Micro-kernels whose Cortex-M4 cycles are derived by hand from the TRM in
@ tests/test_cycle_model.py; each kernel is a function the cycle plugin times from its entry
@ to its return (the BX LR included). main calls each once and exits through semihosting.
        .syntax unified
        .thumb
        .cpu cortex-m4
        .fpu fpv4-sp-d16

        .section .vectors, "a"
        .word   0x20004000              @ initial stack pointer: top of the 16 KB RAM
        .word   reset + 1

        .bss
        .align  3
scratch: .space 64

        .text
        .align  2
        .thumb_func
reset:  ldr     r0, =0xE000ED88         @ CPACR: full access to CP10/CP11 (the FPU)
        ldr     r1, [r0]
        orr     r1, r1, #(0xF << 20)
        str     r1, [r0]
        dsb
        isb
        ldr     r1, =scratch
        str     r1, [r1]                @ scratch[0] points at scratch: the load-use chain
        movs    r0, #100
        bl      smlad_loop
        ldr     r1, =scratch
        bl      ldm_block
        ldr     r1, =scratch
        bl      vldm_block
        movs    r0, #0
        bl      branches
        ldr     r1, =scratch
        bl      load_chain
        bl      float_ops
        movs    r0, #0x18               @ SYS_EXIT
        ldr     r1, =0x20026            @ ADP_Stopped_ApplicationExit
        bkpt    0xab
1:      b       1b
        .ltorg

        .align  2
        .thumb_func
smlad_loop:                             @ r0 iterations of two SMLADs
1:      smlad   r2, r3, r4, r2
        smlad   r5, r3, r4, r5
        subs    r0, r0, #1
        bne     1b
        bx      lr

        .align  2
        .thumb_func
ldm_block:
        ldm     r1, {r2, r3, r4, r5}
        ldm     r1, {r2, r3}
        bx      lr

        .align  2
        .thumb_func
vldm_block:
        vldmia  r1, {s0-s7}
        vldmia  r1, {d0-d1}
        bx      lr

        .align  2
        .thumb_func
branches:                               @ r0 == r0: BNE falls through, BEQ is taken
        cmp     r0, r0
        bne     1f
        beq     2f
1:      nop
2:      bx      lr

        .align  2
        .thumb_func
load_chain:                             @ r1 = scratch, scratch[0] = scratch
        ldr     r2, [r1]
        ldr     r3, [r2]
        ldr     r4, [r1, #4]
        ldr     r5, [r1, #8]
        add     r6, r1, #4
        ldr     r7, [r6]
        str     r7, [r1, #12]
        bx      lr

        .align  2
        .thumb_func
float_ops:
        vmla.f32 s0, s1, s2
        vmul.f32 s3, s1, s2
        vadd.f32 s0, s0, s3
        vdiv.f32 s4, s1, s2
        bx      lr
