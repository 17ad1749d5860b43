/* als_reorder.h - locality: renumber users (and optionally items) by a
 * METIS k-way partition of the user-item-social graph, and compare the
 * block plan's ghost rows before and after (issue 11, "Locality").
 *
 * The graph: one vertex per user and per item; an edge user-item per
 * distinct rated pair (weight: the number of ratings of the pair), an edge
 * user-user per W = S + S^T entry (weight 1). Two vertex weights (METIS
 * multi-constraint): users carry (modelled flops of the row at width k, 0),
 * items (0, modelled flops), so every part gets about 1/P of both sides'
 * work, as the cost-weighted block plan wants. METIS_PartGraphKway, seeded
 * (options[METIS_OPTION_SEED]), default imbalance 1.03 per constraint.
 *
 * The new dense order: rows of part 0 first, then part 1, ..., ascending
 * raw id (= old dense id) within a part. Only the plan statistics of the
 * permuted graph are computed (--dry-run): writing a reordered dataset is
 * not implemented (the loaders assume ascending raw ids, see README).
 *
 * This file is the only one that needs METIS (link -lmetis): als-partition.
 */
#ifndef ALS_REORDER_H
#define ALS_REORDER_H

#include <stdint.h>
#include <stdio.h>

#include "als_error.h"
#include "als_plan.h"

/* A dataset's index structure (no values): CSR by user, CSC by item, W. */
typedef struct {
    int64_t m, n;
    int64_t *uptr, *ucol;     /* m+1, nnz */
    int64_t *iptr, *irow;     /* n+1, nnz */
    int64_t *wptr, *wcol;     /* m+1, wnnz (may be NULL: no W) */
} als_graph_t;

/* Partition into nparts with METIS (seeded); upart[m], ipart[n] receive the
 * part of every user and item; *edgecut the weighted edge cut. Local. */
int als_reorder_metis(const als_graph_t *g, int nparts, int seed, als_plan_model_t pm, int *upart,
                      int *ipart, int64_t *edgecut, als_err_t *err);

/* The permutation of the new order: perm[new] = old, rows sorted by
 * (part, old id); part NULL: identity. Local. */
void als_reorder_perm(int64_t rows, const int *part, int64_t *perm);

/* out = g with users renumbered by uperm and items by iperm (perm[new] =
 * old; NULL: unchanged); indices within each row ascending. Local; free
 * with als_graph_free. */
int als_graph_permute(const als_graph_t *g, const int64_t *uperm, const int64_t *iperm,
                      als_graph_t *out, als_err_t *err);
void als_graph_free(als_graph_t *g);

/* The reorder report of als-partition --reorder metis --dry-run: for each
 * P in plist, partition into P parts (or `parts` if > 0), and print the
 * plan summary of the original order, of users reordered, and of users and
 * items reordered, then one line
 *   ghost_reorder: P p parts N before A users B users_items C
 * (A, B, C: ghost rows summed over ranks, U + V) and
 *   reorder_perm_checksum: users X items Y  (FNV-1a of the permutations). */
int als_reorder_report(FILE *out, const als_graph_t *g, int np, const int *plist, int parts,
                       int seed, als_plan_model_t pm, int threads, int with_table,
                       als_err_t *err);

#endif
