/* test_binfmt.c - the binary dataset: checksum, round trip, partial reads,
 * the parallel loader against als_data_scatter, and every format error. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "als.h"
#include "als_binfmt.h"
#include "als_test.h"

static char dir[256];

static void path_of(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* A random dataset: m0 users, n0 items, duplicates, social-only users. */
static void make_global(als_global_t *g, uint64_t seed, int nr, int nl)
{
    als_triplets_t r, s;
    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    uint64_t st = seed;
    for (int x = 0; x < nr; x++)
        als_test_add(&r, 1000 + als_test_next(&st) % 60, 7 * (als_test_next(&st) % 45),
            (double)(als_test_next(&st) % 9) * 0.5 + 0.5);
    for (int x = 0; x < nl; x++) {
        uint64_t a = 1000 + als_test_next(&st) % 70, b = 1000 + als_test_next(&st) % 70;
        if (a != b)
            als_test_add(&s, a, b, (double)(als_test_next(&st) % 4) + 0.25);
    }
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_global_build(&r, nl ? &s : NULL, ALS_DUP_KEEP, "gen", g, &err), ALS_OK);
    als_triplets_free(&r);
    als_triplets_free(&s);
}

static void assert_same_global(const als_global_t *a, const als_global_t *b)
{
    assert_int_equal(a->m, b->m);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->nnz, b->nnz);
    assert_int_equal(a->nlinks, b->nlinks);
    assert_int_equal(a->wnnz, b->wnnz);
    assert_memory_equal(&a->rmin, &b->rmin, sizeof(double));
    assert_memory_equal(&a->rmax, &b->rmax, sizeof(double));
    assert_memory_equal(&a->rmean, &b->rmean, sizeof(double));
    assert_memory_equal(&a->stats, &b->stats, sizeof a->stats);
    assert_memory_equal(a->user_ids, b->user_ids, (size_t)a->m * 8);
    assert_memory_equal(a->item_ids, b->item_ids, (size_t)a->n * 8);
    assert_memory_equal(a->uptr, b->uptr, (size_t)(a->m + 1) * 8);
    assert_memory_equal(a->ucol, b->ucol, (size_t)a->nnz * 8);
    assert_memory_equal(a->uval, b->uval, (size_t)a->nnz * 8);
    assert_memory_equal(a->iptr, b->iptr, (size_t)(a->n + 1) * 8);
    assert_memory_equal(a->irow, b->irow, (size_t)a->nnz * 8);
    assert_memory_equal(a->ival, b->ival, (size_t)a->nnz * 8);
    assert_memory_equal(a->wptr, b->wptr, (size_t)(a->m + 1) * 8);
    if (a->wnnz) {
        assert_memory_equal(a->wcol, b->wcol, (size_t)a->wnnz * 8);
        assert_memory_equal(a->wval, b->wval, (size_t)a->wnnz * 8);
    }
}

static void test_checksum(void **state)
{
    (void)state;
    unsigned char buf[203];
    uint64_t s = 9;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)als_test_next(&s);
    /* Every length (whole words, tails) and every single-bit flip changes it. */
    for (size_t len = 0; len <= sizeof buf; len += 7) {
        uint64_t h = als_checksum(buf, len);
        assert_int_equal(h, als_checksum(buf, len));
        if (len)
            assert_true(h != als_checksum(buf, len - 1));
        for (size_t i = 0; i < len; i += 3) {
            for (int bit = 0; bit < 8; bit += 3) {
                buf[i] ^= (unsigned char)(1u << bit);
                assert_true(als_checksum(buf, len) != h);
                buf[i] ^= (unsigned char)(1u << bit);
            }
        }
    }
    /* Swapping two words (same lane or not) is detected. */
    uint64_t w[8] = {1, 2, 3, 4, 5, 6, 7, 8}, v[8];
    memcpy(v, w, sizeof w);
    v[0] = w[4];
    v[4] = w[0];
    assert_true(als_checksum(v, sizeof v) != als_checksum(w, sizeof w));
    v[4] = w[4];
    v[0] = w[1];
    v[1] = w[0];
    assert_true(als_checksum(v, sizeof v) != als_checksum(w, sizeof w));
    /* Zero-length and all-zero inputs of different lengths differ. */
    unsigned char z[64] = {0};
    assert_true(als_checksum(z, 0) != als_checksum(z, 8));
    assert_true(als_checksum(z, 8) != als_checksum(z, 16));
}

