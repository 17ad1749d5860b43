/* als-gen - synthetic datasets with a planted low-rank model, for weak-scaling
 * studies and for checking that training recovers what was planted.
 *
 *   als-gen --users M --items N [options] --out-ratings FILE [--out-social FILE]
 *   als-gen --users M --items N [options] --out-data DATASET
 *
 * Model: planted factors u*_i, v*_j in R^r with independent N(0, 1/sqrt(r))
 * entries (so u*_i.v*_j has variance 1); rating r_ij = offset + u*_i.v*_j +
 * sigma * N(0, 1), rounded to 4 decimals (noise variance 1e-8/12, negligible).
 * The best achievable test RMSE is therefore sigma (train with --rank >= r).
 * User i rates n_i distinct items drawn uniformly: n_i = R (--distribution
 * const) or a discrete power law n_i = floor(xmin * U^(-1/(G-1))) with xmin =
 * R (G-2)/(G-1) so that the mean is about R (--distribution powerlaw), at
 * least 1 and at most N. With --zipf S the items are drawn instead with
 * probability proportional to 1/rank^S (distinct within a user: draws that
 * repeat an item are redrawn), where the popularity ranks 1..N are assigned to
 * the items by a seeded shuffle (stream S_ZIPF), so popular items are spread
 * over the item ids as in real data; with --zipf a user rates at most N/2
 * items. Social graph (homophily): user i links to D users,
 * the D most similar (cosine of planted factors) among C*D random candidates,
 * weight 1 or the similarity mapped to [0, 1].
 * --implicit (play counts, for implicit-feedback ALS): user i draws
 * min(N, 4 n_i) distinct candidate items uniformly and interacts with the n_i
 * of them with the largest s_ij = u*_i.v*_j + sigma * N(0, 1) (ties: lower
 * item), so which items a user plays carries the planted preference; the
 * value is the play count floor(exp(offset + s_ij)) + 1 (an integer >= 1,
 * capped at 1e9). Without --implicit the output is unchanged.
 *
 * Everything is drawn from counter-based streams keyed by (seed, what, row),
 * so the output depends only on the options, never on buffer sizes. Ratings
 * are streamed user by user; the binary output is written directly (CSR in
 * user order, CSC in item-range passes within --memory), so memory is
 * O(users + items + links), not O(ratings). Raw ids are 1-based (user i is
 * i+1, item j is j+1); items nobody rated do not exist in the dataset, as
 * with text input.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "als.h"
#include "als_binfmt.h"
#include "als_cli.h"

static const char *prog = "als-gen";

typedef struct {
    int64_t m, n, per_user, links, candidates, rank, mem_mb, block;
    int powerlaw, sim_weight, implicit;
    double exponent, sigma, offset, zipf;
    uint64_t seed;
    const char *out_ratings, *out_social, *out_data;
} gen_opts_t;

/* ---- counter-based streams ---------------------------------------------- */

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct {
    uint64_t s;
    int has_spare;
    double spare;
} stream_t;

enum { S_USERF = 1, S_ITEMF, S_COUNT, S_ITEMS, S_NOISE, S_LINKS, S_ZIPF, S_PLAYS };

static void stream_init(stream_t *st, uint64_t seed, int what, uint64_t row)
{
    st->s = mix64(mix64(seed ^ 0x5851f42d4c957f2dULL) + mix64((uint64_t)what * 0x9e3779b97f4a7c15ULL + row));
    st->has_spare = 0;
}

static inline uint64_t next64(stream_t *st)
{
    return mix64(st->s += 0x9e3779b97f4a7c15ULL);
}

/* Uniform in (0, 1). */
static inline double unif(stream_t *st)
{
    return ((double)(next64(st) >> 11) + 0.5) * 0x1.0p-53;
}

static double gauss(stream_t *st)
{
    if (st->has_spare) {
        st->has_spare = 0;
        return st->spare;
    }
    double a = unif(st), b = unif(st);
    double r = sqrt(-2.0 * log(a)), t = 2.0 * M_PI * b;
    st->spare = r * sin(t);
    st->has_spare = 1;
    return r * cos(t);
}

/* ---- the model ------------------------------------------------------------ */

typedef struct {
    const gen_opts_t *o;
    double *U, *V;           /* planted factors m×r, n×r */
    int64_t *items;          /* scratch: one user's items */
    double *zcdf;            /* --zipf: n cumulative popularity weights by rank */
    int64_t *zitem;          /* --zipf: the item of popularity rank t */
    double *vals;            /* scratch: one user's ratings */
    struct play { double s; int64_t j; } *cand; /* scratch (--implicit): n entries */
} model_t;

