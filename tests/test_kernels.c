/* test_kernels.c - unit tests of the per-row ALS kernels (als_kernels.h). */
#include <stdlib.h>
#include <string.h>

#include "als_kernels.h"
#include "als_test.h"

static const int KS[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128};
static const int64_t NS[] = {0, 1, 2, 3, 17, 300, 1000};
#define NKS ((int)(sizeof KS / sizeof KS[0]))
#define NNS ((int)(sizeof NS / sizeof NS[0]))

static const char *ALL_ISAS[] = {"avx512", "avx2", "generic"};
#define CANARY 12345.678 /* written past the ends of the output buffers */
#define NCANARY 16

/* The ISAs this CPU supports (als_kernel_set_isa succeeds), in *out. */
static int supported_isas(const char **out)
{
    const char *def = als_kernel_isa();
    int n = 0;
    for (int i = 0; i < 3; i++)
        if (als_kernel_set_isa(ALL_ISAS[i]) == 0)
            out[n++] = ALL_ISAS[i];
    assert_int_equal(als_kernel_set_isa(def), 0);
    return n;
}

/* A row problem: X (xrows×k), idx (with repeats: xrows < n for large n), r. */
typedef struct {
    int k;
    int64_t n, xrows;
    double *X, *r;
    int64_t *idx;
} problem;

static void make_problem(problem *p, int k, int64_t n, uint64_t *seed)
{
    p->k = k;
    p->n = n;
    p->xrows = 7 + n / 3; /* fewer rows than ratings: indices repeat */
    p->X = malloc(sizeof(double) * (size_t)(p->xrows * k));
    p->r = malloc(sizeof(double) * (size_t)(n + 1));
    p->idx = malloc(sizeof(int64_t) * (size_t)(n + 1));
    assert_non_null(p->X);
    assert_non_null(p->r);
    assert_non_null(p->idx);
    for (int64_t i = 0; i < p->xrows * k; i++)
        p->X[i] = als_test_uniform(seed);
    for (int64_t t = 0; t < n; t++) {
        p->idx[t] = (int64_t)(als_test_next(seed) % (uint64_t)p->xrows);
        p->r[t] = 3.0 * als_test_uniform(seed);
    }
    if (n >= 2)
        p->idx[1] = p->idx[0]; /* at least one explicit repeat */
}

static void free_problem(problem *p)
{
    free(p->X), free(p->r), free(p->idx);
}

/* Output buffers with canaries after A, b and ws (ws offset by one double
 * so that it is not 64-byte aligned). */
typedef struct {
    double *A, *b, *wsbuf, *ws;
    int64_t wsn;
    int k;
} outbuf;

static void out_alloc(outbuf *o, int k, double fill)
{
    o->k = k;
    o->wsn = als_gram_ws_size(k);
    o->A = malloc(sizeof(double) * (size_t)(k * k + NCANARY));
    o->b = malloc(sizeof(double) * (size_t)(k + NCANARY));
    o->wsbuf = malloc(sizeof(double) * (size_t)(o->wsn + 1 + NCANARY));
    assert_non_null(o->A);
    assert_non_null(o->b);
    assert_non_null(o->wsbuf);
    o->ws = o->wsbuf + 1;
    for (int i = 0; i < k * k; i++)
        o->A[i] = fill;
    for (int i = 0; i < k; i++)
        o->b[i] = fill;
    for (int64_t i = 0; i < o->wsn; i++)
        o->ws[i] = fill;
    for (int i = 0; i < NCANARY; i++)
        o->A[k * k + i] = o->b[k + i] = o->ws[o->wsn + i] = CANARY;
    o->wsbuf[0] = CANARY;
}

/* Fail if anything was written past A, b or ws (or before ws). */
static void out_check_canaries(const outbuf *o)
{
    for (int i = 0; i < NCANARY; i++) {
        assert_true(o->A[o->k * o->k + i] == CANARY);
        assert_true(o->b[o->k + i] == CANARY);
        assert_true(o->ws[o->wsn + i] == CANARY);
    }
    assert_true(o->wsbuf[0] == CANARY);
}

static void out_free(outbuf *o)
{
    free(o->A), free(o->b), free(o->wsbuf);
}

/* Naive gram/rhs and the error scales S[p][q] = sum_t |x_tp x_tq|,
 * sb[q] = sum_t |r_t x_tq| (upper triangle of the k×k arrays). */
static void naive_gram(const problem *p, double *A, double *b, double *S, double *sb)
{
    int k = p->k;
    for (int i = 0; i < k * k; i++)
        A[i] = S[i] = 0.0;
    for (int i = 0; i < k; i++)
        b[i] = sb[i] = 0.0;
    for (int64_t t = 0; t < p->n; t++) {
        const double *x = p->X + p->idx[t] * k;
        for (int i = 0; i < k; i++) {
            for (int j = i; j < k; j++) {
                A[i * k + j] += x[i] * x[j];
                S[i * k + j] += fabs(x[i] * x[j]);
            }
            b[i] += p->r[t] * x[i];
            sb[i] += fabs(p->r[t] * x[i]);
        }
    }
}

/* Compare the upper triangles of A1 and A2 and all of b1, b2 within rtol of
 * the error scales S, sb (plus a tiny absolute term). */
static void compare_gram(int k, const double *A1, const double *A2, const double *b1,
                         const double *b2, const double *S, const double *sb, double rtol)
{
    for (int i = 0; i < k; i++) {
        for (int j = i; j < k; j++)
            assert_close(A1[i * k + j], A2[i * k + j], 0.0, rtol * S[i * k + j] + 1e-300);
        assert_close(b1[i], b2[i], 0.0, rtol * sb[i] + 1e-300);
    }
}

