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
        ldr     r1, =scratch
        bl      m7_vmla_chain
        ldr     r1, =scratch
        bl      m7_load_use
        bl      m7_mac_chain
        ldr     r1, =scratch
        movs    r0, #50
        bl      split_loop
        ldr     r1, =scratch
        movs    r0, #50
        bl      whole_loop
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

@ The M7 bound's latencies (tests/test_cycle_model.py derives both tables' cycles).
        .align  2
        .thumb_func
m7_vmla_chain:                          @ r1 = scratch
        vmla.f32 s0, s1, s2
        vmla.f32 s0, s1, s2             @ the same accumulator
        vmla.f32 s3, s1, s2             @ another one
        vadd.f32 s4, s3, s1             @ reads the last VMLA's result
        vstr    s4, [r1]                @ stores the VADD's
        bx      lr

        .align  2
        .thumb_func
m7_load_use:                            @ r1 = scratch, scratch[0] = scratch
        ldrb    r2, [r1]
        adds    r3, r2, #1              @ uses the byte just loaded
        ldr     r4, [r1]
        ldr     r5, [r4]                @ the word just loaded is its address
        mul     r6, r5, r5
        adds    r7, r6, #1              @ uses the product
        bx      lr

        .align  2
        .thumb_func
m7_mac_chain:
        smlad   r0, r1, r2, r0
        smlad   r0, r1, r2, r0          @ accumulates the previous sum
        smmlar  r3, r0, r1, r2          @ multiplies it
        ssat    r3, #8, r3              @ saturates the product
        bx      lr

@ One loop at two placements (micro.ld puts the sections): split_loop's fifth instruction
@ straddles the 1 KB page boundary at 0x800, where QEMU ends its translation blocks (the loop
@ runs as three blocks, the pipelined load at the split in a block of its own); whole_loop
@ sits inside one page. A core sees no page, so both must price the same.
        .macro  page_loop
1:      ldr.w   r2, [r1]
        ldr.w   r3, [r1, #4]            @ pipelined behind the first load
        smlad   r4, r2, r3, r4
        ldr.w   r5, [r1, #8]
        ldr.w   r6, [r1, #12]           @ pipelined; in split_loop at 0x7fe..0x801
        smlad   r4, r5, r6, r4
        subs.w  r0, r0, #1
        bne     1b
        bx      lr
        .endm

        .section .text.split, "ax"
        .thumb_func
split_loop:                             @ r0 iterations, r1 = scratch
        page_loop

        .section .text.whole, "ax"
        .thumb_func
whole_loop:
        page_loop
