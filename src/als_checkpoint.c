/* als_checkpoint.c - checkpoint/restart of a training run, and fault-test hooks.
 *
 * File layout (version 1, native little-endian; the byte-order mark is
 * checked), every section a multiple of 8 bytes:
 *   header   (CKPT_HEADER bytes, below)
 *   params   params_len bytes of "name\tvalue\n" text, zero-padded to 8
 *   history  niters records of 11 x 8 bytes: i64 iter, f64 loss_half,
 *            loss.total, loss.sse, loss.social, loss.reg_u, loss.reg_v,
 *            train_rmse, test_rmse, test_mae, seconds
 *   U        m*k f64, row-major
 *   V        n*k f64
 *   checksum u64 of every byte before it (ckpt_hash)
 */
#include "als_checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "als_exchange.h"
#include "als_kernels.h"
#include "als_output.h"

#define CKPT_MAGIC "ALSCKPT1"
#define CKPT_VERSION 1u
#define CKPT_BOM 0x01020304u
#define CKPT_HIST_FIELDS 11

/* The fixed header, serialized field by field (offsets in comments). */
typedef struct {
    char magic[8];          /*   0 */
    uint32_t version, bom;  /*   8 */
    uint64_t data_hash;     /*  16 */
    uint64_t param_hash;    /*  24 */
    int64_t m, n;           /*  32 */
    int32_t k, niters;      /*  48 */
    int32_t increases, hist_fields; /* 56 */
    double max_increase;    /*  64 */
    double initial[5];      /*  72: total, sse, social, reg_u, reg_v */
    uint64_t params_len;    /* 112: unpadded */
    char isa[32];           /* 120 */
} ckpt_header_t;
#define CKPT_HEADER 152

/* ---- hashing ------------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define FNV_PRIME 0x100000001b3ULL
#define FNV_BASIS 0xcbf29ce484222325ULL

/* FNV-1a over 64-bit words (x -> (x ^ w) * P is a bijection, so any change
 * of one word changes the state); trailing bytes are zero-padded. */
static uint64_t hash_words(uint64_t h, const void *p, size_t bytes)
{
    const unsigned char *c = p;
    size_t nw = bytes / 8;
    for (size_t i = 0; i < nw; i++) {
        uint64_t w;
        memcpy(&w, c + 8 * i, 8);
        h = (h ^ w) * FNV_PRIME;
    }
    if (bytes % 8) {
        uint64_t w = 0;
        memcpy(&w, c + 8 * nw, bytes % 8);
        h = (h ^ w) * FNV_PRIME;
    }
    return h;
}

static uint64_t hash_u64(uint64_t h, uint64_t w) { return (h ^ w) * FNV_PRIME; }

uint64_t als_ckpt_hash(const void *p, size_t bytes)
{
    return mix64(hash_words(FNV_BASIS, p, bytes));
}

uint64_t als_ckpt_data_hash(MPI_Comm comm, const als_data_t *d)
{
    /* Replicated part: the same on every rank. */
    uint64_t g = FNV_BASIS;
    int64_t cnt[5] = {d->m, d->n, d->nnz, d->nlinks, d->wnnz};
    double rng[3] = {d->rmin, d->rmax, d->rmean};
    g = hash_words(g, cnt, sizeof cnt);
    g = hash_words(g, rng, sizeof rng);
    g = hash_words(g, d->user_ids, (size_t)d->m * sizeof *d->user_ids);
    g = hash_words(g, d->item_ids, (size_t)d->n * sizeof *d->item_ids);
    /* Per user row: its ratings (item, value) and its W row (user, weight),
     * keyed by the global row, mixed and summed: the sum does not depend on
     * how the rows are split over ranks. */
    uint64_t local = 0;
    for (int64_t t = 0; t < d->u1 - d->u0; t++) {
        uint64_t h = hash_u64(FNV_BASIS, (uint64_t)(d->u0 + t));
        int64_t a = d->uptr[t], b = d->uptr[t + 1];
        h = hash_u64(h, (uint64_t)(b - a));
        h = hash_words(h, d->ucol + a, (size_t)(b - a) * sizeof *d->ucol);
        h = hash_words(h, d->uval + a, (size_t)(b - a) * sizeof *d->uval);
        a = d->wptr[t], b = d->wptr[t + 1];
        h = hash_u64(h, (uint64_t)(b - a));
        h = hash_words(h, d->wcol + a, (size_t)(b - a) * sizeof *d->wcol);
        h = hash_words(h, d->wval + a, (size_t)(b - a) * sizeof *d->wval);
        local += mix64(h);
    }
    uint64_t sum = 0;
    MPI_Allreduce(&local, &sum, 1, MPI_UINT64_T, MPI_SUM, comm);
    return mix64(hash_u64(g, sum));
}

