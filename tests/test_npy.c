/* test_npy.c - unit tests of the .npy writer and reader.
 *
 * Files live in a fresh mkdtemp directory removed by the group teardown. The
 * NumPy fixture is hand-written byte by byte: it is exactly what
 *     np.save(f, np.arange(6, dtype=np.float64).reshape(2, 3))
 * writes (format 1.0, header length 118, data at offset 128).
 */
#include "als_test.h"
#include "als_npy.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define TPATH 256 /* room for g_dir plus a file name */
static char g_dir[64];

/* ---- helpers ------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    return als_test_tmpdir(g_dir, sizeof g_dir, "npy");
}

static int group_teardown(void **state)
{
    (void)state;
    return als_test_rmtree(g_dir);
}

static void tmp_path(const char *name, char *path)
{
    snprintf(path, TPATH, "%s/%s", g_dir, name);
}

static void write_bytes(const char *name, const void *data, size_t len, char *path)
{
    tmp_path(name, path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Read a whole file into a malloc'ed buffer; its size goes to *len. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* The first 128 bytes np.save writes for a (2, 3) float64 C-order array. */
#define NUMPY_DICT_2x3 "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
static void numpy_header_2x3(unsigned char *h)
{
    static const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 0x01, 0x00, 0x76, 0x00};
    memcpy(h, pre, 10);
    memcpy(h + 10, NUMPY_DICT_2x3, 59);
    memset(h + 69, ' ', 58);
    h[127] = '\n';
}

/* np.arange(6.0) as little-endian IEEE doubles, spelled out. */
static const unsigned char numpy_data_0to5[48] = {
    0, 0, 0, 0, 0, 0, 0x00, 0x00, /* 0.0 */
    0, 0, 0, 0, 0, 0, 0xf0, 0x3f, /* 1.0 */
    0, 0, 0, 0, 0, 0, 0x00, 0x40, /* 2.0 */
    0, 0, 0, 0, 0, 0, 0x08, 0x40, /* 3.0 */
    0, 0, 0, 0, 0, 0, 0x10, 0x40, /* 4.0 */
    0, 0, 0, 0, 0, 0, 0x14, 0x40, /* 5.0 */
};

/* Build a .npy file from a version, a dict text and data bytes, padding the
 * header with spaces and '\n' to a 64-byte multiple. Returns its length. */
static size_t make_npy(unsigned char *out, int major, const char *dict, const void *data,
                       size_t dlen)
{
    size_t lenb = major == 1 ? 2 : 4, pre = 8 + lenb, n = strlen(dict);
    size_t total = (pre + n + 1 + 63) / 64 * 64, hlen = total - pre;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    for (size_t k = 0; k < lenb; k++)
        out[8 + k] = (unsigned char)(hlen >> (8 * k));
    memcpy(out + pre, dict, n);
    memset(out + pre + n, ' ', hlen - n - 1);
    out[total - 1] = '\n';
    memcpy(out + total, data, dlen);
    return total + dlen;
}

/* Reading g_dir/name (holding len bytes of data) must fail with `code` and
 * the message "PATH: what". */
static void read_fail(const char *name, const void *data, size_t len, int code,
                      const char *what)
{
    char path[TPATH], want[ALS_ERR_MSG_LEN];
    write_bytes(name, data, len, path);
    als_err_t err;
    als_err_clear(&err);
    double *a = (double *)&err; /* must be reset to NULL */
    int64_t r = -5, c = -5;
    int rc = als_npy_read(path, &a, &r, &c, &err);
    snprintf(want, sizeof want, "%s: %s", path, what);
    assert_string_equal(err.msg, want);
    assert_int_equal(rc, code);
    assert_null(a);
    assert_int_equal(r, 0);
    assert_int_equal(c, 0);
}

/* ---- round trip and layout ----------------------------------------------- */

