/* test_solver.c - numerical oracles for the ALS half-steps and the loss.
 *
 * Runs on one rank (MPI singleton). Every oracle here is independent of the
 * solver's code path: dense loops written from DESIGN.md §1-2.
 */
#include <stdlib.h>
#include <string.h>

#include "als.h"
#include "als_test.h"
#include "als_egram.h"
#include <math.h>
#include <omp.h>

/* A random instance: m users, n items, density, social links. */
typedef struct {
    als_triplets_t r, s;
    als_global_t g;
    als_data_t d;
    als_options_t o;
    als_solver_t sv;
} inst_t;

/* Build the instance and the solver. Raw ids are spread (x*7+3) to check
 * that dense ids, not raw ones, index the factors. */
static void build(inst_t *I, int m, int n, double density, int links, int k, double lu,
                  double lv, double alpha, uint64_t seed)
{
    memset(I, 0, sizeof *I);
    uint64_t st = seed;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            if (density >= 1.0 || (als_test_uniform(&st) + 1) / 2 < density || j == i % n)
                als_test_add(&I->r, (uint64_t)i * 7 + 3, (uint64_t)j * 5 + 1, 3 + 2 * als_test_uniform(&st));
    for (int l = 0; l < links; l++) {
        uint64_t a = als_test_next(&st) % (uint64_t)(m + 2), b = als_test_next(&st) % (uint64_t)(m + 2);
        int seen = a == b; /* no self-links; no repeated links (the oracles sum them all) */
        for (int64_t x = 0; x < I->s.n && !seen; x++)
            seen = I->s.row[x] == a * 7 + 3 && I->s.col[x] == b * 7 + 3;
        if (!seen) /* ids m, m+1 are users with links only */
            als_test_add(&I->s, a * 7 + 3, b * 7 + 3, 0.25 + (als_test_uniform(&st) + 1) / 2);
    }
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_global_build(&I->r, links ? &I->s : NULL, ALS_DUP_KEEP, "test", &I->g,
                                      &err), ALS_OK);
    assert_int_equal(als_data_scatter(MPI_COMM_WORLD, 0, &I->g, als_plan_kxk(ALS_TEST_K), &I->d, &err), ALS_OK);
    als_options_defaults(&I->o);
    I->o.rank_k = k;
    I->o.lambda_u = lu;
    I->o.lambda_v = lv;
    I->o.alpha = alpha;
    I->o.seed = seed;
    assert_int_equal(als_solver_init(MPI_COMM_WORLD, &I->o, &I->d, &I->sv, &err), ALS_OK);
}

static void destroy(inst_t *I)
{
    als_solver_free(&I->sv);
    als_data_free(&I->d);
    als_global_free(&I->g);
    als_triplets_free(&I->r);
    als_triplets_free(&I->s);
}

/* Dense loss from the triplets of the global structure (oracle). */
static double oracle_loss(const inst_t *I, const double *U, const double *V)
{
    const als_global_t *g = &I->g;
    int k = I->o.rank_k;
    double L = 0.0;
    for (int64_t u = 0; u < g->m; u++)
        for (int64_t x = g->uptr[u]; x < g->uptr[u + 1]; x++) {
            double p = 0;
            for (int c = 0; c < k; c++)
                p += U[u * k + c] * V[g->ucol[x] * k + c];
            L += 0.5 * (g->uval[x] - p) * (g->uval[x] - p);
        }
    /* Social term from the original directed links. */
    for (int64_t l = 0; l < I->s.n && I->o.alpha > 0; l++) {
        int64_t a = als_id_find(g->user_ids, g->m, I->s.row[l]);
        int64_t b = als_id_find(g->user_ids, g->m, I->s.col[l]);
        double q = 0;
        for (int c = 0; c < k; c++)
            q += (U[a * k + c] - U[b * k + c]) * (U[a * k + c] - U[b * k + c]);
        L += 0.5 * I->o.alpha * I->s.val[l] * q;
    }
    double ru = 0, rv = 0;
    for (int64_t x = 0; x < g->m * k; x++)
        ru += U[x] * U[x];
    for (int64_t x = 0; x < g->n * k; x++)
        rv += V[x] * V[x];
    return L + 0.5 * I->o.lambda_u * ru + 0.5 * I->o.lambda_v * rv;
}

/* Analytic dL/dU (DESIGN §2, with out-links and in-links) into G (m×k). */
static void oracle_grad_u(const inst_t *I, const double *U, const double *V, double *G)
{
    const als_global_t *g = &I->g;
    int k = I->o.rank_k;
    for (int64_t x = 0; x < g->m * k; x++)
        G[x] = I->o.lambda_u * U[x];
    for (int64_t u = 0; u < g->m; u++)
        for (int64_t x = g->uptr[u]; x < g->uptr[u + 1]; x++) {
            double p = 0;
            for (int c = 0; c < k; c++)
                p += U[u * k + c] * V[g->ucol[x] * k + c];
            for (int c = 0; c < k; c++)
                G[u * k + c] -= (g->uval[x] - p) * V[g->ucol[x] * k + c];
        }
    for (int64_t l = 0; l < I->s.n; l++) {
        int64_t a = als_id_find(g->user_ids, g->m, I->s.row[l]);
        int64_t b = als_id_find(g->user_ids, g->m, I->s.col[l]);
        for (int c = 0; c < k; c++) {
            double d = I->o.alpha * I->s.val[l] * (U[a * k + c] - U[b * k + c]);
            G[a * k + c] += d; /* out-link term of a */
            G[b * k + c] -= d; /* in-link term of b */
        }
    }
}

