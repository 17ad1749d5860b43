/* als_planstats.c - per-rank figures of a block plan (both exchange modes). */
#include "als_planstats.h"

#include <inttypes.h>
#include <stdlib.h>

#include "als_ghost.h"
#include "als_plan.h"

void als_planstats_rank(const als_planstats_counts_t *c, int64_t m, int64_t n, int k,
                        int threads, als_planstats_t *out)
{
    const int64_t row = (int64_t)k * 8;   /* bytes of one factor row */
    if (threads < 1)
        threads = 1;
    out->flops_u = (double)c->user_ratings * (double)k * (k + 3.0) + (double)c->wnnz * 2.0 * k +
                   (double)c->users * ((double)k * k * k / 3.0 + 2.0 * (double)k * k) + c->route_u;
    out->flops_v = (double)(c->item_ratings - c->hot_ratings + c->chunk_ratings) *
                       (double)k * (k + 3.0) +
                   (double)c->items * ((double)k * k * k / 3.0 + 2.0 * (double)k * k) + c->route_v;
    out->bytes_neighbor = (c->ughost + c->vghost) * row;
    out->bytes_allgather = ((m - c->users) + (n - c->items)) * row;
    const int64_t local = (c->user_ratings + c->item_ratings + c->chunk_ratings) * 16 +
                          c->wnnz * 16 +
                          ((c->users + 1) * 2 + (c->items + 1)) * 8 + c->users * 8;
    const int64_t work = (int64_t)threads * 4 * (int64_t)k * k * 8;
    /* Both modes solve rows in place (no new V block; no new U block when
     * the rank has no W rows). Sharded, the send buffer is packed in rounds
     * of at most ALS_GHOST_ROUND_BYTES. */
    const int64_t nblocks = (c->wnnz > 0 ? c->users : 0) * row;
    out->mem_allgather = (m + n) * row + nblocks + local + work;
    int64_t sendbuf = (c->usent > c->vsent ? c->usent : c->vsent) * row;
    if (sendbuf > ALS_GHOST_ROUND_BYTES)
        sendbuf = ALS_GHOST_ROUND_BYTES;
    out->mem_neighbor = (c->users + c->ughost) * row + (c->items + c->vghost) * row + nblocks +
                        sendbuf + (c->ughost + c->vghost + c->usent + c->vsent) * 8 + local +
                        work;
}

void als_planstats_route(als_plan_model_t pm, int64_t nu, const int64_t *uptr, int64_t ni,
                         const int64_t *iptr, als_planstats_counts_t *c)
{
    c->route_u = c->route_v = 0.0;
    if (!pm.route)
        return;
    for (int64_t t = 0; t < nu; t++)
        c->route_u += als_plan_route_delta(pm, uptr[t + 1] - uptr[t]);
    for (int64_t t = 0; t < ni; t++) {
        const int64_t nr = iptr[t + 1] - iptr[t];
        if (!als_plan_is_hot(nr))
            c->route_v += als_plan_route_delta(pm, nr);
    }
}