static void planted(double *F, int64_t rows, int64_t r, uint64_t seed, int what)
{
    double scale = pow((double)r, -0.25);
    for (int64_t t = 0; t < rows; t++) {
        stream_t st;
        stream_init(&st, seed, what, (uint64_t)t);
        for (int64_t c = 0; c < r; c++)
            F[t * r + c] = scale * gauss(&st);
    }
}

static int64_t user_count(const gen_opts_t *o, int64_t u)
{
    int64_t c = o->per_user;
    if (o->powerlaw) {
        stream_t st;
        stream_init(&st, o->seed, S_COUNT, (uint64_t)u);
        double g = o->exponent, xmin = (double)o->per_user * (g - 2.0) / (g - 1.0);
        double x = xmin * pow(unif(&st), -1.0 / (g - 1.0));
        c = x > (double)o->n ? o->n : (int64_t)x;
    }
    if (c < 1)
        c = 1;
    int64_t cap = o->zipf > 0 ? (o->n + 1) / 2 : o->n;
    return c > cap ? cap : c;
}

/* --zipf: the popularity CDF over ranks and the shuffled rank -> item map. */
static int zipf_init(model_t *M)
{
    const gen_opts_t *o = M->o;
    int64_t n = o->n;
    M->zcdf = malloc((size_t)n * sizeof *M->zcdf);
    M->zitem = malloc((size_t)n * sizeof *M->zitem);
    if (!M->zcdf || !M->zitem)
        return -1;
    double acc = 0.0;
    for (int64_t t = 0; t < n; t++) {
        acc += pow((double)(t + 1), -o->zipf);
        M->zcdf[t] = acc;
    }
    for (int64_t t = 0; t < n; t++)
        M->zitem[t] = t;
    stream_t st;
    stream_init(&st, o->seed, S_ZIPF, 0);
    for (int64_t t = n - 1; t > 0; t--) { /* Fisher-Yates */
        int64_t j = (int64_t)(next64(&st) % (uint64_t)(t + 1));
        int64_t x = M->zitem[t];
        M->zitem[t] = M->zitem[j];
        M->zitem[j] = x;
    }
    return 0;
}

