/* als_pario.c - collective (MPI-IO) reading and writing of the factor files.
 *
 * See als_pario.h. The pattern of every collective here: local checks and
 * work, one agreement (als_err_agree), then the next collective step; a rank
 * that failed locally still takes part in every collective call of the step
 * (with zero bytes), so that no rank waits for one that left.
 */
#include "als_pario.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "als_npy.h"

/* Largest staging buffer of a read into wider rows, in bytes. */
#define ALS_PARIO_STAGE ((int64_t)64 << 20)

int64_t als_pario_chunk(void)
{
    const char *s = getenv("ALS_PARIO_CHUNK");
    int64_t c = ALS_PARIO_CHUNK;
    if (s && *s) {
        long long v = strtoll(s, NULL, 10);
        if (v > 0 && v < c)
            c = v;
    }
    return c < 8 ? 8 : c;
}

/* A message for an MPI error code: the errno text for the I/O classes that
 * have one (so that "No space left on device" reads as from write(2)), then
 * MPI's own string. */
static void mpi_msg(int rc, char *buf, size_t cap)
{
    int cls = 0, len = 0;
    char s[MPI_MAX_ERROR_STRING];
    MPI_Error_class(rc, &cls);
    if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS)
        snprintf(s, sizeof s, "MPI error %d", rc);
    int e = cls == MPI_ERR_NO_SPACE       ? ENOSPC
            : cls == MPI_ERR_QUOTA        ? EDQUOT
            : cls == MPI_ERR_ACCESS       ? EACCES
            : cls == MPI_ERR_NO_SUCH_FILE ? ENOENT
            : cls == MPI_ERR_FILE_EXISTS  ? EEXIST
            : cls == MPI_ERR_READ_ONLY    ? EROFS
                                          : 0;
    if (e)
        snprintf(buf, cap, "%s (%s)", strerror(e), s);
    else
        snprintf(buf, cap, "%s", s);
}

static int mpi_fail(als_err_t *err, const char *path, const char *what, int rc)
{
    char m[MPI_MAX_ERROR_STRING + 64];
    mpi_msg(rc, m, sizeof m);
    return als_err_set(err, ALS_ERR_IO, "%s: %s: %s", path, what, m);
}

/* ---- building blocks ----------------------------------------------------- */

static void file_init(MPI_Comm comm, const char *path, als_pario_file_t *f)
{
    memset(f, 0, sizeof *f);
    f->comm = comm;
    f->fh = MPI_FILE_NULL;
    f->fd0 = -1;
    f->path = path;
    MPI_Comm_rank(comm, &f->rank);
}

/* Collective: agree on the errors so far, then every rank opens path with
 * amode; on a failure on any rank the ranks that did open close again.
 * Returns the agreed code. */
static int open_all(als_pario_file_t *f, int amode, als_err_t *err)
{
    if (als_err_agree(f->comm, err) == ALS_OK) {
        int rc = MPI_File_open(f->comm, f->path, amode, MPI_INFO_NULL, &f->fh);
        if (rc != MPI_SUCCESS) {
            f->fh = MPI_FILE_NULL;
            mpi_fail(err, f->path, "MPI_File_open", rc);
        }
        if (als_err_agree(f->comm, err) != ALS_OK && f->fh != MPI_FILE_NULL)
            MPI_File_close(&f->fh);
    }
    return err->code;
}

