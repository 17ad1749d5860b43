/* test_ranking.c - unit tests of the top-N ranking metrics (als_ranking.h). */
#include <stdlib.h>
#include <string.h>

#include "als_ranking.h"
#include "als_test.h"

/* The hand example. 8 items with scores
 *   item:   0    1    2    3    4     5    6    7
 *   score: 0.9  0.8  0.8  0.7  0.95  0.1  0.8  NaN
 * User A: training items {4} (excluded), held-out (item, rating)
 *   (2, 5) (6, 4) (3, 2) (4, 5), threshold T = 4:
 *   item 3 is below T, item 4 is a training item -> Rel = {2, 6}.
 *   Ranking of the candidates: 0 (0.9); 1, 2, 6 (0.8, ties by index); 3;
 *   5; 7 (NaN last). Top-3 = [0, 1, 2]: one hit (item 2) at position 3.
 *   precision@3 = 1/3
 *   recall@3    = 1/2
 *   DCG  = 1/log2(3 + 1) = 0.5
 *   IDCG = 1/log2(2) + 1/log2(3) = 1 + 0.6309297535714575 = 1.6309297535714575
 *   NDCG = 0.5 / 1.6309297535714575 = 0.3065735963827292
 *   AP   = (1/3) / min(3, 2) = 1/6
 * User B: no training items, Rel = {0, 1}: top-3 = [4, 0, 1]: hits at 2, 3.
 *   precision@3 = 2/3, recall@3 = 2/2 = 1
 *   DCG  = 1/log2(3) + 1/log2(4) = 0.6309297535714575 + 0.5 = 1.1309297535714575
 *   NDCG = 1.1309297535714575 / 1.6309297535714575 = 0.6934264036172708
 *   AP   = (1/2 + 2/3) / 2 = 7/12
 * User C: held-out items all rated below T -> no relevant item: counted apart.
 * Means over A and B: precision (1/3 + 2/3)/2 = 0.5, recall (1/2 + 1)/2 = 0.75,
 *   NDCG (0.5 + 1.1309297535714575)/1.6309297535714575/2 = 0.5,
 *   MAP (1/6 + 7/12)/2 = 9/24 = 0.375. */
static const double SC[8] = {0.9, 0.8, 0.8, 0.7, 0.95, 0.1, 0.8, NAN};

static void test_ranking_hand_example(void **state)
{
    (void)state;
    int64_t top[10], rel[8];
    als_rank_user_t a, b, c;
    als_rank_acc_t acc;
    als_rank_acc_init(&acc);

    /* User A. */
    const int64_t trainA[1] = {4};
    int64_t itA[4] = {2, 6, 3, 4};
    double vA[4] = {5, 4, 2, 5};
    assert_int_equal(als_rank_topn(3, 8, SC, trainA, 1, top), 3);
    assert_true(top[0] == 0 && top[1] == 1 && top[2] == 2);
    int64_t nrel = als_rank_relevant(4, itA, vA, 4.0, trainA, 1, rel);
    assert_int_equal(nrel, 2);
    assert_true(rel[0] == 2 && rel[1] == 6);
    assert_int_equal(als_rank_user_metrics(3, top, 3, rel, nrel, &a), 0);
    assert_int_equal(a.hits, 1);
    assert_close(a.precision, 1.0 / 3.0, 1e-15, 0);
    assert_close(a.recall, 0.5, 1e-15, 0);
    assert_close(a.ndcg, 0.3065735963827292, 1e-15, 0);
    assert_close(a.ap, 1.0 / 6.0, 1e-15, 0);
    als_rank_acc_add(&acc, &a);

    /* User B. */
    int64_t itB[2] = {1, 0};
    double vB[2] = {4.5, 4};
    assert_int_equal(als_rank_topn(3, 8, SC, NULL, 0, top), 3);
    assert_true(top[0] == 4 && top[1] == 0 && top[2] == 1);
    nrel = als_rank_relevant(2, itB, vB, 4.0, NULL, 0, rel);
    assert_int_equal(nrel, 2);
    assert_int_equal(als_rank_user_metrics(3, top, 3, rel, nrel, &b), 0);
    assert_int_equal(b.hits, 2);
    assert_close(b.precision, 2.0 / 3.0, 1e-15, 0);
    assert_close(b.recall, 1.0, 1e-15, 0);
    assert_close(b.ndcg, 0.6934264036172708, 1e-15, 0);
    assert_close(b.ap, 7.0 / 12.0, 1e-15, 0);
    als_rank_acc_add(&acc, &b);

    /* User C. */
    int64_t itC[2] = {3, 5};
    double vC[2] = {1, 3.5};
    nrel = als_rank_relevant(2, itC, vC, 4.0, NULL, 0, rel);
    assert_int_equal(nrel, 0);
    assert_int_equal(als_rank_user_metrics(3, top, 3, rel, nrel, &c), 0);
    als_rank_acc_add(&acc, &c);

    als_rank_result_t res;
    als_rank_acc_result(&acc, 3, &res);
    assert_int_equal(res.users, 2);
    assert_int_equal(res.no_relevant, 1);
    assert_int_equal(res.hits, 3);
    assert_close(res.precision, 0.5, 1e-15, 0);
    assert_close(res.recall, 0.75, 1e-15, 0);
    assert_close(res.ndcg, 0.5, 1e-15, 0);
    assert_close(res.map, 0.375, 1e-15, 0);
}

