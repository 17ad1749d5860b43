/* als_dataset.c - from triplets to the distributed rating and social structures.
 *
 * Rank 0 builds the whole dataset (als_global_build): raw ids are sorted and
 * made unique (radix sort), every triplet is mapped to dense ids, and two
 * stable counting sorts (by item, then by user) give the CSR with rows ordered
 * by item and then file order; a third gives the CSC. The social links become
 * W = S + S^T the same way. als_data_scatter then sends each rank its rows.
 */
#include "als_dataset.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "als_exchange.h"
#include "als_plan.h"

#define XMALLOC(p, n) ((p) = malloc(((n) > 0 ? (size_t)(n) : 1) * sizeof *(p)))

/* ---- raw ids ------------------------------------------------------------- */

/* Sort a[0..n) ascending: LSD radix sort on 16-bit digits, skipping digits
 * that are the same for every key. Returns -1 when out of memory. */
static int radix_sort_u64(uint64_t *a, int64_t n)
{
    if (n < 2)
        return 0;
    uint64_t all_or = 0, all_and = ~0ULL;
    for (int64_t t = 0; t < n; t++) {
        all_or |= a[t];
        all_and &= a[t];
    }
    uint64_t *tmp = malloc((size_t)n * sizeof *tmp);
    int64_t *cnt = malloc(65536 * sizeof *cnt);
    if (!tmp || !cnt) {
        free(tmp);
        free(cnt);
        return -1;
    }
    uint64_t *src = a, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 16) {
        if ((((all_or ^ all_and) >> shift) & 0xffff) == 0)
            continue; /* this digit is constant */
        memset(cnt, 0, 65536 * sizeof *cnt);
        for (int64_t t = 0; t < n; t++)
            cnt[(src[t] >> shift) & 0xffff]++;
        int64_t s = 0;
        for (int d = 0; d < 65536; d++) {
            int64_t c = cnt[d];
            cnt[d] = s;
            s += c;
        }
        for (int64_t t = 0; t < n; t++)
            dst[cnt[(src[t] >> shift) & 0xffff]++] = src[t];
        uint64_t *x = src;
        src = dst;
        dst = x;
    }
    if (src != a)
        memcpy(a, src, (size_t)n * sizeof *a);
    free(tmp);
    free(cnt);
    return 0;
}

/* Sort and remove repeats; returns the number of distinct ids, -1 on ENOMEM. */
static int64_t sort_unique(uint64_t *a, int64_t n)
{
    if (radix_sort_u64(a, n) < 0)
        return -1;
    int64_t u = 0;
    for (int64_t t = 0; t < n; t++)
        if (u == 0 || a[t] != a[u - 1])
            a[u++] = a[t];
    return u;
}

int64_t als_id_find(const uint64_t *ids, int64_t n, uint64_t x)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < n && ids[lo] == x) ? lo : -1;
}

/* Map raw ids (all present in ids) to dense indices. A direct table is used
 * when the id range is small, binary search otherwise. */
static int map_ids(const uint64_t *raw, int64_t n, const uint64_t *ids, int64_t nids,
                   int64_t *dense)
{
    if (nids == 0)
        return 0;
    uint64_t lo = ids[0], range = ids[nids - 1] - ids[0];
    if (range < (uint64_t)(4 * nids + (1 << 20))) {
        int64_t *tab = malloc((size_t)(range + 1) * sizeof *tab);
        if (!tab)
            return -1;
        for (int64_t t = 0; t < nids; t++)
            tab[ids[t] - lo] = t;
#pragma omp parallel for schedule(static)
        for (int64_t t = 0; t < n; t++)
            dense[t] = tab[raw[t] - lo];
        free(tab);
    } else {
#pragma omp parallel for schedule(static)
        for (int64_t t = 0; t < n; t++)
            dense[t] = als_id_find(ids, nids, raw[t]);
    }
    return 0;
}

/* ---- stable counting sorts ---------------------------------------------- */

/* ptr[0..nkeys] = exclusive prefix of key counts. */
static void key_prefix(const int64_t *key, int64_t n, int64_t nkeys, int64_t *ptr)
{
    memset(ptr, 0, (size_t)(nkeys + 1) * sizeof *ptr);
    for (int64_t t = 0; t < n; t++)
        ptr[key[t] + 1]++;
    for (int64_t k = 0; k < nkeys; k++)
        ptr[k + 1] += ptr[k];
}

/* out = order stably re-sorted by key[order[x]] (order NULL = identity).
 * ptr is the key prefix (not modified); pos is scratch of nkeys. */
static void bucket_place(const int64_t *order, int64_t n, const int64_t *key, int64_t nkeys,
                         const int64_t *ptr, int64_t *pos, int64_t *out)
{
    memcpy(pos, ptr, (size_t)nkeys * sizeof *pos);
    for (int64_t x = 0; x < n; x++) {
        int64_t t = order ? order[x] : x;
        out[pos[key[t]]++] = t;
    }
}

/* ---- building ------------------------------------------------------------ */

void als_global_free(als_global_t *g)
{
    free(g->user_ids);
    free(g->item_ids);
    free(g->uptr);
    free(g->ucol);
    free(g->uval);
    free(g->iptr);
    free(g->irow);
    free(g->ival);
    free(g->wptr);
    free(g->wcol);
    free(g->wval);
    memset(g, 0, sizeof *g);
}

