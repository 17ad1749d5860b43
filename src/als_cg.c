/* als_cg.c - matrix-free conjugate gradient for one row (see als_cg.h). */
#include "als_cg.h"
#include "als_kernels.h"

#include <math.h>
#include <string.h>

/* The loops below are plain C; the hot ones are ALS_CLONES (als_clones.h:
 * compiled for AVX-512 and AVX2 too, the same bits in every clone). */
#include "als_clones.h"

/* The shared fixed-order dot product, inlined into each clone. */
static inline __attribute__((always_inline)) double cg_dot(const double *a, const double *b,
                                                          int k)
{
    return als_dot8(a, b, k);
}

double als_cg_dot(const double *a, const double *b, int k)
{
    return als_dot8(a, b, k);
}

int64_t als_cg_ws_size(int k)
{
    return 3 * (int64_t)k;
}

ALS_CLONES void als_cg_rhs(int k, int64_t n, const int64_t *idx, const double *coef, const double *X,
                double *b)
{
    memset(b, 0, (size_t)k * sizeof *b);
    for (int64_t t = 0; t < n; t++) {
        const double *x = X + (idx ? idx[t] : t) * (int64_t)k, a = coef[t];
        for (int c = 0; c < k; c++)
            b[c] += a * x[c];
    }
}

/* Row t of the problem: X[idx[t]], or X + t k for a panel (idx NULL). */
static inline const double *cg_x(const als_cg_row_t *row, int64_t t)
{
    return row->X + (row->idx ? row->idx[t] : t) * (int64_t)row->k;
}

/* The coefficient of x_t given s = x_t'p: w_t s (the product A p), or with
 * coef (the initial residual b - A p) coef_t - w_t s. */
static inline double cg_coef(const als_cg_row_t *row, const double *coef, int64_t t, double s)
{
    if (row->w)
        s *= row->w[t];
    return coef ? coef[t] - s : s;
}

/* q += sum_t cg_coef(t, x_t'p) x_t over the row's entries, plain C, in
 * rating order: the reference for the vector kernels below. */
ALS_CLONES static void cg_panel_generic(const als_cg_row_t *row, const double *coef,
                                       const double *p, double *q)
{
    const int k = row->k;
    for (int64_t t = 0; t < row->n; t++) {
        const double *x = cg_x(row, t);
        double s = cg_coef(row, coef, t, cg_dot(x, p, k));
        for (int c = 0; c < k; c++)
            q[c] += s * x[c];
    }
}

/* The same sum as the vector kernels below compute it, in plain C with
 * fma() (slow; the oracle the tests hold them to, bit for bit): 8 lane sums
 * s_l = fma(x_c, p_c, s_l) over the coordinates c = l mod 8 ascending, from
 * +0, combined in cg_dot's tree ((s0+s4)+(s1+s5))+((s2+s6)+(s3+s7)); then
 * q_c = fma(s_t, x_c, q_c) in rating order. Any k. */
static void cg_panel_fma_ref(const als_cg_row_t *row, const double *coef, const double *p,
                             double *q)
{
    const int k = row->k;
    for (int64_t t = 0; t < row->n; t++) {
        const double *x = cg_x(row, t);
        double l[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        for (int c = 0; c < k; c++)
            l[c % 8] = fma(x[c], p[c], l[c % 8]);
        double s = cg_coef(row, coef, t,
                           ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7])));
        for (int c = 0; c < k; c++)
            q[c] = fma(s, x[c], q[c]);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include "als_dot8_vec.h"