/* Fast (every supported ISA) vs ref vs naive for all k and n; canaries
 * guard against writes outside A, b and ws. */
static void test_gram_fast_vs_ref_all_isas(void **state)
{
    (void)state;
    const char *isas[3];
    int nisa = supported_isas(isas);
    const char *def = als_kernel_isa();
    uint64_t seed = 42;
    for (int ki = 0; ki < NKS; ki++) {
        for (int ni = 0; ni < NNS; ni++) {
            int k = KS[ki];
            problem p;
            make_problem(&p, k, NS[ni], &seed);
            double *An = malloc(sizeof(double) * (size_t)(k * k));
            double *S = malloc(sizeof(double) * (size_t)(k * k));
            double *bn = malloc(sizeof(double) * (size_t)k), *sb = malloc(sizeof(double) * (size_t)k);
            naive_gram(&p, An, bn, S, sb);
            outbuf ref;
            out_alloc(&ref, k, NAN);
            als_gram_rhs_ref(k, p.n, p.idx, p.r, p.X, ref.A, ref.b, ref.ws);
            out_check_canaries(&ref);
            compare_gram(k, ref.A, An, ref.b, bn, S, sb, 1e-12);
            for (int s = 0; s < nisa; s++) {
                assert_int_equal(als_kernel_set_isa(isas[s]), 0);
                assert_string_equal(als_kernel_isa(), isas[s]);
                outbuf f, g;
                out_alloc(&f, k, NAN);
                als_gram_rhs_fast(k, p.n, p.idx, p.r, p.X, f.A, f.b, f.ws, 0);
                out_check_canaries(&f);
                compare_gram(k, f.A, ref.A, f.b, ref.b, S, sb, 1e-12);
                /* Rows read in place (AVX-512 with k % 8 == 0; elsewhere
                 * the call gathers as before): the same sums in the same
                 * order, so bitwise the gathered result. */
                out_alloc(&g, k, -3.0);
                als_gram_rhs_fast(k, p.n, p.idx, p.r, p.X, g.A, g.b, g.ws, 1);
                out_check_canaries(&g);
                for (int i = 0; i < k; i++)
                    assert_memory_equal(g.A + i * k + i, f.A + i * k + i,
                                        sizeof(double) * (size_t)(k - i));
                assert_memory_equal(g.b, f.b, sizeof(double) * (size_t)k);
                out_free(&g);
                out_free(&f);
            }
            assert_int_equal(als_kernel_set_isa(def), 0);
            out_free(&ref);
            free(An), free(S), free(bn), free(sb), free_problem(&p);
        }
    }
}

/* The fast gram of a tiny hand-made case against exact values. */
static void test_gram_exact_small(void **state)
{
    (void)state;
    /* X rows: (1,2,3), (0,1,-1); ratings: row 0 twice (r=1, 2), row 1 (r=3). */
    const double X[] = {1, 2, 3, 0, 1, -1};
    const int64_t idx[] = {0, 1, 0};
    const double r[] = {1, 3, 2};
    const double Aexp[] = {2, 4, 6, 0, 9, 11, 0, 0, 19};
    const double bexp[] = {3, 9, 6};
    const char *isas[3];
    int nisa = supported_isas(isas);
    const char *def = als_kernel_isa();
    for (int s = 0; s < nisa; s++) {
        assert_int_equal(als_kernel_set_isa(isas[s]), 0);
        outbuf f;
        out_alloc(&f, 3, -7.0);
        als_gram_rhs(ALS_KERNEL_FAST, 3, 3, idx, r, X, f.A, f.b, f.ws, s & 1);
        for (int i = 0; i < 3; i++) {
            for (int j = i; j < 3; j++)
                assert_true(f.A[i * 3 + j] == Aexp[i * 3 + j]);
            assert_true(f.b[i] == bexp[i]);
        }
        out_check_canaries(&f);
        out_free(&f);
    }
    assert_int_equal(als_kernel_set_isa(def), 0);
}

/* n == 0 gives exact zeros in the upper triangle and b (over garbage). */
static void test_gram_n0_zero(void **state)
{
    (void)state;
    const char *isas[3];
    int nisa = supported_isas(isas);
    const char *def = als_kernel_isa();
    double X[128];
    for (int i = 0; i < 128; i++)
        X[i] = 1.0;
    for (int ki = 0; ki < NKS; ki++) {
        int k = KS[ki];
        for (int v = -1; v < nisa; v++) {
            if (v >= 0)
                assert_int_equal(als_kernel_set_isa(isas[v]), 0);
            outbuf o;
            out_alloc(&o, k, NAN);
            als_gram_rhs(v < 0 ? ALS_KERNEL_REF : ALS_KERNEL_FAST, k, 0, NULL, NULL, X, o.A, o.b,
                         o.ws, 1);
            for (int i = 0; i < k; i++) {
                for (int j = i; j < k; j++)
                    assert_true(o.A[i * k + j] == 0.0 && !signbit(o.A[i * k + j]));
                assert_true(o.b[i] == 0.0);
            }
            out_check_canaries(&o);
            out_free(&o);
        }
    }
    assert_int_equal(als_kernel_set_isa(def), 0);
}

/* Calling fast twice (with different ws garbage; gathered, then in place)
 * gives bitwise identical A and b, for every ISA. */
