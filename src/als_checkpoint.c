/* als_checkpoint.c - checkpoint/restart of a training run, and fault-test hooks.
 *
 * File layout (version 2, native little-endian; the byte-order mark is
 * checked), every section a multiple of 8 bytes:
 *   header   (CKPT_HEADER bytes, below)
 *   params   params_len bytes of "name\tvalue\n" text, zero-padded to 8
 *   history  niters records of 11 x 8 bytes: i64 iter, f64 loss_half,
 *            loss.total, loss.sse, loss.social, loss.reg_u, loss.reg_v,
 *            train_rmse, test_rmse, test_mae, seconds
 *   U        m*k f64, row-major
 *   V        n*k f64
 *   trailer  4 x u64:
 *            head_sum  als_ckpt_hash of header + params + history
 *            u_sum     sum mod 2^64 over the rows i of U of
 *                      mix64(FNV-1a words of (tag 'U', i, the row's k doubles))
 *            v_sum     the same over V (tag 'V')
 *            seal      als_ckpt_hash of the three words before it
 * Version 1 (the same sections, then one u64 checksum of every byte before
 * it) needed one process to read the whole file; version 2's row sums are
 * keyed by the global row and added, so ranks that each own some rows
 * verify U and V together at any P, each reading only its rows. Rank 0
 * writes and verifies header, params, history and trailer; every rank
 * writes and reads its own rows of U and V with MPI-IO.
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
#include <time.h>
#include <unistd.h>

#include "als_exchange.h"
#include "als_kernels.h"
#include "als_output.h"
#include "als_pario.h"

#define CKPT_MAGIC "ALSCKPT1"     /* the family; the version field says 2 */
#define CKPT_VERSION 2u
#define CKPT_TRAILER 32
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
    /* Global part: the same on every rank. */
    uint64_t g = FNV_BASIS;
    int64_t cnt[5] = {d->m, d->n, d->nnz, d->nlinks, d->wnnz};
    double rng[3] = {d->rmin, d->rmax, d->rmean};
    g = hash_words(g, cnt, sizeof cnt);
    g = hash_words(g, rng, sizeof rng);
    /* Per own user row: its raw id, its ratings (item, value) and its W row
     * (user, weight); per own item: its raw id. Each keyed by the global
     * row, mixed and summed mod 2^64: the sum does not depend on how the
     * rows are split over ranks, and no rank needs the whole id maps
     * (user_ids and item_ids are the rank's own slices). */
    uint64_t local = 0;
    for (int64_t t = 0; t < d->u1 - d->u0; t++) {
        uint64_t h = hash_u64(FNV_BASIS, (uint64_t)(d->u0 + t));
        h = hash_u64(h, d->user_ids[t]);
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
    for (int64_t j = d->i0; j < d->i1; j++) {
        uint64_t h = hash_u64(hash_u64(FNV_BASIS, 0x49544d53ULL /* "ITMS" */), (uint64_t)j);
        local += mix64(hash_u64(h, d->item_ids[j - d->i0]));
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
    /* The solver and the implicit model change the factors too. */
    size_t len = strlen(buf);
    char ca[32], ce[32];
    if (o->solver == ALS_SOLVER_CG && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "--solver\tcg\n--cg-steps\t%d\n",
                                o->cg_steps);
    if (o->implicit && len < cap)
        snprintf(buf + len, cap - len, "--implicit\tyes\n--confidence\t%s\n"
                 "--confidence-scale\t%s\n--epsilon\t%s\n", fmt_exact(o->conf.a, ca),
                 o->conf.scale == ALS_CONF_LOG ? "log" : "linear", fmt_exact(o->conf.eps, ce));
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

/* ---- the version 2 layout and its checksums ------------------------------ */

/* Where the sections of a checkpoint start, from its header. */
typedef struct {
    uint64_t plen;          /* params, padded */
    uint64_t head;          /* bytes of header + params + history */
    uint64_t off_u, off_v;  /* first byte of U and of V */
    uint64_t off_trailer;   /* first byte of the trailer */
    uint64_t size;          /* whole file */
} ckpt_layout_t;

static void layout_of(const ckpt_header_t *h, ckpt_layout_t *L)
{
    L->plen = (h->params_len + 7) / 8 * 8;
    L->head = CKPT_HEADER + L->plen + (uint64_t)h->niters * CKPT_HIST_FIELDS * 8;
    L->off_u = L->head;
    L->off_v = L->off_u + (uint64_t)h->m * (uint64_t)h->k * 8;
    L->off_trailer = L->off_v + (uint64_t)h->n * (uint64_t)h->k * 8;
    L->size = L->off_trailer + CKPT_TRAILER;
}

/* Sum over rows [g0, g0 + nrows) (global indices) of one factor (tag 'U' or
 * 'V') of the row hashes keyed by the global row, mod 2^64: the same for any
 * split of the rows over ranks. */
static uint64_t rows_sum(uint64_t tag, int64_t g0, const double *rows, int64_t nrows, int k)
{
    uint64_t s = 0;
    for (int64_t t = 0; t < nrows; t++) {
        uint64_t h = hash_u64(hash_u64(FNV_BASIS, tag), (uint64_t)(g0 + t));
        s += mix64(hash_words(h, rows + t * k, (size_t)k * sizeof *rows));
    }
    return s;
}

/* The seal: the hash of the trailer's first three words. */
static uint64_t seal_of(const uint64_t *tr)
{
    return als_ckpt_hash(tr, 3 * sizeof *tr);
}

/* The header, parameters and history of st as they are stored, into a
 * malloc'ed buffer of L->head bytes (NULL when out of memory). */
static unsigned char *pack_head(const als_ckpt_state_t *st, const als_ckpt_t *c,
                                ckpt_header_t *h, ckpt_layout_t *L)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, CKPT_MAGIC, 8);
    h->version = CKPT_VERSION;
    h->bom = CKPT_BOM;
    h->data_hash = c->data_hash;
    h->param_hash = c->param_hash;
    h->m = st->m;
    h->n = st->n;
    h->k = st->k;
    h->niters = st->niters;
    h->increases = st->increases;
    h->hist_fields = CKPT_HIST_FIELDS;
    h->max_increase = st->max_increase;
    h->initial[0] = st->initial.total;
    h->initial[1] = st->initial.sse;
    h->initial[2] = st->initial.social;
    h->initial[3] = st->initial.reg_u;
    h->initial[4] = st->initial.reg_v;
    h->params_len = strlen(c->params);
    snprintf(h->isa, sizeof h->isa, "%s", c->isa);
    layout_of(h, L);
    unsigned char *b = calloc(1, L->head);
    if (!b)
        return NULL;
    pack_header(h, b);
    memcpy(b + CKPT_HEADER, c->params, h->params_len);
    for (int i = 0; i < st->niters; i++) {
        double r[CKPT_HIST_FIELDS];
        hist_pack(&st->hist[i], r);
        memcpy(b + CKPT_HEADER + L->plen + (size_t)i * sizeof r, r, sizeof r);
    }
    return b;
}

