/* als_ghost.c - owned rows, ghost rows and the neighbourhood exchange plan. */
#include "als_ghost.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int als_ghost_collect(int nlists, const int64_t *const *idx, const int64_t *len, int64_t own0,
                      int64_t own1, int64_t **out, int64_t *nout, als_err_t *err)
{
    int64_t total = 0;
    for (int l = 0; l < nlists; l++)
        total += len[l];
    int64_t *a = malloc((size_t)(total + 1) * sizeof *a);
    if (!a)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory collecting ghost rows "
                           "(%" PRId64 " indices)", total);
    int64_t n = 0;
    for (int l = 0; l < nlists; l++)
        for (int64_t x = 0; x < len[l]; x++) {
            int64_t g = idx[l][x];
            if (g < own0 || g >= own1)
                a[n++] = g;
        }
    qsort(a, (size_t)n, sizeof *a, cmp_i64);
    int64_t u = 0;
    for (int64_t x = 0; x < n; x++)
        if (u == 0 || a[x] != a[u - 1])
            a[u++] = a[x];
    int64_t *s = realloc(a, (size_t)(u + 1) * sizeof *a);
    *out = s ? s : a;
    *nout = u;
    return ALS_OK;
}

int als_ghost_owner(const int64_t *beg, int p, int64_t g)
{
    /* The last r with beg[r] <= g (then beg[r+1] > g since blocks cover). */
    int lo = 0, hi = p - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (beg[mid] <= g)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}
