/* als_woodbury.h - exact row solves for rows with fewer ratings than factors
 * (local).
 *
 * A row with n ratings of the rows Y (n×k, row t = X + idx[t] k) of the
 * fixed factors solves (Y'Y + c I) x = g, g = Y'r + s (s: the social
 * right-hand side, c > 0 the row's diagonal shift). Forming the k×k Gram
 * costs n k^2 and its Cholesky k^3/3 whatever n is. When n < k the
 * push-through identity
 *     (Y'Y + c I)^-1 = (1/c) (I - Y' (Y Y' + c I)^-1 Y)
 * gives the same x from an n×n system:
 *     x = (g - Y' w) / c,   (Y Y' + c I) w = Y g,
 * for n (n + 1) k + 6 n k + n^3/3 + 2 n^2 flops (k = 64, n = 20: 38
 * thousand instead of 181 thousand). Both sides of the identity are exact;
 * in floating point the two solutions differ by rounding, and this route's
 * residual grows with |Y|_F^2 / c (its last step divides a difference by
 * c; the tests bound it). The arithmetic is a fixed sequence (als_dot8
 * dots, the fast Cholesky of als_kernels.h, axpys in row order), so x does
 * not depend on ranks or threads.
 */
#ifndef ALS_WOODBURY_H
#define ALS_WOODBURY_H

#include <stdint.h>

/* Doubles of workspace als_woodbury_solve needs for n ratings at rank k. */
int64_t als_woodbury_ws_size(int k, int64_t n);

/* Flops of one row solved by als_woodbury_solve (the convention of
 * DESIGN.md section 6: a multiply-add counts 2). Inline (as the two below)
 * so that the block plan (als_plan.c) uses the route's rule without the
 * kernels. */
static inline double als_woodbury_flops(int k, int64_t n)
{
    double dk = (double)k, dn = (double)n;
    return dn * (dn + 1.0) * dk + 6.0 * dn * dk + dn * dn * dn / 3.0 + 2.0 * dn * dn;
}

/* Flops of the same row on the k×k route (Gram, right-hand side, Cholesky,
 * triangular solves: DESIGN.md section 6). */
static inline double als_woodbury_kxk_flops(int k, int64_t n)
{
    double dk = (double)k, dn = (double)n;
    return dn * dk * (dk + 1.0) + 2.0 * dn * dk + dk * dk * dk / 3.0 + 2.0 * dk * dk;
}

/* 1 when an n×n route needing route_flops is the cheaper one for a row of
 * n ratings at rank k: the rule of both routes (explicit, below, and
 * --implicit's). Local. The crossover, measured (docs/PERFORMANCE.md, issue 12 seventh pass):
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
static inline int als__route_pays(int k, int64_t n, double route_flops)
{
    return k >= 48 && n > 0 && n < k && 2.5 * route_flops < als_woodbury_kxk_flops(k, n);
}

/* The explicit route's rule. Local. */
static inline int als_woodbury_pays(int k, int64_t n)
{
    return als__route_pays(k, n, als_woodbury_flops(k, n));
}

/* x = (Y'Y + c I)^-1 (Y'r + s) for the n rows Y of X (leading dimension k)
 * listed in idx, ratings r, social right-hand side s (k values, or NULL for
 * none), c > 0. x (k values) must not alias s. ws: als_woodbury_ws_size.
 * Returns 0, -1 for NaN/Inf in the data or the result, or the 1-based
 * failing minor of the n×n system (impossible in exact arithmetic for
 * c > 0). Local. */
int als_woodbury_solve(int k, int64_t n, const int64_t *idx, const double *X, const double *r,
                       const double *s, double c, double *x, double *ws);

/* A row some of whose coordinates are constants (--bias): coordinates
 * fix[0..nf) of x hold fixval[f], the kr = k - nf others q[0..kr)
 * (ascending) are the unknowns. D is c I except D[dq][dq] = d (dq: an index
 * into q, -1 for none; --lambda-bias's coordinate). */
