/* test_cg.c - unit tests of the matrix-free per-row CG (als_cg.h). */
#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

#include "als_cg.h"
#include "als_test.h"

/* A random row problem: X (xrows×k), idx into X, ratings r, weights w
 * (implicit: c - 1 > 0), G = Y'Y of a random Y (ny×k), diag, rhs b. */
typedef struct {
    int k;
    int64_t n, xrows;
    double *X, *r, *w, *G, *diag, *b, *x0;
    int64_t *idx;
} prob_t;

static void prob_make(prob_t *p, int k, int64_t n, int implicit, double dmin, uint64_t *seed)
{
    memset(p, 0, sizeof *p);
    p->k = k;
    p->n = n;
    p->xrows = n + 5;
    p->X = malloc((size_t)(p->xrows * k) * sizeof *p->X);
    p->r = malloc((size_t)(n + 1) * sizeof *p->r);
    p->w = malloc((size_t)(n + 1) * sizeof *p->w);
    p->idx = malloc((size_t)(n + 1) * sizeof *p->idx);
    p->G = calloc((size_t)k * k, sizeof *p->G);
    p->diag = malloc((size_t)k * sizeof *p->diag);
    p->b = malloc((size_t)k * sizeof *p->b);
    p->x0 = malloc((size_t)k * sizeof *p->x0);
    for (int64_t x = 0; x < p->xrows * k; x++)
        p->X[x] = als_test_uniform(seed);
    for (int64_t t = 0; t < n; t++) {
        p->idx[t] = (int64_t)(als_test_next(seed) % (uint64_t)p->xrows);
        p->r[t] = 3.0 + 2.0 * als_test_uniform(seed);
        p->w[t] = 1.0 + 2.0 * (als_test_uniform(seed) + 1.0); /* in [1, 5) */
    }
    if (implicit) { /* G = Y'Y, Y 3k×k */
        for (int t = 0; t < 3 * k; t++) {
            double y[256];
            for (int c = 0; c < k; c++)
                y[c] = als_test_uniform(seed);
            for (int a = 0; a < k; a++)
                for (int c = 0; c < k; c++)
                    p->G[a * k + c] += y[a] * y[c];
        }
    }
    for (int c = 0; c < k; c++) {
        p->diag[c] = dmin + 0.5 * (als_test_uniform(seed) + 1.0);
        p->b[c] = 5.0 * als_test_uniform(seed);
        p->x0[c] = als_test_uniform(seed);
    }
    /* b = sum r_t x_t + a random "social" part already in b. */
    for (int64_t t = 0; t < n; t++)
        for (int c = 0; c < k; c++)
            p->b[c] += (implicit ? 1.0 + p->w[t] : p->r[t]) * p->X[p->idx[t] * k + c];
}

static void prob_free(prob_t *p)
{
    free(p->X); free(p->r); free(p->w); free(p->idx); free(p->G); free(p->diag); free(p->b);
    free(p->x0);
}

static als_cg_row_t prob_row(const prob_t *p, int implicit)
{
    als_cg_row_t row = {.k = p->k, .n = p->n, .idx = p->idx, .X = p->X,
                        .w = implicit ? p->w : NULL, .G = implicit ? p->G : NULL,
                        .diag = p->diag, .nfix = 0, .fix = NULL};
    return row;
}

/* The dense matrix A (full) by the textbook sums, independent of als_cg. */
static void dense_A(const prob_t *p, int implicit, double *A)
{
    const int k = p->k;
    for (int a = 0; a < k; a++)
        for (int c = 0; c < k; c++)
            A[a * k + c] = (implicit ? p->G[a * k + c] : 0.0) + (a == c ? p->diag[a] : 0.0);
    for (int64_t t = 0; t < p->n; t++) {
        const double *x = p->X + p->idx[t] * k;
        double wt = implicit ? p->w[t] : 1.0;
        for (int a = 0; a < k; a++)
            for (int c = 0; c < k; c++)
                A[a * k + c] += wt * x[a] * x[c];
    }
}