/* Apply the duplicate policy to the CSR rows in place (rows sorted by item,
 * then file order). Updates g->nnz, uptr and the statistics. */
static int apply_duplicates(als_global_t *g, als_dup_policy_t dup, const char *path,
                            als_err_t *err)
{
    int64_t w = 0, rows = 0, pairs = 0;
    for (int64_t u = 0; u < g->m; u++) {
        int64_t a = g->uptr[u], b = g->uptr[u + 1];
        g->uptr[u] = w;
        for (int64_t x = a; x < b;) {
            int64_t y = x + 1;
            while (y < b && g->ucol[y] == g->ucol[x])
                y++;
            if (y - x > 1) {
                rows += y - x - 1;
                pairs++;
                if (dup == ALS_DUP_ERROR)
                    return als_err_set(err, ALS_ERR_DATA,
                                       "%s: user %" PRIu64 " rates item %" PRIu64
                                       " %" PRId64 " times (--duplicates=error)",
                                       path, g->user_ids[u], g->item_ids[g->ucol[x]], y - x);
            }
            if (dup == ALS_DUP_KEEP || y - x == 1) {
                for (int64_t z = x; z < y; z++) {
                    g->ucol[w] = g->ucol[z];
                    g->uval[w++] = g->uval[z];
                }
            } else {
                double v;
                if (dup == ALS_DUP_FIRST)
                    v = g->uval[x];
                else if (dup == ALS_DUP_LAST)
                    v = g->uval[y - 1];
                else {
                    v = 0.0;
                    for (int64_t z = x; z < y; z++)
                        v += g->uval[z];
                    v /= (double)(y - x);
                }
                g->ucol[w] = g->ucol[x];
                g->uval[w++] = v;
            }
            x = y;
        }
    }
    g->uptr[g->m] = w;
    g->nnz = w;
    g->stats.duplicate_rows = rows;
    g->stats.duplicate_pairs = pairs;
    return ALS_OK;
}

/* Build W = S + S^T from the social triplets (dense ids via g->user_ids). */
static int build_social(als_global_t *g, const als_triplets_t *s, als_err_t *err)
{
    int64_t L = s ? s->n : 0, m = g->m;
    int rc = ALS_OK;
    int64_t *fi = NULL, *ff = NULL, *ptr = NULL, *pos = NULL, *o1 = NULL, *o2 = NULL;
    int64_t *er = NULL, *ec = NULL;
    double *ev = NULL;
    XMALLOC(g->wptr, m + 1);
    if (!g->wptr)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory building the social graph");
    if (L == 0) {
        memset(g->wptr, 0, (size_t)(m + 1) * sizeof *g->wptr);
        XMALLOC(g->wcol, 0);
        XMALLOC(g->wval, 0);
        return ALS_OK;
    }
    XMALLOC(fi, L); XMALLOC(ff, L); XMALLOC(ptr, m + 1); XMALLOC(pos, m);
    XMALLOC(o1, L); XMALLOC(o2, L);
    if (!fi || !ff || !ptr || !pos || !o1 || !o2 || map_ids(s->row, L, g->user_ids, m, fi) ||
        map_ids(s->col, L, g->user_ids, m, ff)) {
        rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory building the social graph");
        goto out;
    }
    /* Links sorted by (i, f, file order); repeated (i, f): keep the last. */
    key_prefix(ff, L, m, ptr);
    bucket_place(NULL, L, ff, m, ptr, pos, o1);
    key_prefix(fi, L, m, ptr);
    bucket_place(o1, L, fi, m, ptr, pos, o2);
    int64_t nl = 0, dups = 0;
    for (int64_t x = 0; x < L; x++) {
        int64_t t = o2[x];
        if (x + 1 < L && fi[o2[x + 1]] == fi[t] && ff[o2[x + 1]] == ff[t]) {
            dups++;
            continue;
        }
        o1[nl++] = t; /* o1 now lists the kept links */
    }
    g->nlinks = nl;
    g->stats.duplicate_links = dups;
    /* Each kept link (i, f, s) gives W entries (i, f, s) and (f, i, s). */
    int64_t ne = 2 * nl;
    XMALLOC(er, ne); XMALLOC(ec, ne); XMALLOC(ev, ne);
    free(o2);
    XMALLOC(o2, ne);
    int64_t *o3 = NULL;
    XMALLOC(o3, ne);
    if (!er || !ec || !ev || !o2 || !o3) {
        free(o3);
        rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory building the social graph");
        goto out;
    }
    for (int64_t x = 0; x < nl; x++) {
        int64_t t = o1[x];
        er[2 * x] = fi[t]; ec[2 * x] = ff[t]; ev[2 * x] = s->val[t];
        er[2 * x + 1] = ff[t]; ec[2 * x + 1] = fi[t]; ev[2 * x + 1] = s->val[t];
    }
    key_prefix(ec, ne, m, ptr);
    bucket_place(NULL, ne, ec, m, ptr, pos, o2);
    key_prefix(er, ne, m, ptr);
    bucket_place(o2, ne, er, m, ptr, pos, o3);
    XMALLOC(g->wcol, ne);
    XMALLOC(g->wval, ne);
    if (!g->wcol || !g->wval) {
        free(o3);
        rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory building the social graph");
        goto out;
    }
    /* Merge (i, f) entries: at most two (s_if and s_fi); a + b is exact-order
     * independent for two terms. */
    int64_t w = 0, row = 0;
    g->wptr[0] = 0;
    for (int64_t x = 0; x < ne; x++) {
        int64_t t = o3[x];
        while (row < er[t])
            g->wptr[++row] = w;
        if (w > g->wptr[row] && g->wcol[w - 1] == ec[t]) {
            g->wval[w - 1] += ev[t];
        } else {
            g->wcol[w] = ec[t];
            g->wval[w++] = ev[t];
        }
    }
    while (row < m)
        g->wptr[++row] = w;
    g->wnnz = w;
    free(o3);
out:
    free(fi); free(ff); free(ptr); free(pos); free(o1); free(o2);
    free(er); free(ec); free(ev);
    return rc;
}

