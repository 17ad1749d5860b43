/* als_kernels.c - the per-row kernels of the ALS half-steps (local).
 *
 * See include/als_kernels.h for the contract. Two families:
 *
 *   *_ref  gather + cblas_dsyrk/cblas_dgemv, LAPACKE_dposv: the oracle.
 *   *_fast a register-blocked gram+rhs kernel and a Cholesky solve in a
 *          fixed ("canonical") order of operations, each compiled three times
 *          (AVX-512, AVX2+FMA, portable C) through per-function target
 *          attributes (the Makefile builds for x86-64-v2), picked once at
 *          start-up from a table of CPU kinds (als_kernels_init).
 *   als_solve_spd_batch  the same solves for several rows at once, one
 *          system per SIMD lane (als_kernels_batch.c, als_kernels_compact.h),
 *          bitwise equal to the single-system solve of the same ISA.
 *
 * Gram kernel layout. The rows X[idx[t]] are gathered, in blocks of at most
 * fast_block(k) ratings (about 128 KiB, L2-resident), into ws with a padded
 * leading dimension kp (k rounded up to 8, padding columns zero). The upper
 * triangle of the padded kp×kp gram is covered by register tiles: row blocks
 * of 8 (AVX-512) or 4 (AVX2, portable) starting at p0, column tiles starting
 * at the diagonal p0 and going right (AVX-512: 8×24, 8×16 or 8×8 tiles, i.e.
 * 3/2/1 zmm per row; AVX2: 4×8 with b in the first row block, then 4×12,
 * 4×8, 4×4; portable: 4×4, which measured
 * faster than 4×8 with only 16 SSE registers: 7.8 vs 6.6 GFLOP/s at k = 64). For every tile the
 * kernel streams the gathered block: per rating it loads the tile's columns
 * of x_t, broadcasts the tile's row scalars x_t[p] and does one FMA per (row,
 * vector). The tiles of the first row block also accumulate b (rhs fused into
 * the same pass, the broadcast being r_t). Between blocks the accumulators
 * live in a padded kp×kp buffer in ws; the last block's AVX-512 tiles write
 * the upper triangle of A (masked columns) and b directly, the other ISAs
 * copy it out. While a block is computed, the rows of the next block are
 * prefetched a few at a time after each tile pass (the rows are random rows
 * of X; prefetching a whole block at once would stall on the line-fill
 * buffers).
 *
 * Measured (Xeon with AVX-512, 2.9 GHz, one core, k = 64, ~50 random rows of
 * a 100000×64 X per call): the gather costs ~30 ns per rating against ~70 ns
 * of arithmetic and cannot be hidden within one call of ~50 ratings:
 * splitting such a call into growing sub-blocks (8, 16, 32, ...) to overlap
 * the gather of the next sub-block with the arithmetic of the current one
 * was slower (31 -> 23 GFLOP/s at first sub-block 4, 36 -> 33 at 16), the
 * accumulator reloads and short loops costing more than the hidden latency.
 * Writing the last block straight into A (no copy-out) and the 8×24 tiles
 * raised the kernel from ~36 to ~46-48 GFLOP/s on that workload (~62 with
 * X in cache); 128 KiB blocks beat 32 KiB ones for n >> block.
 *
 * Determinism: every element of A and b is a sequential sum over t = 0..n-1
 * (FMA for the AVX paths, multiply then add for the portable path, where
 * FP contraction is off: -std=c11 for GCC, the STDC pragma for clang); the
 * order depends neither on the block size nor on threads.
 *
 * FLOP conventions (DESIGN §6): gram k(k+1) per rating, rhs 2k per rating,
 * Cholesky k^3/3, the two triangular solves 2k^2.
 */
#include "als_kernels.h"
#include "als_kernels_internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define ALS_HAVE_X86 1
#else
#define ALS_HAVE_X86 0
#endif

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define ALS_AVX512 __attribute__((target("avx512f,avx512vl,fma")))
#define ALS_AVX2 __attribute__((target("avx2,fma")))
#define ALS_INLINE static inline __attribute__((always_inline))

/* Rows of X gathered per block by the fast gram kernel: about 128 KiB of
 * gathered rows (L2-resident; the tiles stream through it sequentially), at
 * least 16 and at most 1024 ratings. */
#ifndef FAST_BLOCK_BYTES
#define FAST_BLOCK_BYTES (128 * 1024)
#endif
/* Locality hint of the gather's prefetches: 3 (into L1) measured best; L2
 * hints (2, 1) at distances 4..32 rows were ~10% slower. */
#ifndef FAST_PF_HINT
#define FAST_PF_HINT 3
#endif
/* The gather prefetches the rows that come this many ratings later. */
#ifndef FAST_PREFETCH_ROWS
#define FAST_PREFETCH_ROWS 8
#endif

/* k rounded up to a multiple of 8: the leading dimension of the gathered
 * block and of the padded accumulator matrix. */
static inline int64_t pad8(int k)
{
    return ((int64_t)k + 7) & ~(int64_t)7;
}

/* Ratings per gathered block of the fast gram kernel for rank k. */
static inline int64_t fast_block(int k)
{
    int64_t b = FAST_BLOCK_BYTES / (8 * pad8(k));
    if (b < 16)
        b = 16;
    if (b > 1024)
        b = 1024;
    return b;
}

/* Doubles of ws the fast kernel uses: 8 for alignment, the kp×kp
 * accumulators, kp for b, and the gathered block. */
static inline int64_t fast_ws_size(int k)
{
    int64_t kp = pad8(k);
    return 8 + kp * kp + kp + fast_block(k) * kp;
}

int64_t als_gram_ws_size(int k)
{
    if (k <= 0)
        return 0;
    int64_t ref = (int64_t)ALS_REF_BLOCK * k;
    int64_t fast = fast_ws_size(k);
    return ref > fast ? ref : fast;
}

/* Zero the upper triangle of the k×k row-major A and all of b. */
static void zero_upper(int k, double *A, double *b)
{
    for (int p = 0; p < k; p++)
        memset(A + (int64_t)p * k + p, 0, sizeof(double) * (size_t)(k - p));
    memset(b, 0, sizeof(double) * (size_t)k);
}

/* Prefetch the k doubles of row i of X (row-major, leading dimension k). */
static inline void prefetch_row(const double *X, int k, int64_t i)
{
    const char *s = (const char *)(X + i * k);
    const char *e = s + 8 * (size_t)k - 1;
    for (; s <= e; s += 64)
        __builtin_prefetch(s, 0, FAST_PF_HINT);
    __builtin_prefetch(e, 0, FAST_PF_HINT);
}

/* ------------------------------------------------------------------------ */
/* Reference kernels                                                         */
/* ------------------------------------------------------------------------ */

/* Gram and rhs through BLAS: gather at most ALS_REF_BLOCK rows into ws, one
 * dsyrk (upper, beta 0 on the first block, then 1) and one dgemv per block. */
void als_gram_rhs_ref(int k, int64_t n, const int64_t *idx, const double *r,
                      const double *X, double *A, double *b, double *ws)
{
    if (k <= 0)
        return;
    if (n <= 0) {
        zero_upper(k, A, b);
        return;
    }
    for (int64_t t0 = 0; t0 < n; t0 += ALS_REF_BLOCK) {
        int64_t m = n - t0 < ALS_REF_BLOCK ? n - t0 : ALS_REF_BLOCK;
        for (int64_t t = 0; t < m; t++)
            memcpy(ws + t * k, X + idx[t0 + t] * k, sizeof(double) * (size_t)k);
        double beta = t0 == 0 ? 0.0 : 1.0;
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, k, (int)m, 1.0, ws, k,
                    beta, A, k);
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, k, 1.0, ws, k, r + t0, 1,
                    beta, b, 1);
    }
}

/* 1 if the upper triangle of A or any of b is NaN or infinite, else 0.
 * Branch-free on the bits (vectorised by the compiler): the exponent field
 * is all ones exactly when adding 1 to it carries into the sign bit. */
static int has_nonfinite(int k, const double *A, const double *b)
{
    const uint64_t expo = 0x7ff0000000000000ULL, one = 0x0010000000000000ULL;
    uint64_t acc = 0;
    for (int p = 0; p < k; p++) {
        const double *a = A + (int64_t)p * k;
        for (int q = p; q < k; q++) {
            uint64_t u;
            memcpy(&u, a + q, sizeof u);
            acc |= (u & expo) + one;
        }
        uint64_t u;
        memcpy(&u, b + p, sizeof u);
        acc |= (u & expo) + one;
    }
    return (int)(acc >> 63);
}

/* Cholesky solve through LAPACKE_dposv (row-major, upper). NaN/Inf in the
 * upper triangle of A or in b gives -1 before LAPACK is called (LAPACKE
 * would otherwise report its own negative argument number). */
int als_solve_spd_ref(int k, double *A, double *b)
{
    if (k <= 0)
        return 0;
    if (has_nonfinite(k, A, b))
        return -1;
    lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', k, 1, A, k, b, 1);
    return (int)info;
}

/* ------------------------------------------------------------------------ */
/* Portable C kernels                                                        */
/* ------------------------------------------------------------------------ */

/* Prefetch schedule of the rows of the next block, spread over the tile
 * passes of the current block so that the memory traffic of the next block
 * overlaps the arithmetic of this one (a burst of all the rows at once would
 * stall on the few line-fill buffers): after each tile pass, pf_step issues
 * L2 prefetches for the next `per` rows idx[t..end). */
typedef struct {
    const double *X;
    const int64_t *idx;
    int k;
    int64_t t, end, per;
    /* In place (no gather): the current block's row t is X + ix[t] * k, and
     * the block's first tile pass prefetches row t + pfa (0: none). */
    const int64_t *ix;
    int pfa;
} pf_sched;

/* Prefetch (into L2) the k doubles of row i of X. */
static inline void prefetch_row_l2(const double *X, int k, int64_t i)
{
    const char *s = (const char *)(X + i * k);
    const char *e = s + 8 * (size_t)k - 1;
    for (; s <= e; s += 64)
        __builtin_prefetch(s, 0, 2);
    __builtin_prefetch(e, 0, 2);
}