/* ---- parameters ---------------------------------------------------------- */

/* The shortest of %.15g, %.16g, %.17g that reads back as x. */
static const char *fmt_exact(double x, char *buf)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return buf;
}

void als_ckpt_params_text(const als_options_t *o, char *buf, size_t cap)
{
    char lu[32], lv[32], al[32], lb[32];
    /* Only what changes the factors beyond the dataset (--duplicates and
     * --value-column shape the dataset and are covered by its hash, so a text
     * run can resume from --data); doubles are printed to round-trip exactly.
     * --iters and --tol may differ on resume (a run can be extended). */
    snprintf(buf, cap,
             "--rank\t%d\n--lambda-u\t%s\n--lambda-v\t%s\n--alpha\t%s\n"
             "--seed\t%" PRIu64 "\n--bias\t%s\n--lambda-scale\t%s\n--kernel\t%s\n"
             "--init-user/--init-item\t%s\n--lambda-bias\t%s\n",
             o->rank_k, fmt_exact(o->lambda_u, lu), fmt_exact(o->lambda_v, lv),
             fmt_exact(o->alpha, al), o->seed, o->bias ? "yes" : "no",
             o->lambda_count ? "count" : "none", o->kernel == ALS_KERNEL_REF ? "ref" : "fast",
             o->init_user[0] ? "given" : "none (seeded)",
             o->lambda_bias >= 0 ? fmt_exact(o->lambda_bias, lb) : "as the factors");
}