typedef struct {
    int kr;
    const int *q;
    int nf;
    const int *fix;
    const double *fixval;
    int dq;
    double d;
} als_wb_coords_t;

/* Doubles of workspace als_woodbury_solve_fixed needs for n ratings and kr
 * unknowns. */
int64_t als_woodbury_fixed_ws_size(int kr, int64_t n);

/* x_q = (Y_q'Y_q + D)^-1 (Y_q'(r - Y_fix fixval) + s_q) for the rows Y of X
 * (leading dimension k) listed in idx: Y_q, Y_fix their columns q and fix,
 * c > 0 and d > 0. The columns Y_q are gathered with column dq scaled by
 * sqrt(c/d), which turns D into c I (x_dq is then that scale times the
 * solution's coordinate), and solved by the route above (with kr for k,
 * als_woodbury_pays(kr, n) deciding). x (k values) gets x_q and the
 * constants; it must not alias s (k values or NULL). Returns as
 * als_woodbury_solve. Local. */
int als_woodbury_solve_fixed(int k, int64_t n, const int64_t *idx, const double *X,
                             const double *r, const double *s, const als_wb_coords_t *co,
                             double c, double *x, double *ws);

/* ---- --implicit: rows with few observed entries -------------------------
 *
 * An implicit row solves (M + Y' D Y) x = b with M = G + c I shared by
 * every row of the half-step (G = the other side's full Gram, c = lambda),
 * D = diag(c_t - 1) >= 0 over its n observed entries and b its right-hand
 * side (sum c_t p_t y_t, plus the social term). With M = L L' (factored
 * once) and Z = D^(1/2) Y, Woodbury's identity gives
 *     x = L^-T (beta - W u),  beta = L^-1 b,  W = L^-1 Z' (k×n),
 *     (I + W'W) u = W' beta,
 * for (n + 2) k^2 + n(n+1) k + 4 n k + n^3/3 + 2 n^2 flops instead of the
 * k×k route's n(k^2 + 3k) + k^3/3 + 2k^2 (and the copy of G): the row's
 * k×k Cholesky is replaced by triangular solves with the shared L. The
 * arithmetic is a fixed sequence (axpys along rows of L and L', als_dot8
 * dots, the fast n×n Cholesky), so x does not depend on ranks or threads;
 * it agrees with the k×k route to rounding (I + W'W has eigenvalues >= 1). */

/* F (2 k^2 doubles): L (row-major lower, zeros above) with L L' = G + c I
 * for the upper triangle of G (full or upper; only p <= q is read), then
 * L' (row-major upper), so that both triangular solves run along rows.
 * Returns 0, or the 1-based failing minor. Local. */
int als_woodbury_implicit_factor(int k, const double *G, double c, double *F);

/* Flops of one implicit row on this route (the formula above). */
static inline double als_woodbury_implicit_flops(int k, int64_t n)
{
    double dk = (double)k, dn = (double)n;
    return (dn + 2.0) * dk * dk + dn * (dn + 1.0) * dk + 4.0 * dn * dk + dn * dn * dn / 3.0 +
           2.0 * dn * dn;
}

/* 1 when the route is the cheaper one for an implicit row of n entries at
 * rank k: k >= 48 and under 40% of the k×k route's flops (the explicit
 * route's rule). Local. */
static inline int als_woodbury_implicit_pays(int k, int64_t n)
{
    return als__route_pays(k, n, als_woodbury_implicit_flops(k, n));
}

/* Doubles of workspace for an implicit row of n entries at rank k. */
int64_t als_woodbury_implicit_ws_size(int k, int64_t n);

/* x for the row's n entries (rows X[idx[t]], leading dimension k), their
 * weights w[t] = c_t - 1 >= 0, right-hand side b (k values, not aliasing
 * x) and the shared factor F of als_woodbury_implicit_factor. Returns 0,
 * -1 for NaN/Inf, or the failing minor of I + W'W. Local. */
int als_woodbury_implicit_solve(int k, int64_t n, const int64_t *idx, const double *X,
                                const double *w, const double *b, const double *F, double *x,
                                double *ws);

#endif
