/* als_error.h - status codes, error records and collective error agreement.
 *
 * Every library function that can fail returns an als_status_t and, where it
 * has an als_err_t argument, fills it with a message that names the file and
 * line (or the parameter) at fault. Callers on several ranks agree on errors
 * with als_err_agree() before leaving, so that every rank exits non-zero and
 * no rank waits in a collective that the others have left.
 */
#ifndef ALS_ERROR_H
#define ALS_ERROR_H

#include <stddef.h>
#include <mpi.h>

typedef enum {
    ALS_OK = 0,
    ALS_ERR_ARG,      /* bad option or parameter value */
    ALS_ERR_IO,       /* a file cannot be opened, read, written or renamed */
    ALS_ERR_PARSE,    /* malformed text input */
    ALS_ERR_DATA,     /* well-formed input with invalid content */
    ALS_ERR_FORMAT,   /* bad binary / .npy format, checksum mismatch */
    ALS_ERR_NOMEM,    /* allocation failed */
    ALS_ERR_NUMERIC,  /* a factorization failed (matrix not positive definite) */
    ALS_ERR_MPI,      /* an MPI call failed */
    ALS_ERR_INTERNAL  /* a bug: an invariant does not hold */
} als_status_t;

#define ALS_ERR_MSG_LEN 1024

/* One error record: the status and a human-readable message. */
typedef struct {
    int code;
    char msg[ALS_ERR_MSG_LEN];
} als_err_t;

/* A short description of a status code (never NULL). */
const char *als_strerror(int code);

/* Clear an error record (code ALS_OK, empty message). Local. */
void als_err_clear(als_err_t *err);

/* Set err's code and printf-style message, unless err already holds an error
 * (the first error wins). Returns code, so `return als_err_set(err, ...)` works.
 * err may be NULL. Local. */
int als_err_set(als_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Collective over comm: combine the error records of all ranks. On return
 * every rank holds the same record: ALS_OK if no rank failed, otherwise the
 * code and message of the lowest failing rank, prefixed with "rank R: " when
 * comm has more than one rank. Returns the agreed code. */
int als_err_agree(MPI_Comm comm, als_err_t *err);

/* Abort the whole job after printing rank, file, line and message to stderr.
 * Only for broken invariants; ordinary errors go through als_err_agree. */
#define ALS_ABORT(...) als_abort_at(__FILE__, __LINE__, __VA_ARGS__)
void als_abort_at(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* MPI_Init_thread asking for MPI_THREAD_FUNNELED (OpenMP regions; only the
 * main thread calls MPI, including MPI_Abort) and checking the level given.
 * On a lower level prints "PROG: error: the MPI library provides thread
 * level L, FUNNELED is needed" on rank 0 and returns non-zero after
 * MPI_Finalize. *provided receives the level (may be NULL). Collective. */
int als_mpi_init(int *argc, char ***argv, const char *prog, int *provided);
/* "single", "funneled", "serialized", "multiple". */
const char *als_mpi_thread_name(int level);

#endif