/* Remove temporaries left in dir by writers that were killed. */
static void remove_stale_temps(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    const char *pre = "." ALS_CKPT_NAME ".tmp.";
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (strncmp(e->d_name, pre, strlen(pre)) == 0) {
            char p[ALS_PATH_MAX + 300];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    closedir(dp);
}

/* DIR/NAME is absent, or a regular file that starts with our magic: the
 * writer renames it away, so refuse anything else (a user's file or
 * directory of that name). Local. */
static int check_ours(const char *dir, const char *name, als_err_t *err)
{
    char p[ALS_PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    if (lstat(p, &st) != 0)
        return errno == ENOENT ? ALS_OK
                               : als_err_set(err, ALS_ERR_IO, "checkpoint %s: %s", p,
                                             strerror(errno));
    if (!S_ISREG(st.st_mode))
        return als_err_set(err, ALS_ERR_IO, "checkpoint %s: exists and is not a regular file "
                           "(refusing to replace it; remove it or choose another "
                           "--checkpoint-dir)", p);
    char magic[8] = {0};
    int fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    ssize_t got = fd >= 0 ? pread(fd, magic, 8, 0) : -1;
    if (fd >= 0)
        close(fd);
    if (got != 8 || memcmp(magic, CKPT_MAGIC, 8) != 0)
        return als_err_set(err, ALS_ERR_IO, "checkpoint %s: exists and is not an als-train "
                           "checkpoint (refusing to replace it; remove it or choose another "
                           "--checkpoint-dir)", p);
    return ALS_OK;
}

int als_ckpt_init(MPI_Comm comm, const als_options_t *o, const als_data_t *d, FILE *log,
                  als_ckpt_t *c, als_err_t *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    memset(c, 0, sizeof *c);
    c->log = rank == 0 ? log : NULL;
    c->every = o->checkpoint_every;
    snprintf(c->dir, sizeof c->dir, "%s", o->checkpoint_dir);
    if (c->every > 0 && c->dir[0] == '\0' && o->resume[0])
        snprintf(c->dir, sizeof c->dir, "%s", o->resume);
    if (c->every > 0 && c->dir[0] == '\0')
        als_err_set(err, ALS_ERR_ARG, "--checkpoint-every needs --checkpoint-dir DIR");
    if (rank == 0 && err->code == ALS_OK && c->every > 0 &&
        als_output_mkdirs(c->dir, "--checkpoint-dir", err) == ALS_OK &&
        check_ours(c->dir, ALS_CKPT_NAME, err) == ALS_OK &&
        check_ours(c->dir, ALS_CKPT_PREV, err) == ALS_OK)
        remove_stale_temps(c->dir);
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    als_ckpt_params_text(o, c->params, sizeof c->params);
    c->param_hash = als_ckpt_hash(c->params, strlen(c->params));
    snprintf(c->isa, sizeof c->isa, "%s", als_kernel_isa());
    if (c->every > 0 || o->resume[0])
        c->data_hash = als_ckpt_data_hash(comm, d);
    return ALS_OK;
}

/* ---- writing ------------------------------------------------------------- */

static void pack_header(const ckpt_header_t *h, unsigned char *b)
{
    memset(b, 0, CKPT_HEADER);
    memcpy(b + 0, h->magic, 8);
    memcpy(b + 8, &h->version, 4);
    memcpy(b + 12, &h->bom, 4);
    memcpy(b + 16, &h->data_hash, 8);
    memcpy(b + 24, &h->param_hash, 8);
    memcpy(b + 32, &h->m, 8);
    memcpy(b + 40, &h->n, 8);
    memcpy(b + 48, &h->k, 4);
    memcpy(b + 52, &h->niters, 4);
    memcpy(b + 56, &h->increases, 4);
    memcpy(b + 60, &h->hist_fields, 4);
    memcpy(b + 64, &h->max_increase, 8);
    memcpy(b + 72, h->initial, 40);
    memcpy(b + 112, &h->params_len, 8);
    memcpy(b + 120, h->isa, 32);
}

static void unpack_header(const unsigned char *b, ckpt_header_t *h)
{
    memcpy(h->magic, b + 0, 8);
    memcpy(&h->version, b + 8, 4);
    memcpy(&h->bom, b + 12, 4);
    memcpy(&h->data_hash, b + 16, 8);
    memcpy(&h->param_hash, b + 24, 8);
    memcpy(&h->m, b + 32, 8);
    memcpy(&h->n, b + 40, 8);
    memcpy(&h->k, b + 48, 4);
    memcpy(&h->niters, b + 52, 4);
    memcpy(&h->increases, b + 56, 4);
    memcpy(&h->hist_fields, b + 60, 4);
    memcpy(&h->max_increase, b + 64, 8);
    memcpy(h->initial, b + 72, 40);
    memcpy(&h->params_len, b + 112, 8);
    memcpy(h->isa, b + 120, 32);
    h->isa[31] = '\0';
}

static void hist_pack(const als_iter_t *h, double *r)
{
    int64_t it = h->iter;
    memcpy(&r[0], &it, 8);
    r[1] = h->loss_half;
    r[2] = h->loss.total;
    r[3] = h->loss.sse;
    r[4] = h->loss.social;
    r[5] = h->loss.reg_u;
    r[6] = h->loss.reg_v;
    r[7] = h->train_rmse;
    r[8] = h->test_rmse;
    r[9] = h->test_mae;
    r[10] = h->seconds;
}

static void hist_unpack(const double *r, als_iter_t *h)
{
    int64_t it;
    memcpy(&it, &r[0], 8);
    memset(h, 0, sizeof *h);
    h->iter = (int)it;
    h->loss_half = r[1];
    h->loss.total = r[2];
    h->loss.sse = r[3];
    h->loss.social = r[4];
    h->loss.reg_u = r[5];
    h->loss.reg_v = r[6];
    h->train_rmse = r[7];
    h->test_rmse = r[8];
    h->test_mae = r[9];
    h->seconds = r[10];
}

/* A file being written: every write is checked and hashed. */
typedef struct {
    int fd;
    const char *path;
    uint64_t h;
    int e;             /* first errno */
    int64_t written;   /* bytes */
} wfile_t;

static void wput(wfile_t *w, const void *p, size_t n)
{
    if (w->e)
        return;
    w->h = hash_words(w->h, p, n);
    const char *c = p;
    while (n > 0) {
        size_t piece = n < ((size_t)1 << 28) ? n : ((size_t)1 << 28);
        ssize_t r = write(w->fd, c, piece);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            w->e = r < 0 ? errno : EIO;
            return;
        }
        c += r;
        n -= (size_t)r;
        w->written += r;
    }
}

static __attribute__((unused)) int env_int(const char *name, int dflt)
{
    const char *s = getenv(name);
    return s && *s ? atoi(s) : dflt;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int als_ckpt_write(const als_solver_t *s, als_ckpt_t *c, const char *dir, als_err_t *err)
{
    const als_data_t *d = s->data;
    char tmp[ALS_PATH_MAX + 64], cur[ALS_PATH_MAX + 64], prev[ALS_PATH_MAX + 64];
    snprintf(cur, sizeof cur, "%s/%s", dir, ALS_CKPT_NAME);
    snprintf(prev, sizeof prev, "%s/%s", dir, ALS_CKPT_PREV);
    c->written++;
#ifdef ALS_FAULT_HOOKS
    int crash = env_int("ALS_TEST_CRASH_IN_CHECKPOINT", 0) == c->written;
#else
    const int crash = 0; /* release build: no fault hooks */
#endif

    ckpt_header_t h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CKPT_MAGIC, 8);
    h.version = CKPT_VERSION;
    h.bom = CKPT_BOM;
    h.data_hash = c->data_hash;
    h.param_hash = c->param_hash;
    h.m = d->m;
    h.n = d->n;
    h.k = s->k;
    h.niters = s->niters;
    h.increases = s->increases;
    h.hist_fields = CKPT_HIST_FIELDS;
    h.max_increase = s->max_increase;
    h.initial[0] = s->initial.total;
    h.initial[1] = s->initial.sse;
    h.initial[2] = s->initial.social;
    h.initial[3] = s->initial.reg_u;
    h.initial[4] = s->initial.reg_v;
    h.params_len = strlen(c->params);
    snprintf(h.isa, sizeof h.isa, "%s", c->isa);
    unsigned char hb[CKPT_HEADER];
    pack_header(&h, hb);

    /* Never rename away something that is not ours. */
    if (check_ours(dir, ALS_CKPT_NAME, err) != ALS_OK || check_ours(dir, ALS_CKPT_PREV, err) != ALS_OK)
        return err->code;
    wfile_t w = {.fd = -1, .path = tmp, .h = FNV_BASIS};
    w.fd = als_tmpfile_open(cur, tmp, sizeof tmp); /* exclusive: .checkpoint.als.tmp.XXXXXX */
    if (w.fd < 0)
        return als_err_set(err, ALS_ERR_IO, "checkpoint %s: cannot create a temporary: %s", cur,
                           strerror(errno));
    wput(&w, hb, sizeof hb);
    char pbuf[ALS_CKPT_PARAMS_MAX + 8];
    size_t plen = (h.params_len + 7) / 8 * 8;
    memset(pbuf, 0, sizeof pbuf);
    memcpy(pbuf, c->params, h.params_len);
    wput(&w, pbuf, plen);
    for (int i = 0; i < s->niters; i++) {
        double r[CKPT_HIST_FIELDS];
        hist_pack(&s->hist[i], r);
        wput(&w, r, sizeof r);
    }
    size_t ubytes = (size_t)d->m * (size_t)s->k * sizeof(double);
    if (crash) {
        /* Test hook: die with half of U written, like a kill -9 or a node
         * failure in the middle of the write. */
        wput(&w, s->U, ubytes / 2);
        fsync(w.fd);
        if (c->log) {
            fprintf(c->log, "ALS_TEST_CRASH_IN_CHECKPOINT: killing the checkpoint writer after "
                    "%" PRId64 " bytes of %s\n", w.written, tmp);
            fflush(c->log);
        }
        raise(SIGKILL);
    }
    wput(&w, s->U, ubytes);
    wput(&w, s->V, (size_t)d->n * (size_t)s->k * sizeof(double));
    uint64_t sum = mix64(w.h);
    wput(&w, &sum, sizeof sum);
    if (!w.e && fsync(w.fd) != 0 && errno != EINVAL)
        w.e = errno;
    if (close(w.fd) != 0 && !w.e)
        w.e = errno;
    if (w.e) {
        unlink(tmp);
        return als_err_set(err, ALS_ERR_IO, "checkpoint %s: write failed: %s (the previous "
                           "checkpoint in %s is unchanged)", tmp, strerror(w.e), dir);
    }
    /* Keep the last good one: current -> prev, then tmp -> current. */
    if (rename(cur, prev) != 0 && errno != ENOENT) {
        int e = errno;
        unlink(tmp);
        return als_err_set(err, ALS_ERR_IO, "checkpoint %s: cannot rename to %s: %s", cur, prev,
                           strerror(e));
    }
    if (rename(tmp, cur) != 0) {
        int e = errno;
        unlink(tmp);
        return als_err_set(err, ALS_ERR_IO, "checkpoint %s: cannot rename into place: %s "
                           "(%s is the last good checkpoint)", cur, strerror(e), prev);
    }
    fsync_dir(dir);
    return ALS_OK;
}

int als_ckpt_after_iter(als_solver_t *s, int it, als_err_t *err)
{
    als_ckpt_t *c = s->ckpt;
    if (!c || c->every <= 0 || it % c->every != 0)
        return ALS_OK;
    double t0 = MPI_Wtime();
    if (s->rank == 0)
        als_ckpt_write(s, c, c->dir, err);
    if (als_err_agree(s->comm, err) != ALS_OK)
        return err->code;
    if (c->log) {
        fprintf(c->log, "checkpoint: iteration %d written to %s/%s (%.3f s)\n", it, c->dir,
                ALS_CKPT_NAME, MPI_Wtime() - t0);
        fflush(c->log);
    }
    return ALS_OK;
}

/* ---- reading ------------------------------------------------------------- */

/* Read exactly n bytes at the current offset, hashing them. */
static int rget(int fd, void *p, size_t n, uint64_t *h)
{
    char *c = p;
    size_t left = n;
    while (left > 0) {
        size_t piece = left < ((size_t)1 << 28) ? left : ((size_t)1 << 28);
        ssize_t r = read(fd, c, piece);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        left -= (size_t)r;
    }
    if (h)
        *h = hash_words(*h, p, n);
    return 0;
}

/* The first line where two parameter texts differ, as a message. */
static void params_diff(const char *had, const char *now, char *msg, size_t cap)
{
    const char *a = had, *b = now;
    while (*a || *b) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
        if (la != lb || memcmp(a, b, la) != 0) {
            char la_s[256], lb_s[256];
            snprintf(la_s, sizeof la_s, "%.*s", (int)(la < 255 ? la : 255), a);
            snprintf(lb_s, sizeof lb_s, "%.*s", (int)(lb < 255 ? lb : 255), b);
            for (char *p = la_s; *p; p++)
                if (*p == '\t') *p = ' ';
            for (char *p = lb_s; *p; p++)
                if (*p == '\t') *p = ' ';
            snprintf(msg, cap, "the checkpoint was written with %s, this run has %s", la_s, lb_s);
            return;
        }
        a += la + (ea ? 1 : 0);
        b += lb + (eb ? 1 : 0);
    }
    snprintf(msg, cap, "the parameters differ");
}