#define CG_HAVE_VEC 1
/* The same sum on 8-lane vectors with FMA, four entries at a time: each dot
 * keeps cg_dot's 8 lanes (each lane a chain of fused multiply-adds from +0)
 * and its fixed tree ((s0+s4)+(s1+s5))+((s2+s6)+(s3+s7)), done for four
 * entries at once by shuffles that pair the same lanes; the axpys
 * q += s_t x_t (fused) then run in rating order. So AVX-512 and AVX2 give
 * the same bits (those of cg_panel_fma_ref); the plain C path, without FMA,
 * differs from them by rounding. Any k (zmm: k <= 64, with p and q held in
 * registers; ymm: any k, q through memory). The last k mod 8 coordinates
 * come from masked loads (nothing read past a row's end, 0 elsewhere): a
 * masked-off lane then adds fma(0, 0, s) = s to its dot (lane sums start at
 * +0 and are never -0) and q's lanes from k on are never stored. */
/* Vector v of a row r (k doubles): masked in the last vector (tm). */
#define CG_LD(r, v) \
    ((v) == nv - 1 ? _mm512_maskz_loadu_pd(tm, (r) + 8 * (v)) : _mm512_loadu_pd((r) + 8 * (v)))
#define CG512_BODY(KV)                                                                      \
    __attribute__((target("avx512f"))) static void cg_panel_avx512_##KV(                    \
        const als_cg_row_t *row, const double *coef, const double *p, double *q)            \
    {                                                                                       \
        const int k = row->k, nv = KV; /* k: 8 KV - 7 .. 8 KV */                            \
        const __m512d z = _mm512_setzero_pd();                                              \
        /* Vector v's mask: all lanes, but lanes < k - 8 v in the last. */                  \
        const __mmask8 tm = (__mmask8)(k % 8 ? (1u << (k % 8)) - 1u : 0xffu);               \
        __m512d P[KV], Q[KV];                                                               \
        for (int v = 0; v < KV; v++) {                                                      \
            P[v] = CG_LD(p, v);                                                             \
            Q[v] = CG_LD(q, v);                                                             \
        }                                                                                   \
        const int64_t n = row->n;                                                           \
        int64_t t = 0;                                                                      \
        /* Whole blocks of four: the dots stay in registers (no spill, no         \
         * store and reload before the axpys). */                                 \
        for (; t + 4 <= n; t += 4) {                                                        \
            const double *x0 = cg_x(row, t), *x1 = cg_x(row, t + 1), *x2 = cg_x(row, t + 2),    \
                         *x3 = cg_x(row, t + 3);                                            \
            __m512d a0 = z, a1 = z, a2 = z, a3 = z;                                         \
            for (int v = 0; v < KV; v++) {                                                  \
                a0 = _mm512_fmadd_pd(CG_LD(x0, v), P[v], a0);               \
                a1 = _mm512_fmadd_pd(CG_LD(x1, v), P[v], a1);               \
                a2 = _mm512_fmadd_pd(CG_LD(x2, v), P[v], a2);               \
                a3 = _mm512_fmadd_pd(CG_LD(x3, v), P[v], a3);               \
            }                                                                               \
            __m256d s4 = als_d8_tree4_512v(a0, a1, a2, a3);                                 \
            /* cg_coef on four lanes: the same rounded operations. */               \
            if (row->w)                                                                     \
                s4 = _mm256_mul_pd(s4, _mm256_loadu_pd(row->w + t));                        \
            if (coef)                                                                       \
                s4 = _mm256_sub_pd(_mm256_loadu_pd(coef + t), s4);                          \
            const __m512d s512 = _mm512_castpd256_pd512(s4);                                \
            const __m512d b0 = _mm512_permutexvar_pd(_mm512_set1_epi64(0), s512),           \
                          b1 = _mm512_permutexvar_pd(_mm512_set1_epi64(1), s512),           \
                          b2 = _mm512_permutexvar_pd(_mm512_set1_epi64(2), s512),           \
                          b3 = _mm512_permutexvar_pd(_mm512_set1_epi64(3), s512);           \
            for (int v = 0; v < KV; v++) {                                                  \
                Q[v] = _mm512_fmadd_pd(b0, CG_LD(x0, v), Q[v]);               \
                Q[v] = _mm512_fmadd_pd(b1, CG_LD(x1, v), Q[v]);               \
                Q[v] = _mm512_fmadd_pd(b2, CG_LD(x2, v), Q[v]);               \
                Q[v] = _mm512_fmadd_pd(b3, CG_LD(x3, v), Q[v]);               \
            }                                                                               \
        }                                                                                   \
        for (; t < n; t += 4) {                                                             \
            const int m = n - t < 4 ? (int)(n - t) : 4;                                     \
            const double *x[4];                                                             \
            __m512d acc[4];                                                                 \
            for (int j = 0; j < 4; j++) {                                                   \
                x[j] = j < m ? cg_x(row, t + j) : NULL;                                     \
                acc[j] = z;                                                                 \
            }                                                                               \
            for (int j = 0; j < m; j++)                                                     \
                for (int v = 0; v < KV; v++)                                                \
                    acc[j] = _mm512_fmadd_pd(CG_LD(x[j], v), P[v], acc[j]);  \
            double s[4];                                                                    \
            als_d8_tree4_512(acc[0], acc[1], acc[2], acc[3], s);                                 \
            for (int j = 0; j < m; j++) {                                                   \
                __m512d sv = _mm512_set1_pd(cg_coef(row, coef, t + j, s[j]));               \
                for (int v = 0; v < KV; v++)                                                \
                    Q[v] = _mm512_fmadd_pd(sv, CG_LD(x[j], v), Q[v]);       \
            }                                                                               \
        }                                                                                   \
        for (int v = 0; v < KV; v++)                                                        \
            _mm512_mask_storeu_pd(q + 8 * v, v == KV - 1 ? tm : (__mmask8)0xff, Q[v]);      \
    }
