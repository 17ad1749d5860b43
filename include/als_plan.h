/* als_plan.h - contiguous row blocks balanced by modelled flops.
 *
 * Rows 0..nrows-1 (users or items, in dense order) are split into p contiguous
 * blocks. The cost of row t is the flops DESIGN.md section 6 counts for it in
 * its half-step, for the run's stored row width k (--rank, or --rank + 3 with
 * --bias), exactly as the solver counts flops_per_iter:
 *
 *   cost(t) = n_t (k(k+1) + 2k)      Gram (upper triangle) + right-hand side
 *           + w_t 2k                 social term, users only (W row length)
 *           + k^3/3 + 2k^2           Cholesky + the two triangular solves
 *
 * Block r is [beg[r], beg[r+1]) where beg[r] is the first row whose exclusive
 * cost prefix reaches r/p of the total. Costs are handled as 3 cost(t), an
 * integer, with 128-bit prefixes: the plan is an exact, deterministic function
 * of the row counts, k and p, so als-train and als-partition always agree.
 * Blocks may be empty (p larger than the number of rows). The factors never
 * depend on the plan (every row's sums are in a fixed order), only the time.
 */
#ifndef ALS_PLAN_H
#define ALS_PLAN_H

#include <stdint.h>

/* Modelled flops of one row with nr ratings and nw W entries at width k
 * (the formula above). Local. */
double als_plan_row_flops(int64_t nr, int64_t nw, int k);

/* The block plan: beg has p+1 entries. rptr: row pointers (nrows+1 prefix
 * sums) of the ratings per row; wptr: of the W entries per row (users), or
 * NULL (items). k >= 1: the stored row width. Local and deterministic. */
void als_plan_blocks(int64_t nrows, const int64_t *rptr, const int64_t *wptr, int k, int p,
                     int64_t *beg);

/* The stored row width of a run: --rank, plus 3 with --bias (the bias, the
 * constant 1 and the mean slot; as the solver's s->k). */
static inline int als_plan_width(int rank_k, int bias)
{
    return rank_k + (bias ? 3 : 0);
}

#endif
