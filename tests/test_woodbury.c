/* test_woodbury.c - the n×n route for rows with fewer ratings than factors.
 *
 * Oracles: the k×k normal equation formed and solved by the BLAS/LAPACK
 * reference kernels (dsyrk + dposv), and the first-order condition
 * (Y'Y + c I) x = Y'r + s evaluated in long double. Rows repeat (the same
 * item twice), the social term is on or off, c spans 1e-3 to 30.
 */
#include "als_test.h"
#include "als_kernels.h"
#include "als_woodbury.h"

#include <float.h>
#include <string.h>

typedef struct {
    int k;
    int64_t n, xrows;
    double *X, *r, *s;
    int64_t *idx;
} prob;

static void make(prob *p, int k, int64_t n, uint64_t *seed)
{
    p->k = k, p->n = n, p->xrows = 5 + n;
    p->X = malloc(sizeof(double) * (size_t)(p->xrows * k));
    p->r = malloc(sizeof(double) * (size_t)(n + 1));
    p->s = malloc(sizeof(double) * (size_t)k);
    p->idx = malloc(sizeof(int64_t) * (size_t)(n + 1));
    assert_true(p->X && p->r && p->s && p->idx);
    for (int64_t i = 0; i < p->xrows * k; i++)
        p->X[i] = als_test_uniform(seed);
    for (int q = 0; q < k; q++)
        p->s[q] = 0.3 * als_test_uniform(seed);
    for (int64_t t = 0; t < n; t++) {
        p->idx[t] = (int64_t)(als_test_next(seed) % (uint64_t)p->xrows);
        p->r[t] = 1.0 + 4.0 * (0.5 + 0.5 * als_test_uniform(seed));
    }
    if (n >= 2)
        p->idx[1] = p->idx[0];
}

static void unmake(prob *p)
{
    free(p->X), free(p->r), free(p->s), free(p->idx);
}

/* The reference: A = Y'Y (dsyrk), b = Y'r (+ s), A + c I, dposv. */
static void dense(const prob *p, const double *s, double c, double *x)
{
    int k = p->k;
    double *A = malloc(sizeof(double) * (size_t)(k * k));
    double *ws = malloc(sizeof(double) * (size_t)als_gram_ws_size(k));
    assert_true(A && ws);
    als_gram_rhs_ref(k, p->n, p->idx, p->r, p->X, A, x, ws);
    for (int q = 0; q < k; q++) {
        A[q * k + q] += c;
        if (s)
            x[q] += s[q];
    }
    assert_int_equal(als_solve_spd_ref(k, A, x), 0);
    free(A), free(ws);
}

/* max_q |((Y'Y + c I) x - g)_q| / (|Y'Y| |x| + |g|), in long double. */
static double foc(const prob *p, const double *s, double c, const double *x)
{
    int k = p->k;
    long double worst = 0.0L;
    for (int q = 0; q < k; q++) {
        long double lhs = (long double)c * x[q], g = s ? s[q] : 0.0, scale = 0.0L;
        for (int64_t t = 0; t < p->n; t++) {
            const double *y = p->X + p->idx[t] * k;
            long double d = 0.0L;
            for (int j = 0; j < k; j++)
                d += (long double)y[j] * x[j];
            lhs += d * y[q];
            g += (long double)p->r[t] * y[q];
            scale += fabsl(d * y[q]) + fabsl((long double)p->r[t] * y[q]);
        }
        scale += fabsl((long double)c * x[q]) + (s ? fabsl((long double)s[q]) : 0.0L);
        long double e = fabsl(lhs - g) / (scale > 0 ? scale : 1.0L);
        if (e > worst)
            worst = e;
    }
    return (double)worst;
}

