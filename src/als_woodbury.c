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

/* ---- --implicit ----------------------------------------------------------- */

int als_woodbury_implicit_factor(int k, const double *G, double c, double *F)
{
    /* Row-by-row Cholesky into L = F (row-major lower; L L' = A, A[i][j] =
     * G[min][max] + c on the diagonal): l_ij = (a_ij - L[i][0..j) .
     * L[j][0..j)) / l_jj; then U = L' = F + k^2 (row-major upper). */
    double *L = F, *U = F + (int64_t)k * k;
    memset(F, 0, 2 * (size_t)k * (size_t)k * sizeof *F);
    for (int i = 0; i < k; i++) {
        double *li = L + (int64_t)i * k;
        for (int j = 0; j <= i; j++) {
            const double *lj = L + (int64_t)j * k;
            double a = G[(int64_t)j * k + i] + (i == j ? c : 0.0) - als_dot8(li, lj, j);
            if (i == j) {
                if (!(a > 0.0) || !isfinite(a))
                    return i + 1;
                li[i] = sqrt(a);
            } else {
                li[j] = a / lj[j];
            }
        }
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j <= i; j++)
            U[(int64_t)j * k + i] = L[(int64_t)i * k + j];
    return 0;
}

int64_t als_woodbury_implicit_ws_size(int k, int64_t n)
{
    /* W (n columns of k), K (n×n), z (n), beta (k). */
    return n * k + n * n + n + (int64_t)k + 8;
}

/* v <- L^-1 v: forward substitution by columns of L, i.e. rows of U = L'
 * (each step an axpy over a contiguous row, which the compiler vectorizes;
 * the order of the updates is fixed). */
static void lower_solve(int k, const double *U, double *v)
{
    for (int j = 0; j < k; j++) {
        const double *uj = U + (int64_t)j * k;
        const double xj = v[j] / uj[j];
        v[j] = xj;
        for (int q = j + 1; q < k; q++)
            v[q] -= uj[q] * xj;
    }
}

/* v <- L^-T v: backward substitution by columns of L' = rows of L. */
static void lower_t_solve(int k, const double *L, double *v)
{
    for (int j = k - 1; j >= 0; j--) {
        const double *lj = L + (int64_t)j * k;
        const double xj = v[j] / lj[j];
        v[j] = xj;
        for (int q = 0; q < j; q++)
            v[q] -= lj[q] * xj;
    }
}

int als_woodbury_implicit_solve(int k, int64_t n, const int64_t *idx, const double *X,
                                const double *w, const double *b, const double *F, double *x,
                                double *ws)
{
    const double *L = F, *U = F + (int64_t)k * k;
    double *W = ws, *K = W + n * k, *z = K + n * n, *beta = z + n;
    /* beta = L^-1 b; column t of W = L^-1 (sqrt(w_t) y_t). */
    memcpy(beta, b, (size_t)k * sizeof *beta);
    lower_solve(k, U, beta);
    for (int64_t t = 0; t < n; t++) {
        if (!(w[t] >= 0.0))
            return -1;
        const double sw = sqrt(w[t]), *y = X + idx[t] * k;
        double *wt = W + t * k;
        for (int q = 0; q < k; q++)
            wt[q] = sw * y[q];
        lower_solve(k, U, wt);
    }
    /* K = I + W'W (upper triangle, what the n×n solve reads), z = W' beta. */
    for (int64_t i = 0; i < n; i++) {
        const double *wi = W + i * k;
        for (int64_t j = i; j < n; j++)
            K[i * n + j] = als_dot8(wi, W + j * k, k) + (i == j ? 1.0 : 0.0);
        z[i] = als_dot8(wi, beta, k);
    }
    if (n > 0) {
        int info = als_solve_spd_fast((int)n, K, z); /* z <- u */
        if (info != 0)
            return info;
    }
    /* x = L^-T (beta - W u). */
    memcpy(x, beta, (size_t)k * sizeof *x);
    for (int64_t t = 0; t < n; t++) {
        const double *wt = W + t * k, ut = z[t];
        for (int q = 0; q < k; q++)
            x[q] -= wt[q] * ut;
    }
    lower_t_solve(k, L, x);
    for (int q = 0; q < k; q++)
        if (!isfinite(x[q]))
            return -1;
    return 0;
}
