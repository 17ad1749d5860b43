/* als_plan.c - contiguous row blocks balanced by modelled flops. */
#include "als_plan.h"

double als_plan_row_flops(int64_t nr, int64_t nw, int k)
{
    double dk = (double)k;
    return (double)nr * (dk * (dk + 1.0) + 2.0 * dk) + (double)nw * 2.0 * dk +
           dk * dk * dk / 3.0 + 2.0 * dk * dk;
}

/* 3 x the modelled flops of a row, exactly, as an integer. */
static inline __int128 row_cost3(int64_t nr, int64_t nw, __int128 per_rating3, __int128 per_w3,
                                 __int128 per_row3)
{
    return (__int128)nr * per_rating3 + (__int128)nw * per_w3 + per_row3;
}

void als_plan_blocks(int64_t nrows, const int64_t *rptr, const int64_t *wptr, int k, int p,
                     int64_t *beg)
{
    const __int128 K = k > 0 ? k : 1;
    const __int128 per_rating3 = 3 * (K * (K + 1) + 2 * K);
    const __int128 per_w3 = 6 * K;
    const __int128 per_row3 = K * K * K + 6 * K * K;
#define COST(t) row_cost3(rptr[(t) + 1] - rptr[t], wptr ? wptr[(t) + 1] - wptr[t] : 0, \
                          per_rating3, per_w3, per_row3)
    /* Total cost, then one pass placing each boundary: prefix * p >= r * total. */
    __int128 total = 0;
    for (int64_t t = 0; t < nrows; t++)
        total += COST(t);
    beg[0] = 0;
    int r = 1;
    __int128 prefix = 0;
    for (int64_t t = 0; t < nrows && r < p; t++) {
        while (r < p && prefix * p >= (__int128)r * total)
            beg[r++] = t;
        prefix += COST(t);
    }
#undef COST
    while (r < p)
        beg[r++] = nrows;
    beg[p] = nrows;
}