/* Issue the prefetches due after one tile pass. */
static inline void pf_step(pf_sched *pf)
{
    int64_t e = pf->t + pf->per < pf->end ? pf->t + pf->per : pf->end;
    for (; pf->t < e; pf->t++)
        prefetch_row_l2(pf->X, pf->k, pf->idx[pf->t]);
}

/* Row t of a tile's block: the gathered copy g (the tile loop advances it)
 * or, in place, row ix[t] of X (leading dimension k == kp); in place, the
 * block's first tile pass also prefetches row ix[t + pfa] whole, so that the
 * next tiles find every line of it in cache. */
ALS_INLINE const double *tile_row(const double *g, int64_t t, int64_t m, int64_t k,
                                  const int64_t *ix, const double *X, int pfa)
{
    if (!ix)
        return g;
    if (pfa && t + pfa < m)
        prefetch_row(X, (int)k, ix[t + pfa]);
    return X + ix[t] * k;
}

/* Gather rows idx[t0..t0+m) of X into G (leading dimension kp; columns
 * k..kp must already be zero), prefetching FAST_PREFETCH_ROWS rows ahead
 * within the block (rows already prefetched by the previous block's
 * schedule then hit in cache). */
/* The gathers' prefetch schedule over a block of m rows idx[t0..t0+m):
 * its first FAST_PREFETCH_ROWS rows before the copy loop, then row
 * t + FAST_PREFETCH_ROWS (if in the block) before row t's copy. */
static inline void gather_prefetch_first(int k, int64_t t0, int64_t m, const int64_t *idx,
                                         const double *X)
{
    for (int64_t t = 0; t < m && t < FAST_PREFETCH_ROWS; t++)
        prefetch_row(X, k, idx[t0 + t]);
}

static inline void gather_prefetch_ahead(int k, int64_t t0, int64_t m, const int64_t *idx,
                                         const double *X, int64_t t)
{
    if (t + FAST_PREFETCH_ROWS < m)
        prefetch_row(X, k, idx[t0 + t + FAST_PREFETCH_ROWS]);
}

static void gather_block(int k, int64_t kp, int64_t t0, int64_t m, const int64_t *idx,
                         const double *X, double *G)
{
    gather_prefetch_first(k, t0, m, idx, X);
    for (int64_t t = 0; t < m; t++) {
        gather_prefetch_ahead(k, t0, m, idx, X, t);
        memcpy(G + t * kp, X + idx[t0 + t] * k, sizeof(double) * (size_t)k);
    }
}

#if ALS_HAVE_X86
/* gather_block with vector moves, AVX-512, for k not a multiple of 8: each
 * row as whole zmm (the last one under a mask), the padding columns k..kp
 * written as zeros; no call to memcpy per row and no memset of the padding.
 * At k = 10 the gram phase took 15% less time. With k a multiple of 8 it is
 * gather_block (memcpy): zmm moves measured no better at k = 16 and up to
 * 15% worse for the CG panel's rows at k = 64; an AVX2 version with ymm
 * moves measured no change at k = 10 or 16 (the AVX2 path keeps
 * gather_block). */
static ALS_AVX512 void gather_block_512(int k, int64_t kp, int64_t t0, int64_t m,
                                        const int64_t *idx, const double *X, double *G)
{
    if (!(k & 7)) {
        gather_block(k, kp, t0, m, idx, X, G);
        return;
    }
    const int kf = k & ~7;
    const __mmask8 tail = (__mmask8)((1u << (k & 7)) - 1u);
    gather_prefetch_first(k, t0, m, idx, X);
    for (int64_t t = 0; t < m; t++) {
        gather_prefetch_ahead(k, t0, m, idx, X, t);
        const double *src = X + idx[t0 + t] * k;
        double *dst = G + t * kp;
        for (int c = 0; c < kf; c += 8)
            _mm512_storeu_pd(dst + c, _mm512_loadu_pd(src + c));
        if (kf < kp)
            _mm512_storeu_pd(dst + kf, _mm512_maskz_loadu_pd(tail, src + kf));
    }
}

#endif

/* Portable tile: rows p0..p0+4, columns q0..q0+W of the padded gram C
 * (leading dimension kp), over the m gathered rows of G; when RHS, also
 * bacc[q0..q0+W) += r_t x_t[q0..q0+W). first: start from zero instead of
 * the stored accumulators. */
ALS_INLINE void gen_tile(int64_t m, const double *G, int64_t kp, int64_t p0, int64_t q0,
                         double *C, int first, const double *r, double *bacc,
                         const int W, const int RHS)
{
    double c[4][8], bb[8];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < W; j++)
            c[i][j] = first ? 0.0 : C[(p0 + i) * kp + q0 + j];
    if (RHS)
        for (int j = 0; j < W; j++)
            bb[j] = first ? 0.0 : bacc[q0 + j];
    for (int64_t t = 0; t < m; t++) {
        const double *g = G + t * kp;
        for (int i = 0; i < 4; i++) {
            double s = g[p0 + i];
            for (int j = 0; j < W; j++)
                c[i][j] += s * g[q0 + j];
        }
        if (RHS) {
            double s = r[t];
            for (int j = 0; j < W; j++)
                bb[j] += s * g[q0 + j];
        }
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < W; j++)
            C[(p0 + i) * kp + q0 + j] = c[i][j];
    if (RHS)
        for (int j = 0; j < W; j++)
            bacc[q0 + j] = bb[j];
}

/* All the tiles of one gathered block, portable version (4×4 tiles). */
static void gen_block(int k, int64_t kp, int64_t m, const double *G, double *C,
                      int first, int final, double *A, double *b, const double *r,
                      double *bacc, pf_sched *pf)
{
    (void)final, (void)A, (void)b; /* written by the caller from C */
    for (int64_t p0 = 0; p0 < k; p0 += 4) {
        for (int64_t q0 = p0; q0 < kp; q0 += 4) {
            if (p0 == 0)
                gen_tile(m, G, kp, p0, q0, C, first, r, bacc, 4, 1);
            else
                gen_tile(m, G, kp, p0, q0, C, first, r, bacc, 4, 0);
            pf_step(pf);
        }
    }
}

#if ALS_HAVE_X86
/* ------------------------------------------------------------------------ */
/* AVX2 + FMA gram tiles: 4 rows × 8 columns (two ymm) and 4 × 4             */
/* ------------------------------------------------------------------------ */

/* AVX2 tile: rows p0..p0+NR (NR <= 4: fewer only in the last row block,
 * where the rows from k on are padding and skipped), columns q0..q0+8 (8
 * FMA accumulators), with b fused when RHS. See gen_tile for the arguments. */
ALS_INLINE ALS_AVX2 void avx2_tile8(int64_t m, const double *G, int64_t kp, int64_t p0,
                                    int64_t q0, double *C, int first, const double *r,
                                    double *bacc, const int RHS, const int NR)
{
    __m256d c00, c01, c10, c11, c20, c21, c30, c31, b0, b1;
    double *c = C + p0 * kp + q0;
    if (first) {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = b0 = b1 = _mm256_setzero_pd();
    } else {
        c00 = _mm256_loadu_pd(c + 0 * kp), c01 = _mm256_loadu_pd(c + 0 * kp + 4);
        c10 = c11 = c20 = c21 = c30 = c31 = _mm256_setzero_pd();
        if (NR > 1)
            c10 = _mm256_loadu_pd(c + 1 * kp), c11 = _mm256_loadu_pd(c + 1 * kp + 4);
        if (NR > 2)
            c20 = _mm256_loadu_pd(c + 2 * kp), c21 = _mm256_loadu_pd(c + 2 * kp + 4);
        if (NR > 3)
            c30 = _mm256_loadu_pd(c + 3 * kp), c31 = _mm256_loadu_pd(c + 3 * kp + 4);
        b0 = b1 = _mm256_setzero_pd();
        if (RHS)
            b0 = _mm256_loadu_pd(bacc + q0), b1 = _mm256_loadu_pd(bacc + q0 + 4);
    }
    const double *g = G;
    for (int64_t t = 0; t < m; t++, g += kp) {
        __m256d v0 = _mm256_loadu_pd(g + q0), v1 = _mm256_loadu_pd(g + q0 + 4), s;
        s = _mm256_broadcast_sd(g + p0 + 0);
        c00 = _mm256_fmadd_pd(s, v0, c00), c01 = _mm256_fmadd_pd(s, v1, c01);
        if (NR > 1) {
            s = _mm256_broadcast_sd(g + p0 + 1);
            c10 = _mm256_fmadd_pd(s, v0, c10), c11 = _mm256_fmadd_pd(s, v1, c11);
        }
        if (NR > 2) {
            s = _mm256_broadcast_sd(g + p0 + 2);
            c20 = _mm256_fmadd_pd(s, v0, c20), c21 = _mm256_fmadd_pd(s, v1, c21);
        }
        if (NR > 3) {
            s = _mm256_broadcast_sd(g + p0 + 3);
            c30 = _mm256_fmadd_pd(s, v0, c30), c31 = _mm256_fmadd_pd(s, v1, c31);
        }
        if (RHS) {
            s = _mm256_broadcast_sd(r + t);
            b0 = _mm256_fmadd_pd(s, v0, b0), b1 = _mm256_fmadd_pd(s, v1, b1);
        }
    }
    _mm256_storeu_pd(c + 0 * kp, c00), _mm256_storeu_pd(c + 0 * kp + 4, c01);
    if (NR > 1)
        _mm256_storeu_pd(c + 1 * kp, c10), _mm256_storeu_pd(c + 1 * kp + 4, c11);
    if (NR > 2)
        _mm256_storeu_pd(c + 2 * kp, c20), _mm256_storeu_pd(c + 2 * kp + 4, c21);
    if (NR > 3)
        _mm256_storeu_pd(c + 3 * kp, c30), _mm256_storeu_pd(c + 3 * kp + 4, c31);
    if (RHS)
        _mm256_storeu_pd(bacc + q0, b0), _mm256_storeu_pd(bacc + q0 + 4, b1);
}

