/* als_implicit.h - implicit-feedback ALS (Hu, Koren & Volinsky, ICDM 2008)
 * with the social term: confidences, the per-row normal equations (dense,
 * Cholesky path), Y'Y, and a slow dense reference loss for tests. Local.
 *
 * Data r_ui >= 0 (play counts, clicks). Preference p_ui = 1 if r_ui > 0 else
 * 0; confidence
 *     linear: c_ui = 1 + A r_ui
 *     log:    c_ui = 1 + A log(1 + r_ui / eps)
 * and unobserved pairs have r = 0, p = 0, c = 1. The loss, over EVERY pair:
 *     L = 1/2 sum_{u,i} c_ui (p_ui - x_u'y_i)^2 + lambda_U/2 |X|^2 + lambda_V/2 |Y|^2
 *       + alpha/2 sum_u sum_{f in F+(u)} s_uf |x_u - x_f|^2
 * (the 1/2 convention of als_solver.c's explicit loss). Setting the gradient
 * in x_u to zero (Y and the other users fixed), with W = S + S', d_u = sum W_uf:
 *     (Y'Y + sum_{i in Omega_u} (c_ui - 1) y_i y_i' + (lambda_U + alpha d_u) I) x_u
 *         = sum_{i in Omega_u} c_ui p_ui y_i + alpha sum_f W_uf x_f
 * because sum_all c y y' = Y'Y + sum_{observed} (c - 1) y y' (c = 1 off Omega_u)
 * and c p = 0 off Omega_u. Items: the same with X'X and no social term.
 */
#ifndef ALS_IMPLICIT_H
#define ALS_IMPLICIT_H

#include <stdint.h>

typedef enum { ALS_CONF_LINEAR = 0, ALS_CONF_LOG = 1 } als_conf_scale_t;

typedef struct {
    als_conf_scale_t scale;
    double a;      /* --confidence A (>= 0) */
    double eps;    /* --epsilon (> 0; log scale only) */
} als_conf_t;

/* c - 1 for one value r >= 0, computed directly (A r or A log1p(r/eps)) so
 * that c - 1 carries no cancellation error. */
double als_implicit_cm1(const als_conf_t *cf, double r);

/* c = 1 + als_implicit_cm1(cf, r). */
double als_implicit_confidence(const als_conf_t *cf, double r);

/* For a row's n values r: w[t] = c_t - 1 and coef[t] = c_t p_t (0 when
 * r_t == 0). Either output may be NULL. Returns 0, or ALS_ERR_DATA when some
 * r_t is negative or not finite, or ALS_ERR_ARG for a bad cf (a < 0, or
 * eps <= 0 on the log scale); outputs are unspecified then. */
int als_implicit_weights(const als_conf_t *cf, int64_t n, const double *r, double *w,
                         double *coef);

/* G = sum_{t in [r0, r1)} Y[t] Y[t]' over rows r0..r1-1 of Y (row-major,
 * leading dim k), rows in ascending order, full k×k (both triangles written,
 * bitwise symmetric). Accumulates INTO G when accumulate != 0, else
 * overwrites. Deterministic in that order. For a P-independent distributed
 * Y'Y: compute partials over FIXED global row chunks (not per rank) and add
 * them in chunk order, or reduce exactly (DESIGN.md §5). Local. */
void als_implicit_gram(int k, int64_t r0, int64_t r1, const double *Y, double *G,
                       int accumulate);

/* One row's implicit normal equations, dense (for the Cholesky path):
 *     A = G + sum_t w_t y_t y_t' + diag(d)        (full k×k, both triangles)
 *     b = sum_t coef_t y_t + alpha sum_x wval[x] F[wcol[x]]
 * with y_t = Y[idx[t]], w/coef from als_implicit_weights, G = Y'Y (full or
 * upper triangle: only p <= q is read), d = per-coordinate shifts (lambda +
 * alpha d_u on each coordinate; see als_cg.h for the bias layout), and the
 * social neighbours (nw entries; F the user factor matrix, leading dim k;
 * nw = 0 for items). A's upper triangle is what als_solve_spd reads. Local. */
void als_implicit_normal_eq(int k, int64_t n, const int64_t *idx, const double *Y,
                            const double *w, const double *coef, const double *G,
                            const double *diag, int64_t nw, const int64_t *wcol,
                            const double *wval, double alpha, const double *F, double *A,
                            double *b);

/* The same A's upper triangle and b (no diag, no social term: the caller
 * adds them) with the fast Gram kernel: the rows sqrt(w_t) y_t gathered
 * into panel (n×k doubles), their Gram by als_gram_rhs_fast over the index
 * iota (0..n-1), G's upper triangle added. Equal to als_implicit_normal_eq
 * to rounding (a product (sqrt(w) y_a)(sqrt(w) y_b) for w y_a y_b, the
 * kernel's order of sums); its bits depend on the row and the kernel ISA
 * only. gws: als_gram_ws_size(k) doubles. Local. */
void als_implicit_normal_eq_fast(int k, int64_t n, const int64_t *idx, const double *Y,
                                 const double *w, const double *coef, const double *G,
                                 double *panel, const int64_t *iota, double *gws, double *A,
                                 double *b);

/* The slow reference: the full loss above over every (u, i) pair of a dense
 * m×n value matrix R (row-major; R = 0 means unobserved) and a dense m×m
 * directed similarity S (s_uf >= 0, S[u*m+f]; NULL for none). U m×k, V n×k.
 * O(m n k + m^2 k): tiny cases only (tests). Returns the loss; sets
 * *bad = 1 (when bad != NULL) if R holds a negative value. Local. */
double als_implicit_loss_dense(const als_conf_t *cf, int64_t m, int64_t n, int k,
                               const double *R, const double *S, const double *U,
                               const double *V, double lambda_u, double lambda_v, double alpha,
                               int *bad);

#endif
