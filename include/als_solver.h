/* als_solver.h - the ALS half-steps, the loss and the iteration loop.
 *
 * One iteration = U-step (every user solved from V and the previous U, a
 * block-Jacobi step of the social term) then V-step (every item from the new
 * U). Each rank solves its own rows into a local block; then the new rows
 * move to the ranks that read them (als_exchange.h): with --exchange
 * allgather every rank holds all of U and V (MPI_Allgatherv of whole blocks);
 * with --exchange neighbor a rank holds its own rows and the ghost rows it
 * reads (als_ghost.h), received with MPI_Neighbor_alltoallv. Either way a
 * rank addresses the factors through a "view": the rows it holds, in
 * ascending global order (the whole matrix with allgather), and its local
 * CSR/CSC/W indices are mapped to view slots once. Every row's result depends
 * only on the rows it reads, summed in the same order, so U and V are bitwise
 * identical for any number of ranks, threads and either exchange mode.
 *
 * Sums over rows (loss terms, test metrics) are exact (als_rsum.h) and
 * reduced with an integer MPI_Allreduce: their bits do not depend on P.
 */
#ifndef ALS_SOLVER_H
#define ALS_SOLVER_H

#include <stdint.h>
#include <stdio.h>
#include "als_dataset.h"
#include "als_metrics.h"
#include "als_ghost.h"
#include "als_options.h"
#include "als_rsum.h"
#include "als_shm.h"

