/* als_cg.h - matrix-free conjugate gradient for one row's normal equations
 * (local; no MPI, no threads inside; reentrant with a per-thread ws).
 *
 * One row (a user in the U-step, an item in the V-step) with n observed
 * entries against the rows idx[0..n) of the fixed factor matrix X (row-major,
 * leading dimension k) has the quadratic objective
 *
 *     f(x) = 1/2 x'Ax - b'x,
 *     A    = G + sum_t w_t X[idx[t]] X[idx[t]]' + diag(d)
 *
 *   explicit model: G = NULL, w = NULL (w_t = 1): A = sum_t x_t x_t' + diag(d)
 *   implicit model (Hu-Koren-Volinsky): G = Y'Y (k×k, precomputed once per
 *                   half-step), w_t = c_t - 1 (confidence minus one).
 *
 * The caller supplies b (explicit: sum_t r_t x_t, see als_cg_rhs; implicit:
 * sum_t c_t p_t x_t; plus any social term alpha sum_f W_if u_f) and the
 * per-coordinate diagonal d (length k). How the solver's shifts map onto d:
 *     d[c] = shift + alpha*deg_i        for every latent coordinate c,
 *            shift = lambda, or lambda*n_i with --lambda-scale count;
 *     d[bias coordinate] = lambda_bias + alpha*deg_i  when --lambda-bias >= 0
 *            (items: lambda_bias), as the Cholesky path of als_solver.c does.
 * Fixed coordinates (the --bias layout's constant 1 / mu columns, the
 * solver's ufix/vfix): nfix indices fix[0..nfix) whose values are read from
 * x on entry and never changed. They are not unknowns: CG minimises f over
 * the free coordinates with the fixed ones held, i.e. solves
 *     A_QQ x_Q = b_Q - A_QF x_F          (Q free, F fixed),
 * exactly the reduced system the Cholesky path solves. d[fix[.]] is unused
 * by als_cg_solve (als_cg_objective uses all of d).
 *
 * The product A p is formed as G p + sum_t w_t x_t (x_t'p) + d.*p without
 * forming sum_t x_t x_t': O(n k) per step explicit, O(k^2 + n k) implicit.
 *
 * Monotonicity: CG started at x_0 (warm start: the row's current factor)
 * produces x_j minimising f over x_0 + span{r_0, A r_0, ..., A^{j-1} r_0}, and
 *     f(x_{j+1}) = f(x_j) - 1/2 (r_j'r_j)^2 / (p_j'A p_j) <= f(x_j)
 * for A symmetric positive definite on the free coordinates (every d > 0 or a
 * full-rank Gram). So no step increases the row's objective, and any
 * steps >= 0 leaves f(x) <= f(x_0) (in floating point: up to rounding).
 * With steps >= the number of free coordinates CG reaches the exact solution
 * (up to rounding).
 *
 * The Jacobi U-step with the social term stays non-increasing with CG rows.
 * In the README's notation (f = 1/2 x'Hx - b'x, H = D - N, D = blockdiag(D_i),
 * D_i = A_i + alpha d_i I, g = b - Hx at the previous U), every row moves by
 * delta_i = the CG iterate minus the warm start. delta_i lies in the Krylov
 * space and the CG residual is orthogonal to it (Galerkin), so
 * g_i'delta_i = delta_i'D_i delta_i. With -N <= alpha (Deg (x) I) (Deg + W is
 * a signless Laplacian, positive semidefinite):
 *     f(x + delta) - f(x) = sum_i (-g_i'delta_i + 1/2 delta_i'D_i delta_i)
 *                           - 1/2 delta'N delta
 *                        <= sum_i (-delta_i'D_i delta_i + 1/2 delta_i'D_i delta_i
 *                                  + 1/2 alpha d_i |delta_i|^2)
 *                         = -1/2 sum_i delta_i'A_i delta_i <= 0,
 * for ANY number of steps (the exact solve is the special case). The same
 * holds with fixed coordinates, the bias lambda and the implicit model
 * (A_i = G + sum w y y' + lambda I). test_cg checks it on random coupled
 * problems, and that an over-relaxed step (1.6 delta) does increase f.
 *
 * Determinism: every sum is in a fixed order (t ascending, coordinates in
 * blocks of 8 lanes combined in a fixed tree): the result depends only on the
 * inputs and the instruction set (the AVX-512 and AVX2 paths use fused
 * multiply-adds and agree with each other bit for bit; the plain C path
 * rounds each product: results differ from theirs by rounding), never on
 * threads, ranks or the contents of ws.
 */