/* ---- writing ------------------------------------------------------------- */

/* Rank 0: an unpredictable temporary name in dir. */
static void tmp_name(const char *dir, char *tmp, size_t cap)
{
    uint64_t r = 0;
    if (getentropy(&r, sizeof r) != 0)
        r = mix64((uint64_t)getpid() ^ ((uint64_t)time(NULL) << 20) ^ (uint64_t)(uintptr_t)tmp);
    snprintf(tmp, cap, "%s/.%s.tmp.%ld.%016" PRIx64, dir, ALS_CKPT_NAME, (long)getpid(), r);
}

/* Append to an agreed error message (the same text on every rank). */
static void err_append(als_err_t *err, const char *text)
{
    size_t l = strlen(err->msg);
    snprintf(err->msg + l, sizeof err->msg - l, "%s", text);
}

int als_ckpt_write_state(MPI_Comm comm, const als_ckpt_state_t *st, als_ckpt_t *c,
                         const char *dir, als_err_t *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    char tmp[ALS_PATH_MAX + 96], cur[ALS_PATH_MAX + 64], prev[ALS_PATH_MAX + 64];
    snprintf(cur, sizeof cur, "%s/%s", dir, ALS_CKPT_NAME);
    snprintf(prev, sizeof prev, "%s/%s", dir, ALS_CKPT_PREV);
    if (rank == 0)
        tmp_name(dir, tmp, sizeof tmp);
    MPI_Bcast(tmp, (int)sizeof tmp, MPI_CHAR, 0, comm);
    c->written++;
#ifdef ALS_FAULT_HOOKS
    int crash = env_int("ALS_TEST_CRASH_IN_CHECKPOINT", 0) == c->written;
#else
    const int crash = 0; /* release build: no fault hooks */
#endif

    ckpt_header_t h;
    ckpt_layout_t L;
    unsigned char *head = pack_head(st, c, &h, &L); /* every rank: the layout */
    if (!head)
        als_err_set(err, ALS_ERR_NOMEM, "checkpoint %s: out of memory", tmp);
    uint64_t tr[CKPT_TRAILER / 8] = {0};
    if (head)
        tr[0] = als_ckpt_hash(head, L.head);
    const int64_t nu = st->u1 - st->u0, nv = st->i1 - st->i0;
    uint64_t part[2] = {rows_sum('U', st->u0, st->Uown, nu, st->k),
                        rows_sum('V', st->i0, st->Vown, nv, st->k)};
    MPI_Allreduce(part, tr + 1, 2, MPI_UINT64_T, MPI_SUM, comm);
    tr[3] = seal_of(tr);

    /* Never rename away something that is not ours. */
    if (rank == 0)
        (void)(check_ours(dir, ALS_CKPT_NAME, err) == ALS_OK && check_ours(dir, ALS_CKPT_PREV, err));
    als_pario_file_t f;
    if (als_err_agree(comm, err) == ALS_OK &&
        als_pario_create(comm, tmp, 0644, (int64_t)L.size, &f, err) == ALS_OK) {
        const int64_t rowb = (int64_t)st->k * 8;
        if (als_pario_write_at(&f, 0, head, rank == 0 ? (int64_t)L.head : 0, err) == ALS_OK &&
            als_pario_write_at(&f, (int64_t)L.off_u + st->u0 * rowb, st->Uown, nu * rowb,
                               err) == ALS_OK) {
            if (crash) {
                /* Test hook: die with the header and U written, like a kill
                 * -9 or a node failure in the middle of the write. */
                MPI_File_sync(f.fh);
                if (rank == 0) {
                    if (c->log) {
                        fprintf(c->log, "ALS_TEST_CRASH_IN_CHECKPOINT: killing the checkpoint "
                                "writer after %" PRIu64 " bytes of %s\n", L.off_v, tmp);
                        fflush(c->log);
                    }
                    raise(SIGKILL);
                }
                MPI_Barrier(comm); /* the others wait to be killed */
            }
            if (als_pario_write_at(&f, (int64_t)L.off_v + st->i0 * rowb, st->Vown, nv * rowb,
                                   err) == ALS_OK)
                als_pario_write_at(&f, (int64_t)L.off_trailer, tr, rank == 0 ? CKPT_TRAILER : 0,
                                   err);
        }
        als_pario_close(&f, 1, err); /* syncs; removes the temporary on error */
    }
    free(head);
    if (err->code != ALS_OK) {
        char tail[ALS_PATH_MAX + 80];
        snprintf(tail, sizeof tail, " (checkpoint not written; the previous checkpoint in %s "
                 "is unchanged)", dir);
        err_append(err, tail);
        return err->code;
    }
    /* Keep the last good one: current -> prev, then tmp -> current. */
    if (rank == 0) {
        if (rename(cur, prev) != 0 && errno != ENOENT) {
            int e = errno;
            unlink(tmp);
            als_err_set(err, ALS_ERR_IO, "checkpoint %s: cannot rename to %s: %s", cur, prev,
                        strerror(e));
        } else if (rename(tmp, cur) != 0) {
            int e = errno;
            unlink(tmp);
            als_err_set(err, ALS_ERR_IO, "checkpoint %s: cannot rename into place: %s "
                        "(%s is the last good checkpoint)", cur, strerror(e), prev);
        } else {
            fsync_dir(dir);
        }
    }
    return als_err_agree(comm, err);
}

