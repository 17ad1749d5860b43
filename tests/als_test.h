/* als_test.h - shared helpers for the cmocka unit tests. */
#ifndef ALS_TEST_H
#define ALS_TEST_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdlib.h>

/* Stored row width the tests plan blocks for (als_plan_blocks balances flops
 * at k; any k >= 1 gives a valid plan and the factors never depend on it). */
#define ALS_TEST_K 10

#include "als_text.h"

/* |a - b| <= rtol * max(|a|, |b|) + atol, with a message naming both values.
 * cmocka 1.1.5 has no double assert (assert_float_equal casts to float). */
#define assert_close(a, b, rtol, atol) \
    als_test_assert_close((double)(a), (double)(b), (rtol), (atol), #a, #b, __FILE__, __LINE__)

static inline void als_test_assert_close(double a, double b, double rtol, double atol,
                                         const char *ea, const char *eb,
                                         const char *file, int line)
{
    double scale = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    if (!(fabs(a - b) <= rtol * scale + atol)) {
        print_error("%s = %.17g and %s = %.17g differ by %.3g (rtol %.3g, atol %.3g)\n",
                    ea, a, eb, b, fabs(a - b), rtol, atol);
        _fail(file, line);
    }
}

/* A small deterministic generator for test data (splitmix64). */
static inline uint64_t als_test_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static inline double als_test_uniform(uint64_t *s) /* in [-1, 1) */
{
    return (double)(als_test_next(s) >> 11) * 0x1.0p-52 - 1.0;
}

/* Create a fresh directory /tmp/als-test-TAG.XXXXXX into dir (cap bytes).
 * Returns 0, or -1 when it cannot be made. */
static inline int als_test_tmpdir(char *dir, size_t cap, const char *tag)
{
    snprintf(dir, cap, "/tmp/als-test-%s.XXXXXX", tag);
    return mkdtemp(dir) ? 0 : -1;
}

static inline int als_test_rm_entry(const char *path, const struct stat *sb, int flag,
                                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove dir and everything below it. Returns 0, or -1 on failure. */
static inline int als_test_rmtree(const char *dir)
{
    return nftw(dir, als_test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Append one triplet (a, b, v) to t, growing it as needed (test data). */
static inline void als_test_add(als_triplets_t *t, uint64_t a, uint64_t b, double v)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->row = realloc(t->row, t->cap * sizeof *t->row);
        t->col = realloc(t->col, t->cap * sizeof *t->col);
        t->val = realloc(t->val, t->cap * sizeof *t->val);
        if (!t->row || !t->col || !t->val)
            fail_msg("out of memory building test triplets");
    }
    t->row[t->n] = a;
    t->col[t->n] = b;
    t->val[t->n++] = v;
}

#endif