static void test_against_dense_and_foc(void **state)
{
    (void)state;
    const int ks[] = {1, 2, 3, 8, 13, 16, 33, 64};
    const double cs[] = {1e-3, 0.5, 30.0};
    uint64_t seed = 5;
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        int k = ks[ki];
        for (int64_t n = 1; n < k; n += (k > 16 ? 7 : 1)) {
            prob p;
            make(&p, k, n, &seed);
            double *ws = malloc(sizeof(double) * (size_t)als_woodbury_ws_size(k, n));
            double *x = malloc(sizeof(double) * (size_t)k), *xd = malloc(sizeof(double) * (size_t)k);
            assert_true(ws && x && xd);
            for (size_t ci = 0; ci < 3; ci++)
                for (int soc = 0; soc < 2; soc++) {
                    const double *s = soc ? p.s : NULL;
                    for (int64_t i = 0; i < als_woodbury_ws_size(k, n); i++)
                        ws[i] = NAN; /* garbage in the workspace must not matter */
                    assert_int_equal(als_woodbury_solve(k, n, p.idx, p.X, p.r, s, cs[ci], x, ws), 0);
                    dense(&p, s, cs[ci], xd);
                    double xmax = 0.0;
                    for (int q = 0; q < k; q++)
                        xmax = fmax(xmax, fabs(xd[q]));
                    for (int q = 0; q < k; q++)
                        assert_close(x[q], xd[q], 0.0, 1e-9 * xmax);
                    /* The route's residual grows with |Y|_F^2 / c (its
                     * last step divides a difference by c), the dense
                     * route's does not; both forward errors grow so. */
                    double fro = 0.0;
                    for (int64_t t = 0; t < n; t++)
                        fro += als_dot8(p.X + p.idx[t] * k, p.X + p.idx[t] * k, k);
                    double e = foc(&p, s, cs[ci], x), tol = 16.0 * DBL_EPSILON * (1.0 + fro / cs[ci]);
                    if (!(e <= tol))
                        fail_msg("k=%d n=%lld c=%g: first-order condition off by %g > %g", k,
                                 (long long)n, cs[ci], e, tol);
                }
            free(ws), free(x), free(xd), unmake(&p);
        }
    }
}

/* --bias rows: coordinates fix are constants, the others q unknown, the
 * unknown dq with its own diagonal d. Oracle: the reduced kr×kr system
 * formed term by term (sum over ratings of y_q y_q', Y_q'(r - Y_fix v) + s_q,
 * D) and solved by LAPACK (dposv), and its first-order condition in long
 * double; the constants land in x. */
static void test_fixed_against_reduced(void **state)
{
    (void)state;
    const int ks[] = {3, 8, 13, 67};
    uint64_t seed = 21;
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        const int k = ks[ki], nf = 2, kr = k - nf;
        const int fix[2] = {k - 2, 1}; /* not ascending: the order must not matter */
        const double fixval[2] = {1.0, 3.25};
        int q[67];
        for (int c = 0, a = 0; c < k; c++)
            if (c != fix[0] && c != fix[1])
                q[a++] = c;
        for (int64_t n = 1; n < kr; n += (kr > 16 ? 9 : 1)) {
            prob p;
            make(&p, k, n, &seed);
            const int64_t wsz = als_woodbury_fixed_ws_size(kr, n);
            double *ws = malloc(sizeof(double) * (size_t)wsz), x[67], A[65 * 65], g[65];
            assert_true(ws);
            const double dqs[] = {-1, 0, kr - 1}, ds[] = {0.02, 0.7, 9.0}, c = 0.7;
            for (int di = 0; di < 3; di++)
                for (int ei = 0; ei < 3; ei++)
                    for (int soc = 0; soc < 2; soc++) {
                        const int dq = (int)dqs[di];
                        const double d = ds[ei], *sv = soc ? p.s : NULL;
                        const als_wb_coords_t co = {kr, q, nf, fix, fixval, dq, d};
                        for (int64_t i = 0; i < wsz; i++)
                            ws[i] = NAN;
                        memset(x, 0, sizeof x);
                        assert_int_equal(als_woodbury_solve_fixed(k, n, p.idx, p.X, p.r, sv, &co,
                                                                  c, x, ws), 0);
                        assert_true(x[fix[0]] == fixval[0] && x[fix[1]] == fixval[1]);
                        /* the reduced system, term by term */
                        for (int a = 0; a < kr; a++) {
                            g[a] = sv ? sv[q[a]] : 0.0;
                            for (int b = 0; b < kr; b++)
                                A[a * kr + b] = a == b ? (a == dq ? d : c) : 0.0;
                        }
                        for (int64_t t = 0; t < n; t++) {
                            const double *y = p.X + p.idx[t] * k;
                            double rt = p.r[t] - y[fix[0]] * fixval[0] - y[fix[1]] * fixval[1];
                            for (int a = 0; a < kr; a++) {
                                g[a] += rt * y[q[a]];
                                for (int b = 0; b < kr; b++)
                                    A[a * kr + b] += y[q[a]] * y[q[b]];
                            }
                        }
                        double Ac[65 * 65], xd[65], xmax = 0.0;
                        memcpy(Ac, A, sizeof(double) * (size_t)(kr * kr));
                        memcpy(xd, g, sizeof(double) * (size_t)kr);
                        assert_int_equal(als_solve_spd_ref(kr, Ac, xd), 0);
                        for (int a = 0; a < kr; a++)
                            xmax = fmax(xmax, fabs(xd[a]));
                        for (int a = 0; a < kr; a++)
                            assert_close(x[q[a]], xd[a], 0.0, 1e-9 * xmax);
                        /* first-order condition of the reduced system */
                        double fro = 0.0, worst = 0.0;
                        for (int a = 0; a < kr * kr; a += kr + 1)
                            fro += A[a];
                        for (int a = 0; a < kr; a++) {
                            long double lhs = 0.0L, scale = fabs(g[a]);
                            for (int b = 0; b < kr; b++) {
                                lhs += (long double)A[a * kr + b] * x[q[b]];
                                scale += fabs(A[a * kr + b] * x[q[b]]);
                            }
                            worst = fmax(worst, (double)(fabsl(lhs - g[a]) / (scale > 0 ? scale : 1)));
                        }
                        double tol = 64.0 * DBL_EPSILON * (1.0 + fro / fmin(c, d));
                        if (!(worst <= tol))
                            fail_msg("k=%d n=%lld dq=%d d=%g: first-order condition off by %g > %g",
                                     k, (long long)n, dq, d, worst, tol);
                    }
            free(ws), unmake(&p);
        }
    }
}