int als_global_build(const als_triplets_t *ratings, const als_triplets_t *social,
                     als_dup_policy_t dup, const char *ratings_path, als_global_t *g,
                     als_err_t *err)
{
    memset(g, 0, sizeof *g);
    int64_t N = ratings->n, L = social ? social->n : 0;
    g->stats.ratings_read = N;
    g->stats.links_read = L;
    g->stats.self_loops = social ? social->self_loops : 0;
    g->stats.header_lines = ratings->header + (social ? social->header : 0);
    if (N == 0)
        return als_err_set(err, ALS_ERR_DATA, "%s: no ratings (the file has no data lines)",
                           ratings_path);
    int rc = ALS_OK;
    int64_t *du = NULL, *di = NULL, *ptr = NULL, *pos = NULL, *o1 = NULL, *o2 = NULL;
    /* Users: the union of rating users and social endpoints. */
    XMALLOC(g->user_ids, N + 2 * L);
    XMALLOC(g->item_ids, N);
    if (!g->user_ids || !g->item_ids)
        goto nomem;
    memcpy(g->user_ids, ratings->row, (size_t)N * sizeof(uint64_t));
    if (L) {
        memcpy(g->user_ids + N, social->row, (size_t)L * sizeof(uint64_t));
        memcpy(g->user_ids + N + L, social->col, (size_t)L * sizeof(uint64_t));
    }
    memcpy(g->item_ids, ratings->col, (size_t)N * sizeof(uint64_t));
    g->m = sort_unique(g->user_ids, N + 2 * L);
    g->n = sort_unique(g->item_ids, N);
    if (g->m < 0 || g->n < 0)
        goto nomem;
    int64_t m = g->m, n = g->n;
    /* Dense triplets, then CSR ordered by (user, item, file order). */
    XMALLOC(du, N); XMALLOC(di, N); XMALLOC(o1, N); XMALLOC(o2, N);
    XMALLOC(ptr, (m > n ? m : n) + 1); XMALLOC(pos, m > n ? m : n);
    if (!du || !di || !o1 || !o2 || !ptr || !pos)
        goto nomem;
    if (map_ids(ratings->row, N, g->user_ids, m, du) || map_ids(ratings->col, N, g->item_ids, n, di))
        goto nomem;
    key_prefix(di, N, n, ptr);
    bucket_place(NULL, N, di, n, ptr, pos, o1);
    XMALLOC(g->uptr, m + 1);
    if (!g->uptr)
        goto nomem;
    key_prefix(du, N, m, g->uptr);
    bucket_place(o1, N, du, m, g->uptr, pos, o2);
    XMALLOC(g->ucol, N);
    XMALLOC(g->uval, N);
    if (!g->ucol || !g->uval)
        goto nomem;
    for (int64_t x = 0; x < N; x++) {
        g->ucol[x] = di[o2[x]];
        g->uval[x] = ratings->val[o2[x]];
    }
    /* Users that rate nothing: those in the social file only. */
    int64_t rated = 0;
    for (int64_t u = 0; u < m; u++)
        rated += g->uptr[u + 1] > g->uptr[u];
    g->stats.social_only_users = m - rated;
    rc = apply_duplicates(g, dup, ratings_path, err);
    if (rc != ALS_OK)
        goto out;
    /* CSC from the CSR: stable by item keeps (user, file order) within items. */
    int64_t nnz = g->nnz;
    for (int64_t u = 0; u < m; u++)
        for (int64_t x = g->uptr[u]; x < g->uptr[u + 1]; x++)
            du[x] = u;
    XMALLOC(g->iptr, n + 1);
    XMALLOC(g->irow, nnz);
    XMALLOC(g->ival, nnz);
    if (!g->iptr || !g->irow || !g->ival)
        goto nomem;
    key_prefix(g->ucol, nnz, n, g->iptr);
    bucket_place(NULL, nnz, g->ucol, n, g->iptr, pos, o1);
    double lo = INFINITY, hi = -INFINITY, sum = 0.0;
    for (int64_t x = 0; x < nnz; x++) {
        g->irow[x] = du[o1[x]];
        g->ival[x] = g->uval[o1[x]];
        double v = g->uval[x];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
    }
    g->rmin = lo;
    g->rmax = hi;
    g->rmean = sum / (double)nnz;
    rc = build_social(g, social, err);
    goto out;
nomem:
    rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory building the dataset (%" PRId64
                     " ratings, %" PRId64 " links)", N, L);
out:
    free(du); free(di); free(ptr); free(pos); free(o1); free(o2);
    if (rc != ALS_OK)
        als_global_free(g);
    return rc;
}