/* Naive Gaussian elimination with partial pivoting: solve M x = y (n×n). */
static void naive_solve(int n, double *M, double *y)
{
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(M[r * n + c]) > fabs(M[piv * n + c]))
                piv = r;
        for (int q = 0; q < n; q++) {
            double t = M[c * n + q];
            M[c * n + q] = M[piv * n + q];
            M[piv * n + q] = t;
        }
        double t = y[c];
        y[c] = y[piv];
        y[piv] = t;
        for (int r = c + 1; r < n; r++) {
            double f = M[r * n + c] / M[c * n + c];
            for (int q = c; q < n; q++)
                M[r * n + q] -= f * M[c * n + q];
            y[r] -= f * y[c];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        for (int q = c + 1; q < n; q++)
            y[c] -= M[c * n + q] * y[q];
        y[c] /= M[c * n + c];
    }
}

/* λ = α = 0, every rating observed: one U-step gives U = R V (VᵀV)⁻¹. */
static void test_solver_closed_form(void **state)
{
    (void)state;
    for (int kern = 0; kern < 2; kern++) {
        inst_t I;
        build(&I, 9, 6, 1.0, 0, 4, 0.0, 0.0, 0.0, 11);
        I.o.kernel = (als_kernel_t)kern;
        int k = 4, m = 9, n = 6;
        als_err_t err;
        als_err_clear(&err);
        assert_int_equal(als_solver_ustep(&I.sv, &err), ALS_OK);
        double VtV[16], rhs[4];
        for (int u = 0; u < m; u++) {
            memset(VtV, 0, sizeof VtV);
            memset(rhs, 0, sizeof rhs);
            for (int j = 0; j < n; j++) {
                double r = I.g.uval[I.g.uptr[u] + j]; /* full row, items in order */
                for (int p = 0; p < k; p++) {
                    rhs[p] += r * I.sv.V[j * k + p];
                    for (int q = 0; q < k; q++)
                        VtV[p * k + q] += I.sv.V[j * k + p] * I.sv.V[j * k + q];
                }
            }
            naive_solve(k, VtV, rhs);
            for (int p = 0; p < k; p++)
                assert_close(I.sv.U[u * k + p], rhs[p], 1e-12, 1e-13);
        }
        destroy(&I);
    }
}

/* The solver's loss equals the oracle, and the oracle gradient matches
 * central differences of the solver's loss. */
static void test_solver_gradient_fd(void **state)
{
    (void)state;
    inst_t I;
    build(&I, 12, 10, 0.4, 30, 3, 0.3, 0.2, 0.7, 5);
    int k = 3;
    int64_t m = I.d.m;
    als_loss_t L;
    als_solver_loss(&I.sv, &L);
    assert_close(L.total, oracle_loss(&I, I.sv.U, I.sv.V), 1e-13, 0);
    double *G = malloc(m * k * sizeof *G);
    oracle_grad_u(&I, I.sv.U, I.sv.V, G);
    for (int64_t x = 0; x < m * k; x++) {
        double h = 1e-5, keep = I.sv.U[x];
        I.sv.U[x] = keep + h;
        als_loss_t a, b;
        als_solver_loss(&I.sv, &a);
        I.sv.U[x] = keep - h;
        als_solver_loss(&I.sv, &b);
        I.sv.U[x] = keep;
        assert_close((a.total - b.total) / (2 * h), G[x], 1e-6, 1e-7);
    }
    free(G);
    destroy(&I);
}

/* After a U-step every row satisfies its normal equation, built here densely
 * from the previous U; with α = 0 the U-gradient vanishes. */
static void test_solver_normal_equations(void **state)
{
    (void)state;
    for (int social = 0; social < 2; social++) {
        inst_t I;
        build(&I, 15, 11, 0.35, social ? 40 : 0, 5, 0.25, 0.15, social ? 0.9 : 0.0, 8);
        int k = 5;
        int64_t m = I.d.m;
        double *U0 = malloc(m * k * sizeof *U0);
        memcpy(U0, I.sv.U, m * k * sizeof *U0);
        als_err_t err;
        als_err_clear(&err);
        assert_int_equal(als_solver_ustep(&I.sv, &err), ALS_OK);
        /* Dense W from the directed links. */
        double *W = calloc(m * m, sizeof *W);
        for (int64_t l = 0; l < I.s.n && social; l++) {
            int64_t a = als_id_find(I.g.user_ids, m, I.s.row[l]);
            int64_t b = als_id_find(I.g.user_ids, m, I.s.col[l]);
            W[a * m + b] += I.s.val[l];
            W[b * m + a] += I.s.val[l];
        }
        for (int64_t u = 0; u < m; u++) {
            double A[25] = {0}, b[5] = {0}, dsum = 0;
            for (int64_t f = 0; f < m; f++) {
                dsum += W[u * m + f];
                for (int c = 0; c < k; c++)
                    b[c] += I.o.alpha * W[u * m + f] * U0[f * k + c];
            }
            for (int64_t x = I.g.uptr[u]; x < I.g.uptr[u + 1]; x++) {
                const double *v = I.sv.V + I.g.ucol[x] * k;
                for (int p = 0; p < k; p++) {
                    b[p] += I.g.uval[x] * v[p];
                    for (int q = 0; q < k; q++)
                        A[p * k + q] += v[p] * v[q];
                }
            }
            double res = 0, nb = 0;
            for (int p = 0; p < k; p++) {
                double r = -b[p];
                for (int q = 0; q < k; q++)
                    r += (A[p * k + q] + (p == q ? I.o.lambda_u + I.o.alpha * dsum : 0)) *
                         I.sv.U[u * k + q];
                res += r * r;
                nb += b[p] * b[p];
            }
            assert_true(sqrt(res) <= 1e-12 * (sqrt(nb) + 1e-300) || nb == 0);
        }
        if (!social) {
            double *G = malloc(m * k * sizeof *G);
            oracle_grad_u(&I, I.sv.U, I.sv.V, G);
            for (int64_t x = 0; x < m * k; x++)
                assert_close(G[x], 0.0, 0, 1e-12);
            free(G);
        }
        free(W);
        free(U0);
        destroy(&I);
    }
}

