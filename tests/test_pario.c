/* test_pario.c - unit tests of the collective factor I/O (als_pario), run
 * at 1 rank (make unit) and under mpirun at 3 and 4 ranks (make unit,
 * make mpi-test). Every case runs on sub-communicators of 1, 2, ... up to
 * all ranks, so one 3-rank run covers P = 1, 2, 3.
 *
 * The files written collectively must be byte-identical to the serial
 * writers' (als_npy_write, als_output_ids), for block plans where some
 * ranks own no rows, k = 1, and MPI-IO pieces smaller than a row
 * (ALS_PARIO_CHUNK). Reads fill only the first cols entries of wider rows;
 * a bad header, shape, truncation or a NaN is an agreed error naming the
 * file. A checkpoint written by all ranks is restored at every P with
 * another row split, and damage in one row is found at every P. */
#include "als_test.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "als_checkpoint.h"
#include "als_npy.h"
#include "als_output.h"
#include "als_pario.h"

static char dir[256];
static int wrank, wsize;

/* The sub-communicator of ranks [0, p) (MPI_COMM_NULL on the others). */
static MPI_Comm sub(int p)
{
    MPI_Comm c;
    MPI_Comm_split(MPI_COMM_WORLD, wrank < p ? 0 : MPI_UNDEFINED, wrank, &c);
    return c;
}

/* Value of element (t, c): varied bits, signed zeros, subnormals, large. */
static double val(int64_t t, int c)
{
    switch ((t * 7 + c) % 5) {
    case 0: return -0.0;
    case 1: return 4.9e-324 * (double)(t + 1);
    case 2: return 1e300 / (double)(t + c + 1);
    default: return (double)t - 0.3 * c + 1.0 / 3.0;
    }
}

/* Byte comparison of two files on rank 0 of comm, the answer on every rank. */
static int same_file(MPI_Comm comm, const char *a, const char *b)
{
    int rank, same = 0;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0) {
        FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
        same = fa && fb;
        while (same) {
            int ca = fgetc(fa), cb = fgetc(fb);
            same = ca == cb;
            if (ca == EOF)
                break;
        }
        if (fa)
            fclose(fa);
        if (fb)
            fclose(fb);
    }
    MPI_Bcast(&same, 1, MPI_INT, 0, comm);
    return same;
}

static void path_of(char *p, size_t cap, const char *name, int tag)
{
    snprintf(p, cap, "%s/%s.%d", dir, name, tag);
}

/* Rows of rank r of p in a block plan of n rows; plan 1 puts everything on
 * the last rank (all others own none), plan 0 gives the first ranks fewer. */
static void block(int plan, int64_t n, int r, int p, int64_t *b, int64_t *e)
{
    if (plan == 1) {
        *b = r == p - 1 ? 0 : 0;
        *e = r == p - 1 ? n : 0;
        return;
    }
    *b = n * r / p;
    *e = n * (r + 1) / p;
}

static void test_npy_byte_identical(void **state)
{
    (void)state;
    static const int64_t shapes[][2] = {{7, 3}, {2, 1}, {0, 2}, {5, 1}, {1, 4}, {13, 5}};
    static const char *chunks[] = {"", "24", "8"};
    int tag = 0;
    for (int ch = 0; ch < 3; ch++) {
        setenv("ALS_PARIO_CHUNK", chunks[ch], 1);
        for (int p = 1; p <= wsize; p++) {
            MPI_Comm c = sub(p);
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
                for (int plan = 0; plan < 2; plan++) {
                    tag++;
                    if (c == MPI_COMM_NULL)
                        continue;
                    int64_t n = shapes[s][0];
                    int k = (int)shapes[s][1], r;
                    MPI_Comm_rank(c, &r);
                    int64_t b, e;
                    block(plan, n, r, p, &b, &e);
                    double *mine = malloc((size_t)((e - b) * k + 1) * sizeof *mine);
                    for (int64_t t = b; t < e; t++)
                        for (int j = 0; j < k; j++)
                            mine[(t - b) * k + j] = val(t, j);
                    char ref[300], got[300];
                    path_of(ref, sizeof ref, "ref.npy", tag);
                    path_of(got, sizeof got, "par.npy", tag);
                    als_err_t err;
                    als_err_clear(&err);
                    if (r == 0) {
                        double *full = malloc((size_t)(n * k + 1) * sizeof *full);
                        for (int64_t t = 0; t < n; t++)
                            for (int j = 0; j < k; j++)
                                full[t * k + j] = val(t, j);
                        assert_int_equal(als_npy_write(ref, full, n, k, &err), ALS_OK);
                        free(full);
                    }
                    assert_int_equal(als_pario_write_npy(c, got, mine, b, e - b, n, k, &err),
                                     ALS_OK);
                    if (!same_file(c, ref, got))
                        fail_msg("P=%d %" PRId64 "x%d plan %d chunk '%s': %s differs from %s", p,
                                 n, k, plan, chunks[ch], got, ref);
                    free(mine);
                }
            if (c != MPI_COMM_NULL)
                MPI_Comm_free(&c);
        }
    }
    setenv("ALS_PARIO_CHUNK", "", 1);
}