static void test_gram_deterministic(void **state)
{
    (void)state;
    const char *isas[3];
    int nisa = supported_isas(isas);
    const char *def = als_kernel_isa();
    uint64_t seed = 7;
    const int ks[] = {17, 64, 100, 128};
    for (int ki = 0; ki < 4; ki++) {
        int k = ks[ki];
        problem p;
        make_problem(&p, k, 1000, &seed);
        for (int s = 0; s < nisa; s++) {
            assert_int_equal(als_kernel_set_isa(isas[s]), 0);
            outbuf o1, o2;
            out_alloc(&o1, k, 0.0);
            out_alloc(&o2, k, NAN);
            als_gram_rhs_fast(k, p.n, p.idx, p.r, p.X, o1.A, o1.b, o1.ws, 0);
            als_gram_rhs_fast(k, p.n, p.idx, p.r, p.X, o2.A, o2.b, o2.ws, 1);
            for (int i = 0; i < k; i++) {
                assert_memory_equal(o1.A + i * k + i, o2.A + i * k + i, sizeof(double) * (size_t)(k - i));
            }
            assert_memory_equal(o1.b, o2.b, sizeof(double) * (size_t)k);
            out_free(&o1), out_free(&o2);
        }
        free_problem(&p);
    }
    assert_int_equal(als_kernel_set_isa(def), 0);
}

/* A random SPD matrix (full storage, symmetric): M^T M / k + 0.5 I, and a
 * random b. Its condition number is modest. */
static void random_spd(int k, double *A, double *b, uint64_t *seed)
{
    double *M = malloc(sizeof(double) * (size_t)(k * k));
    assert_non_null(M);
    for (int i = 0; i < k * k; i++)
        M[i] = als_test_uniform(seed);
    for (int i = 0; i < k; i++) {
        for (int j = 0; j < k; j++) {
            double s = 0.0;
            for (int t = 0; t < k; t++)
                s += M[t * k + i] * M[t * k + j];
            A[i * k + j] = s / k + (i == j ? 0.5 : 0.0);
        }
        b[i] = als_test_uniform(seed);
    }
    free(M);
}

/* ||A x - b||_inf / (||A||_inf ||x||_inf) with A full symmetric. */
static double rel_residual(int k, const double *A, const double *x, const double *b)
{
    double rmax = 0.0, anorm = 0.0, xmax = 0.0;
    for (int i = 0; i < k; i++) {
        double s = -b[i], row = 0.0;
        for (int j = 0; j < k; j++) {
            s += A[i * k + j] * x[j];
            row += fabs(A[i * k + j]);
        }
        rmax = fmax(rmax, fabs(s));
        anorm = fmax(anorm, row);
        xmax = fmax(xmax, fabs(x[i]));
    }
    return rmax / (anorm * xmax);
}

typedef int (*solve_fn)(int, double *, double *);

/* Solve a copy of (A, b) with fn; x returned in x. The strict lower
 * triangle of the copy is filled with NaN (it must not be read). */
static int solve_copy(solve_fn fn, int k, const double *A, const double *b, double *x)
{
    double *W = malloc(sizeof(double) * (size_t)(k * k + NCANARY));
    assert_non_null(W);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            W[i * k + j] = j >= i ? A[i * k + j] : NAN;
    for (int i = 0; i < NCANARY; i++)
        W[k * k + i] = CANARY;
    memcpy(x, b, sizeof(double) * (size_t)k);
    int info = fn(k, W, x);
    for (int i = 0; i < NCANARY; i++)
        assert_true(W[k * k + i] == CANARY);
    free(W);
    return info;
}

/* Residual < 1e-13 for ref and fast (every ISA) on random SPD systems of
 * each k, and fast agrees with ref. */
static void test_solve_residual(void **state)
{
    (void)state;
    const char *isas[3];
    int nisa = supported_isas(isas);
    const char *def = als_kernel_isa();
    uint64_t seed = 99;
    for (int ki = 0; ki < NKS; ki++) {
        int k = KS[ki];
        double *A = malloc(sizeof(double) * (size_t)(k * k));
        double *b = malloc(sizeof(double) * (size_t)(k + NCANARY));
        double *xr = malloc(sizeof(double) * (size_t)k), *xf = malloc(sizeof(double) * (size_t)k);
        random_spd(k, A, b, &seed);
        assert_int_equal(solve_copy(als_solve_spd_ref, k, A, b, xr), 0);
        assert_true(rel_residual(k, A, xr, b) < 1e-13);
        for (int s = 0; s < nisa; s++) {
            assert_int_equal(als_kernel_set_isa(isas[s]), 0);
            assert_int_equal(solve_copy(als_solve_spd_fast, k, A, b, xf), 0);
            double res = rel_residual(k, A, xf, b);
            if (!(res < 1e-13))
                fail_msg("k=%d isa=%s residual %.3g", k, isas[s], res);
            double xmax = 0.0;
            for (int i = 0; i < k; i++)
                xmax = fmax(xmax, fabs(xr[i]));
            for (int i = 0; i < k; i++)
                assert_close(xf[i], xr[i], 0.0, 1e-11 * xmax);
        }
        assert_int_equal(als_kernel_set_isa(def), 0);
        free(A), free(b), free(xr), free(xf);
    }
}