static void test_round_trip(void **state)
{
    (void)state;
    static const uint64_t blocks[] = {8, 24, 64, 4096, 0};
    for (int social = 0; social < 2; social++) {
        als_global_t g;
        make_global(&g, 3 + (uint64_t)social, 700, social ? 150 : 0);
        for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
            char p[300];
            path_of(p, sizeof p, "rt.bin");
            als_err_t err;
            als_err_clear(&err);
            assert_int_equal(als_binfmt_write(p, &g, blocks[b], &err), ALS_OK);
            als_global_t h;
            assert_int_equal(als_binfmt_read_global(p, &h, &err), ALS_OK);
            assert_same_global(&g, &h);
            als_global_free(&h);
        }
        als_global_free(&g);
    }
}

/* Every sub-range of a section, read with a block size that leaves partial
 * blocks at both ends, equals the array. */
static void test_partial_reads(void **state)
{
    (void)state;
    als_global_t g;
    make_global(&g, 11, 300, 80);
    char p[300];
    path_of(p, sizeof p, "part.bin");
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_binfmt_write(p, &g, 40, &err), ALS_OK);
    als_bin_file_t f;
    assert_int_equal(als_bin_open(p, &f, &err), ALS_OK);
    int64_t *buf = malloc((size_t)g.nnz * 8 + 8);
    for (int64_t a = 0; a <= g.nnz; a += 3)
        for (int64_t c = 0; a + c <= g.nnz; c += 1 + c / 2) {
            assert_int_equal(als_bin_read(&f, ALS_SEC_UCOL, a, c, buf, &err), ALS_OK);
            if (c)
                assert_memory_equal(buf, g.ucol + a, (size_t)c * 8);
            assert_int_equal(als_bin_read(&f, ALS_SEC_IVAL, a, c, buf, &err), ALS_OK);
            if (c)
                assert_memory_equal(buf, g.ival + a, (size_t)c * 8);
        }
    /* Beyond the end is refused. */
    assert_int_not_equal(als_bin_read(&f, ALS_SEC_UCOL, g.nnz - 1, 2, buf, &err), ALS_OK);
    free(buf);
    als_bin_close(&f);
    als_global_free(&g);
}

static void assert_same_data(const als_data_t *a, const als_data_t *b)
{
    assert_int_equal(a->m, b->m);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->nnz, b->nnz);
    assert_int_equal(a->nlinks, b->nlinks);
    assert_int_equal(a->wnnz, b->wnnz);
    assert_memory_equal(&a->rmin, &b->rmin, 8);
    assert_memory_equal(&a->rmax, &b->rmax, 8);
    assert_memory_equal(&a->rmean, &b->rmean, 8);
    assert_memory_equal(&a->stats, &b->stats, sizeof a->stats);
    assert_int_equal(a->nranks, b->nranks);
    assert_memory_equal(a->user_ids, b->user_ids, (size_t)a->m * 8);
    assert_memory_equal(a->item_ids, b->item_ids, (size_t)a->n * 8);
    assert_memory_equal(a->ubeg, b->ubeg, (size_t)(a->nranks + 1) * 8);
    assert_memory_equal(a->ibeg, b->ibeg, (size_t)(a->nranks + 1) * 8);
    assert_int_equal(a->u0, b->u0);
    assert_int_equal(a->u1, b->u1);
    assert_int_equal(a->i0, b->i0);
    assert_int_equal(a->i1, b->i1);
    assert_int_equal(a->lnnz_u, b->lnnz_u);
    assert_int_equal(a->lnnz_i, b->lnnz_i);
    assert_int_equal(a->lwnnz, b->lwnnz);
    int64_t nu = a->u1 - a->u0, ni = a->i1 - a->i0;
    assert_memory_equal(a->uptr, b->uptr, (size_t)(nu + 1) * 8);
    assert_memory_equal(a->iptr, b->iptr, (size_t)(ni + 1) * 8);
    assert_memory_equal(a->wptr, b->wptr, (size_t)(nu + 1) * 8);
    if (a->lnnz_u) {
        assert_memory_equal(a->ucol, b->ucol, (size_t)a->lnnz_u * 8);
        assert_memory_equal(a->uval, b->uval, (size_t)a->lnnz_u * 8);
    }
    if (a->lnnz_i) {
        assert_memory_equal(a->irow, b->irow, (size_t)a->lnnz_i * 8);
        assert_memory_equal(a->ival, b->ival, (size_t)a->lnnz_i * 8);
    }
    if (a->lwnnz) {
        assert_memory_equal(a->wcol, b->wcol, (size_t)a->lwnnz * 8);
        assert_memory_equal(a->wval, b->wval, (size_t)a->lwnnz * 8);
    }
    if (nu)
        assert_memory_equal(a->wdeg, b->wdeg, (size_t)nu * 8);
}