#ifndef ALS_CG_H
#define ALS_CG_H

#include <stdint.h>

/* One row's normal equations, described without forming them. */
typedef struct {
    int k;                 /* coordinates per row, fixed ones included */
    int64_t n;             /* observed entries (0 allowed) */
    const int64_t *idx;    /* n row indices into X, or NULL: row t is X + t k
                              (a gathered panel) */
    const double *X;       /* the fixed factor matrix, row-major, leading dim k */
    const double *w;       /* n weights (implicit: c_t - 1), or NULL for all 1 */
    const double *G;       /* k×k row-major, upper triangle read (p <= q),
                              or NULL for none (explicit) */
    const double *diag;    /* k diagonal shifts d */
    int nfix;              /* fixed coordinates (0..k) */
    const int *fix;        /* nfix distinct indices in [0, k), any order */
} als_cg_row_t;

/* Workspace doubles als_cg_solve needs: 3k. */
int64_t als_cg_ws_size(int k);

/* Run `steps` CG iterations on A x = b from the warm start x (overwritten by
 * the last iterate; fixed coordinates untouched). Stops early only when the
 * residual is exactly zero. ws: als_cg_ws_size(k) doubles (contents on entry
 * irrelevant).
 * Returns the number of steps taken (>= 0), or
 *   -1 when a non-finite value appears (non-finite input, or overflow; x
 *      is then unspecified and must not be used),
 *   -2 when p'Ap <= 0 for a nonzero direction (A not positive definite on the
 *      free coordinates; x left at the last iterate).
 * Local. */
int als_cg_solve(const als_cg_row_t *row, const double *b, int steps, double *x, double *ws);

/* The same with b = b0 + sum_t coef_t X[idx[t]] never formed: the initial
 * residual is r = b0 - d.*x - G x + sum_t (coef_t - w_t x_t'x) x_t, one pass
 * over the entries (als_cg_residual) instead of two (the right-hand side,
 * then A x); the steps are those of als_cg_solve. Same returns. Local. */
int als_cg_solve_coef(const als_cg_row_t *row, const double *coef, const double *b0, int steps,
                      double *x, double *ws);

/* r = b0 + sum_t coef_t x_t - A x as als_cg_solve_coef forms it (all k
 * coordinates, fixed ones included). Local. */
void als_cg_residual(const als_cg_row_t *row, const double *coef, const double *b0,
                     const double *x, double *r);

/* q = A p for the full k coordinates (no masking of fixed ones). Local. */
void als_cg_apply(const als_cg_row_t *row, const double *p, double *q);

/* For the tests: q += sum_t c_t x_t with c_t = w_t (x_t'p) (coef NULL: the
 * entries' part of A p) or coef_t - w_t (x_t'p) (the residual's), by
 * the plain C path (isa NULL), the vector path "avx512" / "avx2" (any k;
 * "avx512" runs the ymm kernel for k > 64, as the solver does), or
 * "fma-ref", the plain C oracle of the vector paths (fma() in their lane
 * order: both vector paths give its bits; the plain C path, without FMA,
 * differs by rounding).
 * Returns 0, or -1 when that path cannot run on this CPU. Local. */
int als_cg_panel_isa(const als_cg_row_t *row, const char *isa, const double *coef,
                     const double *p, double *q);

/* f(x) = 1/2 x'Ax - b'x, evaluated matrix-free in fixed order (for tests and
 * for the solver's per-row checks). For the explicit model
 *     1/2 sum_t (r_t - x'x_t)^2 + 1/2 sum_c d_c x_c^2 - e'x
 *         = f(x) + 1/2 sum_t r_t^2          with b = sum_t r_t x_t + e. Local. */
double als_cg_objective(const als_cg_row_t *row, const double *b, const double *x);

/* b = sum_t coef[t] X[idx[t]] (overwrites b; n == 0 gives 0; idx NULL: row t
 * is X + t k). Fixed order.
 * Explicit: coef = r; implicit: coef = c_t p_t. Local. */
void als_cg_rhs(int k, int64_t n, const int64_t *idx, const double *coef, const double *X,
                double *b);

/* The fixed-order dot product used throughout (8 lanes, fixed tree). */
double als_cg_dot(const double *a, const double *b, int k);

#endif
