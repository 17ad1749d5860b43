/* test_checkpoint.c - unit tests of checkpoint/restart (one rank).
 *
 * A run of 5 iterations is compared with one that stops after 2 (written as
 * a checkpoint by the solver loop) and is restored into a fresh solver: the
 * factors and the history must agree bitwise. Damaged files, other
 * parameters and another dataset must be refused with their own codes;
 * a damaged checkpoint.als falls back to checkpoint.prev.als. The
 * multi-rank cases (resume at another P, kills, disk full) are in
 * tests/run-fault-tests.sh. */
#include "als_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "als.h"
#include "als_checkpoint.h"

static char dir[256];

typedef struct {
    als_triplets_t r, s;
    als_global_t g;
    als_data_t d;
    als_options_t o;
    als_solver_t sv;
    als_ckpt_t ck;
} inst_t;

/* A random instance with links; shift changes one rating (another dataset). */
static void build(inst_t *I, int iters, int every, double alpha, double shift)
{
    memset(I, 0, sizeof *I);
    uint64_t st = 11;
    for (int i = 0; i < 30; i++)
        for (int j = 0; j < 20; j++)
            if (als_test_uniform(&st) > 0.3 || j == i % 20)
                als_test_add(&I->r, (uint64_t)i * 3 + 1, (uint64_t)j * 2, 3 + 2 * als_test_uniform(&st));
    I->r.val[0] += shift;
    for (int l = 0; l < 40; l++) {
        uint64_t a = als_test_next(&st) % 32, b = als_test_next(&st) % 32;
        if (a != b)
            als_test_add(&I->s, a * 3 + 1, b * 3 + 1, 1.0);
    }
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_global_build(&I->r, &I->s, ALS_DUP_LAST, "t", &I->g, &err), ALS_OK);
    assert_int_equal(als_data_scatter(MPI_COMM_WORLD, 0, &I->g, als_plan_kxk(ALS_TEST_K), &I->d, &err), ALS_OK);
    als_options_defaults(&I->o);
    I->o.rank_k = 4;
    I->o.lambda_u = I->o.lambda_v = 0.5;
    I->o.alpha = alpha;
    I->o.iters = iters;
    I->o.bias = 1;
    I->o.checkpoint_every = every;
    snprintf(I->o.checkpoint_dir, sizeof I->o.checkpoint_dir, "%s", every ? dir : "");
    snprintf(I->o.resume, sizeof I->o.resume, "%s", every ? "" : dir); /* hash the data */
    assert_int_equal(als_solver_init(MPI_COMM_WORLD, &I->o, &I->d, &I->sv, &err), ALS_OK);
    assert_int_equal(als_ckpt_init(MPI_COMM_WORLD, &I->o, &I->d, NULL, &I->ck, &err), ALS_OK);
    I->sv.ckpt = &I->ck;
}

static void destroy(inst_t *I)
{
    als_solver_free(&I->sv);
    als_data_free(&I->d);
    als_global_free(&I->g);
    als_triplets_free(&I->r);
    als_triplets_free(&I->s);
}

static void path_of(char *p, size_t cap, const char *name)
{
    snprintf(p, cap, "%s/%s", dir, name);
}

static void clear_dir(void)
{
    char p[300];
    path_of(p, sizeof p, ALS_CKPT_NAME);
    unlink(p);
    path_of(p, sizeof p, ALS_CKPT_PREV);
    unlink(p);
}

static void flip_byte(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    if (off < 0) {
        fseek(f, 0, SEEK_END);
        off += ftell(f);
    }
    fseek(f, off, SEEK_SET);
    int c = fgetc(f);
    fseek(f, off, SEEK_SET);
    fputc(c ^ 0x10, f);
    fclose(f);
}

static void test_resume_is_bitwise(void **state)
{
    (void)state;
    clear_dir();
    als_err_t err;
    als_err_clear(&err);
    inst_t full, part, res;
    build(&full, 5, 0, 0.7, 0.0);
    assert_int_equal(als_solver_run(&full.sv, NULL, NULL, &err), ALS_OK);
    build(&part, 2, 2, 0.7, 0.0); /* stops after 2: the loop writes a checkpoint */
    assert_int_equal(als_solver_run(&part.sv, NULL, NULL, &err), ALS_OK);
    assert_int_equal(part.ck.written, 1);
    build(&res, 5, 0, 0.7, 0.0);
    assert_int_equal(als_ckpt_restore(&res.sv, &res.ck, dir, &err), ALS_OK);
    assert_int_equal(res.sv.niters, 2);
    assert_int_equal(res.ck.resumed_from, 2);
    assert_int_equal(als_solver_run(&res.sv, NULL, NULL, &err), ALS_OK);
    assert_int_equal(res.sv.niters, 5);
    int64_t nu = full.d.m * full.sv.k, ni = full.d.n * full.sv.k;
    assert_memory_equal(full.sv.U, res.sv.U, (size_t)nu * sizeof(double));
    assert_memory_equal(full.sv.V, res.sv.V, (size_t)ni * sizeof(double));
    assert_memory_equal(&full.sv.initial, &res.sv.initial, sizeof full.sv.initial);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(res.sv.hist[i].iter, i + 1);
        assert_memory_equal(&full.sv.hist[i].loss, &res.sv.hist[i].loss, sizeof(als_loss_t));
        assert_memory_equal(&full.sv.hist[i].loss_half, &res.sv.hist[i].loss_half, sizeof(double));
    }
    assert_int_equal(full.sv.increases, res.sv.increases);
    assert_memory_equal(&full.sv.max_increase, &res.sv.max_increase, sizeof(double));
    destroy(&full);
    destroy(&part);
    destroy(&res);
}

