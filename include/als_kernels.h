/* als_kernels.h - the per-row kernels of the ALS half-steps (local).
 *
 * For one row (a user in the U-step, an item in the V-step) with n ratings
 * r[0..n) of the rows idx[0..n) of the fixed factor matrix X (row-major,
 * leading dimension k), the normal equation needs
 *     A = sum_t X[idx[t]] X[idx[t]]^T    (k×k, symmetric)
 *     b = sum_t r[t] X[idx[t]]           (k)
 * The gram kernels OVERWRITE the upper triangle of A (row-major, A[p*k+q] for
 * p <= q, diagonal included) and all of b; the strict lower triangle of A is
 * left unspecified. n == 0 gives A = 0, b = 0.
 *
 * Two implementations of each kernel:
 *   *_ref  - the obviously correct one: gather the rows in blocks of at most
 *            ALS_REF_BLOCK into ws, cblas_dsyrk (upper, beta 1 after the
 *            first block) and cblas_dgemv for b; LAPACKE_dposv for the solve.
 *            Kept as the oracle for the tests.
 *   *_fast - register-blocked kernels with runtime CPU dispatch (AVX-512,
 *            AVX2+FMA, portable C). Results differ from *_ref by rounding only.
 * Both are deterministic: the result depends only on the inputs (and on the
 * instruction set chosen at start-up), never on threads or ranks.
 * Thread safety: all kernels are reentrant; ws must be per-thread.
 */
#ifndef ALS_KERNELS_H
#define ALS_KERNELS_H

#include <stdint.h>

#define ALS_REF_BLOCK 256

/* Workspace doubles the *_ref gram kernel needs for rank k. */
int64_t als_gram_ws_size(int k);

void als_gram_rhs_ref(int k, int64_t n, const int64_t *idx, const double *r,
                      const double *X, double *A, double *b, double *ws);
void als_gram_rhs_fast(int k, int64_t n, const int64_t *idx, const double *r,
                       const double *X, double *A, double *b, double *ws);

/* Solve A x = b for symmetric positive definite A given by its upper
 * triangle (row-major k×k); A is overwritten by its Cholesky factor and b by
 * x. Returns 0 on success, or the 1-based order of the leading minor that is
 * not positive definite (as LAPACK's info), or -1 when A holds NaN/Inf. */
int als_solve_spd_ref(int k, double *A, double *b);
int als_solve_spd_fast(int k, double *A, double *b);

/* Kernel selection, set once at start-up (before any parallel region). */
typedef enum { ALS_KERNEL_REF = 0, ALS_KERNEL_FAST = 1 } als_kernel_t;

/* The instruction set the fast kernels dispatch to on this CPU:
 * "avx512", "avx2" or "generic". Local. */
const char *als_kernel_isa(void);

/* Force the ISA used by the fast kernels ("avx512", "avx2", "generic"), for
 * tests and for clusters with mixed CPUs (every rank must use the same ISA to
 * keep results bitwise identical). Returns 0, or -1 if the CPU lacks it. */
int als_kernel_set_isa(const char *isa);

/* Dispatchers used by the solver. */
void als_gram_rhs(als_kernel_t kern, int k, int64_t n, const int64_t *idx, const double *r,
                  const double *X, double *A, double *b, double *ws);
int als_solve_spd(als_kernel_t kern, int k, double *A, double *b);

#endif
