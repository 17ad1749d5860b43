/* als_cli.c - option parsing helpers of the tools. */
#include "als_cli.h"
#include "als_output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int als_cli_int64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *v,
                  als_err_t *err)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        return als_err_set(err, ALS_ERR_ARG, "%s: '%s' is not an integer", opt, s);
    if (x < lo || x > hi)
        return als_err_set(err, ALS_ERR_ARG, "%s: %lld is out of range [%lld, %lld]", opt, x,
                           (long long)lo, (long long)hi);
    *v = x;
    return ALS_OK;
}

int als_cli_u64(const char *opt, const char *s, uint64_t *v, als_err_t *err)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || s[0] == '-')
        return als_err_set(err, ALS_ERR_ARG, "%s: '%s' is not an unsigned 64-bit integer", opt, s);
    *v = x;
    return ALS_OK;
}

int als_cli_double(const char *opt, const char *s, double lo, double hi, double *v,
                   als_err_t *err)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(x))
        return als_err_set(err, ALS_ERR_ARG, "%s: '%s' is not a finite number", opt, s);
    if (x < lo || x > hi)
        return als_err_set(err, ALS_ERR_ARG, "%s: %s is out of range [%g, %g]", opt, s, lo, hi);
    *v = x;
    return ALS_OK;
}

int als_cli_fail(const char *prog, const als_err_t *err)
{
    fprintf(stderr, "%s: error: %s\n", prog, err->msg);
    return err->code == ALS_ERR_ARG ? 2 : 1;
}

void als_cli_fmt_double(char *buf, size_t cap, double x)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

