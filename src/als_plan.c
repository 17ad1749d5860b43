/* als_plan.c - contiguous row blocks balanced by modelled cost. */
#include "als_plan.h"

#include "als_woodbury.h"

#include <stdlib.h>
#include <string.h>

int als_plan_on_route(als_plan_model_t pm, int64_t nr)
{
    return pm.route && als_woodbury_pays(pm.kr, nr);
}

/* 3 x the modelled cost of a row, exactly, as an integer (the formulas of
 * als_plan.h; the n×n row's 3 wood(kr, n) = 3n(n+1)kr + 18n kr + n^3 +
 * 6n^2). */
static __int128 row_cost3(als_plan_model_t pm, int64_t nr, int64_t nw)
{
    const __int128 K = pm.k > 0 ? pm.k : 1, N = nr, W = nw;
    if (als_plan_on_route(pm, nr)) {
        const __int128 R = pm.kr;
        return 2 * (3 * N * (N + 1) * R + 18 * N * R + N * N * N + 6 * N * N) +
               3 * ALS_PLAN_ROUTE_ROW + W * 6 * K;
    }
    return N * 3 * (K * (K + 1) + 2 * K) + W * 6 * K + K * K * K + 6 * K * K;
}

double als_plan_row_flops(als_plan_model_t pm, int64_t nr, int64_t nw)
{
    return (double)row_cost3(pm, nr, nw) / 3.0;
}

double als_plan_route_delta(als_plan_model_t pm, int64_t nr)
{
    if (!als_plan_on_route(pm, nr))
        return 0.0;
    return (double)(row_cost3(pm, nr, 0) - row_cost3(als_plan_kxk(pm.k), nr, 0)) / 3.0;
}

