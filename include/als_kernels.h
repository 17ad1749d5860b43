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
/* inplace: the fast kernel may read the rows of X where they are instead of
 * gathering them into ws (it does on AVX-512 when k % 8 == 0);
 * worth it when X lies on huge pages (als_huge_alloc), slower on 4 KiB
 * pages at large k. The result is bitwise the same either way. */
void als_gram_rhs_fast(int k, int64_t n, const int64_t *idx, const double *r,
                       const double *X, double *A, double *b, double *ws, int inplace);

/* Solve A x = b for symmetric positive definite A given by its upper
 * triangle (row-major k×k); A is overwritten by its Cholesky factor and b by
 * x. Returns 0 on success, or the 1-based order of the leading minor that is
 * not positive definite (as LAPACK's info), or -1 when A holds NaN/Inf.
 * The fast solve uses the "canonical" arithmetic order documented in
 * src/als_kernels.c (FMA on avx2/avx512, unfused on generic), shared with
 * als_solve_spd_batch. For k > 1024 it allocates k doubles and returns -2
 * if that fails. */
int als_solve_spd_ref(int k, double *A, double *b);
int als_solve_spd_fast(int k, double *A, double *b);

/* Kernel selection, set once at start-up (before any parallel region). */
typedef enum { ALS_KERNEL_REF = 0, ALS_KERNEL_FAST = 1 } als_kernel_t;

/* The instruction set the fast kernels dispatch to on this CPU:
 * "avx512", "avx2" or "generic". Local. */
const char *als_kernel_isa(void);

/* The same as an id, for the per-row dispatch of the hot loops (no string
 * compares there). Local. */
typedef enum { ALS_ISA_GENERIC = 0, ALS_ISA_AVX2 = 1, ALS_ISA_AVX512 = 2 } als_isa_t;
als_isa_t als_kernel_isa_id(void);

/* Force the ISA used by the fast kernels ("avx512", "avx2", "generic"), for
 * tests and for clusters with mixed CPUs (every rank must use the same ISA to
 * keep results bitwise identical). Returns 0, or -1 if the CPU lacks it. */
int als_kernel_set_isa(const char *isa);

/* One line describing the kernels in use, for the start-up output: the ISA,
 * why it was chosen (the per-CPU-family table, or "pinned" by
 * als_kernel_set_isa / ALS_KERNEL_ISA), the gram tile shape and the batched
 * solve's layout. Local; not reentrant with als_kernel_set_isa (call both
 * before any parallel region). */
const char *als_kernel_config(void);

/* The dot product every module uses (loss, residuals, predictions, CG):
 * 8 independent partial sums in a fixed order, so the same bits on every
 * rank and thread (and 8 chains hide the FMA latency that one exposes). */
static inline __attribute__((always_inline)) double als_dot8(const double *a, const double *b,
                                                            int k)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int c = 0;
    for (; c + 8 <= k; c += 8)
        for (int l = 0; l < 8; l++)
            s[l] += a[c + l] * b[c + l];
    for (; c < k; c++)
        s[c & 7] += a[c] * b[c];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* out[t] = als_dot8(row t, x) for t < n, row t = X + idx[t] k (idx NULL:
 * X + t k): the same bits as n calls of als_dot8, four rows at a time on the
 * fast kernels' ISA (avx512, avx2: any k, the last k mod 8 coordinates under
 * masks) or plain C. Local. */
void als_dot8_rows(int k, int64_t n, const double *X, const int64_t *idx, const double *x,
                   double *out);

/* The same on a named path: NULL (plain C), "avx512" or "avx2"; returns -1
 * when that path cannot run on this CPU. For the tests. Local. */
int als_dot8_rows_isa(const char *isa, int k, int64_t n, const double *X, const int64_t *idx,
                      const double *x, double *out);

/* g[c] = g[c] + w[t] row_t[c] (neg: minus) for t = 0..n-1 in order and
 * c < k, row t = X + idx[t] k (idx NULL: X + t k): each update a rounded
 * product, then a rounded add or subtract (no FMA), so the fast kernels'
 * ISA paths (avx512, avx2: g in registers over the rows) give the bits of
 * the plain C loop. Local. */
void als_rows_axpy(int k, int64_t n, const double *X, const int64_t *idx, const double *w,
                   int neg, double *g);

/* The same on a named path: NULL (plain C), "avx512" or "avx2"; returns -1
 * when that path cannot run on this CPU. For the tests. Local. */
int als_rows_axpy_isa(const char *isa, int k, int64_t n, const double *X, const int64_t *idx,
                      const double *w, int neg, double *g);

/* Dispatchers used by the solver. */
void als_gram_rhs(als_kernel_t kern, int k, int64_t n, const int64_t *idx, const double *r,
                  const double *X, double *A, double *b, double *ws, int inplace);
int als_solve_spd(als_kernel_t kern, int k, double *A, double *b);

/* Batched SPD solve: nb independent systems A[s] x = b[s] of order k, A[s]
 * the upper triangle of a row-major k×k matrix (READ ONLY: unlike
 * als_solve_spd the factor is not written back, so the caller may keep A[s]
 * for later use), b[s] overwritten by the solution when info[s] == 0 and
 * left unchanged otherwise. info[s] is exactly what als_solve_spd returns
 * for that system: 0, the 1-based order of the first leading minor that is
 * not positive definite, or -1 for NaN/Inf in A[s]'s upper triangle or b[s].
 * Returns the number of systems with info != 0.
 *
 * With ALS_KERNEL_FAST, groups of als_solve_batch_lanes() systems are
 * factored together, one per SIMD lane (the "compact" layout); the solution
 * of each system is bitwise identical to als_solve_spd(ALS_KERNEL_FAST, ...)
 * on the same system, whatever the batch size, the system's position in the
 * batch and the other systems (so results do not depend on how rows are
 * grouped into batches, threads or ranks). With ALS_KERNEL_REF it is
 * als_solve_spd_ref one system at a time. nb may be any value >= 0; use a
 * multiple of the lane count (e.g. 8 or 16) to fill every lane. ws: at least
 * als_solve_batch_ws_size(k) doubles, any alignment, per thread. Reentrant;
 * the A[s] and b[s] must not overlap each other or ws. */
int als_solve_spd_batch(als_kernel_t kern, int k, int nb, const double *const *A,
                        double *const *b, int *info, double *ws);

/* Doubles of workspace als_solve_spd_batch needs for order k (any ISA,
 * either kernel). */
int64_t als_solve_batch_ws_size(int k);

/* Systems factored at once by als_solve_spd_batch with this kernel and the
 * current ISA: 8 (avx512), 4 (avx2, generic), 1 (ref). */
int als_solve_batch_lanes(als_kernel_t kern);

#endif