/* The loss never increases over half-steps, with and without social term. */
static void test_solver_monotone(void **state)
{
    (void)state;
    for (int trial = 0; trial < 20; trial++) {
        inst_t I;
        double alpha = (trial % 2) ? 0.0 : 0.05 + trial * 0.3;
        build(&I, 20 + trial, 13 + trial % 5, 0.3, (trial % 2) ? 0 : 60, 2 + trial % 6,
              0.05 + 0.1 * (trial % 3), 0.1, alpha, 100 + trial);
        als_err_t err;
        als_err_clear(&err);
        als_loss_t prev, cur;
        als_solver_loss(&I.sv, &prev);
        for (int it = 0; it < 6; it++) {
            assert_int_equal(als_solver_ustep(&I.sv, &err), ALS_OK);
            als_solver_loss(&I.sv, &cur);
            assert_true(cur.total <= prev.total * (1 + 1e-12));
            prev = cur;
            assert_int_equal(als_solver_vstep(&I.sv, &err), ALS_OK);
            als_solver_loss(&I.sv, &cur);
            assert_true(cur.total <= prev.total * (1 + 1e-12));
            prev = cur;
        }
        destroy(&I);
    }
}

/* λ = 0 with a user whose ratings cannot determine u: a clear error with the
 * raw id. */
static void test_solver_singular_names_id(void **state)
{
    (void)state;
    inst_t I;
    memset(&I, 0, sizeof I);
    /* User 42 rates one item: a rank-1 Gram matrix for k = 2. */
    als_test_add(&I.r, 42, 1, 3.0);
    als_test_add(&I.r, 43, 1, 4.0);
    als_test_add(&I.r, 43, 2, 2.0);
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_global_build(&I.r, NULL, ALS_DUP_KEEP, "t", &I.g, &err), ALS_OK);
    assert_int_equal(als_data_scatter(MPI_COMM_WORLD, 0, &I.g, als_plan_kxk(ALS_TEST_K), &I.d, &err), ALS_OK);
    als_options_defaults(&I.o);
    I.o.rank_k = 2;
    I.o.lambda_u = 0.0;
    assert_int_equal(als_solver_init(MPI_COMM_WORLD, &I.o, &I.d, &I.sv, &err), ALS_OK);
    assert_int_equal(als_solver_ustep(&I.sv, &err), ALS_ERR_NUMERIC);
    assert_non_null(strstr(err.msg, "user 42"));
    assert_non_null(strstr(err.msg, "--lambda-u"));
    destroy(&I);
}

/* The initial factors depend on (seed, row, column) only. */
static void test_solver_init_counter_based(void **state)
{
    (void)state;
    double a = als_init_value(7, 0, 123, 4, 8), b = als_init_value(7, 0, 123, 4, 8);
    assert_true(a == b);
    assert_true(a != als_init_value(8, 0, 123, 4, 8));
    assert_true(a != als_init_value(7, 1, 123, 4, 8));
    assert_true(a != als_init_value(7, 0, 124, 4, 8));
    assert_true(a >= 0 && a < 1 / sqrt(8.0));
}

/* --bias: ratings mu + b_i + c_j exactly are fitted, and the constant
 * coordinates keep their values. */