/* AVX2 tile: rows p0..p0+NR (NR <= 4, as in avx2_tile8), columns
 * q0..q0+4 (the last, narrow tile of a row block; never carries b since the
 * first row block has kp - 0 = 0 mod 8). */
ALS_INLINE ALS_AVX2 void avx2_tile4(int64_t m, const double *G, int64_t kp, int64_t p0,
                                    int64_t q0, double *C, int first, const int NR)
{
    __m256d c0, c1, c2, c3;
    double *c = C + p0 * kp + q0;
    c0 = c1 = c2 = c3 = _mm256_setzero_pd();
    if (!first) {
        c0 = _mm256_loadu_pd(c + 0 * kp);
        if (NR > 1)
            c1 = _mm256_loadu_pd(c + 1 * kp);
        if (NR > 2)
            c2 = _mm256_loadu_pd(c + 2 * kp);
        if (NR > 3)
            c3 = _mm256_loadu_pd(c + 3 * kp);
    }
    const double *g = G;
    for (int64_t t = 0; t < m; t++, g += kp) {
        __m256d v = _mm256_loadu_pd(g + q0);
        c0 = _mm256_fmadd_pd(_mm256_broadcast_sd(g + p0 + 0), v, c0);
        if (NR > 1)
            c1 = _mm256_fmadd_pd(_mm256_broadcast_sd(g + p0 + 1), v, c1);
        if (NR > 2)
            c2 = _mm256_fmadd_pd(_mm256_broadcast_sd(g + p0 + 2), v, c2);
        if (NR > 3)
            c3 = _mm256_fmadd_pd(_mm256_broadcast_sd(g + p0 + 3), v, c3);
    }
    _mm256_storeu_pd(c + 0 * kp, c0);
    if (NR > 1)
        _mm256_storeu_pd(c + 1 * kp, c1);
    if (NR > 2)
        _mm256_storeu_pd(c + 2 * kp, c2);
    if (NR > 3)
        _mm256_storeu_pd(c + 3 * kp, c3);
}

/* AVX2 tile: rows p0..p0+4, columns q0..q0+12: 12 FMA accumulators, 3
 * column vectors and one broadcast, i.e. all 16 ymm registers; per rating 3
 * loads + 4 broadcasts for 12 FMAs (the 4×8 tile needs 6 for 8). No b. */
ALS_INLINE ALS_AVX2 void avx2_tile12(int64_t m, const double *G, int64_t kp, int64_t p0,
                                     int64_t q0, double *C, int first)
{
    __m256d c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32;
    double *c = C + p0 * kp + q0;
    if (first) {
        c00 = c01 = c02 = c10 = c11 = c12 = _mm256_setzero_pd();
        c20 = c21 = c22 = c30 = c31 = c32 = _mm256_setzero_pd();
    } else {
        c00 = _mm256_loadu_pd(c), c01 = _mm256_loadu_pd(c + 4), c02 = _mm256_loadu_pd(c + 8);
        c10 = _mm256_loadu_pd(c + kp), c11 = _mm256_loadu_pd(c + kp + 4);
        c12 = _mm256_loadu_pd(c + kp + 8);
        c20 = _mm256_loadu_pd(c + 2 * kp), c21 = _mm256_loadu_pd(c + 2 * kp + 4);
        c22 = _mm256_loadu_pd(c + 2 * kp + 8);
        c30 = _mm256_loadu_pd(c + 3 * kp), c31 = _mm256_loadu_pd(c + 3 * kp + 4);
        c32 = _mm256_loadu_pd(c + 3 * kp + 8);
    }
    const double *g = G;
    for (int64_t t = 0; t < m; t++, g += kp) {
        __m256d v0 = _mm256_loadu_pd(g + q0), v1 = _mm256_loadu_pd(g + q0 + 4);
        __m256d v2 = _mm256_loadu_pd(g + q0 + 8), s;
        s = _mm256_broadcast_sd(g + p0 + 0);
        c00 = _mm256_fmadd_pd(s, v0, c00), c01 = _mm256_fmadd_pd(s, v1, c01);
        c02 = _mm256_fmadd_pd(s, v2, c02);
        s = _mm256_broadcast_sd(g + p0 + 1);
        c10 = _mm256_fmadd_pd(s, v0, c10), c11 = _mm256_fmadd_pd(s, v1, c11);
        c12 = _mm256_fmadd_pd(s, v2, c12);
        s = _mm256_broadcast_sd(g + p0 + 2);
        c20 = _mm256_fmadd_pd(s, v0, c20), c21 = _mm256_fmadd_pd(s, v1, c21);
        c22 = _mm256_fmadd_pd(s, v2, c22);
        s = _mm256_broadcast_sd(g + p0 + 3);
        c30 = _mm256_fmadd_pd(s, v0, c30), c31 = _mm256_fmadd_pd(s, v1, c31);
        c32 = _mm256_fmadd_pd(s, v2, c32);
    }
    _mm256_storeu_pd(c, c00), _mm256_storeu_pd(c + 4, c01), _mm256_storeu_pd(c + 8, c02);
    _mm256_storeu_pd(c + kp, c10), _mm256_storeu_pd(c + kp + 4, c11);
    _mm256_storeu_pd(c + kp + 8, c12);
    _mm256_storeu_pd(c + 2 * kp, c20), _mm256_storeu_pd(c + 2 * kp + 4, c21);
    _mm256_storeu_pd(c + 2 * kp + 8, c22);
    _mm256_storeu_pd(c + 3 * kp, c30), _mm256_storeu_pd(c + 3 * kp + 4, c31);
    _mm256_storeu_pd(c + 3 * kp + 8, c32);
}

/* All the tiles of one gathered block, AVX2 version: the first row block
 * (which also accumulates b) in 4×8 tiles, the others in 4×12 tiles from
 * the diagonal, the remaining 8 or 4 columns in a 4×8 or 4×4 tile; a last
 * row block of k mod 4 rows (one 4×8 or 4×4 tile: kp - p0 is 8 or 4 there)
 * only over its real rows. Every element is the same sequential FMA sum over
 * the ratings whatever tile computes it. */
