/* test_implicit.c - unit tests of the implicit-feedback helpers
 * (als_implicit.h) against a direct dense computation over every pair. */
#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

#include "als_cg.h"
#include "als_error.h"
#include "als_implicit.h"
#include "als_kernels.h"
#include "als_test.h"

/* The tiny case: m = 4 users, n = 5 items, k = 3. R holds play counts
 * (0 = no interaction); S a directed trust graph. */
enum { M = 4, N = 5, K = 3 };
static const double R[M * N] = {
    3, 0, 1, 0, 7,
    0, 2, 0, 0, 0,
    1, 1, 0, 12, 0,
    0, 0, 0, 0, 0,   /* a user with no interactions */
};
static const double S[M * M] = {
    0, 1.0, 0, 0.5,
    0, 0, 0, 0,
    0.25, 1.0, 0, 0,
    0, 0, 0.75, 0,
};
static const double LU = 0.3, LV = 0.2, ALPHA = 0.7;

static void fill(double *a, int64_t n, uint64_t *seed)
{
    for (int64_t x = 0; x < n; x++)
        a[x] = 0.5 * als_test_uniform(seed);
}

/* Central-difference gradient of the dense loss in F[row*K + c]. Exact for a
 * quadratic up to rounding (about eps*|L|/h). */
static void fd_grad(const als_conf_t *cf, double *U, double *V, double *F, int64_t row,
                    double *g)
{
    const double h = 1e-4;
    for (int c = 0; c < K; c++) {
        double keep = F[row * K + c];
        F[row * K + c] = keep + h;
        double lp = als_implicit_loss_dense(cf, M, N, K, R, S, U, V, LU, LV, ALPHA, NULL);
        F[row * K + c] = keep - h;
        double lm = als_implicit_loss_dense(cf, M, N, K, R, S, U, V, LU, LV, ALPHA, NULL);
        F[row * K + c] = keep;
        g[c] = (lp - lm) / (2 * h);
    }
}

/* The sparse row of user u (or item j with items = 1) from the dense R,
 * with one explicitly stored zero value (r = 0 observed: c = 1, p = 0 must
 * be the same as unobserved). */
static int64_t sparse_row(int items, int64_t t, int64_t *idx, double *val)
{
    int64_t n = 0, len = items ? M : N;
    for (int64_t x = 0; x < len; x++) {
        double r = items ? R[x * N + t] : R[t * N + x];
        if (r > 0 || x == 1) { /* x == 1: a stored 0 when R is 0 there */
            idx[n] = x;
            val[n++] = r;
        }
    }
    return n;
}