/* Same inputs, same bits (whatever the workspace held). */
/* --implicit rows (als_woodbury_implicit_solve): against the k×k system
 * G + sum w_t y_t y_t' + c I formed term by term and solved by LAPACK
 * (dposv), G the full Gram of X; weights 0 (c_t = 1) among them; and the
 * first-order condition in long double. */
static void test_implicit_against_dense(void **state)
{
    (void)state;
    const int ks[] = {1, 3, 8, 13, 48, 64};
    const double cs[] = {1e-2, 1.0, 40.0};
    uint64_t seed = 11;
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        const int k = ks[ki];
        for (int64_t n = 0; n <= k; n += (k > 16 ? 9 : 1)) {
            prob p;
            make(&p, k, n, &seed);
            double *G = calloc((size_t)k * k, sizeof *G), *L = malloc(sizeof(double) * 2 * (size_t)k * k);
            double *A = malloc(sizeof(double) * (size_t)k * k), *b = malloc(sizeof(double) * (size_t)k);
            double *x = malloc(sizeof(double) * (size_t)k), *xd = malloc(sizeof(double) * (size_t)k);
            double *w = malloc(sizeof(double) * (size_t)(n + 1));
            double *ws = malloc(sizeof(double) * (size_t)als_woodbury_implicit_ws_size(k, n));
            assert_true(G && L && A && b && x && xd && w && ws);
            for (int64_t i = 0; i < p.xrows; i++)
                for (int a = 0; a < k; a++)
                    for (int c = 0; c < k; c++)
                        G[a * k + c] += p.X[i * k + a] * p.X[i * k + c];
            for (int64_t t = 0; t < n; t++)
                w[t] = t % 4 == 3 ? 0.0 : 0.5 * p.r[t];
            for (int q = 0; q < k; q++)
                b[q] = p.s[q] + 1.0;
            for (size_t ci = 0; ci < 3; ci++) {
                const double c = cs[ci];
                assert_int_equal(als_woodbury_implicit_factor(k, G, c, L), 0);
                for (int64_t i = 0; i < als_woodbury_implicit_ws_size(k, n); i++)
                    ws[i] = NAN;
                assert_int_equal(als_woodbury_implicit_solve(k, n, p.idx, p.X, w, b, L, x, ws), 0);
                for (int a = 0; a < k; a++) {
                    for (int q = 0; q < k; q++) {
                        double v = G[a * k + q] + (a == q ? c : 0.0);
                        for (int64_t t = 0; t < n; t++)
                            v += w[t] * p.X[p.idx[t] * k + a] * p.X[p.idx[t] * k + q];
                        A[a * k + q] = v;
                    }
                    xd[a] = b[a];
                }
                assert_int_equal(als_solve_spd_ref(k, A, xd), 0);
                double xmax = 0.0;
                for (int q = 0; q < k; q++)
                    xmax = fmax(xmax, fabs(xd[q]));
                for (int q = 0; q < k; q++)
                    assert_close(x[q], xd[q], 0.0, 1e-9 * xmax);
                /* (G + sum w y y' + c I) x = b in long double, relative to
                 * the terms' magnitudes. */
                for (int a = 0; a < k; a++) {
                    long double lhs = (long double)c * x[a], scale = fabsl(lhs) + fabs(b[a]);
                    for (int q = 0; q < k; q++) {
                        long double g = (long double)G[a * k + q] * x[q];
                        lhs += g;
                        scale += fabsl(g);
                    }
                    for (int64_t t = 0; t < n; t++) {
                        const double *y = p.X + p.idx[t] * k;
                        long double d = 0.0L;
                        for (int q = 0; q < k; q++)
                            d += (long double)y[q] * x[q];
                        lhs += (long double)w[t] * d * y[a];
                        scale += fabsl((long double)w[t] * d * y[a]);
                    }
                    double e = (double)(fabsl(lhs - b[a]) / scale);
                    if (!(e <= 1e-12))
                        fail_msg("k=%d n=%lld c=%g: first-order condition off by %g", k,
                                 (long long)n, c, e);
                }
            }
            /* A negative weight is refused; the factor refuses a non-SPD M. */
            if (n > 0) {
                w[0] = -1.0;
                assert_int_equal(als_woodbury_implicit_solve(k, n, p.idx, p.X, w, b, L, x, ws), -1);
            }
            for (int q = 0; q < k * k; q++)
                G[q] = 0.0;
            assert_int_not_equal(als_woodbury_implicit_factor(k, G, -1.0, L), 0);
            free(G), free(L), free(A), free(b), free(x), free(xd), free(w), free(ws);
            unmake(&p);
        }
    }
    assert_false(als_woodbury_implicit_pays(32, 4));
    assert_true(als_woodbury_implicit_pays(64, 4));
    assert_false(als_woodbury_implicit_pays(64, 0));
    assert_false(als_woodbury_implicit_pays(64, 64));
}