static void test_solver_bias_planted(void **state)
{
    (void)state;
    inst_t I;
    memset(&I, 0, sizeof I);
    uint64_t st = 77;
    double bu[12], bi[9];
    for (int i = 0; i < 12; i++)
        bu[i] = 0.8 * als_test_uniform(&st);
    for (int j = 0; j < 9; j++)
        bi[j] = 0.8 * als_test_uniform(&st);
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < 9; j++)
            if ((i + j) % 3 != 0)
                als_test_add(&I.r, (uint64_t)i, (uint64_t)j, 3.0 + bu[i] + bi[j]);
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_global_build(&I.r, NULL, ALS_DUP_KEEP, "t", &I.g, &err), ALS_OK);
    assert_int_equal(als_data_scatter(MPI_COMM_WORLD, 0, &I.g, als_plan_kxk(ALS_TEST_K), &I.d, &err), ALS_OK);
    als_options_defaults(&I.o);
    I.o.rank_k = 2;
    I.o.bias = 1;
    I.o.lambda_u = I.o.lambda_v = 0.01;
    assert_int_equal(als_solver_init(MPI_COMM_WORLD, &I.o, &I.d, &I.sv, &err), ALS_OK);
    assert_int_equal(I.sv.k, 5);
    als_loss_t prev, cur;
    als_solver_loss(&I.sv, &prev);
    for (int it = 0; it < 100; it++) {
        assert_int_equal(als_solver_ustep(&I.sv, &err), ALS_OK);
        assert_int_equal(als_solver_vstep(&I.sv, &err), ALS_OK);
        als_solver_loss(&I.sv, &cur);
        assert_true(cur.total <= prev.total * (1 + 1e-12));
        prev = cur;
    }
    assert_true(sqrt(cur.sse / (double)I.d.nnz) < 0.01);
    /* Held-out pairs ((i + j) % 3 == 0) of an exactly additive model are
     * predicted by the biases alone. */
    double se = 0;
    int cnt = 0;
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < 9; j++)
            if ((i + j) % 3 == 0) {
                double p = 0;
                for (int c = 0; c < 5; c++)
                    p += I.sv.U[i * 5 + c] * I.sv.V[j * 5 + c];
                se += (p - 3.0 - bu[i] - bi[j]) * (p - 3.0 - bu[i] - bi[j]);
                cnt++;
            }
    assert_true(sqrt(se / cnt) < 0.05);
    for (int64_t i = 0; i < I.d.m; i++) {
        assert_true(I.sv.U[i * 5 + 3] == 1.0);
        assert_true(I.sv.U[i * 5 + 4] == I.d.rmean);
    }
    for (int64_t j = 0; j < I.d.n; j++) {
        assert_true(I.sv.V[j * 5 + 2] == 1.0);
        assert_true(I.sv.V[j * 5 + 4] == 1.0);
    }
    destroy(&I);
}

/* --lambda-scale=count equals plain lambda times the row's rating count:
 * every user below has exactly 3 ratings, so one U-step with count scaling
 * and lambda equals one with plain 3 * lambda. */
static void test_solver_lambda_count(void **state)
{
    (void)state;
    double *Ucount = NULL;
    for (int pass = 0; pass < 2; pass++) {
        inst_t I;
        memset(&I, 0, sizeof I);
        uint64_t st = 9;
        for (int i = 0; i < 10; i++)
            for (int c = 0; c < 3; c++)
                als_test_add(&I.r, (uint64_t)i, (uint64_t)((i + 2 * c) % 7), 2 + als_test_uniform(&st));
        als_err_t err;
        als_err_clear(&err);
        assert_int_equal(als_global_build(&I.r, NULL, ALS_DUP_KEEP, "t", &I.g, &err), ALS_OK);
        assert_int_equal(als_data_scatter(MPI_COMM_WORLD, 0, &I.g, als_plan_kxk(ALS_TEST_K), &I.d, &err), ALS_OK);
        als_options_defaults(&I.o);
        I.o.rank_k = 4;
        I.o.lambda_count = pass == 0;
        I.o.lambda_u = pass == 0 ? 0.2 : 0.6;
        assert_int_equal(als_solver_init(MPI_COMM_WORLD, &I.o, &I.d, &I.sv, &err), ALS_OK);
        assert_int_equal(als_solver_ustep(&I.sv, &err), ALS_OK);
        if (pass == 0) {
            Ucount = malloc(I.d.m * 4 * sizeof *Ucount);
            memcpy(Ucount, I.sv.U, I.d.m * 4 * sizeof *Ucount);
        } else {
            for (int64_t x = 0; x < I.d.m * 4; x++)
                assert_close(Ucount[x], I.sv.U[x], 1e-13, 1e-15);
            /* and the loss's regularization term is weighted the same way */
            als_loss_t L;
            als_solver_loss(&I.sv, &L);
            assert_true(L.reg_u > 0);
        }
        destroy(&I);
    }
    free(Ucount);
}

/* Every model variant descends: biases with their own plain lambda, count-
 * scaled lambda and the social term together, checked against the oracle of
 * the normal equations' objective through the solver's own loss. */
static void test_solver_monotone_variants(void **state)
{
    (void)state;
    for (int trial = 0; trial < 8; trial++) {
        inst_t I;
        build(&I, 25, 14, 0.3, 50, 3, 0.1, 0.1, trial % 2 ? 0.0 : 1.5, 40 + trial);
        als_solver_free(&I.sv);
        I.o.bias = trial & 1 ? 1 : (trial & 2) != 0;
        I.o.lambda_count = (trial & 4) != 0;
        I.o.lambda_bias = trial & 2 ? 3.0 : -1.0;
        als_err_t err;
        als_err_clear(&err);
        assert_int_equal(als_solver_init(MPI_COMM_WORLD, &I.o, &I.d, &I.sv, &err), ALS_OK);
        als_loss_t prev, cur;
        als_solver_loss(&I.sv, &prev);
        for (int it = 0; it < 6; it++) {
            als_loss_t fast;
            assert_int_equal(als_solver_ustep(&I.sv, &err), ALS_OK);
            als_solver_loss(&I.sv, &cur);
            assert_true(cur.total <= prev.total * (1 + 1e-12));
            /* the half-step's own sse (sum r^2 - 2x.b + x'Ax) = a direct pass */
            als_solver_loss_after(&I.sv, 0, &fast);
            assert_close(fast.sse, cur.sse, 1e-11, 0);
            assert_close(fast.total, cur.total, 1e-12, 0);
            prev = cur;
            assert_int_equal(als_solver_vstep(&I.sv, &err), ALS_OK);
            als_solver_loss(&I.sv, &cur);
            assert_true(cur.total <= prev.total * (1 + 1e-12));
            als_solver_loss_after(&I.sv, 1, &fast);
            assert_close(fast.sse, cur.sse, 1e-11, 0);
            assert_close(fast.total, cur.total, 1e-12, 0);
            prev = cur;
        }
        /* The V-step minimizes exactly over V: dL/dV = 0 at every updated
         * coordinate (central differences of the solver's loss; L is
         * quadratic in each coordinate, so only rounding remains). */
        int k = I.sv.k;
        for (int64_t x = 0; x < I.d.n * k; x++) {
            int c = (int)(x % k);
            if (I.sv.nfixed && (c == I.sv.vfix[0] || c == I.sv.vfix[1]))
                continue;
            double h = 1e-4, keep = I.sv.V[x];
            als_loss_t a, b;
            I.sv.V[x] = keep + h;
            als_solver_loss(&I.sv, &a);
            I.sv.V[x] = keep - h;
            als_solver_loss(&I.sv, &b);
            I.sv.V[x] = keep;
            assert_close((a.total - b.total) / (2 * h), 0.0, 0, 1e-7 * (1 + cur.total));
        }
        destroy(&I);
    }
}

