/* als_ghost.h - owned rows, ghost rows and the neighbourhood exchange plan.
 *
 * In the sharded ("neighbor") mode a rank stores only what it reads: for U,
 * its own users' rows [u0, u1) plus the ghost rows of the users who rated its
 * items (CSC row indices) and of its users' social neighbours (W columns);
 * for V, its own items [i0, i1) plus the items its users rated (CSR column
 * indices) and the items of its test pairs. Ghost rows are kept in ascending
 * global order, so the owned block sits in one contiguous run of the "view"
 * (owned + ghost rows, ascending global index) and every row's summation
 * order is that of the replicated factors: results are bitwise identical.
 *
 * Because ghosts of one owner form a contiguous run of the view (an owner's
 * rows are a contiguous range of global indices), received rows land in place
 * with no unpacking; only the sender packs.
 */
#ifndef ALS_GHOST_H
#define ALS_GHOST_H

#include <stdint.h>
#include <mpi.h>
#include "als_error.h"

/* Local: the sorted distinct global indices that occur in any of the nlists
 * index arrays idx[l][0..len[l]) and lie outside the owned range
 * [own0, own1). On success *out (malloc'ed, caller frees; never NULL) holds
 * *nout indices. Cost O(N log N) in the total length N; no O(m + n) array. */
int als_ghost_collect(int nlists, const int64_t *const *idx, const int64_t *len, int64_t own0,
                      int64_t own1, int64_t **out, int64_t *nout, als_err_t *err);

/* What one rank reads, as index arrays (see the top of this header). */
typedef struct {
    int64_t u0, u1, i0, i1;        /* owned users and items */
    int64_t ni;                    /* own items */
    const int64_t *iptr;           /* ni+1 offsets into irow (any base) */
    const int64_t *irow;           /* the own items' CSC: global users */
    const int64_t *ucol;           /* the own users' CSR: global items */
    int64_t nucol;
    const int64_t *wcol;           /* the own users' W rows: global users */
    int64_t nwcol;
    const int64_t *hc_irow;        /* users of the hot-row chunks computed here */
    int64_t nhc_irow;
    const int64_t *hc_rows;        /* their items, one per chunk */
    int64_t nhc;
    const int64_t *test_items;     /* items of the own users' test pairs (or NULL) */
    int64_t ntest;
} als_ghost_input_t;

/* Local: one rank's ghost lists, as the solver reads: U ghosts = users of
 * the own items' ratings (hot rows excluded: their chunks are read where
 * they are computed), of the own users' W rows and of the chunks computed
 * here; V ghosts = items of the own users' ratings, of the test pairs and
 * of the chunks computed here. Both ascending, owned rows left out. */
int als_ghost_lists(const als_ghost_input_t *in, int64_t **ug, int64_t *nug, int64_t **vg,
                    int64_t *nvg, als_err_t *err);

/* Local: the owner rank of global row g under the block plan beg[0..p]
 * (beg[r] <= g < beg[r+1]; empty blocks skipped). */
int als_ghost_owner(const int64_t *beg, int p, int64_t g);

/* One factor matrix's view and exchange plan on one rank. */
typedef struct {
    int64_t own0, own1;        /* owned global rows */
    int64_t nghost;            /* ghost rows */
    int64_t *ghost;            /* nghost global indices, ascending */
    int64_t nview;             /* (own1 - own0) + nghost rows in the view */
    int64_t own_slot;          /* view slot of row own0 */
    /* Receive side: from source s (rank src[s]) recv_cnt[s] rows land in
     * view slots [recv_slot[s], recv_slot[s] + recv_cnt[s]). */
    int nsrc, *src, *recv_cnt, *recv_slot;
    /* Send side: to destination d (rank dst[d]) the owned rows
     * send_idx[send_off[d] .. send_off[d] + send_cnt[d]) (offsets from own0),
     * packed in that order. */
    int ndst, *dst, *send_cnt, *send_off;
    int64_t nsend;             /* total rows sent per exchange */
    int64_t *send_idx;
    MPI_Comm graph;            /* MPI_Dist_graph_create_adjacent(src -> me -> dst) */
    int64_t nrounds;           /* exchange rounds (als_ghost_plan_rounds; the same on all ranks) */
} als_ghost_plan_t;

/* Collective: build the plan for one factor matrix from this rank's ghost
 * list (als_ghost_collect; the plan takes ownership of ghost) and the block
 * plan beg[0..p]. Every rank tells the owners which of their rows it reads
 * (MPI_Alltoall of counts, then MPI_Alltoallv of indices) and the graph
 * communicator is created: once, after loading. */
int als_ghost_plan_build(MPI_Comm comm, const int64_t *beg, int64_t *ghost, int64_t nghost,
                         als_ghost_plan_t *g, als_err_t *err);
void als_ghost_plan_free(als_ghost_plan_t *g);

/* Local: the view slot of global row x, which must be owned or a ghost
 * (-1 otherwise). O(log nghost). */
int64_t als_ghost_slot(const als_ghost_plan_t *g, int64_t x);

/* Local: map idx[0..n) (global rows, each owned or a ghost) to view slots in
 * out[0..n) (out may alias idx). Ascending global order is ascending slot
 * order, so sums in index order keep their order. */
void als_ghost_map(const als_ghost_plan_t *g, const int64_t *idx, int64_t n, int64_t *out);

/* Local: the global row held in view slot t (a plan without ghost list, as
 * the replicated mode's, is the identity). */
static inline int64_t als_view_global(const als_ghost_plan_t *g, int64_t t)
{
    int64_t nown = g->own1 - g->own0;
    if (!g->ghost)
        return t;
    if (t < g->own_slot)
        return g->ghost[t];
    if (t < g->own_slot + nown)
        return g->own0 + (t - g->own_slot);
    return g->ghost[t - nown];
}

/* Bytes a rank packs per exchange round, at most (plus one row per
 * destination): the send buffer does not grow with the plan. */
#define ALS_GHOST_ROUND_BYTES ((int64_t)16 << 20)

/* Collective over comm: agree on the number of exchange rounds for rows of
 * k doubles (the most any rank needs to stay within ALS_GHOST_ROUND_BYTES). */
int als_ghost_plan_rounds(MPI_Comm comm, als_ghost_plan_t *g, int k);

/* Local: rows the send buffer must hold for one round. */
int64_t als_ghost_round_rows(const als_ghost_plan_t *g, int k);

/* Collective over g->graph: send each new owned row (blk: (own1-own0)×k) to
 * the ranks that read it and receive the ghosts into view (nview×k), in
 * g->nrounds rounds; the owned rows are copied into their slots unless blk
 * is those slots (solved in place). sendbuf holds als_ghost_round_rows rows.
 * Returns an MPI error code. */
int als_ghost_exchange(const als_ghost_plan_t *g, const double *blk, double *view, int k,
                       double *sendbuf);

#endif