/* The solve writes the Cholesky factor: U^T U reproduces A (fast). */
static void test_solve_factor(void **state)
{
    (void)state;
    uint64_t seed = 5;
    const int ks[] = {1, 9, 33, 64, 100};
    for (int ki = 0; ki < 5; ki++) {
        int k = ks[ki];
        double *A = malloc(sizeof(double) * (size_t)(k * k)), *U = malloc(sizeof(double) * (size_t)(k * k));
        double *b = malloc(sizeof(double) * (size_t)k);
        random_spd(k, A, b, &seed);
        memcpy(U, A, sizeof(double) * (size_t)(k * k));
        assert_int_equal(als_solve_spd_fast(k, U, b), 0);
        for (int i = 0; i < k; i++)
            for (int j = i; j < k; j++) {
                double s = 0.0;
                for (int t = 0; t <= i; t++)
                    s += U[t * k + i] * U[t * k + j];
                assert_close(s, A[i * k + j], 0.0, 1e-13 * k);
            }
        free(A), free(U), free(b);
    }
}

/* A = U^T D U with unit upper U and D = I except D[j][j] = -1: the leading
 * minors of order <= j are PD, order j+1 is not; info must be j+1 for ref
 * and for fast on every ISA. */
static void test_solve_not_pd(void **state)
{
    (void)state;
    const char *isas[3];
    int nisa = supported_isas(isas);
    const char *def = als_kernel_isa();
    uint64_t seed = 11;
    const int ks[] = {1, 2, 5, 8, 17, 33, 64, 65, 100, 128};
    for (int ki = 0; ki < 10; ki++) {
        int k = ks[ki];
        const int js[] = {0, k / 2, k - 1};
        for (int ji = 0; ji < 3; ji++) {
            int jbad = js[ji];
            double *U = calloc((size_t)(k * k), sizeof(double)), *A = malloc(sizeof(double) * (size_t)(k * k));
            double *b = malloc(sizeof(double) * (size_t)k), *x = malloc(sizeof(double) * (size_t)k);
            for (int i = 0; i < k; i++) {
                U[i * k + i] = 1.0;
                for (int j = i + 1; j < k; j++)
                    U[i * k + j] = 0.3 * als_test_uniform(&seed);
                b[i] = 1.0;
            }
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    double s = 0.0;
                    for (int t = 0; t <= (i < j ? i : j); t++)
                        s += U[t * k + i] * U[t * k + j] * (t == jbad ? -1.0 : 1.0);
                    A[i * k + j] = s;
                }
            assert_int_equal(solve_copy(als_solve_spd_ref, k, A, b, x), jbad + 1);
            for (int s = 0; s < nisa; s++) {
                assert_int_equal(als_kernel_set_isa(isas[s]), 0);
                int info = solve_copy(als_solve_spd_fast, k, A, b, x);
                if (info != jbad + 1)
                    fail_msg("k=%d isa=%s: info %d, expected %d", k, isas[s], info, jbad + 1);
            }
            assert_int_equal(als_kernel_set_isa(def), 0);
            free(U), free(A), free(b), free(x);
        }
    }
}

/* NaN or Inf in the upper triangle of A (or in b) gives -1 for ref and fast;
 * NaN in the strict lower triangle is ignored. */
static void test_solve_nonfinite(void **state)
{
    (void)state;
    const char *isas[3];
    int nisa = supported_isas(isas);
    const char *def = als_kernel_isa();
    uint64_t seed = 3;
    const int k = 20;
    double A[400], b[20], x[20];
    random_spd(k, A, b, &seed);
    const double bad[] = {NAN, INFINITY, -INFINITY};
    const int where[][2] = {{0, 0}, {3, 17}, {19, 19}, {0, 19}};
    for (int v = -1; v < nisa; v++) {
        if (v >= 0)
            assert_int_equal(als_kernel_set_isa(isas[v]), 0);
        solve_fn fn = v < 0 ? als_solve_spd_ref : als_solve_spd_fast;
        for (int bi = 0; bi < 3; bi++) {
            for (int w = 0; w < 4; w++) {
                double save = A[where[w][0] * k + where[w][1]];
                A[where[w][0] * k + where[w][1]] = bad[bi];
                assert_int_equal(solve_copy(fn, k, A, b, x), -1);
                A[where[w][0] * k + where[w][1]] = save;
            }
            double sb = b[7];
            b[7] = bad[bi];
            assert_int_equal(solve_copy(fn, k, A, b, x), -1);
            b[7] = sb;
        }
        /* solve_copy puts NaN in the strict lower triangle: still solved. */
        assert_int_equal(solve_copy(fn, k, A, b, x), 0);
        for (int i = 0; i < k; i++)
            assert_true(isfinite(x[i]));
    }
    assert_int_equal(als_kernel_set_isa(def), 0);
}

/* The fast solve twice on the same input is bitwise identical; the
 * dispatchers route to the right kernels. */
static void test_solve_deterministic_and_dispatch(void **state)
{
    (void)state;
    uint64_t seed = 8;
    const int k = 64;
    double *A = malloc(sizeof(double) * k * k), *b = malloc(sizeof(double) * k);
    double *x1 = malloc(sizeof(double) * k), *x2 = malloc(sizeof(double) * k);
    random_spd(k, A, b, &seed);
    assert_int_equal(solve_copy(als_solve_spd_fast, k, A, b, x1), 0);
    assert_int_equal(solve_copy(als_solve_spd_fast, k, A, b, x2), 0);
    assert_memory_equal(x1, x2, sizeof(double) * k);
    double *W = malloc(sizeof(double) * k * k);
    memcpy(W, A, sizeof(double) * k * k);
    memcpy(x2, b, sizeof(double) * k);
    assert_int_equal(als_solve_spd(ALS_KERNEL_FAST, k, W, x2), 0);
    assert_memory_equal(x1, x2, sizeof(double) * k);
    assert_int_equal(solve_copy(als_solve_spd_ref, k, A, b, x1), 0);
    memcpy(W, A, sizeof(double) * k * k);
    memcpy(x2, b, sizeof(double) * k);
    assert_int_equal(als_solve_spd(ALS_KERNEL_REF, k, W, x2), 0);
    assert_memory_equal(x1, x2, sizeof(double) * k);
    free(A), free(b), free(x1), free(x2), free(W);
}

