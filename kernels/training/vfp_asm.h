// Multiply-accumulate and block loads on the single-precision VFP of the Cortex-M4F / M7
// (FPv4-SP / FPv5).
// VMLA.F32 d, n, m is not fused: the ARM ARM defines it as d = FPAdd(d, FPMul(n, m)), the
// product rounded to float before the add, so it gives exactly the bits of `d + n * m` under
// -ffp-contract=off (a VMUL then a VADD) in one instruction. GCC never emits it under
// -ffp-contract=off, hence inline asm. (VFMA, fused, would change results: never use it.)
// Proven on both boards against VMUL + VADD on random and special operands:
// kernels/firmware (vmla_test).
#ifndef TFLM_TRAIN_KERNELS_TRAINING_VFP_ASM_H_
#define TFLM_TRAIN_KERNELS_TRAINING_VFP_ASM_H_

#if defined(__ARM_FP) && (__ARM_FP & 4) && !defined(TFLM_TRAIN_KERNELS_REFERENCE)
#define TFLM_TRAIN_VFP_ASM 1
#else
#define TFLM_TRAIN_VFP_ASM 0
#endif

// VMLA only on the Cortex-M7: its FPU pipelines VMLA.F32 and issues it in one slot, so it saves
// the VADD's. The Cortex-M4 TRM gives VMLA.F32 3 cycles against 1 + 1 for VMUL.F32 + VADD.F32:
// there it costs a cycle per multiply-accumulate (QEMU, counting instructions, would show the
// opposite). FPv5 (double precision, __ARM_FP bit 3) marks the M7 toolchains (fpv5-d16); the
// M4's fpv4-sp-d16 never sets it. An M7 built with fpv5-sp-d16 passes -DTFLM_TRAIN_VFP_VMLA=1.
#if !TFLM_TRAIN_VFP_ASM
#undef TFLM_TRAIN_VFP_VMLA
#define TFLM_TRAIN_VFP_VMLA 0
#elif !defined(TFLM_TRAIN_VFP_VMLA)
#if __ARM_FP & 8
#define TFLM_TRAIN_VFP_VMLA 1
#else
#define TFLM_TRAIN_VFP_VMLA 0
#endif
#endif

namespace tflm_train {

#if TFLM_TRAIN_VFP_ASM
// acc + a * b in one VMLA.F32 on any VFP core (kernels/firmware:vmla_test runs it on both boards).
inline float Vmla(float acc, float a, float b) {
  __asm__("vmla.f32 %0, %1, %2" : "+t"(acc) : "t"(a), "t"(b));
  return acc;
}
#endif

// acc + a * b with the product rounded first: the C++ expression, operand for operand.
inline float MulAdd(float acc, float a, float b) {
#if TFLM_TRAIN_VFP_VMLA
  return Vmla(acc, a, b);
#else
  return acc + a * b;
#endif
}

#if TFLM_TRAIN_VFP_ASM
// Consecutive floats p[0..n) into v with one VLDM (GCC emits a VLDR per float); the registers
// are fixed by the VLDM's list, so callers pick a set no other live load uses:
// LoadS24x4 / LoadS28x4 together, or LoadS24x8 alone.
inline void LoadS24x4(const float* p, float (&v)[4]) {
  register float a __asm__("s24"), b __asm__("s25"), c __asm__("s26"), d __asm__("s27");
  __asm__("vldmia %[p], {s24-s27}"
          : "=t"(a), "=t"(b), "=t"(c), "=t"(d)
          : [p] "r"(p), "m"(*reinterpret_cast<const float(*)[4]>(p)));
  v[0] = a, v[1] = b, v[2] = c, v[3] = d;
}

// The same, p then advanced past the 4 floats by the VLDM itself (writeback).
inline void LoadS24x4Next(const float*& p, float (&v)[4]) {
  register float a __asm__("s24"), b __asm__("s25"), c __asm__("s26"), d __asm__("s27");
  __asm__("vldmia %[p]!, {s24-s27}"
          : "=t"(a), "=t"(b), "=t"(c), "=t"(d), [p] "+r"(p)
          : "m"(*reinterpret_cast<const float(*)[4]>(p)));
  v[0] = a, v[1] = b, v[2] = c, v[3] = d;
}

inline void LoadS28x4(const float* p, float (&v)[4]) {
  register float a __asm__("s28"), b __asm__("s29"), c __asm__("s30"), d __asm__("s31");
  __asm__("vldmia %[p], {s28-s31}"
          : "=t"(a), "=t"(b), "=t"(c), "=t"(d)
          : [p] "r"(p), "m"(*reinterpret_cast<const float(*)[4]>(p)));
  v[0] = a, v[1] = b, v[2] = c, v[3] = d;
}

// p[j] = p[j] + a[j] for j < 4 (the stored value the first operand, as `p[j] + a[j]` compiles):
// one VLDM and one VSTM where GCC emits 4 VLDRs and 4 VSTRs. Uses s24-s27.
inline void AddToS24x4(float* p, float a0, float a1, float a2, float a3) {
  __asm__("vldmia %[p], {s24-s27}\n\t"
          "vadd.f32 s24, s24, %[a0]\n\t"
          "vadd.f32 s25, s25, %[a1]\n\t"
          "vadd.f32 s26, s26, %[a2]\n\t"
          "vadd.f32 s27, s27, %[a3]\n\t"
          "vstmia %[p], {s24-s27}"
          : "+m"(*reinterpret_cast<float(*)[4]>(p))
          : [p] "r"(p), [a0] "t"(a0), [a1] "t"(a1), [a2] "t"(a2), [a3] "t"(a3)
          : "s24", "s25", "s26", "s27");
}

// p[j] = p[j] * s[j] for j < 4 (p's value the first operand, as `p[j] * s[j]` compiles): two
// VLDMs, four VMULs and a VSTM where GCC loads, multiplies and stores float by float (~11
// estimated M4 cycles a float in its loop, here ~6). Uses s24-s31.
inline void MulByS24x4(float* p, const float* s) {
  __asm__("vldmia %[p], {s24-s27}\n\t"
          "vldmia %[s], {s28-s31}\n\t"
          "vmul.f32 s24, s24, s28\n\t"
          "vmul.f32 s25, s25, s29\n\t"
          "vmul.f32 s26, s26, s30\n\t"
          "vmul.f32 s27, s27, s31\n\t"
          "vstmia %[p], {s24-s27}"
          : "+m"(*reinterpret_cast<float(*)[4]>(p))
          : [p] "r"(p), [s] "r"(s), "m"(*reinterpret_cast<const float(*)[4]>(s))
          : "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31");
}

inline void LoadS24x8(const float* p, float (&v)[8]) {
  register float a __asm__("s24"), b __asm__("s25"), c __asm__("s26"), d __asm__("s27");
  register float e __asm__("s28"), f __asm__("s29"), g __asm__("s30"), h __asm__("s31");
  __asm__("vldmia %[p], {s24-s31}"
          : "=t"(a), "=t"(b), "=t"(c), "=t"(d), "=t"(e), "=t"(f), "=t"(g), "=t"(h)
          : [p] "r"(p), "m"(*reinterpret_cast<const float(*)[8]>(p)));
  v[0] = a, v[1] = b, v[2] = c, v[3] = d, v[4] = e, v[5] = f, v[6] = g, v[7] = h;
}
#endif

}  // namespace tflm_train

#endif  // TFLM_TRAIN_KERNELS_TRAINING_VFP_ASM_H_
