/* als_woodbury.c - exact row solves for rows with fewer ratings than
 * factors (als_woodbury.h). */
#include "als_woodbury.h"

#include <math.h>
#include <string.h>

#include "als_kernels.h"

int64_t als_woodbury_ws_size(int k, int64_t n)
{
    /* K (n×n), z = Y g (n), g (k). */
    return n * n + n + (int64_t)k + 8;
}

/* Row t of the n rows Y: X[idx[t]], or X + t k without idx. */
static inline const double *yrow(int k, const int64_t *idx, const double *X, int64_t t)
{
    return X + (idx ? idx[t] : t) * k;
}

/* The n×n route on rows X[idx[t]] (or X's first n rows without idx). */
static int solve_core(int k, int64_t n, const int64_t *idx, const double *X, const double *r,
                      const double *s, double c, double *x, double *ws)
{
    double *K = ws, *z = K + n * n, *g = z + n;
    /* g = Y'r + s: the ratings' rows in order, then s. */
    memset(g, 0, (size_t)k * sizeof *g);
    als_rows_axpy(k, n, X, idx, r, 0, g);
    if (s)
        for (int q = 0; q < k; q++)
            g[q] += s[q];
    /* z = Y g; K = Y Y' + c I, its upper triangle (what the solve reads):
     * row i = the dots of y_i with the rows j >= i. */
    als_dot8_rows(k, n, X, idx, g, z);
    for (int64_t i = 0; i < n; i++) {
        als_dot8_rows(k, n - i, idx ? X : X + i * k, idx ? idx + i : NULL, yrow(k, idx, X, i),
                      K + i * n + i);
        K[i * n + i] += c;
    }
    int info = als_solve_spd_fast((int)n, K, z); /* z <- w */
    if (info != 0)
        return info;
    /* x = (g - Y'w) / c. */
    als_rows_axpy(k, n, X, idx, z, 1, g);
    for (int q = 0; q < k; q++) {
        x[q] = g[q] / c;
        if (!isfinite(x[q]))
            return -1;
    }
    return 0;
}

int als_woodbury_solve(int k, int64_t n, const int64_t *idx, const double *X, const double *r,
                       const double *s, double c, double *x, double *ws)
{
    return solve_core(k, n, idx, X, r, s, c, x, ws);
}

int64_t als_woodbury_fixed_ws_size(int kr, int64_t n)
{
    /* The gathered columns (n×kr), r' (n), x' and s' (kr each), then the
     * n×n route's own. */
    return n * kr + n + 2 * (int64_t)kr + als_woodbury_ws_size(kr, n);
}

int als_woodbury_solve_fixed(int k, int64_t n, const int64_t *idx, const double *X,
                             const double *r, const double *s, const als_wb_coords_t *co,
                             double c, double *x, double *ws)
{
    const int kr = co->kr;
    double *Y = ws, *rr = Y + n * kr, *xr = rr + n, *sr = xr + kr, *cws = sr + kr;
    /* The scale of column dq that turns D into c I (1 without one). */
    const double sc = co->dq >= 0 ? sqrt(c / co->d) : 1.0;
    if (!(sc > 0.0) || !isfinite(sc))
        return -1;
    for (int64_t t = 0; t < n; t++) {
        const double *y = X + idx[t] * k;
        double *yt = Y + t * kr;
        for (int a = 0; a < kr; a++)
            yt[a] = y[co->q[a]];
        if (co->dq >= 0)
            yt[co->dq] *= sc;
        double rt = r[t];
        for (int f = 0; f < co->nf; f++)
            rt -= y[co->fix[f]] * co->fixval[f];
        rr[t] = rt;
    }
    if (s) {
        for (int a = 0; a < kr; a++)
            sr[a] = s[co->q[a]];
        if (co->dq >= 0)
            sr[co->dq] *= sc;
    }
    int info = solve_core(kr, n, NULL, Y, rr, s ? sr : NULL, c, xr, cws);
    if (info != 0)
        return info;
    if (co->dq >= 0 && !isfinite(xr[co->dq] *= sc))
        return -1;
    for (int a = 0; a < kr; a++)
        x[co->q[a]] = xr[a];
    for (int f = 0; f < co->nf; f++)
        x[co->fix[f]] = co->fixval[f];
    return 0;
}