/* --zipf: one item drawn by popularity (binary search of the CDF). */
static inline int64_t zipf_draw(const model_t *M, stream_t *st)
{
    double x = unif(st) * M->zcdf[M->o->n - 1];
    int64_t lo = 0, hi = M->o->n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (M->zcdf[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return M->zitem[lo];
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_play_score(const void *a, const void *b)
{
    const struct play *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

static int cmp_play_item(const void *a, const void *b)
{
    const struct play *x = a, *y = b;
    return (x->j > y->j) - (x->j < y->j);
}

static int64_t user_items(model_t *M, int64_t u, int64_t c, int64_t *a);

/* --implicit: the c best of min(n, 4c) candidates, with play counts. */
static int64_t user_plays(model_t *M, int64_t u, int64_t c)
{
    const gen_opts_t *o = M->o;
    int64_t cc = 4 * c < o->n ? 4 * c : o->n;
    user_items(M, u, cc, M->items);
    stream_t ns;
    stream_init(&ns, o->seed, S_PLAYS, (uint64_t)u);
    const double *ui = M->U + u * o->rank;
    for (int64_t t = 0; t < cc; t++) {
        const double *vj = M->V + M->items[t] * o->rank;
        double p = 0.0;
        for (int64_t q = 0; q < o->rank; q++)
            p += ui[q] * vj[q];
        M->cand[t].s = p + o->sigma * gauss(&ns);
        M->cand[t].j = M->items[t];
    }
    qsort(M->cand, (size_t)cc, sizeof *M->cand, cmp_play_score);
    qsort(M->cand, (size_t)c, sizeof *M->cand, cmp_play_item);
    for (int64_t t = 0; t < c; t++) {
        double x = floor(exp(o->offset + M->cand[t].s)) + 1.0;
        M->items[t] = M->cand[t].j;
        M->vals[t] = x > 1e9 ? 1e9 : x;
    }
    return c;
}

/* User u's items (ascending, distinct) and, if vals, ratings. Returns n_u. */
static int64_t user_ratings(model_t *M, int64_t u, int with_values)
{
    const gen_opts_t *o = M->o;
    int64_t c = user_count(o, u);
    if (o->implicit)
        return user_plays(M, u, c);
    user_items(M, u, c, M->items);
    if (with_values) {
        stream_t ns;
        stream_init(&ns, o->seed, S_NOISE, (uint64_t)u);
        const double *ui = M->U + u * o->rank;
        for (int64_t t = 0; t < c; t++) {
            const double *vj = M->V + M->items[t] * o->rank;
            double p = 0.0;
            for (int64_t q = 0; q < o->rank; q++)
                p += ui[q] * vj[q];
            double x = o->offset + p + o->sigma * gauss(&ns);
            double q4 = nearbyint(x * 1e4);
            M->vals[t] = q4 == 0.0 ? 0.0 : q4 / 1e4; /* no -0 */
        }
    }
    return c;
}

/* c distinct items of user u drawn uniformly, ascending, into a. */
static int64_t user_items(model_t *M, int64_t u, int64_t c, int64_t *a)
{
    const gen_opts_t *o = M->o;
    int64_t n = o->n;
    stream_t st;
    stream_init(&st, o->seed, S_ITEMS, (uint64_t)u);
    const int zipf = o->zipf > 0 && !o->implicit;
    if (4 * c > n && !zipf) {
        /* Selection sampling (Knuth's Algorithm S): ascending by construction. */
        int64_t k = 0;
        for (int64_t j = 0; j < n && k < c; j++)
            if ((double)(n - j) * unif(&st) < (double)(c - k))
                a[k++] = j;
    } else {
        int64_t k = 0;
        while (k < c) {
            for (int64_t t = k; t < c; t++)
                a[t] = zipf ? zipf_draw(M, &st) : (int64_t)(next64(&st) % (uint64_t)n);
            qsort(a, (size_t)c, sizeof *a, cmp_i64);
            k = 0;
            for (int64_t t = 0; t < c; t++)
                if (k == 0 || a[t] != a[k - 1])
                    a[k++] = a[t];
        }
    }
    return c;
}

static double cosine(const double *a, const double *b, int64_t r)
{
    double ab = 0, aa = 0, bb = 0;
    for (int64_t q = 0; q < r; q++) {
        ab += a[q] * b[q];
        aa += a[q] * a[q];
        bb += b[q] * b[q];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

typedef struct {
    int64_t f;
    double sim;
} cand_t;

static int cmp_cand(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    if (x->sim != y->sim)
        return x->sim > y->sim ? -1 : 1;
    return (x->f > y->f) - (x->f < y->f);
}

static int cmp_cand_f(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    return (x->f > y->f) - (x->f < y->f);
}

/* User i's out-links (ascending f) into out; returns how many. cand has room
 * for candidates*links entries. */
static int64_t user_links(model_t *M, int64_t i, cand_t *cand, cand_t *out)
{
    const gen_opts_t *o = M->o;
    if (o->links == 0 || o->m < 2)
        return 0;
    stream_t st;
    stream_init(&st, o->seed, S_LINKS, (uint64_t)i);
    int64_t nc = o->candidates * o->links;
    for (int64_t t = 0; t < nc; t++) {
        int64_t f = (int64_t)(next64(&st) % (uint64_t)(o->m - 1));
        f += f >= i; /* never i itself */
        cand[t].f = f;
        cand[t].sim = cosine(M->U + i * o->rank, M->U + f * o->rank, o->rank);
    }
    qsort(cand, (size_t)nc, sizeof *cand, cmp_cand);
    int64_t k = 0;
    for (int64_t t = 0; t < nc && k < o->links; t++)
        if (t == 0 || cand[t].f != cand[t - 1].f)
            out[k++] = cand[t];
    qsort(out, (size_t)k, sizeof *out, cmp_cand_f);
    for (int64_t t = 0; t < k; t++)
        out[t].sim = o->sim_weight ? (out[t].sim + 1.0) / 2.0 : 1.0;
    return k;
}

/* ---- text output ---------------------------------------------------------- */

typedef struct {
    const char *path;
    char tmp[4200];
    FILE *f;
} textout_t;

static int text_open(textout_t *t, const char *path, als_err_t *err)
{
    t->path = path;
    t->f = als_tmpfile_fopen(path, t->tmp, sizeof t->tmp); /* exclusive, never a symlink */
    if (!t->f)
        return als_err_set(err, ALS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    setvbuf(t->f, NULL, _IOFBF, 1 << 22);
    return ALS_OK;
}

static int text_close(textout_t *t, int ok, als_err_t *err)
{
    if (!t->f)
        return ALS_OK;
    int bad = ferror(t->f) || fflush(t->f) != 0 || fsync(fileno(t->f)) != 0;
    bad |= fclose(t->f) != 0;
    t->f = NULL;
    if (ok && bad)
        als_err_set(err, ALS_ERR_IO, "%s: write failed: %s", t->path, strerror(errno));
    if (!ok || bad || rename(t->tmp, t->path) != 0) {
        if (ok && !bad)
            als_err_set(err, ALS_ERR_IO, "%s: cannot rename into place: %s", t->path,
                        strerror(errno));
        unlink(t->tmp);
        return err->code ? err->code : ALS_ERR_IO;
    }
    return ALS_OK;
}

/* Append decimal x to p; returns the new end. */
static char *put_u64(char *p, uint64_t x)
{
    char d[24];
    int k = 0;
    do {
        d[k++] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    while (k)
        *p++ = d[--k];
    return p;
}

/* A value already rounded to 4 decimals, written exactly ("%.4f"). */
static char *put_val4(char *p, double v)
{
    int64_t q = (int64_t)nearbyint(v * 1e4);
    if (q < 0) {
        *p++ = '-';
        q = -q;
    }
    p = put_u64(p, (uint64_t)(q / 10000));
    *p++ = '.';
    int64_t f = q % 10000;
    for (int64_t d = 1000; d; d /= 10)
        *p++ = (char)('0' + (f / d) % 10);
    return p;
}

/* ---- binary output -------------------------------------------------------- */

/* W = S + S^T as CSR over users from the link list (i -> f, s). */
static int build_w(int64_t m, const int64_t *li, const int64_t *lf, const double *lw,
                   int64_t L, int64_t **wptr, int64_t **wcol, double **wval, int64_t *wnnz)
{
    int64_t *ptr = calloc((size_t)m + 1, sizeof *ptr);
    int64_t *col = malloc(((size_t)2 * L + 1) * sizeof *col);
    double *val = malloc(((size_t)2 * L + 1) * sizeof *val);
    int64_t *pos = malloc(((size_t)m + 1) * sizeof *pos);
    if (!ptr || !col || !val || !pos) {
        free(ptr); free(col); free(val); free(pos);
        return -1;
    }
    for (int64_t x = 0; x < L; x++) {
        ptr[li[x] + 1]++;
        ptr[lf[x] + 1]++;
    }
    for (int64_t t = 0; t < m; t++)
        ptr[t + 1] += ptr[t];
    memcpy(pos, ptr, (size_t)m * sizeof *pos);
    for (int64_t x = 0; x < L; x++) {
        col[pos[li[x]]] = lf[x];
        val[pos[li[x]]++] = lw[x];
        col[pos[lf[x]]] = li[x];
        val[pos[lf[x]]++] = lw[x];
    }
    /* Sort each row by column (insertion sort: rows are short), merge equal
     * columns (a mutual link): W_if = s_if + s_fi. */
    int64_t w = 0;
    for (int64_t t = 0; t < m; t++) {
        int64_t a = ptr[t], b = ptr[t + 1];
        for (int64_t x = a + 1; x < b; x++) {
            int64_t c = col[x];
            double v = val[x];
            int64_t y = x;
            while (y > a && col[y - 1] > c) {
                col[y] = col[y - 1];
                val[y] = val[y - 1];
                y--;
            }
            col[y] = c;
            val[y] = v;
        }
        ptr[t] = w;
        for (int64_t x = a; x < b; x++) {
            if (w > ptr[t] && col[w - 1] == col[x]) {
                val[w - 1] += val[x];
            } else {
                col[w] = col[x];
                val[w++] = val[x];
            }
        }
    }
    ptr[m] = w;
    free(pos);
    *wptr = ptr;
    *wcol = col;
    *wval = val;
    *wnnz = w;
    return 0;
}

static int generate(const gen_opts_t *o, als_err_t *err)
{
    double t0 = als_cli_now();
    model_t M = {.o = o};
    int64_t m = o->m, n = o->n, r = o->rank;
    M.U = malloc((size_t)(m * r) * sizeof *M.U);
    M.V = malloc((size_t)(n * r) * sizeof *M.V);
    M.items = malloc((size_t)n * sizeof *M.items);
    M.vals = malloc((size_t)n * sizeof *M.vals);
    M.cand = o->implicit ? malloc((size_t)n * sizeof *M.cand) : NULL;
    int64_t ncand = o->candidates * o->links + 1;
    cand_t *cand = malloc((size_t)ncand * sizeof *cand), *outl = malloc((size_t)ncand * sizeof *outl);
    char *line = malloc(128);
    textout_t tr = {0}, ts = {0};
    als_bin_writer_t *w = NULL;
    int64_t *uptr = NULL, *icnt = NULL, *dense = NULL, *li = NULL, *lf = NULL;
    int64_t *wptr = NULL, *wcol = NULL, *iptr = NULL, *irow = NULL, *ids = NULL;
    double *lw = NULL, *wval = NULL, *ival = NULL;
    int rc = ALS_OK;
    if (!M.U || !M.V || !M.items || !M.vals || !cand || !outl || !line || (o->implicit && !M.cand)) {
        rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory for the planted model");
        goto out;
    }
    if (o->zipf > 0 && zipf_init(&M) != 0) {
        rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory for the --zipf table");
        goto out;
    }
    planted(M.U, m, r, o->seed, S_USERF);
    planted(M.V, n, r, o->seed, S_ITEMF);

    /* Links first (small): every user's out-links, kept for W when writing
     * the binary format, streamed to the social file otherwise. */
    int64_t L = 0;
    if (o->out_social && text_open(&ts, o->out_social, err) != ALS_OK) {
        rc = err->code;
        goto out;
    }
    if (o->links > 0) {
        int64_t cap = o->out_data ? m * o->links : 0;
        if (o->out_data) {
            li = malloc((size_t)(cap + 1) * sizeof *li);
            lf = malloc((size_t)(cap + 1) * sizeof *lf);
            lw = malloc((size_t)(cap + 1) * sizeof *lw);
            if (!li || !lf || !lw) {
                rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory for %" PRId64 " links", cap);
                goto out;
            }
        }
        for (int64_t i = 0; i < m; i++) {
            int64_t k = user_links(&M, i, cand, outl);
            for (int64_t t = 0; t < k; t++) {
                if (o->out_data) {
                    li[L] = i;
                    lf[L] = outl[t].f;
                    lw[L] = outl[t].sim;
                }
                L++;
                if (ts.f) {
                    char wbuf[40];
                    als_cli_fmt_double(wbuf, sizeof wbuf, outl[t].sim);
                    fprintf(ts.f, "%" PRId64 " %" PRId64 " %s\n", i + 1, outl[t].f + 1, wbuf);
                }
            }
        }
    }
    if (ts.f && text_close(&ts, 1, err) != ALS_OK) {
        rc = err->code;
        goto out;
    }

    /* Pass 1 (binary only): counts per user and item. */
    int64_t nnz = 0, nrated = n;
    if (o->out_data) {
        uptr = malloc((size_t)(m + 1) * sizeof *uptr);
        icnt = calloc((size_t)n + 1, sizeof *icnt);
        dense = malloc((size_t)n * sizeof *dense);
        if (!uptr || !icnt || !dense) {
            rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory for the row counts");
            goto out;
        }
        uptr[0] = 0;
        for (int64_t u = 0; u < m; u++) {
            int64_t c = user_ratings(&M, u, 0);
            for (int64_t t = 0; t < c; t++)
                icnt[M.items[t]]++;
            uptr[u + 1] = uptr[u] + c;
        }
        nnz = uptr[m];
        nrated = 0;
        for (int64_t j = 0; j < n; j++)
            dense[j] = icnt[j] ? nrated++ : -1;
        iptr = malloc((size_t)(nrated + 1) * sizeof *iptr);
        ids = malloc((size_t)(m > n ? m : n) * sizeof *ids);
        if (!iptr || !ids) {
            rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory for the row counts");
            goto out;
        }
        iptr[0] = 0;
        for (int64_t j = 0; j < n; j++)
            if (icnt[j])
                iptr[dense[j] + 1] = iptr[dense[j]] + icnt[j];
        int64_t wnnz = 0;
        if (build_w(m, li, lf, lw, L, &wptr, &wcol, &wval, &wnnz) != 0) {
            rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory for the social graph");
            goto out;
        }
        free(li); free(lf); free(lw);
        li = lf = NULL;
        lw = NULL;
        if (als_bin_writer_open(&w, o->out_data, m, nrated, nnz, wnnz, (uint64_t)o->block, err))
            goto fail;
        for (int64_t u = 0; u < m; u++)
            ids[u] = (uint64_t)u + 1;
        if (als_bin_writer_put(w, ALS_SEC_USER_IDS, ids, m, err))
            goto fail;
        int64_t k = 0;
        for (int64_t j = 0; j < n; j++)
            if (icnt[j])
                ids[k++] = j + 1;
        if (als_bin_writer_put(w, ALS_SEC_ITEM_IDS, ids, nrated, err) ||
            als_bin_writer_put(w, ALS_SEC_UPTR, uptr, m + 1, err) ||
            als_bin_writer_put(w, ALS_SEC_IPTR, iptr, nrated + 1, err) ||
            als_bin_writer_put(w, ALS_SEC_WPTR, wptr, m + 1, err) ||
            als_bin_writer_put(w, ALS_SEC_WCOL, wcol, wnnz, err) ||
            als_bin_writer_put(w, ALS_SEC_WVAL, wval, wnnz, err))
            goto fail;
        free(wptr); free(wcol); free(wval);
        wptr = wcol = NULL;
        wval = NULL;
    }

    /* Pass 2..: stream the ratings. Each pass fills the CSC of an item range
     * [ja, jb) (dense items) that fits the memory budget; the first pass also
     * writes the text file and the CSR. */
    if (o->out_ratings && text_open(&tr, o->out_ratings, err) != ALS_OK) {
        rc = err->code;
        goto out;
    }
    double rmin = INFINITY, rmax = -INFINITY, sum = 0.0;
    int64_t budget = o->mem_mb * ((int64_t)1 << 20) / 16, ja = 0, passes = 0, total = 0;
    int64_t *cur = NULL;
    do {
        int64_t jb = nrated;
        if (o->out_data) {
            jb = ja + 1;
            while (jb < nrated && iptr[jb + 1] - iptr[ja] <= budget)
                jb++;
            int64_t len = iptr[jb] - iptr[ja];
            free(irow); free(ival); free(cur);
            irow = malloc((size_t)(len + 1) * sizeof *irow);
            ival = malloc((size_t)(len + 1) * sizeof *ival);
            cur = malloc((size_t)(jb - ja + 1) * sizeof *cur);
            if (!irow || !ival || !cur) {
                rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory for %" PRId64 " ratings of "
                                 "the item range (lower --memory)", len);
                free(cur);
                goto out;
            }
            for (int64_t j = ja; j < jb; j++)
                cur[j - ja] = iptr[j] - iptr[ja];
        }
        for (int64_t u = 0; u < m; u++) {
            int64_t c = user_ratings(&M, u, 1);
            if (passes == 0) {
                total += c;
                for (int64_t t = 0; t < c; t++) {
                    double v = M.vals[t];
                    rmin = v < rmin ? v : rmin;
                    rmax = v > rmax ? v : rmax;
                    sum += v;
                }
                if (tr.f) {
                    for (int64_t t = 0; t < c; t++) {
                        char *p = put_u64(line, (uint64_t)u + 1);
                        *p++ = ' ';
                        p = put_u64(p, (uint64_t)M.items[t] + 1);
                        *p++ = ' ';
                        p = put_val4(p, M.vals[t]);
                        *p++ = '\n';
                        fwrite(line, 1, (size_t)(p - line), tr.f);
                    }
                }
                if (w) {
                    for (int64_t t = 0; t < c; t++)
                        M.items[t] = dense[M.items[t]];
                    if (als_bin_writer_put(w, ALS_SEC_UCOL, M.items, c, err) ||
                        als_bin_writer_put(w, ALS_SEC_UVAL, M.vals, c, err)) {
                        free(cur);
                        goto fail;
                    }
                } else {
                    continue;
                }
            } else {
                for (int64_t t = 0; t < c; t++)
                    M.items[t] = dense[M.items[t]];
            }
            for (int64_t t = 0; t < c; t++) {
                int64_t j = M.items[t];
                if (j >= ja && j < jb) {
                    int64_t x = cur[j - ja]++;
                    irow[x] = u;
                    ival[x] = M.vals[t];
                }
            }
        }
        if (w) {
            int64_t len = iptr[jb] - iptr[ja];
            if (als_bin_writer_put(w, ALS_SEC_IROW, irow, len, err) ||
                als_bin_writer_put(w, ALS_SEC_IVAL, ival, len, err)) {
                free(cur);
                goto fail;
            }
        }
        passes++;
        ja = jb;
    } while (o->out_data && ja < nrated);
    free(cur);
    if (tr.f && text_close(&tr, 1, err) != ALS_OK) {
        rc = err->code;
        goto out;
    }
    if (w) {
        als_data_stats_t st = {.ratings_read = nnz, .links_read = L};
        rc = als_bin_writer_finish(w, L, rmin, rmax, sum / (double)nnz, &st, err);
        w = NULL;
        if (rc != ALS_OK)
            goto out;
    }
    printf("users: %" PRId64 "  items rated: %" PRId64 " of %" PRId64 "  ratings: %" PRId64
           "  social_links: %" PRId64 "\n", m, nrated, n, total, L);
    if (o->implicit)
        printf("play counts (--implicit): [%g, %g]  mean: %.4f  planted rank: %" PRId64 "  score "
               "noise sigma: %g\n", rmin, rmax, sum / (double)total, r, o->sigma);
    else
        printf("rating range: [%g, %g]  mean: %.4f  planted rank: %" PRId64 "  noise sigma: %g "
               "(best achievable RMSE)\n", rmin, rmax, sum / (double)total, r, o->sigma);
    printf("%.3f s, %" PRId64 " rating pass%s\n", als_cli_now() - t0, passes, passes == 1 ? "" : "es");
    goto out;
fail:
    rc = err->code;
out:
    if (rc != ALS_OK) {
        text_close(&tr, 0, err);
        text_close(&ts, 0, err);
        als_bin_writer_abort(w);
    }
    free(M.U); free(M.V); free(M.items); free(M.vals); free(M.zcdf); free(M.zitem); free(M.cand); free(cand); free(outl); free(line);
    free(uptr); free(icnt); free(dense); free(li); free(lf); free(lw); free(wptr); free(wcol);
    free(wval); free(iptr); free(irow); free(ival); free(ids);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
"Usage: %s --users M --items N [options] --out-ratings FILE [--out-social FILE]\n"
"       %s --users M --items N [options] --out-data DATASET\n"
"\n"
"Synthetic ratings from a planted rank-r model plus Gaussian noise, and a\n"
"social graph with homophily. Reproducible: the output depends only on the\n"
"options (and --seed). The best achievable test RMSE is --sigma.\n"
"\n"
"  --users M              users (every user rates at least one item)\n"
"  --items N              items (raw ids 1..N; unrated items are left out)\n"
"  --ratings-per-user R   ratings per user (mean for powerlaw; default 20)\n"
"  --distribution D       const (default) or powerlaw\n"
"  --exponent G           power-law exponent, P(n) ~ n^-G, G > 2 (default 2.5)\n"
"  --zipf S               item popularity ~ 1/rank^S (S > 0; ranks shuffled over\n"
"                         the item ids by the seed); default: uniform items\n"
"  --rank r               planted rank (default 5)\n"
"  --sigma S              noise standard deviation (default 0.5)\n"
"  --offset MU            added to every rating (default 0; a rank-r model then\n"
"                         needs rank r+1 or biases to fit it)\n"
"  --links-per-user D     out-links per user (default 0: no social graph)\n"
"  --candidates C         homophily: the D most similar of C*D random users (default 10)\n"
"  --link-weight W        one (default) or similarity ((cos + 1) / 2)\n"
"  --implicit             play counts instead of ratings: each user plays the R\n"
"                         best-scoring (planted score + sigma noise) of 4R random\n"
"                         items, count floor(exp(offset + score)) + 1\n"
"  --seed S               seed (default 1)\n"
"  --out-ratings FILE     ratings as text 'user item rating' (streamed)\n"
"  --out-social FILE      links as text 'i f weight'\n"
"  --out-data DATASET     the binary dataset of als-partition, written directly\n"
"  --memory MB            buffer for the item-ordered copy of the ratings when\n"
"                         writing --out-data (default 1024; more passes if smaller)\n"
"  --block-size BYTES     checksum block size of --out-data (default 1048576)\n"
"  --help\n"
"\n"
"Replicas (1/500 of 100M users x 10M items x 1B ratings x 1B links; add\n"
"--zipf 1 for the skewed variant):\n"
"  %s --users 200000 --items 20000 --ratings-per-user 10 --links-per-user 10 \\\n"
"           [--zipf 1] --out-data replica.bin\n"
"(10 out-links per user: 2M links; W = S + S^T has up to 4M entries.)\n"
"Example: %s --users 100000 --items 20000 --ratings-per-user 200 --rank 10 \\\n"
"           --links-per-user 10 --out-data big.bin\n", prog, prog, prog, prog);
}

int main(int argc, char **argv)
{
    enum { O_USERS = 256, O_ITEMS, O_PER, O_DIST, O_EXP, O_RANK, O_SIGMA, O_OFFSET, O_LINKS,
           O_CAND, O_LW, O_SEED, O_OR, O_OS, O_OD, O_MEM, O_BLOCK, O_HELP, O_ZIPF, O_IMPLICIT };
    static const struct option longopts[] = {
        {"users", required_argument, NULL, O_USERS},
        {"items", required_argument, NULL, O_ITEMS},
        {"ratings-per-user", required_argument, NULL, O_PER},
        {"distribution", required_argument, NULL, O_DIST},
        {"exponent", required_argument, NULL, O_EXP},
        {"zipf", required_argument, NULL, O_ZIPF},
        {"rank", required_argument, NULL, O_RANK},
        {"sigma", required_argument, NULL, O_SIGMA},
        {"offset", required_argument, NULL, O_OFFSET},
        {"links-per-user", required_argument, NULL, O_LINKS},
        {"candidates", required_argument, NULL, O_CAND},
        {"link-weight", required_argument, NULL, O_LW},
        {"seed", required_argument, NULL, O_SEED},
        {"out-ratings", required_argument, NULL, O_OR},
        {"out-social", required_argument, NULL, O_OS},
        {"out-data", required_argument, NULL, O_OD},
        {"memory", required_argument, NULL, O_MEM},
        {"block-size", required_argument, NULL, O_BLOCK},
        {"implicit", no_argument, NULL, O_IMPLICIT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    gen_opts_t o = {.m = 0, .n = 0, .per_user = 20, .links = 0, .candidates = 10, .rank = 5,
                    .mem_mb = 1024, .block = (int64_t)ALS_BIN_BLOCK_DEFAULT, .exponent = 2.5,
                    .sigma = 0.5, .offset = 0.0, .seed = 1};
    als_err_t err;
    als_err_clear(&err);
    opterr = 0;
    int c;
    const int64_t big = (int64_t)1 << 40;
    while (err.code == ALS_OK && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case O_USERS: als_cli_int64("--users", optarg, 1, big, &o.m, &err); break;
        case O_ITEMS: als_cli_int64("--items", optarg, 1, big, &o.n, &err); break;
        case O_PER: als_cli_int64("--ratings-per-user", optarg, 1, big, &o.per_user, &err); break;
        case O_DIST:
            if (strcmp(optarg, "const") == 0) o.powerlaw = 0;
            else if (strcmp(optarg, "powerlaw") == 0) o.powerlaw = 1;
            else als_err_set(&err, ALS_ERR_ARG, "--distribution: '%s' is not one of const, powerlaw", optarg);
            break;
        case O_ZIPF: als_cli_double("--zipf", optarg, 1e-6, 100, &o.zipf, &err); break;
        case O_EXP: als_cli_double("--exponent", optarg, 2.01, 100, &o.exponent, &err); break;
        case O_RANK: als_cli_int64("--rank", optarg, 1, 1024, &o.rank, &err); break;
        case O_SIGMA: als_cli_double("--sigma", optarg, 0, 1e6, &o.sigma, &err); break;
        case O_OFFSET: als_cli_double("--offset", optarg, -1e6, 1e6, &o.offset, &err); break;
        case O_LINKS: als_cli_int64("--links-per-user", optarg, 0, 100000, &o.links, &err); break;
        case O_CAND: als_cli_int64("--candidates", optarg, 1, 10000, &o.candidates, &err); break;
        case O_LW:
            if (strcmp(optarg, "one") == 0) o.sim_weight = 0;
            else if (strcmp(optarg, "similarity") == 0) o.sim_weight = 1;
            else als_err_set(&err, ALS_ERR_ARG, "--link-weight: '%s' is not one of one, similarity", optarg);
            break;
        case O_SEED: als_cli_u64("--seed", optarg, &o.seed, &err); break;
        case O_OR: o.out_ratings = optarg; break;
        case O_OS: o.out_social = optarg; break;
        case O_OD: o.out_data = optarg; break;
        case O_MEM: als_cli_int64("--memory", optarg, 1, (int64_t)1 << 30, &o.mem_mb, &err); break;
        case O_BLOCK:
            if (als_cli_int64("--block-size", optarg, 8, (int64_t)1 << 30, &o.block, &err) == ALS_OK &&
                o.block % 8)
                als_err_set(&err, ALS_ERR_ARG, "--block-size: %s is not a multiple of 8", optarg);
            break;
        case O_IMPLICIT: o.implicit = 1; break;
        case O_HELP: usage(stdout); return 0;
        case ':': als_err_set(&err, ALS_ERR_ARG, "%s: missing value (see --help)", argv[optind - 1]); break;
        default: als_err_set(&err, ALS_ERR_ARG, "unknown option '%s' (see --help)", argv[optind - 1]); break;
        }
    }
    if (err.code == ALS_OK && o.implicit && o.zipf > 0)
        als_err_set(&err, ALS_ERR_ARG, "--zipf and --implicit cannot be combined (the play "
                    "model draws its candidates uniformly)");
    if (err.code == ALS_OK && optind < argc)
        als_err_set(&err, ALS_ERR_ARG, "unexpected argument '%s' (see --help)", argv[optind]);
    if (err.code == ALS_OK) {
        if (!o.m || !o.n)
            als_err_set(&err, ALS_ERR_ARG, "--users and --items are required (see --help)");
        else if (!o.out_ratings && !o.out_data)
            als_err_set(&err, ALS_ERR_ARG, "give --out-ratings FILE and/or --out-data DATASET");
        else if (o.out_social && !o.links)
            als_err_set(&err, ALS_ERR_ARG, "--out-social needs --links-per-user D > 0");
        else if (o.links && !o.out_social && !o.out_data)
            als_err_set(&err, ALS_ERR_ARG, "--links-per-user needs --out-social FILE (or --out-data)");
        else if (o.links >= o.m)
            als_err_set(&err, ALS_ERR_ARG, "--links-per-user %" PRId64 ": must be below --users",
                        o.links);
    }
    if (err.code != ALS_OK)
        return als_cli_fail(prog, &err);
    if (generate(&o, &err) != ALS_OK)
        return als_cli_fail(prog, &err);
    return 0;
}
