/* als_checkpoint.h - checkpoint/restart of a training run, and fault-test hooks.
 *
 * A checkpoint is one file, DIR/checkpoint.als, written collectively every
 * --checkpoint-every N iterations. It holds everything needed to continue
 * bitwise as if the run had never stopped:
 *   - the parameters that shape the result (as text, compared one by one on
 *     resume) and their hash;
 *   - a hash of the dataset (global counts, rating range, and per user its
 *     raw id, ratings and W row, per item its raw id, each keyed by its
 *     global row and summed mod 2^64, so that it does not depend on the
 *     number of ranks and needs no replicated id map);
 *   - the completed iteration count, the initial loss, the loss history and
 *     the state of the non-increasing-loss check;
 *   - U and V (m×k and n×k doubles, row-major, stored width k).
 * The file ends with a trailer of checksums (format version 2, see
 * src/als_checkpoint.c): one of header + parameters + history, and for each
 * of U and V a sum of per-row hashes keyed by the global row, so that ranks
 * that each read only their own rows verify the factors together, at any
 * number of ranks (resume at another P reads only each rank's rows).
 *
 * Who does what: rank 0 writes and reads the header, parameters, history
 * and trailer; every rank writes and reads its own rows of U and V with
 * MPI-IO (als_pario) at their offsets in the file.
 *
 * A checkpoint.als or checkpoint.prev.als that is not a regular file with our
 * magic is refused (never renamed away).
 *
 * Writing is atomic: rank 0 creates DIR/.checkpoint.als.tmp.PID.RANDOM
 * exclusively (O_EXCL | O_NOFOLLOW, an unpredictable name), every rank writes
 * its part, the file is synced and closed, then rank 0 renames the current
 * checkpoint to DIR/checkpoint.prev.als, renames the temporary to
 * DIR/checkpoint.als and fsyncs DIR. A crash at any point leaves at least one
 * complete checkpoint; resume reads checkpoint.als and falls back to
 * checkpoint.prev.als (with a warning) when the former is missing or fails
 * a checksum.
 *
 * Fault-test hooks (environment variables, read on every rank; for tests):
 *   ALS_TEST_KILL_RANK=r ALS_TEST_KILL_ITER=i    rank r raises SIGKILL on itself
 *       after the U-step of iteration i (in the middle of the iteration);
 *   ALS_TEST_STALL_RANK=r ALS_TEST_STALL_ITER=i [ALS_TEST_STALL_PIDFILE=F]
 *       rank r writes its pid to F and sleeps (up to 120 s) at the same point,
 *       so that a test can kill it from outside;
 *   ALS_TEST_CRASH_IN_CHECKPOINT=N   rank 0 raises SIGKILL after the header
 *       and U of the temporary file of the N-th checkpoint are written (1 =
 *       the first), before V and the trailer.
 */
#ifndef ALS_CHECKPOINT_H
#define ALS_CHECKPOINT_H

#include <stdint.h>
#include <stdio.h>
#include "als_dataset.h"
#include "als_error.h"
#include "als_options.h"
#include "als_solver.h"

#define ALS_CKPT_NAME "checkpoint.als"
#define ALS_CKPT_PREV "checkpoint.prev.als"
#define ALS_CKPT_PARAMS_MAX 4096

typedef struct als_ckpt {
    int every;                       /* write after iterations every, 2*every, ... (0 = never) */
    char dir[ALS_PATH_MAX];          /* where to write ("" = nowhere) */
    uint64_t data_hash;              /* als_ckpt_data_hash */
    uint64_t param_hash;             /* hash of params */
    char params[ALS_CKPT_PARAMS_MAX];/* "name\tvalue\n" lines of the result-shaping parameters */
    char isa[32];                    /* fast-kernel ISA in use (rounding depends on it) */
    int written;                     /* checkpoints written by this job (every rank) */
    int resumed_from;                /* iteration restored by --resume (0 = fresh run) */
    FILE *log;                       /* progress messages on rank 0 (may be NULL) */
} als_ckpt_t;

/* Collective: fill c from the options (--checkpoint-every, --checkpoint-dir,
 * --resume) and compute the dataset and parameter hashes. Rank 0 creates the
 * checkpoint directory. log: where rank 0 reports checkpoints (may be NULL). */
int als_ckpt_init(MPI_Comm comm, const als_options_t *o, const als_data_t *d, FILE *log,
                  als_ckpt_t *c, als_err_t *err);

/* Collective: a hash of the dataset that is the same for any number of ranks
 * (per-row hashes of the users' raw ids, ratings and W rows and of the items'
 * raw ids, mixed with the global row index and summed mod 2^64 over ranks,
 * plus the global counts and rating range). */
uint64_t als_ckpt_data_hash(MPI_Comm comm, const als_data_t *d);

/* What a checkpoint holds of a run, independent of the solver's storage.
 * The caller fills it from its solver; (collective) fields are the same on
 * every rank, (local) ones are this rank's. The row ranges [u0, u1) and
 * [i0, i1) of the ranks may be any split of the rows into contiguous
 * blocks, one per rank, covering all rows exactly once (the block plan). */