typedef struct {
    MPI_Comm comm;
    int rank, nranks, threads;
    const als_options_t *opt;   /* collective input */
    const als_data_t *data;     /* this rank's part of the dataset */
    int k;                      /* stored row width: --rank, or --rank + 3 with --bias */
    int latent;                 /* --rank */
    /* With --bias the rows are augmented so that a prediction is one dot
     * product: U row [u, b_i, 1, mu], V row [v, 1, c_j, 1]. The constant
     * coordinates (nfixed per row) are neither updated nor regularized. */
    int nfixed;
    int ufix[2], vfix[2];
    double ufixval[2], vfixval[2];
    als_exchange_mode_t mode;   /* allgather, shared or neighbor (never auto here) */
    als_shm_t shm;              /* --exchange shared: the node's copies of U and V */
    char why[256];              /* why this mode (--exchange auto's reasoning) */
    als_ghost_plan_t pu, pv;    /* views and exchange plans of U and V */
    double *U, *V;              /* the views: pu.nview×k and pv.nview×k (with allgather
                                 * the whole m×k and n×k, replicated on every rank) */
    int64_t *ucol_s, *irow_s, *wcol_s; /* local CSR, CSC, W indices as view slots */
    double *ublk, *vblk;        /* this rank's new rows before the exchange (unused when
                                 * solved in place) */
    int u_inplace, v_inplace;   /* new rows solved into the view's own slots */
    int huge;                   /* U and V asked for transparent huge pages (--huge-pages
                                 * on and available: private memory, or with --exchange
                                 * shared the window's tmpfs); the fast Gram and CG then
                                 * read their rows in place */
    char huge_why[192];         /* with --exchange shared: the settings that decided it */
    double woodbury_rows[2];    /* users, items solved by the n×n route (als_woodbury.h) */
    double *sendbuf;            /* packed rows for the neighbour exchange */
    /* Squared errors of the own rows' ratings after their last solves (exact
     * local sums), and the rounding-error bounds of those terms. */
    als_rsum_t usse, vsse, usse_bound, vsse_bound;
    double *unorm, *vnorm;      /* Euclidean norms of the view rows (--implicit's bounds;
                                 * one element otherwise) */
    double umax, vmax;          /* largest row norm of U, of V over all ranks (the
                                 * explicit model's bounds; side_norm_max) */
    /* Test pairs of this rank's users (global counts in the testset). */
    int64_t ntest;
    int64_t *test_u;            /* local user offset (0 .. u1-u0) */
    int64_t *test_v;            /* V view slot of the item */
    double *test_r;
    double bytes_recv_iter;     /* bytes this rank receives per iteration (the mode's) */
    double bytes_received;      /* bytes actually received by factor exchanges so far */
    int nexchanges;             /* factor exchanges so far (2 per iteration) */
    double bytes_recv_other;    /* the same in the other mode */
    double bytes_recv_shared;   /* --exchange shared: what this rank's bridge brings */
    double mem_expected;        /* modelled bytes this rank holds (the mode's) */
    double mem_other;           /* the same in the other mode */
    int hist_cap;               /* entries allocated in hist */
    /* Hot item rows (als_plan.h): own hot rows, chunk traffic, partial sums. */
    int hot_any;                /* the dataset has hot rows (collective switch) */
    int64_t nhot, hot_pack;     /* own hot rows; doubles per packed chunk */
    int64_t *hot_slot;          /* per own item: index among own hot rows, or -1 */
    int64_t *hot_c0, *hot_nc;   /* per own hot row: its chunks in the plan */
    int64_t *hot_rpos, *hot_spos; /* receive slot per own row's chunk, send slot per chunk */
    int *hot_scnt, *hot_sdsp, *hot_rcnt, *hot_rdsp; /* MPI_Alltoallv counts (doubles) */
    double *hot_sbuf, *hot_rbuf, *hotA;
    int64_t *hc_irow_s, *hc_vslot; /* chunk ratings' U view slots, chunk rows' V slots */
    double timers[ALS_T_NPHASES];
    als_iter_t *hist;           /* iteration history (every rank), grown as iterations run */
    int niters;
    als_loss_t initial;
    double max_increase;        /* largest relative loss increase over half-steps */
    int increases;              /* half-steps whose loss increased beyond rounding */
    int nonfinite;              /* half-steps whose loss or metrics were not finite */
    double loss_bound;          /* rounding-error bound of the last loss evaluation */
    double flops_per_iter;      /* DESIGN §6 count for one iteration (rows on the n×n
                                 * route counted as such) */
    double flops_per_iter_kxk;  /* the same with every row on the k×k route */
    double flops_per_iter_plan; /* the block plan's modelled cost of an iteration
                                 * (als_plan.h; als-scaling-report calibrates on it) */
    struct als_ckpt *ckpt;      /* checkpointing (als_checkpoint.h), NULL = none */
    int resumed;                /* U, V, hist, initial and the loss check were restored */
    /* --row-costs: each own row's seconds in solve_rows per iteration,
     * rowcost[(it - 1) rowcost_n + slot] (slot: users, then items), for the
     * iterations rowcost_lo..rowcost_hi run (1-based); rowcost_cur: the
     * half-step being timed (NULL: none). */
    double *rowcost, *rowcost_cur;
    size_t fbytes[2];           /* bytes of U and V as allocated (als_huge_alloc) */
    int64_t rowcost_n;
    int rowcost_lo, rowcost_hi;
    /* --implicit: the Grams X'X (gu) and Y'Y (gv) of the current U and V,
     * k×k full and bitwise symmetric, the same bits on every rank and for
     * every P (exact sums of the owned rows' products, als_rsum_allreduce).
     * gu_ok/gv_ok: they match the current views. */
    double *gu, *gv;
    int gu_ok, gv_ok;
    /* This rank's exact sums of the per-row loss terms of each side (U:
     * social, regularization; V: regularization), kept between the
     * evaluations after half-steps: a half-step changes one side only.
     * uterm_ok/vterm_ok: they match the current views. */
    als_rsum_t uterm[2], vterm;
    int uterm_ok, vterm_ok;
    int64_t maxrow;             /* longest local user or item row (per-thread weights) */
    int64_t cg_bad;             /* CG rows whose solve reported trouble (unused = 0) */
    struct als_rankeval *rk;    /* ranking metrics state (--implicit --test), or NULL */
} als_solver_t;

/* Collective: allocate the views, build the ghost plans (neighbor mode) and
 * initialise U, V (counter-based generator keyed by (seed, global row), or
 * the --init-* files, each rank reading its rows). test: this rank's test
 * pairs from als_testset_load (their items join the V ghosts; NULL = none).
 * opt->exchange auto is resolved here (printed by als_solver_describe). */
int als_solver_init_test(MPI_Comm comm, const als_options_t *opt, const als_data_t *data,
                         const als_testset_t *test, als_solver_t *s, als_err_t *err);
int als_solver_init(MPI_Comm comm, const als_options_t *opt, const als_data_t *data,
                    als_solver_t *s, als_err_t *err);
