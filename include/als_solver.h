/* als_solver.h - the ALS half-steps, the loss and the iteration loop.
 *
 * One iteration = U-step (every user solved from V and the previous U, a
 * block-Jacobi step of the social term) then V-step (every item from the new
 * U). Each rank solves its own rows into a local block, then the blocks are
 * exchanged with MPI_Allgatherv so that every rank holds all of U and V.
 * Every row's result depends only on replicated data and the row's own
 * ratings in a fixed order, so U and V are bitwise identical for any number
 * of ranks and threads.
 */
#ifndef ALS_SOLVER_H
#define ALS_SOLVER_H

#include <stdint.h>
#include <stdio.h>
#include "als_dataset.h"
#include "als_metrics.h"
#include "als_options.h"

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
    double *U, *V;              /* m×k and n×k, replicated on every rank */
    double *ublk, *vblk;        /* this rank's new rows before the exchange */
    double *usse, *vsse;        /* squared error of each own row after its last solve */
    double timers[ALS_T_NPHASES];
    als_iter_t *hist;           /* iteration history (every rank) */
    int hist_cap;               /* records allocated in hist (grown as iterations run) */
    int niters;
    als_loss_t initial;
    double max_increase;        /* largest relative loss increase over half-steps */
    int increases;              /* half-steps whose loss increased beyond rounding */
    double flops_per_iter;      /* DESIGN §6 count for one iteration */
    struct als_ckpt *ckpt;      /* checkpointing (als_checkpoint.h), NULL = none */
    int resumed;                /* U, V, hist, initial and the loss check were restored */
} als_solver_t;

/* Collective: allocate and initialise U, V (counter-based generator keyed by
 * (seed, global row), or the --init-* files read on rank 0). */
int als_solver_init(MPI_Comm comm, const als_options_t *opt, const als_data_t *data,
                    als_solver_t *s, als_err_t *err);
void als_solver_free(als_solver_t *s);

/* Value of row t, column c of the initial U (which = 0) or V (which = 1). */
double als_init_value(uint64_t seed, int which, int64_t t, int c, int k);

/* Collective half-steps. A failed Cholesky factorization is an
 * ALS_ERR_NUMERIC error naming the raw user or item id. */
int als_solver_ustep(als_solver_t *s, als_err_t *err);
int als_solver_vstep(als_solver_t *s, als_err_t *err);

/* Collective: the loss of the current U, V (same value on every rank, and the
 * same for every rank count: per-row terms are gathered and summed in row
 * order). */
void als_solver_loss(als_solver_t *s, als_loss_t *L);

/* Collective: the same loss right after a U-step (after_vstep = 0) or a
 * V-step (1), with the squared errors taken from the half-step's own Gram
 * matrices (sum r^2 - 2 x.b + x'Ax per solved row) instead of a second
 * random-access pass over the ratings. Equal to als_solver_loss up to
 * rounding; as deterministic and rank-count independent. */
void als_solver_loss_after(als_solver_t *s, int after_vstep, als_loss_t *L);

/* Local: RMSE and MAE of the current model on a test set, predictions clipped
 * to the training rating range [rmin, rmax]. NaN when t->n == 0. */
void als_solver_test(const als_solver_t *s, const als_testset_t *t, double *rmse, double *mae);

/* Collective: the iteration loop with --iters/--tol, progress lines on out
 * (rank 0, may be NULL), the history in s->hist. test may be NULL (and is
 * only significant on rank 0). */
int als_solver_run(als_solver_t *s, const als_testset_t *test, FILE *out, als_err_t *err);

/* Relative tolerance of the non-increasing-loss check. */
#define ALS_LOSS_RTOL 1e-12

/* Make room for n records in s->hist (grown geometrically, so --iters can be
 * huge without an allocation up front). The sizes are the same on every
 * rank; a failure names the history. Local. */
int als_solver_hist_reserve(als_solver_t *s, int n, als_err_t *err);

#endif