/* ISA selection API: the default is the best the CPU has, unknown names
 * are refused, and the workspace size covers the ref kernel's block. */
static void test_isa_api_and_ws(void **state)
{
    (void)state;
    const char *def = als_kernel_isa();
    assert_true(strcmp(def, "avx512") == 0 || strcmp(def, "avx2") == 0 ||
                strcmp(def, "generic") == 0);
    const char *isas[3];
    int nisa = supported_isas(isas);
    assert_true(nisa >= 1);
    assert_string_equal(isas[0], def); /* the best supported one */
    assert_int_equal(als_kernel_set_isa("sse9"), -1);
    assert_int_equal(als_kernel_set_isa(NULL), -1);
    assert_string_equal(als_kernel_isa(), def);
    assert_int_equal(als_kernel_set_isa("generic"), 0);
    assert_string_equal(als_kernel_isa(), "generic");
    assert_int_equal(als_kernel_set_isa(def), 0);
    for (int k = 1; k <= 256; k++)
        assert_true(als_gram_ws_size(k) >= (int64_t)ALS_REF_BLOCK * k);
}

/* nb systems of order k for the batch tests: system s is the Gram matrix
 * of n_s = s % 4 (0, 1, 2 or 3) random rows plus lambda I (rows with 0 and 1
 * rating included), or every third one a dense random SPD matrix; the
 * strict lower triangle holds NaN (must not be read). */
typedef struct {
    int k, nb;
    double *A, *b; /* nb × k×k, nb × k */
} sysset;

static void sysset_make(sysset *S, int k, int nb, uint64_t *seed)
{
    S->k = k, S->nb = nb;
    S->A = malloc(sizeof(double) * (size_t)(nb * k * k + 1));
    S->b = malloc(sizeof(double) * (size_t)(nb * k + 1));
    assert_non_null(S->A);
    assert_non_null(S->b);
    double *x = malloc(sizeof(double) * (size_t)k);
    for (int s = 0; s < nb; s++) {
        double *A = S->A + (size_t)s * k * k, *b = S->b + (size_t)s * k;
        if (s % 3 == 2) {
            random_spd(k, A, b, seed);
        } else {
            int n = s % 4;
            for (int i = 0; i < k * k; i++)
                A[i] = 0.0;
            for (int i = 0; i < k; i++)
                b[i] = 0.0;
            for (int t = 0; t < n; t++) {
                double r = 3.0 * als_test_uniform(seed);
                for (int i = 0; i < k; i++)
                    x[i] = als_test_uniform(seed);
                for (int i = 0; i < k; i++) {
                    for (int j = i; j < k; j++)
                        A[i * k + j] += x[i] * x[j];
                    b[i] += r * x[i];
                }
            }
            for (int i = 0; i < k; i++)
                A[i * k + i] += 0.1 * (n > 0 ? n : 1);
            if (n == 0) /* a zero rhs would make a trivial solution */
                for (int i = 0; i < k; i++)
                    b[i] = als_test_uniform(seed);
        }
        for (int i = 0; i < k; i++)
            for (int j = 0; j < i; j++)
                A[i * k + j] = NAN;
    }
    free(x);
}

static void sysset_free(sysset *S)
{
    free(S->A), free(S->b);
}

/* Batch-solve the systems of S in the order perm (perm[j] = system at
 * position j) with kern; solutions in X (nb × k, by system), info by
 * system; the A[s] are checked unchanged and ws's canaries intact. */
static int batch_solve(const sysset *S, als_kernel_t kern, const int *perm, double *X, int *info)
{
    int k = S->k, nb = S->nb;
    const double **Ap = malloc(sizeof(double *) * (size_t)(nb + 1));
    double **bp = malloc(sizeof(double *) * (size_t)(nb + 1));
    int *ip = malloc(sizeof(int) * (size_t)(nb + 1));
    double *Acopy = malloc(sizeof(double) * (size_t)(nb * k * k + 1));
    int64_t wsn = als_solve_batch_ws_size(k);
    double *wsbuf = malloc(sizeof(double) * (size_t)(wsn + 1 + NCANARY));
    assert_true(Ap && bp && ip && Acopy && wsbuf);
    memcpy(Acopy, S->A, sizeof(double) * (size_t)(nb * k * k));
    double *ws = wsbuf + 1; /* not 64-byte aligned */
    for (int64_t i = 0; i < wsn; i++)
        ws[i] = NAN;
    for (int i = 0; i < NCANARY; i++)
        ws[wsn + i] = CANARY;
    for (int j = 0; j < nb; j++) {
        int s = perm[j];
        Ap[j] = S->A + (size_t)s * k * k;
        bp[j] = X + (size_t)s * k;
        memcpy(bp[j], S->b + (size_t)s * k, sizeof(double) * (size_t)k);
        ip[j] = 12345;
    }
    int nbad = als_solve_spd_batch(kern, k, nb, Ap, bp, ip, ws);
    int count = 0;
    for (int j = 0; j < nb; j++) {
        info[perm[j]] = ip[j];
        count += ip[j] != 0;
    }
    assert_int_equal(nbad, count);
    for (int i = 0; i < NCANARY; i++)
        assert_true(ws[wsn + i] == CANARY);
    assert_memory_equal(Acopy, S->A, sizeof(double) * (size_t)(nb * k * k)); /* A read only */
    free(Ap), free(bp), free(ip), free(Acopy), free(wsbuf);
    return nbad;
}

