/* als_rankeval.h - distributed top-N ranking metrics of the current model
 * (als-train --implicit --test): precision@N, recall@N, NDCG@N and MAP@N
 * over the test users, their training items excluded, the same numbers as
 * als-eval --top N --implicit --train TRAIN on the written model, bit for
 * bit, for any P, thread count and exchange mode.
 *
 * Scoring a user against every item needs every item's factor, which a rank
 * does not hold in the sharded mode; and gathering V would cost O(n k) per
 * rank. Instead (all definitions and the tie rule of als_ranking.h):
 *   1. the factor rows of the test users are gathered on every rank
 *      (MPI_Allgatherv: T k 8 bytes per rank, T = users with a held-out pair;
 *      bounded by the test set, not by m);
 *   2. each rank scores its OWN items [i0, i1) for every test user
 *      (T (i1 - i0) k multiply-adds: the n k T total split over the ranks),
 *      excluding the user's training items among them (read from the
 *      rank's CSC, once at start-up), and keeps a local top-N per user
 *      (score descending, item index ascending);
 *   3. the local lists go to each user's owner (MPI_Alltoallv: T N 16 bytes
 *      sent per rank), which merges the P lists into the global top-N: the
 *      global top-N is contained in the union of the local ones because the
 *      order is total, and the scores are the same bits als-eval computes
 *      (als_rank_scores on the same rows);
 *   4. the owner computes the user's metrics against its held-out items
 *      (relevant: value > 0, training items removed), accumulates them
 *      exactly (als_rank_acc_t) and the accumulators are summed with one
 *      MPI_Allreduce on int64 words: the means do not depend on P.
 * Memory per rank: T k doubles (rows), T N (index, score) pairs in each
 * direction, and the excluded-item lists of the own items (<= local nnz).
 */
#ifndef ALS_RANKEVAL_H
#define ALS_RANKEVAL_H

#include "als_ranking.h"
#include "als_solver.h"

/* Collective: build the test-user lists and the exclusion lists from the
 * solver's test pairs (als_solver_init_test) into s->rk; N = opt->top_n. */
int als_rankeval_init(als_solver_t *s, als_err_t *err);

/* Collective: the metrics of the current U, V (the same on every rank). */
int als_rankeval_run(als_solver_t *s, als_rank_result_t *res, als_err_t *err);

/* Local: free s->rk (NULL allowed). */
void als_rankeval_free(als_solver_t *s);

#endif