int als_pario_create(MPI_Comm comm, const char *path, int mode, int64_t size,
                     als_pario_file_t *f, als_err_t *err)
{
    file_init(comm, path, f);
    if (!als_npy_host_little_endian())
        als_err_set(err, ALS_ERR_INTERNAL, "%s: collective I/O needs a little-endian host", path);
    if (f->rank == 0 && err->code == ALS_OK) {
        f->fd0 = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
        if (f->fd0 < 0)
            als_err_set(err, ALS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        else
            f->created = 1;
        /* Reserve the blocks now: a full disk is a clear error before any
         * rank writes (file systems without fallocate just skip this). */
        if (f->created && size > 0 && fallocate(f->fd0, 0, 0, (off_t)size) != 0 &&
            errno != EOPNOTSUPP && errno != ENOSYS)
            als_err_set(err, ALS_ERR_IO, "%s: cannot allocate %" PRId64 " bytes: %s", path, size,
                        strerror(errno));
    }
    if (open_all(f, MPI_MODE_WRONLY, err) != ALS_OK && f->rank == 0 && f->created) {
        unlink(path);
        close(f->fd0);
        f->fd0 = -1;
        f->created = 0;
    }
    return err->code;
}

int als_pario_open_read(MPI_Comm comm, const char *path, als_pario_file_t *f, als_err_t *err)
{
    file_init(comm, path, f);
    if (!als_npy_host_little_endian())
        als_err_set(err, ALS_ERR_INTERNAL, "%s: collective I/O needs a little-endian host", path);
    return open_all(f, MPI_MODE_RDONLY, err);
}

/* Collective, no agreement: transfer bytes at offset in pieces; the number
 * of collective calls is the maximum over the ranks. A rank with a pending
 * error takes part with zero bytes. */
static void rw_pieces(als_pario_file_t *f, int write, int64_t offset, void *buf, int64_t bytes,
                      als_err_t *err)
{
    const int64_t chunk = als_pario_chunk();
    int64_t mine = bytes > 0 ? (bytes + chunk - 1) / chunk : 0, pieces = 0;
    MPI_Allreduce(&mine, &pieces, 1, MPI_INT64_T, MPI_MAX, f->comm);
    char *p = buf;
    int64_t done = 0;
    for (int64_t i = 0; i < pieces; i++) {
        int64_t n = bytes - done < chunk ? bytes - done : chunk;
        if (n < 0 || err->code != ALS_OK)
            n = 0;
        MPI_Status st;
        int rc = write ? MPI_File_write_at_all(f->fh, (MPI_Offset)(offset + done),
                                               n ? p + done : NULL, (int)n, MPI_BYTE, &st)
                       : MPI_File_read_at_all(f->fh, (MPI_Offset)(offset + done),
                                              n ? p + done : NULL, (int)n, MPI_BYTE, &st);
        if (rc != MPI_SUCCESS) {
            mpi_fail(err, f->path, write ? "write failed" : "read failed", rc);
            continue;
        }
        int got = 0;
        MPI_Get_count(&st, MPI_BYTE, &got);
        if (n > 0 && got != (int)n) {
            if (write)
                als_err_set(err, ALS_ERR_IO, "%s: short write (%d of %" PRId64 " bytes at "
                            "offset %" PRId64 ")", f->path, got, n, offset + done);
            else
                als_err_set(err, ALS_ERR_FORMAT, "%s: truncated (%d of %" PRId64 " bytes at "
                            "offset %" PRId64 ")", f->path, got, n, offset + done);
        }
        done += n;
    }
}

int als_pario_write_at(als_pario_file_t *f, int64_t offset, const void *buf, int64_t bytes,
                       als_err_t *err)
{
    rw_pieces(f, 1, offset, (void *)buf, bytes, err);
    return als_err_agree(f->comm, err);
}

int als_pario_read_at(als_pario_file_t *f, int64_t offset, void *buf, int64_t bytes,
                      als_err_t *err)
{
    rw_pieces(f, 0, offset, buf, bytes, err);
    return als_err_agree(f->comm, err);
}

int als_pario_close(als_pario_file_t *f, int sync, als_err_t *err)
{
    int failed_before = err->code != ALS_OK; /* already agreed by the caller */
    if (!failed_before && sync && f->fh != MPI_FILE_NULL) {
        int rc = MPI_File_sync(f->fh);
        if (rc != MPI_SUCCESS)
            mpi_fail(err, f->path, "cannot sync", rc);
    }
    if (f->fh != MPI_FILE_NULL) {
        int rc = MPI_File_close(&f->fh);
        if (rc != MPI_SUCCESS && !failed_before)
            mpi_fail(err, f->path, "cannot close", rc);
        f->fh = MPI_FILE_NULL;
    }
    if (f->rank == 0 && f->fd0 >= 0 && !failed_before && err->code == ALS_OK) {
        /* The path must still name the file rank 0 created. */
        struct stat a, b;
        if (fstat(f->fd0, &a) != 0 || lstat(f->path, &b) != 0 || a.st_dev != b.st_dev ||
            a.st_ino != b.st_ino)
            als_err_set(err, ALS_ERR_IO, "%s: the file was replaced while it was written",
                        f->path);
    }
    if (!failed_before)
        als_err_agree(f->comm, err);
    if (f->rank == 0 && f->fd0 >= 0) {
        if (err->code != ALS_OK && f->created) {
            struct stat a, b;
            /* Remove it only if it is still ours. */
            if (fstat(f->fd0, &a) == 0 && lstat(f->path, &b) == 0 && a.st_dev == b.st_dev &&
                a.st_ino == b.st_ino)
                unlink(f->path);
        }
        close(f->fd0);
        f->fd0 = -1;
    }
    return err->code;
}

/* ---- .npy ---------------------------------------------------------------- */

int als_pario_write_npy(MPI_Comm comm, const char *path, const double *rows, int64_t row0,
                        int64_t nrows_local, int64_t nrows_total, int k, als_err_t *err)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    /* The plan: contiguous ascending blocks covering [0, nrows_total). */
    int64_t mine[4] = {row0, nrows_local, nrows_total, k};
    int64_t *all = malloc((size_t)size * sizeof mine);
    if (!all)
        als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory", path);
    else {
        MPI_Allgather(mine, 4, MPI_INT64_T, all, 4, MPI_INT64_T, comm);
        int64_t next = 0, cnt, bytes;
        for (int r = 0; r < size && err->code == ALS_OK; r++) {
            const int64_t *x = all + 4 * r;
            if (x[2] != all[2] || x[3] != all[3])
                als_err_set(err, ALS_ERR_ARG, "%s: ranks 0 and %d disagree on the shape "
                            "(%" PRId64 " x %" PRId64 " and %" PRId64 " x %" PRId64 ")",
                            path, r, all[2], all[3], x[2], x[3]);
            else if (x[0] != next || x[1] < 0)
                als_err_set(err, ALS_ERR_ARG, "%s: rank %d holds rows [%" PRId64 ", %" PRId64
                            "), expected a block starting at row %" PRId64, path, r, x[0],
                            x[0] + x[1], next);
            next = x[0] + x[1];
        }
        if (err->code == ALS_OK && (next != nrows_total || k < 0 ||
                                    __builtin_mul_overflow(nrows_total, (int64_t)k, &cnt) ||
                                    __builtin_mul_overflow(cnt, (int64_t)8, &bytes)))
            als_err_set(err, ALS_ERR_ARG, "%s: the ranks' rows end at %" PRId64 ", expected a "
                        "%" PRId64 " x %d matrix", path, next, nrows_total, k);
        if (err->code == ALS_OK && nrows_local > 0 && k > 0 && !rows)
            als_err_set(err, ALS_ERR_ARG, "%s: NULL rows on rank %d", path, rank);
        free(all);
    }
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;

    char h[ALS_NPY_HEADER_MAX];
    int64_t hl = (int64_t)als_npy_header(h, nrows_total, k);
    als_pario_file_t f;
    if (als_pario_create(comm, path, 0666, hl + nrows_total * k * 8, &f, err) != ALS_OK)
        return err->code;
    rw_pieces(&f, 1, 0, h, rank == 0 ? hl : 0, err);
    rw_pieces(&f, 1, hl + row0 * k * 8, (void *)rows, nrows_local * k * 8, err);
    als_err_agree(comm, err);
    return als_pario_close(&f, 1, err);
}