/* Batched solve vs the single-system solve: for every ISA, odd and even k
 * (1 .. 100, and one k past the compact limit), batch sizes that are and
 * are not multiples of the lane count, in two different orders (so each
 * system sits in other lanes and groups): bitwise equal to
 * als_solve_spd_fast on the same system; ref batch bitwise equal to
 * als_solve_spd_ref; fast and ref agree to rounding. */
static void test_batch_matches_single(void **state)
{
    (void)state;
    const char *isas[3];
    int nisa = supported_isas(isas);
    const char *def = als_kernel_isa();
    uint64_t seed = 2024;
    const int ks[] = {1, 2, 3, 4, 5, 7, 8, 9, 10, 13, 16, 17, 31, 32, 33, 63, 64, 65, 100, 260};
    const int nbs[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17};
    for (int ki = 0; ki < (int)(sizeof ks / sizeof ks[0]); ki++) {
        int k = ks[ki];
        for (int ni = 0; ni < (int)(sizeof nbs / sizeof nbs[0]); ni++) {
            int nb = nbs[ni];
            if (k > 100 && nb > 3)
                continue;
            sysset S;
            sysset_make(&S, k, nb, &seed);
            int *perm = malloc(sizeof(int) * (size_t)nb), *rev = malloc(sizeof(int) * (size_t)nb);
            int *info = malloc(sizeof(int) * (size_t)nb);
            double *X1 = malloc(sizeof(double) * (size_t)(nb * k)), *X2 = malloc(sizeof(double) * (size_t)(nb * k));
            double *xs = malloc(sizeof(double) * (size_t)k), *xr = malloc(sizeof(double) * (size_t)k);
            for (int j = 0; j < nb; j++)
                perm[j] = j, rev[j] = (j * 5 + 3) % nb == j && nb > 1 ? nb - 1 - j : (j * 5 + 3) % nb;
            /* rev must be a permutation: fall back to reversal if not */
            {
                int *seen = calloc((size_t)nb, sizeof(int)), okp = 1;
                for (int j = 0; j < nb; j++)
                    okp &= !seen[rev[j]]++;
                if (!okp)
                    for (int j = 0; j < nb; j++)
                        rev[j] = nb - 1 - j;
                free(seen);
            }
            /* ref */
            assert_int_equal(batch_solve(&S, ALS_KERNEL_REF, perm, X1, info), 0);
            double *Xref = malloc(sizeof(double) * (size_t)(nb * k));
            memcpy(Xref, X1, sizeof(double) * (size_t)(nb * k));
            for (int s = 0; s < nb; s++) {
                assert_int_equal(solve_copy(als_solve_spd_ref, k, S.A + (size_t)s * k * k,
                                            S.b + (size_t)s * k, xr), 0);
                assert_memory_equal(xr, Xref + (size_t)s * k, sizeof(double) * (size_t)k);
            }
            for (int v = 0; v < nisa; v++) {
                assert_int_equal(als_kernel_set_isa(isas[v]), 0);
                assert_int_equal(batch_solve(&S, ALS_KERNEL_FAST, perm, X1, info), 0);
                assert_int_equal(batch_solve(&S, ALS_KERNEL_FAST, rev, X2, info), 0);
                for (int s = 0; s < nb; s++) {
                    assert_int_equal(solve_copy(als_solve_spd_fast, k, S.A + (size_t)s * k * k,
                                                S.b + (size_t)s * k, xs), 0);
                    if (memcmp(xs, X1 + (size_t)s * k, sizeof(double) * (size_t)k) != 0 ||
                        memcmp(xs, X2 + (size_t)s * k, sizeof(double) * (size_t)k) != 0)
                        fail_msg("isa %s k=%d nb=%d system %d: batch differs from single solve",
                                 isas[v], k, nb, s);
                    const double *x = Xref + (size_t)s * k;
                    double xmax = 0.0;
                    for (int i = 0; i < k; i++)
                        xmax = fmax(xmax, fabs(x[i]));
                    for (int i = 0; i < k; i++)
                        assert_close(xs[i], x[i], 1e-9, 1e-10 * xmax);
                }
            }
            assert_int_equal(als_kernel_set_isa(def), 0);
            free(perm), free(rev), free(info), free(X1), free(X2), free(xs), free(xr), free(Xref);
            sysset_free(&S);
        }
    }
}

/* Per-system info in a batch: non-SPD systems (failing minor at 1, k/2+1, k),
 * NaN or Inf in A's upper triangle or in b (-1), NaN only in the strict lower
 * triangle (ignored), mixed with good systems; the info values equal the
 * single-system ones for ref and every ISA, failed systems' b are left
 * unchanged and the good ones are solved exactly as alone. */