CG512_BODY(1)
CG512_BODY(2)
CG512_BODY(3)
CG512_BODY(4)
CG512_BODY(5)
CG512_BODY(6)
CG512_BODY(7)
CG512_BODY(8)

/* (lo, hi) fused with x's tail times p's (als_d8_tail_setup_256 of p) in
 * the tail lanes; the masked-off lanes add fma(0, 0, s) = s. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
cg_tail_fma_256(__m256d *lo, __m256d *hi, const double *x, int kf, const als_d8_tail256_t *t)
{
    if (t->any_lo)
        *lo = _mm256_fmadd_pd(_mm256_maskload_pd(x + kf, t->mlo), t->xlo, *lo);
    if (t->any_hi)
        *hi = _mm256_fmadd_pd(_mm256_maskload_pd(x + kf + 4, t->mhi), t->xhi, *hi);
}

__attribute__((target("avx2,fma"))) static void cg_panel_avx2(const als_cg_row_t *row,
                                                              const double *coef,
                                                              const double *p, double *q)
{
    const int k = row->k, kf = k & ~7, k4 = k & ~3;
    const int64_t n = row->n;
    const __m256d z = _mm256_setzero_pd();
    /* The dots' tail (coordinates kf..k: lanes 0..k mod 8 - 1 of lo, hi) and
     * the axpys' (k4..k: lanes 0..k mod 4 - 1 of one vector). */
    const als_d8_tail256_t tail = als_d8_tail_setup_256(k, p);
    const __m256i m4 = _mm256_cmpgt_epi64(_mm256_set1_epi64x(k - k4),
                                          _mm256_setr_epi64x(0, 1, 2, 3));
    int64_t t = 0;
    /* Whole blocks of four: the dots stay in a register, and each chunk of
     * q is loaded and stored once per block (four fused axpy terms, in
     * rating order per coordinate). */
    for (; t + 4 <= n; t += 4) {
        const double *x0 = cg_x(row, t), *x1 = cg_x(row, t + 1), *x2 = cg_x(row, t + 2),
                     *x3 = cg_x(row, t + 3);
        __m256d l0 = z, h0 = z, l1 = z, h1 = z, l2 = z, h2 = z, l3 = z, h3 = z;
        for (int c = 0; c < kf; c += 8) {
            const __m256d pl = _mm256_loadu_pd(p + c), ph = _mm256_loadu_pd(p + c + 4);
            l0 = _mm256_fmadd_pd(_mm256_loadu_pd(x0 + c), pl, l0);
            h0 = _mm256_fmadd_pd(_mm256_loadu_pd(x0 + c + 4), ph, h0);
            l1 = _mm256_fmadd_pd(_mm256_loadu_pd(x1 + c), pl, l1);
            h1 = _mm256_fmadd_pd(_mm256_loadu_pd(x1 + c + 4), ph, h1);
            l2 = _mm256_fmadd_pd(_mm256_loadu_pd(x2 + c), pl, l2);
            h2 = _mm256_fmadd_pd(_mm256_loadu_pd(x2 + c + 4), ph, h2);
            l3 = _mm256_fmadd_pd(_mm256_loadu_pd(x3 + c), pl, l3);
            h3 = _mm256_fmadd_pd(_mm256_loadu_pd(x3 + c + 4), ph, h3);
        }
        if (tail.any_lo) {
            cg_tail_fma_256(&l0, &h0, x0, kf, &tail);
            cg_tail_fma_256(&l1, &h1, x1, kf, &tail);
            cg_tail_fma_256(&l2, &h2, x2, kf, &tail);
            cg_tail_fma_256(&l3, &h3, x3, kf, &tail);
        }
        __m256d s4 = als_d8_tree4_256v(l0, h0, l1, h1, l2, h2, l3, h3);
        if (row->w) /* cg_coef on four lanes: the same rounded operations */
            s4 = _mm256_mul_pd(s4, _mm256_loadu_pd(row->w + t));
        if (coef)
            s4 = _mm256_sub_pd(_mm256_loadu_pd(coef + t), s4);
        const __m256d b0 = _mm256_permute4x64_pd(s4, 0x00), b1 = _mm256_permute4x64_pd(s4, 0x55),
                      b2 = _mm256_permute4x64_pd(s4, 0xaa), b3 = _mm256_permute4x64_pd(s4, 0xff);
        for (int c = 0; c < k4; c += 4) {
            __m256d qv = _mm256_loadu_pd(q + c);
            qv = _mm256_fmadd_pd(b0, _mm256_loadu_pd(x0 + c), qv);
            qv = _mm256_fmadd_pd(b1, _mm256_loadu_pd(x1 + c), qv);
            qv = _mm256_fmadd_pd(b2, _mm256_loadu_pd(x2 + c), qv);
            qv = _mm256_fmadd_pd(b3, _mm256_loadu_pd(x3 + c), qv);
            _mm256_storeu_pd(q + c, qv);
        }
        if (k4 < k) {
            __m256d qv = _mm256_maskload_pd(q + k4, m4);
            qv = _mm256_fmadd_pd(b0, _mm256_maskload_pd(x0 + k4, m4), qv);
            qv = _mm256_fmadd_pd(b1, _mm256_maskload_pd(x1 + k4, m4), qv);
            qv = _mm256_fmadd_pd(b2, _mm256_maskload_pd(x2 + k4, m4), qv);
            qv = _mm256_fmadd_pd(b3, _mm256_maskload_pd(x3 + k4, m4), qv);
            _mm256_maskstore_pd(q + k4, m4, qv);
        }
    }
    for (; t < n; t += 4) {
        const int m = n - t < 4 ? (int)(n - t) : 4;
        const double *x[4] = {p, p, p, p};
        for (int j = 0; j < m; j++)
            x[j] = cg_x(row, t + j);
        /* Lanes 0..3 of the 8 in lo, 4..7 in hi. */
        __m256d lo[4] = {z, z, z, z}, hi[4] = {z, z, z, z};
        for (int j = 0; j < m; j++) {
            for (int c = 0; c < kf; c += 8) {
                lo[j] = _mm256_fmadd_pd(_mm256_loadu_pd(x[j] + c), _mm256_loadu_pd(p + c), lo[j]);
                hi[j] = _mm256_fmadd_pd(_mm256_loadu_pd(x[j] + c + 4), _mm256_loadu_pd(p + c + 4),
                                        hi[j]);
            }
            cg_tail_fma_256(&lo[j], &hi[j], x[j], kf, &tail);
        }
        double s[4];
        als_d8_tree4_256(lo, hi, s);
        for (int j = 0; j < m; j++) {
            __m256d sv = _mm256_set1_pd(cg_coef(row, coef, t + j, s[j]));
            for (int c = 0; c < k4; c += 4)
                _mm256_storeu_pd(q + c, _mm256_fmadd_pd(sv, _mm256_loadu_pd(x[j] + c),
                                                        _mm256_loadu_pd(q + c)));
            if (k4 < k)
                _mm256_maskstore_pd(q + k4, m4,
                                    _mm256_fmadd_pd(sv, _mm256_maskload_pd(x[j] + k4, m4),
                                                    _mm256_maskload_pd(q + k4, m4)));
        }
    }
}
#else
#define CG_HAVE_VEC 0
#endif

