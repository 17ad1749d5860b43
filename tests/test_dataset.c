/* test_dataset.c - dense ids, CSR/CSC, duplicate policies, W = S + S^T, plan. */
#include <stdlib.h>
#include <string.h>

#include "als.h"
#include "als_woodbury.h"
#include "als_test.h"

/* Ratings with a duplicate pair (user 30, item 7: 1 then 5), ids out of order. */
static void ratings(als_triplets_t *r)
{
    memset(r, 0, sizeof *r);
    als_test_add(r, 30, 7, 1.0);
    als_test_add(r, 10, 9, 2.0);
    als_test_add(r, 30, 2, 3.0);
    als_test_add(r, 18446744073709551615ULL, 7, 4.0);
    als_test_add(r, 30, 7, 5.0);
}

static void test_dataset_ids_and_csr(void **state)
{
    (void)state;
    als_triplets_t r;
    ratings(&r);
    als_global_t g;
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_global_build(&r, NULL, ALS_DUP_KEEP, "r", &g, &err), ALS_OK);
    assert_int_equal(g.m, 3);
    assert_int_equal(g.n, 3);
    assert_true(g.user_ids[0] == 10 && g.user_ids[1] == 30 && g.user_ids[2] == UINT64_MAX);
    assert_true(g.item_ids[0] == 2 && g.item_ids[1] == 7 && g.item_ids[2] == 9);
    /* user 30: items 2, 7, 7 in (item, file) order */
    assert_int_equal(g.uptr[1], 1);
    assert_int_equal(g.uptr[2], 4);
    assert_int_equal(g.ucol[1], 0);
    assert_int_equal(g.ucol[2], 1);
    assert_int_equal(g.ucol[3], 1);
    assert_close(g.uval[2], 1.0, 0, 0);
    assert_close(g.uval[3], 5.0, 0, 0);
    assert_int_equal(g.stats.duplicate_pairs, 1);
    assert_int_equal(g.stats.duplicate_rows, 1);
    /* CSC of item 7: users 30, 30, max */
    assert_int_equal(g.iptr[1], 1);
    assert_int_equal(g.iptr[2], 4);
    assert_int_equal(g.irow[1], 1);
    assert_int_equal(g.irow[3], 2);
    assert_close(g.ival[2], 5.0, 0, 0);
    assert_close(g.rmin, 1.0, 0, 0);
    assert_close(g.rmax, 5.0, 0, 0);
    als_global_free(&g);
    als_triplets_free(&r);
}

static void test_dataset_duplicate_policies(void **state)
{
    (void)state;
    const als_dup_policy_t pol[] = {ALS_DUP_FIRST, ALS_DUP_LAST, ALS_DUP_MEAN};
    const double want[] = {1.0, 5.0, 3.0};
    for (int p = 0; p < 3; p++) {
        als_triplets_t r;
        ratings(&r);
        als_global_t g;
        als_err_t err;
        als_err_clear(&err);
        assert_int_equal(als_global_build(&r, NULL, pol[p], "r", &g, &err), ALS_OK);
        assert_int_equal(g.nnz, 4);
        assert_int_equal(g.uptr[2] - g.uptr[1], 2);
        assert_close(g.uval[2], want[p], 0, 0);
        assert_int_equal(g.iptr[2] - g.iptr[1], 2);
        als_global_free(&g);
        als_triplets_free(&r);
    }
    als_triplets_t r;
    ratings(&r);
    als_global_t g;
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_global_build(&r, NULL, ALS_DUP_ERROR, "r.txt", &g, &err), ALS_ERR_DATA);
    assert_non_null(strstr(err.msg, "user 30 rates item 7 2 times"));
    als_triplets_free(&r);
}

/* W = S + S^T: a mutual pair sums, a repeated link keeps the last weight,
 * a link to an unrated user adds a user. */