/* ---- the loss's rounding-error bound ------------------------------------ */

/* The explicit loss of U, V in long double (64-bit significands: its own
 * error is ~2^-11 of the double evaluation's), from the global triplets. */
static long double oracle_loss_ld(const inst_t *I, const double *U, const double *V)
{
    const als_global_t *g = &I->g;
    const int k = I->o.rank_k;
    long double L = 0.0L, ru = 0.0L, rv = 0.0L;
    for (int64_t u = 0; u < g->m; u++)
        for (int64_t x = g->uptr[u]; x < g->uptr[u + 1]; x++) {
            long double p = 0.0L;
            for (int c = 0; c < k; c++)
                p += (long double)U[u * k + c] * V[g->ucol[x] * k + c];
            long double e = (long double)g->uval[x] - p;
            L += 0.5L * e * e;
        }
    for (int64_t x = 0; x < g->m * k; x++)
        ru += (long double)U[x] * U[x];
    for (int64_t x = 0; x < g->n * k; x++)
        rv += (long double)V[x] * V[x];
    return L + 0.5L * I->o.lambda_u * ru + 0.5L * I->o.lambda_v * rv;
}

/* The first-order bound rating by rating (the oracle of row_residuals'
 * per-row bound): each computed residual e = r - u.v is within
 * delta = (k + 2) u (|r| + |u| |v|) of the exact one, so e^2 is within
 * 2|e| delta + delta^2 + u e^2; plus each row sum's own rounding,
 * 2 gamma_{n-1} sum e^2 over the row's n ratings (rows: the items' after a
 * V-step, else the users'), and 4 u |L| for the final combination. The loss
 * has 1/2 of the squares. L: the loss. */
static double per_rating_bound(const inst_t *I, const double *U, const double *V, int item_rows,
                               double L)
{
    const als_global_t *g = &I->g;
    const int k = I->o.rank_k;
    const double u = 0x1p-53;
    double B = 0.0, *rs = calloc((size_t)(g->m + g->n), sizeof *rs);
    int64_t *rn = calloc((size_t)(g->m + g->n), sizeof *rn);
    assert_non_null(rs);
    assert_non_null(rn);
    for (int64_t a = 0; a < g->m; a++)
        for (int64_t x = g->uptr[a]; x < g->uptr[a + 1]; x++) {
            const double *p_ = U + a * k, *q_ = V + g->ucol[x] * k;
            double p = 0.0, na = 0.0, nb = 0.0, r = g->uval[x];
            for (int c = 0; c < k; c++) {
                p += p_[c] * q_[c];
                na += p_[c] * p_[c];
                nb += q_[c] * q_[c];
            }
            double e = r - p, d = (k + 2) * u * (fabs(r) + sqrt(na) * sqrt(nb));
            B += 0.5 * (2.0 * fabs(e) * d + d * d + u * e * e);
            int64_t row = item_rows ? g->m + g->ucol[x] : a;
            rs[row] += e * e;
            rn[row]++;
        }
    for (int64_t row = 0; row < g->m + g->n; row++) {
        double gm = (double)(rn[row] > 1 ? rn[row] - 1 : 0) * u;
        B += 0.5 * 2.0 * gm / (1.0 - gm) * rs[row];
    }
    free(rs);
    free(rn);
    return B + 4.0 * u * fabs(L);
}

/* The loss's rounding-error bound (loss_bound) after a direct pass and after
 * each half-step (the per-row bounds of row_residuals), on planted data with
 * heavy cancellation: factors of norm ~300-600, ratings = u.v + 1e-3 noise,
 * so every residual loses ~10 digits to the rounding of its dot product and
 * the loss is wrong in its 8th digit; then with factors 1e-3 times smaller
 * (the ratings' own size dominates). The bound must cover the actual error
 * (against a long double evaluation), dominate the per-rating first-order
 * bound (a dropped term fails here) and stay within 10 times it. */