int als_pario_read_npy_rows(MPI_Comm comm, const char *path, int64_t row0, int64_t nrows_local,
                            int64_t expect_rows, int expect_cols, int width, double *dst,
                            als_err_t *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (row0 < 0 || nrows_local < 0 || row0 > expect_rows - nrows_local || expect_cols < 0 ||
        width < expect_cols || (nrows_local > 0 && expect_cols > 0 && !dst))
        als_err_set(err, ALS_ERR_ARG, "%s: cannot read rows [%" PRId64 ", %" PRId64 ") of "
                    "width %d into rows of width %d of a %" PRId64 " x %d matrix", path, row0,
                    row0 + nrows_local, expect_cols, width, expect_rows, expect_cols);
    /* Rank 0: header, shape, size. */
    int64_t offset = 0;
    if (rank == 0 && err->code == ALS_OK) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            als_err_set(err, ALS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        else {
            int64_t r = 0, c = 0;
            struct stat st;
            if (als_npy_read_header(fd, path, &r, &c, &offset, err) == ALS_OK) {
                if (r != expect_rows || c != expect_cols)
                    als_err_set(err, ALS_ERR_DATA, "%s: shape (%" PRId64 ", %" PRId64 "), "
                                "expected (%" PRId64 ", %d)", path, r, c, expect_rows,
                                expect_cols);
                else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
                    als_err_set(err, ALS_ERR_IO, "%s: not a regular file", path);
                else if ((int64_t)st.st_size != offset + r * c * 8)
                    als_err_set(err, ALS_ERR_FORMAT, "%s: trailing bytes after the %" PRId64
                                "-byte data of shape (%" PRId64 ", %" PRId64 ")", path,
                                r * c * 8, r, c);
            }
            close(fd);
        }
    }
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    MPI_Bcast(&offset, 1, MPI_INT64_T, 0, comm);

    als_pario_file_t f;
    if (als_pario_open_read(comm, path, &f, err) != ALS_OK)
        return err->code;
    /* Rows in pieces: straight into dst when its rows are as wide as the
     * file's, else through a staging buffer of at most ALS_PARIO_STAGE bytes. */
    const int64_t rowb = (int64_t)expect_cols * 8;
    const int direct = width == expect_cols;
    int64_t lim = als_pario_chunk() < ALS_PARIO_STAGE ? als_pario_chunk() : ALS_PARIO_STAGE;
    int64_t per = rowb > 0 ? (direct ? als_pario_chunk() : lim) / rowb : nrows_local;
    if (per < 1)
        per = 1;
    if (per > nrows_local)
        per = nrows_local > 0 ? nrows_local : 1;
    double *stage = direct ? NULL : malloc((size_t)(per * rowb) + 8);
    if (!direct && !stage)
        als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory for %" PRId64 " rows", path, per);
    int64_t mine = rowb > 0 ? (nrows_local + per - 1) / per : 0, rounds = 0;
    MPI_Allreduce(&mine, &rounds, 1, MPI_INT64_T, MPI_MAX, comm);
    for (int64_t i = 0; i < rounds; i++) {
        int64_t t0 = i * per, nr = nrows_local - t0 < per ? nrows_local - t0 : per;
        if (nr < 0 || err->code != ALS_OK)
            nr = 0;
        double *buf = direct ? dst + t0 * (int64_t)width : stage;
        rw_pieces(&f, 0, offset + (row0 + t0) * rowb, buf, nr * rowb, err);
        for (int64_t t = 0; t < nr && err->code == ALS_OK; t++)
            for (int c = 0; c < expect_cols; c++) {
                double x = buf[t * expect_cols + c];
                if (!isfinite(x)) {
                    als_err_set(err, ALS_ERR_DATA, "%s: element %" PRId64 " is not finite "
                                "(row %" PRId64 ", column %d)", path,
                                (row0 + t0 + t) * expect_cols + c, row0 + t0 + t, c);
                    break;
                }
                dst[(t0 + t) * (int64_t)width + c] = x;
            }
    }
    free(stage);
    als_err_agree(comm, err);
    return als_pario_close(&f, 0, err);
}

