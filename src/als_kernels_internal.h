/* als_kernels_internal.h - entry points shared by the files of the kernels
 * module (als_kernels.c, als_kernels_batch.c); not part of the public API. */
#ifndef ALS_KERNELS_INTERNAL_H
#define ALS_KERNELS_INTERNAL_H

#include <stdint.h>

/* Doubles of workspace the compact solve of ng groups of L systems of
 * order k needs (including 64-byte alignment slack). */
int64_t als__compact_ws_size(int k, int L, int ng);

/* Solve exactly ng·L systems (ng = 1 or 2 groups; L = 4 for generic and
 * avx2, 8 for avx512) in the compact layout: A[l] upper triangle row-major k×k (read only), b[l]
 * overwritten by the solution when info[l] ends 0. info[l] must be 0 or
 * already nonzero on entry (nonzero lanes are computed but not written
 * back); on return it holds -1 for the lanes with NaN/Inf in the upper
 * triangle of A[l] or in b[l], else the 1-based failing minor for the lanes
 * that were not positive definite. */
void als__compact_solve_generic(int k, int ng, const double *const *A, double *const *b,
                                int *info, double *ws);
#if defined(__x86_64__) || defined(__i386__)
void als__compact_solve_avx2(int k, int ng, const double *const *A, double *const *b,
                             int *info, double *ws);
void als__compact_solve_avx512(int k, int ng, const double *const *A, double *const *b,
                               int *info, double *ws);
#endif

#endif