/* The entries' sum on a vector path: avx512 (zmm for k <= 64, the ymm
 * kernel above that) or avx2, any k. Returns -1, doing nothing, when this
 * build has no vector paths; the caller has checked the CPU. */
static int cg_panel_vec(const als_cg_row_t *row, int avx512, const double *coef, const double *p,
                        double *q)
{
#if CG_HAVE_VEC
    if (avx512 && row->k <= 64) {
        switch ((row->k + 7) / 8) {
        case 1: cg_panel_avx512_1(row, coef, p, q); return 0;
        case 2: cg_panel_avx512_2(row, coef, p, q); return 0;
        case 3: cg_panel_avx512_3(row, coef, p, q); return 0;
        case 4: cg_panel_avx512_4(row, coef, p, q); return 0;
        case 5: cg_panel_avx512_5(row, coef, p, q); return 0;
        case 6: cg_panel_avx512_6(row, coef, p, q); return 0;
        case 7: cg_panel_avx512_7(row, coef, p, q); return 0;
        default: cg_panel_avx512_8(row, coef, p, q); return 0;
        }
    }
    cg_panel_avx2(row, coef, p, q);
    return 0;
#else
    (void)row; (void)avx512; (void)coef; (void)p; (void)q;
    return -1;
#endif
}

/* The entries' part of q = A p, by the fast kernels' ISA (als_kernel_isa:
 * the vector paths give cg_panel_fma_ref's bits, the generic one the plain
 * C sum's; they differ by rounding). */