static void check_normal_equations(const als_conf_t *cf)
{
    uint64_t seed = 99;
    double U[M * K], V[N * K], G[K * K], A[K * K], b[K], w[8], coef[8], val[8], g[K];
    int64_t idx[8];
    fill(U, M * K, &seed);
    fill(V, N * K, &seed);
    /* ---- users: Y'Y + social ---------------------------------------------- */
    als_implicit_gram(K, 0, N, V, G, 0);
    for (int64_t u = 0; u < M; u++) {
        int64_t n = sparse_row(0, u, idx, val);
        assert_int_equal(als_implicit_weights(cf, n, val, w, coef), ALS_OK);
        int64_t wcol[M];
        double wval[M], deg = 0.0, diag[K];
        int64_t nw = 0;
        for (int64_t f = 0; f < M; f++) {
            double s = S[u * M + f] + S[f * M + u];
            if (s != 0.0) {
                wcol[nw] = f;
                wval[nw++] = s;
                deg += s;
            }
        }
        for (int c = 0; c < K; c++)
            diag[c] = LU + ALPHA * deg;
        als_implicit_normal_eq(K, n, idx, V, w, coef, G, diag, nw, wcol, wval, ALPHA, U, A, b);
        /* The Y'Y trick: A equals the direct sum over EVERY item of
         * c_uj v_j v_j' plus the shift. */
        for (int a = 0; a < K; a++)
            for (int c = 0; c < K; c++) {
                double direct = a == c ? diag[a] : 0.0;
                for (int64_t j = 0; j < N; j++)
                    direct += als_implicit_confidence(cf, R[u * N + j]) * V[j * K + a] * V[j * K + c];
                assert_close(A[a * K + c], direct, 1e-13, 1e-14);
            }
        /* At a generic point the gradient of the full loss is A x - b. */
        fd_grad(cf, U, V, U, u, g);
        for (int c = 0; c < K; c++) {
            double ax = -b[c];
            for (int q = 0; q < K; q++)
                ax += A[c * K + q] * U[u * K + q];
            assert_close(g[c], ax, 1e-7, 1e-8);
        }
        /* At the solution the gradient vanishes (U updated row by row:
         * every solve sees the others' current rows, as the equations say). */
        double x[K];
        memcpy(x, b, sizeof x);
        assert_int_equal(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', K, 1, A, K, x, 1), 0);
        double before = als_implicit_loss_dense(cf, M, N, K, R, S, U, V, LU, LV, ALPHA, NULL);
        memcpy(U + u * K, x, sizeof x);
        double after = als_implicit_loss_dense(cf, M, N, K, R, S, U, V, LU, LV, ALPHA, NULL);
        assert_true(after <= before);
        fd_grad(cf, U, V, U, u, g);
        for (int c = 0; c < K; c++)
            assert_true(fabs(g[c]) <= 1e-8);
    }
    /* ---- items: X'X, no social --------------------------------------------- */
    als_implicit_gram(K, 0, M, U, G, 0);
    for (int64_t j = 0; j < N; j++) {
        int64_t n = sparse_row(1, j, idx, val);
        assert_int_equal(als_implicit_weights(cf, n, val, w, coef), ALS_OK);
        double diag[K] = {LV, LV, LV};
        als_implicit_normal_eq(K, n, idx, U, w, coef, G, diag, 0, NULL, NULL, 0.0, NULL, A, b);
        {
            /* The fast kernel's version: A's upper triangle to rounding
             * (diag added here), b bitwise (the same als_cg_rhs). */
            double Af[K * K], bf[K], panel[8 * K + 1];
            int64_t iota[8] = {0, 1, 2, 3, 4, 5, 6, 7};
            double *gws = malloc(sizeof(double) * (size_t)(als_gram_ws_size(K) + 8));
            assert_non_null(gws);
            als_implicit_normal_eq_fast(K, n, idx, U, w, coef, G, panel, iota, gws, Af, bf);
            free(gws);
            for (int a = 0; a < K; a++) {
                assert_memory_equal(&bf[a], &b[a], sizeof b[a]);
                for (int c = a; c < K; c++)
                    assert_close(Af[a * K + c] + (a == c ? diag[a] : 0.0), A[a * K + c], 1e-14,
                                 1e-15);
            }
        }
        double x[K];
        memcpy(x, b, sizeof x);
        double Ac[K * K];
        memcpy(Ac, A, sizeof Ac);
        assert_int_equal(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', K, 1, Ac, K, x, 1), 0);
        /* CG (implicit product, precomputed G) with K steps agrees. */
        double y[K], ws[3 * K];
        memcpy(y, V + j * K, sizeof y);
        als_cg_row_t row = {.k = K, .n = n, .idx = idx, .X = U, .w = w, .G = G, .diag = diag};
        assert_true(als_cg_solve(&row, b, K, y, ws) >= 1);
        for (int c = 0; c < K; c++)
            assert_close(y[c], x[c], 1e-10, 1e-12);
        memcpy(V + j * K, x, sizeof x);
        fd_grad(cf, U, V, V, j, g);
        for (int c = 0; c < K; c++)
            assert_true(fabs(g[c]) <= 1e-8);
    }
}

static void test_implicit_normal_eq_linear(void **state)
{
    (void)state;
    als_conf_t cf = {.scale = ALS_CONF_LINEAR, .a = 2.0, .eps = 1.0};
    check_normal_equations(&cf);
}

static void test_implicit_normal_eq_log(void **state)
{
    (void)state;
    als_conf_t cf = {.scale = ALS_CONF_LOG, .a = 1.5, .eps = 0.5};
    check_normal_equations(&cf);
}

/* Confidences and weights by hand. */
static void test_implicit_weights(void **state)
{
    (void)state;
    als_conf_t lin = {.scale = ALS_CONF_LINEAR, .a = 2.0}, lg = {.scale = ALS_CONF_LOG, .a = 1.5, .eps = 0.5};
    const double r[3] = {3.0, 0.0, 1.0};
    double w[3], coef[3];
    assert_int_equal(als_implicit_weights(&lin, 3, r, w, coef), ALS_OK);
    /* c = 1 + 2 r: r = 3 -> c = 7 (w = 6, c p = 7); r = 0 -> c = 1, p = 0. */
    assert_true(w[0] == 6.0 && coef[0] == 7.0 && w[1] == 0.0 && coef[1] == 0.0);
    assert_true(w[2] == 2.0 && coef[2] == 3.0);
    assert_int_equal(als_implicit_weights(&lg, 3, r, w, coef), ALS_OK);
    /* c = 1 + 1.5 log(1 + r/0.5): r = 1 -> 1 + 1.5 log 3 = 2.647918433002164 */
    assert_close(coef[2], 2.647918433002164, 1e-15, 0);
    assert_close(w[0], 1.5 * log(7.0), 1e-15, 0);
    assert_true(w[1] == 0.0 && coef[1] == 0.0);
    assert_close(als_implicit_confidence(&lg, 1.0), 2.647918433002164, 1e-15, 0);
    const double neg[2] = {1.0, -0.5}, inf[1] = {INFINITY};
    assert_int_equal(als_implicit_weights(&lin, 2, neg, w, NULL), ALS_ERR_DATA);
    assert_int_equal(als_implicit_weights(&lin, 1, inf, NULL, coef), ALS_ERR_DATA);
    als_conf_t bad = {.scale = ALS_CONF_LOG, .a = 1.0, .eps = 0.0};
    assert_int_equal(als_implicit_weights(&bad, 1, r, w, coef), ALS_ERR_ARG);
    bad = (als_conf_t){.scale = ALS_CONF_LINEAR, .a = -1.0};
    assert_int_equal(als_implicit_weights(&bad, 1, r, w, coef), ALS_ERR_ARG);
}

/* Y'Y: equal to the direct sum, symmetric, and chunked accumulation in
 * ascending order gives the same bits as one pass. */
static void test_implicit_gram(void **state)
{
    (void)state;
    uint64_t seed = 4;
    enum { R_ = 37, KK = 6 };
    double Y[R_ * KK], G1[KK * KK], G2[KK * KK];
    fill(Y, R_ * KK, &seed);
    als_implicit_gram(KK, 0, R_, Y, G1, 0);
    for (int a = 0; a < KK; a++)
        for (int c = 0; c < KK; c++) {
            double d = 0.0;
            for (int t = 0; t < R_; t++)
                d += Y[t * KK + a] * Y[t * KK + c];
            assert_close(G1[a * KK + c], d, 1e-13, 1e-15);
            assert_true(G1[a * KK + c] == G1[c * KK + a]);
        }
    for (int x = 0; x < KK * KK; x++)
        G2[x] = NAN;
    als_implicit_gram(KK, 0, 10, Y, G2, 0);
    als_implicit_gram(KK, 10, 11, Y, G2, 1);
    als_implicit_gram(KK, 11, R_, Y, G2, 1);
    assert_memory_equal(G1, G2, sizeof G1);
}

/* The dense loss by hand on a 1×1 case: k = 1, u = 0.5, v = 2, r = 3,
 * linear A = 1: c = 4, p = 1, e = 1 - 1 = 0; second item r = 0: c = 1,
 * p = 0, v = -1: e = 0 - (-0.5) = 0.5, c e^2 = 0.25.
 * L = 1/2 (0 + 0.25) + 1/2 0.1 (0.25) + 1/2 0.2 (4 + 1) = 0.125 + 0.0125 + 0.5. */
static void test_implicit_loss_hand(void **state)
{
    (void)state;
    als_conf_t cf = {.scale = ALS_CONF_LINEAR, .a = 1.0};
    const double Rr[2] = {3.0, 0.0}, U1[1] = {0.5}, V1[2] = {2.0, -1.0};
    int bad = -1;
    double L = als_implicit_loss_dense(&cf, 1, 2, 1, Rr, NULL, U1, V1, 0.1, 0.2, 0.0, &bad);
    assert_close(L, 0.6375, 1e-15, 0);
    assert_int_equal(bad, 0);
    const double Rn[2] = {-1.0, 0.0};
    als_implicit_loss_dense(&cf, 1, 2, 1, Rn, NULL, U1, V1, 0.1, 0.2, 0.0, &bad);
    assert_int_equal(bad, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_implicit_normal_eq_linear),
        cmocka_unit_test(test_implicit_normal_eq_log),
        cmocka_unit_test(test_implicit_weights),
        cmocka_unit_test(test_implicit_gram),
        cmocka_unit_test(test_implicit_loss_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
