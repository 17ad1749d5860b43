/* test_text.c - unit tests of als_text_read (ratings, social and .mtx files).
 *
 * Every test writes its input into a fresh mkdtemp directory (removed by the
 * group teardown) and checks the exact triplets, counters or error message.
 */
#include "als_test.h"
#include "als_text.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A second copy of the reader compiled into this test, so that its static
 * text_read_block() can be called with tiny read sizes (lines split at every
 * possible byte). Its public functions are renamed: everywhere else the tests
 * exercise the library's own als_text_read. */
#define als_text_read als_text_read_copy
#define als_triplets_free als_triplets_free_copy
#include "../src/als_text.c"
#undef als_text_read
#undef als_triplets_free

#define TPATH 256 /* room for g_dir plus a file name */
static char g_dir[64];

/* ---- helpers ------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    return als_test_tmpdir(g_dir, sizeof g_dir, "text");
}

static int group_teardown(void **state)
{
    (void)state;
    return als_test_rmtree(g_dir);
}

/* Write len bytes of data to g_dir/name; the full path goes to path. */
static void write_file(const char *name, const char *data, size_t len, char *path)
{
    snprintf(path, TPATH, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Write a string literal / C string (no NUL bytes) to g_dir/name. */
static void write_str(const char *name, const char *data, char *path)
{
    write_file(name, data, strlen(data), path);
}

/* Read a file that must parse; t is filled, the caller frees it. */
static void read_ok(const char *name, const char *data, als_text_kind_t kind, int value_col,
                    als_triplets_t *t)
{
    char path[TPATH];
    write_str(name, data, path);
    als_err_t err;
    als_err_clear(&err);
    als_text_opts_t o = {.value_col = value_col};
    int rc = als_text_read(path, kind, &o, t, &err);
    if (rc != ALS_OK)
        print_error("unexpected error: %s\n", err.msg);
    assert_int_equal(rc, ALS_OK);
    assert_string_equal(err.msg, "");
    /* Every physical line is accounted for exactly once. */
    assert_int_equal(t->lines, t->n + t->header + t->comments + t->self_loops);
}

/* Read len bytes written to g_dir/name, which must fail with `code` and the
 * message "PATH:LINE: what". */
static void read_fail_n(const char *name, const char *data, size_t len, als_text_kind_t kind,
                        int value_col, int code, int line, const char *what)
{
    char path[TPATH], want[ALS_ERR_MSG_LEN];
    write_file(name, data, len, path);
    als_err_t err;
    als_err_clear(&err);
    als_text_opts_t o = {.value_col = value_col};
    als_triplets_t t;
    int rc = als_text_read(path, kind, &o, &t, &err);
    als_triplets_free(&t);
    snprintf(want, sizeof want, "%s:%d: %s", path, line, what);
    assert_string_equal(err.msg, want);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
}

static void read_fail(const char *name, const char *data, als_text_kind_t kind, int value_col,
                      int code, int line, const char *what)
{
    read_fail_n(name, data, strlen(data), kind, value_col, code, line, what);
}

/* Check t's triplets against the expected arrays (values exactly). */
static void expect_triplets(const als_triplets_t *t, int64_t n, const uint64_t *row,
                            const uint64_t *col, const double *val)
{
    assert_int_equal(t->n, n);
    for (int64_t k = 0; k < n; k++) {
        assert_int_equal(t->row[k], row[k]);
        assert_int_equal(t->col[k], col[k]);
        assert_close(t->val[k], val[k], 0, 0);
    }
}

/* The same three ratings, whatever the separators. */
static void expect_123(const als_triplets_t *t)
{
    static const uint64_t r[] = {1, 4, 7}, c[] = {2, 5, 8};
    static const double v[] = {3, 4.5, 0.5};
    expect_triplets(t, 3, r, c, v);
}

/* ---- separators ---------------------------------------------------------- */

static void test_text_space_separated(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("sp.txt", "1 2 3\n4  5   4.5\n 7 8 0.5 \n", ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    assert_int_equal(t.lines, 3);
    assert_int_equal(t.header, 0);
    assert_int_equal(t.comments, 0);
    als_triplets_free(&t);
    assert_null(t.row);
    assert_int_equal(t.n, 0);
}

static void test_text_tab_separated(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("tab.tsv", "1\t2\t3\n4\t5\t4.5\n7\t\t8\t0.5\n", ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    als_triplets_free(&t);
}

static void test_text_comma_separated(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("c.csv", "1,2,3\n4,5,4.5\n7,8,0.5\n", ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    als_triplets_free(&t);
}

static void test_text_double_colon_separated(void **state)
{
    (void)state;
    als_triplets_t t;
    /* MovieLens 1M: UserID::MovieID::Rating::Timestamp */
    read_ok("ml.dat", "1::2::3::978300760\n4::5::4.5::978302109\n7::8::0.5::978301968\n",
            ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    als_triplets_free(&t);
}

static void test_text_mixed_separators(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("mix.txt", "1, 2\t3\n4 :: 5 ,4.5\n7\t,\t8::0.5,extra\n", ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    als_triplets_free(&t);
}

static void test_text_empty_column_is_error(void **state)
{
    (void)state;
    /* Two commas delimit an empty field; it is not skipped like blanks. */
    read_fail("empty.csv", "1,2,3\n4,,5,3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 2,
              "item id is missing (column 2 is empty)");
    read_fail("empty2.csv", "1,2,,3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "rating is missing (column 3 is empty)");
    /* A single ':' is not a separator. */
    read_fail("colon.txt", "1:2:3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "user id '1:2:3' is not an unsigned integer");
}

/* ---- line structure ------------------------------------------------------ */

static void test_text_comments_and_blank_lines(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("com.txt",
            "# a comment\n"
            "% another\n"
            "\n"
            "1 2 3\n"
            "   # indented comment\n"
            " \t \n"
            "\t% indented percent\n"
            "4 5 4.5\n"
            "\n"
            "7 8 0.5\n",
            ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    assert_int_equal(t.lines, 10);
    assert_int_equal(t.comments, 7);
    assert_int_equal(t.header, 0);
    als_triplets_free(&t);
}

static void test_text_crlf(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("crlf.txt", "# c\r\nuser,item,rating\r\n1,2,3\r\n\r\n4,5,4.5\r\n7,8,0.5\r\n",
            ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    assert_int_equal(t.lines, 6);
    assert_int_equal(t.header, 1);
    assert_int_equal(t.comments, 2);
    als_triplets_free(&t);
    /* A lone CR (old Mac line end) is not a line end: the line is malformed. */
    read_fail("cr.txt", "1 2 3\r4 5 6\r", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "rating '3\\x0d4' is not a number");
}

static void test_text_header_skipped(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("hdr.csv", "# exported\nuserId,movieId,rating,timestamp\n1,2,3,0\n4,5,4.5,0\n"
            "7,8,0.5,0\n", ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    assert_int_equal(t.header, 1);
    assert_int_equal(t.comments, 1);
    assert_int_equal(t.lines, 5);
    als_triplets_free(&t);
}

static void test_text_header_only(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("hdronly.csv", "user item rating\n", ALS_TEXT_RATINGS, 0, &t);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.header, 1);
    assert_int_equal(t.lines, 1);
    als_triplets_free(&t);
}

static void test_text_only_first_line_can_be_header(void **state)
{
    (void)state;
    read_fail("hdr2.txt", "user item rating\n1 2 3\nuser item rating\n", ALS_TEXT_RATINGS, 0,
              ALS_ERR_PARSE, 3, "user id 'user' is not an unsigned integer");
    /* A first line that starts with a number is data, not a header. */
    read_fail("hdr3.txt", "1 item rating\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "item id 'item' is not an unsigned integer");
}

static void test_text_empty_file(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("empty.txt", "", ALS_TEXT_RATINGS, 0, &t);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.lines, 0);
    assert_int_equal(t.header, 0);
    als_triplets_free(&t);
    read_ok("blank.txt", "\n\n# only comments\n", ALS_TEXT_SOCIAL, 0, &t);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.lines, 3);
    assert_int_equal(t.comments, 3);
    als_triplets_free(&t);
}

static void test_text_last_line_without_newline(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("nonl.txt", "1 2 3\n4 5 4.5\n7 8 0.5", ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    assert_int_equal(t.lines, 3);
    als_triplets_free(&t);
    read_ok("nonl1.txt", "1 2 3", ALS_TEXT_RATINGS, 0, &t);
    assert_int_equal(t.n, 1);
    assert_close(t.val[0], 3.0, 0, 0);
    assert_int_equal(t.lines, 1);
    als_triplets_free(&t);
    /* An error in that last line still names its number. */
    read_fail("nonl2.txt", "1 2 3\n4 5", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 2,
              "expected at least 3 columns (user item rating), found 2");
}

static void test_text_extra_columns_ignored(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("extra.txt", "1 2 3 978300760 anything at all\n4 5 4.5 x,y::z\n7 8 0.5 nan\n",
            ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    als_triplets_free(&t);
}

static void test_text_value_col(void **state)
{
    (void)state;
    als_triplets_t t;
    /* Ciao rating.tsv: user item category rating helpfulness */
    read_ok("ciao.tsv", "1\t2\t9\t3\t5\n4\t5\t9\t4.5\t5\n", ALS_TEXT_RATINGS, 3, &t);
    static const uint64_t r0[] = {1, 4}, c0[] = {2, 5};
    static const double v0[] = {3, 4.5};
    expect_triplets(&t, 2, r0, c0, v0);
    als_triplets_free(&t);
    /* Blank runs are one separator, but ",," delimits an empty (skipped) column. */
    read_ok("ciao.csv", "1,2,9,3,5\n4 5 9 4.5\n7,8,,0.5\n", ALS_TEXT_RATINGS, 3, &t);
    expect_123(&t);
    als_triplets_free(&t);
    read_fail("ciao2.tsv", "1\t2\t9\t3\n4\t5\t9\n", ALS_TEXT_RATINGS, 3, ALS_ERR_PARSE, 2,
              "expected at least 4 columns (user item ... with the rating in column 4), "
              "found 3");
    /* value_col 2 is the default */
    read_ok("vc2.txt", "1 2 3 9\n4 5 4.5 9\n7 8 0.5 9\n", ALS_TEXT_RATINGS, 2, &t);
    expect_123(&t);
    als_triplets_free(&t);
    /* for social files too: weight in column 4, absent -> 1 */
    read_ok("vcs.txt", "1 2 x 0.25\n3 4\n", ALS_TEXT_SOCIAL, 3, &t);
    static const uint64_t r[] = {1, 3}, c[] = {2, 4};
    static const double v[] = {0.25, 1};
    expect_triplets(&t, 2, r, c, v);
    als_triplets_free(&t);
}

static void test_text_value_col_invalid(void **state)
{
    (void)state;
    char path[TPATH];
    write_str("vcbad.txt", "1 2 3\n", path);
    als_err_t err;
    als_err_clear(&err);
    als_text_opts_t o = {.value_col = 1};
    als_triplets_t t;
    assert_int_equal(als_text_read(path, ALS_TEXT_RATINGS, &o, &t, &err), ALS_ERR_ARG);
    assert_non_null(strstr(err.msg, "value column 1"));
    als_triplets_free(&t);
    als_err_clear(&err);
    assert_int_equal(als_text_read(path, (als_text_kind_t)7, NULL, &t, &err), ALS_ERR_ARG);
    als_triplets_free(&t);
    /* opts == NULL means the defaults */
    als_err_clear(&err);
    assert_int_equal(als_text_read(path, ALS_TEXT_RATINGS, NULL, &t, &err), ALS_OK);
    assert_int_equal(t.n, 1);
    als_triplets_free(&t);
}

/* ---- values -------------------------------------------------------------- */

static void test_text_values_match_strtod(void **state)
{
    (void)state;
    static const char *vals[] = {
        "4.5", "0.1", "0.3", "3.14159265358979", "2.718281828459045", "-2.5", "7", "5.",
        ".5", "-.25", "1e-3", "1E+300", "123456789012345678901234", "0.000000000000000000000001",
        "9007199254740993", "9007199254740992.5", "0.25", "1234567890.123456789",
        "-0", "0", "17976931348623157e292", "2.2250738585072014e-308", "0e-400"};
    size_t nv = sizeof vals / sizeof vals[0];
    char buf[4096];
    size_t o = 0;
    for (size_t k = 0; k < nv; k++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%zu %zu %s\n", k, k + 1, vals[k]);
    als_triplets_t t;
    read_ok("vals.txt", buf, ALS_TEXT_RATINGS, 0, &t);
    assert_int_equal(t.n, (int64_t)nv);
    for (size_t k = 0; k < nv; k++) {
        double want = strtod(vals[k], NULL);
        if (memcmp(&t.val[k], &want, sizeof want) != 0) {
            print_error("value '%s': got %a, strtod gives %a\n", vals[k], t.val[k], want);
            fail();
        }
    }
    als_triplets_free(&t);
}

static void test_text_rating_zero_is_ordinary(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("zero.txt", "1 2 0\n3 4 0.0\n", ALS_TEXT_RATINGS, 0, &t);
    assert_int_equal(t.n, 2);
    assert_close(t.val[0], 0, 0, 0);
    assert_close(t.val[1], 0, 0, 0);
    als_triplets_free(&t);
}

static void test_text_rating_nan_inf(void **state)
{
    (void)state;
    read_fail("r.txt", "1 2 3\n1 3 4\n1 4 nan\n", ALS_TEXT_RATINGS, 0, ALS_ERR_DATA, 3,
              "rating 'nan' is not a finite number");
    read_fail("r2.txt", "1 2 inf\n", ALS_TEXT_RATINGS, 0, ALS_ERR_DATA, 1,
              "rating 'inf' is not a finite number");
    read_fail("r3.txt", "1 2 -Infinity\n", ALS_TEXT_RATINGS, 0, ALS_ERR_DATA, 1,
              "rating '-Infinity' is not a finite number");
    read_fail("r4.txt", "1 2 1e999\n", ALS_TEXT_RATINGS, 0, ALS_ERR_DATA, 1,
              "rating '1e999' is not a finite number");
    read_fail("r5.txt", "1 2 NaN\n", ALS_TEXT_SOCIAL, 0, ALS_ERR_DATA, 1,
              "weight 'NaN' is not a finite number");
}

static void test_text_rating_not_a_number(void **state)
{
    (void)state;
    read_fail("nan2.txt", "1 2 3\n1 2 abc\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 2,
              "rating 'abc' is not a number");
    read_fail("nan3.txt", "1 2 4.5x\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "rating '4.5x' is not a number");
}

static void test_text_malformed_line_names_line(void **state)
{
    (void)state;
    char buf[256] = "";
    for (int k = 1; k <= 16; k++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%d %d 4\n", k, k + 1);
    strcat(buf, "17 18\n19 20 5\n");
    read_fail("ratings.txt", buf, ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 17,
              "expected at least 3 columns (user item rating), found 2");
    read_fail("one.txt", "1 2 3\n\n5\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 3,
              "expected at least 3 columns (user item rating), found 1");
    read_fail("one_s.txt", "1 2\n5\n", ALS_TEXT_SOCIAL, 0, ALS_ERR_PARSE, 2,
              "expected at least 2 columns (truster trustee [weight]), found 1");
}

static void test_text_binary_garbage_line(void **state)
{
    (void)state;
    static const char bin[] = "1 2 3\n4 5 6\n\0\0\x01\xff\xfe garbage\n7 8 9\n";
    read_fail_n("bin.txt", bin, sizeof bin - 1, ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 3,
                "user id '\\x00\\x00\\x01\\xff\\xfe' is not an unsigned integer");
    static const char bin2[] = "1 2 3\n4 5 6\0\n";
    read_fail_n("bin2.txt", bin2, sizeof bin2 - 1, ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 2,
                "rating '6\\x00' is not a number");
    /* A NUL-only file: the first line is not numeric, hence a header. */
    static const char bin3[] = "\0\0\0\0";
    als_triplets_t t;
    char path[TPATH];
    write_file("bin3.txt", bin3, 4, path);
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_text_read(path, ALS_TEXT_RATINGS, NULL, &t, &err), ALS_OK);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.header, 1);
    als_triplets_free(&t);
}

/* ---- ids ----------------------------------------------------------------- */

static void test_text_id_overflow(void **state)
{
    (void)state;
    read_fail("r.txt", "1 2 3\n1 2 3\n1 2 3\n1 2 3\n1 2 3\n1 2 3\n1 2 3\n1 2 3\n"
              "18446744073709551616 1 2\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 9,
              "user id '18446744073709551616' does not fit in 64 bits");
    read_fail("r2.txt", "1 99999999999999999999999 2\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "item id '99999999999999999999999' does not fit in 64 bits");
    read_fail("r3.txt", "18446744073709551620 1\n", ALS_TEXT_SOCIAL, 0, ALS_ERR_PARSE, 1,
              "truster id '18446744073709551620' does not fit in 64 bits");
}

/* Issue 13 item 8: only decimal numbers; underflow is reported. */
static void test_text_non_decimal_rejected(void **state)
{
    (void)state;
    read_fail("hex.txt", "1 2 3\n1 3 0x10\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 2,
              "rating '0x10' is hexadecimal (write decimal numbers)");
    read_fail("hexf.txt", "1 3 0x1p2\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "rating '0x1p2' is hexadecimal (write decimal numbers)");
    read_fail("plus.txt", "1 2 3\n1 3 +3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 2,
              "rating '+3' has a leading '+' (write plain decimal numbers)");
    read_fail("plusid.txt", "1 2 3\n+1 3 3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 2,
              "user id '+1' has a leading '+' (ids are plain unsigned decimal integers)");
    read_fail("hexid.txt", "1 0x2 3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "item id '0x2' is hexadecimal (ids are plain unsigned decimal integers)");
    read_fail("uflow.txt", "1 2 3\n1 3 1e-400\n", ALS_TEXT_RATINGS, 0, ALS_ERR_DATA, 2,
              "rating '1e-400' underflows (its magnitude is below 2.225e-308, the smallest "
              "normal double; write 0 for zero)");
    read_fail("uflows.txt", "1 2 -4.9e-324\n", ALS_TEXT_SOCIAL, 0, ALS_ERR_DATA, 1,
              "weight '-4.9e-324' underflows (its magnitude is below 2.225e-308, the smallest "
              "normal double; write 0 for zero)");
}

/* Issue 13 item 7: a UTF-8 BOM is stripped; a skipped header is recorded. */
static void test_text_bom_and_header_note(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("bom.txt", "\xEF\xBB\xBF" "1 2 3\n4 5 4.5\n7 8 0.5\n", ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    assert_int_equal(t.bom, 1);
    assert_int_equal(t.header, 0);
    als_triplets_free(&t);
    read_ok("bomh.csv", "\xEF\xBB\xBF" "user,item,rating\n1,2,3\n4,5,4.5\n7,8,0.5\n",
            ALS_TEXT_RATINGS, 0, &t);
    expect_123(&t);
    assert_int_equal(t.header, 1);
    assert_int_equal(t.header_line, 1);
    assert_string_equal(t.header_text, "user,item,rating");
    als_triplets_free(&t);
    read_ok("x1.txt", "# c\nx1 1 3\n1 2 3\n4 5 4.5\n7 8 0.5\n", ALS_TEXT_RATINGS, 0, &t);
    assert_int_equal(t.header_line, 2);
    assert_string_equal(t.header_text, "x1 1 3");
    als_triplets_free(&t);
}

static void test_text_id_max_accepted(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("max.txt", "18446744073709551615 18446744073709551615 1\n0 0 2\n"
            "00000000000000000000000042 7 3\n", ALS_TEXT_RATINGS, 0, &t);
    static const uint64_t r[] = {UINT64_MAX, 0, 42}, c[] = {UINT64_MAX, 0, 7};
    static const double v[] = {1, 2, 3};
    expect_triplets(&t, 3, r, c, v);
    als_triplets_free(&t);
}

static void test_text_negative_id(void **state)
{
    (void)state;
    read_fail("neg.txt", "1 2 3\n-3 2 3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 2,
              "user id '-3' is negative (ids are unsigned 64-bit integers)");
    /* also on the first line: "-3" starts with a number, so it is no header */
    read_fail("neg2.txt", "5 -1 3\n", ALS_TEXT_SOCIAL, 0, ALS_ERR_PARSE, 1,
              "trustee id '-1' is negative (ids are unsigned 64-bit integers)");
}

static void test_text_fractional_id(void **state)
{
    (void)state;
    read_fail("frac.txt", "1 2 3\n1.5 2 3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 2,
              "user id '1.5' has a fraction or exponent (ids are unsigned 64-bit integers)");
    read_fail("frac2.txt", "1 2.0 3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "item id '2.0' has a fraction or exponent (ids are unsigned 64-bit integers)");
    read_fail("exp.txt", "1e3 2 3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "user id '1e3' has a fraction or exponent (ids are unsigned 64-bit integers)");
    read_fail("junk.txt", "12abc 2 3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "user id '12abc' is not an unsigned integer");
}

/* ---- social -------------------------------------------------------------- */

static void test_text_social_default_weight(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("trust.txt", "1 2\n3 4 0.5\n5\t6\n7,8,0\n9 10 \n", ALS_TEXT_SOCIAL, 0, &t);
    static const uint64_t r[] = {1, 3, 5, 7, 9}, c[] = {2, 4, 6, 8, 10};
    static const double v[] = {1, 0.5, 1, 0, 1};
    expect_triplets(&t, 5, r, c, v);
    assert_int_equal(t.self_loops, 0);
    als_triplets_free(&t);
}

static void test_text_social_self_loops_counted(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("self.txt", "1 1\n1 2\n2 2 0.5\n3 1\n3 3\n", ALS_TEXT_SOCIAL, 0, &t);
    static const uint64_t r[] = {1, 3}, c[] = {2, 1};
    static const double v[] = {1, 1};
    expect_triplets(&t, 2, r, c, v);
    assert_int_equal(t.self_loops, 3);
    assert_int_equal(t.lines, 5);
    als_triplets_free(&t);
    /* Ratings files keep i == j: user and item ids are different spaces. */
    read_ok("selfr.txt", "1 1 5\n", ALS_TEXT_RATINGS, 0, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.self_loops, 0);
    als_triplets_free(&t);
}

static void test_text_social_negative_weight(void **state)
{
    (void)state;
    read_fail("trust.txt", "1 2\n2 3 1\n3 4 0.5\n4 5 -1\n", ALS_TEXT_SOCIAL, 0, ALS_ERR_DATA, 4,
              "negative weight -1 (weights must be >= 0)");
    /* also for a self-link, which is validated before it is dropped */
    read_fail("trust2.txt", "4 4 -0.5\n", ALS_TEXT_SOCIAL, 0, ALS_ERR_DATA, 1,
              "negative weight -0.5 (weights must be >= 0)");
    read_fail("trust3.txt", "1 2 inf\n", ALS_TEXT_SOCIAL, 0, ALS_ERR_DATA, 1,
              "weight 'inf' is not a finite number");
    /* Negative ratings are fine. */
    als_triplets_t t;
    read_ok("negr.txt", "1 2 -1\n", ALS_TEXT_RATINGS, 0, &t);
    assert_close(t.val[0], -1, 0, 0);
    als_triplets_free(&t);
}

/* ---- MatrixMarket -------------------------------------------------------- */

static void test_text_mtx_good(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("good.mtx",
            "%%MatrixMarket matrix coordinate real general\n"
            "% a comment\n"
            "%\n"
            "4 9 3\n"
            "1 2 3\n"
            "4 5 4.5\n"
            "\n"
            "1 9 0.5e0\n",
            ALS_TEXT_RATINGS, 3 /* ignored for .mtx */, &t);
    static const uint64_t r[] = {1, 4, 1}, c[] = {2, 5, 9};
    static const double v[] = {3, 4.5, 0.5};
    expect_triplets(&t, 3, r, c, v);
    assert_int_equal(t.lines, 8);
    assert_int_equal(t.header, 1);   /* the size line */
    assert_int_equal(t.comments, 4); /* banner, two comments, blank */
    als_triplets_free(&t);
    read_ok("int.MTX", "%%MatrixMarket matrix coordinate integer general\n2 2 1\n2 1 5\n",
            ALS_TEXT_RATINGS, 0, &t);
    assert_int_equal(t.n, 1);
    assert_close(t.val[0], 5, 0, 0);
    als_triplets_free(&t);
    /* an empty .mtx file is an empty file */
    read_ok("empty.mtx", "", ALS_TEXT_RATINGS, 0, &t);
    assert_int_equal(t.n, 0);
    als_triplets_free(&t);
}

static void test_text_mtx_social(void **state)
{
    (void)state;
    als_triplets_t t;
    read_ok("s.mtx", "%%MatrixMarket matrix coordinate pattern general\n3 3 4\n1 2\n2 2\n3 1\n"
            "2 3\n", ALS_TEXT_SOCIAL, 0, &t);
    static const uint64_t r[] = {1, 3, 2}, c[] = {2, 1, 3};
    static const double v[] = {1, 1, 1};
    expect_triplets(&t, 3, r, c, v);
    assert_int_equal(t.self_loops, 1);
    als_triplets_free(&t);
    read_fail("p.mtx", "%%MatrixMarket matrix coordinate pattern general\n3 3 1\n1 2\n",
              ALS_TEXT_RATINGS, 0, ALS_ERR_DATA, 1,
              "MatrixMarket 'pattern' matrix has no values (ratings need 'real' or 'integer')");
    read_fail("w.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 1\n1 2 -2\n",
              ALS_TEXT_SOCIAL, 0, ALS_ERR_DATA, 3, "negative weight -2 (weights must be >= 0)");
}

static void test_text_mtx_bad_banner(void **state)
{
    (void)state;
    read_fail("nob.mtx", "3 3 1\n1 2 3\n", ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "missing MatrixMarket banner '%%MatrixMarket matrix coordinate real general' "
              "(found '3 3 1')");
    read_fail("arr.mtx", "%%MatrixMarket matrix array real general\n3 3\n", ALS_TEXT_RATINGS,
              0, ALS_ERR_PARSE, 1,
              "unsupported MatrixMarket format 'array' (only 'coordinate' is supported)");
    read_fail("sym.mtx", "%%MatrixMarket matrix coordinate real symmetric\n", ALS_TEXT_RATINGS,
              0, ALS_ERR_PARSE, 1,
              "unsupported MatrixMarket symmetry 'symmetric' (only 'general' is supported)");
    read_fail("cplx.mtx", "%%MatrixMarket matrix coordinate complex general\n",
              ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 1,
              "unsupported MatrixMarket field 'complex' (expected real, integer or pattern)");
    read_fail("vec.mtx", "%%MatrixMarket vector coordinate real general\n", ALS_TEXT_RATINGS,
              0, ALS_ERR_PARSE, 1, "unsupported MatrixMarket object 'vector' (expected 'matrix')");
    read_fail("size.mtx", "%%MatrixMarket matrix coordinate real general\n%c\n3 x 1\n",
              ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 3,
              "expected the MatrixMarket size line 'ROWS COLS ENTRIES' (found '3 x 1')");
    read_fail("nosize.mtx", "%%MatrixMarket matrix coordinate real general\n%c\n",
              ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 2,
              "missing the MatrixMarket size line 'ROWS COLS ENTRIES' (found end of file)");
}

static void test_text_mtx_entry_out_of_range(void **state)
{
    (void)state;
    static const char *head = "%%MatrixMarket matrix coordinate real general\n4 9 2\n";
    char buf[256];
    snprintf(buf, sizeof buf, "%s1 2 3\n5 1 1\n", head);
    read_fail("oor1.mtx", buf, ALS_TEXT_RATINGS, 0, ALS_ERR_DATA, 4,
              "row (user) index 5 outside 1..4 (the size line 2 declares 4 x 9)");
    snprintf(buf, sizeof buf, "%s0 2 3\n", head);
    read_fail("oor2.mtx", buf, ALS_TEXT_RATINGS, 0, ALS_ERR_DATA, 3,
              "row (user) index 0 outside 1..4 (the size line 2 declares 4 x 9)");
    snprintf(buf, sizeof buf, "%s1 10 3\n", head);
    read_fail("oor3.mtx", buf, ALS_TEXT_RATINGS, 0, ALS_ERR_DATA, 3,
              "column (item) index 10 outside 1..9 (the size line 2 declares 4 x 9)");
}

static void test_text_mtx_count_mismatch(void **state)
{
    (void)state;
    static const char *head = "%%MatrixMarket matrix coordinate real general\n4 9 2\n";
    char buf[256];
    snprintf(buf, sizeof buf, "%s1 2 3\n", head);
    read_fail("few.mtx", buf, ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 3,
              "file ends after 1 entries, the size line 2 declares 2");
    snprintf(buf, sizeof buf, "%s1 2 3\n2 2 3\n%% c\n3 3 3\n", head);
    read_fail("many.mtx", buf, ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 6,
              "more entries than the 2 declared by the size line 2");
    snprintf(buf, sizeof buf, "%s1 2\n", head);
    read_fail("short.mtx", buf, ALS_TEXT_RATINGS, 0, ALS_ERR_PARSE, 3,
              "expected at least 3 columns (row col value), found 2");
}

/* ---- files and buffers --------------------------------------------------- */

static void test_text_missing_file(void **state)
{
    (void)state;
    char path[TPATH], want[ALS_ERR_MSG_LEN];
    snprintf(path, sizeof path, "%s/does-not-exist.txt", g_dir);
    als_err_t err;
    als_err_clear(&err);
    als_triplets_t t;
    assert_int_equal(als_text_read(path, ALS_TEXT_RATINGS, NULL, &t, &err), ALS_ERR_IO);
    snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
    assert_string_equal(err.msg, want);
    assert_int_equal(t.n, 0);
    als_triplets_free(&t);
    /* a directory opens but cannot be read */
    als_err_clear(&err);
    assert_int_equal(als_text_read(g_dir, ALS_TEXT_RATINGS, NULL, &t, &err), ALS_ERR_IO);
    snprintf(want, sizeof want, "%s: cannot read: %s", g_dir, strerror(EISDIR));
    assert_string_equal(err.msg, want);
    als_triplets_free(&t);
}

/* Compare two parse results field by field. */
static void expect_same(const als_triplets_t *a, const als_triplets_t *b)
{
    assert_int_equal(a->lines, b->lines);
    assert_int_equal(a->header, b->header);
    assert_int_equal(a->comments, b->comments);
    assert_int_equal(a->self_loops, b->self_loops);
    expect_triplets(a, b->n, b->row, b->col, b->val);
}

static void test_text_lines_split_across_small_blocks(void **state)
{
    (void)state;
    /* Inputs with every kind of place a block boundary can fall: inside
     * numbers, inside "::", between '\r' and '\n', in comments, in a line far
     * longer than the block, and a last line without newline. */
    char longline[2048] = "12345 67890 2.75";
    for (int k = 0; k < 150; k++)
        strcat(longline, " extra");
    char ratings[4096];
    snprintf(ratings, sizeof ratings,
             "userId::movieId::rating\r\n"
             "# comment line that is quite long, longer than the small blocks\r\n"
             "1::2::3::978300760\r\n"
             "\r\n"
             "18446744073709551615,4,4.5\r\n"
             "%s\r\n"
             "7\t8\t0.125\r\n"
             "9 10 1e2", longline);
    static const struct { const char *name; const char *text; als_text_kind_t kind; } in[] = {
        {"split_s.txt", "1 2\n2 2\n3 4 0.5\n% c\n5 6", ALS_TEXT_SOCIAL},
        {"split.mtx", "%%MatrixMarket matrix coordinate real general\n%c\n10 10 3\n1 2 3\n"
                      "10 10 4.5\n3 3 0.5\n", ALS_TEXT_RATINGS},
    };
    for (int f = 0; f < 3; f++) {
        const char *name = f == 0 ? "split.txt" : in[f - 1].name;
        const char *text = f == 0 ? ratings : in[f - 1].text;
        als_text_kind_t kind = f == 0 ? ALS_TEXT_RATINGS : in[f - 1].kind;
        char path[TPATH];
        write_str(name, text, path);
        als_err_t err;
        als_err_clear(&err);
        als_triplets_t ref, t;
        assert_int_equal(text_read_block(path, kind, NULL, &ref, &err, 1 << 20), ALS_OK);
        if (f == 0) {
            static const uint64_t r[] = {1, UINT64_MAX, 12345, 7, 9};
            static const uint64_t c[] = {2, 4, 67890, 8, 10};
            static const double v[] = {3, 4.5, 2.75, 0.125, 100};
            expect_triplets(&ref, 5, r, c, v);
            assert_int_equal(ref.lines, 8);
            assert_int_equal(ref.header, 1);
            assert_int_equal(ref.comments, 2);
        } else if (f == 1) {
            assert_int_equal(ref.n, 3);
            assert_int_equal(ref.self_loops, 1);
        } else {
            assert_int_equal(ref.n, 3);
            assert_int_equal(ref.lines, 6);
        }
        for (size_t block = 1; block <= 70; block++) {
            als_err_clear(&err);
            int rc = text_read_block(path, kind, NULL, &t, &err, block);
            if (rc != ALS_OK)
                print_error("block %zu: %s\n", block, err.msg);
            assert_int_equal(rc, ALS_OK);
            expect_same(&t, &ref);
            als_triplets_free_copy(&t);
        }
        als_triplets_free_copy(&ref);
    }
    /* An error keeps its line number whatever the block size. */
    char path[TPATH], want[ALS_ERR_MSG_LEN];
    write_str("split_err.txt", "1 2 3\r\n4 5 6\r\n7 8 9\r\n10 11 x\r\n", path);
    snprintf(want, sizeof want, "%s:4: rating 'x' is not a number", path);
    for (size_t block = 1; block <= 40; block++) {
        als_err_t err;
        als_err_clear(&err);
        als_triplets_t t;
        assert_int_equal(text_read_block(path, ALS_TEXT_RATINGS, NULL, &t, &err, block),
                         ALS_ERR_PARSE);
        assert_string_equal(err.msg, want);
        als_triplets_free_copy(&t);
    }
}

static void test_text_line_across_default_block(void **state)
{
    (void)state;
    /* A file larger than one ALS_TEXT_BLOCK read, with a line that straddles
     * the first block boundary in the middle of a number; parsed by the
     * library's als_text_read. */
    const size_t B = ALS_TEXT_BLOCK;
    const char *mid = "123456789 987654321 4.25\r\n";
    /* The boundary falls inside "987654321" (for a tiny -D block size it
     * simply falls somewhere else). */
    size_t start = B > 64 ? B - 12 : 64;
    size_t total = start + 64 * 1024;
    char *buf = malloc(total);
    assert_non_null(buf);
    size_t o = 0;
    int64_t nfill = 0;
    while (start - o >= 6 + 8) { /* leave room for a final comment of >= 8 bytes */
        memcpy(buf + o, "1 2 3\n", 6);
        o += 6;
        nfill++;
    }
    if (o < start) { /* pad with a comment line of the exact remaining length */
        size_t r = start - o;
        buf[o] = '#';
        memset(buf + o + 1, 'x', r - 2);
        buf[o + r - 1] = '\n';
        o += r;
    }
    assert_int_equal(o, start);
    memcpy(buf + o, mid, strlen(mid));
    o += strlen(mid);
    for (int k = 0; k < 1000; k++)
        o += (size_t)sprintf(buf + o, "%d %d 2.5\n", k, k + 7);
    o += (size_t)sprintf(buf + o, "5 6 7"); /* no newline */
    char path[TPATH];
    write_file("big.txt", buf, o, path);
    free(buf);
    als_err_t err;
    als_err_clear(&err);
    als_triplets_t t;
    assert_int_equal(als_text_read(path, ALS_TEXT_RATINGS, NULL, &t, &err), ALS_OK);
    assert_int_equal(t.n, nfill + 1 + 1000 + 1);
    assert_int_equal(t.row[nfill], 123456789);
    assert_int_equal(t.col[nfill], 987654321);
    assert_close(t.val[nfill], 4.25, 0, 0);
    assert_int_equal(t.row[nfill + 1], 0);
    assert_int_equal(t.col[nfill + 1000], 999 + 7);
    assert_int_equal(t.row[t.n - 1], 5);
    assert_close(t.val[t.n - 1], 7, 0, 0);
    assert_int_equal(t.lines, t.n + t.comments);
    als_triplets_free(&t);
}

static void test_text_null_arguments(void **state)
{
    (void)state;
    als_err_t err;
    als_err_clear(&err);
    als_triplets_t t;
    assert_int_equal(als_text_read(NULL, ALS_TEXT_RATINGS, NULL, &t, &err), ALS_ERR_ARG);
    assert_int_equal(t.n, 0);
    als_err_clear(&err);
    assert_int_equal(als_text_read("x", ALS_TEXT_RATINGS, NULL, NULL, &err), ALS_ERR_ARG);
    als_triplets_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_space_separated),
        cmocka_unit_test(test_text_tab_separated),
        cmocka_unit_test(test_text_comma_separated),
        cmocka_unit_test(test_text_double_colon_separated),
        cmocka_unit_test(test_text_mixed_separators),
        cmocka_unit_test(test_text_empty_column_is_error),
        cmocka_unit_test(test_text_comments_and_blank_lines),
        cmocka_unit_test(test_text_crlf),
        cmocka_unit_test(test_text_header_skipped),
        cmocka_unit_test(test_text_header_only),
        cmocka_unit_test(test_text_only_first_line_can_be_header),
        cmocka_unit_test(test_text_empty_file),
        cmocka_unit_test(test_text_last_line_without_newline),
        cmocka_unit_test(test_text_extra_columns_ignored),
        cmocka_unit_test(test_text_value_col),
        cmocka_unit_test(test_text_value_col_invalid),
        cmocka_unit_test(test_text_values_match_strtod),
        cmocka_unit_test(test_text_rating_zero_is_ordinary),
        cmocka_unit_test(test_text_rating_nan_inf),
        cmocka_unit_test(test_text_rating_not_a_number),
        cmocka_unit_test(test_text_malformed_line_names_line),
        cmocka_unit_test(test_text_binary_garbage_line),
        cmocka_unit_test(test_text_id_overflow),
        cmocka_unit_test(test_text_id_max_accepted),
        cmocka_unit_test(test_text_non_decimal_rejected),
        cmocka_unit_test(test_text_bom_and_header_note),
        cmocka_unit_test(test_text_negative_id),
        cmocka_unit_test(test_text_fractional_id),
        cmocka_unit_test(test_text_social_default_weight),
        cmocka_unit_test(test_text_social_self_loops_counted),
        cmocka_unit_test(test_text_social_negative_weight),
        cmocka_unit_test(test_text_mtx_good),
        cmocka_unit_test(test_text_mtx_social),
        cmocka_unit_test(test_text_mtx_bad_banner),
        cmocka_unit_test(test_text_mtx_entry_out_of_range),
        cmocka_unit_test(test_text_mtx_count_mismatch),
        cmocka_unit_test(test_text_missing_file),
        cmocka_unit_test(test_text_lines_split_across_small_blocks),
        cmocka_unit_test(test_text_line_across_default_block),
        cmocka_unit_test(test_text_null_arguments),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
