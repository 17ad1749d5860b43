/* als_clones.h - ALS_CLONES: a plain C function compiled for AVX-512 and
 * AVX2 too on x86-64 with GCC (target_clones, the variant chosen at load
 * time; ALS_NO_CLONES turns it off). Internal to src/.
 *
 * Floating-point contraction is off (-std=c11) and the vectorizer only
 * widens independent lanes (the 8 partial sums of als_dot8 are 8 lanes,
 * combined in the same fixed tree), so every clone gives the bits of the
 * default one. */
#ifndef ALS_CLONES_H
#define ALS_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ALS_NO_CLONES)
#define ALS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ALS_CLONES
#endif

#endif