static void test_refuses_mismatch_and_damage(void **state)
{
    (void)state;
    clear_dir();
    als_err_t err;
    als_err_clear(&err);
    inst_t a;
    build(&a, 2, 2, 0.7, 0.0);
    assert_int_equal(als_solver_run(&a.sv, NULL, NULL, &err), ALS_OK);
    char p[300];
    path_of(p, sizeof p, ALS_CKPT_NAME);
    int n;
    als_iter_t *h;
    int64_t m = a.d.m, nn = a.d.n;
    int k = a.sv.k;
    double *U = malloc((size_t)(m * k) * sizeof *U), *V = malloc((size_t)(nn * k) * sizeof *V);
    assert_int_equal(als_ckpt_read(p, &a.ck, m, nn, k, U, V, &n, &h, &err), ALS_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(U, a.sv.U, (size_t)(m * k) * sizeof *U);
    free(h);

    /* other parameters: named */
    inst_t b;
    build(&b, 4, 0, 0.25, 0.0);
    als_err_clear(&err);
    assert_int_equal(als_ckpt_read(p, &b.ck, m, nn, k, U, V, &n, &h, &err), ALS_ERR_ARG);
    assert_non_null(strstr(err.msg, "written with --alpha 0.7, this run has --alpha 0.25"));
    destroy(&b);
    /* another dataset (same shape, one rating changed) */
    build(&b, 4, 0, 0.7, 0.5);
    assert_true(b.ck.data_hash != a.ck.data_hash);
    als_err_clear(&err);
    assert_int_equal(als_ckpt_read(p, &b.ck, m, nn, k, U, V, &n, &h, &err), ALS_ERR_DATA);
    assert_non_null(strstr(err.msg, "dataset differs"));
    destroy(&b);
    /* another shape */
    als_err_clear(&err);
    assert_int_equal(als_ckpt_read(p, &a.ck, m, nn, k - 1, U, V, &n, &h, &err), ALS_ERR_DATA);
    /* a flipped byte anywhere: checksum, never a parameter difference */
    long offs[] = {30, 200, -9, -1};
    for (int i = 0; i < 4; i++) {
        flip_byte(p, offs[i]);
        als_err_clear(&err);
        assert_int_equal(als_ckpt_read(p, &a.ck, m, nn, k, U, V, &n, &h, &err), ALS_ERR_FORMAT);
        assert_non_null(strstr(err.msg, "checksum mismatch"));
        flip_byte(p, offs[i]);
    }
    /* truncated */
    assert_int_equal(truncate(p, 500), 0);
    als_err_clear(&err);
    assert_int_equal(als_ckpt_read(p, &a.ck, m, nn, k, U, V, &n, &h, &err), ALS_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "truncated or corrupted"));
    free(U);
    free(V);
    destroy(&a);
}

static void test_falls_back_to_previous(void **state)
{
    (void)state;
    clear_dir();
    als_err_t err;
    als_err_clear(&err);
    inst_t a, r;
    build(&a, 4, 2, 0.7, 0.0); /* checkpoints after 2 and 4 */
    assert_int_equal(als_solver_run(&a.sv, NULL, NULL, &err), ALS_OK);
    assert_int_equal(a.ck.written, 2);
    char p[300];
    path_of(p, sizeof p, ALS_CKPT_NAME);
    flip_byte(p, 400);
    build(&r, 4, 0, 0.7, 0.0);
    assert_int_equal(als_ckpt_restore(&r.sv, &r.ck, dir, &err), ALS_OK);
    assert_int_equal(r.sv.niters, 2); /* the previous one */
    destroy(&r);
    /* both damaged: an error naming both */
    char q[300];
    path_of(q, sizeof q, ALS_CKPT_PREV);
    flip_byte(q, 400);
    build(&r, 4, 0, 0.7, 0.0);
    assert_int_equal(als_ckpt_restore(&r.sv, &r.ck, dir, &err), ALS_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "previous checkpoint"));
    destroy(&r);
    /* none at all */
    clear_dir();
    build(&r, 4, 0, 0.7, 0.0);
    als_err_clear(&err);
    assert_int_equal(als_ckpt_restore(&r.sv, &r.ck, dir, &err), ALS_ERR_IO);
    assert_non_null(strstr(err.msg, "no checkpoint there"));
    destroy(&r);
    destroy(&a);
}

static void test_params_text(void **state)
{
    (void)state;
    als_options_t o;
    als_options_defaults(&o);
    char a[ALS_CKPT_PARAMS_MAX], b[ALS_CKPT_PARAMS_MAX];
    als_ckpt_params_text(&o, a, sizeof a);
    assert_non_null(strstr(a, "--lambda-u\t0.1\n"));
    assert_non_null(strstr(a, "--seed\t42\n"));
    o.iters = 99; /* may change on resume */
    o.tol = 1e-3;
    o.threads = 3;
    als_ckpt_params_text(&o, b, sizeof b);
    assert_string_equal(a, b);
    o.lambda_v = 0.1 + 1e-16; /* the last bit of a double counts */
    als_ckpt_params_text(&o, b, sizeof b);
    assert_string_not_equal(a, b);
}

int main(int argc, char **argv)
{
    if (als_mpi_init(&argc, &argv, argv[0], NULL) != 0)
        return 1;
    if (als_test_tmpdir(dir, sizeof dir, "ckpt") != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_is_bitwise),
        cmocka_unit_test(test_refuses_mismatch_and_damage),
        cmocka_unit_test(test_falls_back_to_previous),
        cmocka_unit_test(test_params_text),
    };
    int rc = cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
    if (als_test_rmtree(dir) != 0)
        rc = rc ? rc : 1;
    MPI_Finalize();
    return rc;
}