static void test_dataset_social_w(void **state)
{
    (void)state;
    als_triplets_t r, s;
    ratings(&r);
    memset(&s, 0, sizeof s);
    als_test_add(&s, 10, 30, 0.5);
    als_test_add(&s, 30, 10, 0.25);
    als_test_add(&s, 10, 99, 9.0);
    als_test_add(&s, 10, 99, 2.0); /* repeated: last (2.0) kept */
    als_global_t g;
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_global_build(&r, &s, ALS_DUP_KEEP, "r", &g, &err), ALS_OK);
    assert_int_equal(g.m, 4); /* 10, 30, 99, max */
    assert_true(g.user_ids[2] == 99);
    assert_int_equal(g.stats.social_only_users, 1);
    assert_int_equal(g.nlinks, 3);
    assert_int_equal(g.stats.duplicate_links, 1);
    assert_int_equal(g.wnnz, 4);
    /* row of user 10: (30, 0.75), (99, 2.0) */
    assert_int_equal(g.wptr[1] - g.wptr[0], 2);
    assert_int_equal(g.wcol[0], 1);
    assert_close(g.wval[0], 0.75, 0, 0);
    assert_int_equal(g.wcol[1], 2);
    assert_close(g.wval[1], 2.0, 0, 0);
    /* symmetric */
    assert_int_equal(g.wptr[2] - g.wptr[1], 1);
    assert_close(g.wval[g.wptr[1]], 0.75, 0, 0);
    assert_int_equal(g.wptr[4] - g.wptr[3], 0);
    als_global_free(&g);
    als_triplets_free(&r);
    als_triplets_free(&s);
}

static void test_dataset_no_ratings_is_error(void **state)
{
    (void)state;
    als_triplets_t r;
    memset(&r, 0, sizeof r);
    als_global_t g;
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_global_build(&r, NULL, ALS_DUP_KEEP, "empty.txt", &g, &err), ALS_ERR_DATA);
    assert_non_null(strstr(err.msg, "empty.txt: no ratings"));
}

/* Plan: contiguous, covering, balanced by modelled flops; empty blocks when
 * p > rows. Hand example at k = 64 where the old plan (1 per row + 1 per
 * rating) and the cost-weighted one differ: row 0 has 20 ratings, rows 1..9
 * none. Per rating k(k+1) + 2k = 4288 flops, per row k^3/3 + 2k^2 = 95573.3:
 * costs 181333.3, then 95573.3 x 9 (total 1041493.3). Old weights 21, 1 x 9
 * (total 30) put row 0 alone in block 0 (beg[1] = 1); by flops block 1
 * starts at the first row whose exclusive prefix reaches 520746.7: row 5
 * (prefix 563626.7; row 4's is 468053.3). */
static void test_plan_blocks(void **state)
{
    (void)state;
    int64_t ptr[11] = {0, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20};
    int64_t beg[5];
    als_plan_blocks(10, ptr, NULL, als_plan_kxk(64), 2, beg);
    assert_int_equal(beg[0], 0);
    assert_int_equal(beg[1], 5);
    assert_int_equal(beg[2], 10);
    assert_true(fabs(als_plan_row_flops(als_plan_kxk(64), 20, 0) - (20 * 4288.0 + 64.0 * 64 * 64 / 3 + 8192)) < 1e-6);
    /* The social term: 2k per W entry. At k = 1 a row costs 1/3 + 2 = 7/3,
     * a rating 4, a W entry 2 (x3: 7, 12, 6). Rows (ratings, W): (0, 3),
     * (1, 0), (0, 0), (0, 0): x3 costs 25, 19, 7, 7, total 58; p = 2 splits
     * at prefix >= 29: beg[1] = 2 (prefix 44; row 1's is 25). */
    int64_t rp[5] = {0, 0, 1, 1, 1}, wp[5] = {0, 3, 3, 3, 3};
    als_plan_blocks(4, rp, wp, als_plan_kxk(1), 2, beg);
    assert_int_equal(beg[1], 2);
    /* Without W, costs 7, 19, 7, 7 (total 40, half 20): beg[1] = 2 as well
     * (prefix 26 >= 20, row 1's 7 < 20). Three blocks: 40/3, 80/3 -> 2, 3. */
    als_plan_blocks(4, rp, NULL, als_plan_kxk(1), 3, beg);
    assert_int_equal(beg[1], 2);
    assert_int_equal(beg[2], 3);
    int64_t z[3] = {0, 0, 0};
    als_plan_blocks(2, z, NULL, als_plan_kxk(4), 4, beg);
    assert_int_equal(beg[0], 0);
    assert_int_equal(beg[4], 2);
    for (int r = 0; r < 4; r++)
        assert_true(beg[r] <= beg[r + 1]);
    int64_t e[2];
    als_plan_blocks(0, z, NULL, als_plan_kxk(4), 1, e);
    assert_int_equal(e[0], 0);
    assert_int_equal(e[1], 0);
}

/* The n×n route in the plan's model (als_plan.h): a row of 0 < n < kr
 * ratings where als_woodbury_pays(kr, n) costs 2 wood(kr, n) + 16384 (+ 2k
 * per W entry), every other row its k×k cost; and the plan is the first-row
 * rule on those costs, against a brute-force plan in long double. */