static void cg_panel(const als_cg_row_t *row, const double *coef, const double *p, double *q)
{
    const als_isa_t isa = als_kernel_isa_id();
    if (row->n > 0 && isa != ALS_ISA_GENERIC &&
        cg_panel_vec(row, isa == ALS_ISA_AVX512, coef, p, q) == 0)
        return;
    cg_panel_generic(row, coef, p, q);
}

/* q = d.*p + G p (the part of A p without the entries). */
ALS_CLONES static void cg_dense(const als_cg_row_t *row, const double *p, double *q)
{
    const int k = row->k;
    for (int c = 0; c < k; c++)
        q[c] = row->diag[c] * p[c];
    if (row->G) {
        const double *G = row->G;
        for (int a = 0; a < k; a++) {
            const double *g = G + (int64_t)a * k;
            double s = g[a] * p[a];
            for (int c = a + 1; c < k; c++) {
                s += g[c] * p[c];
                q[c] += g[c] * p[a];
            }
            q[a] += s;
        }
    }
}

void als_cg_apply(const als_cg_row_t *row, const double *p, double *q)
{
    cg_dense(row, p, q);
    cg_panel(row, NULL, p, q);
}

void als_cg_residual(const als_cg_row_t *row, const double *coef, const double *b0,
                     const double *x, double *r)
{
    const int k = row->k;
    cg_dense(row, x, r);
    for (int c = 0; c < k; c++)
        r[c] = b0[c] - r[c];
    cg_panel(row, coef, x, r);
}