/* More candidates asked for than exist; the NaN item is last; N = 1. */
static void test_ranking_topn_edges(void **state)
{
    (void)state;
    int64_t top[10];
    const int64_t excl[3] = {4, 4, 7}; /* duplicates allowed */
    assert_int_equal(als_rank_topn(10, 8, SC, excl, 3, top), 6);
    const int64_t want[6] = {0, 1, 2, 6, 3, 5};
    assert_memory_equal(top, want, sizeof want);
    assert_int_equal(als_rank_topn(10, 8, SC, NULL, 0, top), 8);
    assert_int_equal(top[7], 7);
    assert_int_equal(als_rank_topn(1, 8, SC, NULL, 0, top), 1);
    assert_int_equal(top[0], 4);
    const int64_t unsorted[2] = {5, 1}, outside[1] = {8};
    assert_int_equal(als_rank_topn(3, 8, SC, unsorted, 2, top), -1);
    assert_int_equal(als_rank_topn(3, 8, SC, outside, 1, top), -1);
    /* Fewer relevant than N: IDCG and AP use min(N, |Rel|); a perfect list
     * scores 1. */
    const int64_t rel1[1] = {4};
    als_rank_user_t m;
    assert_int_equal(als_rank_user_metrics(10, top, 1, rel1, 1, &m), 0);
    assert_true(m.ndcg == 1.0 && m.ap == 1.0 && m.recall == 1.0);
    assert_close(m.precision, 0.1, 1e-15, 0);
    const int64_t relbad[2] = {3, 3};
    assert_int_equal(als_rank_user_metrics(10, top, 1, relbad, 2, &m), -1);
}

typedef struct {
    double s;
    int64_t j;
} sj_t;