int als_ckpt_after_iter_state(MPI_Comm comm, const als_ckpt_state_t *st, als_ckpt_t *c, int it,
                              als_err_t *err)
{
    if (!c || c->every <= 0 || it % c->every != 0)
        return ALS_OK;
    double t0 = MPI_Wtime();
    if (als_ckpt_write_state(comm, st, c, c->dir, err) != ALS_OK)
        return err->code;
    if (c->log) {
        fprintf(c->log, "checkpoint: iteration %d written to %s/%s (%.3f s)\n", it, c->dir,
                ALS_CKPT_NAME, MPI_Wtime() - t0);
        fflush(c->log);
    }
    return ALS_OK;
}

/* ---- the bridge from the replicated solver ------------------------------- */

void als_ckpt_state_from_solver(const als_solver_t *s, als_ckpt_state_t *st)
{
    const als_data_t *d = s->data;
    memset(st, 0, sizeof *st);
    st->m = d->m;
    st->n = d->n;
    st->k = s->k;
    st->u0 = d->u0;
    st->u1 = d->u1;
    st->i0 = d->i0;
    st->i1 = d->i1;
    /* The own rows inside the views (the whole matrices with allgather). */
    st->Uown = s->U + s->pu.own_slot * s->k;
    st->Vown = s->V + s->pv.own_slot * s->k;
    st->hist = s->hist;
    st->niters = s->niters;
    st->initial = s->initial;
    st->max_increase = s->max_increase;
    st->increases = s->increases;
}