static void test_batch_info(void **state)
{
    (void)state;
    const char *isas[3];
    int nisa = supported_isas(isas);
    const char *def = als_kernel_isa();
    uint64_t seed = 77;
    const int ks[] = {1, 3, 8, 17, 64};
    for (int ki = 0; ki < 5; ki++) {
        int k = ks[ki], nb = 11;
        sysset S;
        sysset_make(&S, k, nb, &seed);
        /* system 1: not PD at minor jbad+1 (A_jj made negative after the
         * update: a large negative diagonal entry). */
        int jb[3] = {0, k / 2, k - 1};
        for (int c = 0; c < 3; c++) {
            double *A = S.A + (size_t)(1 + 3 * c) * k * k;
            A[jb[c] * k + jb[c]] = -1.0 - fabs(A[jb[c] * k + jb[c]]);
        }
        S.A[(size_t)2 * k * k + (k - 1)] = NAN;           /* system 2: NaN, row 0 last col */
        S.b[(size_t)5 * k + k / 2] = INFINITY;            /* system 5: Inf in b */
        S.A[(size_t)8 * k * k + (size_t)(k - 1) * k + k - 1] = -INFINITY; /* system 8 */
        /* system 9 keeps NaN in its strict lower triangle only (all do). */
        int perm[11], info[11], exp[11];
        for (int j = 0; j < nb; j++)
            perm[j] = (j * 4 + 1) % nb;
        double *X = malloc(sizeof(double) * (size_t)(nb * k)), *xs = malloc(sizeof(double) * (size_t)k);
        for (int v = -1; v < nisa; v++) {
            if (v >= 0)
                assert_int_equal(als_kernel_set_isa(isas[v]), 0);
            als_kernel_t kern = v < 0 ? ALS_KERNEL_REF : ALS_KERNEL_FAST;
            solve_fn fn = v < 0 ? als_solve_spd_ref : als_solve_spd_fast;
            int nexp = 0;
            for (int s = 0; s < nb; s++) {
                exp[s] = solve_copy(fn, k, S.A + (size_t)s * k * k, S.b + (size_t)s * k, xs);
                nexp += exp[s] != 0;
            }
            assert_int_equal(exp[1], jb[0] + 1);
            assert_int_equal(exp[2], -1);
            assert_int_equal(exp[5], -1);
            assert_int_equal(exp[8], -1);
            assert_int_equal(batch_solve(&S, kern, perm, X, info), nexp);
            for (int s = 0; s < nb; s++) {
                if (info[s] != exp[s])
                    fail_msg("%s k=%d system %d: batch info %d, single %d",
                             v < 0 ? "ref" : isas[v], k, s, info[s], exp[s]);
                if (info[s] != 0) {
                    assert_memory_equal(X + (size_t)s * k, S.b + (size_t)s * k, sizeof(double) * (size_t)k);
                } else {
                    solve_copy(fn, k, S.A + (size_t)s * k * k, S.b + (size_t)s * k, xs);
                    assert_memory_equal(X + (size_t)s * k, xs, sizeof(double) * (size_t)k);
                }
            }
        }
        assert_int_equal(als_kernel_set_isa(def), 0);
        free(X), free(xs);
        sysset_free(&S);
    }
    /* nb = 0 and k = 0 are no-ops. */
    int info0 = 7;
    assert_int_equal(als_solve_spd_batch(ALS_KERNEL_FAST, 4, 0, NULL, NULL, &info0, NULL), 0);
    assert_int_equal(info0, 7);
    assert_true(als_solve_batch_lanes(ALS_KERNEL_REF) == 1);
    assert_true(als_solve_batch_lanes(ALS_KERNEL_FAST) == 4 || als_solve_batch_lanes(ALS_KERNEL_FAST) == 8);
}

/* The ISA chosen at start-up, restored after every test (a failing test may
 * leave another one forced). */
static const char *g_default_isa;

static int restore_isa(void **state)
{
    (void)state;
    return als_kernel_set_isa(g_default_isa);
}

/* als_dot8_rows gives als_dot8's bits on every path (plain C, avx512,
 * avx2), rows through idx and contiguous, any n (groups of four and their
 * tails), k multiples of 8 (vector paths) and not (plain C), signed zeros
 * and values whose sum cancels; the dispatcher equals the plain path. */
static void test_dot8_rows_bitwise(void **state)
{
    (void)state;
    uint64_t seed = 303;
    /* every tail length 0..7 of the AVX2 lo/hi split and of the masks */
    const int ks[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 13, 15, 16, 24, 32, 64, 69, 72, 128};
    const char *isas[] = {"avx512", "avx2"};
    int ran[2] = {0, 0}, missed[2] = {0, 0};
    for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++)
        for (int64_t n = 0; n <= 11; n++) {
            const int k = ks[q];
            const int64_t xr = n + 3;
            double *X = malloc((size_t)(xr * k) * sizeof *X), x[128], want[16], got[16];
            int64_t idx[16];
            for (int64_t e = 0; e < xr * k; e++)
                X[e] = als_test_uniform(&seed) * (e % 3 == 0 ? 1e8 : 1.0);
            for (int c = 0; c < k; c++)
                x[c] = c % 6 == 0 ? -0.0 : als_test_uniform(&seed);
            for (int c = 0; c < k; c++)
                X[k + c] = -0.0; /* row 1: all -0 */
            for (int64_t t = 0; t < n; t++)
                idx[t] = (int64_t)(als_test_next(&seed) % (uint64_t)xr);
            for (int contig = 0; contig < 2; contig++) {
                const int64_t *ix = contig ? NULL : idx;
                for (int64_t t = 0; t < n; t++)
                    want[t] = als_dot8(X + (ix ? ix[t] : t) * k, x, k);
                memset(got, 0x7f, sizeof got);
                assert_int_equal(als_dot8_rows_isa(NULL, k, n, X, ix, x, got), 0);
                assert_memory_equal(got, want, (size_t)n * sizeof *got);
                memset(got, 0x7f, sizeof got);
                als_dot8_rows(k, n, X, ix, x, got);
                assert_memory_equal(got, want, (size_t)n * sizeof *got);
                for (int i = 0; i < 2; i++) {
                    memset(got, 0x7f, sizeof got);
                    if (als_dot8_rows_isa(isas[i], k, n, X, ix, x, got) != 0) {
                        missed[i]++; /* only when the CPU lacks the ISA: every k runs */
                        continue;
                    }
                    ran[i]++;
                    assert_memory_equal(got, want, (size_t)n * sizeof *got);
                }
            }
            free(X);
        }
    for (int i = 0; i < 2; i++) {
        assert_false(ran[i] && missed[i]);
        if (!ran[i])
            print_message("note: the %s path cannot run on this CPU: not checked here\n",
                          isas[i]);
    }
}