static void test_deterministic(void **state)
{
    (void)state;
    uint64_t seed = 9;
    prob p;
    make(&p, 64, 20, &seed);
    double *ws = malloc(sizeof(double) * (size_t)als_woodbury_ws_size(64, 20));
    double x1[64], x2[64];
    memset(ws, 0, sizeof(double) * (size_t)als_woodbury_ws_size(64, 20));
    assert_int_equal(als_woodbury_solve(64, 20, p.idx, p.X, p.r, p.s, 1.7, x1, ws), 0);
    for (int64_t i = 0; i < als_woodbury_ws_size(64, 20); i++)
        ws[i] = -1e300;
    assert_int_equal(als_woodbury_solve(64, 20, p.idx, p.X, p.r, p.s, 1.7, x2, ws), 0);
    assert_memory_equal(x1, x2, sizeof x1);
    free(ws), unmake(&p);
}

/* NaN in a rating: -1, not a garbage solution. */
static void test_nonfinite(void **state)
{
    (void)state;
    uint64_t seed = 3;
    prob p;
    make(&p, 16, 5, &seed);
    p.r[2] = NAN;
    double *ws = malloc(sizeof(double) * (size_t)als_woodbury_ws_size(16, 5)), x[16];
    assert_int_equal(als_woodbury_solve(16, 5, p.idx, p.X, p.r, NULL, 0.5, x, ws), -1);
    free(ws), unmake(&p);
}

/* The crossover and the flop count: never for n >= k, n = 0 or k < 48; at k = 64
 * for 20 ratings (38,027 flops against 181,333), up to 32, not for 33 or 36
 * (the measured crossover of the .c file). */
static void test_pays_and_flops(void **state)
{
    (void)state;
    assert_false(als_woodbury_pays(64, 0));
    assert_false(als_woodbury_pays(64, 64));
    assert_false(als_woodbury_pays(64, 100));
    assert_false(als_woodbury_pays(1, 1));
    assert_false(als_woodbury_pays(32, 5)); /* below k = 48: never */
    assert_true(als_woodbury_pays(48, 10));
    assert_true(als_woodbury_pays(64, 20));
    assert_false(als_woodbury_pays(64, 36)); /* measured slower at 36 */
    assert_true(als_woodbury_pays(64, 32));
    assert_false(als_woodbury_pays(64, 33));
    assert_close(als_woodbury_flops(64, 20), 20.0 * 21 * 64 + 6.0 * 20 * 64 + 8000.0 / 3 + 800,
                 1e-15, 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_dense_and_foc),
        cmocka_unit_test(test_fixed_against_reduced),
        cmocka_unit_test(test_implicit_against_dense),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_pays_and_flops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