/* ---- distribution -------------------------------------------------------- */

void als_data_free(als_data_t *d)
{
    free(d->user_ids); free(d->item_ids); free(d->ubeg); free(d->ibeg);
    free(d->uptr); free(d->ucol); free(d->uval);
    free(d->iptr); free(d->irow); free(d->ival);
    free(d->wptr); free(d->wcol); free(d->wval); free(d->wdeg);
    als_hotplan_free(&d->hot);
    free(d->hc); free(d->hc_ptr); free(d->hc_irow); free(d->hc_ival);
    memset(d, 0, sizeof *d);
}

/* Scalars every rank needs, sent as one block. */
typedef struct {
    int64_t m, n, nnz, nlinks, wnnz;
    double rmin, rmax, rmean;
    als_data_stats_t stats;
} data_head_t;

/* Copy a CSR-like slice [a, b) of rows with offsets rebased to 0. */
static void rebase(const int64_t *ptr, int64_t a, int64_t b, int64_t *out)
{
    for (int64_t t = a; t <= b; t++)
        out[t - a] = ptr[t] - ptr[a];
}

/* Allocate d's local arrays from its block and counts. */
static int alloc_local(als_data_t *d)
{
    int64_t nu = d->u1 - d->u0, ni = d->i1 - d->i0;
    XMALLOC(d->uptr, nu + 1); XMALLOC(d->ucol, d->lnnz_u); XMALLOC(d->uval, d->lnnz_u);
    XMALLOC(d->iptr, ni + 1); XMALLOC(d->irow, d->lnnz_i); XMALLOC(d->ival, d->lnnz_i);
    XMALLOC(d->wptr, nu + 1); XMALLOC(d->wcol, d->lwnnz); XMALLOC(d->wval, d->lwnnz);
    XMALLOC(d->wdeg, nu);
    return (d->uptr && d->ucol && d->uval && d->iptr && d->irow && d->ival && d->wptr &&
            d->wcol && d->wval && d->wdeg) ? 0 : -1;
}

/* d_i = sum_f W_if, summed in row order. */
static void compute_degrees(als_data_t *d)
{
    for (int64_t u = 0; u < d->u1 - d->u0; u++) {
        double s = 0.0;
        for (int64_t x = d->wptr[u]; x < d->wptr[u + 1]; x++)
            s += d->wval[x];
        d->wdeg[u] = s;
    }
}

/* Select this rank's chunks of d->hot and allocate their arrays. */
int als_hot_local(als_data_t *d, als_err_t *err)
{
    d->nhc = 0;
    for (int64_t c = 0; c < d->hot.n; c++)
        d->nhc += d->hot.rank[c] == d->rank;
    int64_t len = 0;
    XMALLOC(d->hc, d->nhc);
    XMALLOC(d->hc_ptr, d->nhc + 1);
    if (!d->hc || !d->hc_ptr)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the hot-row chunks");
    d->hc_ptr[0] = 0;
    for (int64_t c = 0, x = 0; c < d->hot.n; c++)
        if (d->hot.rank[c] == d->rank) {
            d->hc[x] = c;
            len += d->hot.len[c];
            d->hc_ptr[++x] = len;
        }
    XMALLOC(d->hc_irow, len);
    XMALLOC(d->hc_ival, len);
    if (!d->hc_irow || !d->hc_ival)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for %" PRId64 " ratings of hot-row "
                           "chunks", len);
    return ALS_OK;
}

/* Broadcast root's hot plan; send every rank the ratings of its chunks. */
static int als_hot_distribute(MPI_Comm comm, int root, const als_global_t *g, als_data_t *d,
                              als_err_t *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    int64_t nc = d->hot.n;
    MPI_Bcast(&nc, 1, MPI_INT64_T, root, comm);
    if (rank != root) {
        d->hot.n = nc;
        XMALLOC(d->hot.row, nc); XMALLOC(d->hot.first, nc); XMALLOC(d->hot.len, nc);
        XMALLOC(d->hot.rank, nc);
        if (!d->hot.row || !d->hot.first || !d->hot.len || !d->hot.rank)
            als_err_set(err, ALS_ERR_NOMEM, "out of memory for the hot-row plan");
    }
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    als_bcast_big(comm, d->hot.row, nc, MPI_INT64_T, root);
    als_bcast_big(comm, d->hot.first, nc, MPI_INT64_T, root);
    als_bcast_big(comm, d->hot.len, nc, MPI_INT64_T, root);
    als_bcast_big(comm, d->hot.rank, nc, MPI_INT, root);
    als_hot_local(d, err);
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    if (rank == root) {
        for (int64_t c = 0, x = 0; c < nc; c++) {
            const int r = d->hot.rank[c];
            int64_t a = g->iptr[d->hot.row[c]] + d->hot.first[c], len = d->hot.len[c];
            if (r == root) { /* own chunks come in plan order: x counts them */
                memcpy(d->hc_irow + d->hc_ptr[x], g->irow + a, (size_t)len * sizeof(int64_t));
                memcpy(d->hc_ival + d->hc_ptr[x], g->ival + a, (size_t)len * sizeof(double));
                x++;
                continue;
            }
            als_send_big(comm, g->irow + a, len, MPI_INT64_T, r, 13);
            als_send_big(comm, g->ival + a, len, MPI_DOUBLE, r, 14);
        }
    } else {
        for (int64_t x = 0; x < d->nhc; x++) {
            int64_t len = d->hc_ptr[x + 1] - d->hc_ptr[x];
            als_recv_big(comm, d->hc_irow + d->hc_ptr[x], len, MPI_INT64_T, root, 13);
            als_recv_big(comm, d->hc_ival + d->hc_ptr[x], len, MPI_DOUBLE, root, 14);
        }
    }
    return ALS_OK;
}