static long double wood_ref(int kr, int64_t n)
{
    long double K = kr, N = (long double)n;
    return N * (N + 1) * K + 6 * N * K + N * N * N / 3 + 2 * N * N;
}

static long double kxk_ref(int k, int64_t n, int64_t w)
{
    long double K = k, N = (long double)n;
    return N * (K * (K + 1) + 2 * K) + (long double)w * 2 * K + K * K * K / 3 + 2 * K * K;
}

static void test_plan_route(void **state)
{
    (void)state;
    const als_plan_model_t on = als_plan_model(64, 0, 1), off = als_plan_model(64, 0, 0);
    /* n = 10 at k = 64: 2 (7040 + 3840 + 1000/3 + 200) + 16384 */
    assert_true(als_plan_on_route(on, 10));
    assert_true(fabs(als_plan_row_flops(on, 10, 0) - (2 * (7040 + 3840 + 1000.0 / 3 + 200) + 16384)) <
                1e-6);
    assert_true(fabs(als_plan_row_flops(on, 10, 5) - als_plan_row_flops(on, 10, 0) - 5 * 128.0) <
                1e-6);
    assert_true(fabs(als_plan_route_delta(on, 10) -
                     (als_plan_row_flops(on, 10, 0) - als_plan_row_flops(off, 10, 0))) < 1e-6);
    /* Off the route: no ratings, n >= kr, the route off, k below 48. */
    const int64_t kxk_rows[] = {0, 63, 64, 500};
    for (int i = 0; i < 4; i++) {
        int64_t n = kxk_rows[i];
        assert_int_equal(als_plan_on_route(on, n), n == 63 ? als_woodbury_pays(64, 63) : 0);
        if (!als_plan_on_route(on, n))
            assert_true(fabs(als_plan_row_flops(on, n, 3) - (double)kxk_ref(64, n, 3)) < 1e-6);
        assert_true(fabs(als_plan_route_delta(off, n)) == 0.0);
    }
    assert_false(als_plan_on_route(off, 10));
    assert_false(als_plan_on_route(als_plan_model(32, 0, 1), 10));
    /* --bias: width 64, unknowns 62. */
    const als_plan_model_t bias = als_plan_model(61, 1, 1);
    assert_int_equal(bias.k, 64);
    assert_int_equal(bias.kr, 62);
    assert_true(fabs(als_plan_row_flops(bias, 10, 0) - (double)(2 * wood_ref(62, 10) + 16384)) <
                1e-6);
    /* Plans on random rows (many short, some long, W entries) against the
     * brute-force rule, for both models and p = 1..7. */
    enum { NR = 300 };
    int64_t ptr[NR + 1] = {0}, wptr[NR + 1] = {0};
    uint64_t x = 12345;
    for (int t = 0; t < NR; t++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t n = (x >> 33) % 5 == 0 ? 64 + (int64_t)((x >> 40) % 300) : (int64_t)((x >> 40) % 40);
        ptr[t + 1] = ptr[t] + n;
        wptr[t + 1] = wptr[t] + (int64_t)((x >> 20) % 4);
    }
    const als_plan_model_t models[2] = {on, off};
    for (int mi = 0; mi < 2; mi++)
        for (int p = 1; p <= 7; p++) {
            long double cost[NR], total = 0;
            for (int t = 0; t < NR; t++) {
                int64_t n = ptr[t + 1] - ptr[t], w = wptr[t + 1] - wptr[t];
                cost[t] = models[mi].route && n > 0 && als_woodbury_pays(64, n)
                              ? 2 * wood_ref(64, n) + 16384 + (long double)w * 128
                              : kxk_ref(64, n, w);
                total += cost[t];
            }
            int64_t beg[8], ref[8];
            als_plan_blocks(NR, ptr, wptr, models[mi], p, beg);
            ref[0] = 0;
            ref[p] = NR;
            for (int r = 1; r < p; r++) {
                long double pre = 0;
                int t = 0;
                while (t < NR && pre * p < r * total)
                    pre += cost[t++];
                ref[r] = t;
            }
            for (int r = 0; r <= p; r++)
                assert_int_equal(beg[r], ref[r]);
        }
    /* The route moves boundaries: with it, the short rows weigh less. */
    int64_t b_on[3], b_off[3];
    als_plan_blocks(NR, ptr, NULL, on, 2, b_on);
    als_plan_blocks(NR, ptr, NULL, off, 2, b_off);
    assert_int_not_equal(b_on[1], b_off[1]);
}

