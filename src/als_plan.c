/* als_plan.c - contiguous row blocks balanced by modelled flops. */
#include "als_plan.h"

#include <stdlib.h>
#include <string.h>

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

static void plan_blocks(int64_t nrows, const int64_t *rptr, const int64_t *wptr, int k, int p,
                        int64_t *beg, int hot)
{
    const __int128 K = k > 0 ? k : 1;
    const __int128 per_rating3 = 3 * (K * (K + 1) + 2 * K);
    const __int128 per_w3 = 6 * K;
    const __int128 per_row3 = K * K * K + 6 * K * K;
#define NR(t) (hot && als_plan_is_hot(rptr[(t) + 1] - rptr[t]) ? 0 : rptr[(t) + 1] - rptr[t])
#define COST(t) row_cost3(NR(t), wptr ? wptr[(t) + 1] - wptr[t] : 0, per_rating3, per_w3, \
                          per_row3)
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
#undef NR
    while (r < p)
        beg[r++] = nrows;
    beg[p] = nrows;
}

void als_plan_blocks(int64_t nrows, const int64_t *rptr, const int64_t *wptr, int k, int p,
                     int64_t *beg)
{
    plan_blocks(nrows, rptr, wptr, k, p, beg, 0);
}

void als_hotplan_free(als_hotplan_t *hp)
{
    if (!hp)
        return;
    free(hp->row);
    free(hp->first);
    free(hp->len);
    free(hp->rank);
    memset(hp, 0, sizeof *hp);
}

int als_plan_items(int64_t nrows, const int64_t *rptr, int k, int p, int64_t *beg,
                   als_hotplan_t *hp)
{
    plan_blocks(nrows, rptr, NULL, k, p, beg, 1);
    if (!hp)
        return 0;
    memset(hp, 0, sizeof *hp);
    int64_t nc = 0;
    for (int64_t t = 0; t < nrows; t++) {
        int64_t nr = rptr[t + 1] - rptr[t];
        if (als_plan_is_hot(nr))
            nc += (nr + ALS_HOT_CHUNK - 1) / ALS_HOT_CHUNK;
    }
    hp->n = nc;
    hp->row = malloc((size_t)(nc + 1) * sizeof *hp->row);
    hp->first = malloc((size_t)(nc + 1) * sizeof *hp->first);
    hp->len = malloc((size_t)(nc + 1) * sizeof *hp->len);
    hp->rank = malloc((size_t)(nc + 1) * sizeof *hp->rank);
    __int128 *load = calloc((size_t)p, sizeof *load);
    if (!hp->row || !hp->first || !hp->len || !hp->rank || !load) {
        free(load);
        als_hotplan_free(hp);
        return -1;
    }
    /* Each rank's block load (3 x modelled flops, hot rows' ratings left out). */
    const __int128 K = k > 0 ? k : 1;
    const __int128 per_rating3 = 3 * (K * (K + 1) + 2 * K), per_row3 = K * K * K + 6 * K * K;
    for (int r = 0; r < p; r++)
        for (int64_t t = beg[r]; t < beg[r + 1]; t++) {
            int64_t nr = rptr[t + 1] - rptr[t];
            load[r] += row_cost3(als_plan_is_hot(nr) ? 0 : nr, 0, per_rating3, 0, per_row3);
        }
    /* Chunks in (row, chunk) order, each to the least-loaded rank: a
     * binary heap of (load, rank), O(chunks log p). */
    int *heap = malloc((size_t)p * sizeof *heap);
    if (!heap) {
        free(load);
        als_hotplan_free(hp);
        return -1;
    }
#define LESS(a, b) (load[a] < load[b] || (load[a] == load[b] && (a) < (b)))
    for (int r = 0; r < p; r++) { /* build: sift up */
        int x = r;
        heap[x] = r;
        while (x > 0 && LESS(heap[x], heap[(x - 1) / 2])) {
            int t = heap[x]; heap[x] = heap[(x - 1) / 2]; heap[(x - 1) / 2] = t;
            x = (x - 1) / 2;
        }
    }
    int64_t c = 0;
    for (int64_t t = 0; t < nrows; t++) {
        int64_t nr = rptr[t + 1] - rptr[t];
        if (!als_plan_is_hot(nr))
            continue;
        for (int64_t f = 0; f < nr; f += ALS_HOT_CHUNK, c++) {
            hp->row[c] = t;
            hp->first[c] = f;
            hp->len[c] = nr - f < ALS_HOT_CHUNK ? nr - f : ALS_HOT_CHUNK;
            int r = heap[0];
            hp->rank[c] = r;
            load[r] += (__int128)hp->len[c] * per_rating3;
            int x = 0; /* sift down */
            for (;;) {
                int l = 2 * x + 1, rr = l + 1, b = x;
                if (l < p && LESS(heap[l], heap[b])) b = l;
                if (rr < p && LESS(heap[rr], heap[b])) b = rr;
                if (b == x) break;
                int tmp = heap[x]; heap[x] = heap[b]; heap[b] = tmp;
                x = b;
            }
        }
    }
#undef LESS
    free(heap);
    free(load);
    return 0;
}