static void test_npy_round_trip_bitwise(void **state)
{
    (void)state;
    const int64_t R = 37, C = 11;
    double *a = malloc((size_t)(R * C) * sizeof *a);
    assert_non_null(a);
    uint64_t s = 42;
    for (int64_t k = 0; k < R * C; k++)
        a[k] = als_test_uniform(&s) * 1e3;
    a[0] = -0.0;
    a[1] = 4.9e-324; /* subnormal */
    a[2] = 1.7976931348623157e308;
    a[3] = 0.1;
    char path[TPATH];
    tmp_path("rt.npy", path);
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_npy_write(path, a, R, C, &err), ALS_OK);
    assert_string_equal(err.msg, "");
    double *b = NULL;
    int64_t r = 0, c = 0;
    assert_int_equal(als_npy_read(path, &b, &r, &c, &err), ALS_OK);
    assert_int_equal(r, R);
    assert_int_equal(c, C);
    assert_memory_equal(a, b, (size_t)(R * C) * sizeof *a);
    free(a);
    free(b);
}

static void test_npy_header_aligned(void **state)
{
    (void)state;
    static const int64_t shapes[][2] = {{0, 0}, {0, 3}, {1, 1}, {2, 3}, {12, 1}, {123, 4},
                                        {1, 123456}, {1234567, 1}, {9, 99}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int64_t R = shapes[k][0], C = shapes[k][1];
        double *a = calloc((size_t)(R * C) + 1, sizeof *a);
        assert_non_null(a);
        char path[TPATH];
        tmp_path("al.npy", path);
        als_err_t err;
        als_err_clear(&err);
        assert_int_equal(als_npy_write(path, a, R, C, &err), ALS_OK);
        free(a);
        size_t len;
        unsigned char *f = slurp(path, &len);
        assert_memory_equal(f, "\x93NUMPY\x01\x00", 8);
        size_t hlen = (size_t)f[8] | (size_t)f[9] << 8, off = 10 + hlen;
        assert_int_equal(off % 64, 0);
        assert_int_equal(len, off + (size_t)(R * C) * 8);
        assert_int_equal(f[off - 1], '\n');
        char dict[128];
        int n = snprintf(dict, sizeof dict,
                         "{'descr': '<f8', 'fortran_order': False, 'shape': (%lld, %lld), }",
                         (long long)R, (long long)C);
        assert_memory_equal(f + 10, dict, (size_t)n);
        for (size_t i = 10 + (size_t)n; i < off - 1; i++)
            assert_int_equal(f[i], ' ');
        /* NumPy >= 1.24 leaves room for the first axis to grow to 21 digits,
         * then pads with 1..64 more bytes (NumPy never pads with 0). */
        char digits[32];
        size_t growth = 21 - (size_t)snprintf(digits, sizeof digits, "%lld", (long long)R);
        size_t spaces = off - 1 - 10 - (size_t)n;
        assert_in_range(spaces, growth + 1, growth + 64);
        free(f);
        double *b = NULL;
        int64_t r = -1, c = -1;
        assert_int_equal(als_npy_read(path, &b, &r, &c, &err), ALS_OK);
        assert_int_equal(r, R);
        assert_int_equal(c, C);
        assert_non_null(b);
        free(b);
    }
}

static void test_npy_write_matches_numpy_bytes(void **state)
{
    (void)state;
    const double a[6] = {0, 1, 2, 3, 4, 5};
    char path[TPATH];
    tmp_path("mine.npy", path);
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_npy_write(path, a, 2, 3, &err), ALS_OK);
    unsigned char want[128 + 48];
    numpy_header_2x3(want);
    memcpy(want + 128, numpy_data_0to5, 48);
    size_t len;
    unsigned char *got = slurp(path, &len);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(got, want, sizeof want);
    free(got);
}

static void test_npy_read_numpy_file(void **state)
{
    (void)state;
    unsigned char f[128 + 48];
    numpy_header_2x3(f);
    memcpy(f + 128, numpy_data_0to5, 48);
    char path[TPATH];
    write_bytes("numpy.npy", f, sizeof f, path);
    als_err_t err;
    als_err_clear(&err);
    double *a = NULL;
    int64_t r = 0, c = 0;
    assert_int_equal(als_npy_read(path, &a, &r, &c, &err), ALS_OK);
    assert_int_equal(r, 2);
    assert_int_equal(c, 3);
    for (int k = 0; k < 6; k++)
        assert_close(a[k], k, 0, 0);
    free(a);
}