static void plan_blocks(int64_t nrows, const int64_t *rptr, const int64_t *wptr,
                        als_plan_model_t pm, int p, int64_t *beg, int hot)
{
#define NR(t) (hot && als_plan_is_hot(rptr[(t) + 1] - rptr[t]) ? 0 : rptr[(t) + 1] - rptr[t])
#define COST(t) row_cost3(pm, NR(t), wptr ? wptr[(t) + 1] - wptr[t] : 0)
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

void als_plan_blocks(int64_t nrows, const int64_t *rptr, const int64_t *wptr,
                     als_plan_model_t pm, int p, int64_t *beg)
{
    plan_blocks(nrows, rptr, wptr, pm, p, beg, 0);
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

/* Place the chunks of the hot rows (rows hrow[0..nh) with hcnt ratings
 * each, ascending) greedily, in (row, chunk) order, on the least-loaded rank
 * (ties: the lowest): load[0..p) holds the blocks' loads (3 x flops) and is
 * updated. Fills hp. Returns 0 or -1 (out of memory). */
static int place_chunks(int p, __int128 *load, int64_t nh, const int64_t *hrow,
                        const int64_t *hcnt, __int128 per_rating3, als_hotplan_t *hp)
{
    memset(hp, 0, sizeof *hp);
    int64_t nc = 0;
    for (int64_t h = 0; h < nh; h++)
        nc += (hcnt[h] + ALS_HOT_CHUNK - 1) / ALS_HOT_CHUNK;
    hp->n = nc;
    hp->row = malloc((size_t)(nc + 1) * sizeof *hp->row);
    hp->first = malloc((size_t)(nc + 1) * sizeof *hp->first);
    hp->len = malloc((size_t)(nc + 1) * sizeof *hp->len);
    hp->rank = malloc((size_t)(nc + 1) * sizeof *hp->rank);
    int *heap = malloc((size_t)(p + 1) * sizeof *heap);
    if (!hp->row || !hp->first || !hp->len || !hp->rank || !heap) {
        free(heap);
        als_hotplan_free(hp);
        return -1;
    }
    /* A binary heap of ranks by (load, rank): O(chunks log p). */
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
    for (int64_t h = 0; h < nh; h++) {
        for (int64_t f = 0; f < hcnt[h]; f += ALS_HOT_CHUNK, c++) {
            hp->row[c] = hrow[h];
            hp->first[c] = f;
            hp->len[c] = hcnt[h] - f < ALS_HOT_CHUNK ? hcnt[h] - f : ALS_HOT_CHUNK;
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
    return 0;
}

int als_plan_items(int64_t nrows, const int64_t *rptr, als_plan_model_t pm, int p,
                   int64_t *beg, als_hotplan_t *hp)
{
    plan_blocks(nrows, rptr, NULL, pm, p, beg, 1);
    if (!hp)
        return 0;
    int64_t nh = 0;
    for (int64_t t = 0; t < nrows; t++)
        nh += als_plan_is_hot(rptr[t + 1] - rptr[t]);
    int64_t *hrow = malloc((size_t)(2 * nh + 1) * sizeof *hrow), *hcnt = hrow + nh;
    __int128 *load = calloc((size_t)p, sizeof *load);
    if (!hrow || !load) {
        free(hrow);
        free(load);
        return -1;
    }
    for (int64_t t = 0, h = 0; t < nrows; t++)
        if (als_plan_is_hot(rptr[t + 1] - rptr[t])) {
            hrow[h] = t;
            hcnt[h++] = rptr[t + 1] - rptr[t];
        }
    /* Each rank's block load (3 x modelled cost, hot rows' ratings left
     * out); a chunk's ratings cost as a k×k row's. */
    const __int128 K = pm.k > 0 ? pm.k : 1;
    const __int128 per_rating3 = 3 * (K * (K + 1) + 2 * K);
    for (int r = 0; r < p; r++)
        for (int64_t t = beg[r]; t < beg[r + 1]; t++) {
            int64_t nr = rptr[t + 1] - rptr[t];
            load[r] += row_cost3(pm, als_plan_is_hot(nr) ? 0 : nr, 0);
        }
    int rc = place_chunks(p, load, nh, hrow, hcnt, per_rating3, hp);
    free(hrow);
    free(load);
    return rc;
}

/* MPI sum of __int128 (16-byte elements). */
static void sum_i128(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    __int128 a, b;
    for (int i = 0; i < *len; i++) {
        memcpy(&a, (char *)in + 16 * i, 16);
        memcpy(&b, (char *)inout + 16 * i, 16);
        b += a;
        memcpy((char *)inout + 16 * i, &b, 16);
    }
}

int als_plan_dist(MPI_Comm comm, int64_t nrows, int64_t a, int64_t b, const int64_t *rptr,
                  const int64_t *wptr, als_plan_model_t pm, int hot, int64_t *beg,
                  als_hotplan_t *hp)
{
    int p, rank;
    MPI_Comm_size(comm, &p);
    MPI_Comm_rank(comm, &rank);
    const __int128 K = pm.k > 0 ? pm.k : 1;
    const __int128 per_rating3 = 3 * (K * (K + 1) + 2 * K);
#define NR(t) (hot && als_plan_is_hot(rptr[(t) - a + 1] - rptr[(t) - a]) ? 0 \
               : rptr[(t) - a + 1] - rptr[(t) - a])
#define COST(t) row_cost3(pm, NR(t), wptr ? wptr[(t) - a + 1] - wptr[(t) - a] : 0)
    MPI_Datatype i128;
    MPI_Op sum;
    MPI_Type_contiguous(16, MPI_BYTE, &i128);
    MPI_Type_commit(&i128);
    MPI_Op_create(sum_i128, 1, &sum);
    __int128 mine = 0, pre = 0, total = 0;
    for (int64_t t = a; t < b; t++)
        mine += COST(t);
    MPI_Exscan(&mine, &pre, 1, i128, sum, comm);
    if (rank == 0)
        pre = 0; /* MPI_Exscan leaves rank 0's result undefined */
    MPI_Allreduce(&mine, &total, 1, i128, sum, comm);
    /* Boundary r: the first row whose exclusive prefix reaches r/p of the
     * total (as plan_blocks); each rank offers the first such row of its
     * slice, the minimum wins. */
    int64_t *cand = malloc((size_t)(p + 1) * sizeof *cand);
    __int128 *pv = calloc((size_t)(p + 1), sizeof *pv);
    int rc = cand && pv ? 0 : -1;
    for (int r = 0; cand && r <= p; r++)
        cand[r] = nrows;
    if (rc == 0) {
        __int128 prefix = pre;
        int r = 1;
        for (int64_t t = a; t < b && r < p; t++) {
            while (r < p && prefix * p >= (__int128)r * total)
                cand[r++] = t;
            prefix += COST(t);
        }
    }
    MPI_Allreduce(MPI_IN_PLACE, cand, p + 1, MPI_INT64_T, MPI_MIN, comm);
    for (int r = 1; r < p; r++)
        beg[r] = cand[r];
    beg[0] = 0;
    beg[p] = nrows;
    if (hot && hp && rc == 0) {
        /* The blocks' loads from the prefix at each boundary (its slice's
         * rank contributes it), and the hot rows, gathered in row order. */
        __int128 prefix = pre;
        int r = 0;
        while (r <= p && beg[r] < a)
            r++;
        for (int64_t t = a; t < b; t++) {
            while (r <= p && beg[r] == t)
                pv[r++] = prefix;
            prefix += COST(t);
        }
        MPI_Allreduce(MPI_IN_PLACE, pv, p + 1, i128, sum, comm);
        for (int q = 0; q <= p; q++)
            if (beg[q] == nrows)
                pv[q] = total;
        __int128 *load = calloc((size_t)(p > 0 ? p : 1), sizeof *load);
        int64_t nh = 0;
        for (int64_t t = a; t < b; t++)
            nh += als_plan_is_hot(rptr[t - a + 1] - rptr[t - a]);
        int *cnt = malloc((size_t)p * sizeof *cnt), *dsp = malloc((size_t)p * sizeof *dsp);
        int64_t *mh = malloc((size_t)(2 * nh + 1) * sizeof *mh);
        int nmine = (int)(2 * nh), ntot = 0;
        if (!load || !cnt || !dsp || !mh)
            rc = -1;
        int ok = rc == 0;
        MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm);
        if (ok) {
            for (int64_t t = a, h = 0; t < b; t++)
                if (als_plan_is_hot(rptr[t - a + 1] - rptr[t - a])) {
                    mh[2 * h] = t;
                    mh[2 * h++ + 1] = rptr[t - a + 1] - rptr[t - a];
                }
            MPI_Allgather(&nmine, 1, MPI_INT, cnt, 1, MPI_INT, comm);
            for (int q = 0; q < p; q++) {
                dsp[q] = ntot;
                ntot += cnt[q];
            }
        }
        int64_t *all = ok ? malloc((size_t)(ntot + 1) * sizeof *all) : NULL;
        int ok2 = ok && all;
        MPI_Allreduce(MPI_IN_PLACE, &ok2, 1, MPI_INT, MPI_MIN, comm);
        if (ok2) {
            MPI_Allgatherv(mh, nmine, MPI_INT64_T, all, cnt, dsp, MPI_INT64_T, comm);
            int64_t n2 = ntot / 2;
            int64_t *hrow = malloc((size_t)(2 * n2 + 1) * sizeof *hrow), *hcnt = hrow + n2;
            if (hrow) {
                for (int64_t h = 0; h < n2; h++) {
                    hrow[h] = all[2 * h];
                    hcnt[h] = all[2 * h + 1];
                }
                for (int q = 0; q < p; q++)
                    load[q] = pv[q + 1] - pv[q];
                rc = place_chunks(p, load, n2, hrow, hcnt, per_rating3, hp);
            } else {
                rc = -1;
            }
            free(hrow);
        } else {
            rc = -1;
        }
        free(all);
        free(load);
        free(cnt);
        free(dsp);
        free(mh);
    }
#undef COST
#undef NR
    free(cand);
    free(pv);
    MPI_Op_free(&sum);
    MPI_Type_free(&i128);
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MIN, comm);
    return rc;
}