/* For the tests: the entries' part by the plain C path (isa NULL) or the
 * named vector path, whatever als_kernel_isa says. */
int als_cg_panel_isa(const als_cg_row_t *row, const char *isa, const double *coef,
                     const double *p, double *q)
{
    if (!isa) {
        cg_panel_generic(row, coef, p, q);
        return 0;
    }
    if (strcmp(isa, "fma-ref") == 0) {
        cg_panel_fma_ref(row, coef, p, q);
        return 0;
    }
#if CG_HAVE_VEC
    if (strcmp(isa, "avx512") == 0 && __builtin_cpu_supports("avx512f"))
        return cg_panel_vec(row, 1, coef, p, q);
    if (strcmp(isa, "avx2") == 0 && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return cg_panel_vec(row, 0, coef, p, q);
#endif
    return -1;
}

double als_cg_objective(const als_cg_row_t *row, const double *b, const double *x)
{
    const int k = row->k;
    /* 1/2 x'Ax - b'x with x'Ax = G-part + sum_t w_t (x_t'x)^2 + sum d x^2,
     * each part in a fixed order. */
    double quad = 0.0;
    for (int c = 0; c < k; c++)
        quad += row->diag[c] * x[c] * x[c];
    if (row->G) {
        for (int a = 0; a < k; a++) {
            const double *g = row->G + (int64_t)a * k;
            double off = 0.0;
            for (int c = a + 1; c < k; c++)
                off += g[c] * x[c];
            quad += x[a] * (g[a] * x[a] + 2.0 * off);
        }
    }
    for (int64_t t = 0; t < row->n; t++) {
        double s = als_cg_dot(cg_x(row, t), x, k);
        quad += (row->w ? row->w[t] : 1.0) * s * s;
    }
    return 0.5 * quad - als_cg_dot(b, x, k);
}

static void zero_fixed(const als_cg_row_t *row, double *v)
{
    for (int f = 0; f < row->nfix; f++)
        v[row->fix[f]] = 0.0;
}

/* The CG steps from r = b - A x (ws: r, p, q). */
static int cg_steps(const als_cg_row_t *row, int steps, double *x, double *ws)
{
    const int k = row->k;
    double *r = ws, *p = ws + k, *q = ws + 2 * (int64_t)k;
    zero_fixed(row, r);
    memcpy(p, r, (size_t)k * sizeof *p);
    double rr = als_cg_dot(r, r, k);
    if (!isfinite(rr))
        return -1;
    int s = 0;
    for (; s < steps && rr > 0.0; s++) {
        als_cg_apply(row, p, q);
        zero_fixed(row, q);
        double pq = als_cg_dot(p, q, k);
        if (!isfinite(pq))
            return -1;
        if (pq <= 0.0)
            return -2;
        double a = rr / pq;
        if (!isfinite(a))
            return -1;
        for (int c = 0; c < k; c++) {
            x[c] += a * p[c];
            r[c] -= a * q[c];
        }
        double rn = als_cg_dot(r, r, k);
        if (!isfinite(rn))
            return -1;
        double beta = rn / rr;
        for (int c = 0; c < k; c++)
            p[c] = r[c] + beta * p[c];
        rr = rn;
    }
    return s;
}

int als_cg_solve(const als_cg_row_t *row, const double *b, int steps, double *x, double *ws)
{
    const int k = row->k;
    double *r = ws, *q = ws + 2 * (int64_t)k;
    /* r = b - A x on the free coordinates, 0 on the fixed ones. */
    als_cg_apply(row, x, q);
    for (int c = 0; c < k; c++)
        r[c] = b[c] - q[c];
    return cg_steps(row, steps, x, ws);
}

int als_cg_solve_coef(const als_cg_row_t *row, const double *coef, const double *b0, int steps,
                      double *x, double *ws)
{
    als_cg_residual(row, coef, b0, x, ws);
    return cg_steps(row, steps, x, ws);
}
