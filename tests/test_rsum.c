/* test_rsum.c - the exact reproducible sum (als_rsum). */
#include "als_test.h"
#include "als_rsum.h"

#include <float.h>
#include <string.h>

static double sum_of(const double *x, int n)
{
    als_rsum_t a;
    als_rsum_init(&a);
    for (int i = 0; i < n; i++)
        als_rsum_add(&a, x[i]);
    return als_rsum_value(&a);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Cancellation that plain summation loses entirely. */
static void test_cancellation(void **state)
{
    (void)state;
    double x[] = {1e100, 1.0, -1e100, 1e-300, -1e-300, 3.0};
    assert_true(same_bits(sum_of(x, 6), 4.0));
    double y[] = {0x1p1023, 0x1p1023, -0x1p1023, -0x1p1023, 0x1p-1074};
    assert_true(same_bits(sum_of(y, 5), 0x1p-1074)); /* the intermediate overflows a double */
}

/* Ten copies of 0.1: exact sum 1 + 5.55e-17, which rounds to 1.0; a naive
 * loop gives 0.9999999999999999. */
static void test_correct_rounding(void **state)
{
    (void)state;
    double x[10];
    for (int i = 0; i < 10; i++)
        x[i] = 0.1;
    assert_true(same_bits(sum_of(x, 10), 1.0));
    double naive = 0.0;
    for (int i = 0; i < 10; i++)
        naive += x[i];
    assert_false(same_bits(naive, 1.0)); /* the oracle is not trivial */
    /* Ties to even, and the sticky bit below the tie. */
    double t1[] = {1.0, 0x1p-53};
    assert_true(same_bits(sum_of(t1, 2), 1.0));
    double t2[] = {1.0, 0x1p-53, 0x1p-200};
    assert_true(same_bits(sum_of(t2, 3), 1.0 + 0x1p-52));
    double t3[] = {1.0 + 0x1p-52, 0x1p-53};
    assert_true(same_bits(sum_of(t3, 2), 1.0 + 0x1p-51));
    double t4[] = {-1.0, -0x1p-53, -0x1p-200};
    assert_true(same_bits(sum_of(t4, 3), -1.0 - 0x1p-52));
    double t5[] = {-3.0, 1.0};
    assert_true(same_bits(sum_of(t5, 2), -2.0));
    double t6[] = {DBL_MAX, DBL_MAX};
    assert_true(isinf(sum_of(t6, 2)) && sum_of(t6, 2) > 0);
}

/* Integers scaled by powers of two: the exact sum is known. */
static void test_exact_integers(void **state)
{
    (void)state;
    uint64_t seed = 11;
    for (int rep = 0; rep < 50; rep++) {
        int n = 1 + (int)(als_test_next(&seed) % 500);
        int sh = (int)(als_test_next(&seed) % 2000) - 1000;
        double x[500];
        int64_t exact = 0;
        for (int i = 0; i < n; i++) {
            int64_t v = (int64_t)(als_test_next(&seed) % 2000001) - 1000000;
            exact += v;
            x[i] = ldexp((double)v, sh);
        }
        assert_true(same_bits(sum_of(x, n), ldexp((double)exact, sh)));
    }
}

/* Order, blocking and merging do not change a bit. */
static void test_order_independent(void **state)
{
    (void)state;
    uint64_t seed = 5;
    double x[1000];
    for (int i = 0; i < 1000; i++)
        x[i] = ldexp((double)(als_test_next(&seed) >> 11) - 0x1p52,
                     (int)(als_test_next(&seed) % 200) - 100);
    double ref = sum_of(x, 1000);
    for (int rep = 0; rep < 20; rep++) {
        for (int i = 999; i > 0; i--) { /* shuffle */
            int j = (int)(als_test_next(&seed) % (uint64_t)(i + 1));
            double t = x[i]; x[i] = x[j]; x[j] = t;
        }
        int cut = (int)(als_test_next(&seed) % 1000);
        als_rsum_t a, b;
        als_rsum_init(&a);
        als_rsum_init(&b);
        for (int i = 0; i < cut; i++)
            als_rsum_add(&a, x[i]);
        for (int i = cut; i < 1000; i++)
            als_rsum_add(&b, x[i]);
        als_rsum_merge(&b, &a);
        assert_true(same_bits(als_rsum_value(&b), ref));
    }
}

static void test_nonfinite(void **state)
{
    (void)state;
    double a[] = {1.0, INFINITY};
    assert_true(isinf(sum_of(a, 2)));
    double b[] = {INFINITY, -INFINITY};
    assert_true(isnan(sum_of(b, 2)));
    double c[] = {NAN, 1.0};
    assert_true(isnan(sum_of(c, 2)));
    assert_true(same_bits(sum_of(NULL, 0), 0.0));
}

/* The reduction over ranks gives the same bits as one local sum (run under
 * mpirun with any P by make mpi-test; here on MPI_COMM_WORLD of this
 * process). */
static void test_allreduce(void **state)
{
    (void)state;
    int rank, p;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &p);
    double x[64];
    uint64_t seed = 99;
    for (int i = 0; i < 64; i++)
        x[i] = ldexp((double)(als_test_next(&seed) >> 11), (int)(als_test_next(&seed) % 60) - 30)
               * (i % 3 ? 1 : -1);
    double ref = sum_of(x, 64);
    als_rsum_t a;
    als_rsum_init(&a);
    for (int i = rank; i < 64; i += p)
        als_rsum_add(&a, x[i]);
    assert_int_equal(als_rsum_allreduce(MPI_COMM_WORLD, &a, 1), MPI_SUCCESS);
    assert_true(same_bits(als_rsum_value(&a), ref));
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancellation),
        cmocka_unit_test(test_correct_rounding),
        cmocka_unit_test(test_exact_integers),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_allreduce),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    MPI_Finalize();
    return rc;
}