/* Scatter at one rank reproduces the global arrays and the degrees. */
/* Hot rows: rows above ALS_HOT_CHUNK ratings are cut into fixed chunks
 * placed greedily on the least-loaded rank (ties: the lowest), on top of
 * blocks that count the hot rows' solves only. */
static void test_plan_hot_rows(void **state)
{
    (void)state;
    const int64_t C = ALS_HOT_CHUNK;
    /* rows: 10 ratings, 2.5 C (3 chunks: C, C, C/2), 10, C exactly (not hot) */
    int64_t cnt[4] = {10, 2 * C + C / 2, 10, C}, ptr[5] = {0};
    for (int t = 0; t < 4; t++)
        ptr[t + 1] = ptr[t] + cnt[t];
    int64_t beg[4];
    als_hotplan_t hp;
    assert_int_equal(als_plan_items(4, ptr, als_plan_kxk(8), 3, beg, &hp), 0);
    assert_int_equal(hp.n, 3);
    for (int c = 0; c < 3; c++)
        assert_int_equal(hp.row[c], 1);
    assert_int_equal(hp.first[0], 0);
    assert_int_equal(hp.first[1], C);
    assert_int_equal(hp.first[2], 2 * C);
    assert_int_equal(hp.len[0], C);
    assert_int_equal(hp.len[2], C / 2);
    /* Blocks without the hot row's ratings: row 3 (C ratings) dominates, so
     * it gets a rank of its own; the three chunks go to the two others, the
     * least loaded first (all land on ranks other than row 3's). */
    int r3 = 0;
    while (!(beg[r3] <= 3 && 3 < beg[r3 + 1]))
        r3++;
    for (int c = 0; c < 3; c++)
        assert_int_not_equal(hp.rank[c], r3);
    assert_int_not_equal(hp.rank[0], hp.rank[1]); /* the second chunk goes elsewhere */
    /* Deterministic, and P = 1 puts everything on rank 0. */
    als_hotplan_t h2;
    int64_t b2[4];
    assert_int_equal(als_plan_items(4, ptr, als_plan_kxk(8), 3, b2, &h2), 0);
    assert_memory_equal(hp.rank, h2.rank, 3 * sizeof *hp.rank);
    als_hotplan_free(&h2);
    int64_t b1[2];
    assert_int_equal(als_plan_items(4, ptr, als_plan_kxk(8), 1, b1, &h2), 0);
    for (int c = 0; c < 3; c++)
        assert_int_equal(h2.rank[c], 0);
    als_hotplan_free(&h2);
    als_hotplan_free(&hp);
    assert_false(als_plan_is_hot(C));
    assert_true(als_plan_is_hot(C + 1));
}

static void test_dataset_scatter_single(void **state)
{
    (void)state;
    als_triplets_t r, s;
    ratings(&r);
    memset(&s, 0, sizeof s);
    als_test_add(&s, 10, 30, 0.5);
    als_test_add(&s, 30, 10, 0.25);
    als_global_t g;
    als_data_t d;
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_global_build(&r, &s, ALS_DUP_KEEP, "r", &g, &err), ALS_OK);
    assert_int_equal(als_data_scatter(MPI_COMM_WORLD, 0, &g, als_plan_kxk(ALS_TEST_K), &d, &err), ALS_OK);
    assert_int_equal(d.u1 - d.u0, g.m);
    assert_int_equal(d.lnnz_u, g.nnz);
    assert_memory_equal(d.ucol, g.ucol, g.nnz * sizeof *g.ucol);
    assert_memory_equal(d.irow, g.irow, g.nnz * sizeof *g.irow);
    assert_close(d.wdeg[0], 0.75, 0, 0);
    assert_close(d.wdeg[1], 0.75, 0, 0);
    assert_close(d.wdeg[2], 0.0, 0, 0);
    als_data_free(&d);
    als_global_free(&g);
    als_triplets_free(&r);
    als_triplets_free(&s);
}

int main(int argc, char **argv)
{
    if (als_mpi_init(&argc, &argv, argv[0], NULL) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dataset_ids_and_csr),
        cmocka_unit_test(test_dataset_duplicate_policies),
        cmocka_unit_test(test_dataset_social_w),
        cmocka_unit_test(test_dataset_no_ratings_is_error),
        cmocka_unit_test(test_plan_blocks),
        cmocka_unit_test(test_plan_route),
        cmocka_unit_test(test_plan_hot_rows),
        cmocka_unit_test(test_dataset_scatter_single),
    };
    int rc = cmocka_run_group_tests_name("dataset", tests, NULL, NULL);
    MPI_Finalize();
    return rc;
}