/* The MPI-IO loader gives what als_data_scatter gives (this process's
 * communicator; the shell tests repeat it at P = 1..4 through training). */
static void test_load_equals_scatter(void **state)
{
    (void)state;
    static const uint64_t blocks[] = {8, 56, 0};
    als_global_t g;
    make_global(&g, 21, 900, 200);
    for (size_t b = 0; b < 3; b++) {
        char p[300];
        path_of(p, sizeof p, "load.bin");
        als_err_t err;
        als_err_clear(&err);
        assert_int_equal(als_binfmt_write(p, &g, blocks[b], &err), ALS_OK);
        als_data_t d1, d2;
        assert_int_equal(als_data_scatter(MPI_COMM_WORLD, 0, &g, als_plan_kxk(ALS_TEST_K), &d1, &err), ALS_OK);
        assert_int_equal(als_data_load_binary(MPI_COMM_WORLD, p, als_plan_kxk(ALS_TEST_K), &d2, &err), ALS_OK);
        assert_same_data(&d1, &d2);
        als_data_free(&d1);
        als_data_free(&d2);
    }
    /* Chunked MPI-IO reads (16 bytes per call) give the same. */
    int64_t saved = als_exchange_chunk;
    als_exchange_chunk = 2;
    char p[300];
    path_of(p, sizeof p, "load.bin");
    als_err_t err;
    als_err_clear(&err);
    als_data_t d1, d2;
    assert_int_equal(als_data_scatter(MPI_COMM_WORLD, 0, &g, als_plan_kxk(ALS_TEST_K), &d1, &err), ALS_OK);
    assert_int_equal(als_data_load_binary(MPI_COMM_WORLD, p, als_plan_kxk(ALS_TEST_K), &d2, &err), ALS_OK);
    assert_same_data(&d1, &d2);
    als_data_free(&d1);
    als_data_free(&d2);
    als_exchange_chunk = saved;
    als_global_free(&g);
}

/* ---- errors ---------------------------------------------------------------- */

static void write_small(const char *name, char *p, size_t cap, als_global_t *g)
{
    path_of(p, cap, name);
    make_global(g, 5, 400, 90);
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_binfmt_write(p, g, 64, &err), ALS_OK);
}

