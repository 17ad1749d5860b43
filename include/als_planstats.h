/* als_planstats.h - per-rank figures of a block plan: owned and ghost rows,
 * modelled flops, bytes received per iteration and memory per rank, in both
 * exchange modes (issue 10's allgather and neighbor), and their printing.
 *
 * Definitions (k: stored row width, als_plan_width; rank r owns users
 * [u0, u1) and items [i0, i1)):
 *   V ghosts  distinct items among the CSR column indices of users [u0, u1)
 *             outside [i0, i1) (at run time the test pairs' items join them;
 *             the figures here leave test data out);
 *   U ghosts  distinct users among the CSC row indices of items [i0, i1) and
 *             the W column indices of users [u0, u1), outside [u0, u1);
 *   sent      rows a rank sends per exchange: over all other ranks q, the
 *             rows of its block that are ghosts of q (a row read by 3 ranks
 *             counts 3 times), per side.
 * Both ghost lists are built with als_ghost_collect, as the runtime does.
 *
 * Bytes received per rank per iteration (one U and one V exchange):
 *   neighbor   (U ghosts + V ghosts) k 8
 *   allgather  ((m - own users) + (n - own items)) k 8
 * Memory per rank (bytes; the model of als_planstats_rank):
 *   local data  CSR + CSC: (own user ratings + own item ratings) 16 (int64
 *               index + double), W: own W entries 16, row pointers
 *               ((own users + 1) 2 + own items + 1) 8, wdeg own users 8
 *   workspace   threads 4 k^2 8 (Gram, factor, right-hand sides per thread)
 *   allgather   (m + n) k 8 (replicated U, V) + (own users + own items) k 8
 *               (new blocks) + local data + workspace
 *   neighbor    (own users + U ghosts) k 8 + (own items + V ghosts) k 8
 *               (views) + own users k 8 if the rank has W rows (new U
 *               block; otherwise U, and always V, are solved in place)
 *               + min(max(U sent, V sent) k 8, ALS_GHOST_ROUND_BYTES)
 *               (send buffer, packed in rounds)
 *               + (U ghosts + V ghosts + U sent + V sent) 8 (index lists)
 *               + local data + workspace
 * Id maps, MPI's own buffers and the test set are not counted.
 */
#ifndef ALS_PLANSTATS_H
#define ALS_PLANSTATS_H

#include <stdint.h>
#include <stdio.h>

#include "als_error.h"
#include "als_plan.h"

/* What one rank holds under a plan (counts only). */
typedef struct {
    int64_t users, items;              /* owned rows: u1 - u0, i1 - i0 */
    int64_t user_ratings, item_ratings;/* local CSR and CSC non-zeros */
    int64_t wnnz;                      /* local W entries (its users' rows) */
    int64_t ughost, vghost;            /* ghost rows of U and V */
    int64_t usent, vsent;              /* rows sent per U / V exchange */
    int64_t urecv_ranks, vrecv_ranks;  /* ranks it receives U / V ghosts from */
    int64_t hot_ratings;               /* ratings of its own hot items (held, computed by the
                                        * chunks' ranks) */
    int64_t chunk_ratings;             /* ratings of the hot-row chunks it computes (a copy) */
    double route_u, route_v;           /* the cost its n×n rows save against k×k, summed
                                        * (als_plan_route_delta, <= 0; 0 without the route) */
} als_planstats_counts_t;

/* Local: c->route_u and c->route_v from the rank's own rows (nu users with
 * row pointers uptr, ni items with iptr; hot items are chunked k×k). */
void als_planstats_route(als_plan_model_t pm, int64_t nu, const int64_t *uptr, int64_t ni,
                         const int64_t *iptr, als_planstats_counts_t *c);

/* The figures derived from the counts. Bytes are exact integers. */
typedef struct {
    double flops_u, flops_v;           /* modelled cost of its U-step, V-step (als_plan.h) */
    int64_t bytes_neighbor;            /* received per iteration, neighbor mode */
    int64_t bytes_allgather;           /* received per iteration, allgather mode */
    int64_t mem_neighbor;              /* memory model, neighbor mode */
    int64_t mem_allgather;             /* memory model, allgather mode */
} als_planstats_t;

/* Local: the figures of one rank from its counts, for m users, n items,
 * stored width k and `threads` threads per rank. The lead's runtime calls
 * this with its ghost plan's counts to print the expected bytes per rank. */
void als_planstats_rank(const als_planstats_counts_t *c, int64_t m, int64_t n, int k,
                        int threads, als_planstats_t *out);

/* Local: the memory model of --exchange shared with R ranks per node: the
 * allgather figure with the replicated U and V, (m + n) k 8 bytes, counted
 * 1/R per rank (rounded up). */
int64_t als_planstats_mem_shared(int64_t mem_allgather, int64_t m, int64_t n, int k, int R);

/* Local: every rank's counts under the plan ubeg/ibeg (p+1 entries each)
 * from the global arrays (CSR uptr/ucol, CSC iptr/irow, W wptr/wcol; wptr
 * and wcol may be NULL: no W), without p ranks: cnt[0..p). Memory O(p + the
 * largest rank's index lists); time O((nnz + wnnz) log) over all ranks. */
int als_planstats_global(int p, int64_t m, int64_t n, als_plan_model_t pm,
                         const int64_t *ubeg, const int64_t *ibeg,
                         const als_hotplan_t *hot, const int64_t *uptr, const int64_t *ucol, const int64_t *iptr,
                         const int64_t *irow, const int64_t *wptr, const int64_t *wcol,
                         als_planstats_counts_t *cnt, als_err_t *err);

/* Local: print the plan table (one line per rank: rows, ratings, W entries,
 * ghost rows, modelled flops of both half-steps) and the summary lines
 *   dataset: users M items N ratings NNZ w_nonzeros W
 *   flops_total: users X items Y, flops_max: users X items Y (modelled)
 *   ghost_rows: min A avg B max C            (U + V ghosts per rank)
 *   ghost_rows_u: ..., ghost_rows_v: ...      (each side)
 *   neighbor_ranks: min A avg B max C        (messages received per
 *                                             iteration, U + V exchanges)
 *   bytes_per_iteration_neighbor: MIN AVG MAX
 *   bytes_per_iteration_allgather: MIN AVG MAX
 *   memory_per_rank_bytes_neighbor: MIN AVG MAX
 *   memory_per_rank_bytes_allgather: MIN AVG MAX
 *   ranks_per_node: R                        (only with rpn > 0; then also
 *   bytes_per_iteration_shared: MIN AVG MAX   --exchange shared with R =
 *   memory_per_rank_bytes_shared: MIN AVG MAX min(p, rpn) consecutive ranks
 *                                             per node, if R divides p)
 *   imbalance_flops: users X items Y         (max/mean modelled flops)
 * imbalance_flops is the last line (scripts cut the plan at ^imbalance).
 * with_table = 0 prints the summary lines only (large p). */
void als_planstats_print(FILE *out, int p, int64_t m, int64_t n, int k, int threads, int rpn,
                         const als_planstats_counts_t *cnt, int with_table);

#endif