/* What rank 0 read from a checkpoint file. */
typedef struct {
    ckpt_header_t h;
    char params[ALS_CKPT_PARAMS_MAX + 8];
    als_iter_t *hist;
} ckpt_read_t;

/* Where the factors go and the shapes they must have. */
typedef struct {
    int64_t m, n;
    int k;
    double *U, *V;
} ckpt_target_t;

/* Read and verify one checkpoint file into r and t's U and V. Returns
 * ALS_OK, or an error with a message; *missing is set when the file does not
 * exist. Parameter, dataset and shape checks come after the checksum. */
static int read_file(const char *path, const ckpt_target_t *t, const als_ckpt_t *c,
                     ckpt_read_t *r, int *missing, als_err_t *err)
{
    *missing = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO must not block */
    if (fd < 0) {
        *missing = errno == ENOENT;
        return als_err_set(err, ALS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return als_err_set(err, ALS_ERR_FORMAT, "%s: not a regular file", path);
    }
    int rc = ALS_OK;
    uint64_t h = FNV_BASIS;
    unsigned char hb[CKPT_HEADER];
    char magic[8];
    if (pread(fd, magic, 8, 0) == 8 && memcmp(magic, CKPT_MAGIC, 8) != 0) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: not an als-train checkpoint (bad magic)", path);
        goto out;
    }
    if (fstat(fd, &st) != 0 || st.st_size < CKPT_HEADER + 8 || rget(fd, hb, sizeof hb, &h)) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: truncated checkpoint (%lld bytes)", path,
                         (long long)st.st_size);
        goto out;
    }
    unpack_header(hb, &r->h);
    const ckpt_header_t *x = &r->h;
    if (memcmp(x->magic, CKPT_MAGIC, 8) != 0) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: not an als-train checkpoint (bad magic)", path);
        goto out;
    }
    if (x->version != CKPT_VERSION || x->bom != CKPT_BOM || x->hist_fields != CKPT_HIST_FIELDS) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: checkpoint version %u (byte order %#x) is not "
                         "version %u of this build", path, x->version, x->bom, CKPT_VERSION);
        goto out;
    }
    if (x->m < 0 || x->n < 0 || x->k <= 0 || x->niters < 0 || x->params_len > ALS_CKPT_PARAMS_MAX ||
        x->m > (INT64_MAX / 8) / x->k || x->n > (INT64_MAX / 8) / x->k) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: corrupted checkpoint header", path);
        goto out;
    }
    uint64_t plen = (x->params_len + 7) / 8 * 8;
    uint64_t expect = CKPT_HEADER + plen + (uint64_t)x->niters * CKPT_HIST_FIELDS * 8 +
                      ((uint64_t)x->m + (uint64_t)x->n) * (uint64_t)x->k * 8 + 8;
    if ((uint64_t)st.st_size != expect) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: checkpoint is %lld bytes, its header says %"
                         PRIu64 " (truncated or corrupted)", path, (long long)st.st_size, expect);
        goto out;
    }
    /* Verify the checksum of the whole file first, so that damage is never
     * mistaken for a parameter or dataset difference. */
    {
        size_t cap = (size_t)1 << 20;
        char *buf = malloc(cap);
        uint64_t h2 = h, sum = 0, left = expect - CKPT_HEADER - 8;
        int bad = buf == NULL;
        while (!bad && left > 0) {
            size_t piece = left < cap ? (size_t)left : cap;
            bad = rget(fd, buf, piece, &h2);
            left -= piece;
        }
        bad = bad || rget(fd, &sum, 8, NULL);
        free(buf);
        if (bad) {
            rc = als_err_set(err, ALS_ERR_IO, "%s: read failed", path);
            goto out;
        }
        if (sum != mix64(h2)) {
            rc = als_err_set(err, ALS_ERR_FORMAT, "%s: checksum mismatch (the checkpoint is "
                             "corrupted)", path);
            goto out;
        }
        if (lseek(fd, CKPT_HEADER, SEEK_SET) != CKPT_HEADER) {
            rc = als_err_set(err, ALS_ERR_IO, "%s: seek failed: %s", path, strerror(errno));
            goto out;
        }
    }
    /* Parameters, dataset and shapes must match before U and V are read
     * into s (such errors are ALS_ERR_ARG/ALS_ERR_DATA: no fallback). */
    memset(r->params, 0, sizeof r->params);
    if (rget(fd, r->params, plen, &h)) {
        rc = als_err_set(err, ALS_ERR_IO, "%s: read failed", path);
        goto out;
    }
    if (x->param_hash != c->param_hash || strcmp(r->params, c->params) != 0) {
        char diff[600];
        params_diff(r->params, c->params, diff, sizeof diff);
        rc = als_err_set(err, ALS_ERR_ARG, "%s: parameters differ: %s (resume with the same "
                         "parameters, or start a new run)", path, diff);
        goto out;
    }
    if (x->data_hash != c->data_hash) {
        rc = als_err_set(err, ALS_ERR_DATA, "%s: the dataset differs from the one the checkpoint "
                         "was made from (hash %016" PRIx64 ", this run %016" PRIx64 ")", path,
                         x->data_hash, c->data_hash);
        goto out;
    }
    if (x->m != t->m || x->n != t->n || x->k != t->k) {
        rc = als_err_set(err, ALS_ERR_DATA, "%s: checkpoint of a %" PRId64 " x %" PRId64
                         " dataset with %d factor columns; this run has %" PRId64 " x %" PRId64
                         " with %d (different dataset or --rank/--bias)", path, x->m, x->n, x->k,
                         t->m, t->n, t->k);
        goto out;
    }
    r->hist = calloc((size_t)x->niters + 1, sizeof *r->hist);
    double *rec = malloc((size_t)x->niters * CKPT_HIST_FIELDS * 8 + 8);
    if (!r->hist || !rec) {
        free(rec);
        rc = als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    uint64_t sum = 0;
    int bad = rget(fd, rec, (size_t)x->niters * CKPT_HIST_FIELDS * 8, &h) ||
              rget(fd, t->U, (size_t)x->m * (size_t)x->k * 8, &h) ||
              rget(fd, t->V, (size_t)x->n * (size_t)x->k * 8, &h) || rget(fd, &sum, 8, NULL);
    for (int i = 0; !bad && i < x->niters; i++)
        hist_unpack(rec + (size_t)i * CKPT_HIST_FIELDS, &r->hist[i]);
    free(rec);
    if (bad)
        rc = als_err_set(err, ALS_ERR_IO, "%s: read failed", path);
    else if (sum != mix64(h))
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: checksum mismatch (the checkpoint is "
                         "corrupted)", path);
out:
    close(fd);
    return rc;
}