static double *ws_nan(int k)
{
    double *ws = malloc((size_t)als_cg_ws_size(k) * sizeof *ws);
    for (int64_t x = 0; x < als_cg_ws_size(k); x++)
        ws[x] = NAN; /* contents on entry must not matter */
    return ws;
}

static double max_rel_diff(const double *a, const double *b, int k)
{
    double d = 0.0, s = 0.0;
    for (int c = 0; c < k; c++) {
        d = fmax(d, fabs(a[c] - b[c]));
        s = fmax(s, fabs(b[c]));
    }
    return d / (s > 0 ? s : 1.0);
}

/* CG with k steps = the Cholesky (LAPACKE_dposv) solution, explicit and
 * implicit, on small well-conditioned cases. */
static void check_cg_equals_cholesky(int implicit)
{
    uint64_t seed = implicit ? 77 : 76;
    const int ks[] = {1, 2, 5, 8, 9, 13};
    for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
        int k = ks[q];
        prob_t p;
        prob_make(&p, k, 3 * k + 4, implicit, 1.0, &seed);
        double *A = malloc((size_t)k * k * sizeof *A), *xs = malloc((size_t)k * sizeof *xs);
        dense_A(&p, implicit, A);
        memcpy(xs, p.b, (size_t)k * sizeof *xs);
        assert_int_equal(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', k, 1, A, k, xs, 1), 0);
        als_cg_row_t row = prob_row(&p, implicit);
        double *x = malloc((size_t)k * sizeof *x), *ws = ws_nan(k);
        memcpy(x, p.x0, (size_t)k * sizeof *x);
        int s = als_cg_solve(&row, p.b, k, x, ws);
        assert_true(s >= 1 && s <= k);
        assert_true(max_rel_diff(x, xs, k) <= 1e-10);
        /* Fewer steps than k is not (in general) the solution: the check above
         * is not vacuous. */
        if (k >= 5) {
            memcpy(x, p.x0, (size_t)k * sizeof *x);
            assert_int_equal(als_cg_solve(&row, p.b, 1, x, ws), 1);
            assert_true(max_rel_diff(x, xs, k) > 1e-6);
        }
        free(A); free(xs); free(x); free(ws);
        prob_free(&p);
    }
}

static void test_cg_explicit_equals_cholesky(void **state)
{
    (void)state;
    check_cg_equals_cholesky(0);
}

static void test_cg_implicit_equals_cholesky(void **state)
{
    (void)state;
    check_cg_equals_cholesky(1);
}

/* The matrix-free product equals the dense A p, and the objective equals the
 * direct formula 1/2 sum (r - x'x_t)^2 + 1/2 sum d x^2 - e'x - 1/2 sum r^2. */
static void test_cg_apply_and_objective(void **state)
{
    (void)state;
    uint64_t seed = 5;
    for (int implicit = 0; implicit < 2; implicit++) {
        int k = 7;
        prob_t p;
        prob_make(&p, k, 12, implicit, 0.3, &seed);
        als_cg_row_t row = prob_row(&p, implicit);
        double A[49], q[7], qd[7];
        dense_A(&p, implicit, A);
        als_cg_apply(&row, p.x0, q);
        for (int a = 0; a < k; a++) {
            qd[a] = 0.0;
            for (int c = 0; c < k; c++)
                qd[a] += A[a * k + c] * p.x0[c];
        }
        assert_true(max_rel_diff(q, qd, k) <= 1e-13);
        /* With G holding junk below the diagonal, only the upper part is read. */
        if (implicit) {
            for (int a = 1; a < k; a++)
                for (int c = 0; c < a; c++)
                    p.G[a * k + c] = 1e6;
            als_cg_apply(&row, p.x0, q);
            assert_true(max_rel_diff(q, qd, k) <= 1e-13);
        }
        double f = als_cg_objective(&row, p.b, p.x0);
        double fd = 0.5 * als_cg_dot(p.x0, qd, k) - als_cg_dot(p.b, p.x0, k);
        assert_close(f, fd, 1e-12, 1e-12);
        if (!implicit) {
            double e[7], direct = 0.0, r2 = 0.0;
            memcpy(e, p.b, sizeof e);
            for (int64_t t = 0; t < p.n; t++) {
                const double *x = p.X + p.idx[t] * k;
                double pr = 0.0;
                for (int c = 0; c < k; c++) {
                    pr += x[c] * p.x0[c];
                    e[c] -= p.r[t] * x[c];
                }
                direct += 0.5 * (p.r[t] - pr) * (p.r[t] - pr);
                r2 += p.r[t] * p.r[t];
            }
            for (int c = 0; c < k; c++)
                direct += 0.5 * p.diag[c] * p.x0[c] * p.x0[c] - e[c] * p.x0[c];
            assert_close(f + 0.5 * r2, direct, 1e-12, 1e-12);
        }
        prob_free(&p);
    }
}