typedef struct {
    int64_t m, n;            /* (collective) rows of U and V */
    int k;                   /* (collective) stored row width */
    int64_t u0, u1, i0, i1;  /* (local) this rank's rows of U and of V */
    double *Uown, *Vown;     /* (local) those rows, row-major, width k */
    als_iter_t *hist;        /* (collective) history, niters records (a restore
                              * sets it to a malloc'ed copy the caller frees) */
    int niters;              /* (collective) iterations done */
    als_loss_t initial;      /* (collective) loss before the first iteration */
    double max_increase;     /* (collective) state of the non-increasing-loss check */
    int increases;
} als_ckpt_state_t;

/* Collective: write st as a checkpoint in dir now (atomically, see above).
 * Every rank writes its own rows. A failed write (disk full, ...) is an
 * agreed ALS_ERR_IO error on every rank naming the file, no temporary is
 * left, and the previous checkpoint stays intact. */
int als_ckpt_write_state(MPI_Comm comm, const als_ckpt_state_t *st, als_ckpt_t *c,
                         const char *dir, als_err_t *err);

/* Collective: after iteration it, write st when it is a multiple of
 * c->every (and report it on c->log); otherwise nothing. */
int als_ckpt_after_iter_state(MPI_Comm comm, const als_ckpt_state_t *st, als_ckpt_t *c, int it,
                              als_err_t *err);

/* Collective: restore from dir/checkpoint.als (or the previous one): rank 0
 * reads and checks the head (checksum, parameters and dataset hash against
 * c's, shapes against st->m, st->n, st->k), every rank reads its own rows
 * into st->Uown and st->Vown and the row checksums are verified together;
 * then st->niters, st->hist (on every rank: a malloc'ed copy of niters + 1
 * records, the caller's to free; its previous value is not used), initial,
 * max_increase and increases are set. A checkpoint with more than
 * max_iters iterations is an ALS_ERR_ARG error. Errors name the checkpoint
 * file and what differs, and are agreed. Ghost or replicated copies of
 * other ranks' rows are the caller's to refresh. */
int als_ckpt_restore_state(MPI_Comm comm, als_ckpt_state_t *st, int max_iters, als_ckpt_t *c,
                           const char *dir, als_err_t *err);

/* Local: the state of solver s: its own rows inside the views (Uown = the
 * U view's own slots, Vown likewise; the whole matrices with allgather),
 * hist = s->hist. */
void als_ckpt_state_from_solver(const als_solver_t *s, als_ckpt_state_t *st);

/* Local: the 64-bit hash used for the parameters and the file checksum
 * (FNV-1a over little-endian 64-bit words, the last one zero-padded,
 * finished with the splitmix64 mixer). A checkpoint's last 8 bytes are
 * als_ckpt_hash of all the bytes before them. */
uint64_t als_ckpt_hash(const void *p, size_t bytes);

/* Local: the parameter text ("name\tvalue\n" per parameter that changes the
 * factors) for o, into buf (size cap). */
void als_ckpt_params_text(const als_options_t *o, char *buf, size_t cap);

/* Collective: als_ckpt_restore_state into solver s (each rank its own
 * rows), then one exchange of each matrix refreshes the ghost rows (or,
 * replicated, every other block); s->niters is the restored iteration
 * count. */
int als_ckpt_restore(als_solver_t *s, als_ckpt_t *c, const char *dir, als_err_t *err);

/* Local: read and verify one checkpoint file for factors of m×k and n×k in
 * one process (no MPI): checksums of the head, then parameters and dataset
 * hash against c, then shapes, then the row checksums of U and V. On
 * success U and V (the caller's, m*k and n*k doubles) hold the factors,
 * *niters the iterations done and *hist a malloc'ed copy of their history.
 * The building block of als_ckpt_restore, for tests and fuzzing. */
int als_ckpt_read(const char *path, const als_ckpt_t *c, int64_t m, int64_t n, int k,
                  double *U, double *V, int *niters, als_iter_t **hist, als_err_t *err);

/* Local: recompute the trailer (checksums) of a whole checkpoint image of
 * bytes bytes in memory, when its header is plausible and says that size.
 * Returns 0, or -1 when nothing was done. For tests and fuzzing. */
int als_ckpt_seal(void *img, size_t bytes);

/* Collective: the first iteration to run after a resume (s->niters + 1), or
 * s->opt->iters + 1 when the restored history already meets --tol; *prev is
 * the loss the next iteration is compared with. */
int als_ckpt_resume_point(const als_solver_t *s, double *prev);

/* Collective: als_ckpt_after_iter_state with the state of s. */
int als_ckpt_after_iter(als_solver_t *s, int it, als_err_t *err);

/* Collective: als_ckpt_write_state with the state of s. */
int als_ckpt_write(const als_solver_t *s, als_ckpt_t *c, const char *dir, als_err_t *err);

/* Local: the test hooks for a point inside iteration it (see above). */
void als_ckpt_fault_point(int rank, int it);

#endif