int als_data_scatter(MPI_Comm comm, int root, const als_global_t *g, als_plan_model_t pm,
                     als_data_t *d,
                     als_err_t *err)
{
    int rank, p;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &p);
    memset(d, 0, sizeof *d);
    d->rank = rank;
    d->nranks = p;
    data_head_t h;
    if (rank == root) {
        h = (data_head_t){g->m, g->n, g->nnz, g->nlinks, g->wnnz, g->rmin, g->rmax, g->rmean,
                          g->stats};
    }
    MPI_Bcast(&h, (int)sizeof h, MPI_BYTE, root, comm);
    d->m = h.m; d->n = h.n; d->nnz = h.nnz; d->nlinks = h.nlinks; d->wnnz = h.wnnz;
    d->rmin = h.rmin; d->rmax = h.rmax; d->rmean = h.rmean; d->stats = h.stats;
    int ok = 1;
    XMALLOC(d->ubeg, p + 1); XMALLOC(d->ibeg, p + 1);
    ok = d->ubeg && d->ibeg;
    if (ok && rank == root) {
        als_plan_blocks(d->m, g->uptr, g->wptr, pm, p, d->ubeg);
        if (als_plan_items(d->n, g->iptr, pm, p, d->ibeg, &d->hot) != 0)
            ok = 0;
    }
    if (!ok)
        als_err_set(err, ALS_ERR_NOMEM, "out of memory for the id maps (%" PRId64 " users, %"
                    PRId64 " items)", d->m, d->n);
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    MPI_Bcast(d->ubeg, p + 1, MPI_INT64_T, root, comm);
    MPI_Bcast(d->ibeg, p + 1, MPI_INT64_T, root, comm);
    d->u0 = d->ubeg[rank]; d->u1 = d->ubeg[rank + 1];
    d->i0 = d->ibeg[rank]; d->i1 = d->ibeg[rank + 1];
    /* Each rank gets the raw ids of its own rows only. */
    XMALLOC(d->user_ids, d->u1 - d->u0); XMALLOC(d->item_ids, d->i1 - d->i0);
    if (!d->user_ids || !d->item_ids)
        als_err_set(err, ALS_ERR_NOMEM, "out of memory for the id slices");
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    if (rank == root) {
        for (int r = 0; r < p; r++) {
            const uint64_t *us = g->user_ids + d->ubeg[r], *is = g->item_ids + d->ibeg[r];
            int64_t nu = d->ubeg[r + 1] - d->ubeg[r], ni = d->ibeg[r + 1] - d->ibeg[r];
            if (r == root) {
                memcpy(d->user_ids, us, (size_t)nu * sizeof *us);
                memcpy(d->item_ids, is, (size_t)ni * sizeof *is);
                continue;
            }
            als_send_big(comm, us, nu, MPI_UINT64_T, r, 11);
            als_send_big(comm, is, ni, MPI_UINT64_T, r, 12);
        }
    } else {
        als_recv_big(comm, d->user_ids, d->u1 - d->u0, MPI_UINT64_T, root, 11);
        als_recv_big(comm, d->item_ids, d->i1 - d->i0, MPI_UINT64_T, root, 12);
    }
    if (als_hot_distribute(comm, root, g, d, err) != ALS_OK)
        return err->code;
    /* Local sizes: root sends each rank its three counts. */
    int64_t cnt3[3];
    if (rank == root) {
        for (int r = 0; r < p; r++) {
            int64_t c[3] = {g->uptr[d->ubeg[r + 1]] - g->uptr[d->ubeg[r]],
                            g->iptr[d->ibeg[r + 1]] - g->iptr[d->ibeg[r]],
                            g->wptr[d->ubeg[r + 1]] - g->wptr[d->ubeg[r]]};
            if (r == root)
                memcpy(cnt3, c, sizeof c);
            else
                MPI_Send(c, 3, MPI_INT64_T, r, 1, comm);
        }
    } else {
        MPI_Recv(cnt3, 3, MPI_INT64_T, root, 1, comm, MPI_STATUS_IGNORE);
    }
    d->lnnz_u = cnt3[0]; d->lnnz_i = cnt3[1]; d->lwnnz = cnt3[2];
    if (alloc_local(d) < 0)
        als_err_set(err, ALS_ERR_NOMEM, "out of memory for the local blocks (%" PRId64
                    " + %" PRId64 " ratings)", d->lnnz_u, d->lnnz_i);
    if (als_err_agree(comm, err) != ALS_OK) {
        als_data_free(d);
        return err->code;
    }
    if (rank == root) {
        int64_t nu_max = 0, ni_max = 0;
        for (int r = 0; r < p; r++) {
            nu_max = d->ubeg[r + 1] - d->ubeg[r] > nu_max ? d->ubeg[r + 1] - d->ubeg[r] : nu_max;
            ni_max = d->ibeg[r + 1] - d->ibeg[r] > ni_max ? d->ibeg[r + 1] - d->ibeg[r] : ni_max;
        }
        int64_t *tmp = malloc(((size_t)(nu_max > ni_max ? nu_max : ni_max) + 1) * sizeof *tmp);
        if (!tmp)
            ALS_ABORT("out of memory while distributing the dataset");
        for (int r = 0; r < p; r++) {
            int64_t a = d->ubeg[r], b = d->ubeg[r + 1], ia = d->ibeg[r], ib = d->ibeg[r + 1];
            int64_t ua = g->uptr[a], ub = g->uptr[b], ja = g->iptr[ia], jb = g->iptr[ib];
            int64_t wa = g->wptr[a], wb = g->wptr[b];
            if (r == root) {
                rebase(g->uptr, a, b, d->uptr);
                memcpy(d->ucol, g->ucol + ua, (size_t)(ub - ua) * sizeof(int64_t));
                memcpy(d->uval, g->uval + ua, (size_t)(ub - ua) * sizeof(double));
                rebase(g->iptr, ia, ib, d->iptr);
                memcpy(d->irow, g->irow + ja, (size_t)(jb - ja) * sizeof(int64_t));
                memcpy(d->ival, g->ival + ja, (size_t)(jb - ja) * sizeof(double));
                rebase(g->wptr, a, b, d->wptr);
                memcpy(d->wcol, g->wcol + wa, (size_t)(wb - wa) * sizeof(int64_t));
                memcpy(d->wval, g->wval + wa, (size_t)(wb - wa) * sizeof(double));
                continue;
            }
            rebase(g->uptr, a, b, tmp);
            als_send_big(comm, tmp, b - a + 1, MPI_INT64_T, r, 2);
            als_send_big(comm, g->ucol + ua, ub - ua, MPI_INT64_T, r, 3);
            als_send_big(comm, g->uval + ua, ub - ua, MPI_DOUBLE, r, 4);
            rebase(g->iptr, ia, ib, tmp);
            als_send_big(comm, tmp, ib - ia + 1, MPI_INT64_T, r, 5);
            als_send_big(comm, g->irow + ja, jb - ja, MPI_INT64_T, r, 6);
            als_send_big(comm, g->ival + ja, jb - ja, MPI_DOUBLE, r, 7);
            rebase(g->wptr, a, b, tmp);
            als_send_big(comm, tmp, b - a + 1, MPI_INT64_T, r, 8);
            als_send_big(comm, g->wcol + wa, wb - wa, MPI_INT64_T, r, 9);
            als_send_big(comm, g->wval + wa, wb - wa, MPI_DOUBLE, r, 10);
        }
        free(tmp);
    } else {
        int64_t nu = d->u1 - d->u0, ni = d->i1 - d->i0;
        als_recv_big(comm, d->uptr, nu + 1, MPI_INT64_T, root, 2);
        als_recv_big(comm, d->ucol, d->lnnz_u, MPI_INT64_T, root, 3);
        als_recv_big(comm, d->uval, d->lnnz_u, MPI_DOUBLE, root, 4);
        als_recv_big(comm, d->iptr, ni + 1, MPI_INT64_T, root, 5);
        als_recv_big(comm, d->irow, d->lnnz_i, MPI_INT64_T, root, 6);
        als_recv_big(comm, d->ival, d->lnnz_i, MPI_DOUBLE, root, 7);
        als_recv_big(comm, d->wptr, nu + 1, MPI_INT64_T, root, 8);
        als_recv_big(comm, d->wcol, d->lwnnz, MPI_INT64_T, root, 9);
        als_recv_big(comm, d->wval, d->lwnnz, MPI_DOUBLE, root, 10);
    }
    compute_degrees(d);
    return ALS_OK;
}