void als_solver_free(als_solver_t *s);

/* Collective: print (rank 0, on out) the exchange mode and why, and per mode
 * the bytes each rank receives per iteration and the ghost rows per rank
 * (min/avg/max over ranks), and the modelled memory per rank. */
void als_solver_describe(als_solver_t *s, FILE *out);

/* Value of row t, column c of the initial U (which = 0) or V (which = 1). */
double als_init_value(uint64_t seed, int which, int64_t t, int c, int k);

/* Local: this rank's own row of global user u (u0 <= u < u1) / item j. */
static inline double *als_solver_urow(const als_solver_t *s, int64_t u)
{
    return s->U + (s->pu.own_slot + (u - s->pu.own0)) * s->k;
}
static inline double *als_solver_vrow(const als_solver_t *s, int64_t j)
{
    return s->V + (s->pv.own_slot + (j - s->pv.own0)) * s->k;
}

/* Collective: copy the own blocks ublk/vblk into the views and move them to
 * the ranks that read them (after a restore or an --init read). */
/* --row-costs: the median over the iterations run (the first one left
 * out when there were more) of the seconds own row t of side `side` (0
 * users, 1 items; local index) took in its half-step: forming, its share of
 * its batched solve, and its residual pass (a hot item: its copy and
 * solve; its chunks' Grams are not counted). Local. */
double als_solver_row_cost(const als_solver_t *s, int side, int64_t t);

int als_solver_exchange(als_solver_t *s, int which, als_err_t *err);

/* Local: room for iteration it (1-based) in s->hist. */
int als_solver_hist_reserve(als_solver_t *s, int it, als_err_t *err);

/* Collective half-steps. A failed Cholesky factorization is an
 * ALS_ERR_NUMERIC error naming the raw user or item id. */
int als_solver_ustep(als_solver_t *s, als_err_t *err);
int als_solver_vstep(als_solver_t *s, als_err_t *err);

/* Collective: the loss of the current U, V (the same bits on every rank and
 * for every rank count: exact sums). */
void als_solver_loss(als_solver_t *s, als_loss_t *L);

/* Collective: the same loss right after a U-step (after_vstep = 0) or a
 * V-step (1), with the squared errors taken from the half-step's own pass
 * (the residuals of each solved row against the rows it just read). Equal to
 * als_solver_loss bit for bit. */
void als_solver_loss_after(als_solver_t *s, int after_vstep, als_loss_t *L);

/* Local: RMSE and MAE of replicated factors U (m×k), V (n×k) on a test set
 * with global indices (als_testset_read), predictions clipped to the
 * training range [d->rmin, d->rmax]. NaN when t->n == 0. For tools. */
void als_solver_test(const als_solver_t *s, const als_testset_t *t, double *rmse, double *mae);

/* Collective: test metrics of the current model over every rank's own pairs
 * (als_solver_init_test): the headline RMSE/MAE over the pairs whose user
 * has training ratings, and the cold-start figures of the others. Exact
 * sums, the same bits on every rank and for every P. */
typedef struct {
    int64_t n, cold_n;
    double rmse, mae;                 /* headline (NaN when n == 0) */
    double cold_rmse, cold_mae;       /* users without training ratings */
    double cold_mean_rmse;            /* global-mean baseline on those pairs */
    double cold_item_bias_rmse;       /* mu + c_j baseline (--bias), else NaN */
} als_testmetrics_t;
void als_solver_test_dist(als_solver_t *s, als_testmetrics_t *m);

/* Collective: the iteration loop with --iters/--tol, progress lines on out
 * (rank 0, may be NULL), the history in s->hist. test: global counts (the
 * pairs themselves were given to als_solver_init_test); may be NULL. */
int als_solver_run(als_solver_t *s, const als_testset_t *test, FILE *out, als_err_t *err);

/* Relative tolerance of the non-increasing-loss check. */
#define ALS_LOSS_RTOL 1e-12

/* Make room for n records in s->hist (grown geometrically, so --iters can be
 * huge without an allocation up front). The sizes are the same on every
 * rank; a failure names the history. Local. */
int als_solver_hist_reserve(als_solver_t *s, int n, als_err_t *err);

#endif
