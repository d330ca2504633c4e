#!/bin/bash
# isa_check_test.sh <elf>...: the firmware of a board without FPU and DSP extension holds no
# instruction of either (no VFP asm, no DSP intrinsic, no hard-float code), and no libm function
# whose result is not exact (the float kernels' "no fused multiply-add, no libm" rule: fma,
# exp/log/pow/trigonometry; floor/round/frexp/fabs are exact and allowed).
set -u
# VFP: every mnemonic starting with v. DSP extension: the SIMD, saturating and 16x16 multiply
# instructions Armv7E-M adds to Armv7-M.
libm='^(fmaf?|fmal|expf?|exp2f?|expm1f?|logf?|log2f?|log10f?|log1pf?|powf?|sinf?|cosf?|tanf?|tanhf?|sqrtf?)$'
fail=0
for elf in "$@"; do
  # (objdump also decodes the strings in .text as instructions: the operand must be a register)
  hits=$(arm-none-eabi-objdump -d --no-show-raw-insn "$elf" | grep -Ec \
    '^\s*[0-9a-f]+:\s+(v[a-z0-9]+|smla[bdt][bt]?x?|smlaw[bt]|smlsdx?|smlal[bdt][bt]?x?|smlsldx?|smuadx?|smusdx?|smul[bt][bt]|smulw[bt]|smmlar?|smmlsr?|smmulr?|[su]xtab16|[su]xtb16|[su]xta[bh]|[us]h?(add|sub)(8|16)|[us]q(add|sub)(8|16)|q(add|sub)(8|16)?|qd(add|sub)|[us]h?(asx|sax)|[us]q(asx|sax)|qasx|qsax|ssat16|usat16|pkh(bt|tb)|sel|usada?8)(\.[a-z0-9.]+)?\s+(r[0-9]|ip|lr|sl|fp|sb|sp|[sdq][0-9]|\{|apsr|APSR|fpscr|fpexc)')
  funcs=$(arm-none-eabi-nm "$elf" | awk '$2 ~ /^[TtWw]$/ {print $3}' | grep -E "$libm" | tr '\n' ' ')
  attr=$(arm-none-eabi-readelf -A "$elf" | grep -E "Tag_(FP_arch|DSP_extension|CPU_arch):" | tr -s ' ' | tr '\n' ';')
  echo "$(basename "$elf"): $hits FPU/DSP instructions; libm functions: ${funcs:-none}; $attr"
  if [ "$hits" != 0 ]; then
    arm-none-eabi-objdump -d --no-show-raw-insn "$elf" | grep -E \
      '^\s*[0-9a-f]+:\s+(v[a-z0-9.]+|smla[bdt]|smua|sxtb16|uxtb16|qadd|qsub|sadd|ssub|pkh|sel)\s+[rsdq{ilf]' | head -5
    fail=1
  fi
  [ -z "$funcs" ] || fail=1
done
[ $fail = 0 ] && echo "PASS: no FPU or DSP instruction, no inexact libm function"
exit $fail
