/* als_ranking.h - top-N ranking metrics with exact, order-independent sums.
 * Local (no MPI inside); the accumulator packs into int64 words that ranks
 * combine with MPI_Allreduce(MPI_INT64_T, MPI_SUM) exactly.
 *
 * For one user: candidates are the items 0..n_items-1 minus the user's
 * excluded (training) items; they are ranked by score descending, ties by
 * item index ascending (NaN scores count as -Inf), and the first N form the
 * top list (fewer when fewer candidates). The relevant set Rel is the user's
 * held-out items that count as relevant (explicit data: rating >= T;
 * implicit: any held-out interaction), minus excluded items (they cannot be
 * recommended). With h = hits in the top list, pos = 1-based rank:
 *     precision@N = h / N                               (N, not the list length)
 *     recall@N    = h / |Rel|
 *     NDCG@N      = DCG / IDCG, DCG = sum_{hits} 1/log2(pos + 1),
 *                   IDCG = sum_{pos=1..min(N,|Rel|)} 1/log2(pos + 1)
 *     MAP@N       = mean over users of AP@N,
 *                   AP@N = (sum_{hits at pos} (hits up to pos)/pos) / min(N, |Rel|)
 * Users with |Rel| = 0 are counted apart (no_relevant) and not averaged.
 */
#ifndef ALS_RANKING_H
#define ALS_RANKING_H

#include <stdint.h>

/* One user's metrics. */
typedef struct {
    double precision, recall, ndcg, ap;
    int64_t hits, nrel;     /* hits in the top N; |Rel| */
} als_rank_user_t;

/* Scores of all n items for one user: scores[j] = u . V[j] (V n×k row-major),
 * fixed-order arithmetic (bitwise the same everywhere). Local. */
void als_rank_scores(int k, int64_t n, const double *V, const double *u, double *scores);

/* The top min(N, candidates) items into top[0..N), best first; excl[0..nexcl)
 * are the excluded items, ascending (duplicates allowed). Returns the list
 * length, or -1 when excl is not ascending or holds an index outside
 * [0, n_items). O(n_items log N). Local. */
int64_t als_rank_topn(int N, int64_t n_items, const double *scores, const int64_t *excl,
                      int64_t nexcl, int64_t *top);

/* Metrics of one user from a top list (ntop <= N entries, best first) and
 * the relevant items rel[0..nrel) (ascending, distinct; excluded items
 * already removed: see als_rank_relevant). Returns 0, or -1 if rel is not
 * ascending and distinct. Local. */
int als_rank_user_metrics(int N, const int64_t *top, int64_t ntop, const int64_t *rel,
                          int64_t nrel, als_rank_user_t *out);

/* Relevant items of a user from its held-out items it[0..nt) with values
 * val[0..nt) (any order, duplicates allowed): those with val >= threshold
 * (pass -INFINITY for "every held-out item"; implicit data: pass the
 * smallest positive double, i.e. val > 0) that are not in excl (ascending).
 * Writes them ascending and distinct into rel (room for nt) and returns the
 * count. Sorts it/val in place together. Local. */
int64_t als_rank_relevant(int64_t nt, int64_t *it, double *val, double threshold,
                          const int64_t *excl, int64_t nexcl, int64_t *rel);

/* Accumulator over users. Each per-user value in [0, 1] is rounded to a
 * multiple of 2^-62 (locally, before any sum) and summed as integers in two
 * 31-bit limbs, so sums are exact: the totals do not depend on the order of
 * users, on how users are split over ranks, or on the reduction tree. Holds
 * up to 2^31 users. */
#define ALS_RANK_NMETRIC 4 /* precision, recall, ndcg, ap */
#define ALS_RANK_ACC_WORDS (3 + 2 * ALS_RANK_NMETRIC)
typedef struct {
    int64_t users;          /* users with |Rel| > 0 (averaged) */
    int64_t no_relevant;    /* users evaluated with |Rel| = 0 (counted apart) */
    int64_t hits;           /* total hits */
    int64_t limb[ALS_RANK_NMETRIC][2];
} als_rank_acc_t;

/* The means. */
typedef struct {
    int N;
    int64_t users, no_relevant, hits;
    double precision, recall, ndcg, map;   /* NaN when users == 0 */
} als_rank_result_t;

void als_rank_acc_init(als_rank_acc_t *acc);
/* Add one user (no_relevant when m->nrel == 0). Local. */
void als_rank_acc_add(als_rank_acc_t *acc, const als_rank_user_t *m);
/* dst += src (exact). Local. */
void als_rank_acc_merge(als_rank_acc_t *dst, const als_rank_acc_t *src);
/* To/from ALS_RANK_ACC_WORDS int64 words: pack on every rank, then
 * MPI_Allreduce(words, ALS_RANK_ACC_WORDS, MPI_INT64_T, MPI_SUM) (collective
 * for the caller), then unpack: bitwise the same result for any P. */
void als_rank_acc_pack(const als_rank_acc_t *acc, int64_t *words);
void als_rank_acc_unpack(const int64_t *words, als_rank_acc_t *acc);
/* The means over acc->users (deterministic function of the integer sums). */
void als_rank_acc_result(const als_rank_acc_t *acc, int N, als_rank_result_t *res);

/* Local: the index of x in the ascending a[0..n), or -1 (binary search). */
int64_t als_rank_find(const int64_t *a, int64_t n, int64_t x);

#endif