/* als_rows_axpy: every ISA path bitwise equal to the plain C loop, itself
 * checked against the obvious sequential update (rounded product, then
 * rounded add or subtract), for every tail length of the 32/16-wide blocks,
 * 8- and 4-wide vectors and masks, rows by index and contiguous, n = 0..11,
 * with -0 rows and large values mixed in. */
static void test_rows_axpy_bitwise(void **state)
{
    (void)state;
    uint64_t seed = 404;
    const int ks[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 64, 65, 67, 130};
    const char *isas[] = {"avx512", "avx2"};
    int ran[2] = {0, 0}, missed[2] = {0, 0};
    for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++)
        for (int64_t n = 0; n <= 11; n++)
            for (int neg = 0; neg < 2; neg++) {
                const int k = ks[q];
                const int64_t xr = n + 3;
                double *X = malloc((size_t)(xr * k) * sizeof *X), w[16], g0[130], want[130],
                       got[130];
                int64_t idx[16];
                for (int64_t e = 0; e < xr * k; e++)
                    X[e] = als_test_uniform(&seed) * (e % 3 == 0 ? 1e8 : 1.0);
                for (int c = 0; c < k; c++)
                    X[k + c] = -0.0; /* row 1: all -0 */
                for (int64_t t = 0; t < n; t++) {
                    idx[t] = (int64_t)(als_test_next(&seed) % (uint64_t)xr);
                    w[t] = t % 4 == 3 ? -0.0 : als_test_uniform(&seed);
                }
                for (int c = 0; c < k; c++)
                    g0[c] = c % 5 == 0 ? -0.0 : als_test_uniform(&seed);
                for (int contig = 0; contig < 2; contig++) {
                    const int64_t *ix = contig ? NULL : idx;
                    memcpy(want, g0, (size_t)k * sizeof *want);
                    for (int64_t t = 0; t < n; t++) {
                        const double *y = X + (ix ? ix[t] : t) * k;
                        for (int c = 0; c < k; c++) {
                            volatile double p = w[t] * y[c];
                            want[c] = neg ? want[c] - p : want[c] + p;
                        }
                    }
                    memcpy(got, g0, (size_t)k * sizeof *got);
                    assert_int_equal(als_rows_axpy_isa(NULL, k, n, X, ix, w, neg, got), 0);
                    assert_memory_equal(got, want, (size_t)k * sizeof *got);
                    memcpy(got, g0, (size_t)k * sizeof *got);
                    als_rows_axpy(k, n, X, ix, w, neg, got);
                    assert_memory_equal(got, want, (size_t)k * sizeof *got);
                    for (int i = 0; i < 2; i++) {
                        memcpy(got, g0, (size_t)k * sizeof *got);
                        if (als_rows_axpy_isa(isas[i], k, n, X, ix, w, neg, got) != 0) {
                            missed[i]++;
                            continue;
                        }
                        ran[i]++;
                        assert_memory_equal(got, want, (size_t)k * sizeof *got);
                    }
                }
                free(X);
            }
    for (int i = 0; i < 2; i++) {
        assert_false(ran[i] && missed[i]);
        if (!ran[i])
            print_message("note: the %s path cannot run on this CPU: not checked here\n",
                          isas[i]);
    }
}

int main(void)
{
    g_default_isa = als_kernel_isa();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_gram_fast_vs_ref_all_isas, restore_isa),
        cmocka_unit_test_teardown(test_gram_exact_small, restore_isa),
        cmocka_unit_test_teardown(test_gram_n0_zero, restore_isa),
        cmocka_unit_test_teardown(test_gram_deterministic, restore_isa),
        cmocka_unit_test_teardown(test_solve_residual, restore_isa),
        cmocka_unit_test_teardown(test_solve_factor, restore_isa),
        cmocka_unit_test_teardown(test_solve_not_pd, restore_isa),
        cmocka_unit_test_teardown(test_solve_nonfinite, restore_isa),
        cmocka_unit_test_teardown(test_solve_deterministic_and_dispatch, restore_isa),
        cmocka_unit_test_teardown(test_isa_api_and_ws, restore_isa),
        cmocka_unit_test_teardown(test_batch_matches_single, restore_isa),
        cmocka_unit_test_teardown(test_batch_info, restore_isa),
        cmocka_unit_test_teardown(test_dot8_rows_bitwise, restore_isa),
        cmocka_unit_test_teardown(test_rows_axpy_bitwise, restore_isa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