int als_data_load_text(MPI_Comm comm, const als_options_t *o, als_data_t *d, als_err_t *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    als_global_t g;
    memset(&g, 0, sizeof g);
    if (rank == 0) {
        als_triplets_t r, s;
        memset(&r, 0, sizeof r);
        memset(&s, 0, sizeof s);
        als_text_opts_t topts = {.value_col = o->value_col};
        int rc = als_text_read(o->ratings, ALS_TEXT_RATINGS, &topts, &r, err);
        if (rc == ALS_OK && o->social[0])
            rc = als_text_read(o->social, ALS_TEXT_SOCIAL, NULL, &s, err);
        if (rc == ALS_OK)
            als_global_build(&r, o->social[0] ? &s : NULL, o->duplicates, o->ratings, &g, err);
        als_triplets_free(&r);
        als_triplets_free(&s);
    }
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    int rc = als_data_scatter(comm, 0, &g, als_plan_model_of(o), d, err);
    als_global_free(&g);
    return rc;
}

/* ---- test set ------------------------------------------------------------ */

/* Owner of raw id x among ranks whose blocks start at raw id first[r]
 * (nonempty[r] set): the last nonempty rank with first[r] <= x, or -1. */
static int raw_owner(const uint64_t *first, const int *nonempty, int p, uint64_t x)
{
    int lo = 0, hi = p - 1, best = -1;
    while (lo <= hi) { /* first[] is ascending over nonempty ranks; empty ones repeat */
        int mid = lo + (hi - lo) / 2;
        if (first[mid] <= x) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    while (best >= 0 && !nonempty[best])
        best--;
    return best;
}

/* first[r]: raw id of rank r's first row (empty blocks: the next block's
 * first id, or UINT64_MAX), so first[] is ascending. */
static int block_firsts(MPI_Comm comm, int p, const uint64_t *mine, int64_t nmine,
                        uint64_t *first, int *nonempty)
{
    uint64_t f = nmine ? mine[0] : UINT64_MAX;
    int ne = nmine > 0;
    MPI_Allgather(&f, 1, MPI_UINT64_T, first, 1, MPI_UINT64_T, comm);
    MPI_Allgather(&ne, 1, MPI_INT, nonempty, 1, MPI_INT, comm);
    for (int r = p - 2; r >= 0; r--)
        if (!nonempty[r])
            first[r] = first[r + 1];
    return 0;
}

int als_testset_load(MPI_Comm comm, const char *path, const als_text_opts_t *topts,
                     const als_data_t *d, als_testset_t *t, als_err_t *err)
{
    int rank, p;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &p);
    memset(t, 0, sizeof *t);
    uint64_t *ufirst = malloc((size_t)p * sizeof *ufirst), *ifirst = malloc((size_t)p * sizeof *ifirst);
    int *une = malloc((size_t)p * sizeof *une), *ine = malloc((size_t)p * sizeof *ine);
    int *cnt = calloc((size_t)p, sizeof *cnt), *dsp = malloc((size_t)p * sizeof *dsp);
    int *cnt2 = malloc((size_t)p * sizeof *cnt2), *dsp2 = malloc((size_t)p * sizeof *dsp2);
    if (!ufirst || !ifirst || !une || !ine || !cnt || !dsp || !cnt2 || !dsp2)
        ALS_ABORT("out of memory for %d ranks' id ranges", p);
    block_firsts(comm, p, d->user_ids, d->u1 - d->u0, ufirst, une);
    block_firsts(comm, p, d->item_ids, d->i1 - d->i0, ifirst, ine);

    /* Rank 0 reads and routes by raw user id. */
    als_triplets_t r;
    memset(&r, 0, sizeof r);
    uint64_t *su = NULL, *si = NULL;
    double *sr = NULL;
    int64_t counts[3] = {0, 0, 0}; /* total, unknown users, header lines */
    if (rank == 0 && als_text_read(path, ALS_TEXT_RATINGS, topts, &r, err) == ALS_OK &&
        r.n == 0) /* an empty test would print NaN metrics: say so instead */
        als_err_set(err, ALS_ERR_DATA, "%s: no test ratings (the file has no data lines)", path);
    if (rank == 0 && err->code == ALS_OK) {
        counts[0] = r.n;
        counts[2] = r.header;
        int *dest = malloc((size_t)(r.n + 1) * sizeof *dest);
        XMALLOC(su, r.n); XMALLOC(si, r.n); XMALLOC(sr, r.n);
        if (!dest || !su || !si || !sr)
            ALS_ABORT("%s: out of memory for the test set", path);
        for (int64_t x = 0; x < r.n; x++) {
            dest[x] = raw_owner(ufirst, une, p, r.row[x]);
            if (dest[x] < 0)
                counts[1]++;
            else
                cnt[dest[x]]++;
        }
        int64_t off = 0;
        for (int q = 0; q < p; q++) {
            dsp[q] = (int)off;
            off += cnt[q];
        }
        if (off > INT32_MAX)
            als_err_set(err, ALS_ERR_DATA, "%s: %" PRId64 " test pairs: more than one MPI "
                        "message holds (split the file)", path, off);
        for (int64_t x = 0; x < r.n; x++) {
            if (dest[x] < 0)
                continue;
            int64_t at = dsp[dest[x]]++;
            su[at] = r.row[x];
            si[at] = r.col[x];
            sr[at] = r.val[x];
        }
        for (int q = 0; q < p; q++)
            dsp[q] -= cnt[q];
        free(dest);
    }
    als_triplets_free(&r);
    if (als_err_agree(comm, err) != ALS_OK)
        goto out;
    MPI_Bcast(counts, 3, MPI_INT64_T, 0, comm);
    t->total = counts[0];
    t->unknown_user = counts[1];
    t->header_lines = counts[2];
    int mine = 0;
    MPI_Scatter(cnt, 1, MPI_INT, &mine, 1, MPI_INT, 0, comm);
    uint64_t *mu = malloc((size_t)(mine + 1) * sizeof *mu), *mi = malloc((size_t)(mine + 1) * sizeof *mi);
    double *mr = malloc((size_t)(mine + 1) * sizeof *mr);
    int64_t *gu = malloc((size_t)(mine + 1) * sizeof *gu);
    if (!mu || !mi || !mr || !gu)
        ALS_ABORT("out of memory for %d test pairs", mine);
    MPI_Scatterv(su, cnt, dsp, MPI_UINT64_T, mu, mine, MPI_UINT64_T, 0, comm);
    MPI_Scatterv(si, cnt, dsp, MPI_UINT64_T, mi, mine, MPI_UINT64_T, 0, comm);
    MPI_Scatterv(sr, cnt, dsp, MPI_DOUBLE, mr, mine, MPI_DOUBLE, 0, comm);
    free(su); free(si); free(sr);
    su = si = NULL; sr = NULL;

    /* Users: this rank's own slice. Items: asked of their owners. */
    int64_t unknown[2] = {0, 0};
    int nq = 0;
    memset(cnt, 0, (size_t)p * sizeof *cnt);
    int *idest = malloc((size_t)(mine + 1) * sizeof *idest);
    for (int x = 0; x < mine; x++) {
        int64_t u = als_id_find(d->user_ids, d->u1 - d->u0, mu[x]);
        gu[x] = u < 0 ? -1 : d->u0 + u;
        if (u < 0) {
            unknown[0]++;
            idest[x] = -1;
            continue;
        }
        idest[x] = raw_owner(ifirst, ine, p, mi[x]);
        if (idest[x] < 0)
            unknown[1]++;
        else
            cnt[idest[x]]++, nq++;
    }
    uint64_t *q = malloc((size_t)(nq + 1) * sizeof *q), *qin = NULL;
    int64_t *ans = malloc((size_t)(nq + 1) * sizeof *ans), *ansin = NULL;
    int *pos = malloc((size_t)(mine + 1) * sizeof *pos);
    int off = 0;
    for (int r2 = 0; r2 < p; r2++) {
        dsp[r2] = off;
        off += cnt[r2];
    }
    for (int x = 0; x < mine; x++)
        if (gu[x] >= 0 && idest[x] >= 0) {
            pos[x] = dsp[idest[x]]++;
            q[pos[x]] = mi[x];
        }
    for (int r2 = 0; r2 < p; r2++)
        dsp[r2] -= cnt[r2];
    MPI_Alltoall(cnt, 1, MPI_INT, cnt2, 1, MPI_INT, comm);
    int nin = 0;
    for (int r2 = 0; r2 < p; r2++) {
        dsp2[r2] = nin;
        nin += cnt2[r2];
    }
    qin = malloc((size_t)(nin + 1) * sizeof *qin);
    ansin = malloc((size_t)(nin + 1) * sizeof *ansin);
    if (!q || !ans || !pos || !idest || !qin || !ansin)
        ALS_ABORT("out of memory mapping the test items");
    MPI_Alltoallv(q, cnt, dsp, MPI_UINT64_T, qin, cnt2, dsp2, MPI_UINT64_T, comm);
    for (int x = 0; x < nin; x++) {
        int64_t j = als_id_find(d->item_ids, d->i1 - d->i0, qin[x]);
        ansin[x] = j < 0 ? -1 : d->i0 + j;
    }
    MPI_Alltoallv(ansin, cnt2, dsp2, MPI_INT64_T, ans, cnt, dsp, MPI_INT64_T, comm);
    XMALLOC(t->u, mine); XMALLOC(t->i, mine); XMALLOC(t->r, mine);
    if (!t->u || !t->i || !t->r)
        ALS_ABORT("out of memory for %d test pairs", mine);
    for (int x = 0; x < mine; x++) {
        if (gu[x] < 0 || idest[x] < 0)
            continue;
        if (ans[pos[x]] < 0) {
            unknown[1]++;
            continue;
        }
        t->u[t->n] = gu[x];
        t->i[t->n] = ans[pos[x]];
        t->r[t->n++] = mr[x];
    }
    int64_t sums[3] = {unknown[0], unknown[1], t->n};
    MPI_Allreduce(MPI_IN_PLACE, sums, 3, MPI_INT64_T, MPI_SUM, comm);
    t->unknown_user += sums[0];
    t->unknown_item = sums[1];
    t->n_all = sums[2];
    free(mu); free(mi); free(mr); free(gu); free(idest); free(q); free(ans); free(pos);
    free(qin); free(ansin);
out:
    free(su); free(si); free(sr);
    free(ufirst); free(ifirst); free(une); free(ine); free(cnt); free(dsp); free(cnt2); free(dsp2);
    return err->code;
}