static void poke(const char *p, uint64_t off, const void *bytes, size_t n)
{
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* Both readers fail with code and a message containing every pattern. */
static void expect_error(const char *p, int code, const char *pat1, const char *pat2)
{
    als_err_t err;
    als_global_t g;
    als_err_clear(&err);
    assert_int_equal(als_binfmt_read_global(p, &g, &err), code);
    if (!strstr(err.msg, pat1) || (pat2 && !strstr(err.msg, pat2)) || !strstr(err.msg, p))
        fail_msg("local reader message '%s' lacks '%s' / '%s' / the path", err.msg, pat1,
                 pat2 ? pat2 : "");
    als_data_t d;
    als_err_clear(&err);
    assert_int_equal(als_data_load_binary(MPI_COMM_WORLD, p, als_plan_kxk(ALS_TEST_K), &d, &err), code);
    if (!strstr(err.msg, pat1) || (pat2 && !strstr(err.msg, pat2)))
        fail_msg("MPI reader message '%s' lacks '%s' / '%s'", err.msg, pat1, pat2 ? pat2 : "");
    assert_null(d.user_ids);
}

/* A well-formed file whose values the text path would have refused:
 * the parallel loader names the file, the section and the ids. */
static void test_bad_values(void **state)
{
    (void)state;
    for (int which = 0; which < 2; which++) {
        char p[512];
        als_global_t g;
        path_of(p, sizeof p, which ? "negw.alsd" : "nan.alsd");
        make_global(&g, 6, 300, 60);
        assert_true(g.wnnz > 0);
        if (which)
            g.wval[0] = -0.5;
        else
            g.uval[0] = NAN;
        als_err_t err;
        als_err_clear(&err);
        assert_int_equal(als_binfmt_write(p, &g, 64, &err), ALS_OK);
        als_data_t d;
        als_err_clear(&err);
        assert_int_equal(als_data_load_binary(MPI_COMM_WORLD, p, als_plan_kxk(ALS_TEST_K), &d, &err), ALS_ERR_DATA);
        assert_non_null(strstr(err.msg, p));
        assert_non_null(strstr(err.msg, which ? "negative or not finite" : "is not finite"));
        assert_null(d.user_ids);
        als_global_free(&g);
    }
}

/* Issue 13 item 10: header fields that make no sense are refused, by both
 * readers, even with valid checksums. */
static void test_header_sense(void **state)
{
    (void)state;
    for (int which = 0; which < 7; which++) {
        char p[512];
        als_global_t g;
        path_of(p, sizeof p, "sense.alsd");
        make_global(&g, 7, 300, 60);
        const char *pat = NULL;
        int code = ALS_ERR_FORMAT;
        switch (which) {
        case 0: { double t = g.rmin; g.rmin = g.rmax; g.rmax = t; pat = "is empty (min > max)"; break; }
        case 1: g.rmean = NAN; pat = "is not finite"; break;
        case 2: g.rmean = g.rmax + 1.0; pat = "outside the range"; break;
        case 3: g.stats.duplicate_rows = -1; pat = "negative cleaning statistic"; break;
        case 4: g.stats.social_only_users = g.m + 1; pat = "inconsistent cleaning statistics"; break;
        case 5: g.nlinks = g.wnnz / 2 - 1; pat = "W entries for"; break;
        case 6: g.rmin = g.rmin + 1e-9; code = ALS_ERR_DATA; pat = "outside the header's range"; break;
        }
        als_err_t err;
        als_err_clear(&err);
        assert_int_equal(als_binfmt_write(p, &g, 64, &err), ALS_OK);
        if (which == 6) { /* only the loader reads every value */
            als_data_t d;
            als_err_clear(&err);
            assert_int_equal(als_data_load_binary(MPI_COMM_WORLD, p, als_plan_kxk(ALS_TEST_K), &d, &err), code);
            if (!strstr(err.msg, pat))
                fail_msg("case %d: message '%s' lacks '%s'", which, err.msg, pat);
        } else {
            expect_error(p, code, pat, "section 'header'");
        }
        als_global_free(&g);
    }
}

static void test_checksum_errors(void **state)
{
    (void)state;
    char p[300];
    als_global_t g;
    write_small("bad.bin", p, sizeof p, &g);
    als_bin_file_t f;
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_bin_open(p, &f, &err), ALS_OK);
    als_bin_header_t h = f.h;
    als_bin_close(&f);
    /* One flipped byte in each section: that section is named. */
    for (int s = 0; s < ALS_SEC_COUNT; s++) {
        if (h.sec[s].count == 0)
            continue;
        uint64_t off = h.sec[s].offset + (h.sec[s].count * 8) / 2;
        unsigned char c;
        int fd = open(p, O_RDONLY);
        assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
        close(fd);
        unsigned char x = c ^ 0x10;
        poke(p, off, &x, 1);
        char pat[64];
        snprintf(pat, sizeof pat, "section '%s', block", als_bin_section_name(s));
        expect_error(p, ALS_ERR_FORMAT, pat, "checksum mismatch");
        poke(p, off, &c, 1);
    }
    /* The checksum table and the header themselves. */
    unsigned char c = 0x5a;
    poke(p, h.csum_offset + 3, &c, 1);
    expect_error(p, ALS_ERR_FORMAT, "section 'checksum table'", "checksum mismatch");
    als_global_free(&g);
    write_small("bad.bin", p, sizeof p, &g);
    poke(p, 40, &c, 1); /* n */
    expect_error(p, ALS_ERR_FORMAT, "section 'header'", "checksum mismatch");
    als_global_free(&g);
}