static int cmp_sj(const void *a, const void *b)
{
    const sj_t *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

/* The heap selection equals a full sort (score desc, index asc) on random
 * scores with many ties and random exclusions. */
static void test_ranking_topn_vs_sort(void **state)
{
    (void)state;
    uint64_t seed = 31;
    for (int rep = 0; rep < 200; rep++) {
        int64_t n = 1 + (int64_t)(als_test_next(&seed) % 300);
        int N = 1 + (int)(als_test_next(&seed) % 40);
        double *s = malloc((size_t)n * sizeof *s);
        int64_t *excl = malloc((size_t)n * sizeof *excl), *top = malloc((size_t)N * sizeof *top);
        sj_t *all = malloc((size_t)n * sizeof *all);
        int64_t ne = 0, na = 0;
        for (int64_t j = 0; j < n; j++) {
            s[j] = (double)(als_test_next(&seed) % 7); /* ties */
            if (als_test_next(&seed) % 4 == 0)
                excl[ne++] = j;
            else
                all[na++] = (sj_t){s[j], j};
        }
        qsort(all, (size_t)na, sizeof *all, cmp_sj);
        int64_t got = als_rank_topn(N, n, s, excl, ne, top);
        assert_int_equal(got, na < N ? na : N);
        for (int64_t p = 0; p < got; p++)
            assert_int_equal(top[p], all[p].j);
        free(s); free(excl); free(top); free(all);
    }
}

/* Exact sums: any order and any split of the users into parts (ranks) gives
 * bitwise the same means, through pack/unpack as over MPI; they equal the
 * plain mean to rounding. */
static void test_ranking_acc_exact(void **state)
{
    (void)state;
    uint64_t seed = 5;
    enum { NU = 1000 };
    als_rank_user_t *u = malloc(NU * sizeof *u);
    double plain = 0.0;
    for (int t = 0; t < NU; t++) {
        u[t].nrel = 1 + (int64_t)(als_test_next(&seed) % 5);
        u[t].hits = (int64_t)(als_test_next(&seed) % 3);
        u[t].precision = 0.5 * (als_test_uniform(&seed) + 1.0);
        u[t].recall = 0.5 * (als_test_uniform(&seed) + 1.0) * 1e-3;
        u[t].ndcg = 0.5 * (als_test_uniform(&seed) + 1.0);
        u[t].ap = t % 3 ? 1.0 / 3.0 : 0.0;
        plain += u[t].ndcg;
    }
    als_rank_acc_t fwd, parts[7], sum;
    als_rank_acc_init(&fwd);
    for (int t = 0; t < NU; t++)
        als_rank_acc_add(&fwd, &u[t]);
    for (int q = 0; q < 7; q++)
        als_rank_acc_init(&parts[q]);
    for (int t = NU - 1; t >= 0; t--) /* reversed, round-robin over 7 parts */
        als_rank_acc_add(&parts[(t * 5) % 7], &u[t]);
    int64_t words[ALS_RANK_ACC_WORDS], tot[ALS_RANK_ACC_WORDS] = {0};
    for (int q = 6; q >= 0; q--) { /* an "Allreduce" in yet another order */
        als_rank_acc_pack(&parts[q], words);
        for (int x = 0; x < ALS_RANK_ACC_WORDS; x++)
            tot[x] += words[x];
    }
    als_rank_acc_unpack(tot, &sum);
    als_rank_result_t r1, r2;
    memset(&r1, 0x55, sizeof r1);
    memset(&r2, 0xaa, sizeof r2);
    als_rank_acc_result(&fwd, 10, &r1);
    als_rank_acc_result(&sum, 10, &r2);
    assert_memory_equal(&r1, &r2, sizeof r1);
    const double m1[4] = {r1.precision, r1.recall, r1.ndcg, r1.map};
    const double m2[4] = {r2.precision, r2.recall, r2.ndcg, r2.map};
    assert_memory_equal(m1, m2, sizeof m1);
    assert_int_equal(r1.users, NU);
    assert_close(r1.ndcg, plain / NU, 1e-14, 0);
    assert_close(r1.map, (666.0 / 3.0) / NU, 1e-14, 0);
    /* No user: NaN means, not 0. */
    als_rank_acc_t empty;
    als_rank_acc_init(&empty);
    als_rank_acc_result(&empty, 10, &r1);
    assert_true(isnan(r1.ndcg) && r1.users == 0);
    free(u);
}

/* Scores are u . V[j] in fixed order. */
static void test_ranking_scores(void **state)
{
    (void)state;
    const double V[6] = {1, 2, 3, 4, 5, 6}, u[2] = {0.5, -1};
    double s[3];
    als_rank_scores(2, 3, V, u, s);
    assert_true(s[0] == -1.5 && s[1] == -2.5 && s[2] == -3.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranking_hand_example),
        cmocka_unit_test(test_ranking_topn_edges),
        cmocka_unit_test(test_ranking_topn_vs_sort),
        cmocka_unit_test(test_ranking_acc_exact),
        cmocka_unit_test(test_ranking_scores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
