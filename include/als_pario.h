/* als_pario.h - collective (MPI-IO) reading and writing of the factor files.
 *
 * Every rank writes or reads only its own rows; no rank ever holds a whole
 * factor matrix. The files are the same bytes as the serial writers make:
 * als_pario_write_npy gives what als_npy_write gives for the whole matrix,
 * als_pario_write_ids what als_output_ids gives for all ids.
 *
 * Argument tags, as in HPL: (collective) = the same value on every rank of
 * comm; (local) = this rank's own value. Every function here is collective
 * over comm (every rank must call it), agrees on errors before returning
 * (als_err_agree: every rank gets the same code and message, which names the
 * file), and never leaves a rank waiting in a collective that another rank
 * skipped.
 *
 * Files are created by rank 0 alone, exclusively (O_CREAT | O_EXCL |
 * O_NOFOLLOW: an existing file or a planted symlink is an error, never
 * followed or overwritten), then opened by every rank with MPI_File_open,
 * written with MPI_File_write_at_all, MPI_File_sync'ed and closed. After
 * closing, rank 0 checks that the path still names the inode it created (a
 * rename or symlink swapped in between is an error). On error the file is
 * removed. MPI-IO transfers are split into pieces of at most
 * ALS_PARIO_CHUNK bytes (default 1 GiB, below the 2^31-byte limit of an
 * int count; the environment variable ALS_PARIO_CHUNK=BYTES lowers it, for
 * tests), with the same number of collective calls on every rank.
 *
 * Data are little-endian float64 (the .npy dtype '<f8'); this module assumes
 * a little-endian host (x86-64, aarch64) and says so with an error otherwise.
 */
#ifndef ALS_PARIO_H
#define ALS_PARIO_H

#include <stdint.h>
#include <mpi.h>
#include "als_error.h"

/* Default largest piece of one MPI-IO call, in bytes. */
#define ALS_PARIO_CHUNK ((int64_t)1 << 30)

/* Collective: write the nrows_total × k row-major float64 matrix whose rows
 * [row0, row0 + nrows_local) this rank holds in rows (local) as one .npy file
 * at path (collective), byte-identical to als_npy_write of the whole matrix.
 * The ranks' row ranges must be contiguous and ascending by rank (a block
 * plan: rank 0 starts at row 0, rank r+1 where rank r ends, the last ends at
 * nrows_total); a rank may own no rows (rows may then be NULL). k and
 * nrows_total are collective. Rank 0 writes the header. path must not exist
 * (it is created exclusively; write into a temporary directory of yours and
 * rename). Errors: ALS_ERR_ARG (inconsistent plan), ALS_ERR_IO (create, open,
 * write, sync, close; the file is removed), ALS_ERR_INTERNAL (big-endian). */
int als_pario_write_npy(MPI_Comm comm, const char *path, const double *rows, int64_t row0,
                        int64_t nrows_local, int64_t nrows_total, int k, als_err_t *err);

/* Collective: read rows [row0, row0 + nrows_local) (local; any range inside
 * the matrix, ranges may overlap or leave rows unread) of the .npy file path
 * (collective), which must be a 2-D C-order '<f8' matrix of shape
 * (expect_rows, expect_cols) (collective) with nothing after the data. Rank 0
 * reads and checks the header (als_npy_read_header) and broadcasts where the
 * data start; every rank then reads only its rows with MPI_File_read_at_all,
 * into dst with row stride width (local, width >= expect_cols; only the first
 * expect_cols entries of each row are written). Every value read must be
 * finite. Errors name the file: ALS_ERR_IO (open, read), ALS_ERR_FORMAT (bad
 * header, truncated, trailing bytes), ALS_ERR_DATA ("path: shape (r, c),
 * expected (R, C)", "path: element E is not finite (row R, column C)" with E
 * the row-major index in the file), ALS_ERR_ARG (bad range or width). */
int als_pario_read_npy_rows(MPI_Comm comm, const char *path, int64_t row0, int64_t nrows_local,
                            int64_t expect_rows, int expect_cols, int width, double *dst,
                            als_err_t *err);

/* Collective: write the id file path (collective): the ids of all ranks in
 * rank order, one decimal number per line, byte-identical to als_output_ids
 * of the concatenation. Each rank formats its n_local ids (local; ids may be
 * NULL when n_local is 0); the byte offsets come from MPI_Exscan of the
 * lengths. Created exclusively by rank 0 like als_pario_write_npy. */
int als_pario_write_ids(MPI_Comm comm, const char *path, const uint64_t *ids, int64_t n_local,
                        als_err_t *err);

/* ---- building blocks (used by the checkpoint writer and reader) ---------- */

/* A file open on every rank of comm. */
typedef struct {
    MPI_Comm comm;
    MPI_File fh;
    int rank;
    int fd0;          /* rank 0: the descriptor of the created file (identity check), else -1 */
    int created;      /* rank 0 created the file (remove it on failure) */
    const char *path; /* the caller's string, kept until als_pario_close */
} als_pario_file_t;

/* Collective: rank 0 creates path (collective) exclusively with permissions
 * mode & ~umask and, when size > 0 (collective), reserves size bytes with
 * fallocate (so that a full disk is reported at once as "cannot allocate N
 * bytes: No space left on device"); then every rank opens it for writing. */
int als_pario_create(MPI_Comm comm, const char *path, int mode, int64_t size,
                     als_pario_file_t *f, als_err_t *err);

/* Collective: every rank opens the existing file path for reading. */
int als_pario_open_read(MPI_Comm comm, const char *path, als_pario_file_t *f, als_err_t *err);

/* Collective: every rank writes its bytes (local: offset, buf, bytes; bytes
 * may be 0) with MPI_File_write_at_all, in pieces of at most the chunk size
 * (the same number of calls on every rank). */
int als_pario_write_at(als_pario_file_t *f, int64_t offset, const void *buf, int64_t bytes,
                       als_err_t *err);

/* Collective: every rank reads its bytes (local) with MPI_File_read_at_all;
 * a short read (end of file) is an ALS_ERR_FORMAT error "truncated". */
int als_pario_read_at(als_pario_file_t *f, int64_t offset, void *buf, int64_t bytes,
                      als_err_t *err);

/* Collective: sync (when sync is non-zero and no error is pending) and close
 * the file on every rank; for a created file, rank 0 checks that path is
 * still the file it created, and removes it when err holds an error (on
 * any rank: the error is agreed first) or the close fails. Always closes;
 * returns the agreed code. */
int als_pario_close(als_pario_file_t *f, int sync, als_err_t *err);

/* Local: the largest piece of one MPI-IO call, in bytes (ALS_PARIO_CHUNK or
 * the environment variable ALS_PARIO_CHUNK, at least 8). */
int64_t als_pario_chunk(void);

#endif