static void test_npy_read_versions_2_and_3(void **state)
{
    (void)state;
    unsigned char f[512];
    for (int major = 2; major <= 3; major++) {
        size_t n = make_npy(f, major, NUMPY_DICT_2x3, numpy_data_0to5, 48);
        char path[TPATH];
        write_bytes(major == 2 ? "v2.npy" : "v3.npy", f, n, path);
        als_err_t err;
        als_err_clear(&err);
        double *a = NULL;
        int64_t r = 0, c = 0;
        assert_int_equal(als_npy_read(path, &a, &r, &c, &err), ALS_OK);
        assert_int_equal(r, 2);
        assert_int_equal(c, 3);
        assert_close(a[5], 5, 0, 0);
        free(a);
    }
}

static void test_npy_read_header_variants(void **state)
{
    (void)state;
    /* Other key orders, double quotes, '=f8', Python 2 longs, no trailing comma. */
    static const char *dicts[] = {
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}",
        "{\"descr\": \"=f8\", \"fortran_order\": False, \"shape\": (2L, 3L)}",
        "{'descr':'float64','fortran_order':False,'shape':(2,3),}",
    };
    unsigned char f[512];
    for (size_t k = 0; k < 3; k++) {
        size_t n = make_npy(f, 1, dicts[k], numpy_data_0to5, 48);
        char path[TPATH];
        write_bytes("var.npy", f, n, path);
        als_err_t err;
        als_err_clear(&err);
        double *a = NULL;
        int64_t r = 0, c = 0;
        int rc = als_npy_read(path, &a, &r, &c, &err);
        if (rc)
            print_error("%s: %s\n", dicts[k], err.msg);
        assert_int_equal(rc, ALS_OK);
        assert_int_equal(r, 2);
        assert_int_equal(c, 3);
        assert_close(a[4], 4, 0, 0);
        free(a);
    }
}

static void test_npy_empty_matrix(void **state)
{
    (void)state;
    char path[TPATH];
    tmp_path("empty.npy", path);
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_npy_write(path, NULL, 0, 5, &err), ALS_OK);
    double *a = NULL;
    int64_t r = -1, c = -1;
    assert_int_equal(als_npy_read(path, &a, &r, &c, &err), ALS_OK);
    assert_int_equal(r, 0);
    assert_int_equal(c, 5);
    free(a);
}

/* ---- format errors ------------------------------------------------------- */

static void test_npy_wrong_dtype(void **state)
{
    (void)state;
    unsigned char f[512];
    size_t n = make_npy(f, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                        numpy_data_0to5, 24);
    read_fail("f4.npy", f, n, ALS_ERR_FORMAT, "dtype '<f4', expected '<f8'");
    n = make_npy(f, 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }",
                 numpy_data_0to5, 48);
    read_fail("be.npy", f, n, ALS_ERR_FORMAT, "dtype '>f8', expected '<f8'");
    n = make_npy(f, 1, "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2, 3), }",
                 numpy_data_0to5, 48);
    read_fail("rec.npy", f, n, ALS_ERR_FORMAT, "dtype [('a', '<f8')], expected '<f8'");
}

static void test_npy_fortran_order(void **state)
{
    (void)state;
    unsigned char f[512];
    size_t n = make_npy(f, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
                        numpy_data_0to5, 48);
    read_fail("fo.npy", f, n, ALS_ERR_FORMAT,
              "fortran_order is True (column-major data), expected False");
}

static void test_npy_not_2d(void **state)
{
    (void)state;
    unsigned char f[512];
    size_t n = make_npy(f, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }",
                        numpy_data_0to5, 48);
    read_fail("1d.npy", f, n, ALS_ERR_FORMAT, "shape (6,) is 1-D, expected a 2-D matrix");
    n = make_npy(f, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 3), }",
                 numpy_data_0to5, 48);
    read_fail("3d.npy", f, n, ALS_ERR_FORMAT, "shape (1, 2, 3) is 3-D, expected a 2-D matrix");
    n = make_npy(f, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                 numpy_data_0to5, 8);
    read_fail("0d.npy", f, n, ALS_ERR_FORMAT, "shape () is 0-D, expected a 2-D matrix");
}

