/* als_npy.h - NumPy .npy files of float64 matrices (local).
 *
 * Writes format version 1.0, dtype '<f8', C order, shape (rows, cols), header
 * padded so that the data start on a 64-byte boundary (as NumPy does). Reads
 * versions 1.0, 2.0 and 3.0 with dtype '<f8' (or '=f8'/'float64' spelled as
 * NumPy writes it on little-endian machines), fortran_order False, 2-D shape;
 * anything else is an ALS_ERR_FORMAT error naming the file and what differs
 * (e.g. "U.npy: dtype '<f4', expected '<f8'").
 */
#ifndef ALS_NPY_H
#define ALS_NPY_H

#include <stddef.h>
#include <stdint.h>
#include "als_error.h"

/* Write a rows×cols row-major matrix to path (exactly that name: callers who
 * need atomicity write to a temporary name and rename). Checks every write and
 * fflush/fsync/fclose, so a full disk is an ALS_ERR_IO error; on error the
 * partial file is removed. Local. */
int als_npy_write(const char *path, const double *a, int64_t rows, int64_t cols,
                  als_err_t *err);

/* Capacity a buffer for als_npy_header needs. */
#define ALS_NPY_HEADER_MAX 256

/* Local: the version 1.0 header (magic, version, length, padded dict) that
 * als_npy_write puts before a rows×cols matrix, into h (capacity
 * ALS_NPY_HEADER_MAX). Returns its length, a multiple of 64; the data follow
 * at that offset. For writers that place the data themselves (als_pario). */
size_t als_npy_header(char *h, int64_t rows, int64_t cols);

/* Local: read and check the header of a 2-D float64 .npy file open on fd,
 * positioned at offset 0 (versions, dtype, fortran_order, shape as for
 * als_npy_read; for a regular file also that the data are all present).
 * On success *rows, *cols hold the shape and *offset where the data start;
 * the position of fd is then somewhere inside the header. Errors
 * (ALS_ERR_FORMAT, ALS_ERR_IO, ALS_ERR_NOMEM) name path. */
int als_npy_read_header(int fd, const char *path, int64_t *rows, int64_t *cols,
                        int64_t *offset, als_err_t *err);

/* Read a 2-D float64 matrix; *a is malloc'ed (caller frees), shape returned.
 * Truncated data, bad magic or header: ALS_ERR_FORMAT. Local. */
int als_npy_read(const char *path, double **a, int64_t *rows, int64_t *cols,
                 als_err_t *err);

/* Local: true on a little-endian host (.npy data here are '<f8'). */
int als_npy_host_little_endian(void);

#endif
