/* test_hugepage.c - unit tests of the huge-page allocation and its report.
 *
 * The oracle for als_huge_backed is the kernel itself: a region that asked
 * for huge pages on a system whose transparent huge pages are "madvise" or
 * "always" is backed by them once touched (2 MiB aligned, whole pages), and a
 * small malloc'ed buffer never is. Where THP is "never" or unknown the
 * huge-page half is skipped, saying so.
 */
#include "als_test.h"
#include "als_hugepage.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The mode is one of the four documented words, and availability agrees. */
static void test_thp_mode_words(void **state)
{
    (void)state;
    const char *m = als_huge_thp_mode();
    int known = strcmp(m, "always") == 0 || strcmp(m, "madvise") == 0 ||
                strcmp(m, "never") == 0 || strcmp(m, "unknown") == 0;
    assert_true(known);
    assert_int_equal(als_huge_available(),
                     strcmp(m, "always") == 0 || strcmp(m, "madvise") == 0);
}

/* Small requests (or want = 0) are plain malloc: usable, and freeable. */
static void test_small_and_unwanted(void **state)
{
    (void)state;
    double *a = als_huge_alloc(1000 * sizeof(double), 1);
    double *b = als_huge_alloc((size_t)3 << 20, 0);
    assert_non_null(a);
    assert_non_null(b);
    for (int i = 0; i < 1000; i++)
        a[i] = i;
    memset(b, 1, (size_t)3 << 20);
    assert_true(a[999] == 999.0);
    /* The count never exceeds the range asked about; a heap buffer that
     * did not ask is on 4 KiB pages unless THP is "always". */
    int64_t h = als_huge_backed(a, 1000 * sizeof(double));
    assert_true(h >= -1 && h <= (int64_t)(1000 * sizeof(double)));
    if (strcmp(als_huge_thp_mode(), "always") != 0)
        assert_true(h == -1 || h == 0);
    als_huge_free(a, 1000 * sizeof(double), 1);
    als_huge_free(b, (size_t)3 << 20, 0);
}

/* A large request is 2 MiB aligned, fully usable, and (THP available) on
 * huge pages once touched, even after the heap was used (it is a fresh
 * mapping); the backed count is within the range. */
static void test_large_on_huge_pages(void **state)
{
    (void)state;
    const size_t bytes = ((size_t)8 << 20) + 12345;
    /* Dirty the heap first, as a long run does before its factors. */
    for (int i = 0; i < 8; i++) {
        char *junk = malloc((size_t)1 << 20);
        assert_non_null(junk);
        memset(junk, i, (size_t)1 << 20);
        free(junk);
    }
    unsigned char *p = als_huge_alloc(bytes, 1);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % ALS_HUGE_PAGE, 0);
    memset(p, 0x5a, bytes);
    assert_int_equal(p[bytes - 1], 0x5a);
    int64_t h = als_huge_backed(p, bytes);
    assert_true(h >= -1 && h <= (int64_t)bytes);
    /* A sub-range counts at most its own length. */
    int64_t hs = als_huge_backed(p + 4096, 100000);
    assert_true(hs >= -1 && hs <= 100000);
    if (!als_huge_available() || h < 0) {
        print_message("note: transparent huge pages %s here (smaps %s): the backing check "
                      "is skipped\n", als_huge_thp_mode(), h < 0 ? "unreadable" : "readable");
    } else {
        /* At least the three whole 2 MiB pages inside the 8 MiB + tail. */
        assert_true(h >= (int64_t)(3 * ALS_HUGE_PAGE));
        assert_true(hs == 100000);
    }
    als_huge_free(p, bytes, 1);
}

/* The mount holding a directory: the longest mount point that is the
 * directory or a parent (not merely a string prefix), its huge= value or
 * "never" without one; a fixture in /proc/mounts format. */
static void test_mount_option(void **state)
{
    (void)state;
    char path[] = "/tmp/als-test-mounts.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("/dev/root / ext4 rw,relatime 0 0\n"
          "tmpfs /dev tmpfs rw,nosuid,size=65536k,huge=within_size 0 0\n"
          "tmpfs /dev/shm tmpfs rw,relatime,size=24683584k,huge=advise 0 0\n"
          "tmpfs /dev/shmx tmpfs rw,huge=always,size=10k 0 0\n"
          "tmpfs /run/user/0 tmpfs rw,size=100k 0 0\n", f);
    fclose(f);
    char out[64];
    const char *dirs[][2] = {{"/dev/shm", "advise"},  {"/dev/shm/osc", "advise"},
                             {"/dev/shmx/a", "always"}, {"/dev/sh", "within_size"},
                             {"/dev/shmy", "within_size"}, {"/run/user/0", "never"},
                             {"/tmp", "never"}};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        als_huge_mount_option(path, dirs[i][0], out, sizeof out);
        if (strcmp(out, dirs[i][1]) != 0)
            fail_msg("%s: huge=%s, expected %s", dirs[i][0], out, dirs[i][1]);
    }
    als_huge_mount_option("/nonexistent/mounts", "/dev/shm", out, sizeof out);
    assert_string_equal(out, "unknown");
    unlink(path);
    /* The live system: the reason names the directory and both settings. */
    char why[192];
    int avail = als_huge_shm_available("/dev/shm", why, sizeof why);
    assert_true(avail == 0 || avail == 1);
    assert_non_null(strstr(why, "/dev/shm mounted huge="));
    assert_non_null(strstr(why, ", shmem_enabled "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thp_mode_words),
        cmocka_unit_test(test_small_and_unwanted),
        cmocka_unit_test(test_large_on_huge_pages),
        cmocka_unit_test(test_mount_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
