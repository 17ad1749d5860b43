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

/* The crossover, measured (docs/PERFORMANCE.md, issue 12 seventh pass):
 * this route's dots and small Cholesky run at well under the rate of the
 * k×k route's Gram tiles and batched Cholesky, so it is taken only when it
 * needs under 40% of the flops (k = 64: n <= 32). One core, k = 64, sets
 * whose users all have n ratings, s/iter against every row k×k: n = 24
 * 0.291-0.300 against 0.323-0.334, n = 30 0.353-0.388 against 0.343-0.379,
 * n = 36 0.450-0.487 against 0.422-0.446; on make bench's set (about 20
 * per user, so some users on each route) the cut at n <= 32 ran as fast as
 * n <= 37 (0.628-0.681 against 0.641-0.685 s), and on the 2M set's training
 * split (36 per user) it kept every user k×k: 0.546-0.594 against
 * 0.590-0.673 s with all users on this route.
 * Below k = 48 the route is not taken: on that set k = 32 ran 5% slower
 * with a first version of it (0.260-0.268 against 0.242-0.262 s), k = 48 the same
 * (0.447-0.463 against 0.464-0.475 s), k = 64 and 128 faster (0.632-0.686
 * against 0.791-0.831 s; 1.91-1.99 against 4.28-4.36 s). */
int als_woodbury_pays(int k, int64_t n)
{
    if (k < 48 || n <= 0 || n >= k)
        return 0;
    return 2.5 * als_woodbury_flops(k, n) < als_woodbury_kxk_flops(k, n);
}

double als_woodbury_kxk_flops(int k, int64_t n)
{
    double dk = (double)k, dn = (double)n;
    return dn * dk * (dk + 1.0) + 2.0 * dn * dk + dk * dk * dk / 3.0 + 2.0 * dk * dk;
}

double als_woodbury_flops(int k, int64_t n)
{
    double dk = (double)k, dn = (double)n;
    return dn * (dn + 1.0) * dk + 6.0 * dn * dk + dn * dn * dn / 3.0 + 2.0 * dn * dn;
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