static void test_npy_write_refuses(void **state)
{
    (void)state;
    int p = wsize;
    als_err_t err;
    char path[300];
    path_of(path, sizeof path, "exists.npy", 0);
    double x[4] = {1, 2, 3, 4};
    if (wrank == 0) {
        FILE *f = fopen(path, "w");
        fputs("keep", f);
        fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    /* an existing file is never overwritten */
    als_err_clear(&err);
    assert_int_equal(als_pario_write_npy(MPI_COMM_WORLD, path, x, wrank == 0 ? 0 : 2,
                                         wrank == 0 ? 2 : 0, 2, 2, &err), ALS_ERR_IO);
    assert_non_null(strstr(err.msg, "exists.npy.0: cannot create: File exists"));
    /* nor is a planted symlink followed */
    char link[300], victim[300];
    path_of(link, sizeof link, "link.npy", 0);
    path_of(victim, sizeof victim, "victim.txt", 0);
    if (wrank == 0) {
        FILE *f = fopen(victim, "w");
        fputs("victim", f);
        fclose(f);
        assert_int_equal(symlink(victim, link), 0);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    als_err_clear(&err);
    assert_int_equal(als_pario_write_npy(MPI_COMM_WORLD, link, x, wrank == 0 ? 0 : 2,
                                         wrank == 0 ? 2 : 0, 2, 2, &err), ALS_ERR_IO);
    assert_non_null(strstr(err.msg, "link.npy.0: cannot create"));
    if (wrank == 0) {
        struct stat st;
        assert_int_equal(stat(victim, &st), 0);
        assert_int_equal(st.st_size, 6);
    }
    /* a plan that is not contiguous: an agreed ALS_ERR_ARG, no file */
    path_of(path, sizeof path, "gap.npy", 0);
    als_err_clear(&err);
    int rc = als_pario_write_npy(MPI_COMM_WORLD, path, x, wrank == 0 ? 0 : 1 + 2 * wrank, 1,
                                 1 + 2 * (int64_t)p, 2, &err);
    if (p == 1)
        assert_int_equal(rc, ALS_ERR_ARG); /* ends at 1 of 3 */
    else {
        assert_int_equal(rc, ALS_ERR_ARG);
        assert_non_null(strstr(err.msg, "gap.npy.0: rank 1 holds rows [3, 4)"));
    }
    assert_int_equal(access(path, F_OK), -1);
}

/* Rank 0 writes a 9×3 matrix with als_npy_write; every P reads blocks of it. */
static void test_read_rows(void **state)
{
    (void)state;
    const int64_t n = 9;
    const int k = 3;
    char path[300];
    path_of(path, sizeof path, "in.npy", 0);
    als_err_t err;
    als_err_clear(&err);
    if (wrank == 0) {
        double a[27];
        for (int64_t t = 0; t < n; t++)
            for (int j = 0; j < k; j++)
                a[t * k + j] = val(t, j);
        assert_int_equal(als_npy_write(path, a, n, k, &err), ALS_OK);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    static const char *chunks[] = {"", "16"};
    for (int ch = 0; ch < 2; ch++) {
        setenv("ALS_PARIO_CHUNK", chunks[ch], 1);
        for (int p = 1; p <= wsize; p++) {
            MPI_Comm c = sub(p);
            if (c == MPI_COMM_NULL)
                continue;
            for (int plan = 0; plan < 4; plan++) {
                const int width = plan < 2 ? 5 : 3; /* staged, or straight into dst */
                int r;
                MPI_Comm_rank(c, &r);
                int64_t b, e;
                block(plan % 2, n, r, p, &b, &e);
                double dst[9 * 5];
                for (int i = 0; i < 45; i++)
                    dst[i] = 777.0;
                assert_int_equal(als_pario_read_npy_rows(c, path, b, e - b, n, k, width, dst, &err),
                                 ALS_OK);
                for (int64_t t = b; t < e; t++)
                    for (int j = 0; j < width; j++) {
                        double want = j < k ? val(t, j) : 777.0;
                        assert_memory_equal(&dst[(t - b) * width + j], &want, sizeof want);
                    }
            }
            MPI_Comm_free(&c);
        }
    }
    setenv("ALS_PARIO_CHUNK", "", 1);
}

/* Every error: the same code and message on every rank, naming the file. */
static void expect_read_error(const char *name, int64_t rows, int cols, int code,
                              const char *what)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    double dst[64];
    als_err_t err;
    als_err_clear(&err);
    int64_t b = rows * wrank / wsize, e = rows * (wrank + 1) / wsize;
    int rc = als_pario_read_npy_rows(MPI_COMM_WORLD, path, b, e - b, rows, cols, cols + 1, dst,
                                     &err);
    if (rc != code || !strstr(err.msg, name) || !strstr(err.msg, what))
        fail_msg("%s: code %d (expected %d), message '%s' (expected '%s')", name, rc, code,
                 err.msg, what);
    int codes[2] = {rc, -rc}, ext[2];
    MPI_Allreduce(codes, ext, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    assert_int_equal(ext[0], -ext[1]);
}

static void test_read_errors(void **state)
{
    (void)state;
    als_err_t err;
    als_err_clear(&err);
    if (wrank == 0) {
        double a[30];
        for (int i = 0; i < 30; i++)
            a[i] = i;
        char p[300];
        snprintf(p, sizeof p, "%s/good.npy", dir);
        assert_int_equal(als_npy_write(p, a, 10, 3, &err), ALS_OK);
        a[16] = NAN;
        snprintf(p, sizeof p, "%s/nan.npy", dir);
        assert_int_equal(als_npy_write(p, a, 10, 3, &err), ALS_OK);
        a[16] = 1.0;
        a[29] = -INFINITY;
        snprintf(p, sizeof p, "%s/inf.npy", dir);
        assert_int_equal(als_npy_write(p, a, 10, 3, &err), ALS_OK);
        snprintf(p, sizeof p, "%s/trunc.npy", dir);
        assert_int_equal(als_npy_write(p, a, 10, 3, &err), ALS_OK);
        assert_int_equal(truncate(p, 128 + 8 * 29), 0);
        snprintf(p, sizeof p, "%s/trail.npy", dir);
        assert_int_equal(als_npy_write(p, a, 10, 3, &err), ALS_OK);
        FILE *f = fopen(p, "ab");
        fputc(0, f);
        fclose(f);
        snprintf(p, sizeof p, "%s/magic.npy", dir);
        f = fopen(p, "wb");
        fputs("PK\003\004 this is a zip file, not an array .............................", f);
        fclose(f);
        snprintf(p, sizeof p, "%s/f4.npy", dir);
        f = fopen(p, "wb");
        char h[128];
        memset(h, ' ', sizeof h);
        memcpy(h, "\x93NUMPY\x01\x00\x76\x00", 10);
        const char *d = "{'descr': '<f4', 'fortran_order': False, 'shape': (10, 3), }";
        memcpy(h + 10, d, strlen(d));
        h[127] = '\n';
        fwrite(h, 1, 128, f);
        fwrite(a, 4, 30, f);
        fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    expect_read_error("good.npy", 10, 4, ALS_ERR_DATA, "shape (10, 3), expected (10, 4)");
    expect_read_error("good.npy", 11, 3, ALS_ERR_DATA, "shape (10, 3), expected (11, 3)");
    expect_read_error("nan.npy", 10, 3, ALS_ERR_DATA, "element 16 is not finite (row 5, column 1)");
    expect_read_error("inf.npy", 10, 3, ALS_ERR_DATA, "element 29 is not finite (row 9, column 2)");
    expect_read_error("trunc.npy", 10, 3, ALS_ERR_FORMAT, "truncated");
    expect_read_error("trail.npy", 10, 3, ALS_ERR_FORMAT, "trailing bytes");
    expect_read_error("magic.npy", 10, 3, ALS_ERR_FORMAT, "not a .npy file");
    expect_read_error("f4.npy", 10, 3, ALS_ERR_FORMAT, "dtype '<f4', expected '<f8'");
    expect_read_error("missing.npy", 10, 3, ALS_ERR_IO, "cannot open");
}

static void test_ids_byte_identical(void **state)
{
    (void)state;
    const int64_t n = 11;
    uint64_t ids[11];
    for (int64_t t = 0; t < n; t++)
        ids[t] = t == 3 ? UINT64_MAX : t == 4 ? 0 : (uint64_t)t * 1000003u + 7;
    int tag = 0;
    for (int p = 1; p <= wsize; p++) {
        MPI_Comm c = sub(p);
        for (int plan = 0; plan < 2; plan++)
            for (int64_t len = 0; len <= n; len += n) {
                tag++;
                if (c == MPI_COMM_NULL)
                    continue;
                int r;
                MPI_Comm_rank(c, &r);
                char rdir[300], got[300], ref[320];
                snprintf(rdir, sizeof rdir, "%s/ids%d", dir, tag);
                snprintf(ref, sizeof ref, "%s/ids.txt", rdir);
                path_of(got, sizeof got, "ids.txt", tag);
                als_err_t err;
                als_err_clear(&err);
                if (r == 0) {
                    als_output_t *o = malloc(sizeof *o); /* large: on the heap */
                    assert_non_null(o);
                    assert_int_equal(als_output_begin(o, rdir, &err), ALS_OK);
                    assert_int_equal(als_output_ids(o, "ids.txt", ids, len, &err), ALS_OK);
                    assert_int_equal(als_output_commit(o, &err), ALS_OK);
                    free(o);
                }
                int64_t b, e;
                block(plan, len, r, p, &b, &e);
                assert_int_equal(als_pario_write_ids(c, got, ids + b, e - b, &err), ALS_OK);
                if (!same_file(c, ref, got))
                    fail_msg("P=%d plan %d: %s differs from %s", p, plan, got, ref);
            }
        if (c != MPI_COMM_NULL)
            MPI_Comm_free(&c);
    }
}

/* Checkpoint state written by all ranks (rows in blocks) and restored at
 * every P from 1 to all ranks with another split: rows, history and
 * loss-check state bitwise; a flipped byte in a V row is found at every P. */
static void ckpt_setup(als_ckpt_t *c, const char *cdir)
{
    memset(c, 0, sizeof *c);
    c->every = 1;
    snprintf(c->dir, sizeof c->dir, "%s", cdir);
    snprintf(c->params, sizeof c->params, "--rank\t2\n--bias\tyes\n");
    c->param_hash = als_ckpt_hash(c->params, strlen(c->params));
    c->data_hash = 0x1234abcdULL;
    snprintf(c->isa, sizeof c->isa, "generic");
}

static void fill_state(als_ckpt_state_t *st, int plan, int r, int p, int64_t m, int64_t n, int k)
{
    memset(st, 0, sizeof *st);
    st->m = m;
    st->n = n;
    st->k = k;
    block(plan, m, r, p, &st->u0, &st->u1);
    block(plan ^ 1, n, r, p, &st->i0, &st->i1);
    st->Uown = calloc((size_t)((st->u1 - st->u0) * k + 1), sizeof(double));
    st->Vown = calloc((size_t)((st->i1 - st->i0) * k + 1), sizeof(double));
    st->hist = calloc(8, sizeof *st->hist);
}

static void test_checkpoint_any_p(void **state)
{
    (void)state;
    const int64_t m = 11, n = 5;
    const int k = 3;
    char cdir[300];
    snprintf(cdir, sizeof cdir, "%s/ck", dir);
    if (wrank == 0)
        assert_int_equal(mkdir(cdir, 0700), 0);
    als_ckpt_t c;
    ckpt_setup(&c, cdir);
    als_err_t err;
    als_err_clear(&err);
    als_ckpt_state_t w;
    fill_state(&w, 0, wrank, wsize, m, n, k);
    for (int64_t t = w.u0; t < w.u1; t++)
        for (int j = 0; j < k; j++)
            w.Uown[(t - w.u0) * k + j] = val(t, j);
    for (int64_t t = w.i0; t < w.i1; t++)
        for (int j = 0; j < k; j++)
            w.Vown[(t - w.i0) * k + j] = -val(t + 100, j);
    w.niters = 3;
    for (int i = 0; i < 3; i++) {
        w.hist[i].iter = i + 1;
        w.hist[i].loss.total = 10.0 / (i + 1);
        w.hist[i].loss_half = 11.0 / (i + 1);
    }
    w.initial.total = 42.5;
    w.max_increase = 1e-13;
    w.increases = 1;
    assert_int_equal(als_ckpt_after_iter_state(MPI_COMM_WORLD, &w, &c, 3, &err), ALS_OK);
    assert_int_equal(c.written, 1);
    for (int p = 1; p <= wsize; p++) {
        MPI_Comm cm = sub(p);
        if (cm == MPI_COMM_NULL)
            continue;
        int r;
        MPI_Comm_rank(cm, &r);
        als_ckpt_t c2;
        ckpt_setup(&c2, cdir);
        als_ckpt_state_t st;
        fill_state(&st, 1, r, p, m, n, k);
        free(st.hist); /* the restore sets a copy of its own */
        st.hist = NULL;
        assert_int_equal(als_ckpt_restore_state(cm, &st, 8, &c2, cdir, &err), ALS_OK);
        assert_int_equal(st.niters, 3);
        assert_int_equal(c2.resumed_from, 3);
        assert_int_equal(st.increases, 1);
        assert_memory_equal(&st.initial, &w.initial, sizeof st.initial);
        assert_memory_equal(&st.max_increase, &w.max_increase, sizeof(double));
        for (int i = 0; i < 3; i++)
            assert_memory_equal(&st.hist[i].loss, &w.hist[i].loss, sizeof(als_loss_t));
        for (int64_t t = st.u0; t < st.u1; t++)
            for (int j = 0; j < k; j++) {
                double want = val(t, j);
                assert_memory_equal(&st.Uown[(t - st.u0) * k + j], &want, sizeof want);
            }
        for (int64_t t = st.i0; t < st.i1; t++)
            for (int j = 0; j < k; j++) {
                double want = -val(t + 100, j);
                assert_memory_equal(&st.Vown[(t - st.i0) * k + j], &want, sizeof want);
            }
        free(st.Uown);
        free(st.Vown);
        free(st.hist);
        MPI_Comm_free(&cm);
    }
    /* one flipped byte in V row 4: found at every P, whoever owns the row;
     * no checkpoint.prev.als exists, so the error names both */
    char path[320];
    snprintf(path, sizeof path, "%s/%s", cdir, ALS_CKPT_NAME);
    if (wrank == 0) {
        FILE *f = fopen(path, "r+b");
        fseek(f, -32 - 8 * k * (n - 4) + 5, SEEK_END);
        int ch = fgetc(f);
        fseek(f, -1, SEEK_CUR);
        fputc(ch ^ 0x04, f);
        fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    for (int p = 1; p <= wsize; p++) {
        MPI_Comm cm = sub(p);
        if (cm == MPI_COMM_NULL)
            continue;
        int r;
        MPI_Comm_rank(cm, &r);
        als_ckpt_t c2;
        ckpt_setup(&c2, cdir);
        als_ckpt_state_t st;
        fill_state(&st, 0, r, p, m, n, k);
        free(st.hist);
        st.hist = NULL;
        als_err_clear(&err);
        assert_int_equal(als_ckpt_restore_state(cm, &st, 8, &c2, cdir, &err), ALS_ERR_FORMAT);
        assert_non_null(strstr(err.msg, "checksum mismatch in the V rows"));
        free(st.Uown);
        free(st.Vown);
        free(st.hist);
        MPI_Comm_free(&cm);
    }
    free(w.Uown);
    free(w.Vown);
    free(w.hist);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    int bad = 0;
    if (wrank == 0)
        bad = als_test_tmpdir(dir, sizeof dir, "pario") != 0;
    MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (bad) {
        MPI_Finalize();
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_byte_identical),
        cmocka_unit_test(test_npy_write_refuses),
        cmocka_unit_test(test_read_rows),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_ids_byte_identical),
        cmocka_unit_test(test_checkpoint_any_p),
    };
    int rc = cmocka_run_group_tests_name("pario", tests, NULL, NULL);
    int any = 0;
    MPI_Allreduce(&rc, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (wrank == 0 && als_test_rmtree(dir) != 0)
        any = any ? any : 1;
    MPI_Finalize();
    return any;
}