int als_planstats_global(int p, int64_t m, int64_t n, als_plan_model_t pm,
                         const int64_t *ubeg, const int64_t *ibeg,
                         const als_hotplan_t *hot, const int64_t *uptr, const int64_t *ucol,
                         const int64_t *iptr, const int64_t *irow, const int64_t *wptr,
                         const int64_t *wcol, als_planstats_counts_t *cnt, als_err_t *err)
{
    (void)m;
    (void)n;
    for (int r = 0; r < p; r++)
        cnt[r] = (als_planstats_counts_t){0};
    const int64_t nh = hot ? hot->n : 0;
    for (int r = 0; r < p; r++) {
        const int64_t u0 = ubeg[r], u1 = ubeg[r + 1], i0 = ibeg[r], i1 = ibeg[r + 1];
        als_planstats_counts_t *c = &cnt[r];
        c->users = u1 - u0;
        c->items = i1 - i0;
        c->user_ratings = uptr[u1] - uptr[u0];
        c->item_ratings = iptr[i1] - iptr[i0];
        c->wnnz = wptr ? wptr[u1] - wptr[u0] : 0;
        als_planstats_route(pm, u1 - u0, uptr + u0, i1 - i0, iptr + i0, c);
        for (int64_t j = i0; j < i1; j++)
            if (als_plan_is_hot(iptr[j + 1] - iptr[j]))
                c->hot_ratings += iptr[j + 1] - iptr[j];
        /* The chunks rank r computes: their users and rows, copied. */
        int64_t nc = 0, nhr = 0;
        for (int64_t x = 0; x < nh; x++)
            if (hot->rank[x] == r) {
                nc++;
                nhr += hot->len[x];
            }
        int64_t *hrow = malloc((size_t)(nc + 1) * sizeof *hrow);
        int64_t *hirow = malloc((size_t)(nhr + 1) * sizeof *hirow);
        if (!hrow || !hirow) {
            free(hrow);
            free(hirow);
            return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the hot-row chunks");
        }
        for (int64_t x = 0, a = 0, y = 0; x < nh; x++)
            if (hot->rank[x] == r) {
                hrow[a++] = hot->row[x];
                for (int64_t z = 0; z < hot->len[x]; z++)
                    hirow[y++] = irow[iptr[hot->row[x]] + hot->first[x] + z];
            }
        c->chunk_ratings = nhr;
        als_ghost_input_t gi = {u0, u1, i0, i1, i1 - i0, iptr + i0, irow + iptr[i0],
                                ucol + uptr[u0], c->user_ratings, wcol ? wcol + wptr[u0] : NULL,
                                c->wnnz, hirow, nhr, hrow, nc, NULL, 0};
        int64_t *ug = NULL, *vg = NULL, nug = 0, nvg = 0;
        int rc = als_ghost_lists(&gi, &ug, &nug, &vg, &nvg, err);
        free(hrow);
        free(hirow);
        if (rc != ALS_OK) {
            free(ug);
            free(vg);
            return rc;
        }
        c->vghost = nvg;
        for (int64_t x = 0, last = -1; x < nvg; x++) {
            int q = als_ghost_owner(ibeg, p, vg[x]);
            cnt[q].vsent++;
            c->vrecv_ranks += q != last; /* ascending ghosts: owners ascend */
            last = q;
        }
        c->ughost = nug;
        for (int64_t x = 0, last = -1; x < nug; x++) {
            int q = als_ghost_owner(ubeg, p, ug[x]);
            cnt[q].usent++;
            c->urecv_ranks += q != last;
            last = q;
        }
        free(ug);
        free(vg);
    }
    return ALS_OK;
}

/* min, sum, max of one int64 figure over the ranks. */
typedef struct {
    int64_t min, max;
    double sum;
} span_t;

static void span_add(span_t *s, int64_t v, int first)
{
    if (first || v < s->min) s->min = v;
    if (first || v > s->max) s->max = v;
    s->sum += (double)v;
}

static void span_print(FILE *out, const char *key, const span_t *s, int p)
{
    fprintf(out, "%s: min %" PRId64 " avg %.1f max %" PRId64 "\n", key, s->min, s->sum / p,
            s->max);
}

int64_t als_planstats_mem_shared(int64_t mem_allgather, int64_t m, int64_t n, int k, int R)
{
    const int64_t whole = (m + n) * (int64_t)k * 8;
    return mem_allgather - whole + (whole + R - 1) / R;
}