/* Each CG step from a warm start never increases the row's objective:
 * f(x_s) over s = 0..k is non-increasing (up to rounding), on random cases
 * including ill-conditioned ones (tiny shift, fewer ratings than k), both
 * models; and repeated single warm-started steps (what the solver does across
 * iterations) never increase it either. */
static void test_cg_objective_nonincreasing(void **state)
{
    (void)state;
    uint64_t seed = 11;
    int cases = 0, strict = 0;
    for (int rep = 0; rep < 40; rep++) {
        int implicit = rep & 1;
        int k = 2 + (int)(als_test_next(&seed) % 30);
        int64_t n = (int64_t)(als_test_next(&seed) % (uint64_t)(2 * k + 1));
        double dmin = rep % 3 == 0 ? 1e-6 : 0.1;
        prob_t p;
        prob_make(&p, k, n, implicit, dmin, &seed);
        als_cg_row_t row = prob_row(&p, implicit);
        double *x = malloc((size_t)k * sizeof *x), *ws = ws_nan(k);
        double prev = als_cg_objective(&row, p.b, p.x0), f0 = prev;
        for (int s = 1; s <= k + 2; s++) {
            memcpy(x, p.x0, (size_t)k * sizeof *x);
            int got = als_cg_solve(&row, p.b, s, x, ws);
            assert_true(got >= 0 && got <= s);
            double f = als_cg_objective(&row, p.b, x);
            assert_true(f <= prev + 1e-12 * (fabs(prev) + 1.0));
            prev = f;
        }
        strict += prev < f0 - 1e-9;
        /* Restarted single steps. */
        memcpy(x, p.x0, (size_t)k * sizeof *x);
        prev = f0;
        for (int s = 0; s < 3 * k; s++) {
            assert_true(als_cg_solve(&row, p.b, 1, x, ws) >= 0);
            double f = als_cg_objective(&row, p.b, x);
            assert_true(f <= prev + 1e-12 * (fabs(prev) + 1.0));
            prev = f;
        }
        cases++;
        free(x); free(ws);
        prob_free(&p);
    }
    assert_int_equal(cases, 40);
    assert_true(strict >= 35); /* the objective does go down */
}

/* Fixed coordinates (the --bias layout): their values are kept bitwise, the
 * free part is the reduced system's solution A_QQ x_Q = b_Q - A_QF x_F, and a
 * coordinate with its own diagonal (the bias lambda) is honoured. */
