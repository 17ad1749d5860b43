/* als_checkpoint.h - checkpoint/restart of a training run, and fault-test hooks.
 *
 * A checkpoint is one file, DIR/checkpoint.als, written by rank 0 every
 * --checkpoint-every N iterations. It holds everything needed to continue
 * bitwise as if the run had never stopped:
 *   - the parameters that shape the result (as text, compared one by one on
 *     resume) and their hash;
 *   - a hash of the dataset (global counts, rating range, the id maps, and
 *     every user's ratings and W row keyed by its global row), combined so
 *     that it does not depend on the number of ranks;
 *   - the completed iteration count, the initial loss, the loss history and
 *     the state of the non-increasing-loss check;
 *   - U and V (the replicated factors, m×k and n×k doubles, stored width k).
 * The whole file ends with a 64-bit checksum of everything before it.
 *
 * Writing is atomic: rank 0 writes DIR/.checkpoint.als.tmp.XXXXXX (created
 * exclusively, als_tmpfile_open; a checkpoint.als or checkpoint.prev.als that
 * is not a regular file with our magic is refused, never renamed away), fsyncs it,
 * renames the current checkpoint to DIR/checkpoint.prev.als, renames the
 * temporary to DIR/checkpoint.als and fsyncs DIR. A crash at any point leaves
 * at least one complete checkpoint; resume reads checkpoint.als and falls back
 * to checkpoint.prev.als (with a warning) when the former is missing or fails
 * its checksum.
 *
 * Fault-test hooks (environment variables, read on every rank; for tests):
 *   ALS_TEST_KILL_RANK=r ALS_TEST_KILL_ITER=i    rank r raises SIGKILL on itself
 *       after the U-step of iteration i (in the middle of the iteration);
 *   ALS_TEST_STALL_RANK=r ALS_TEST_STALL_ITER=i [ALS_TEST_STALL_PIDFILE=F]
 *       rank r writes its pid to F and sleeps (up to 120 s) at the same point,
 *       so that a test can kill it from outside;
 *   ALS_TEST_CRASH_IN_CHECKPOINT=N   the writer raises SIGKILL after writing
 *       part of the temporary file of its N-th checkpoint (1 = the first).
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
    int written;                     /* checkpoints written by this process (rank 0) */
    int resumed_from;                /* iteration restored by --resume (0 = fresh run) */
    FILE *log;                       /* progress messages on rank 0 (may be NULL) */
} als_ckpt_t;

/* Collective: fill c from the options (--checkpoint-every, --checkpoint-dir,
 * --resume) and compute the dataset and parameter hashes. Rank 0 creates the
 * checkpoint directory. log: where rank 0 reports checkpoints (may be NULL). */
int als_ckpt_init(MPI_Comm comm, const als_options_t *o, const als_data_t *d, FILE *log,
                  als_ckpt_t *c, als_err_t *err);

/* Collective: a hash of the dataset that is the same for any number of ranks
 * (per-row hashes of the users' ratings and W rows, mixed with the global
 * row index and summed mod 2^64 over ranks, plus the replicated id maps and
 * global counts). */
uint64_t als_ckpt_data_hash(MPI_Comm comm, const als_data_t *d);

/* Local: the 64-bit hash used for the parameters and the file checksum
 * (FNV-1a over little-endian 64-bit words, the last one zero-padded,
 * finished with the splitmix64 mixer). A checkpoint's last 8 bytes are
 * als_ckpt_hash of all the bytes before them. */
uint64_t als_ckpt_hash(const void *p, size_t bytes);

/* Local: the parameter text ("name\tvalue\n" per parameter that changes the
 * factors) for o, into buf (size cap). */
void als_ckpt_params_text(const als_options_t *o, char *buf, size_t cap);

/* Collective: rank 0 reads DIR/checkpoint.als (or the previous one), checks
 * its checksum, that its parameters and dataset hash match c's, and the
 * shapes; then U, V, the history and the loss-check state are broadcast into
 * s, and s->niters is the restored iteration count. Errors name the
 * checkpoint file and what differs. */
int als_ckpt_restore(als_solver_t *s, als_ckpt_t *c, const char *dir, als_err_t *err);

/* Local: read and verify one checkpoint file for factors of m×k and n×k:
 * checksum, then parameters and dataset hash against c, then shapes. On
 * success U and V (the caller's, m*k and n*k doubles) hold the factors,
 * *niters the iterations done and *hist a malloc'ed copy of their history.
 * The building block of als_ckpt_restore, for tests and fuzzing. */
int als_ckpt_read(const char *path, const als_ckpt_t *c, int64_t m, int64_t n, int k,
                  double *U, double *V, int *niters, als_iter_t **hist, als_err_t *err);

/* Collective: the first iteration to run after a resume (s->niters + 1), or
 * s->opt->iters + 1 when the restored history already meets --tol; *prev is
 * the loss the next iteration is compared with. */
int als_ckpt_resume_point(const als_solver_t *s, double *prev);

/* Collective: called by the solver after iteration it (s->niters == it):
 * writes a checkpoint when it is a multiple of c->every. Rank 0 writes, every
 * rank agrees on the result: a failed write (disk full, ...) is an ALS_ERR_IO
 * error on every rank, and the previous checkpoint stays intact. */
int als_ckpt_after_iter(als_solver_t *s, int it, als_err_t *err);

/* Local: write s's state as a checkpoint in dir now (rank 0's part of
 * als_ckpt_after_iter). */
int als_ckpt_write(const als_solver_t *s, als_ckpt_t *c, const char *dir, als_err_t *err);

/* Local: the test hooks for a point inside iteration it (see above). */
void als_ckpt_fault_point(int rank, int it);

#endif