static void test_solver_loss_bound(void **state)
{
    (void)state;
    const int ks[3] = {16, 13, 8};
    for (int trial = 0; trial < 3; trial++) {
        const int m = 40, n = 40, k = ks[trial];
        uint64_t st = 77 + trial;
        double *Up = malloc(sizeof(double) * m * k), *Vp = malloc(sizeof(double) * n * k);
        for (int x = 0; x < m * k; x++)
            Up[x] = 100.0 * (1.5 + als_test_uniform(&st));
        for (int x = 0; x < n * k; x++)
            Vp[x] = 100.0 * als_test_uniform(&st);
        inst_t I;
        memset(&I, 0, sizeof I);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                if ((als_test_uniform(&st) + 1) / 2 < 0.6 || j == i % n) {
                    long double p = 0.0L;
                    for (int c = 0; c < k; c++)
                        p += (long double)Up[i * k + c] * Vp[j * k + c];
                    als_test_add(&I.r, (uint64_t)i * 7 + 3, (uint64_t)j * 5 + 1,
                                 (double)p + 1e-3 * als_test_uniform(&st));
                }
        als_err_t err;
        als_err_clear(&err);
        assert_int_equal(als_global_build(&I.r, NULL, ALS_DUP_KEEP, "test", &I.g, &err), ALS_OK);
        assert_int_equal(als_data_scatter(MPI_COMM_WORLD, 0, &I.g, als_plan_kxk(ALS_TEST_K), &I.d, &err),
                         ALS_OK);
        als_options_defaults(&I.o);
        I.o.rank_k = k;
        I.o.lambda_u = I.o.lambda_v = 1e-12;
        assert_int_equal(als_solver_init(MPI_COMM_WORLD, &I.o, &I.d, &I.sv, &err), ALS_OK);
        memcpy(I.sv.U, Up, sizeof(double) * m * k); /* one rank: the views are U and V */
        memcpy(I.sv.V, Vp, sizeof(double) * n * k);
        for (int step = 0; step < 4; step++) {
            als_loss_t L;
            if (step == 3) { /* factors 1e-3 times smaller: |r| >> |u| |v| */
                for (int x = 0; x < m * k; x++)
                    I.sv.U[x] *= 1e-3;
                for (int x = 0; x < n * k; x++)
                    I.sv.V[x] *= 1e-3;
            }
            if (step == 0 || step == 3) {
                als_solver_loss(&I.sv, &L);
            } else {
                assert_int_equal(step == 1 ? als_solver_ustep(&I.sv, &err)
                                           : als_solver_vstep(&I.sv, &err),
                                 ALS_OK);
                als_solver_loss_after(&I.sv, step == 2, &L);
            }
            long double ex = oracle_loss_ld(&I, I.sv.U, I.sv.V);
            double err_abs = (double)fabsl((long double)L.total - ex), bound = I.sv.loss_bound;
            assert_true(step == 3 || err_abs > 0.0); /* the case does round */
            double pr = per_rating_bound(&I, I.sv.U, I.sv.V, step == 2, L.total);
            if (getenv("ALS_TEST_VERBOSE"))
                print_message("k = %d step %d: error %.3e bound %.3e per-rating %.3e\n", k, step,
                              err_abs, bound, pr);
            if (!(err_abs <= bound && 0.999 * pr <= bound && bound <= 10.0 * pr))
                fail_msg("k = %d step %d: loss %.17g, long double %.17Lg: error %.3e, bound %.3e, "
                         "per-rating bound %.3e", k, step, L.total, ex, err_abs, bound, pr);
        }
        destroy(&I);
        free(Up);
        free(Vp);
    }
}

/* ---- --implicit and --solver cg --------------------------------------- */

/* Re-create the solver of I with the implicit model / the CG solver. */
static void reinit(inst_t *I, int implicit, int log_scale, double conf, int cg, int steps)
{
    als_err_t err;
    als_err_clear(&err);
    als_solver_free(&I->sv);
    I->o.implicit = implicit;
    I->o.conf.scale = log_scale ? ALS_CONF_LOG : ALS_CONF_LINEAR;
    I->o.conf.a = conf;
    I->o.conf.eps = 0.5;
    I->o.solver = cg ? ALS_SOLVER_CG : ALS_SOLVER_CHOLESKY;
    I->o.cg_steps = steps;
    assert_int_equal(als_solver_init(MPI_COMM_WORLD, &I->o, &I->d, &I->sv, &err), ALS_OK);
}

/* Dense R (m×n, 0 = unobserved) and S (m×m, s_if) of the instance. */
static void dense_rs(const inst_t *I, double **R, double **S)
{
    const als_global_t *g = &I->g;
    *R = calloc((size_t)(g->m * g->n), sizeof **R);
    *S = calloc((size_t)(g->m * g->m), sizeof **S);
    for (int64_t u = 0; u < g->m; u++)
        for (int64_t x = g->uptr[u]; x < g->uptr[u + 1]; x++)
            (*R)[u * g->n + g->ucol[x]] = g->uval[x];
    for (int64_t l = 0; l < I->s.n; l++) {
        int64_t a = als_id_find(g->user_ids, g->m, I->s.row[l]);
        int64_t b = als_id_find(g->user_ids, g->m, I->s.col[l]);
        (*S)[a * g->m + b] = I->s.val[l];
    }
}

/* The implicit loss (all pairs via <X'X, Y'Y> + observed corrections, exact
 * sums) equals the slow dense sum over every (u, i) pair, before and after
 * half-steps of both solvers; the loss from the half-step's own residual
 * pass equals the direct evaluation bit for bit after a U-step (both sum the
 * observed terms per user row, then exactly), and to rounding after a V-step
 * (its pass sums them per item row). */
