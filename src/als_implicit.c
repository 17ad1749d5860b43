/* als_implicit.c - implicit-feedback helpers (see als_implicit.h). */
#include "als_implicit.h"

#include <math.h>
#include <string.h>

#include "als_cg.h"
#include "als_error.h"
#include "als_kernels.h"

double als_implicit_cm1(const als_conf_t *cf, double r)
{
    if (cf->scale == ALS_CONF_LOG)
        return cf->a * log1p(r / cf->eps);
    return cf->a * r;
}

double als_implicit_confidence(const als_conf_t *cf, double r)
{
    return 1.0 + als_implicit_cm1(cf, r);
}

int als_implicit_weights(const als_conf_t *cf, int64_t n, const double *r, double *w,
                         double *coef)
{
    if (!(cf->a >= 0.0) || !isfinite(cf->a) ||
        (cf->scale == ALS_CONF_LOG && !(cf->eps > 0.0 && isfinite(cf->eps))))
        return ALS_ERR_ARG;
    for (int64_t t = 0; t < n; t++) {
        if (!(r[t] >= 0.0) || !isfinite(r[t]))
            return ALS_ERR_DATA;
        double cm1 = als_implicit_cm1(cf, r[t]);
        if (w)
            w[t] = cm1;
        if (coef)
            coef[t] = r[t] > 0.0 ? 1.0 + cm1 : 0.0;
    }
    return ALS_OK;
}

void als_implicit_gram(int k, int64_t r0, int64_t r1, const double *Y, double *G,
                       int accumulate)
{
    if (!accumulate)
        memset(G, 0, (size_t)k * k * sizeof *G);
    for (int64_t t = r0; t < r1; t++) {
        const double *y = Y + t * (int64_t)k;
        for (int a = 0; a < k; a++) {
            double ya = y[a];
            double *g = G + (int64_t)a * k;
            for (int c = a; c < k; c++)
                g[c] += ya * y[c];
        }
    }
    /* Mirror: the lower triangle is a copy, so G is bitwise symmetric. */
    for (int a = 0; a < k; a++)
        for (int c = a + 1; c < k; c++)
            G[(int64_t)c * k + a] = G[(int64_t)a * k + c];
}

void als_implicit_normal_eq(int k, int64_t n, const int64_t *idx, const double *Y,
                            const double *w, const double *coef, const double *G,
                            const double *diag, int64_t nw, const int64_t *wcol,
                            const double *wval, double alpha, const double *F, double *A,
                            double *b)
{
    for (int a = 0; a < k; a++)
        for (int c = a; c < k; c++)
            A[(int64_t)a * k + c] = G[(int64_t)a * k + c];
    for (int64_t t = 0; t < n; t++) {
        const double *y = Y + idx[t] * (int64_t)k;
        const double wt = w[t];
        for (int a = 0; a < k; a++) {
            double s = wt * y[a];
            double *row = A + (int64_t)a * k;
            for (int c = a; c < k; c++)
                row[c] += s * y[c];
        }
    }
    for (int a = 0; a < k; a++) {
        A[(int64_t)a * k + a] += diag[a];
        for (int c = a + 1; c < k; c++)
            A[(int64_t)c * k + a] = A[(int64_t)a * k + c];
    }
    als_cg_rhs(k, n, idx, coef, Y, b);
    for (int64_t x = 0; x < nw; x++) {
        const double s = alpha * wval[x], *f = F + wcol[x] * (int64_t)k;
        for (int c = 0; c < k; c++)
            b[c] += s * f[c];
    }
}

void als_implicit_normal_eq_fast(int k, int64_t n, const int64_t *idx, const double *Y,
                                 const double *w, const double *coef, const double *G,
                                 double *panel, const int64_t *iota, double *gws, double *A,
                                 double *b)
{
    for (int64_t t = 0; t < n; t++) {
        const double sw = sqrt(w[t]), *y = Y + idx[t] * (int64_t)k;
        double *z = panel + t * (int64_t)k;
        for (int c = 0; c < k; c++)
            z[c] = sw * y[c];
    }
    /* A = sum z z' (upper); the kernel's right-hand side (sum coef z) is
     * not this row's and is overwritten below. */
    als_gram_rhs_fast(k, n, iota, coef, panel, A, b, gws, 0);
    for (int a = 0; a < k; a++)
        for (int c = a; c < k; c++)
            A[(int64_t)a * k + c] += G[(int64_t)a * k + c];
    als_cg_rhs(k, n, idx, coef, Y, b);
}

double als_implicit_loss_dense(const als_conf_t *cf, int64_t m, int64_t n, int k,
                               const double *R, const double *S, const double *U,
                               const double *V, double lambda_u, double lambda_v, double alpha,
                               int *bad)
{
    double fit = 0.0, soc = 0.0, ru = 0.0, rv = 0.0;
    if (bad)
        *bad = 0;
    for (int64_t u = 0; u < m; u++)
        for (int64_t i = 0; i < n; i++) {
            double r = R[u * n + i];
            if (r < 0.0 && bad)
                *bad = 1;
            double c = als_implicit_confidence(cf, r), p = r > 0.0 ? 1.0 : 0.0;
            double e = p - als_cg_dot(U + u * k, V + i * k, k);
            fit += c * e * e;
        }
    for (int64_t u = 0; S && u < m; u++)
        for (int64_t f = 0; f < m; f++) {
            double s = S[u * m + f];
            if (s == 0.0)
                continue;
            double d2 = 0.0;
            for (int c = 0; c < k; c++) {
                double e = U[u * k + c] - U[f * k + c];
                d2 += e * e;
            }
            soc += s * d2;
        }
    for (int64_t x = 0; x < m * k; x++)
        ru += U[x] * U[x];
    for (int64_t x = 0; x < n * k; x++)
        rv += V[x] * V[x];
    return 0.5 * fit + 0.5 * lambda_u * ru + 0.5 * lambda_v * rv + 0.5 * alpha * soc;
}