void als_planstats_print(FILE *out, int p, int64_t m, int64_t n, int k, int threads, int rpn,
                         const als_planstats_counts_t *cnt, int with_table)
{
    /* --exchange shared on nodes of R consecutive ranks: a rank's bridge
     * brings the blocks of the ranks with its node-local index on the other
     * nodes; the node's copy of U and V counts 1/R per rank. */
    const int R = rpn > 0 ? (rpn < p ? rpn : p) : 0;
    const int shared = R > 0 && p % R == 0;
    span_t bs = {0}, ms = {0};
    fprintf(out, "block plan for %d rank%s (k = %d, %d thread%s per rank; cost = modelled flops,"
            " als_plan.h)\n", p, p == 1 ? "" : "s", k, threads, threads == 1 ? "" : "s");
    if (with_table)
        fprintf(out, "%6s %10s %12s %10s %10s %12s %10s %10s %12s %12s\n", "rank", "users",
                "user_ratings", "social", "items", "item_ratings", "ghost_u", "ghost_v",
                "flops_u", "flops_v");
    span_t gh = {0}, gu = {0}, gv = {0}, nr = {0}, bn = {0}, ba = {0}, mn = {0}, ma = {0};
    int64_t nnz = 0, wnnz = 0;
    double fu_max = 0, fv_max = 0, fu_tot = 0, fv_tot = 0;
    for (int r = 0; r < p; r++) {
        const als_planstats_counts_t *c = &cnt[r];
        als_planstats_t s;
        als_planstats_rank(c, m, n, k, threads, &s);
        if (with_table)
            fprintf(out, "%6d %10" PRId64 " %12" PRId64 " %10" PRId64 " %10" PRId64 " %12" PRId64
                    " %10" PRId64 " %10" PRId64 " %12.4e %12.4e\n", r, c->users, c->user_ratings,
                    c->wnnz, c->items, c->item_ratings, c->ughost, c->vghost, s.flops_u,
                    s.flops_v);
        span_add(&gh, c->ughost + c->vghost, r == 0);
        span_add(&gu, c->ughost, r == 0);
        span_add(&gv, c->vghost, r == 0);
        span_add(&nr, c->urecv_ranks + c->vrecv_ranks, r == 0);
        nnz += c->user_ratings;
        wnnz += c->wnnz;
        span_add(&bn, s.bytes_neighbor, r == 0);
        span_add(&ba, s.bytes_allgather, r == 0);
        span_add(&mn, s.mem_neighbor, r == 0);
        span_add(&ma, s.mem_allgather, r == 0);
        if (shared) {
            int64_t rows = 0;
            for (int q = r % R; q < p; q += R)
                rows += q / R != r / R ? cnt[q].users + cnt[q].items : 0;
            span_add(&bs, rows * (int64_t)k * 8, r == 0);
            span_add(&ms, als_planstats_mem_shared(s.mem_allgather, m, n, k, R), r == 0);
        }
        fu_tot += s.flops_u;
        fv_tot += s.flops_v;
        if (s.flops_u > fu_max) fu_max = s.flops_u;
        if (s.flops_v > fv_max) fv_max = s.flops_v;
    }
    fprintf(out, "total: %" PRId64 " users, %" PRId64 " items\n", m, n);
    fprintf(out, "dataset: users %" PRId64 " items %" PRId64 " ratings %" PRId64 " w_nonzeros %"
            PRId64 "\n", m, n, nnz, wnnz);
    fprintf(out, "ranks: %d\n", p);
    fprintf(out, "threads: %d\n", threads);
    fprintf(out, "k: %d\n", k);
    fprintf(out, "flops_total: users %.6e items %.6e\n", fu_tot, fv_tot);
    fprintf(out, "flops_max: users %.6e items %.6e\n", fu_max, fv_max);
    span_print(out, "ghost_rows", &gh, p);
    span_print(out, "ghost_rows_u", &gu, p);
    span_print(out, "ghost_rows_v", &gv, p);
    span_print(out, "neighbor_ranks", &nr, p);
    span_print(out, "bytes_per_iteration_neighbor", &bn, p);
    span_print(out, "bytes_per_iteration_allgather", &ba, p);
    span_print(out, "memory_per_rank_bytes_neighbor", &mn, p);
    span_print(out, "memory_per_rank_bytes_allgather", &ma, p);
    if (R > 0) {
        fprintf(out, "ranks_per_node: %d\n", R);
        if (shared) {
            span_print(out, "bytes_per_iteration_shared", &bs, p);
            span_print(out, "memory_per_rank_bytes_shared", &ms, p);
        } else {
            fprintf(out, "shared: not modelled (%d ranks do not fill nodes of %d)\n", p, R);
        }
    }
    fprintf(out, "imbalance_flops: users %.4f items %.4f\n",
            fu_tot > 0 ? fu_max / (fu_tot / p) : 1.0, fv_tot > 0 ? fv_max / (fv_tot / p) : 1.0);
}