int als_ckpt_write(const als_solver_t *s, als_ckpt_t *c, const char *dir, als_err_t *err)
{
    als_ckpt_state_t st;
    als_ckpt_state_from_solver(s, &st);
    return als_ckpt_write_state(s->comm, &st, c, dir, err);
}

int als_ckpt_after_iter(als_solver_t *s, int it, als_err_t *err)
{
    als_ckpt_state_t st;
    als_ckpt_state_from_solver(s, &st);
    return als_ckpt_after_iter_state(s->comm, &st, s->ckpt, it, err);
}

/* ---- reading ------------------------------------------------------------- */

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

/* Read exactly n bytes at offset off. Returns 0 or -1. */
static int pget(int fd, void *p, size_t n, uint64_t off)
{
    char *c = p;
    while (n > 0) {
        size_t piece = n < ((size_t)1 << 28) ? n : ((size_t)1 << 28);
        ssize_t r = pread(fd, c, piece, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* What the reader of the head (rank 0) found. */
typedef struct {
    ckpt_header_t h;
    ckpt_layout_t L;
    uint64_t tr[CKPT_TRAILER / 8];
    char params[ALS_CKPT_PARAMS_MAX + 8];
    als_iter_t *hist;       /* malloc'ed, niters + 1 records */
} ckpt_read_t;

/* The shapes the factors must have. */
typedef struct {
    int64_t m, n;
    int k;
} ckpt_shape_t;

/* Read and verify the head of the checkpoint open on fd: magic, version,
 * size, the checksum of header + params + history and the seal of the
 * trailer (so that damage is never mistaken for a parameter or dataset
 * difference), then parameters, dataset hash and shapes. Local. */
static int read_head(int fd, const char *path, const ckpt_shape_t *t, const als_ckpt_t *c,
                     ckpt_read_t *r, als_err_t *err)
{
    struct stat st;
    unsigned char hb[CKPT_HEADER];
    char magic[8];
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return als_err_set(err, ALS_ERR_FORMAT, "%s: not a regular file", path);
    if (pread(fd, magic, 8, 0) == 8 && memcmp(magic, CKPT_MAGIC, 8) != 0)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: not an als-train checkpoint (bad magic)",
                           path);
    if (fstat(fd, &st) != 0 || st.st_size < CKPT_HEADER + CKPT_TRAILER ||
        pget(fd, hb, sizeof hb, 0))
        return als_err_set(err, ALS_ERR_FORMAT, "%s: truncated checkpoint (%lld bytes)", path,
                           (long long)st.st_size);
    unpack_header(hb, &r->h);
    const ckpt_header_t *x = &r->h;
    if (x->version != CKPT_VERSION || x->bom != CKPT_BOM || x->hist_fields != CKPT_HIST_FIELDS)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: checkpoint version %u (byte order %#x) is "
                           "not version %u of this build", path, x->version, x->bom,
                           CKPT_VERSION);
    if (x->m < 0 || x->n < 0 || x->k <= 0 || x->niters < 0 || x->params_len > ALS_CKPT_PARAMS_MAX ||
        x->m > (INT64_MAX / 16) / x->k || x->n > (INT64_MAX / 16) / x->k)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: corrupted checkpoint header", path);
    layout_of(x, &r->L);
    if ((uint64_t)st.st_size != r->L.size)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: checkpoint is %lld bytes, its header says %"
                           PRIu64 " (truncated or corrupted)", path, (long long)st.st_size,
                           r->L.size);
    unsigned char *head = malloc(r->L.head);
    r->hist = calloc((size_t)x->niters + 1, sizeof *r->hist);
    if (!head || !r->hist) {
        free(head);
        return als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory", path);
    }
    if (pget(fd, head, r->L.head, 0) || pget(fd, r->tr, CKPT_TRAILER, r->L.off_trailer)) {
        free(head);
        return als_err_set(err, ALS_ERR_IO, "%s: read failed", path);
    }
    if (r->tr[3] != seal_of(r->tr) || r->tr[0] != als_ckpt_hash(head, r->L.head)) {
        free(head);
        return als_err_set(err, ALS_ERR_FORMAT, "%s: checksum mismatch (the checkpoint is "
                           "corrupted)", path);
    }
    memset(r->params, 0, sizeof r->params);
    memcpy(r->params, head + CKPT_HEADER, x->params_len);
    for (int i = 0; i < x->niters; i++) {
        double rec[CKPT_HIST_FIELDS];
        memcpy(rec, head + CKPT_HEADER + r->L.plen + (size_t)i * sizeof rec, sizeof rec);
        hist_unpack(rec, &r->hist[i]);
    }
    free(head);
    /* Parameters, dataset and shapes must match before the factors are read
     * (such errors are ALS_ERR_ARG/ALS_ERR_DATA: no fallback). */
    if (x->param_hash != c->param_hash || strcmp(r->params, c->params) != 0) {
        char diff[600];
        params_diff(r->params, c->params, diff, sizeof diff);
        return als_err_set(err, ALS_ERR_ARG, "%s: parameters differ: %s (resume with the same "
                           "parameters, or start a new run)", path, diff);
    }
    if (x->data_hash != c->data_hash)
        return als_err_set(err, ALS_ERR_DATA, "%s: the dataset differs from the one the "
                           "checkpoint was made from (hash %016" PRIx64 ", this run %016" PRIx64
                           ")", path, x->data_hash, c->data_hash);
    if (x->m != t->m || x->n != t->n || x->k != t->k)
        return als_err_set(err, ALS_ERR_DATA, "%s: checkpoint of a %" PRId64 " x %" PRId64
                           " dataset with %d factor columns; this run has %" PRId64 " x %" PRId64
                           " with %d (different dataset or --rank/--bias)", path, x->m, x->n,
                           x->k, t->m, t->n, t->k);
    return ALS_OK;
}

static int row_sums_match(const ckpt_read_t *r, const uint64_t *sums, const char *path,
                          als_err_t *err)
{
    if (sums[0] != r->tr[1] || sums[1] != r->tr[2])
        return als_err_set(err, ALS_ERR_FORMAT, "%s: checksum mismatch in the %s rows (the "
                           "checkpoint is corrupted)", path, sums[0] != r->tr[1] ? "U" : "V");
    return ALS_OK;
}

int als_ckpt_read(const char *path, const als_ckpt_t *c, int64_t m, int64_t n, int k,
                  double *U, double *V, int *niters, als_iter_t **hist, als_err_t *err)
{
    ckpt_read_t r;
    memset(&r, 0, sizeof r);
    const ckpt_shape_t t = {m, n, k};
    *niters = 0;
    *hist = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO must not block */
    if (fd < 0)
        return als_err_set(err, ALS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (read_head(fd, path, &t, c, &r, err) == ALS_OK) {
        if (pget(fd, U, (size_t)(m * k) * 8, r.L.off_u) ||
            pget(fd, V, (size_t)(n * k) * 8, r.L.off_v))
            als_err_set(err, ALS_ERR_IO, "%s: read failed", path);
        else {
            uint64_t sums[2] = {rows_sum('U', 0, U, m, k), rows_sum('V', 0, V, n, k)};
            row_sums_match(&r, sums, path, err);
        }
    }
    close(fd);
    if (err->code != ALS_OK) {
        free(r.hist);
        return err->code;
    }
    *niters = r.h.niters;
    *hist = r.hist;
    return ALS_OK;
}

int als_ckpt_seal(void *img, size_t bytes)
{
    unsigned char *b = img;
    ckpt_header_t h;
    ckpt_layout_t L;
    if (bytes < CKPT_HEADER + CKPT_TRAILER)
        return -1;
    unpack_header(b, &h);
    if (h.m < 0 || h.n < 0 || h.k <= 0 || h.niters < 0 || h.params_len > ALS_CKPT_PARAMS_MAX ||
        h.m > (INT64_MAX / 16) / h.k || h.n > (INT64_MAX / 16) / h.k)
        return -1;
    layout_of(&h, &L);
    if (L.size != bytes)
        return -1;
    uint64_t tr[CKPT_TRAILER / 8];
    tr[0] = als_ckpt_hash(b, L.head);
    /* A row buffer only when there are rows: then L.size == bytes bounds k
     * (an empty image may claim any k). */
    const size_t rowb = (size_t)h.k * 8;
    double *row = h.m + h.n > 0 ? malloc(rowb) : NULL;
    if (h.m + h.n > 0 && !row)
        return -1;
    uint64_t su = 0, sv = 0;
    for (int64_t i = 0; i < h.m; i++) {
        memcpy(row, b + L.off_u + (size_t)i * rowb, rowb);
        su += rows_sum('U', i, row, 1, h.k);
    }
    for (int64_t j = 0; j < h.n; j++) {
        memcpy(row, b + L.off_v + (size_t)j * rowb, rowb);
        sv += rows_sum('V', j, row, 1, h.k);
    }
    free(row);
    tr[1] = su;
    tr[2] = sv;
    tr[3] = seal_of(tr);
    memcpy(b + L.off_trailer, tr, sizeof tr);
    return 0;
}

/* Collective: read and verify one checkpoint file into st. Rank 0 reads
 * the head and broadcasts it; every rank reads its own rows of U and V
 * with MPI-IO and the row checksums are summed over ranks. *missing (every
 * rank) is set when the file does not exist. On success r holds the head on
 * every rank (r->hist only on rank 0). Returns the agreed code. */
static int read_coll(MPI_Comm comm, const char *path, als_ckpt_state_t *st,
                     const als_ckpt_t *c, ckpt_read_t *r, int *missing, als_err_t *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    memset(r, 0, sizeof *r);
    *missing = 0;
    if (rank == 0) {
        const ckpt_shape_t t = {st->m, st->n, st->k};
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO must not block */
        if (fd < 0) {
            *missing = errno == ENOENT;
            als_err_set(err, ALS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        } else {
            read_head(fd, path, &t, c, r, err);
            close(fd);
        }
    }
    MPI_Bcast(missing, 1, MPI_INT, 0, comm);
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    MPI_Bcast(&r->h, (int)sizeof r->h, MPI_BYTE, 0, comm);
    MPI_Bcast(&r->L, (int)sizeof r->L, MPI_BYTE, 0, comm);
    MPI_Bcast(r->tr, CKPT_TRAILER / 8, MPI_UINT64_T, 0, comm);
    als_pario_file_t f;
    if (als_pario_open_read(comm, path, &f, err) != ALS_OK)
        return err->code;
    const int64_t rowb = (int64_t)st->k * 8, nu = st->u1 - st->u0, nv = st->i1 - st->i0;
    if (als_pario_read_at(&f, (int64_t)r->L.off_u + st->u0 * rowb, st->Uown, nu * rowb,
                          err) == ALS_OK &&
        als_pario_read_at(&f, (int64_t)r->L.off_v + st->i0 * rowb, st->Vown, nv * rowb,
                          err) == ALS_OK) {
        uint64_t part[2] = {rows_sum('U', st->u0, st->Uown, nu, st->k),
                            rows_sum('V', st->i0, st->Vown, nv, st->k)}, sums[2];
        MPI_Allreduce(part, sums, 2, MPI_UINT64_T, MPI_SUM, comm);
        if (rank == 0)
            row_sums_match(r, sums, path, err);
        als_err_agree(comm, err);
    }
    return als_pario_close(&f, 0, err);
}

int als_ckpt_restore_state(MPI_Comm comm, als_ckpt_state_t *st, int max_iters, als_ckpt_t *c,
                           const char *dir, als_err_t *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    char cur[ALS_PATH_MAX + 64], prev[ALS_PATH_MAX + 64];
    snprintf(cur, sizeof cur, "%s/%s", dir, ALS_CKPT_NAME);
    snprintf(prev, sizeof prev, "%s/%s", dir, ALS_CKPT_PREV);
    ckpt_read_t r;
    als_err_t e1, e2;
    als_err_clear(&e1);
    als_err_clear(&e2);
    int miss1 = 0, miss2 = 0;
    const char *used = cur;
    /* The errors of read_coll are agreed: the same on every rank, so the
     * fallback below takes the same branch everywhere. */
    if (read_coll(comm, cur, st, c, &r, &miss1, &e1) != ALS_OK && e1.code != ALS_ERR_DATA &&
        e1.code != ALS_ERR_ARG) {
        free(r.hist);
        used = prev;
        if (read_coll(comm, prev, st, c, &r, &miss2, &e2) != ALS_OK) {
            if (miss1 && miss2)
                als_err_set(err, ALS_ERR_IO, "--resume %s: no checkpoint there (%s: %s)", dir,
                            ALS_CKPT_NAME, strerror(ENOENT));
            else
                als_err_set(err, e1.code, "--resume %s: %s%s%s", dir, e1.msg,
                            miss2 ? "" : "; previous checkpoint: ", miss2 ? "" : e2.msg);
        } else if (c->log) {
            fprintf(c->log, "warning: %s; resuming from the previous checkpoint %s\n", e1.msg,
                    prev);
        }
    } else if (e1.code != ALS_OK) {
        als_err_set(err, e1.code, "--resume %s: %s", dir, e1.msg);
    }
    if (err->code != ALS_OK) {
        free(r.hist);
        return err->code;
    }
    const ckpt_header_t *x = &r.h;
    if (x->niters > max_iters) {
        als_err_set(err, ALS_ERR_ARG, "--resume %s: %s holds %d iterations, more than --iters %d",
                    dir, used, x->niters, max_iters);
        free(r.hist);
        return err->code;
    }
    if (c->log) {
        if (strcmp(x->isa, c->isa) != 0)
            fprintf(c->log, "warning: the checkpoint was computed with the %s kernels, this run "
                    "uses %s: results will differ by rounding from an uninterrupted run (set "
                    "ALS_KERNEL_ISA=%s)\n", x->isa, c->isa, x->isa);
        fprintf(c->log, "resume: %s: %d iterations done, continuing at iteration %d\n", used,
                x->niters, x->niters + 1);
        fflush(c->log);
    }
    st->niters = x->niters;
    st->increases = x->increases;
    st->max_increase = x->max_increase;
    st->initial.total = x->initial[0];
    st->initial.sse = x->initial[1];
    st->initial.social = x->initial[2];
    st->initial.reg_u = x->initial[3];
    st->initial.reg_v = x->initial[4];
    /* The history: rank 0's copy (niters + 1 records) to every rank. */
    if (rank != 0) {
        r.hist = calloc((size_t)st->niters + 1, sizeof *r.hist);
        if (!r.hist)
            als_err_set(err, ALS_ERR_NOMEM, "--resume %s: out of memory for the history", dir);
    }
    if (als_err_agree(comm, err) != ALS_OK) {
        free(r.hist);
        return err->code;
    }
    als_bcast_big(comm, r.hist, (int64_t)st->niters * (int64_t)sizeof *r.hist, MPI_BYTE, 0);
    st->hist = r.hist;
    c->resumed_from = st->niters;
    return ALS_OK;
}

int als_ckpt_restore(als_solver_t *s, als_ckpt_t *c, const char *dir, als_err_t *err)
{
    als_ckpt_state_t st;
    als_ckpt_state_from_solver(s, &st);
    if (als_ckpt_restore_state(s->comm, &st, s->opt->iters, c, dir, err) != ALS_OK)
        return err->code;
    if (als_solver_hist_reserve(s, st.niters, err) == ALS_OK)
        memcpy(s->hist, st.hist, (size_t)st.niters * sizeof *s->hist);
    free(st.hist);
    if (als_err_agree(s->comm, err) != ALS_OK)
        return err->code;
    s->niters = st.niters;
    s->increases = st.increases;
    s->max_increase = st.max_increase;
    s->initial = st.initial;
    /* Each rank restored its own rows; the ghosts (or, replicated, every
     * other block) come with one exchange of each matrix. */
    if (als_solver_exchange(s, 0, err) != ALS_OK || als_solver_exchange(s, 1, err) != ALS_OK)
        return err->code;
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