int als_ckpt_read(const char *path, const als_ckpt_t *c, int64_t m, int64_t n, int k,
                  double *U, double *V, int *niters, als_iter_t **hist, als_err_t *err)
{
    ckpt_read_t r;
    memset(&r, 0, sizeof r);
    const ckpt_target_t tg = {m, n, k, U, V};
    int missing = 0;
    *niters = 0;
    *hist = NULL;
    if (read_file(path, &tg, c, &r, &missing, err) != ALS_OK) {
        free(r.hist);
        return err->code;
    }
    *niters = r.h.niters;
    *hist = r.hist;
    return ALS_OK;
}

int als_ckpt_restore(als_solver_t *s, als_ckpt_t *c, const char *dir, als_err_t *err)
{
    ckpt_read_t r;
    memset(&r, 0, sizeof r);
    if (s->rank == 0) {
        char cur[ALS_PATH_MAX + 64], prev[ALS_PATH_MAX + 64];
        snprintf(cur, sizeof cur, "%s/%s", dir, ALS_CKPT_NAME);
        snprintf(prev, sizeof prev, "%s/%s", dir, ALS_CKPT_PREV);
        als_err_t e1, e2;
        als_err_clear(&e1);
        als_err_clear(&e2);
        int miss1 = 0, miss2 = 0;
        const char *used = cur;
        const ckpt_target_t tg = {s->data->m, s->data->n, s->k, s->U, s->V};
        if (read_file(cur, &tg, c, &r, &miss1, &e1) != ALS_OK && e1.code != ALS_ERR_DATA &&
            e1.code != ALS_ERR_ARG) {
            free(r.hist);
            memset(&r, 0, sizeof r);
            used = prev;
            if (read_file(prev, &tg, c, &r, &miss2, &e2) != ALS_OK) {
                if (miss1 && miss2)
                    als_err_set(err, ALS_ERR_IO, "--resume %s: no checkpoint there (%s: %s)", dir,
                                ALS_CKPT_NAME, strerror(ENOENT));
                else
                    als_err_set(err, e1.code, "--resume %s: %s%s%s", dir, e1.msg,
                                miss2 ? "" : "; previous checkpoint: ", miss2 ? "" : e2.msg);
            } else if (c->log) {
                fprintf(c->log, "warning: %s; resuming from the previous checkpoint %s\n",
                        e1.msg, prev);
            }
        } else if (e1.code != ALS_OK) {
            als_err_set(err, e1.code, "--resume %s: %s", dir, e1.msg);
        }
        if (err->code == ALS_OK) {
            const ckpt_header_t *x = &r.h;
            if (x->niters > s->opt->iters) {
                als_err_set(err, ALS_ERR_ARG, "--resume %s: %s holds %d iterations, more than "
                            "--iters %d", dir, used, x->niters, s->opt->iters);
            } else if (c->log) {
                if (strcmp(x->isa, c->isa) != 0)
                    fprintf(c->log, "warning: the checkpoint was computed with the %s kernels, "
                            "this run uses %s: results will differ by rounding from an "
                            "uninterrupted run (set ALS_KERNEL_ISA=%s)\n", x->isa, c->isa, x->isa);
                fprintf(c->log, "resume: %s: %d iterations done, continuing at iteration %d\n",
                        used, x->niters, x->niters + 1);
                fflush(c->log);
            }
        }
    }
    if (als_err_agree(s->comm, err) != ALS_OK) {
        free(r.hist);
        return err->code;
    }
    /* Broadcast the state; U and V in chunks. */
    struct {
        int32_t niters, increases;
        double max_increase;
        double initial[5];
    } st;
    if (s->rank == 0) {
        st.niters = r.h.niters;
        st.increases = r.h.increases;
        st.max_increase = r.h.max_increase;
        memcpy(st.initial, r.h.initial, sizeof st.initial);
    }
    MPI_Bcast(&st, (int)sizeof st, MPI_BYTE, 0, s->comm);
    s->niters = st.niters;
    s->increases = st.increases;
    s->max_increase = st.max_increase;
    s->initial.total = st.initial[0];
    s->initial.sse = st.initial[1];
    s->initial.social = st.initial[2];
    s->initial.reg_u = st.initial[3];
    s->initial.reg_v = st.initial[4];
    /* Room for the restored history (the solver grows it from there on;
     * done here, not by als_solver_hist_reserve, so that this module links
     * without the solver, as the checkpoint fuzzer does). */
    if (s->niters + 1 > s->hist_cap) {
        als_iter_t *hh = realloc(s->hist, ((size_t)s->niters + 1) * sizeof *hh);
        if (!hh) {
            als_err_set(err, ALS_ERR_NOMEM, "out of memory for the iteration history (%d "
                        "records)", s->niters + 1);
        } else {
            memset(hh + s->hist_cap, 0, ((size_t)s->niters + 1 - (size_t)s->hist_cap) * sizeof *hh);
            s->hist = hh;
            s->hist_cap = s->niters + 1;
        }
    }
    if (als_err_agree(s->comm, err) != ALS_OK) {
        free(r.hist);
        return err->code;
    }
    if (s->rank == 0)
        memcpy(s->hist, r.hist, (size_t)s->niters * sizeof *s->hist);
    free(r.hist);
    als_bcast_big(s->comm, s->hist, (int64_t)s->niters * (int64_t)sizeof *s->hist, MPI_BYTE, 0);
    als_bcast_big(s->comm, s->U, s->data->m * s->k, MPI_DOUBLE, 0);
    als_bcast_big(s->comm, s->V, s->data->n * s->k, MPI_DOUBLE, 0);
    c->resumed_from = s->niters;
    s->resumed = 1;
    return ALS_OK;
}

