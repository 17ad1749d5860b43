/* als_plan.h - contiguous row blocks balanced by modelled cost.
 *
 * Rows 0..nrows-1 (users or items, in dense order) are split into p contiguous
 * blocks. The cost of row t (n_t ratings, w_t W entries) is what DESIGN.md
 * section 6 counts for it in its half-step, in flops at the rate of the
 * k×k kernels, for the run's plan model (als_plan_model_t: stored width k,
 * kr unknowns, and whether short rows take the n×n route):
 *
 *   k×k row    n_t (k(k+1) + 2k)      Gram (upper triangle) + right-hand side
 *            + w_t 2k                 social term, users only (W row length)
 *            + k^3/3 + 2k^2           Cholesky + the two triangular solves
 *   n×n row    2 wood(kr, n_t) + 16384 + w_t 2k
 *
 * A row is an n×n row when the model's route is on and als_woodbury_pays(kr,
 * n_t) (0 < n_t < kr, kr >= 48: the solver's rule for --solver cholesky
 * without --implicit), wood being als_woodbury_flops: n(n+1)kr + 6n kr +
 * n^3/3 + 2n^2. The factor 2 and the per-row 16384 are measured (docs/
 * PERFORMANCE.md, "the block plan follows the n×n route"): per-row times of
 * FilmTrust, MovieLens u1 and Ciao at k = 64 and 128 fitted as 1.3-3.0 times
 * the route's flops plus 12-82 thousand flops per row (at the k×k kernels'
 * rate of the same run). --solver cg keeps the k×k costs: its measured
 * per-row overhead (7-28 ratings' worth) is about what the k×k solve term
 * adds at k = 64, and a cost of its own did no better on those sets.
 *
 * Block r is [beg[r], beg[r+1]) where beg[r] is the first row whose exclusive
 * cost prefix reaches r/p of the total. Costs are handled as 3 cost(t), an
 * integer, with 128-bit prefixes: the plan is an exact, deterministic function
 * of the row counts and the model, so als-train and als-partition always
 * agree. Blocks may be empty (p larger than the number of rows). The factors
 * never depend on the plan (every row's sums are in a fixed order), only the
 * time.
 */
#ifndef ALS_PLAN_H
#define ALS_PLAN_H

#include <stdint.h>
#include <mpi.h>

/* The n×n row's per-row cost in the formula above (flops). */
#define ALS_PLAN_ROUTE_ROW 16384

/* The stored row width of a run: --rank, plus 3 with --bias (the bias, the
 * constant 1 and the mean slot; as the solver's s->k). */
static inline int als_plan_width(int rank_k, int bias)
{
    return rank_k + (bias ? 3 : 0);
}

/* What the plan models of a run (see above). */
typedef struct {
    int k;     /* stored row width: --rank, + 3 with --bias (as the solver's s->k) */
    int kr;    /* unknowns per row: --rank, + 1 with --bias */
    int route; /* 1: short rows take the n×n route (--solver cholesky, not --implicit) */
} als_plan_model_t;

/* The model of a run with --rank rank_k, --bias (0/1), and the n×n route
 * on (route = 1 for --solver cholesky without --implicit; the plan does not
 * follow --kernel ref or ALS_WOODBURY=0, which only change the time). */
static inline als_plan_model_t als_plan_model(int rank_k, int bias, int route)
{
    als_plan_model_t pm = {als_plan_width(rank_k, bias), rank_k + (bias ? 1 : 0), route ? 1 : 0};
    return pm;
}

/* Every row k×k at width k (no route, no fixed coordinates). */
static inline als_plan_model_t als_plan_kxk(int k)
{
    return als_plan_model(k, 0, 0);
}

/* 1 when a (non-hot) row of nr ratings is an n×n row of the model. Local. */
int als_plan_on_route(als_plan_model_t pm, int64_t nr);

/* Modelled cost of one row with nr ratings and nw W entries (the formulas
 * above), in flops at the k×k kernels' rate. Local. */
double als_plan_row_flops(als_plan_model_t pm, int64_t nr, int64_t nw);

/* The cost of a row of nr ratings minus its k×k cost: 0 for a k×k row,
 * negative for an n×n row. Local. */
double als_plan_route_delta(als_plan_model_t pm, int64_t nr);

/* The block plan: beg has p+1 entries. rptr: row pointers (nrows+1 prefix
 * sums) of the ratings per row; wptr: of the W entries per row (users), or
 * NULL (items). Local and deterministic. */
void als_plan_blocks(int64_t nrows, const int64_t *rptr, const int64_t *wptr,
                     als_plan_model_t pm, int p, int64_t *beg);

/* ---- hot rows --------------------------------------------------------------
 *
 * An item row with more than ALS_HOT_CHUNK ratings ("hot": a popular item)
 * cannot be balanced as one unit. Its ratings (in their CSC order) are cut
 * into chunks of ALS_HOT_CHUNK (the last one shorter); the row's Gram matrix
 * and right-hand side are ALWAYS the sum of the chunks' partial sums, added
 * in chunk order by the row's owner, whatever P is (so a hot row's bits do
 * not depend on P; they differ from an unchunked sum by rounding only). Which
 * rank computes a chunk is a scheduling choice: the chunks go, in (row, chunk)
 * order, to the rank with the least modelled load at that moment (ties: the
 * lowest rank), on top of the block plan in which hot rows count only their
 * solve. User rows are never split. */
#define ALS_HOT_CHUNK 1024

/* The chunks of every hot row and who computes them (the same on every rank;
 * O(number of chunks), not O(rows)). */
typedef struct {
    int64_t n;                 /* chunks */
    int64_t *row;              /* global row of chunk c, ascending (row, chunk) */
    int64_t *first, *len;      /* ratings [first, first + len) of the row (offsets) */
    int *rank;                 /* the rank that computes it */
} als_hotplan_t;

/* Is a row with nr ratings hot? */
static inline int als_plan_is_hot(int64_t nr)
{
    return nr > ALS_HOT_CHUNK;
}

/* The item plan with hot rows: blocks beg[0..p] balanced with each hot
 * row's ratings left out, then the chunks placed greedily (above). hp may be
 * NULL (blocks only). Returns 0, or -1 when out of memory. Local,
 * deterministic. */
int als_plan_items(int64_t nrows, const int64_t *rptr, als_plan_model_t pm, int p,
                   int64_t *beg, als_hotplan_t *hp);
void als_hotplan_free(als_hotplan_t *hp);

/* Collective over comm (p = its size): the same plan as als_plan_blocks
 * (hot = 0; wptr may be NULL) or als_plan_items (hot = 1, with hp), from
 * each rank's slice of the row pointers: rows [a, b) with rptr[0..b-a] =
 * the global rptr[a..b] (and wptr likewise); the slices, in rank order,
 * cover [0, nrows). O(slice + p + hot rows) per rank: no O(nrows) array.
 * Returns 0, or -1 on every rank when any ran out of memory. */
int als_plan_dist(MPI_Comm comm, int64_t nrows, int64_t a, int64_t b, const int64_t *rptr,
                  const int64_t *wptr, als_plan_model_t pm, int hot, int64_t *beg,
                  als_hotplan_t *hp);

#endif