static void test_npy_truncated_data(void **state)
{
    (void)state;
    unsigned char f[128 + 48];
    numpy_header_2x3(f);
    memcpy(f + 128, numpy_data_0to5, 48);
    read_fail("trunc.npy", f, 128 + 40, ALS_ERR_FORMAT,
              "truncated data: shape (2, 3) needs 48 bytes after the 128-byte header, found 40");
    read_fail("trunc0.npy", f, 128, ALS_ERR_FORMAT,
              "truncated data: shape (2, 3) needs 48 bytes after the 128-byte header, found 0");
    read_fail("trunch.npy", f, 100, ALS_ERR_FORMAT,
              "truncated header: expected 118 bytes, found 90");
    read_fail("trunc7.npy", f, 7, ALS_ERR_FORMAT, "truncated header (file ends after 7 bytes)");
    /* trailing bytes are an error too */
    unsigned char g[128 + 56];
    memcpy(g, f, sizeof f);
    memset(g + sizeof f, 0, 8);
    read_fail("long.npy", g, sizeof g, ALS_ERR_FORMAT,
              "trailing bytes after the 48-byte data of shape (2, 3)");
}

static void test_npy_bad_magic(void **state)
{
    (void)state;
    unsigned char f[128 + 48];
    numpy_header_2x3(f);
    memcpy(f + 128, numpy_data_0to5, 48);
    f[1] = 'n';
    read_fail("magic.npy", f, sizeof f, ALS_ERR_FORMAT,
              "not a .npy file (bad magic: expected '\\x93NUMPY', found '\\x93nUMPY')");
    read_fail("text.npy", "1 2 3\n", 6, ALS_ERR_FORMAT,
              "not a .npy file (bad magic: expected '\\x93NUMPY', found '1 2 3\\x0a')");
    read_fail("zero.npy", "", 0, ALS_ERR_FORMAT,
              "not a .npy file (bad magic: expected '\\x93NUMPY', found '')");
}

static void test_npy_unsupported_version(void **state)
{
    (void)state;
    unsigned char f[128 + 48];
    numpy_header_2x3(f);
    memcpy(f + 128, numpy_data_0to5, 48);
    f[6] = 4;
    read_fail("v4.npy", f, sizeof f, ALS_ERR_FORMAT,
              "unsupported .npy format version 4.0 (expected 1.0, 2.0 or 3.0)");
    f[6] = 1;
    f[7] = 1;
    read_fail("v11.npy", f, sizeof f, ALS_ERR_FORMAT,
              "unsupported .npy format version 1.1 (expected 1.0, 2.0 or 3.0)");
}

static void test_npy_malformed_header(void **state)
{
    (void)state;
    unsigned char f[512];
    size_t n = make_npy(f, 1, "{'descr': '<f8', 'shape': (2, 3), }", numpy_data_0to5, 48);
    char path[TPATH], want[ALS_ERR_MSG_LEN];
    write_bytes("nofo.npy", f, n, path);
    als_err_t err;
    als_err_clear(&err);
    double *a = NULL;
    int64_t r, c;
    assert_int_equal(als_npy_read(path, &a, &r, &c, &err), ALS_ERR_FORMAT);
    snprintf(want, sizeof want, "%s: header lacks 'fortran_order' (header '{'descr'", path);
    assert_memory_equal(err.msg, want, strlen(want));
    n = make_npy(f, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': 1}",
                 numpy_data_0to5, 48);
    write_bytes("key.npy", f, n, path);
    als_err_clear(&err);
    assert_int_equal(als_npy_read(path, &a, &r, &c, &err), ALS_ERR_FORMAT);
    snprintf(want, sizeof want, "%s: unexpected key in the header dict", path);
    assert_memory_equal(err.msg, want, strlen(want));
    n = make_npy(f, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }",
                 numpy_data_0to5, 48);
    read_fail("shape.npy", f, n, ALS_ERR_FORMAT, "malformed shape (2, x)");
}

/* ---- I/O errors ---------------------------------------------------------- */

