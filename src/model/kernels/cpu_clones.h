// cpu_clones.h — LUMAMBA_CPU_CLONES, private to the hand-written CPU kernels (src/model/kernels/).
// GCC builds an AVX-512, an AVX2 and a baseline copy of a function so marked and picks one when the
// program loads (ifunc); elsewhere (clang, other architectures) the function is built once.
// The selective scan does its own per-ISA copies (it also changes its lane count per ISA).
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LUMAMBA_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LUMAMBA_CPU_CLONES
#endif
