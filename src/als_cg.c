/* als_cg.c - matrix-free conjugate gradient for one row (see als_cg.h). */
#include "als_cg.h"
#include "als_kernels.h"

#include <math.h>
#include <string.h>

/* The loops below are plain C; on x86-64 the hot ones are compiled for
 * AVX-512 and AVX2 too (target_clones, chosen at load time). Floating-point
 * contraction is off (-std=c11) and the vectorizer only widens the
 * independent lanes (the 8 partial sums of cg_dot are 8 lanes, combined in
 * the same fixed tree), so every clone gives the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ALS_NO_CLONES)
#define CG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CG_CLONES
#endif

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

CG_CLONES void als_cg_rhs(int k, int64_t n, const int64_t *idx, const double *coef, const double *X,
                double *b)
{
    memset(b, 0, (size_t)k * sizeof *b);
    for (int64_t t = 0; t < n; t++) {
        const double *x = X + idx[t] * (int64_t)k, a = coef[t];
        for (int c = 0; c < k; c++)
            b[c] += a * x[c];
    }
}

CG_CLONES void als_cg_apply(const als_cg_row_t *row, const double *p, double *q)
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
    for (int64_t t = 0; t < row->n; t++) {
        const double *x = row->X + row->idx[t] * (int64_t)k;
        double s = cg_dot(x, p, k);
        if (row->w)
            s *= row->w[t];
        for (int c = 0; c < k; c++)
            q[c] += s * x[c];
    }
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
        double s = als_cg_dot(row->X + row->idx[t] * (int64_t)k, x, k);
        quad += (row->w ? row->w[t] : 1.0) * s * s;
    }
    return 0.5 * quad - als_cg_dot(b, x, k);
}

static void zero_fixed(const als_cg_row_t *row, double *v)
{
    for (int f = 0; f < row->nfix; f++)
        v[row->fix[f]] = 0.0;
}

int als_cg_solve(const als_cg_row_t *row, const double *b, int steps, double *x, double *ws)
{
    const int k = row->k;
    double *r = ws, *p = ws + k, *q = ws + 2 * (int64_t)k;
    /* r = b - A x on the free coordinates, 0 on the fixed ones. */
    als_cg_apply(row, x, q);
    for (int c = 0; c < k; c++)
        r[c] = b[c] - q[c];
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