static void test_cg_fixed_coordinates(void **state)
{
    (void)state;
    uint64_t seed = 21;
    for (int implicit = 0; implicit < 2; implicit++) {
        const int k = 8, fix[2] = {7, 5}, Q[6] = {0, 1, 2, 3, 4, 6}, kr = 6;
        prob_t p;
        prob_make(&p, k, 20, implicit, 1.0, &seed);
        p.x0[7] = 1.0;
        p.x0[5] = 3.7;   /* e.g. the global mean */
        p.diag[6] = 0.01; /* the bias coordinate's own lambda */
        p.diag[5] = -1e9; /* unused: fixed */
        p.diag[7] = NAN;  /* unused: fixed */
        als_cg_row_t row = prob_row(&p, implicit);
        row.nfix = 2;
        row.fix = fix;
        double A[64], Ar[36], xr[6];
        p.diag[5] = p.diag[7] = 0.0;
        dense_A(&p, implicit, A);
        p.diag[5] = -1e9;
        p.diag[7] = NAN;
        for (int a = 0; a < kr; a++) {
            for (int c = 0; c < kr; c++)
                Ar[a * kr + c] = A[Q[a] * k + Q[c]];
            xr[a] = p.b[Q[a]] - A[Q[a] * k + 7] * 1.0 - A[Q[a] * k + 5] * 3.7;
        }
        assert_int_equal(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', kr, 1, Ar, kr, xr, 1), 0);
        double x[8], *ws = ws_nan(k), xq[6];
        memcpy(x, p.x0, sizeof x);
        int s = als_cg_solve(&row, p.b, kr + 4, x, ws);
        assert_true(s >= 1 && s <= kr + 4);
        assert_true(x[7] == 1.0 && x[5] == 3.7);
        for (int a = 0; a < kr; a++)
            xq[a] = x[Q[a]];
        assert_true(max_rel_diff(xq, xr, kr) <= 1e-10);
        free(ws);
        prob_free(&p);
    }
}

/* A row with no ratings: A = diag(d), so with a uniform shift one step
 * solves it exactly, x = b / d; with b = 0 (no social term) x = 0. */
static void test_cg_zero_ratings(void **state)
{
    (void)state;
    const int k = 6;
    double d[6], b[6], x[6], ws[18];
    for (int c = 0; c < k; c++) {
        d[c] = 0.75;
        b[c] = 0.1 * (c + 1) - 0.2;
        x[c] = 1.0 - 0.3 * c; /* warm start */
    }
    als_cg_row_t row = {.k = k, .n = 0, .idx = NULL, .X = NULL, .w = NULL, .G = NULL,
                        .diag = d, .nfix = 0, .fix = NULL};
    int s = als_cg_solve(&row, b, 3, x, ws);
    assert_true(s >= 1);
    for (int c = 0; c < k; c++)
        assert_close(x[c], b[c] / 0.75, 1e-14, 1e-15);
    memset(b, 0, sizeof b);
    for (int c = 0; c < k; c++)
        x[c] = 1.0 - 0.3 * c;
    assert_true(als_cg_solve(&row, b, 1, x, ws) == 1);
    for (int c = 0; c < k; c++)
        assert_true(fabs(x[c]) <= 1e-15);
    /* Exactly at the solution: zero residual, no step. */
    memset(x, 0, sizeof x);
    assert_int_equal(als_cg_solve(&row, b, 5, x, ws), 0);
    /* Zero steps leave x as it is. */
    for (int c = 0; c < k; c++)
        x[c] = 2.0;
    b[0] = 1.0;
    assert_int_equal(als_cg_solve(&row, b, 0, x, ws), 0);
    assert_true(x[0] == 2.0 && x[5] == 2.0);
    /* Different shifts per coordinate: k steps still solve it. */
    for (int c = 0; c < k; c++) {
        d[c] = 0.5 + c;
        b[c] = 1.0 + c;
        x[c] = 0.0;
    }
    assert_true(als_cg_solve(&row, b, k, x, ws) >= 1);
    for (int c = 0; c < k; c++)
        assert_close(x[c], b[c] / d[c], 1e-12, 1e-15);
}

/* Non-finite input and an indefinite matrix are reported, not hidden. */
static void test_cg_errors(void **state)
{
    (void)state;
    uint64_t seed = 3;
    prob_t p;
    prob_make(&p, 4, 6, 0, 1.0, &seed);
    als_cg_row_t row = prob_row(&p, 0);
    double x[4], ws[12];
    memcpy(x, p.x0, sizeof x);
    p.X[p.idx[2] * 4 + 1] = NAN;
    assert_int_equal(als_cg_solve(&row, p.b, 4, x, ws), -1);
    prob_free(&p);
    prob_make(&p, 4, 0, 0, 1.0, &seed);
    row = prob_row(&p, 0);
    for (int c = 0; c < 4; c++)
        p.diag[c] = -1.0;
    memcpy(x, p.x0, sizeof x);
    assert_int_equal(als_cg_solve(&row, p.b, 4, x, ws), -2);
    prob_free(&p);
}

/* The result depends only on the inputs: the same bits from a fresh
 * workspace filled differently, and from a copy of X at another address. */
static void test_cg_deterministic(void **state)
{
    (void)state;
    uint64_t seed = 8;
    prob_t p;
    const int k = 19;
    prob_make(&p, k, 50, 1, 0.2, &seed);
    als_cg_row_t row = prob_row(&p, 1);
    double x1[19], x2[19], *ws1 = ws_nan(k), *ws2 = calloc((size_t)als_cg_ws_size(k), sizeof(double));
    memcpy(x1, p.x0, sizeof x1);
    memcpy(x2, p.x0, sizeof x2);
    assert_int_equal(als_cg_solve(&row, p.b, 4, x1, ws1), 4);
    double *X2 = malloc((size_t)(p.xrows * k) * sizeof *X2);
    memcpy(X2, p.X, (size_t)(p.xrows * k) * sizeof *X2);
    row.X = X2;
    assert_int_equal(als_cg_solve(&row, p.b, 4, x2, ws2), 4);
    assert_memory_equal(x1, x2, sizeof x1);
    free(ws1); free(ws2); free(X2);
    prob_free(&p);
}

/* als_cg_rhs = sum coef_t x_t. */
static void test_cg_rhs(void **state)
{
    (void)state;
    const double X[6] = {1, 2, 3, 4, 5, 6}; /* 3 rows, k = 2 */
    const int64_t idx[3] = {2, 0, 2};
    const double coef[3] = {0.5, 2.0, -1.0};
    double b[2] = {NAN, NAN};
    als_cg_rhs(2, 3, idx, coef, X, b);
    /* 0.5*(5,6) + 2*(1,2) - (5,6) = (2.5+2-5, 3+4-6) = (-0.5, 1) */
    assert_true(b[0] == -0.5 && b[1] == 1.0);
    als_cg_rhs(2, 0, idx, coef, X, b);
    assert_true(b[0] == 0.0 && b[1] == 0.0);
}

/* The coupled U-objective with the social term,
 *   f(U) = sum_i [1/2 sum_j (r_ij - u_i.v_j)^2 + lambda/2 |u_i|^2]
 *        + alpha/2 sum_{i<g} W_ig |u_i - u_g|^2     (W symmetric),
 * never increases under a Jacobi U-step whose rows are CG iterates (any
 * number of steps) from the previous U (the Galerkin argument in als_cg.h);
 * the check is sensitive: an over-relaxed step (1.6 delta) does increase f. */
enum { JM = 30, JN = 25, JK = 6 };
typedef struct {
    double R[JM][JN], W[JM][JM], V[JN * JK];
    int obs[JM][JN];
} coupled_t;

static double coupled_f(const coupled_t *P, const double *U, double lam, double alpha)
{
    double f = 0.0;
    for (int i = 0; i < JM; i++) {
        for (int j = 0; j < JN; j++)
            if (P->obs[i][j]) {
                double e = P->R[i][j] - als_cg_dot(U + i * JK, P->V + j * JK, JK);
                f += 0.5 * e * e;
            }
        for (int c = 0; c < JK; c++)
            f += 0.5 * lam * U[i * JK + c] * U[i * JK + c];
        for (int g = i + 1; g < JM; g++)
            if (P->W[i][g] > 0) {
                double d = 0.0;
                for (int c = 0; c < JK; c++)
                    d += (U[i * JK + c] - U[g * JK + c]) * (U[i * JK + c] - U[g * JK + c]);
                f += 0.5 * alpha * P->W[i][g] * d;
            }
    }
    return f;
}

/* One Jacobi U-step: every row by `steps` CG steps from Uc, moved by
 * relax * delta. */
static void coupled_step(const coupled_t *P, const double *Uc, double *Un, double lam,
                         double alpha, int steps, double relax)
{
    for (int i = 0; i < JM; i++) {
        int64_t idx[JN], n = 0;
        double r[JN], b[JK], d[JK], ws[3 * JK], deg = 0.0;
        for (int j = 0; j < JN; j++)
            if (P->obs[i][j]) {
                idx[n] = j;
                r[n++] = P->R[i][j];
            }
        als_cg_rhs(JK, n, idx, r, P->V, b);
        for (int g = 0; g < JM; g++)
            if (P->W[i][g] > 0) {
                deg += P->W[i][g];
                for (int c = 0; c < JK; c++)
                    b[c] += alpha * P->W[i][g] * Uc[g * JK + c];
            }
        for (int c = 0; c < JK; c++)
            d[c] = lam + alpha * deg;
        als_cg_row_t row = {.k = JK, .n = n, .idx = idx, .X = P->V, .diag = d};
        double *x = Un + i * JK;
        memcpy(x, Uc + i * JK, JK * sizeof *x);
        assert_true(als_cg_solve(&row, b, steps, x, ws) >= 0);
        for (int c = 0; c < JK; c++)
            x[c] = Uc[i * JK + c] + relax * (x[c] - Uc[i * JK + c]);
    }
}

static void test_cg_jacobi_social_nonincreasing(void **state)
{
    (void)state;
    uint64_t seed = 17;
    coupled_t *P = calloc(1, sizeof *P);
    int increases = 0, relaxed_increases = 0, steps_done = 0;
    for (int rep = 0; rep < 30; rep++) {
        memset(P, 0, sizeof *P);
        for (int x = 0; x < JN * JK; x++)
            P->V[x] = als_test_uniform(&seed);
        for (int i = 0; i < JM; i++)
            for (int j = 0; j < JN; j++) {
                P->obs[i][j] = als_test_next(&seed) % 5 == 0;
                P->R[i][j] = 3.0 + 2.0 * als_test_uniform(&seed);
            }
        for (int i = 0; i < JM; i++)
            for (int e = 0; e < 4; e++) {
                int g = (int)(als_test_next(&seed) % JM);
                if (g != i) {
                    double w = 0.5 * (1.0 + als_test_uniform(&seed));
                    P->W[i][g] += w;
                    P->W[g][i] += w;
                }
            }
        double alpha = 2.0 * (rep % 4 + 1), lam = 0.05;
        double U[JM * JK], Un[JM * JK];
        for (int x = 0; x < JM * JK; x++)
            U[x] = 2.0 * als_test_uniform(&seed);
        for (int steps = 1; steps <= 3; steps++) {
            double Uc[JM * JK];
            memcpy(Uc, U, sizeof Uc);
            for (int it = 0; it < 4; it++) {
                double f0 = coupled_f(P, Uc, lam, alpha);
                coupled_step(P, Uc, Un, lam, alpha, steps, 1.6);
                relaxed_increases += coupled_f(P, Un, lam, alpha) > f0;
                coupled_step(P, Uc, Un, lam, alpha, steps, 1.0);
                double f1 = coupled_f(P, Un, lam, alpha);
                increases += f1 > f0 + 1e-12 * fabs(f0);
                steps_done++;
                memcpy(Uc, Un, sizeof Uc);
            }
        }
    }
    free(P);
    assert_int_equal(steps_done, 360);
    assert_int_equal(increases, 0);
    assert_true(relaxed_increases > 100);
}

/* The vector paths of the entries' sum (avx512, avx2: fused multiply-adds)
 * give the bits of their plain C oracle (fma-ref: fma() in the same lanes and
 * tree) for every k (every k mod 8, the masked tails), any n (the 4-entry groups and
 * their tails), explicit and implicit weights, the product and the residual
 * form, rows through idx and as a contiguous panel, and signed zeros (a row
 * of -0.0, p with -0.0 entries). A path this CPU lacks is reported and
 * skipped; the plain C path and the oracle are checked against the textbook
 * sum to rounding everywhere. */
static void test_cg_panel_paths_bitwise(void **state)
{
    (void)state;
    uint64_t seed = 91;
    const int ks[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 16, 24, 32, 40, 48, 55, 56, 61, 64, 69, 72, 128};
    const int64_t ns[] = {0, 1, 2, 3, 4, 5, 7, 9, 33};
    const char *isas[] = {"avx512", "avx2"};
    int ran[2] = {0, 0}, missed[2] = {0, 0};
    for (size_t qk = 0; qk < sizeof ks / sizeof ks[0]; qk++)
        for (size_t qn = 0; qn < sizeof ns / sizeof ns[0]; qn++)
            for (int implicit = 0; implicit < 2; implicit++) {
                const int k = ks[qk];
                prob_t p;
                prob_make(&p, k, ns[qn], implicit, 0.5, &seed);
                if (p.n > 2)
                    for (int c = 0; c < k; c++)
                        p.X[p.idx[1] * k + c] = -0.0;
                double *pv = malloc((size_t)k * sizeof *pv), *panel =
                    malloc((size_t)(p.n * k + 1) * sizeof *panel);
                for (int c = 0; c < k; c++)
                    pv[c] = c % 5 == 0 ? -0.0 : als_test_uniform(&seed);
                for (int64_t t = 0; t < p.n; t++)
                    memcpy(panel + t * k, p.X + p.idx[t] * k, (size_t)k * sizeof *panel);
                for (int form = 0; form < 2; form++) {
                    const double *coef = form ? p.r : NULL;
                    als_cg_row_t row = prob_row(&p, implicit);
                    double q0[128], qg[128], qv[129], qd[128];
                    for (int c = 0; c < k; c++)
                        q0[c] = c % 7 == 0 ? 0.0 : als_test_uniform(&seed);
                    memcpy(qg, q0, (size_t)k * sizeof *qg);
                    assert_int_equal(als_cg_panel_isa(&row, NULL, coef, pv, qg), 0);
                    /* textbook: q0 + sum_t (coef_t - w_t s_t or w_t s_t) x_t */
                    double scale = 0.0;
                    for (int c = 0; c < k; c++)
                        qd[c] = q0[c];
                    for (int64_t t = 0; t < p.n; t++) {
                        const double *x = p.X + p.idx[t] * k;
                        double st = 0.0, sa = 0.0;
                        for (int c = 0; c < k; c++) {
                            st += x[c] * pv[c];
                            sa += fabs(x[c] * pv[c]);
                        }
                        double wt = implicit ? p.w[t] : 1.0;
                        double ct = coef ? coef[t] - wt * st : wt * st;
                        scale = fmax(scale, fabs(coef ? coef[t] : 0.0) + wt * sa);
                        for (int c = 0; c < k; c++)
                            qd[c] += ct * x[c];
                    }
                    double qf[128];
                    memcpy(qf, q0, (size_t)k * sizeof *qf);
                    assert_int_equal(als_cg_panel_isa(&row, "fma-ref", coef, pv, qf), 0);
                    for (int c = 0; c < k; c++) {
                        assert_true(fabs(qg[c] - qd[c]) <= 1e-12 * (1.0 + fabs(q0[c]) +
                                                                    (double)p.n * scale));
                        assert_true(fabs(qf[c] - qd[c]) <= 1e-12 * (1.0 + fabs(q0[c]) +
                                                                    (double)p.n * scale));
                    }
                    for (int i = 0; i < 2; i++)
                        for (int contig = 0; contig < 2; contig++) {
                            als_cg_row_t rv = row;
                            if (contig) {
                                rv.idx = NULL;
                                rv.X = panel;
                            }
                            memcpy(qv, q0, (size_t)k * sizeof *qv);
                            qv[k] = 1234.5; /* nothing is written past q's k entries */
                            if (als_cg_panel_isa(&rv, isas[i], coef, pv, qv) != 0) {
                                missed[i]++; /* only when the CPU lacks the ISA */
                                continue;
                            }
                            ran[i]++;
                            assert_memory_equal(qv, qf, (size_t)k * sizeof *qv);
                            assert_true(qv[k] == 1234.5);
                        }
                }
                free(pv);
                free(panel);
                prob_free(&p);
            }
    for (int i = 0; i < 2; i++) {
        assert_false(ran[i] && missed[i]);
        if (!ran[i])
            print_message("note: the %s path cannot run on this CPU: not checked here\n",
                          isas[i]);
    }
}

/* The fused initial residual r = b0 + sum coef_t x_t - A x equals b - A x
 * by the dense textbook A to rounding, and als_cg_solve_coef run to k steps
 * equals the Cholesky solution of A x = b0 + sum coef_t x_t (k = 5, 8, 16:
 * the plain and the vector paths), explicit and implicit. */
static void test_cg_residual_and_solve_coef(void **state)
{
    (void)state;
    uint64_t seed = 17;
    const int ks[] = {5, 8, 16};
    for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++)
        for (int implicit = 0; implicit < 2; implicit++) {
            const int k = ks[q];
            prob_t p;
            prob_make(&p, k, 3 * k + 3, implicit, 1.0, &seed);
            als_cg_row_t row = prob_row(&p, implicit);
            double *coef = malloc((size_t)p.n * sizeof *coef), b0[16], r[16], rd[16], A[256],
                   xs[16], x[16];
            /* p.b = b0 + sum coef_t x_t with coef = r (explicit) or 1 + w (implicit). */
            memcpy(b0, p.b, (size_t)k * sizeof *b0);
            for (int64_t t = 0; t < p.n; t++) {
                coef[t] = implicit ? 1.0 + p.w[t] : p.r[t];
                for (int c = 0; c < k; c++)
                    b0[c] -= coef[t] * p.X[p.idx[t] * k + c];
            }
            dense_A(&p, implicit, A);
            als_cg_residual(&row, coef, b0, p.x0, r);
            for (int a = 0; a < k; a++) {
                rd[a] = p.b[a];
                for (int c = 0; c < k; c++)
                    rd[a] -= A[a * k + c] * p.x0[c];
            }
            assert_true(max_rel_diff(r, rd, k) <= 1e-11);
            memcpy(xs, p.b, (size_t)k * sizeof *xs);
            assert_int_equal(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', k, 1, A, k, xs, 1), 0);
            memcpy(x, p.x0, (size_t)k * sizeof *x);
            double *ws = ws_nan(k);
            assert_true(als_cg_solve_coef(&row, coef, b0, k, x, ws) >= 1);
            assert_true(max_rel_diff(x, xs, k) <= 1e-8);
            free(ws);
            free(coef);
            prob_free(&p);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cg_explicit_equals_cholesky),
        cmocka_unit_test(test_cg_implicit_equals_cholesky),
        cmocka_unit_test(test_cg_apply_and_objective),
        cmocka_unit_test(test_cg_objective_nonincreasing),
        cmocka_unit_test(test_cg_fixed_coordinates),
        cmocka_unit_test(test_cg_zero_ratings),
        cmocka_unit_test(test_cg_errors),
        cmocka_unit_test(test_cg_deterministic),
        cmocka_unit_test(test_cg_rhs),
        cmocka_unit_test(test_cg_jacobi_social_nonincreasing),
        cmocka_unit_test(test_cg_panel_paths_bitwise),
        cmocka_unit_test(test_cg_residual_and_solve_coef),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
