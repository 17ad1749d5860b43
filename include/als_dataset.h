/* als_dataset.h - from triplets to the distributed rating and social structures.
 *
 * Dense ids: users are the union of the users in the ratings and in the social
 * links; items are the rated items; dense row order is ascending raw id.
 *
 * als_global_t is the whole dataset on one rank (built by rank 0 from text, or
 * by als-partition). als_data_t is what one rank holds while training: global
 * scalars, the raw id maps (m + n ids, the same size order as the replicated
 * factors), the block plan, and only its own rows: CSR of its users' ratings,
 * CSC of its items' ratings, and its users' rows of W = S + S^T.
 *
 * Within a row, ratings are ordered by the other index, then by file order
 * (duplicates kept adjacent), so every rank count sees the same sums.
 */
#ifndef ALS_DATASET_H
#define ALS_DATASET_H

#include <stdint.h>
#include "als_error.h"
#include "als_options.h"
#include "als_text.h"

/* What cleaning did; printed at start-up and written to metrics.json. */
typedef struct {
    int64_t ratings_read;     /* rating lines read */
    int64_t duplicate_rows;   /* rows repeating an earlier (user, item) pair */
    int64_t duplicate_pairs;  /* distinct pairs that occur more than once */
    int64_t links_read;       /* social lines read (self-links excluded) */
    int64_t self_loops;       /* self-links dropped */
    int64_t duplicate_links;  /* repeated (i, f) links: the last weight is kept */
    int64_t social_only_users;/* users in the social file without ratings */
    int64_t header_lines;     /* header lines skipped (ratings + social) */
} als_data_stats_t;

typedef struct {
    int64_t m, n, nnz;        /* users, items, ratings kept */
    uint64_t *user_ids;       /* m raw ids, ascending */
    uint64_t *item_ids;       /* n raw ids, ascending */
    int64_t *uptr;            /* m+1: CSR by user */
    int64_t *ucol;            /* nnz: dense item */
    double *uval;             /* nnz */
    int64_t *iptr;            /* n+1: CSC by item */
    int64_t *irow;            /* nnz: dense user */
    double *ival;             /* nnz */
    int64_t nlinks;           /* directed links kept (S's non-zeros) */
    int64_t wnnz;             /* non-zeros of W = S + S^T */
    int64_t *wptr;            /* m+1 */
    int64_t *wcol;            /* wnnz: dense user f */
    double *wval;             /* wnnz: W_if = s_if + s_fi */
    double rmin, rmax, rmean; /* rating range and mean */
    als_data_stats_t stats;
} als_global_t;

typedef struct {
    /* Global, identical on every rank. */
    int64_t m, n, nnz, nlinks, wnnz;
    double rmin, rmax, rmean;
    als_data_stats_t stats;
    uint64_t *user_ids, *item_ids;
    int nranks, rank;
    int64_t *ubeg, *ibeg;     /* nranks+1: the block plan */
    /* Local: this rank's users [u0, u1) and items [i0, i1). */
    int64_t u0, u1, i0, i1;
    int64_t lnnz_u, lnnz_i, lwnnz;
    int64_t *uptr, *ucol;     /* (u1-u0)+1 offsets from 0; global item index */
    double *uval;
    int64_t *iptr, *irow;     /* (i1-i0)+1; global user index */
    double *ival;
    int64_t *wptr, *wcol;     /* (u1-u0)+1; global user index */
    double *wval;
    double *wdeg;             /* u1-u0: d_i = sum_f W_if */
} als_data_t;

/* Held-out ratings mapped to dense ids (rank 0 only). */
typedef struct {
    int64_t total;            /* lines read */
    int64_t n;                /* pairs with known user and item */
    int64_t unknown_user;     /* pairs whose user is not in the model */
    int64_t unknown_item;     /* pairs whose item is not in the model (user known) */
    int64_t header_lines;     /* header lines skipped in the test file (0 or 1) */
    int64_t *u, *i;
    double *r;
} als_testset_t;

/* Build the whole dataset from triplets (local). social may be NULL.
 * dup: the duplicate policy; ALS_DUP_ERROR fails naming the raw ids.
 * Fails with ALS_ERR_DATA when there are no ratings. */
int als_global_build(const als_triplets_t *ratings, const als_triplets_t *social,
                     als_dup_policy_t dup, const char *ratings_path, als_global_t *g,
                     als_err_t *err);
void als_global_free(als_global_t *g);

/* Read the text files named in o on rank 0, build, plan and distribute.
 * Collective; on error every rank returns the same code and message. */
int als_data_load_text(MPI_Comm comm, const als_options_t *o, als_data_t *d, als_err_t *err);

/* Distribute g (significant on root only) to every rank's d. Collective. */
int als_data_scatter(MPI_Comm comm, int root, const als_global_t *g, als_data_t *d,
                     als_err_t *err);
void als_data_free(als_data_t *d);

/* Per-row work counts of g for the plan: ucnt[t] = ratings + W entries of
 * user t, icnt[j] = ratings of item j (arrays of m and n, caller frees). */
void als_global_work(const als_global_t *g, int64_t *ucnt, int64_t *icnt);

/* Index of raw id x in the ascending array ids[0..n), or -1. Local. */
int64_t als_id_find(const uint64_t *ids, int64_t n, uint64_t x);

/* Read and map a test file (local, rank 0). */
int als_testset_read(const char *path, const als_text_opts_t *topts, const als_data_t *d,
                     als_testset_t *t, als_err_t *err);
void als_testset_free(als_testset_t *t);

#endif
