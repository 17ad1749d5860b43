/* als_output.c - output sets committed by a directory swap; exclusive temporaries. */
#include "als_output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- exclusive temporaries ----------------------------------------------- */

static void random_suffix(char *s, int len)
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static uint64_t counter;
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32;
    }
    r += ++counter * 0xBF58476D1CE4E5B9ull;
    for (int i = 0; i < len; i++) {
        s[i] = al[r % 62];
        r = r / 62 ^ (r << 49) ^ 0x94D049BB133111EBull * (uint64_t)(i + 1);
    }
    s[len] = '\0';
}

/* Split path into its directory part ("." if none) and base name. */
static void split_path(const char *path, char *dir, size_t dcap, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dcap, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, dcap, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, dcap, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    }
}

int als_tmpfile_open(const char *path, char *tmp, size_t cap)
{
    char dir[ALS_OUTPUT_PATH];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    for (int attempt = 0; attempt < 100; attempt++) {
        char sfx[8];
        random_suffix(sfx, 6);
        if (snprintf(tmp, cap, "%s/.%s.tmp.%s", dir, base, sfx) >= (int)cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

FILE *als_tmpfile_fopen(const char *path, char *tmp, size_t cap)
{
    int fd = als_tmpfile_open(path, tmp, cap);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
    }
    return f;
}

/* ---- directories ---------------------------------------------------------- */

static void fsync_path(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int als_output_mkdirs(const char *dir, const char *opt_name, als_err_t *err)
{
    char path[ALS_OUTPUT_PATH];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return als_err_set(err, ALS_ERR_ARG, "%s: path too long", opt_name);
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
    char probe[ALS_OUTPUT_PATH + 64];
    snprintf(probe, sizeof probe, "%s/.als-probe", dir);
    int fd = als_tmpfile_open(probe, probe, sizeof probe);
    if (fd < 0)
        return als_err_set(err, ALS_ERR_IO, "%s %s: cannot write there: %s", opt_name, dir,
                           strerror(errno));
    close(fd);
    unlink(probe);
    return ALS_OK;
}

/* The set names als-train writes; checked at prepare time. */
static const char *const set_names[] = {"U.npy", "V.npy", "user_ids.txt", "item_ids.txt",
                                        "metrics.json"};

int als_output_prepare(const char *dir, const char *opt_name, als_err_t *err)
{
    char path[ALS_OUTPUT_PATH];
    if (!dir[0] || snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return als_err_set(err, ALS_ERR_ARG, "%s: empty or too long path", opt_name);
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return als_err_set(err, ALS_ERR_IO, "%s %s: exists and is not a directory%s",
                               opt_name, dir, S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
        for (size_t i = 0; i < sizeof set_names / sizeof *set_names; i++) {
            char f[ALS_OUTPUT_PATH + 32];
            snprintf(f, sizeof f, "%s/%s", path, set_names[i]);
            if (lstat(f, &st) == 0 && !S_ISREG(st.st_mode))
                return als_err_set(err, ALS_ERR_IO, "%s %s: %s exists and is not a regular file "
                                   "(refusing to replace it)", opt_name, dir, set_names[i]);
        }
    } else if (errno != ENOENT) {
        return als_err_set(err, ALS_ERR_IO, "%s %s: %s", opt_name, dir, strerror(errno));
    }
    /* The nearest existing ancestor must be a directory we can write to. */
    char anc[ALS_OUTPUT_PATH];
    snprintf(anc, sizeof anc, "%s", path);
    for (;;) {
        char *slash = strrchr(anc, '/');
        if (!slash)
            snprintf(anc, sizeof anc, ".");
        else if (slash == anc)
            anc[1] = '\0';
        else
            *slash = '\0';
        if (stat(anc, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                return als_err_set(err, ALS_ERR_IO, "%s %s: cannot create directory: %s",
                                   opt_name, dir, strerror(ENOTDIR));
            break;
        }
        if (errno != ENOENT)
            return als_err_set(err, ALS_ERR_IO, "%s %s: cannot create directory: %s", opt_name,
                               dir, strerror(errno));
        if (!strcmp(anc, ".") || !strcmp(anc, "/"))
            break;
    }
    if (access(anc, W_OK | X_OK) != 0)
        return als_err_set(err, ALS_ERR_IO, "%s %s: cannot write in %s: %s", opt_name, dir, anc,
                           strerror(errno));
    return ALS_OK;
}

/* Remove the files directly inside dir, then dir (our own private directory:
 * only files are expected; a subdirectory is left, and so is dir). */
static void remove_dir_files(const char *dir)
{
    DIR *dp = opendir(dir);
    if (dp) {
        struct dirent *e;
        while ((e = readdir(dp)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[ALS_OUTPUT_PATH + 320];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(dp);
    }
    rmdir(dir);
}

int als_output_begin(als_output_t *o, const char *dir, als_err_t *err)
{
    memset(o, 0, sizeof *o);
    if (!dir[0] || snprintf(o->dir, sizeof o->dir, "%s", dir) >= (int)sizeof o->dir)
        return als_err_set(err, ALS_ERR_ARG, "--out: empty or too long path");
    size_t len = strlen(o->dir);
    while (len > 1 && o->dir[len - 1] == '/')
        o->dir[--len] = '\0';
    /* mkdir -p the parents, remembering what we made. */
    char path[ALS_OUTPUT_PATH];
    snprintf(path, sizeof path, "%s", o->dir);
    char *last = strrchr(path, '/');
    for (char *p = path + 1; last && p <= last; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) == 0) {
            if (o->nmade < 8)
                snprintf(o->made[o->nmade++], sizeof o->made[0], "%s", path);
        } else if (errno != EEXIST) {
            int e = errno;
            als_output_abort(o);
            return als_err_set(err, ALS_ERR_IO, "--out %s: cannot create directory %s: %s", dir,
                               path, strerror(e));
        }
        *p = '/';
    }
    char pdir[ALS_OUTPUT_PATH];
    const char *base;
    split_path(o->dir, pdir, sizeof pdir, &base);
    snprintf(o->tmpdir, sizeof o->tmpdir, "%s/.%s.tmp-XXXXXX", pdir, base);
    if (!mkdtemp(o->tmpdir)) {
        int e = errno;
        o->tmpdir[0] = '\0';
        als_output_abort(o);
        return als_err_set(err, ALS_ERR_IO, "--out %s: cannot create a temporary directory in "
                           "%s: %s", dir, pdir, strerror(e));
    }
    return ALS_OK;
}

const char *als_output_tmpdir(const als_output_t *o)
{
    return o->tmpdir;
}

static int find_name(const als_output_t *o, const char *name)
{
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->name[i], name))
            return i;
    return -1;
}

int als_output_add(als_output_t *o, const char *name, als_err_t *err)
{
    if (!o->tmpdir[0])
        return als_err_set(err, ALS_ERR_INTERNAL, "output set not begun");
    if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
        strlen(name) >= sizeof o->name[0])
        return als_err_set(err, ALS_ERR_INTERNAL, "bad output file name '%s'", name);
    if (find_name(o, name) >= 0)
        return ALS_OK;
    if (o->n >= ALS_OUTPUT_MAX)
        return als_err_set(err, ALS_ERR_INTERNAL, "too many output files");
    snprintf(o->name[o->n], sizeof o->name[0], "%s", name);
    snprintf(o->path[o->n], sizeof o->path[0], "%s/%s", o->tmpdir, name);
    o->n++;
    return ALS_OK;
}

const char *als_output_tmp(als_output_t *o, const char *name)
{
    if (als_output_add(o, name, NULL) != ALS_OK)
        return NULL;
    return o->path[find_name(o, name)];
}

/* Exclusive create inside the private directory. */
static FILE *create_member(als_output_t *o, const char *name, const char **path, als_err_t *err)
{
    *path = als_output_tmp(o, name);
    if (!*path) {
        als_err_set(err, ALS_ERR_INTERNAL, "too many output files or bad name '%s'", name);
        return NULL;
    }
    int fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        als_err_set(err, ALS_ERR_IO, "%s: cannot create: %s", *path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return f;
}

/* Flush, fsync and close f, reporting the first failure. */
static int finish_file(FILE *f, const char *path, int failed, als_err_t *err)
{
    int e = failed ? errno : 0;
    if (!e && fflush(f) != 0)
        e = errno;
    if (!e && fsync(fileno(f)) != 0 && errno != EINVAL)
        e = errno;
    if (fclose(f) != 0 && !e)
        e = errno;
    if (e || failed) {
        unlink(path);
        return als_err_set(err, ALS_ERR_IO, "%s: write failed: %s", path, strerror(e ? e : EIO));
    }
    return ALS_OK;
}

int als_output_text(als_output_t *o, const char *name, const char *text, size_t len,
                    als_err_t *err)
{
    const char *path;
    FILE *f = create_member(o, name, &path, err);
    if (!f)
        return err ? err->code : ALS_ERR_IO;
    int failed = fwrite(text, 1, len, f) != len;
    return finish_file(f, path, failed, err);
}

int als_output_ids(als_output_t *o, const char *name, const uint64_t *ids, int64_t n,
                   als_err_t *err)
{
    const char *path;
    FILE *f = create_member(o, name, &path, err);
    if (!f)
        return err ? err->code : ALS_ERR_IO;
    int failed = 0;
    for (int64_t t = 0; t < n && !failed; t++)
        failed = fprintf(f, "%" PRIu64 "\n", ids[t]) < 0;
    return finish_file(f, path, failed, err);
}

/* Is name one of the files inside the temporary directory? */
static int in_tmpdir(const als_output_t *o, const char *name)
{
    char p[ALS_OUTPUT_PATH + 320];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", o->tmpdir, name);
    return lstat(p, &st) == 0;
}

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int als_output_commit(als_output_t *o, als_err_t *err)
{
    if (!o->tmpdir[0])
        return als_err_set(err, ALS_ERR_INTERNAL, "output set not begun");
    /* Every file of the set is complete and synced by its writer. */
    fsync_path(o->tmpdir);
    struct stat st;
    int exists = lstat(o->dir, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) {
        als_output_abort(o);
        return als_err_set(err, ALS_ERR_IO, "--out %s: exists and is not a directory", o->dir);
    }
    if (!exists) {
        mode_t um = umask(0);
        umask(um);
        chmod(o->tmpdir, 0777 & ~um);
        if (rename(o->tmpdir, o->dir) != 0) {
            int e = errno;
            als_output_abort(o);
            return als_err_set(err, ALS_ERR_IO, "--out %s: cannot rename the new output into "
                               "place: %s", o->dir, strerror(e));
        }
        o->tmpdir[0] = '\0';
        o->nmade = 0;
        char pdir[ALS_OUTPUT_PATH];
        const char *base;
        split_path(o->dir, pdir, sizeof pdir, &base);
        fsync_path(pdir);
        return ALS_OK;
    }
    chmod(o->tmpdir, st.st_mode & 07777);
    /* Refuse to replace a set name that is not a regular file; carry the
     * user's other entries over into the new directory. */
    DIR *dp = opendir(o->dir);
    if (!dp) {
        int e = errno;
        als_output_abort(o);
        return als_err_set(err, ALS_ERR_IO, "--out %s: cannot read: %s", o->dir, strerror(e));
    }
    struct dirent *e;
    int rc = ALS_OK;
    while (rc == ALS_OK && (e = readdir(dp)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[ALS_OUTPUT_PATH + 320];
        snprintf(p, sizeof p, "%s/%s", o->dir, e->d_name);
        if (find_name(o, e->d_name) >= 0 || in_tmpdir(o, e->d_name)) {
            if (lstat(p, &st) == 0 && !S_ISREG(st.st_mode))
                rc = als_err_set(err, ALS_ERR_IO, "--out %s: %s exists and is not a regular file "
                                 "(refusing to replace it)", o->dir, e->d_name);
            continue;
        }
        char q[ALS_OUTPUT_PATH + 320];
        snprintf(q, sizeof q, "%s/%s", o->tmpdir, e->d_name);
        if (rename(p, q) != 0)
            rc = als_err_set(err, ALS_ERR_IO, "--out %s: cannot carry %s over: %s", o->dir,
                             e->d_name, strerror(errno));
    }
    closedir(dp);
    if (rc != ALS_OK) {
        /* Put the user's entries back where they were. */
        DIR *tp = opendir(o->tmpdir);
        while (tp && (e = readdir(tp)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || find_name(o, e->d_name) >= 0)
                continue;
            char p[ALS_OUTPUT_PATH + 320], q[ALS_OUTPUT_PATH + 320];
            snprintf(p, sizeof p, "%s/%s", o->tmpdir, e->d_name);
            snprintf(q, sizeof q, "%s/%s", o->dir, e->d_name);
            rename(p, q);
        }
        if (tp)
            closedir(tp);
        als_output_abort(o);
        return rc;
    }
    /* The swap: one atomic exchange where the file system has it. */
    const char *old = o->tmpdir; /* after an exchange, the old set lives here */
    char oldbuf[2 * ALS_OUTPUT_PATH + 64];
    if (renameat2(AT_FDCWD, o->tmpdir, AT_FDCWD, o->dir, RENAME_EXCHANGE) != 0) {
        char pdir[ALS_OUTPUT_PATH];
        const char *base;
        split_path(o->dir, pdir, sizeof pdir, &base);
        snprintf(oldbuf, sizeof oldbuf, "%s/.%s.old-XXXXXX", pdir, base);
        /* A fresh name: make it as a directory, then rename DIR over it. */
        if (!mkdtemp(oldbuf) || rename(o->dir, oldbuf) != 0) {
            int er = errno;
            rmdir(oldbuf);
            als_output_abort(o);
            return als_err_set(err, ALS_ERR_IO, "--out %s: cannot move the previous output "
                               "aside: %s", o->dir, strerror(er));
        }
        if (rename(o->tmpdir, o->dir) != 0) {
            int er = errno;
            rename(oldbuf, o->dir);
            als_output_abort(o);
            return als_err_set(err, ALS_ERR_IO, "--out %s: cannot rename the new output into "
                               "place: %s", o->dir, strerror(er));
        }
        old = oldbuf;
    }
    char pdir[ALS_OUTPUT_PATH];
    const char *base;
    split_path(o->dir, pdir, sizeof pdir, &base);
    fsync_path(pdir);
    remove_dir_files(old); /* the previous set's files (only set names are left) */
    fsync_path(pdir);
    o->tmpdir[0] = '\0';
    o->nmade = 0;
    o->n = 0;
    return ALS_OK;
}

void als_output_abort(als_output_t *o)
{
    if (o->tmpdir[0])
        remove_dir_files(o->tmpdir);
    o->tmpdir[0] = '\0';
    for (int i = o->nmade - 1; i >= 0; i--)
        rmdir(o->made[i]);
    o->nmade = 0;
    o->n = 0;
}
