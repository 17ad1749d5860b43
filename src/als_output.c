/* als_output.c - atomic output files. */
#include "als_output.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int als_output_prepare(const char *dir, const char *opt_name, als_err_t *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return als_err_set(err, ALS_ERR_ARG, "%s: path too long", opt_name);
    /* mkdir -p */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return als_err_set(err, ALS_ERR_IO, "%s %s: cannot create directory %s: %s",
                               opt_name, dir, path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return als_err_set(err, ALS_ERR_IO, "%s %s: cannot create directory: %s", opt_name, dir,
                           strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return als_err_set(err, ALS_ERR_IO, "%s %s: not a directory", opt_name, dir);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.als-probe.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return als_err_set(err, ALS_ERR_IO, "%s %s: cannot write there: %s", opt_name, dir,
                           strerror(errno));
    close(fd);
    unlink(probe);
    return ALS_OK;
}

void als_output_begin(als_output_t *o, const char *dir)
{
    memset(o, 0, sizeof *o);
    o->dir = dir;
}

const char *als_output_tmp(als_output_t *o, const char *name)
{
    if (o->n >= ALS_OUTPUT_MAX)
        return NULL;
    snprintf(o->tmp[o->n], sizeof o->tmp[0], "%s/.%s.tmp.%ld", o->dir, name, (long)getpid());
    snprintf(o->final[o->n], sizeof o->final[0], "%s/%s", o->dir, name);
    return o->tmp[o->n++];
}

/* Write, flush, fsync and close f, reporting the first failure. */
static int finish_file(FILE *f, const char *path, int failed, als_err_t *err)
{
    int e = failed ? errno : 0;
    if (!e && fflush(f) != 0)
        e = errno;
    if (!e && fsync(fileno(f)) != 0 && errno != EINVAL)
        e = errno;
    if (fclose(f) != 0 && !e)
        e = errno;
    if (e) {
        unlink(path);
        return als_err_set(err, ALS_ERR_IO, "%s: write failed: %s", path, strerror(e ? e : EIO));
    }
    return ALS_OK;
}

int als_output_text(als_output_t *o, const char *name, const char *text, size_t len,
                    als_err_t *err)
{
    const char *path = als_output_tmp(o, name);
    if (!path)
        return als_err_set(err, ALS_ERR_INTERNAL, "too many output files");
    FILE *f = fopen(path, "wb");
    if (!f)
        return als_err_set(err, ALS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int failed = fwrite(text, 1, len, f) != len;
    return finish_file(f, path, failed, err);
}

int als_output_ids(als_output_t *o, const char *name, const uint64_t *ids, int64_t n,
                   als_err_t *err)
{
    const char *path = als_output_tmp(o, name);
    if (!path)
        return als_err_set(err, ALS_ERR_INTERNAL, "too many output files");
    FILE *f = fopen(path, "wb");
    if (!f)
        return als_err_set(err, ALS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int failed = 0;
    for (int64_t t = 0; t < n && !failed; t++)
        failed = fprintf(f, "%" PRIu64 "\n", ids[t]) < 0;
    return finish_file(f, path, failed, err);
}

int als_output_commit(als_output_t *o, als_err_t *err)
{
    for (int i = 0; i < o->n; i++) {
        if (rename(o->tmp[i], o->final[i]) != 0) {
            int e = errno;
            als_output_abort(o);
            return als_err_set(err, ALS_ERR_IO, "%s: cannot rename into place: %s", o->final[i],
                               strerror(e));
        }
    }
    int fd = open(o->dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    o->n = 0;
    return ALS_OK;
}

void als_output_abort(als_output_t *o)
{
    for (int i = 0; i < o->n; i++)
        unlink(o->tmp[i]);
    o->n = 0;
}
