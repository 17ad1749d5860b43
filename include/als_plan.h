/* als_plan.h - contiguous row blocks balanced by work.
 *
 * Rows 0..nrows-1 (users or items, in dense order) are split into p contiguous
 * blocks. The work of row t is w[t] = (its ratings) + (its social entries) + 1;
 * block r is [beg[r], beg[r+1]) where beg[r] is the first row whose exclusive
 * work prefix reaches r/p of the total. The plan is a pure function of the
 * per-row counts and p, so als-train and als-partition always agree. Blocks may
 * be empty (p larger than the number of rows).
 */
#ifndef ALS_PLAN_H
#define ALS_PLAN_H

#include <stdint.h>
#include <stdio.h>

/* beg has p+1 entries. cnt[t] is row t's work without the +1 (may be NULL:
 * rows only). Local and deterministic. */
void als_plan_blocks(int64_t nrows, const int64_t *cnt, int p, int64_t *beg);

/* Print the plan for p ranks: rows, ratings and social entries per rank and
 * the load imbalance (max/mean work). ucnt/icnt: ratings per user/item;
 * scnt: social entries (row lengths of W) per user, may be NULL. Local. */
void als_plan_print(FILE *out, int p, int64_t m, int64_t n, const int64_t *ubeg,
                    const int64_t *ibeg, const int64_t *ucnt_prefix,
                    const int64_t *icnt_prefix, const int64_t *scnt_prefix);

#endif