int als_cli_out_open(als_cli_out_t *t, const char *path, als_err_t *err)
{
    t->path = path;
    t->f = als_tmpfile_fopen(path, t->tmp, sizeof t->tmp); /* exclusive, never a symlink */
    if (!t->f)
        return als_err_set(err, ALS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    setvbuf(t->f, NULL, _IOFBF, 1 << 22);
    return ALS_OK;
}

int als_cli_out_close(als_cli_out_t *t, int keep, als_err_t *err)
{
    if (!t->f)
        return ALS_OK;
    int bad = ferror(t->f) || fflush(t->f) != 0 || fsync(fileno(t->f)) != 0;
    int e = errno;
    bad |= fclose(t->f) != 0;
    t->f = NULL;
    if (keep && bad)
        als_err_set(err, ALS_ERR_IO, "%s: write failed: %s", t->path, strerror(e));
    else if (keep && rename(t->tmp, t->path) != 0)
        als_err_set(err, ALS_ERR_IO, "%s: cannot rename into place: %s", t->path,
                    strerror(errno));
    else if (keep)
        return ALS_OK;
    unlink(t->tmp);
    return keep ? err->code : ALS_OK;
}

int als_cli_read_ids(const char *path, uint64_t **ids, int64_t *n, als_err_t *err)
{
    *ids = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return als_err_set(err, ALS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int64_t cap = 1024, k = 0, line = 0;
    uint64_t *a = malloc((size_t)cap * sizeof *a);
    char buf[256];
    int rc = a ? ALS_OK : als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory", path);
    while (rc == ALS_OK && fgets(buf, sizeof buf, f)) {
        line++;
        char *end;
        errno = 0;
        unsigned long long x = strtoull(buf, &end, 10);
        while (*end == '\r' || *end == '\n' || *end == ' ')
            end++;
        if (end == buf || *end != '\0' || errno == ERANGE || buf[0] == '-') {
            rc = als_err_set(err, ALS_ERR_PARSE, "%s:%" PRId64 ": not an id", path, line);
            break;
        }
        if (k == cap) {
            uint64_t *b = realloc(a, 2 * (size_t)cap * sizeof *a);
            if (!b) {
                rc = als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            a = b;
            cap *= 2;
        }
        a[k++] = x;
    }
    if (rc == ALS_OK && ferror(f))
        rc = als_err_set(err, ALS_ERR_IO, "%s: read error", path);
    fclose(f);
    if (rc != ALS_OK) {
        free(a);
        return rc;
    }
    *ids = a;
    *n = k;
    return ALS_OK;
}

double als_cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_scored(const void *a, const void *b, void *ids_)
{
    const als_scored_t *x = a, *y = b;
    const uint64_t *ids = ids_;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return ids[x->row] < ids[y->row] ? -1 : (ids[x->row] > ids[y->row]);
}

void als_cli_sort_scored(als_scored_t *a, int64_t n, const uint64_t *ids)
{
    qsort_r(a, (size_t)n, sizeof *a, cmp_scored, (void *)ids);
}

/* Worse of two candidates: lower score, or equal score and larger raw id. */
static inline int worse(const als_scored_t *a, const als_scored_t *b, const uint64_t *ids)
{
    return a->s < b->s || (a->s == b->s && ids[a->row] > ids[b->row]);
}

/* Keep the best `top` of the candidates in a min-heap (root = worst kept). */
void als_cli_top_push(als_scored_t *h, int64_t *len, int64_t top, als_scored_t c,
                      const uint64_t *ids)
{
    int64_t i;
    if (*len < top) {
        i = (*len)++;
        while (i > 0) { /* sift up */
            int64_t p = (i - 1) / 2;
            if (!worse(&c, &h[p], ids))
                break;
            h[i] = h[p];
            i = p;
        }
        h[i] = c;
        return;
    }
    if (!worse(&h[0], &c, ids))
        return;
    i = 0; /* replace the root, sift down */
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, w = i;
        const als_scored_t *wv = &c;
        if (l < *len && worse(&h[l], wv, ids)) {
            w = l;
            wv = &h[l];
        }
        if (r < *len && worse(&h[r], wv, ids))
            w = r;
        if (w == i)
            break;
        h[i] = h[w];
        i = w;
    }
    h[i] = c;
}

/* Write the ranks' buffers, in rank order, to path (collective MPI-IO into an
 * exclusive temporary beside it, renamed by rank 0) or to stdout (gathered
 * on rank 0). Collective. */
int als_cli_write_ordered(MPI_Comm comm, const char *path, const char *buf, size_t len,
                          als_err_t *err)
{
    int rank, p;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &p);
    long long mine = (long long)len, off = 0, total = 0;
    MPI_Exscan(&mine, &off, 1, MPI_LONG_LONG, MPI_SUM, comm);
    if (rank == 0)
        off = 0;
    MPI_Allreduce(&mine, &total, 1, MPI_LONG_LONG, MPI_SUM, comm);
    if (!path) {
        if (total > INT_MAX)
            als_err_set(err, ALS_ERR_ARG, "the output (%lld bytes) is too large for stdout "
                        "under mpirun: use --out FILE", total);
        if (als_err_agree(comm, err) != ALS_OK)
            return err->code;
        int n = (int)mine, *cnt = NULL, *dsp = NULL;
        char *all = NULL;
        if (rank == 0) {
            cnt = malloc((size_t)p * sizeof *cnt);
            dsp = malloc((size_t)p * sizeof *dsp);
            all = malloc((size_t)total + 1);
        }
        int ok = rank != 0 || (cnt && dsp && all);
        MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
        if (!ok) {
            free(cnt); free(dsp); free(all);
            return als_err_set(err, ALS_ERR_NOMEM, "out of memory gathering the output");
        }
        MPI_Gather(&n, 1, MPI_INT, cnt, 1, MPI_INT, 0, comm);
        if (rank == 0)
            for (int r = 0, d = 0; r < p; r++) {
                dsp[r] = d;
                d += cnt[r];
            }
        MPI_Gatherv(buf, n, MPI_CHAR, all, cnt, dsp, MPI_CHAR, 0, comm);
        if (rank == 0 && fwrite(all, 1, (size_t)total, stdout) != (size_t)total)
            als_err_set(err, ALS_ERR_IO, "stdout: write failed");
        if (rank == 0 && fflush(stdout) != 0)
            als_err_set(err, ALS_ERR_IO, "stdout: write failed");
        free(cnt); free(dsp); free(all);
        return als_err_agree(comm, err);
    }
    char tmp[4400] = {0};
    if (rank == 0) {
        int fd = als_tmpfile_open(path, tmp, sizeof tmp);
        if (fd < 0)
            als_err_set(err, ALS_ERR_IO, "%s: cannot create a temporary: %s", path,
                        strerror(errno));
        else
            close(fd);
    }
    MPI_Bcast(tmp, (int)sizeof tmp, MPI_CHAR, 0, comm);
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    MPI_File fh;
    int mrc = MPI_File_open(comm, tmp, MPI_MODE_WRONLY, MPI_INFO_NULL, &fh);
    if (mrc != MPI_SUCCESS)
        als_err_set(err, ALS_ERR_IO, "%s: cannot open with MPI-IO", tmp);
    if (als_err_agree(comm, err) != ALS_OK) {
        if (rank == 0)
            unlink(tmp);
        return err->code;
    }
    /* Pieces of at most 1 GiB: MPI counts are int. */
    long long done = 0, piece = 1LL << 30;
    long long nmax = 0;
    long long rounds_mine = (mine + piece - 1) / piece;
    MPI_Allreduce(&rounds_mine, &nmax, 1, MPI_LONG_LONG, MPI_MAX, comm);
    for (long long r = 0; r < nmax; r++) {
        long long n = mine - done < piece ? mine - done : piece;
        if (n < 0)
            n = 0;
        MPI_Status st;
        if (MPI_File_write_at_all(fh, (MPI_Offset)(off + done), buf ? buf + done : buf,
                                  (int)n, MPI_CHAR, &st) != MPI_SUCCESS)
            als_err_set(err, ALS_ERR_IO, "%s: write failed", path);
        done += n;
    }
    if (MPI_File_sync(fh) != MPI_SUCCESS)
        als_err_set(err, ALS_ERR_IO, "%s: sync failed", path);
    MPI_File_close(&fh);
    if (als_err_agree(comm, err) == ALS_OK && rank == 0 && rename(tmp, path) != 0)
        als_err_set(err, ALS_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
    if (err->code != ALS_OK && rank == 0)
        unlink(tmp);
    return als_err_agree(comm, err);
}

