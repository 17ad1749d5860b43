/* test_output.c - unit tests of the output set (als_output.h: exclusive
 * temporaries, the directory swap, the contract for files written by other
 * ranks) and of metrics.json strings (als_metrics.h). Issue 13 items 3, 4, 12.
 */
#include "als_test.h"
#include "als_metrics.h"
#include "als_output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64];

static int group_setup(void **state)
{
    (void)state;
    return als_test_tmpdir(g_dir, sizeof g_dir, "output");
}

static int group_teardown(void **state)
{
    (void)state;
    return als_test_rmtree(g_dir);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void expect_text(const char *path, const char *text)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, text);
}

/* Nothing but DIR itself (and the victim) may remain in g_dir/sub. */
static int count_entries(const char *dir)
{
    int n = 0;
    DIR *dp = opendir(dir);
    struct dirent *e;
    while (dp && (e = readdir(dp)) != NULL)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (dp)
        closedir(dp);
    return n;
}

/* Item 3: a planted symlink under any temporary name is never followed. */
static void test_tmpfile_exclusive(void **state)
{
    (void)state;
    char victim[256], target[256], tmp[512];
    snprintf(victim, sizeof victim, "%s/victim.txt", g_dir);
    snprintf(target, sizeof target, "%s/data.txt", g_dir);
    put(victim, "victim");
    int fd = als_tmpfile_open(target, tmp, sizeof tmp);
    assert_true(fd >= 0);
    close(fd);
    assert_non_null(strstr(tmp, "/.data.txt.tmp."));
    unlink(tmp);
    /* Plant the very name the next call would not know about: a symlink at
     * the same path makes O_EXCL|O_NOFOLLOW fail, the writer picks another. */
    assert_int_equal(symlink(victim, tmp), 0);
    for (int i = 0; i < 50; i++) {
        char t2[512];
        fd = als_tmpfile_open(target, t2, sizeof t2);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
        struct stat st;
        assert_int_equal(lstat(t2, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        unlink(t2);
    }
    expect_text(victim, "victim");
    unlink(tmp);
}

/* Item 4, the contract for the lead's MPI-IO writers: files written by
 * anyone inside als_output_tmpdir() are committed with the set. */
static void test_output_set_swap(void **state)
{
    (void)state;
    char base[256], dir[300], p[600];
    snprintf(base, sizeof base, "%s/sub", g_dir);
    snprintf(dir, sizeof dir, "%s/a/b/run", base);
    als_err_t err;
    als_err_clear(&err);
    assert_int_equal(als_output_prepare(dir, "--out", &err), ALS_OK);
    struct stat st;
    assert_int_not_equal(stat(base, &st), 0); /* prepare creates nothing */

    /* A failed set leaves no directory behind, not even the parents. */
    als_output_t *o = malloc(sizeof *o);
    assert_non_null(o);
    assert_int_equal(als_output_begin(o, dir, &err), ALS_OK);
    assert_true(als_output_tmpdir(o)[0] != '\0');
    assert_int_equal(als_output_text(o, "metrics.json", "{}", 2, &err), ALS_OK);
    als_output_abort(o);
    assert_int_not_equal(stat(base, &st), 0);

    /* First set: an externally written file (as by MPI-IO) plus our own. */
    assert_int_equal(als_output_begin(o, dir, &err), ALS_OK);
    snprintf(p, sizeof p, "%s/U.npy", als_output_tmpdir(o));
    put(p, "U1");
    assert_int_equal(als_output_add(o, "U.npy", &err), ALS_OK);
    assert_int_equal(als_output_text(o, "metrics.json", "m1", 2, &err), ALS_OK);
    snprintf(p, sizeof p, "%s/a/b/run/U.npy", base);
    assert_int_not_equal(stat(p, &st), 0); /* nothing visible before commit */
    assert_int_equal(als_output_commit(o, &err), ALS_OK);
    expect_text(p, "U1");
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    put(p, "mine");

    /* Second set replaces the first as a whole; the user's file stays. */
    assert_int_equal(als_output_begin(o, dir, &err), ALS_OK);
    snprintf(p, sizeof p, "%s/U.npy", als_output_tmpdir(o));
    put(p, "U2");
    assert_int_equal(als_output_add(o, "U.npy", &err), ALS_OK);
    assert_int_equal(als_output_text(o, "metrics.json", "m2", 2, &err), ALS_OK);
    assert_int_equal(als_output_commit(o, &err), ALS_OK);
    snprintf(p, sizeof p, "%s/U.npy", dir);
    expect_text(p, "U2");
    snprintf(p, sizeof p, "%s/metrics.json", dir);
    expect_text(p, "m2");
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    expect_text(p, "mine");
    snprintf(p, sizeof p, "%s/a/b", base);
    assert_int_equal(count_entries(p), 1); /* only run/: no temporary or old directory */

    /* A set name that is a directory: refused at commit, DIR unchanged. */
    snprintf(p, sizeof p, "%s/metrics.json", dir);
    unlink(p);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(als_output_prepare(dir, "--out", &err), ALS_ERR_IO);
    assert_non_null(strstr(err.msg, "metrics.json exists and is not a regular file"));
    als_err_clear(&err);
    assert_int_equal(als_output_begin(o, dir, &err), ALS_OK);
    assert_int_equal(als_output_text(o, "metrics.json", "m3", 2, &err), ALS_OK);
    assert_int_equal(als_output_text(o, "U.npy", "U3", 2, &err), ALS_OK);
    assert_int_equal(als_output_commit(o, &err), ALS_ERR_IO);
    snprintf(p, sizeof p, "%s/U.npy", dir);
    expect_text(p, "U2");
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    expect_text(p, "mine");
    snprintf(p, sizeof p, "%s/a/b", base);
    assert_int_equal(count_entries(p), 1);
    free(o);
}

/* Item 12: metrics.json strings are valid UTF-8 whatever bytes a path has. */
static void test_json_str_utf8(void **state)
{
    (void)state;
    als_buf_t b = {0};
    als_buf_json_str(&b, "r\xff/\xc3\xa9t\xe2\x82\xac\"\\\x01\xed\xa0\x80\xc3");
    assert_false(b.failed);
    assert_string_equal(b.s, "\"r\\\\xff/\xc3\xa9t\xe2\x82\xac\\\"\\\\\\u0001\\\\xed\\\\xa0\\\\x80\\\\xc3\"");
    als_buf_free(&b);
    char m[32];
    assert_string_equal(als_fmt_metric(m, sizeof m, 8, 3, NAN), "       -");
    assert_string_equal(als_fmt_metric(m, sizeof m, 8, 3, 0.5), "   0.500");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tmpfile_exclusive),
        cmocka_unit_test(test_output_set_swap),
        cmocka_unit_test(test_json_str_utf8),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