static void test_solver_implicit_loss_dense(void **state)
{
    (void)state;
    for (int trial = 0; trial < 8; trial++) {
        inst_t I;
        double alpha = (trial % 2) ? 0.0 : 0.4 + 0.2 * trial;
        build(&I, 12 + trial, 9 + trial % 4, 0.3, (trial % 2) ? 0 : 30, 2 + trial % 4, 0.2,
              0.3, alpha, 400 + trial);
        reinit(&I, 1, trial % 3 == 0, 1.5 + trial, trial >= 4, 2);
        double *R, *S;
        dense_rs(&I, &R, &S);
        als_err_t err;
        als_err_clear(&err);
        for (int step = 0; step < 5; step++) {
            if (step % 2 == 1)
                assert_int_equal(als_solver_ustep(&I.sv, &err), ALS_OK);
            else if (step > 0)
                assert_int_equal(als_solver_vstep(&I.sv, &err), ALS_OK);
            als_loss_t L, La;
            als_solver_loss(&I.sv, &L);
            int bad = 0;
            double ref = als_implicit_loss_dense(&I.o.conf, I.g.m, I.g.n, I.sv.k, R, S, I.sv.U,
                                                 I.sv.V, I.o.lambda_u, I.o.lambda_v, alpha, &bad);
            assert_int_equal(bad, 0);
            assert_close(L.total, ref, 1e-12, 0);
            if (step > 0) {
                als_solver_loss_after(&I.sv, step % 2 == 0, &La);
                if (step % 2 == 1)
                    assert_true(La.total == L.total);
                else
                    assert_close(La.total, L.total, 1e-13, 0);
            }
        }
        free(R);
        free(S);
        destroy(&I);
    }
}

/* The implicit U-step solves each user's normal equations of the dense
 * all-pairs loss with the other users held at their previous factors:
 * sum_i c_ui (x_u'y_i - p_ui) y_i + lambda x_u + alpha sum_f W_uf (x_u - x_f) = 0,
 * computed directly over every (u, i) pair (Cholesky; and CG with more steps
 * than unknowns). Items: the same without the social term. */
static void test_solver_implicit_normal_equations(void **state)
{
    (void)state;
    for (int trial = 0; trial < 6; trial++) {
        inst_t I;
        double alpha = 0.3 + 0.5 * trial;
        int k = 2 + trial % 3;
        build(&I, 14 + trial, 10, 0.35, 40, k, 0.15, 0.25, alpha, 500 + trial);
        reinit(&I, 1, trial % 2, 3.0, trial >= 3, 40);
        double *R, *S;
        dense_rs(&I, &R, &S);
        const int64_t m = I.g.m, n = I.g.n;
        double *U0 = malloc((size_t)(m * k) * sizeof *U0);
        memcpy(U0, I.sv.U, (size_t)(m * k) * sizeof *U0);
        als_err_t err;
        als_err_clear(&err);
        assert_int_equal(als_solver_ustep(&I.sv, &err), ALS_OK);
        for (int pass = 0; pass < 2; pass++) {
            const double *X = pass ? I.sv.V : I.sv.U, *Y = pass ? I.sv.U : I.sv.V;
            int64_t rows = pass ? n : m, cols = pass ? m : n;
            double lam = pass ? I.o.lambda_v : I.o.lambda_u, scale = 0;
            for (int64_t a = 0; a < rows; a++) {
                double gr[8] = {0};
                for (int64_t i = 0; i < cols; i++) {
                    double r = pass ? R[i * n + a] : R[a * n + i];
                    double c = als_implicit_confidence(&I.o.conf, r), p = r > 0 ? 1.0 : 0.0, e = -p;
                    for (int q = 0; q < k; q++)
                        e += X[a * k + q] * Y[i * k + q];
                    for (int q = 0; q < k; q++)
                        gr[q] += c * e * Y[i * k + q];
                    scale += c;
                }
                for (int q = 0; q < k; q++)
                    gr[q] += lam * X[a * k + q];
                for (int64_t f = 0; f < m && !pass; f++) {
                    double w = S[a * m + f] + S[f * m + a];
                    for (int q = 0; q < k && w != 0; q++)
                        gr[q] += alpha * w * (X[a * k + q] - U0[f * k + q]);
                }
                for (int q = 0; q < k; q++)
                    assert_close(gr[q], 0.0, 0, 1e-9 * (1 + scale / cols));
            }
            if (!pass)
                assert_int_equal(als_solver_vstep(&I.sv, &err), ALS_OK);
        }
        free(U0);
        free(R);
        free(S);
        destroy(&I);
    }
}

/* --solver cg with more steps than unknowns equals Cholesky to 1e-10 on
 * small well-conditioned cases: explicit, explicit with --bias, implicit. */