/* ---- id files ------------------------------------------------------------ */

int als_pario_write_ids(MPI_Comm comm, const char *path, const uint64_t *ids, int64_t n_local,
                        als_err_t *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    char *text = NULL;
    int64_t len = 0;
    if (n_local < 0 || (n_local > 0 && !ids))
        als_err_set(err, ALS_ERR_ARG, "%s: bad id slice (%" PRId64 " ids)", path, n_local);
    else if (!(text = malloc((size_t)n_local * 21 + 1)))
        als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory for %" PRId64 " ids", path, n_local);
    else
        for (int64_t t = 0; t < n_local; t++)
            len += sprintf(text + len, "%" PRIu64 "\n", ids[t]);
    int64_t off = 0, total = 0;
    MPI_Exscan(&len, &off, 1, MPI_INT64_T, MPI_SUM, comm);
    if (rank == 0)
        off = 0; /* MPI_Exscan leaves rank 0's result undefined */
    MPI_Allreduce(&len, &total, 1, MPI_INT64_T, MPI_SUM, comm);
    als_pario_file_t f;
    if (als_err_agree(comm, err) == ALS_OK &&
        als_pario_create(comm, path, 0666, total, &f, err) == ALS_OK) {
        rw_pieces(&f, 1, off, text, len, err);
        als_err_agree(comm, err);
        als_pario_close(&f, 1, err);
    }
    free(text);
    return err->code;
}
