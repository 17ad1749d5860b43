/* als_dataset.h - from triplets to the distributed rating and social structures.
 *
 * Dense ids: users are the union of the users in the ratings and in the social
 * links; items are the rated items; dense row order is ascending raw id.
 *
 * als_global_t is the whole dataset on one rank (built by rank 0 from text, or
 * by als-partition). als_data_t is what one rank holds while training: global
 * scalars, the block plan, and only its own rows: the raw ids of its own
 * users and items, CSR of its users' ratings, CSC of its items' ratings, its
 * users' rows of W = S + S^T, and the ratings of the hot-row chunks it
 * computes. No array of m or n entries.
 *
 * Within a row, ratings are ordered by the other index, then by file order
 * (duplicates kept adjacent), so every rank count sees the same sums.
 */
#ifndef ALS_DATASET_H
#define ALS_DATASET_H

#include <stdint.h>
#include "als_error.h"
#include "als_options.h"
#include "als_plan.h"
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
    /* The raw ids of this rank's own rows only (no O(m + n) array):
     * user_ids[t] is the id of global user u0 + t, item_ids[t] of item i0 + t. */
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
    /* Hot item rows (als_plan.h): the chunk plan (the same on every rank)
     * and the ratings of the chunks this rank computes, in plan order. The
     * owner of a hot item still holds its whole CSC column. */
    als_hotplan_t hot;
    int64_t nhc;              /* chunks computed here */
    int64_t *hc;              /* their indices in hot */
    int64_t *hc_ptr;          /* nhc+1 offsets into hc_irow / hc_ival */
    int64_t *hc_irow;         /* global user index */
    double *hc_ival;
} als_data_t;

/* Held-out ratings mapped to dense ids. From als_testset_read (local, whole
 * id maps): every pair. From als_testset_load (collective): the pairs of
 * this rank's users, in file order; the counts are global either way. */
typedef struct {
    int64_t total;            /* lines read */
    int64_t n;                /* pairs held here, with known user and item */
    int64_t n_all;            /* the same over all ranks */
    int64_t unknown_user;     /* pairs whose user is not in the model */
    int64_t unknown_item;     /* pairs whose item is not in the model (user known) */
    int64_t header_lines;     /* header lines skipped in the test file (0 or 1) */
    int64_t *u, *i;           /* global dense user and item */
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

/* Distribute g (significant on root only) to every rank's d, with the block
 * plan of als_plan_blocks for the plan model pm (als_plan.h; the same on
 * every rank). Collective. */
int als_data_scatter(MPI_Comm comm, int root, const als_global_t *g, als_plan_model_t pm,
                     als_data_t *d,
                     als_err_t *err);
void als_data_free(als_data_t *d);

/* Local: from d->hot, list the chunks d->rank computes (d->hc, d->hc_ptr)
 * and allocate d->hc_irow/d->hc_ival for their ratings (the loaders fill
 * them). */
int als_hot_local(als_data_t *d, als_err_t *err);

/* Index of raw id x in the ascending array ids[0..n), or -1. Local. */
int64_t als_id_find(const uint64_t *ids, int64_t n, uint64_t x);

/* Collective: rank 0 reads the test file; each pair goes to the rank that
 * owns its user (routed by raw-id ranges), which maps the user with its own
 * id slice and the item through the item's owner (MPI_Alltoallv). No rank
 * holds an id map. Errors agreed on every rank. */
int als_testset_load(MPI_Comm comm, const char *path, const als_text_opts_t *topts,
                     const als_data_t *d, als_testset_t *t, als_err_t *err);

/* Read and map a test file with whole id maps in d (local; for tools whose
 * als_data_t holds every id: user_ids[m], item_ids[n]). */
int als_testset_read(const char *path, const als_text_opts_t *topts, const als_data_t *d,
                     als_testset_t *t, als_err_t *err);
void als_testset_free(als_testset_t *t);

#endif