static void test_solver_cg_equals_cholesky(void **state)
{
    (void)state;
    for (int variant = 0; variant < 3; variant++) {
        double *res[2];
        int64_t len = 0;
        for (int cg = 0; cg < 2; cg++) {
            inst_t I;
            build(&I, 18, 11, 0.4, 40, 4, 0.5, 0.5, 0.7, 600 + variant);
            I.o.bias = variant == 1;
            I.o.lambda_bias = variant == 1 ? 0.05 : -1.0;
            reinit(&I, variant == 2, 0, 2.0, cg, 60);
            als_err_t err;
            als_err_clear(&err);
            for (int it = 0; it < 2; it++) {
                if (als_solver_ustep(&I.sv, &err)) fail_msg("variant %d cg %d: %s", variant, cg, err.msg);
                assert_int_equal(als_solver_vstep(&I.sv, &err), ALS_OK);
            }
            len = (I.g.m + I.g.n) * I.sv.k;
            res[cg] = malloc((size_t)len * sizeof(double));
            memcpy(res[cg], I.sv.U, (size_t)(I.g.m * I.sv.k) * sizeof(double));
            memcpy(res[cg] + I.g.m * I.sv.k, I.sv.V, (size_t)(I.g.n * I.sv.k) * sizeof(double));
            destroy(&I);
        }
        double mx = 0, diff = 0;
        for (int64_t x = 0; x < len; x++) {
            mx = fmax(mx, fabs(res[0][x]));
            diff = fmax(diff, fabs(res[0][x] - res[1][x]));
        }
        assert_true(diff <= 1e-10 * mx);
        free(res[0]);
        free(res[1]);
    }
}

/* CG rows (3 steps: inexact) keep the loss non-increasing over half-steps,
 * explicit and implicit, with the social term (the Galerkin argument of
 * als_cg.h). */
static void test_solver_cg_monotone(void **state)
{
    (void)state;
    for (int trial = 0; trial < 12; trial++) {
        inst_t I;
        build(&I, 20 + trial, 12 + trial % 5, 0.3, 60, 3 + trial % 5, 0.05 + 0.1 * (trial % 3),
              0.1, 0.2 + 0.4 * trial, 700 + trial);
        reinit(&I, trial % 2, trial % 4 == 1, 5.0, 1, 1 + trial % 3);
        als_err_t err;
        als_err_clear(&err);
        als_loss_t prev, cur;
        als_solver_loss(&I.sv, &prev);
        for (int it = 0; it < 6; it++) {
            assert_int_equal(als_solver_ustep(&I.sv, &err), ALS_OK);
            als_solver_loss(&I.sv, &cur);
            assert_true(cur.total <= prev.total * (1 + 1e-12));
            prev = cur;
            assert_int_equal(als_solver_vstep(&I.sv, &err), ALS_OK);
            als_solver_loss(&I.sv, &cur);
            assert_true(cur.total <= prev.total * (1 + 1e-12));
            prev = cur;
        }
        destroy(&I);
    }
}

/* The exact Gram: equal to a long-double direct sum to 1e-15, bitwise
 * independent of the row order and of the thread count. */
static void test_solver_egram(void **state)
{
    (void)state;
    uint64_t st = 99;
    for (int trial = 0; trial < 5; trial++) {
        int k = 1 + trial * 7, rows = 50 + 300 * trial;
        double *Y = malloc((size_t)(rows * k) * sizeof *Y), *Yp = malloc((size_t)(rows * k) * sizeof *Yp);
        double *G1 = malloc((size_t)(k * k) * sizeof *G1), *G2 = malloc((size_t)(k * k) * sizeof *G2);
        for (int x = 0; x < rows * k; x++)
            Y[x] = als_test_uniform(&st) * (trial == 3 ? 1e-200 : 1.0) * ((x % 17) ? 1.0 : 1e6);
        for (int t = 0; t < rows; t++) /* reversed rows */
            memcpy(Yp + t * k, Y + (rows - 1 - t) * k, (size_t)k * sizeof *Y);
        assert_int_equal(als_egram_allreduce(MPI_COMM_SELF, k, rows, Y, G1), 0);
        omp_set_num_threads(3);
        assert_int_equal(als_egram_allreduce(MPI_COMM_SELF, k, rows, Yp, G2), 0);
        omp_set_num_threads(1);
        assert_memory_equal(G1, G2, (size_t)(k * k) * sizeof *G1);
        for (int a = 0; a < k; a++)
            for (int c = 0; c < k; c++) {
                long double sum = 0, abs = 0;
                for (int t = 0; t < rows; t++) {
                    sum += (long double)Y[t * k + a] * Y[t * k + c];
                    abs += fabsl((long double)Y[t * k + a] * Y[t * k + c]);
                }
                assert_close(G1[a * k + c], (double)sum, 0, 1e-15 * (double)abs);
                assert_true(G1[a * k + c] == G1[c * k + a]);
            }
        free(Y); free(Yp); free(G1); free(G2);
    }
}

int main(int argc, char **argv)
{
    if (als_mpi_init(&argc, &argv, argv[0], NULL) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solver_closed_form),
        cmocka_unit_test(test_solver_gradient_fd),
        cmocka_unit_test(test_solver_normal_equations),
        cmocka_unit_test(test_solver_monotone),
        cmocka_unit_test(test_solver_singular_names_id),
        cmocka_unit_test(test_solver_init_counter_based),
        cmocka_unit_test(test_solver_bias_planted),
        cmocka_unit_test(test_solver_lambda_count),
        cmocka_unit_test(test_solver_monotone_variants),
        cmocka_unit_test(test_solver_loss_bound),
        cmocka_unit_test(test_solver_implicit_loss_dense),
        cmocka_unit_test(test_solver_implicit_normal_equations),
        cmocka_unit_test(test_solver_cg_equals_cholesky),
        cmocka_unit_test(test_solver_cg_monotone),
        cmocka_unit_test(test_solver_egram),
    };
    int rc = cmocka_run_group_tests_name("solver", tests, NULL, NULL);
    MPI_Finalize();
    return rc;
}