int als_ckpt_resume_point(const als_solver_t *s, double *prev)
{
    int n = s->niters;
    *prev = n ? s->hist[n - 1].loss.total : s->initial.total;
    if (n == 0 || s->opt->tol <= 0)
        return n + 1;
    /* Re-apply the --tol test of the last restored iteration. */
    double before = n >= 2 ? s->hist[n - 2].loss.total : s->initial.total;
    double decrease = (before - *prev) / (fabs(before) > 1e-300 ? fabs(before) : 1e-300);
    return decrease < s->opt->tol ? s->opt->iters + 1 : n + 1;
}

/* ---- fault-test hooks ---------------------------------------------------- */

#ifdef ALS_FAULT_HOOKS
void als_ckpt_fault_point(int rank, int it)
{
    static int init = 0, kill_rank = -1, kill_iter = -1, stall_rank = -1, stall_iter = -1;
    if (!init) {
        init = 1;
        kill_rank = env_int("ALS_TEST_KILL_RANK", -1);
        kill_iter = env_int("ALS_TEST_KILL_ITER", -1);
        stall_rank = env_int("ALS_TEST_STALL_RANK", -1);
        stall_iter = env_int("ALS_TEST_STALL_ITER", -1);
    }
    if (rank == kill_rank && it == kill_iter) {
        fprintf(stderr, "ALS_TEST_KILL: rank %d raises SIGKILL in iteration %d\n", rank, it);
        fflush(stderr);
        raise(SIGKILL);
    }
    if (rank == stall_rank && it == stall_iter) {
        const char *pf = getenv("ALS_TEST_STALL_PIDFILE");
        if (pf) {
            char tmp[ALS_PATH_MAX + 64];
            FILE *f = als_tmpfile_fopen(pf, tmp, sizeof tmp);
            if (f) {
                fprintf(f, "%ld\n", (long)getpid());
                fclose(f);
                rename(tmp, pf);
            }
        }
        fprintf(stderr, "ALS_TEST_STALL: rank %d (pid %ld) stalls in iteration %d\n", rank,
                (long)getpid(), it);
        fflush(stderr);
        for (int i = 0; i < 1200; i++)
            usleep(100000);
    }
}
#else
/* Release build: the ALS_TEST_* variables are ignored. */
void als_ckpt_fault_point(int rank, int it)
{
    (void)rank;
    (void)it;
}
#endif