int als_testset_read(const char *path, const als_text_opts_t *topts, const als_data_t *d,
                     als_testset_t *t, als_err_t *err)
{
    memset(t, 0, sizeof *t);
    als_triplets_t r;
    int rc = als_text_read(path, ALS_TEXT_RATINGS, topts, &r, err);
    if (rc != ALS_OK) {
        als_triplets_free(&r);
        return rc;
    }
    t->total = r.n;
    t->header_lines = r.header;
    if (r.n == 0) { /* an empty test would print NaN metrics: say so instead */
        als_triplets_free(&r);
        return als_err_set(err, ALS_ERR_DATA, "%s: no test ratings (the file has no data "
                           "lines)", path);
    }
    XMALLOC(t->u, r.n); XMALLOC(t->i, r.n); XMALLOC(t->r, r.n);
    if (!t->u || !t->i || !t->r) {
        als_triplets_free(&r);
        als_testset_free(t);
        return als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory for the test set", path);
    }
    for (int64_t x = 0; x < r.n; x++) {
        int64_t u = als_id_find(d->user_ids, d->m, r.row[x]);
        int64_t i = als_id_find(d->item_ids, d->n, r.col[x]);
        if (u < 0) {
            t->unknown_user++;
        } else if (i < 0) {
            t->unknown_item++;
        } else {
            t->u[t->n] = u;
            t->i[t->n] = i;
            t->r[t->n++] = r.val[x];
        }
    }
    t->n_all = t->n;
    als_triplets_free(&r);
    return ALS_OK;
}

void als_testset_free(als_testset_t *t)
{
    free(t->u);
    free(t->i);
    free(t->r);
    memset(t, 0, sizeof *t);
}
