/* als_ghost.c - owned rows, ghost rows and the neighbourhood exchange plan. */
#include "als_ghost.h"
#include "als_plan.h"

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

int als_ghost_lists(const als_ghost_input_t *in, int64_t **ug, int64_t *nug, int64_t **vg,
                    int64_t *nvg, als_err_t *err)
{
    *ug = *vg = NULL;
    int64_t n = in->ni ? in->iptr[in->ni] - in->iptr[0] : 0, nr = 0;
    int64_t *irow = malloc((size_t)(n + 1) * sizeof *irow);
    if (!irow)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory collecting ghost rows");
    for (int64_t t = 0; t < in->ni; t++)
        if (!als_plan_is_hot(in->iptr[t + 1] - in->iptr[t]))
            for (int64_t x = in->iptr[t]; x < in->iptr[t + 1]; x++)
                irow[nr++] = in->irow[x - in->iptr[0]];
    const int64_t *ul[3] = {irow, in->wcol, in->hc_irow};
    const int64_t ulen[3] = {nr, in->nwcol, in->nhc_irow};
    const int64_t *vl[3] = {in->ucol, in->test_items, in->hc_rows};
    const int64_t vlen[3] = {in->nucol, in->ntest, in->nhc};
    int rc = als_ghost_collect(3, ul, ulen, in->u0, in->u1, ug, nug, err);
    free(irow);
    if (rc == ALS_OK)
        rc = als_ghost_collect(3, vl, vlen, in->i0, in->i1, vg, nvg, err);
    return rc;
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

int als_ghost_plan_build(MPI_Comm comm, const int64_t *beg, int64_t *ghost, int64_t nghost,
                         als_ghost_plan_t *g, als_err_t *err)
{
    int p, rank;
    MPI_Comm_size(comm, &p);
    MPI_Comm_rank(comm, &rank);
    memset(g, 0, sizeof *g);
    g->graph = MPI_COMM_NULL;
    g->own0 = beg[rank];
    g->own1 = beg[rank + 1];
    g->ghost = ghost;
    g->nghost = nghost;
    g->nview = (g->own1 - g->own0) + nghost;
    int64_t below = 0; /* ghosts before the owned block */
    while (below < nghost && ghost[below] < g->own0)
        below++;
    g->own_slot = below;
    /* Ghosts per owner (the list is ascending, owners ascending with it). */
    int *rc = calloc((size_t)p, sizeof *rc), *sc = calloc((size_t)p, sizeof *sc);
    int *rd = malloc((size_t)p * sizeof *rd), *sd = malloc((size_t)p * sizeof *sd);
    int *rslot = malloc((size_t)p * sizeof *rslot);
    int ok = rc && sc && rd && sd && rslot;
    if (ok && g->nview > INT32_MAX)
        als_err_set(err, ALS_ERR_DATA, "rank %d reads %" PRId64 " rows of one factor matrix: more "
                    "than an MPI displacement holds (use more ranks)", rank, g->nview);
    for (int64_t x = 0; ok && x < nghost; x++) {
        int q = als_ghost_owner(beg, p, ghost[x]);
        if (rc[q] == 0)
            rslot[q] = (int)(x < below ? x : x + (g->own1 - g->own0));
        rc[q]++;
    }
    if (!ok)
        als_err_set(err, ALS_ERR_NOMEM, "out of memory for the ghost plan (%d ranks)", p);
    if (als_err_agree(comm, err) != ALS_OK)
        goto out;
    MPI_Alltoall(rc, 1, MPI_INT, sc, 1, MPI_INT, comm);
    int64_t ns = 0;
    for (int q = 0; q < p; q++) {
        rd[q] = q ? rd[q - 1] + rc[q - 1] : 0; /* ghost list offsets: < nghost <= INT32_MAX */
        sd[q] = (int)ns;
        ns += sc[q];
    }
    g->nsend = ns;
    g->send_idx = malloc((size_t)(ns + 1) * sizeof *g->send_idx);
    if (!g->send_idx || ns > INT32_MAX)
        als_err_set(err, ALS_ERR_NOMEM, "rank %d: cannot hold the %" PRId64 " row indices "
                    "other ranks read", rank, ns);
    if (als_err_agree(comm, err) != ALS_OK)
        goto out;
    MPI_Alltoallv(ghost, rc, rd, MPI_INT64_T, g->send_idx, sc, sd, MPI_INT64_T, comm);
    for (int64_t x = 0; x < ns; x++)
        g->send_idx[x] -= g->own0;
    for (int q = 0; q < p; q++) {
        g->nsrc += rc[q] > 0;
        g->ndst += sc[q] > 0;
    }
    g->src = malloc((size_t)(3 * g->nsrc + 1) * sizeof(int));
    g->dst = malloc((size_t)(3 * g->ndst + 1) * sizeof(int));
    if (!g->src || !g->dst) {
        als_err_set(err, ALS_ERR_NOMEM, "out of memory for the neighbour lists");
    } else {
        g->recv_cnt = g->src + g->nsrc;
        g->recv_slot = g->recv_cnt + g->nsrc;
        g->send_cnt = g->dst + g->ndst;
        g->send_off = g->send_cnt + g->ndst;
        for (int q = 0, a = 0, b = 0; q < p; q++) {
            if (rc[q]) {
                g->src[a] = q; g->recv_cnt[a] = rc[q]; g->recv_slot[a] = rslot[q]; a++;
            }
            if (sc[q]) {
                g->dst[b] = q; g->send_cnt[b] = sc[q]; g->send_off[b] = sd[q]; b++;
            }
        }
    }
    if (als_err_agree(comm, err) != ALS_OK)
        goto out;
    /* MPI_UNWEIGHTED is a sentinel pointer that gcc takes for a 0-byte array. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overread"
    int mrc = MPI_Dist_graph_create_adjacent(comm, g->nsrc, g->src, MPI_UNWEIGHTED, g->ndst,
                                             g->dst, MPI_UNWEIGHTED, MPI_INFO_NULL, 0, &g->graph);
#pragma GCC diagnostic pop
    if (mrc != MPI_SUCCESS)
        als_err_set(err, ALS_ERR_MPI, "MPI_Dist_graph_create_adjacent failed (code %d)", mrc);
    als_err_agree(comm, err);
out:
    free(rc); free(sc); free(rd); free(sd); free(rslot);
    return err->code;
}

void als_ghost_plan_free(als_ghost_plan_t *g)
{
    if (g->graph != MPI_COMM_NULL && g->graph != 0)
        MPI_Comm_free(&g->graph);
    free(g->ghost);
    free(g->src);
    free(g->dst);
    free(g->send_idx);
    memset(g, 0, sizeof *g);
    g->graph = MPI_COMM_NULL;
}

int64_t als_ghost_slot(const als_ghost_plan_t *g, int64_t x)
{
    if (x >= g->own0 && x < g->own1)
        return g->own_slot + (x - g->own0);
    int64_t lo = 0, hi = g->nghost;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (g->ghost[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == g->nghost || g->ghost[lo] != x)
        return -1;
    return lo < g->own_slot ? lo : lo + (g->own1 - g->own0);
}

void als_ghost_map(const als_ghost_plan_t *g, const int64_t *idx, int64_t n, int64_t *out)
{
    for (int64_t x = 0; x < n; x++)
        out[x] = als_ghost_slot(g, idx[x]);
}

int64_t als_ghost_round_rows(const als_ghost_plan_t *g, int k)
{
    (void)k; /* the rounds were sized for k at als_ghost_plan_rounds */
    return g->nrounds > 0 ? (g->nsend + g->nrounds - 1) / g->nrounds + g->ndst : 0;
}

int als_ghost_plan_rounds(MPI_Comm comm, als_ghost_plan_t *g, int k)
{
    /* The same number of rounds on every rank (the receiver splits its
     * counts exactly as the sender does). */
    int64_t need = (g->nsend * (int64_t)k * 8 + ALS_GHOST_ROUND_BYTES - 1) / ALS_GHOST_ROUND_BYTES;
    if (need < 1)
        need = 1;
    int rc = MPI_Allreduce(MPI_IN_PLACE, &need, 1, MPI_INT64_T, MPI_MAX, comm);
    g->nrounds = need;
    return rc;
}

/* Rows of a count c moved in round r of n: the pieces ceil(c / n) long. */
static inline int round_piece(int c, int64_t n, int64_t r, int *off)
{
    int64_t per = (c + n - 1) / n, a = r * per, b = a + per < c ? a + per : c;
    *off = (int)(a < c ? a : c);
    return a < c ? (int)(b - a) : 0;
}

int als_ghost_exchange(const als_ghost_plan_t *g, const double *blk, double *view, int k,
                       double *sendbuf)
{
    MPI_Datatype row;
    MPI_Type_contiguous(k, MPI_DOUBLE, &row);
    MPI_Type_commit(&row);
    int *cnt = malloc(4 * (size_t)(g->nsrc + g->ndst + 1) * sizeof *cnt);
    if (!cnt)
        return MPI_ERR_NO_MEM;
    int *scnt = cnt, *sdsp = cnt + g->ndst, *rcnt = sdsp + g->ndst, *rdsp = rcnt + g->nsrc;
    int rc = MPI_SUCCESS;
    const int64_t nr = g->nrounds > 0 ? g->nrounds : 1;
    /* In rounds of at most ALS_GHOST_ROUND_BYTES per rank (plus one row per
     * destination): the packing buffer stays small whatever the plan. */
    for (int64_t r = 0; r < nr && rc == MPI_SUCCESS; r++) {
        int64_t packed = 0;
        for (int d = 0; d < g->ndst; d++) {
            int off;
            scnt[d] = round_piece(g->send_cnt[d], nr, r, &off);
            sdsp[d] = (int)packed;
            const int64_t *idx = g->send_idx + g->send_off[d] + off;
            for (int x = 0; x < scnt[d]; x++, packed++)
                memcpy(sendbuf + packed * k, blk + idx[x] * k, (size_t)k * sizeof *sendbuf);
        }
        for (int q = 0; q < g->nsrc; q++) {
            int off;
            rcnt[q] = round_piece(g->recv_cnt[q], nr, r, &off);
            rdsp[q] = g->recv_slot[q] + off;
        }
        rc = MPI_Neighbor_alltoallv(sendbuf, scnt, sdsp, row, view, rcnt, rdsp, row, g->graph);
    }
    free(cnt);
    MPI_Type_free(&row);
    /* The own rows, unless they were solved in place. */
    if (g->own1 > g->own0 && blk != view + g->own_slot * k)
        memcpy(view + g->own_slot * k, blk, (size_t)((g->own1 - g->own0) * k) * sizeof *view);
    return rc;
}