static ALS_AVX2 void avx2_block(int k, int64_t kp, int64_t m, const double *G, double *C,
                                int first, int final, double *A, double *b,
                                const double *r, double *bacc, pf_sched *pf)
{
    (void)final, (void)A, (void)b; /* written by the caller from C */
    for (int64_t q0 = 0; q0 < kp; q0 += 8) {
        switch (k < 4 ? k : 4) {
        case 1: avx2_tile8(m, G, kp, 0, q0, C, first, r, bacc, 1, 1); break;
        case 2: avx2_tile8(m, G, kp, 0, q0, C, first, r, bacc, 1, 2); break;
        case 3: avx2_tile8(m, G, kp, 0, q0, C, first, r, bacc, 1, 3); break;
        default: avx2_tile8(m, G, kp, 0, q0, C, first, r, bacc, 1, 4); break;
        }
        pf_step(pf);
    }
    for (int64_t p0 = 4; p0 < k; p0 += 4) {
        int64_t q0 = p0;
        const int nr = k - p0 < 4 ? (int)(k - p0) : 4;
        if (nr < 4) { /* the last row block */
            if (kp - q0 == 8) {
                switch (nr) {
                case 1: avx2_tile8(m, G, kp, p0, q0, C, first, r, bacc, 0, 1); break;
                case 2: avx2_tile8(m, G, kp, p0, q0, C, first, r, bacc, 0, 2); break;
                default: avx2_tile8(m, G, kp, p0, q0, C, first, r, bacc, 0, 3); break;
                }
            } else {
                switch (nr) {
                case 1: avx2_tile4(m, G, kp, p0, q0, C, first, 1); break;
                case 2: avx2_tile4(m, G, kp, p0, q0, C, first, 2); break;
                default: avx2_tile4(m, G, kp, p0, q0, C, first, 3); break;
                }
            }
            pf_step(pf);
            break;
        }
        for (; q0 + 12 <= kp; q0 += 12) {
            avx2_tile12(m, G, kp, p0, q0, C, first);
            pf_step(pf);
        }
        if (q0 + 8 <= kp) {
            avx2_tile8(m, G, kp, p0, q0, C, first, r, bacc, 0, 4);
            q0 += 8;
            pf_step(pf);
        }
        if (q0 < kp) {
            avx2_tile4(m, G, kp, p0, q0, C, first, 4);
            pf_step(pf);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* AVX-512 gram tiles: 8 rows × 8·NV columns, NV = 1, 2, 3 zmm per row       */
/* ------------------------------------------------------------------------ */

/* Mask of the columns c..c+8 that are < k. */
ALS_INLINE ALS_AVX512 __mmask8 cmask(int64_t c, int64_t k)
{
    int64_t w = k - c;
    return w >= 8 ? (__mmask8)0xff : w <= 0 ? (__mmask8)0 : (__mmask8)((1u << w) - 1);
}

#define Z512 _mm512_setzero_pd()
/* One row of the tile: broadcast x_t[p0+i], NV FMAs. */
#define T512_ROW(i)                                                    \
    if (i < NR)                                                        \
    do {                                                               \
        __m512d s_ = _mm512_set1_pd(g[p0 + i]);                        \
        c##i##0 = _mm512_fmadd_pd(s_, v0, c##i##0);                    \
        if (NV > 1)                                                    \
            c##i##1 = _mm512_fmadd_pd(s_, v1, c##i##1);                \
        if (NV > 2)                                                    \
            c##i##2 = _mm512_fmadd_pd(s_, v2, c##i##2);                \
    } while (0)
/* Load row i of the tile's accumulators from the padded buffer C. */
#define T512_LOAD(i)                                                   \
    if (i < NR)                                                        \
    do {                                                               \
        c##i##0 = _mm512_loadu_pd(cc + i * kp);                        \
        if (NV > 1)                                                    \
            c##i##1 = _mm512_loadu_pd(cc + i * kp + 8);                \
        if (NV > 2)                                                    \
            c##i##2 = _mm512_loadu_pd(cc + i * kp + 16);               \
    } while (0)
/* Store row i: to A (leading dimension k, masked columns, rows < k only)
 * on the last block, else to C. */
#define T512_STORE(i)                                                  \
    if (i < NR)                                                        \
    do {                                                               \
        if (final) {                                                   \
            if (i < nr) {                                              \
                _mm512_mask_storeu_pd(ad + i * k, mk0, c##i##0);       \
                if (NV > 1)                                            \
                    _mm512_mask_storeu_pd(ad + i * k + 8, mk1, c##i##1); \
                if (NV > 2)                                            \
                    _mm512_mask_storeu_pd(ad + i * k + 16, mk2, c##i##2); \
            }                                                          \
        } else {                                                       \
            _mm512_storeu_pd(cc + i * kp, c##i##0);                    \
            if (NV > 1)                                                \
                _mm512_storeu_pd(cc + i * kp + 8, c##i##1);            \
            if (NV > 2)                                                \
                _mm512_storeu_pd(cc + i * kp + 16, c##i##2);           \
        }                                                              \
    } while (0)

/* AVX-512 tile: rows p0..p0+NR (NR <= 8: fewer only in the last row block,
 * where the rows from k on are padding and skipped), columns q0..q0+8·NV of
 * the gram over the m gathered rows of G (leading dimension kp): per rating
 * NV loads, NR broadcasts, NR·NV FMAs (NV more with b fused when RHS; at
 * most 31 zmm).
 * first: start from zero, else from the padded accumulators C (and bacc);
 * final: write the result to A (leading dimension k, only rows and columns
 * < k) and b, else to C and bacc. */
ALS_INLINE ALS_AVX512 void avx512_tile(int64_t m, const double *G, int64_t kp, int64_t p0,
                                       int64_t q0, double *C, int first, int final, int k,
                                       double *A, double *b, const double *r, double *bacc,
                                       const int NV, const int RHS, const int NR,
                                       const int64_t *ix, const double *X, int pfa)
{
    __m512d c00 = Z512, c01 = Z512, c02 = Z512, c10 = Z512, c11 = Z512, c12 = Z512;
    __m512d c20 = Z512, c21 = Z512, c22 = Z512, c30 = Z512, c31 = Z512, c32 = Z512;
    __m512d c40 = Z512, c41 = Z512, c42 = Z512, c50 = Z512, c51 = Z512, c52 = Z512;
    __m512d c60 = Z512, c61 = Z512, c62 = Z512, c70 = Z512, c71 = Z512, c72 = Z512;
    __m512d b0 = Z512, b1 = Z512, b2 = Z512;
    double *cc = C + p0 * kp + q0;
    if (!first) {
        T512_LOAD(0); T512_LOAD(1); T512_LOAD(2); T512_LOAD(3);
        T512_LOAD(4); T512_LOAD(5); T512_LOAD(6); T512_LOAD(7);
        if (RHS) {
            b0 = _mm512_loadu_pd(bacc + q0);
            if (NV > 1)
                b1 = _mm512_loadu_pd(bacc + q0 + 8);
            if (NV > 2)
                b2 = _mm512_loadu_pd(bacc + q0 + 16);
        }
    }
    const double *g = G;
    for (int64_t t = 0; t < m; t++, g += kp) {
        g = tile_row(g, t, m, kp, ix, X, pfa);
        __m512d v0 = _mm512_loadu_pd(g + q0), v1 = v0, v2 = v0;
        if (NV > 1)
            v1 = _mm512_loadu_pd(g + q0 + 8);
        if (NV > 2)
            v2 = _mm512_loadu_pd(g + q0 + 16);
        T512_ROW(0); T512_ROW(1); T512_ROW(2); T512_ROW(3);
        T512_ROW(4); T512_ROW(5); T512_ROW(6); T512_ROW(7);
        if (RHS) {
            __m512d s = _mm512_set1_pd(r[t]);
            b0 = _mm512_fmadd_pd(s, v0, b0);
            if (NV > 1)
                b1 = _mm512_fmadd_pd(s, v1, b1);
            if (NV > 2)
                b2 = _mm512_fmadd_pd(s, v2, b2);
        }
    }
    __mmask8 mk0 = cmask(q0, k), mk1 = cmask(q0 + 8, k), mk2 = cmask(q0 + 16, k);
    double *ad = A + p0 * k + q0;
    int64_t nr = k - p0;
    T512_STORE(0); T512_STORE(1); T512_STORE(2); T512_STORE(3);
    T512_STORE(4); T512_STORE(5); T512_STORE(6); T512_STORE(7);
    if (RHS) {
        if (final) {
            _mm512_mask_storeu_pd(b + q0, mk0, b0);
            if (NV > 1)
                _mm512_mask_storeu_pd(b + q0 + 8, mk1, b1);
            if (NV > 2)
                _mm512_mask_storeu_pd(b + q0 + 16, mk2, b2);
        } else {
            _mm512_storeu_pd(bacc + q0, b0);
            if (NV > 1)
                _mm512_storeu_pd(bacc + q0 + 8, b1);
            if (NV > 2)
                _mm512_storeu_pd(bacc + q0 + 16, b2);
        }
    }
}

/* Width of the next AVX-512 column tile when w (a multiple of 8) columns of
 * the row block remain: 24 while possible, but 32 as 16 + 16 and 8 alone. */
static inline int64_t avx512_width(int64_t w)
{
    return w == 32 || w == 16 ? 16 : w >= 24 ? 24 : w;
}

/* All the tiles of one gathered block, AVX-512 version: row blocks of 8,
 * columns from the diagonal block in tiles of 24/16/8. */
static ALS_AVX512 void avx512_block(int k, int64_t kp, int64_t m, const double *G,
                                    double *C, int first, int final, double *A, double *b,
                                    const double *r, double *bacc, pf_sched *pf)
{
    /* A last row block of fewer than 8 rows (k % 8 of them; its one column
     * tile is 8 wide): only its real rows. */
    const int64_t kf = k & ~7;
    const int nlast = k - (int)kf;
    const int64_t *ix = pf->ix;
    const double *X = pf->X;
    int pfa = pf->pfa;
    for (int64_t p0 = 0; p0 < kf; p0 += 8) {
        for (int64_t q0 = p0; q0 < kp;) {
            int64_t w = avx512_width(kp - q0);
            if (p0 == 0) {
                if (w == 24)
                    avx512_tile(m, G, kp, p0, q0, C, first, final, k, A, b, r, bacc, 3, 1, 8,
                                ix, X, pfa);
                else if (w == 16)
                    avx512_tile(m, G, kp, p0, q0, C, first, final, k, A, b, r, bacc, 2, 1, 8,
                                ix, X, pfa);
                else
                    avx512_tile(m, G, kp, p0, q0, C, first, final, k, A, b, r, bacc, 1, 1, 8,
                                ix, X, pfa);
            } else {
                if (w == 24)
                    avx512_tile(m, G, kp, p0, q0, C, first, final, k, A, b, r, bacc, 3, 0, 8,
                                ix, X, pfa);
                else if (w == 16)
                    avx512_tile(m, G, kp, p0, q0, C, first, final, k, A, b, r, bacc, 2, 0, 8,
                                ix, X, pfa);
                else
                    avx512_tile(m, G, kp, p0, q0, C, first, final, k, A, b, r, bacc, 1, 0, 8,
                                ix, X, pfa);
            }
            q0 += w;
            pfa = 0;
            pf_step(pf);
        }
    }
    if (nlast) {
#define LAST_TILE(n)                                                                      \
    case n:                                                                               \
        if (kf == 0)                                                                      \
            avx512_tile(m, G, kp, kf, kf, C, first, final, k, A, b, r, bacc, 1, 1, n, ix, X, \
                        0);                                                               \
        else                                                                              \
            avx512_tile(m, G, kp, kf, kf, C, first, final, k, A, b, r, bacc, 1, 0, n, ix, X, \
                        0);                                                               \
        break;
        switch (nlast) {
            LAST_TILE(1) LAST_TILE(2) LAST_TILE(3) LAST_TILE(4)
            LAST_TILE(5) LAST_TILE(6) LAST_TILE(7)
        default:
            break;
        }
#undef LAST_TILE
        pf_step(pf);
    }
}
#endif /* ALS_HAVE_X86 */

/* ------------------------------------------------------------------------ */
/* Cholesky solve                                                            */
/* ------------------------------------------------------------------------ */

/* The canonical arithmetic of the SPD solves (shared with the batched
 * solves of als_kernels_batch.c / als_kernels_compact.h, so that a system's
 * result is bitwise the same alone or in any batch and lane), with a - b*c
 * fused (FMA) on the AVX2 and AVX-512 paths and unfused on the portable one:
 *   factor    a_jq <- a_jq - u_ij u_iq for i = 0..j-1 ascending;
 *             d = a_jj, fail unless d > 0; s = sqrt(d); inv_j = s * (1/d)
 *             (the sqrt and the division run in parallel); u_jj = s;
 *             u_jq = a_jq * inv_j for q > j
 *   forward   y_q <- y_q - u_jq y_j for j < q ascending; y_j = y_j * inv_j
 *   backward  x_q <- x_q - u_qj x_j for j > q descending; x_j = x_j * inv_j
 * FNMS(a, b, c) is c - a*b in the chosen rounding. */
#define FNMS(a, b, c, FUSED) ((FUSED) ? fma(-(a), (b), (c)) : (c) - (a) * (b))

/* Canonical left-looking Cholesky of the row-major upper k×k A (A = U^T U,
 * U overwrites the upper triangle; the reciprocal pivots go to inv): for
 * each row j, subtract the rows i < j (axpy, i ascending), then the pivot
 * and the scaling. Returns 0 or the 1-based failing minor. */
ALS_INLINE int gen_chol_body(int k, double *A, double *inv, const int FUSED)
{
    for (int j = 0; j < k; j++) {
        double *aj = A + (int64_t)j * k;
        for (int i = 0; i < j; i++) {
            const double *ui = A + (int64_t)i * k;
            double s = ui[j];
            for (int q = j; q < k; q++)
                aj[q] = FNMS(s, ui[q], aj[q], FUSED);
        }
        double d = aj[j];
        if (!(d > 0.0))
            return j + 1;
        double rd = 1.0 / d;
        d = sqrt(d);
        aj[j] = d;
        double iv = d * rd;
        inv[j] = iv;
        for (int q = j + 1; q < k; q++)
            aj[q] *= iv;
    }
    return 0;
}

/* Canonical triangular solves with the factor U in the upper triangle of A
 * and the reciprocal pivots inv: U^T y = b (axpy on rows of U, j
 * ascending), then U x = y (for j descending, x_j then the update of the
 * x_q, q < j, by column j of U), in place in b. */
ALS_INLINE void gen_trsv_body(int k, const double *A, const double *inv, double *b,
                              const int FUSED)
{
    for (int j = 0; j < k; j++) {
        const double *uj = A + (int64_t)j * k;
        double y = b[j] * inv[j];
        b[j] = y;
        for (int q = j + 1; q < k; q++)
            b[q] = FNMS(uj[q], y, b[q], FUSED);
    }
    for (int j = k - 1; j >= 0; j--) {
        double x = b[j] * inv[j];
        b[j] = x;
        const double *uq = A + j;
        for (int q = 0; q < j; q++, uq += k)
            b[q] = FNMS(*uq, x, b[q], FUSED);
    }
}

/* Largest k whose reciprocal pivots live on the stack in the single solves;
 * beyond it they are allocated. */
#define SOLVE_STACK_K 1024

/* Canonical solve: factor, then the two triangular solves. */
ALS_INLINE int gen_solve_body(int k, double *A, double *b, const int FUSED)
{
    double stack[SOLVE_STACK_K], *inv = stack;
    if (k > SOLVE_STACK_K && !(inv = malloc(sizeof(double) * (size_t)k)))
        return -2;
    int info = gen_chol_body(k, A, inv, FUSED);
    if (!info)
        gen_trsv_body(k, A, inv, b, FUSED);
    if (inv != stack)
        free(inv);
    return info;
}

/* Portable solve (unfused canonical arithmetic). */
static int gen_solve(int k, double *A, double *b)
{
    return gen_solve_body(k, A, b, 0);
}

#if ALS_HAVE_X86
/* AVX2 solve: the canonical arithmetic with FMA (fma() compiles to
 * vfnmadd here; the axpy loops are vectorised by the compiler). */
static ALS_AVX2 int avx2_solve(int k, double *A, double *b)
{
    return gen_solve_body(k, A, b, 1);
}

/* Left-looking update of 4 consecutive rows J..J+4 (rows >= k are clamped to
 * k-1 and not stored) over NC column chunks of 8 starting at c:
 * A[J+r][q] -= sum_{i<J} U[i][J+r] U[i][q], i ascending; 4·NC accumulators. */
ALS_INLINE ALS_AVX512 void chol512_update(int k, double *A, int J, int c, const int NC)
{
    __m512d acc[4][4];
    __mmask8 mk[4];
    double *row[4];
    int nr = k - J < 4 ? k - J : 4;
    for (int r = 0; r < 4; r++)
        row[r] = A + (int64_t)(r < nr ? J + r : k - 1) * k;
    for (int j = 0; j < NC; j++)
        mk[j] = cmask(c + 8 * j, k);
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < NC; j++)
            acc[r][j] = _mm512_maskz_loadu_pd(mk[j], row[r] + c + 8 * j);
    int jc[4];
    for (int r = 0; r < 4; r++)
        jc[r] = J + r < k ? J + r : k - 1;
    const double *ui = A;
    for (int i = 0; i < J; i++, ui += k) {
        __m512d v[4];
        for (int j = 0; j < NC; j++)
            v[j] = _mm512_maskz_loadu_pd(mk[j], ui + c + 8 * j);
        for (int r = 0; r < 4; r++) {
            __m512d s = _mm512_set1_pd(ui[jc[r]]);
            for (int j = 0; j < NC; j++)
                acc[r][j] = _mm512_fnmadd_pd(s, v[j], acc[r][j]);
        }
    }
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < NC; j++)
            _mm512_mask_storeu_pd(row[r] + c + 8 * j, mk[j], acc[r][j]);
}

/* Largest k of the AVX-512 solve (its stack buffers); beyond it the
 * portable solve is used.
 *
 * Own Cholesky vs LAPACK, measured per k (one core, Xeon with AVX-512,
 * OpenBLAS 0.3.21, ns per solve of one right-hand side, fast / LAPACKE_dposv
 * row-major 'U' / LAPACKE_dposv column-major 'L' on the same storage, which
 * skips LAPACKE's transposes), default core (Prescott) and SKYLAKEX alike:
 *     k=8    342 /    794 /    495        k=64    6045 /  18015 / 13254
 *     k=16   743 /   1547 /    934        k=96   15028 /  45229 / 30791
 *     k=32  1855 /   3944 /   2704        k=128  31186 / 119164 / 56490
 *     k=48  3395 /   9972 /   6881        k=256 197500 / 695940 / 446588
 * The own solve is faster at every k measured (8..256), so als_solve_spd_fast
 * never calls LAPACK (which also keeps its result independent of the BLAS
 * build and OPENBLAS_CORETYPE). */
#define AVX512_SOLVE_MAXK 1024

/* AVX-512 blocked left-looking Cholesky, A = U^T U in place (row-major
 * upper), 1/u_jj returned in invd. For each block of 4 rows J..J+4:
 * (1) the update by all earlier rows in register tiles of 4 rows × 32
 * columns (chol512_update); (2) the 4×4 diagonal block factored in scalar
 * code (pivot checks, sqrt, reciprocal); (3) the rest of the 4 rows, chunk by
 * chunk in registers: the updates by the earlier rows of the block, then the
 * scaling by 1/u_jj. Per element the subtractions run over i ascending, as
 * in gen_chol_body, but with FMA and the reciprocal. Nothing is stored and
 * reloaded at once with another width or mask (store forwarding would fail
 * and serialise the loop). Returns 0 or the 1-based failing minor. */
static ALS_AVX512 int avx512_chol(int k, double *A, double *invd)
{
    for (int J = 0; J < k; J += 4) {
        if (J > 0) {
            int c = J & ~7; /* chunks aligned to the row's 8-column grid */
            for (; c + 32 <= k; c += 32)
                chol512_update(k, A, J, c, 4);
            int left = k - c;
            if (left > 24)
                chol512_update(k, A, J, c, 4);
            else if (left > 16)
                chol512_update(k, A, J, c, 3);
            else if (left > 8)
                chol512_update(k, A, J, c, 2);
            else if (left > 0)
                chol512_update(k, A, J, c, 1);
        }
        int nr = k - J < 4 ? k - J : 4;
        double *a0 = A + (int64_t)J * k + J; /* a0[r*k + q]: element (J+r, J+q) */
        for (int r = 0; r < nr; r++) {
            for (int i = 0; i < r; i++)
                for (int q = r; q < nr; q++)
                    a0[r * k + q] = fma(-a0[i * k + r], a0[i * k + q], a0[r * k + q]);
            double d = a0[r * k + r];
            if (!(d > 0.0))
                return J + r + 1;
            /* 1/sqrt(d) as sqrt(d) * (1/d): the sqrt and the division run
             * in parallel instead of one after the other. */
            double rd = 1.0 / d;
            d = sqrt(d);
            a0[r * k + r] = d;
            double inv = d * rd;
            invd[J + r] = inv;
            for (int q = r + 1; q < nr; q++)
                a0[r * k + q] *= inv;
        }
        /* Columns >= J + 4 of the block's rows. */
        int cs = (J + 4) & ~7;
        double *row[4];
        __m512d s[4][4], iv[4];
        for (int r = 0; r < 4; r++)
            row[r] = A + (int64_t)(r < nr ? J + r : J) * k;
        for (int r = 0; r < nr; r++) {
            iv[r] = _mm512_set1_pd(invd[J + r]);
            for (int i = 0; i < r; i++)
                s[r][i] = _mm512_set1_pd(row[i][J + r]);
        }
        for (int c = cs; c < k; c += 8) {
            __mmask8 m = cmask(c, k);
            if (c < J + 4)
                m &= (__mmask8)(0xffu << (J + 4 - c));
            __m512d v0 = _mm512_maskz_loadu_pd(m, row[0] + c);
            v0 = _mm512_mul_pd(v0, iv[0]);
            _mm512_mask_storeu_pd(row[0] + c, m, v0);
            if (nr > 1) {
                __m512d v1 = _mm512_maskz_loadu_pd(m, row[1] + c);
                v1 = _mm512_fnmadd_pd(s[1][0], v0, v1);
                v1 = _mm512_mul_pd(v1, iv[1]);
                _mm512_mask_storeu_pd(row[1] + c, m, v1);
                if (nr > 2) {
                    __m512d v2 = _mm512_maskz_loadu_pd(m, row[2] + c);
                    v2 = _mm512_fnmadd_pd(s[2][0], v0, v2);
                    v2 = _mm512_fnmadd_pd(s[2][1], v1, v2);
                    v2 = _mm512_mul_pd(v2, iv[2]);
                    _mm512_mask_storeu_pd(row[2] + c, m, v2);
                    if (nr > 3) {
                        __m512d v3 = _mm512_maskz_loadu_pd(m, row[3] + c);
                        v3 = _mm512_fnmadd_pd(s[3][0], v0, v3);
                        v3 = _mm512_fnmadd_pd(s[3][1], v1, v3);
                        v3 = _mm512_fnmadd_pd(s[3][2], v2, v3);
                        v3 = _mm512_mul_pd(v3, iv[3]);
                        _mm512_mask_storeu_pd(row[3] + c, m, v3);
                    }
                }
            }
        }
    }
    return 0;
}

/* AVX-512 triangular solves with U (upper triangle of A) and invd = 1/u_jj,
 * in blocks of 8 unknowns on a zero-padded copy w of b (kp doubles, 64-byte
 * aligned): forward U^T y = b (the block's 8×8 triangle in scalar code, then
 * the later chunks updated in registers), backward U x = y in the canonical
 * column order (scalar: column j of the row-major U is strided). */
static ALS_AVX512 void avx512_trsv(int k, const double *A, const double *invd, double *w)
{
    for (int c = 0; c < k; c += 8) {
        int nb = k - c < 8 ? k - c : 8;
        double *y = w + c;
        for (int j = 0; j < nb; j++) {
            const double *uj = A + (int64_t)(c + j) * k + c;
            double yj = y[j] * invd[c + j];
            y[j] = yj;
            for (int q = j + 1; q < nb; q++)
                y[q] = fma(-yj, uj[q], y[q]);
        }
        for (int c2 = c + 8; c2 < k; c2 += 8) {
            __mmask8 m = cmask(c2, k);
            __m512d t = _mm512_load_pd(w + c2);
            for (int j = 0; j < nb; j++)
                t = _mm512_fnmadd_pd(_mm512_set1_pd(y[j]),
                                     _mm512_maskz_loadu_pd(m, A + (int64_t)(c + j) * k + c2), t);
            _mm512_store_pd(w + c2, t);
        }
    }
    /* Backward, canonical order: for j descending, x_j, then the x_q
     * (q < j) lose u_qj x_j; column j of U is strided, so this part is
     * scalar (independent chains over q). */
    for (int j = k - 1; j >= 0; j--) {
        double x = w[j] * invd[j];
        w[j] = x;
        const double *uq = A + j;
        for (int q = 0; q < j; q++, uq += k)
            w[q] = fma(-*uq, x, w[q]);
    }
}

/* AVX-512 solve: factor, then the two triangular solves on a padded copy
 * of b. */
static ALS_AVX512 int avx512_solve(int k, double *A, double *b)
{
    if (k > AVX512_SOLVE_MAXK)
        return gen_solve_body(k, A, b, 1);
    double invd[AVX512_SOLVE_MAXK];
    double w[AVX512_SOLVE_MAXK + 8] __attribute__((aligned(64)));
    int info = avx512_chol(k, A, invd);
    if (info)
        return info;
    int kp = (int)pad8(k);
    memcpy(w, b, sizeof(double) * (size_t)k);
    for (int i = k; i < kp; i++)
        w[i] = 0.0;
    avx512_trsv(k, A, invd, w);
    memcpy(b, w, sizeof(double) * (size_t)k);
    return 0;
}
#endif /* ALS_HAVE_X86 */

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */
/* ------------------------------------------------------------------------ */

typedef void (*block_fn)(int k, int64_t kp, int64_t m, const double *G, double *C,
                         int first, int final, double *A, double *b, const double *r,
                         double *bacc, pf_sched *pf);
typedef int (*solve_fn)(int k, double *A, double *b);
typedef void (*batch_fn)(int k, int ng, const double *const *A, double *const *b, int *info,
                         double *ws);

typedef void (*gather_fn)(int k, int64_t kp, int64_t t0, int64_t m, const int64_t *idx,
                          const double *X, double *G);
typedef struct {
    const char *name;
    als_isa_t id;
    gather_fn gather; /* gather_block, or a vector one that also zeroes the padding */
    int pads;         /* the gather writes the padding columns k..kp */
    block_fn block;
    solve_fn solve;
    int rows, cols; /* tile shape of the gram kernel (rows × widest columns) */
    int direct;     /* the last block's tiles write A and b themselves */
    int in_place;   /* the tiles can read the rows of X in place (k % 8 == 0);
                     * not on AVX2, whose 4×12 tiles make about three times as
                     * many passes over the rows: slower there at k = 64 (0.93-0.95
                     * -> 1.03-1.04 s per iteration, 2M set, huge pages) and
                     * no faster at k = 16 */
    batch_fn batch; /* compact solve of exactly ng·lanes systems, ng = 1, 2 */
    int lanes;
    const char *solve_desc; /* the batched solve's shape, for the start-up line */
} isa_impl;

static const isa_impl impl_generic = {"generic", ALS_ISA_GENERIC, gather_block, 0, gen_block, gen_solve, 4, 4, 0, 0,
                                      als__compact_solve_generic, 4,
                                      "compact 4 lanes (vector extensions), 2x2 update tiles"};
#if ALS_HAVE_X86
static const isa_impl impl_avx2 = {"avx2", ALS_ISA_AVX2, gather_block, 0, avx2_block, avx2_solve, 4, 12, 0, 0,
                                   als__compact_solve_avx2, 4,
                                   "compact 4 lanes (ymm), 3x4 update tiles"};
static const isa_impl impl_avx512 = {"avx512", ALS_ISA_AVX512, gather_block_512, 1, avx512_block, avx512_solve, 8, 24, 1, 1,
                                     als__compact_solve_avx512, 8,
                                     "compact 8 lanes (zmm), 4x6 update tiles"};
#endif

/* The implementation in use; set by the constructor below, before main. */
static const isa_impl *g_impl = &impl_generic;

/* 1 if this CPU (and OS) supports the named ISA. */
static int cpu_has(const char *isa)
{
    if (strcmp(isa, "generic") == 0)
        return 1;
#if ALS_HAVE_X86
    __builtin_cpu_init();
    if (strcmp(isa, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(isa, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("fma");
#endif
    return 0;
}

/* Why the current ISA was chosen, for als_kernel_config. */
static char g_choice_reason[160] = "not initialised";

/* The CPU's vendor, family and model (x86 CPUID leaves 0 and 1), as text. */
static void cpu_ident(char *out, size_t cap)
{
#if ALS_HAVE_X86
    unsigned a, b, c, d;
    char vendor[13] = "unknown";
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(vendor, &b, 4), memcpy(vendor + 4, &d, 4), memcpy(vendor + 8, &c, 4);
        vendor[12] = 0;
    }
    unsigned fam = 0, model = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        fam = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
        if (fam == 0xf)
            fam += (a >> 20) & 0xff;
        if (fam == 0x6 || fam >= 0xf)
            model |= ((a >> 16) & 0xf) << 4;
    }
    snprintf(out, cap, "%s family 0x%x model 0x%x", vendor, fam, model);
#else
    snprintf(out, cap, "non-x86 CPU");
#endif
}

/* Pick the ISA once, at program start-up, from a table of CPU kinds (no
 * timing, so every rank of a homogeneous cluster picks the same one):
 *   Intel with AVX-512F/VL (Skylake-SP and later Xeons)     -> avx512
 *   AMD family 0x19+ with AVX-512 (Zen 4, 512-bit ops split  -> avx512
 *     into two 256-bit halves, still fewer instructions; not measured here)
 *   any other CPU with AVX2 + FMA (AMD Zen 1-3, Intel Haswell..client) -> avx2
 *   everything else (older x86, ARM, ...)                   -> generic
 * ALS_KERNEL_ISA (read by the tools) or als_kernel_set_isa overrides it. */
__attribute__((constructor)) static void als_kernels_init(void)
{
    char id[96];
    cpu_ident(id, sizeof id);
    const char *why = "no AVX2+FMA";
#if ALS_HAVE_X86
    if (cpu_has("avx512")) {
        g_impl = &impl_avx512;
        why = "AVX-512F/VL";
    } else if (cpu_has("avx2")) {
        g_impl = &impl_avx2;
        why = "AVX2+FMA, no AVX-512";
    }
#endif
    snprintf(g_choice_reason, sizeof g_choice_reason, "CPU table: %s, %s", id, why);
}

const char *als_kernel_isa(void)
{
    return g_impl->name;
}

als_isa_t als_kernel_isa_id(void)
{
    return g_impl->id;
}

int als_kernel_set_isa(const char *isa)
{
    if (isa == NULL || !cpu_has(isa))
        return -1;
    snprintf(g_choice_reason, sizeof g_choice_reason, "pinned");
#if ALS_HAVE_X86
    if (strcmp(isa, "avx512") == 0) {
        g_impl = &impl_avx512;
        return 0;
    }
    if (strcmp(isa, "avx2") == 0) {
        g_impl = &impl_avx2;
        return 0;
    }
#endif
    g_impl = &impl_generic;
    return 0;
}

/* Fast gram + rhs: blocks of rows, gathered into ws (padded, prefetching
 * ahead) or read in place, the ISA's register tiles over each block
 * accumulating into a padded kp×kp buffer in ws, then the upper triangle
 * copied to A and b out (or written by the last block's tiles). */
void als_gram_rhs_fast(int k, int64_t n, const int64_t *idx, const double *r,
                       const double *X, double *A, double *b, double *ws, int inplace)
{
    if (k <= 0)
        return;
    if (n <= 0) {
        zero_upper(k, A, b);
        return;
    }
    const isa_impl *impl = g_impl;
    int64_t kp = pad8(k), B = fast_block(k);
    double *w = (double *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    double *C = w, *bacc = C + kp * kp, *G = bacc + kp;
    /* In place: the tiles read the rows where they are (no copy), which
     * needs rows without padding (k % 8 == 0) and pays off only when X is on
     * huge pages (each tile pass would otherwise walk the page tables for
     * rows scattered over a large X: measured, docs/PERFORMANCE.md). */
    const int in_place = inplace && impl->in_place && kp == k;
    /* Tile passes per block, to spread the next block's prefetches. */
    int64_t ntiles = 0;
    for (int64_t p0 = 0; p0 < k; p0 += impl->rows)
        ntiles += (kp - p0 + impl->cols - 1) / impl->cols;
    /* Blocks of B ratings; while one block is computed, the rows of the
     * next one are prefetched (spread over its tile passes). Only the first
     * block's gather latency is exposed (in place: the first tile pass
     * prefetches its rows FAST_PREFETCH_ROWS ahead, as the gather does).
     * (Splitting short rows into smaller first blocks to hide more of it
     * cost more in accumulator reloads and short loops than it saved:
     * measured, see the file comment.) */
    int64_t m = n < B ? n : B;
    if (in_place) {
        gather_prefetch_first(k, 0, m, idx, X);
    } else {
        if (kp > k && !impl->pads)
            for (int64_t t = 0; t < m; t++)
                memset(G + t * kp + k, 0, sizeof(double) * (size_t)(kp - k));
        impl->gather(k, kp, 0, m, idx, X, G);
    }
    for (int64_t t0 = 0; t0 < n;) {
        int64_t t1 = t0 + m;
        int64_t mn = n - t1 < B ? n - t1 : B;
        pf_sched pf = {X, idx, k, t1, t1 + mn, (mn + ntiles - 1) / ntiles,
                       in_place ? idx + t0 : NULL, in_place && t0 == 0 ? FAST_PREFETCH_ROWS : 0};
        impl->block(k, kp, m, G, C, t0 == 0, mn == 0, A, b, r + t0, bacc, &pf);
        if (mn > 0 && !in_place)
            impl->gather(k, kp, t1, mn, idx, X, G);
        t0 = t1;
        m = mn;
    }
    if (!impl->direct) {
        for (int p = 0; p < k; p++)
            memcpy(A + (int64_t)p * k + p, C + p * kp + p, sizeof(double) * (size_t)(k - p));
        memcpy(b, bacc, sizeof(double) * (size_t)k);
    }
}

/* Fast SPD solve: NaN/Inf check, then the ISA's own Cholesky and triangular
 * solves. */
int als_solve_spd_fast(int k, double *A, double *b)
{
    if (k <= 0)
        return 0;
    if (has_nonfinite(k, A, b))
        return -1;
    return g_impl->solve(k, A, b);
}

void als_gram_rhs(als_kernel_t kern, int k, int64_t n, const int64_t *idx, const double *r,
                  const double *X, double *A, double *b, double *ws, int inplace)
{
    if (kern == ALS_KERNEL_REF)
        als_gram_rhs_ref(k, n, idx, r, X, A, b, ws);
    else
        als_gram_rhs_fast(k, n, idx, r, X, A, b, ws, inplace);
}

int als_solve_spd(als_kernel_t kern, int k, double *A, double *b)
{
    if (kern == ALS_KERNEL_REF)
        return als_solve_spd_ref(k, A, b);
    return als_solve_spd_fast(k, A, b);
}

/* Largest k solved in the compact layout; beyond it the batch runs the
 * single-system solve of the same ISA on each system (same arithmetic, so
 * the results are the same bits either way; only the speed differs). */
#define COMPACT_MAXK 256

/* Groups of `lanes` systems factored together, their block steps
 * alternating so that one group's pivot chain (sqrt, division) overlaps the
 * other's tiles. Measured (AVX-512, one core, wall time, shared machine):
 * two groups were not faster than one (k = 16: 13.3 vs 16.9 GFLOP/s,
 * k = 64: 35.9 vs 37.3, k = 128: 39.4 vs 44.5), the larger working set
 * costing more than the overlap gains; kept selectable. */
#ifndef BATCH_GROUPS
#define BATCH_GROUPS 1
#endif

int64_t als_solve_batch_ws_size(int k)
{
    if (k <= 0)
        return 0;
    int64_t single = (int64_t)k * k + 8;
    if (k > COMPACT_MAXK)
        return single;
    int64_t c4 = als__compact_ws_size(k, 4, BATCH_GROUPS);
    int64_t c8 = als__compact_ws_size(k, 8, BATCH_GROUPS);
    int64_t c = c4 > c8 ? c4 : c8;
    return c > single ? c : single;
}

int als_solve_batch_lanes(als_kernel_t kern)
{
    return kern == ALS_KERNEL_REF ? 1 : g_impl->lanes;
}

/* Batched solve: groups of `lanes` systems through the ISA's compact solve
 * (which also does the NaN/Inf checks, on the packed data) (the last group padded with repeats of
 * its first system, never written back), or one system at a time for
 * kern == ALS_KERNEL_REF and for k > COMPACT_MAXK. */
int als_solve_spd_batch(als_kernel_t kern, int k, int nb, const double *const *A,
                        double *const *b, int *info, double *ws)
{
    int bad = 0;
    if (nb <= 0)
        return 0;
    if (k <= 0) {
        for (int s = 0; s < nb; s++)
            info[s] = 0;
        return 0;
    }
    const isa_impl *impl = g_impl;
    if (kern == ALS_KERNEL_REF || k > COMPACT_MAXK) {
        double *W = (double *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
        for (int s = 0; s < nb; s++) {
            for (int p = 0; p < k; p++)
                memcpy(W + (int64_t)p * k + p, A[s] + (int64_t)p * k + p,
                       sizeof(double) * (size_t)(k - p));
            info[s] = als_solve_spd(kern, k, W, b[s]);
            bad += info[s] != 0;
        }
        return bad;
    }
    const int L = impl->lanes;
    for (int s0 = 0; s0 < nb;) {
        const double *Ag[16];
        double *bg[16];
        int ig[16];
        /* BATCH_GROUPS groups of L systems per call (the last one padded
         * with repeats of its first system). */
        int ng = nb - s0 > L ? BATCH_GROUPS : 1;
        int n = nb - s0 < ng * L ? nb - s0 : ng * L;
        for (int l = 0; l < ng * L; l++) {
            int s = s0 + (l < n ? l : 0);
            Ag[l] = A[s];
            bg[l] = b[s];
            ig[l] = l < n ? 0 : -3; /* -3: padding, never written back */
        }
        impl->batch(k, ng, Ag, bg, ig, ws);
        for (int l = 0; l < n; l++) {
            info[s0 + l] = ig[l];
            bad += ig[l] != 0;
        }
        s0 += n;
    }
    return bad;
}

const char *als_kernel_config(void)
{
    static char buf[400];
    const isa_impl *impl = g_impl;
    snprintf(buf, sizeof buf, "isa %s (%s); gram tiles %dx%d; solve %s", impl->name,
             g_choice_reason, impl->rows, impl->cols, impl->solve_desc);
    return buf;
}

/* ---- als_dot8 for many rows (als_dot8_vec.h) ---------------------------- */
/* Row t of the rows an als_dot8_rows call reads: X[idx[t]], or X + t k. */
static inline const double *d8_row(const double *X, const int64_t *idx, int64_t t, int k)
{
    return X + (idx ? idx[t] : t) * (int64_t)k;
}

static void dot8_rows_c(int k, int64_t n, const double *X, const int64_t *idx, const double *x,
                        double *out)
{
    for (int64_t t = 0; t < n; t++)
        out[t] = als_dot8(d8_row(X, idx, t, k), x, k);
}

#if ALS_HAVE_X86 && defined(__GNUC__)
#include "als_dot8_vec.h"
/* y[j] = rows t + j < n, the rest x (read, never stored): the rows of one
 * group of four. Returns how many are rows (1..4). */
static inline int d8_group(const double *X, const int64_t *idx, int64_t t, int64_t n, int k,
                           const double *x, const double *y[4])
{
    const int m = n - t < 4 ? (int)(n - t) : 4;
    for (int j = 0; j < 4; j++)
        y[j] = j < m ? d8_row(X, idx, t + j, k) : x;
    return m;
}

/* Four rows at a time, any k: whole groups with their lane sums in
 * registers (the last k mod 8 coordinates under masks, als_d8_tail_*) and
 * the four trees stored at once (als_d8_tree4_*v), the last partial group by
 * als_d8_dots4_* (the same adds, so als_dot8's bits). */
__attribute__((target("avx2"))) static void dot8_rows_256(int k, int64_t n, const double *X,
                                                          const int64_t *idx, const double *x,
                                                          double *out)
{
    const __m256d z = _mm256_setzero_pd();
    const int kf = k & ~7;
    const als_d8_tail256_t tail = als_d8_tail_setup_256(k, x);
    const double *y[4];
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) {
        d8_group(X, idx, t, n, k, x, y);
        __m256d l0 = z, h0 = z, l1 = z, h1 = z, l2 = z, h2 = z, l3 = z, h3 = z;
        for (int c = 0; c < kf; c += 8) {
            const __m256d xl = _mm256_loadu_pd(x + c), xh = _mm256_loadu_pd(x + c + 4);
            l0 = _mm256_add_pd(l0, _mm256_mul_pd(_mm256_loadu_pd(y[0] + c), xl));
            h0 = _mm256_add_pd(h0, _mm256_mul_pd(_mm256_loadu_pd(y[0] + c + 4), xh));
            l1 = _mm256_add_pd(l1, _mm256_mul_pd(_mm256_loadu_pd(y[1] + c), xl));
            h1 = _mm256_add_pd(h1, _mm256_mul_pd(_mm256_loadu_pd(y[1] + c + 4), xh));
            l2 = _mm256_add_pd(l2, _mm256_mul_pd(_mm256_loadu_pd(y[2] + c), xl));
            h2 = _mm256_add_pd(h2, _mm256_mul_pd(_mm256_loadu_pd(y[2] + c + 4), xh));
            l3 = _mm256_add_pd(l3, _mm256_mul_pd(_mm256_loadu_pd(y[3] + c), xl));
            h3 = _mm256_add_pd(h3, _mm256_mul_pd(_mm256_loadu_pd(y[3] + c + 4), xh));
        }
        if (tail.any_lo) {
            als_d8_tail_256(&l0, &h0, y[0], kf, &tail);
            als_d8_tail_256(&l1, &h1, y[1], kf, &tail);
            als_d8_tail_256(&l2, &h2, y[2], kf, &tail);
            als_d8_tail_256(&l3, &h3, y[3], kf, &tail);
        }
        _mm256_storeu_pd(out + t, als_d8_tree4_256v(l0, h0, l1, h1, l2, h2, l3, h3));
    }
    if (t < n) {
        double sv[4];
        const int m = d8_group(X, idx, t, n, k, x, y);
        als_d8_dots4_256(k, y, m, x, sv);
        memcpy(out + t, sv, (size_t)m * sizeof *out);
    }
}

__attribute__((target("avx512f"))) static void dot8_rows_512(int k, int64_t n, const double *X,
                                                             const int64_t *idx,
                                                             const double *x, double *out)
{
    const __m512d z = _mm512_setzero_pd();
    const int kf = k & ~7;
    const __mmask8 tm = als_d8_mask_512(k);
    const __m512d xt = _mm512_maskz_loadu_pd(tm, x + kf);
    const double *y[4];
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) {
        d8_group(X, idx, t, n, k, x, y);
        __m512d a0 = z, a1 = z, a2 = z, a3 = z;
        for (int c = 0; c < kf; c += 8) {
            const __m512d xv = _mm512_loadu_pd(x + c);
            a0 = _mm512_add_pd(a0, _mm512_mul_pd(_mm512_loadu_pd(y[0] + c), xv));
            a1 = _mm512_add_pd(a1, _mm512_mul_pd(_mm512_loadu_pd(y[1] + c), xv));
            a2 = _mm512_add_pd(a2, _mm512_mul_pd(_mm512_loadu_pd(y[2] + c), xv));
            a3 = _mm512_add_pd(a3, _mm512_mul_pd(_mm512_loadu_pd(y[3] + c), xv));
        }
        if (tm) {
            a0 = als_d8_tail_512(a0, y[0], kf, xt, tm);
            a1 = als_d8_tail_512(a1, y[1], kf, xt, tm);
            a2 = als_d8_tail_512(a2, y[2], kf, xt, tm);
            a3 = als_d8_tail_512(a3, y[3], kf, xt, tm);
        }
        _mm256_storeu_pd(out + t, als_d8_tree4_512v(a0, a1, a2, a3));
    }
    if (t < n) {
        double sv[4];
        const int m = d8_group(X, idx, t, n, k, x, y);
        als_d8_dots4_512(k, y, m, x, sv);
        memcpy(out + t, sv, (size_t)m * sizeof *out);
    }
}
#define ALS_DOT8_VEC 1
#else
#define ALS_DOT8_VEC 0
#endif

/* The vector path of an ISA (any k); -1 when it cannot run (generic, or no
 * x86 vectors in this build). The caller has checked the CPU. */
static int dot8_rows_vec(als_isa_t isa, int k, int64_t n, const double *X, const int64_t *idx,
                         const double *x, double *out)
{
#if ALS_DOT8_VEC
    if (isa == ALS_ISA_AVX512) {
        dot8_rows_512(k, n, X, idx, x, out);
        return 0;
    }
    if (isa == ALS_ISA_AVX2) {
        dot8_rows_256(k, n, X, idx, x, out);
        return 0;
    }
#else
    (void)isa; (void)k; (void)n; (void)X; (void)idx; (void)x; (void)out;
#endif
    return -1;
}

void als_dot8_rows(int k, int64_t n, const double *X, const int64_t *idx, const double *x,
                   double *out)
{
    if (n == 0 || dot8_rows_vec(g_impl->id, k, n, X, idx, x, out) != 0)
        dot8_rows_c(k, n, X, idx, x, out);
}

int als_dot8_rows_isa(const char *isa, int k, int64_t n, const double *X, const int64_t *idx,
                      const double *x, double *out)
{
    if (!isa) {
        dot8_rows_c(k, n, X, idx, x, out);
        return 0;
    }
    if (!cpu_has(isa))
        return -1;
    return dot8_rows_vec(strcmp(isa, "avx512") == 0 ? ALS_ISA_AVX512
                         : strcmp(isa, "avx2") == 0 ? ALS_ISA_AVX2
                                                    : ALS_ISA_GENERIC,
                         k, n, X, idx, x, out);
}

/* ---- g +/-= sum_t w[t] row_t (als_rows_axpy) -----------------------------
 * Each element is updated in rating order by a rounded product, then a
 * rounded add: no FMA, so every path gives the bits of the plain C loop.
 * neg negates the weight: (-w) y = -(w y) and g + (-p) = g - p exactly, so
 * that is the subtraction's bits. The vector paths keep up to 32 (AVX-512)
 * or 16 (AVX2) elements of g in registers over the ratings, then 8 or 4 at
 * a time. */
/* The plain loop over the elements c0..k-1 (the vector paths' tail). */
static void axpy_rows_c(int k, int c0, int64_t n, const double *X, const int64_t *idx,
                        const double *w, int neg, double *g)
{
    for (int64_t t = 0; t < n; t++) {
        const double *y = d8_row(X, idx, t, k), wt = neg ? -w[t] : w[t];
        for (int c = c0; c < k; c++) {
            const double p = wt * y[c];
            g[c] += p;
        }
    }
}

#if ALS_HAVE_X86
static ALS_AVX512 void axpy_rows_512(int k, int64_t n, const double *X, const int64_t *idx,
                                     const double *w, int neg, double *g)
{
    int c0 = 0;
    for (; c0 + 32 <= k; c0 += 32) {
        __m512d a0 = _mm512_loadu_pd(g + c0), a1 = _mm512_loadu_pd(g + c0 + 8);
        __m512d a2 = _mm512_loadu_pd(g + c0 + 16), a3 = _mm512_loadu_pd(g + c0 + 24);
        for (int64_t t = 0; t < n; t++) {
            const double *y = d8_row(X, idx, t, k) + c0;
            const __m512d wt = _mm512_set1_pd(neg ? -w[t] : w[t]);
            a0 = _mm512_add_pd(a0, _mm512_mul_pd(wt, _mm512_loadu_pd(y)));
            a1 = _mm512_add_pd(a1, _mm512_mul_pd(wt, _mm512_loadu_pd(y + 8)));
            a2 = _mm512_add_pd(a2, _mm512_mul_pd(wt, _mm512_loadu_pd(y + 16)));
            a3 = _mm512_add_pd(a3, _mm512_mul_pd(wt, _mm512_loadu_pd(y + 24)));
        }
        _mm512_storeu_pd(g + c0, a0), _mm512_storeu_pd(g + c0 + 8, a1);
        _mm512_storeu_pd(g + c0 + 16, a2), _mm512_storeu_pd(g + c0 + 24, a3);
    }
    for (; c0 < k; c0 += 8) {
        const __mmask8 m = k - c0 >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (k - c0)) - 1u);
        __m512d a = _mm512_maskz_loadu_pd(m, g + c0);
        for (int64_t t = 0; t < n; t++) {
            const __m512d wt = _mm512_set1_pd(neg ? -w[t] : w[t]);
            const __m512d y = _mm512_maskz_loadu_pd(m, d8_row(X, idx, t, k) + c0);
            a = _mm512_add_pd(a, _mm512_mul_pd(wt, y));
        }
        _mm512_mask_storeu_pd(g + c0, m, a);
    }
}

static ALS_AVX2 void axpy_rows_256(int k, int64_t n, const double *X, const int64_t *idx,
                                   const double *w, int neg, double *g)
{
    int c0 = 0;
    for (; c0 + 16 <= k; c0 += 16) {
        __m256d a0 = _mm256_loadu_pd(g + c0), a1 = _mm256_loadu_pd(g + c0 + 4);
        __m256d a2 = _mm256_loadu_pd(g + c0 + 8), a3 = _mm256_loadu_pd(g + c0 + 12);
        for (int64_t t = 0; t < n; t++) {
            const double *y = d8_row(X, idx, t, k) + c0;
            const __m256d wt = _mm256_set1_pd(neg ? -w[t] : w[t]);
            a0 = _mm256_add_pd(a0, _mm256_mul_pd(wt, _mm256_loadu_pd(y)));
            a1 = _mm256_add_pd(a1, _mm256_mul_pd(wt, _mm256_loadu_pd(y + 4)));
            a2 = _mm256_add_pd(a2, _mm256_mul_pd(wt, _mm256_loadu_pd(y + 8)));
            a3 = _mm256_add_pd(a3, _mm256_mul_pd(wt, _mm256_loadu_pd(y + 12)));
        }
        _mm256_storeu_pd(g + c0, a0), _mm256_storeu_pd(g + c0 + 4, a1);
        _mm256_storeu_pd(g + c0 + 8, a2), _mm256_storeu_pd(g + c0 + 12, a3);
    }
    for (; c0 + 4 <= k; c0 += 4) {
        __m256d a = _mm256_loadu_pd(g + c0);
        for (int64_t t = 0; t < n; t++) {
            const __m256d wt = _mm256_set1_pd(neg ? -w[t] : w[t]);
            a = _mm256_add_pd(a, _mm256_mul_pd(wt, _mm256_loadu_pd(d8_row(X, idx, t, k) + c0)));
        }
        _mm256_storeu_pd(g + c0, a);
    }
    axpy_rows_c(k, c0, n, X, idx, w, neg, g); /* the last k mod 4 elements */
}
#endif

static int axpy_rows_vec(als_isa_t isa, int k, int64_t n, const double *X, const int64_t *idx,
                         const double *w, int neg, double *g)
{
#if ALS_HAVE_X86
    if (isa == ALS_ISA_AVX512) {
        axpy_rows_512(k, n, X, idx, w, neg, g);
        return 0;
    }
    if (isa == ALS_ISA_AVX2) {
        axpy_rows_256(k, n, X, idx, w, neg, g);
        return 0;
    }
#else
    (void)isa; (void)k; (void)n; (void)X; (void)idx; (void)w; (void)neg; (void)g;
#endif
    return -1;
}

void als_rows_axpy(int k, int64_t n, const double *X, const int64_t *idx, const double *w,
                   int neg, double *g)
{
    if (k <= 0 || n <= 0)
        return;
    if (axpy_rows_vec(g_impl->id, k, n, X, idx, w, neg, g) != 0)
        axpy_rows_c(k, 0, n, X, idx, w, neg, g);
}

int als_rows_axpy_isa(const char *isa, int k, int64_t n, const double *X, const int64_t *idx,
                      const double *w, int neg, double *g)
{
    if (!isa) {
        axpy_rows_c(k, 0, n, X, idx, w, neg, g);
        return 0;
    }
    if (!cpu_has(isa))
        return -1;
    return axpy_rows_vec(strcmp(isa, "avx512") == 0 ? ALS_ISA_AVX512
                         : strcmp(isa, "avx2") == 0 ? ALS_ISA_AVX2
                                                    : ALS_ISA_GENERIC,
                         k, n, X, idx, w, neg, g);
}
