// KQ_MULTIVERSION: compile a hot elementwise loop for several x86-64 ISAs and pick one at load
// time (GCC function multiversioning through an ifunc; x86-64-v4 = AVX-512, v3 = AVX2). The
// build targets baseline x86-64 (SSE2) so that one binary runs everywhere; these loops
// (quantize, requantize, dequantize, splice) are byte/float conversions that the wider ISAs do
// several times faster (measured: the input quantization of tdnnf-small's int8 forward went from
// 17 % to 4 % of the run). Results are identical
// on every ISA: the build sets -ffp-contract=off (no FMA contraction), and these loops do no
// floating-point reductions, which the compiler may not reorder anyway.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KQ_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KQ_MULTIVERSION
#endif