static void test_npy_missing_file(void **state)
{
    (void)state;
    char path[TPATH], want[ALS_ERR_MSG_LEN];
    tmp_path("nope.npy", path);
    als_err_t err;
    als_err_clear(&err);
    double *a = NULL;
    int64_t r, c;
    assert_int_equal(als_npy_read(path, &a, &r, &c, &err), ALS_ERR_IO);
    snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
    assert_string_equal(err.msg, want);
    assert_null(a);
    /* writing into a missing directory */
    tmp_path("no/such/dir.npy", path);
    als_err_clear(&err);
    const double x[1] = {1};
    assert_int_equal(als_npy_write(path, x, 1, 1, &err), ALS_ERR_IO);
    snprintf(want, sizeof want, "%s: cannot create: %s", path, strerror(ENOENT));
    assert_string_equal(err.msg, want);
}

static void test_npy_write_dev_full(void **state)
{
    (void)state;
    struct stat st;
    if (stat("/dev/full", &st) != 0 || !S_ISCHR(st.st_mode))
        skip();
    double a[64] = {0};
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_npy_write("/dev/full", a, 8, 8, &err), ALS_ERR_IO);
    char want[256];
    snprintf(want, sizeof want, "/dev/full: cannot write: %s", strerror(ENOSPC));
    assert_string_equal(err.msg, want);
    /* not a regular file: it must not have been removed */
    assert_int_equal(stat("/dev/full", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
}

static void test_npy_write_error_removes_partial_file(void **state)
{
    (void)state;
    /* Simulate a full disk on a regular file with a file-size limit: writes
     * past it fail with EFBIG (SIGXFSZ ignored). */
    const int64_t R = 100, C = 100;
    double *a = calloc((size_t)(R * C), sizeof *a);
    assert_non_null(a);
    char path[TPATH];
    tmp_path("partial.npy", path);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < 4096)
        skip();
    void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    als_err_t err;
    als_err_clear(&err);
    int rc = als_npy_write(path, a, R, C, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, oldsig);
    free(a);
    assert_int_equal(rc, ALS_ERR_IO);
    char want[TPATH + 128];
    snprintf(want, sizeof want, "%s: cannot write: %s", path, strerror(EFBIG));
    assert_string_equal(err.msg, want);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_npy_invalid_arguments(void **state)
{
    (void)state;
    char path[TPATH];
    tmp_path("arg.npy", path);
    als_err_t err;
    als_err_clear(&err);
    const double x[1] = {1};
    assert_int_equal(als_npy_write(path, x, -1, 1, &err), ALS_ERR_ARG);
    assert_non_null(strstr(err.msg, "invalid matrix shape (-1, 1)"));
    als_err_clear(&err);
    assert_int_equal(als_npy_write(path, NULL, 2, 2, &err), ALS_ERR_ARG);
    als_err_clear(&err);
    assert_int_equal(als_npy_write(path, x, INT64_MAX / 2, 4, &err), ALS_ERR_ARG);
    assert_int_equal(access(path, F_OK), -1); /* nothing was created */
    als_err_clear(&err);
    assert_int_equal(als_npy_read(path, NULL, NULL, NULL, &err), ALS_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_round_trip_bitwise),
        cmocka_unit_test(test_npy_header_aligned),
        cmocka_unit_test(test_npy_write_matches_numpy_bytes),
        cmocka_unit_test(test_npy_read_numpy_file),
        cmocka_unit_test(test_npy_read_versions_2_and_3),
        cmocka_unit_test(test_npy_read_header_variants),
        cmocka_unit_test(test_npy_empty_matrix),
        cmocka_unit_test(test_npy_wrong_dtype),
        cmocka_unit_test(test_npy_fortran_order),
        cmocka_unit_test(test_npy_not_2d),
        cmocka_unit_test(test_npy_truncated_data),
        cmocka_unit_test(test_npy_bad_magic),
        cmocka_unit_test(test_npy_unsupported_version),
        cmocka_unit_test(test_npy_malformed_header),
        cmocka_unit_test(test_npy_missing_file),
        cmocka_unit_test(test_npy_write_dev_full),
        cmocka_unit_test(test_npy_write_error_removes_partial_file),
        cmocka_unit_test(test_npy_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
