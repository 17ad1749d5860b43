/* als_plan.c - contiguous row blocks balanced by work. */
#include "als_plan.h"

#include <inttypes.h>

void als_plan_blocks(int64_t nrows, const int64_t *cnt, int p, int64_t *beg)
{
    /* Total work, then one pass placing each boundary. Work fits in int64;
     * the comparison prefix * p >= r * total is done in 128 bits. */
    __int128 total = 0;
    for (int64_t t = 0; t < nrows; t++)
        total += (cnt ? cnt[t] : 0) + 1;
    beg[0] = 0;
    int r = 1;
    __int128 prefix = 0;
    for (int64_t t = 0; t < nrows && r < p; t++) {
        while (r < p && prefix * p >= (__int128)r * total)
            beg[r++] = t;
        prefix += (cnt ? cnt[t] : 0) + 1;
    }
    while (r < p)
        beg[r++] = nrows;
    beg[p] = nrows;
}

/* Sum of a prefix-sum array over rows [a, b). */
static int64_t span(const int64_t *prefix, int64_t a, int64_t b)
{
    return prefix ? prefix[b] - prefix[a] : 0;
}

void als_plan_print(FILE *out, int p, int64_t m, int64_t n, const int64_t *ubeg,
                    const int64_t *ibeg, const int64_t *ucnt_prefix,
                    const int64_t *icnt_prefix, const int64_t *scnt_prefix)
{
    fprintf(out, "block plan for %d rank%s (work = ratings + social entries + rows)\n", p,
            p == 1 ? "" : "s");
    fprintf(out, "%6s %12s %12s %12s %12s %12s %12s\n", "rank", "users", "user_ratings",
            "social", "items", "item_ratings", "work");
    double umax = 0, imax = 0, utot = 0, itot = 0;
    for (int r = 0; r < p; r++) {
        int64_t nu = ubeg[r + 1] - ubeg[r], ni = ibeg[r + 1] - ibeg[r];
        int64_t ur = span(ucnt_prefix, ubeg[r], ubeg[r + 1]);
        int64_t sr = span(scnt_prefix, ubeg[r], ubeg[r + 1]);
        int64_t ir = span(icnt_prefix, ibeg[r], ibeg[r + 1]);
        double uw = (double)(nu + ur + sr), iw = (double)(ni + ir);
        utot += uw;
        itot += iw;
        if (uw > umax) umax = uw;
        if (iw > imax) imax = iw;
        fprintf(out, "%6d %12" PRId64 " %12" PRId64 " %12" PRId64 " %12" PRId64 " %12" PRId64
                " %12.0f\n", r, nu, ur, sr, ni, ir, uw + iw);
    }
    fprintf(out, "total: %" PRId64 " users, %" PRId64 " items\n", m, n);
    fprintf(out, "imbalance (max/mean work): users %.3f, items %.3f\n",
            utot > 0 ? umax / (utot / p) : 1.0, itot > 0 ? imax / (itot / p) : 1.0);
}