static void test_magic_version_truncation(void **state)
{
    (void)state;
    char p[300];
    als_global_t g;
    write_small("hdr.bin", p, sizeof p, &g);
    poke(p, 0, "NOTADATA", 8);
    expect_error(p, ALS_ERR_FORMAT, "wrong magic", NULL);
    als_global_free(&g);
    write_small("hdr.bin", p, sizeof p, &g);
    uint32_t v = 7;
    poke(p, 8, &v, 4);
    expect_error(p, ALS_ERR_FORMAT, "format version 7", NULL);
    als_global_free(&g);

    /* Truncation anywhere: the incomplete section is named. */
    write_small("trunc.bin", p, sizeof p, &g);
    als_bin_file_t f;
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_bin_open(p, &f, &err), ALS_OK);
    als_bin_header_t h = f.h;
    als_bin_close(&f);
    char full[300];
    path_of(full, sizeof full, "full.bin");
    assert_int_equal(rename(p, full), 0);
    static const char *names[] = {"user_ids", "item_ids", "uptr", "ucol", "uval", "iptr",
                                  "irow", "ival", "wptr", "wcol", "wval"};
    for (int s = 0; s < ALS_SEC_COUNT; s++) {
        uint64_t cut = h.sec[s].offset + h.sec[s].count * 4;
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "head -c %llu %s > %s", (unsigned long long)cut, full, p);
        assert_int_equal(system(cmd), 0);
        char pat[64];
        snprintf(pat, sizeof pat, "section '%s'", names[s]);
        expect_error(p, ALS_ERR_FORMAT, "truncated", h.sec[s].count ? pat : NULL);
    }
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "head -c %llu %s > %s", (unsigned long long)h.file_size - 8, full, p);
    assert_int_equal(system(cmd), 0);
    expect_error(p, ALS_ERR_FORMAT, "truncated", "checksum table");
    snprintf(cmd, sizeof cmd, "head -c 100 %s > %s", full, p);
    assert_int_equal(system(cmd), 0);
    expect_error(p, ALS_ERR_FORMAT, "truncated", "header");
    snprintf(cmd, sizeof cmd, ": > %s", p);
    assert_int_equal(system(cmd), 0);
    expect_error(p, ALS_ERR_FORMAT, "truncated", NULL);
    snprintf(cmd, sizeof cmd, "cat %s > %s; echo x >> %s", full, p, p);
    assert_int_equal(system(cmd), 0);
    expect_error(p, ALS_ERR_FORMAT, "trailing bytes", NULL);
    path_of(p, sizeof p, "no-such.bin");
    expect_error(p, ALS_ERR_IO, "cannot open", NULL);
    als_global_free(&g);
}

/* A writer given too few elements fails and leaves no file (nor temporary). */
static void test_writer_incomplete(void **state)
{
    (void)state;
    char p[300];
    path_of(p, sizeof p, "incomplete.bin");
    als_err_t err;
    als_err_clear(&err);
    als_bin_writer_t *w;
    assert_int_equal(als_bin_writer_open(&w, p, 2, 1, 1, 0, 0, &err), ALS_OK);
    uint64_t ids[2] = {1, 2};
    assert_int_equal(als_bin_writer_put(w, ALS_SEC_USER_IDS, ids, 2, &err), ALS_OK);
    assert_int_not_equal(als_bin_writer_put(w, ALS_SEC_ITEM_IDS, ids, 2, &err), ALS_OK);
    als_err_clear(&err);
    als_data_stats_t st = {0};
    assert_int_equal(als_bin_writer_finish(w, 0, 1, 1, 1, &st, &err), ALS_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, "item_ids"));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s | grep incomplete)\"", dir);
    assert_int_equal(system(cmd), 0);
    /* An unwritable place is an I/O error naming the path. */
    als_err_clear(&err);
    assert_int_equal(als_bin_writer_open(&w, "/nonexistent-dir/x.bin", 1, 1, 1, 0, 0, &err),
                     ALS_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.bin"));
}

int main(int argc, char **argv)
{
    if (als_mpi_init(&argc, &argv, argv[0], NULL) != 0)
        return 1;
    if (als_test_tmpdir(dir, sizeof dir, "binfmt") != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_partial_reads),
        cmocka_unit_test(test_load_equals_scatter),
        cmocka_unit_test(test_checksum_errors),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_header_sense),
        cmocka_unit_test(test_magic_version_truncation),
        cmocka_unit_test(test_writer_incomplete),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (als_test_rmtree(dir) != 0)
        rc = rc ? rc : 1;
    MPI_Finalize();
    return rc;
}
