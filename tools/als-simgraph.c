/* als-simgraph - similarity weights from co-ratings (DESIGN.md §4).
 *
 *   als-simgraph --ratings FILE --trust FILE --measure pcc|vss --out FILE
 *   als-simgraph --ratings FILE --measure pcc|vss --top-k K --out FILE
 *
 * Over the co-rated items C = Ω_i ∩ Ω_f of users i and f:
 *   VSS = Σ_C r_ij r_fj / (√Σ_C r_ij² √Σ_C r_fj²), clipped below at 0 (it is
 *         already in [0, 1] for non-negative rating scales);
 *   PCC = Σ_C (r_ij − r̄_i)(r_fj − r̄_f) / (√Σ_C (r_ij − r̄_i)² √Σ_C (r_fj − r̄_f)²),
 *         with r̄_i the mean of ALL of user i's ratings (Ma et al.), mapped to
 *         [0, 1] by (x + 1) / 2.
 * Duplicate (user, item) ratings are merged into their mean first.
 *
 * The |C| < 2 case (and, generally, |C| < --min-common, default 2), and a
 * zero denominator (no variation over C): the similarity is undefined. With
 * a trust file such a link is dropped and counted (default), or kept with
 * the weight --fallback W. One co-rated item cannot measure a correlation:
 * PCC would be ±1 from a single product's sign, VSS 1 for any two positive
 * ratings. In top-K mode only pairs with a defined similarity are candidates.
 *
 * With --trust, each link "i f" of the file (in file order; self-links are
 * dropped as by als-train) becomes "i f s_if". Without, each user gets out-links
 * to its K most similar users (ties: smaller raw id first). Output: the social
 * file format "i f s_if", written atomically.
 *
 * Cost. --trust: one merge of the two item-sorted rows per link; when one row
 * is much longer (a hub), the shorter row's items are found in the longer by
 * galloping search, so a link costs O(short · log long), not the hub's length.
 * --top-k: co-raters are accumulated through the item columns, O(Σ_j n_j²);
 * an item with more than --max-item-raters N raters (default 2000) counts
 * only for pairs of users both in its deterministic sample of N raters (the
 * N with the smallest splitmix64 hash of their raw id), so one item rated by
 * everyone costs N² instead of m². The K best are kept by a bounded heap (no
 * full sort). Under mpirun each rank handles a block of users (top-K) or of
 * links (trust); the output file is the same for any number of ranks.
 */
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "als.h"
#include "als_cli.h"

static const char *prog = "als-simgraph";

typedef struct {
    const als_global_t *g;
    double *mean;      /* r̄_i */
    int pcc;
    int64_t min_common;
} sim_ctx_t;

/* Similarity from the co-rating sums; returns 0 when undefined. */
static int finish(const sim_ctx_t *c, int64_t nc, double sxy, double sxx, double syy, double *s)
{
    if (nc < c->min_common || !(sxx > 0) || !(syy > 0))
        return 0;
    double x = sxy / (sqrt(sxx) * sqrt(syy));
    if (c->pcc)
        x = (x + 1.0) / 2.0;
    *s = x < 0 ? 0 : (x > 1 ? 1 : x);
    return 1;
}

/* First position in [lo, hi) of the sorted col[] with col[pos] >= key,
 * galloping from lo (cheap when the key is near). */
static int64_t gallop(const int64_t *col, int64_t lo, int64_t hi, int64_t key)
{
    int64_t step = 1, prev = lo;
    while (lo < hi && col[lo] < key) {
        prev = lo + 1;
        lo += step;
        step *= 2;
    }
    if (lo > hi)
        lo = hi;
    while (prev < lo) { /* binary search in [prev, lo) */
        int64_t mid = prev + (lo - prev) / 2;
        if (col[mid] < key)
            prev = mid + 1;
        else
            lo = mid;
    }
    return lo;
}

/* Similarity of dense users i and f over their item-sorted rows: a linear
 * merge, or (one row 8 times longer or more) a galloping search of the
 * shorter row's items in the longer. Both visit the co-rated items in item
 * order, so the sums, hence the bits, are the same. */
static int pair_sim(const sim_ctx_t *c, int64_t i, int64_t f, int64_t *nco, double *s)
{
    const als_global_t *g = c->g;
    int64_t a = g->uptr[i], ae = g->uptr[i + 1], b = g->uptr[f], be = g->uptr[f + 1], nc = 0;
    double mi = c->pcc ? c->mean[i] : 0.0, mf = c->pcc ? c->mean[f] : 0.0;
    double sxy = 0, sxx = 0, syy = 0;
    int64_t la = ae - a, lb = be - b;
    if (la >= 8 * lb || lb >= 8 * la) {
        int swap = la < lb; /* walk the short row s, search the long row l */
        int64_t s0 = swap ? a : b, s1 = swap ? ae : be, l0 = swap ? b : a, l1 = swap ? be : ae;
        for (int64_t t = s0; t < s1 && l0 < l1; t++) {
            l0 = gallop(g->ucol, l0, l1, g->ucol[t]);
            if (l0 < l1 && g->ucol[l0] == g->ucol[t]) {
                int64_t xa = swap ? t : l0, xb = swap ? l0 : t;
                double x = g->uval[xa] - mi, y = g->uval[xb] - mf;
                sxy += x * y;
                sxx += x * x;
                syy += y * y;
                nc++;
                l0++;
            }
        }
    } else {
        while (a < ae && b < be) {
            if (g->ucol[a] < g->ucol[b]) {
                a++;
            } else if (g->ucol[a] > g->ucol[b]) {
                b++;
            } else {
                double x = g->uval[a++] - mi, y = g->uval[b++] - mf;
                sxy += x * y;
                sxx += x * x;
                syy += y * y;
                nc++;
            }
        }
    }
    *nco = nc;
    return finish(c, nc, sxy, sxx, syy, s);
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct {
    uint64_t h;
    int64_t x; /* position in the item column */
} hpos_t;

static int cmp_hpos(const void *p, const void *q)
{
    const hpos_t *a = p, *b = q;
    return a->h < b->h ? -1 : a->h > b->h ? 1 : (a->x > b->x) - (a->x < b->x);
}

/* Mark in keep[] (one flag per CSC entry) the raters that count for each
 * item: all of them, or for an item with more than cap raters the cap with
 * the smallest hash of their raw user id. Returns the number of capped items,
 * or -1 when out of memory. */
static int64_t sample_raters(const als_global_t *g, int64_t cap, unsigned char *keep)
{
    int64_t capped = 0, most = 0;
    for (int64_t j = 0; j < g->n; j++)
        if (g->iptr[j + 1] - g->iptr[j] > most)
            most = g->iptr[j + 1] - g->iptr[j];
    hpos_t *hp = most > cap ? malloc((size_t)most * sizeof *hp) : NULL;
    if (most > cap && !hp)
        return -1;
    for (int64_t j = 0; j < g->n; j++) {
        int64_t lo = g->iptr[j], nj = g->iptr[j + 1] - lo;
        if (nj <= cap) {
            memset(keep + lo, 1, (size_t)nj);
            continue;
        }
        capped++;
        for (int64_t t = 0; t < nj; t++)
            hp[t] = (hpos_t){mix64(g->user_ids[g->irow[lo + t]]), lo + t};
        qsort(hp, (size_t)nj, sizeof *hp, cmp_hpos);
        memset(keep + lo, 0, (size_t)nj);
        for (int64_t t = 0; t < cap; t++)
            keep[hp[t].x] = 1;
    }
    free(hp);
    return capped;
}

/* Position of user i's rating in item j's CSC column (sorted by user). */
static int64_t csc_find(const als_global_t *g, int64_t j, int64_t i)
{
    int64_t lo = g->iptr[j], hi = g->iptr[j + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (g->irow[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Append to a growing text buffer. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} tbuf_t;

static void tb_printf(tbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(tbuf_t *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    if (b->cap - b->len < 256) {
        size_t cap = b->cap ? 2 * b->cap : 1 << 16;
        char *x = realloc(b->s, cap);
        if (!x) {
            b->failed = 1;
            return;
        }
        b->s = x;
        b->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void usage(FILE *out)
{
    fprintf(out,
"Usage: %s --ratings FILE [--trust FILE] --measure pcc|vss --out FILE [options]\n"
"\n"
"Similarity weights from co-rated items (Ma et al.; DESIGN.md section 4), written\n"
"in the social-file format 'i f s_if' for als-train --social.\n"
"\n"
"  --ratings FILE      ratings (any format als-train reads)\n"
"  --value-column C    0-based column of the rating (default 2)\n"
"  --trust FILE        weight these links: s_if = sim(i, f) for each 'i f' line\n"
"  --top-k K           without --trust: link each user to its K most similar users\n"
"                      (default 10)\n"
"  --measure M         pcc (Pearson over co-rated items, user means over all their\n"
"                      ratings, mapped to [0,1] by (x+1)/2) or vss (cosine)\n"
"  --min-common N      fewest co-rated items for a defined similarity (default 2,\n"
"                      the least that can measure anything; N >= 1)\n"
"  --fallback W        with --trust: weight of links whose similarity is undefined\n"
"                      (fewer than N co-rated items, or no variation); default:\n"
"                      drop such links (they are counted)\n"
"  --max-item-raters N with --top-k: an item with more raters counts only for\n"
"                      pairs within a deterministic sample of N of them (default\n"
"                      2000; 0 = no cap, O(n_j^2) per item)\n"
"  --out FILE          output social file (written atomically)\n"
"Under mpirun the users (top-k) or links (trust) are split over the ranks; the\n"
"output is the same.\n"
"  --help\n", prog);
}

/* Print the (agreed) error on rank 0, finalize, return the exit status. */
static int leave(int rank, const als_err_t *err)
{
    int code = err->code == ALS_ERR_ARG ? 2 : 1;
    if (rank == 0)
        als_cli_fail(prog, err);
    MPI_Finalize();
    return code;
}

int main(int argc, char **argv)
{
    if (als_mpi_init(&argc, &argv, prog, NULL) != 0)
        return 1;
    MPI_Comm comm = MPI_COMM_WORLD;
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    enum { O_RATINGS = 256, O_VALCOL, O_TRUST, O_TOPK, O_MEASURE, O_MIN, O_FALLBACK, O_OUT, O_CAP,
           O_HELP };
    static const struct option longopts[] = {
        {"ratings", required_argument, NULL, O_RATINGS},
        {"value-column", required_argument, NULL, O_VALCOL},
        {"trust", required_argument, NULL, O_TRUST},
        {"top-k", required_argument, NULL, O_TOPK},
        {"measure", required_argument, NULL, O_MEASURE},
        {"min-common", required_argument, NULL, O_MIN},
        {"fallback", required_argument, NULL, O_FALLBACK},
        {"out", required_argument, NULL, O_OUT},
        {"max-item-raters", required_argument, NULL, O_CAP},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    const char *ratings = NULL, *trust = NULL, *out = NULL;
    int64_t valcol = 2, topk = 10, min_common = 2, maxr = 2000;
    int measure = -1, topk_given = 0, have_fallback = 0;
    double fallback = 0.0;
    als_err_t err;
    als_err_clear(&err);
    opterr = 0;
    int c;
    while (err.code == ALS_OK && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case O_RATINGS: ratings = optarg; break;
        case O_TRUST: trust = optarg; break;
        case O_OUT: out = optarg; break;
        case O_VALCOL: als_cli_int64("--value-column", optarg, 2, 1000, &valcol, &err); break;
        case O_TOPK: als_cli_int64("--top-k", optarg, 1, 1 << 20, &topk, &err); topk_given = 1; break;
        case O_MIN: als_cli_int64("--min-common", optarg, 1, 1 << 30, &min_common, &err); break;
        case O_CAP: als_cli_int64("--max-item-raters", optarg, 0, INT64_MAX / 2, &maxr, &err); break;
        case O_FALLBACK:
            als_cli_double("--fallback", optarg, 0, 1e300, &fallback, &err);
            have_fallback = 1;
            break;
        case O_MEASURE:
            if (strcmp(optarg, "pcc") == 0) measure = 1;
            else if (strcmp(optarg, "vss") == 0) measure = 0;
            else als_err_set(&err, ALS_ERR_ARG, "--measure: '%s' is not one of pcc, vss", optarg);
            break;
        case O_HELP:
            if (rank == 0)
                usage(stdout);
            MPI_Finalize();
            return 0;
        case ':': als_err_set(&err, ALS_ERR_ARG, "%s: missing value (see --help)", argv[optind - 1]); break;
        default: als_err_set(&err, ALS_ERR_ARG, "unknown option '%s' (see --help)", argv[optind - 1]); break;
        }
    }
    if (err.code == ALS_OK && optind < argc)
        als_err_set(&err, ALS_ERR_ARG, "unexpected argument '%s' (see --help)", argv[optind]);
    if (err.code == ALS_OK) {
        if (!ratings || !out || measure < 0)
            als_err_set(&err, ALS_ERR_ARG, "--ratings FILE, --measure pcc|vss and --out FILE are "
                        "required (see --help)");
        else if (trust && topk_given)
            als_err_set(&err, ALS_ERR_ARG, "--top-k is for use without --trust");
        else if (!trust && have_fallback)
            als_err_set(&err, ALS_ERR_ARG, "--fallback is for use with --trust");
    }
    if (err.code != ALS_OK)
        return leave(rank, &err);

    double t0 = als_cli_now();
    als_triplets_t r, s;
    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    als_text_opts_t topts = {.value_col = (int)valcol};
    als_global_t g;
    memset(&g, 0, sizeof g);
    int rc = als_text_read(ratings, ALS_TEXT_RATINGS, &topts, &r, &err);
    if (rc == ALS_OK && trust)
        rc = als_text_read(trust, ALS_TEXT_SOCIAL, NULL, &s, &err);
    /* Users from the ratings only: trust endpoints without ratings have no
     * co-ratings. Duplicate pairs are merged into their mean. */
    if (rc == ALS_OK)
        rc = als_global_build(&r, NULL, ALS_DUP_MEAN, ratings, &g, &err);
    als_triplets_free(&r);
    if (als_err_agree(comm, &err) != ALS_OK) {
        als_triplets_free(&s);
        als_global_free(&g);
        return leave(rank, &err);
    }
    int64_t m = g.m;
    sim_ctx_t ctx = {.g = &g, .pcc = measure, .min_common = min_common};
    ctx.mean = malloc((size_t)(m + 1) * sizeof *ctx.mean);
    if (!ctx.mean) {
        als_err_set(&err, ALS_ERR_NOMEM, "out of memory");
        return leave(rank, &err); /* the same sizes on every rank */
    }
    for (int64_t i = 0; i < m; i++) {
        double sum = 0;
        for (int64_t x = g.uptr[i]; x < g.uptr[i + 1]; x++)
            sum += g.uval[x];
        ctx.mean[i] = g.uptr[i + 1] > g.uptr[i] ? sum / (double)(g.uptr[i + 1] - g.uptr[i]) : 0;
    }
    tbuf_t o = {0};
    int64_t written = 0, undefined = 0, few = 0, flat = 0, capped = 0;
    char wb[40];
    if (trust) {
        int64_t x0 = s.n * rank / nranks, x1 = s.n * (rank + 1) / nranks;
        for (int64_t x = x0; x < x1; x++) {
            int64_t i = als_id_find(g.user_ids, m, s.row[x]);
            int64_t f = als_id_find(g.user_ids, m, s.col[x]);
            double sim = 0;
            int64_t nc = 0;
            int ok = i >= 0 && f >= 0 && pair_sim(&ctx, i, f, &nc, &sim);
            if (!ok) {
                undefined++;
                if (nc < min_common)
                    few++;
                else
                    flat++;
                if (!have_fallback)
                    continue;
                sim = fallback;
            }
            als_cli_fmt_double(wb, sizeof wb, sim);
            tb_printf(&o, "%" PRIu64 " %" PRIu64 " %s\n", s.row[x], s.col[x], wb);
            written++;
        }
    } else {
        /* Sparse accumulation over co-raters via the item columns. */
        int64_t *cnt = calloc((size_t)m + 1, sizeof *cnt), *touched = malloc((size_t)(m + 1) * sizeof *touched);
        double *sxy = calloc((size_t)m + 1, sizeof *sxy), *sxx = calloc((size_t)m + 1, sizeof *sxx);
        double *syy = calloc((size_t)m + 1, sizeof *syy);
        als_scored_t *nb = malloc((size_t)(topk + 1) * sizeof *nb);
        unsigned char *keep = malloc((size_t)g.nnz + 1);
        if (!cnt || !touched || !sxy || !sxx || !syy || !nb || !keep ||
            (capped = maxr > 0 ? sample_raters(&g, maxr, keep) : (memset(keep, 1, (size_t)g.nnz + 1), 0)) < 0) {
            als_err_set(&err, ALS_ERR_NOMEM, "out of memory for the accumulators");
            return leave(rank, &err);
        }
        int64_t i0 = m * rank / nranks, i1 = m * (rank + 1) / nranks;
        for (int64_t i = i0; i < i1; i++) {
            int64_t nt = 0;
            double mi = measure ? ctx.mean[i] : 0.0;
            for (int64_t a = g.uptr[i]; a < g.uptr[i + 1]; a++) {
                int64_t j = g.ucol[a];
                if (!keep[csc_find(&g, j, i)])
                    continue; /* i is outside the sample of a capped item */
                double x = g.uval[a] - mi;
                for (int64_t b = g.iptr[j]; b < g.iptr[j + 1]; b++) {
                    int64_t f = g.irow[b];
                    if (f == i || !keep[b])
                        continue;
                    double y = g.ival[b] - (measure ? ctx.mean[f] : 0.0);
                    if (cnt[f]++ == 0)
                        touched[nt++] = f;
                    sxy[f] += x * y;
                    sxx[f] += x * x;
                    syy[f] += y * y;
                }
            }
            int64_t k = 0;
            for (int64_t t = 0; t < nt; t++) {
                int64_t f = touched[t];
                double sim;
                if (finish(&ctx, cnt[f], sxy[f], sxx[f], syy[f], &sim))
                    als_cli_top_push(nb, &k, topk, (als_scored_t){sim, f}, g.user_ids);
                else
                    undefined++;
                cnt[f] = 0;
                sxy[f] = sxx[f] = syy[f] = 0;
            }
            als_cli_sort_scored(nb, k, g.user_ids);
            for (int64_t t = 0; t < k; t++) {
                als_cli_fmt_double(wb, sizeof wb, nb[t].s);
                tb_printf(&o, "%" PRIu64 " %" PRIu64 " %s\n", g.user_ids[i], g.user_ids[nb[t].row], wb);
                written++;
            }
        }
        free(cnt); free(touched); free(sxy); free(sxx); free(syy); free(nb); free(keep);
    }
    if (o.failed)
        als_err_set(&err, ALS_ERR_NOMEM, "out of memory for the output");
    if (als_err_agree(comm, &err) == ALS_OK)
        als_cli_write_ordered(comm, out, o.s ? o.s : "", o.len, &err);
    free(o.s);
    rc = err.code;
    int64_t cnts[4] = {written, undefined, few, flat}, tot[4];
    MPI_Allreduce(cnts, tot, 4, MPI_INT64_T, MPI_SUM, comm);
    written = tot[0], undefined = tot[1], few = tot[2], flat = tot[3];
    if (rc == ALS_OK && rank == 0) {
        printf("%s: %" PRId64 " links with %s weights (%.3f s, %d rank%s)\n", out, written,
               measure ? "PCC (mapped to [0,1])" : "VSS", als_cli_now() - t0, nranks,
               nranks == 1 ? "" : "s");
        if (trust)
            printf("trust links: %" PRId64 "; similarity undefined for %" PRId64 " (%" PRId64
                   " with fewer than %" PRId64 " co-rated items, %" PRId64 " without variation): "
                   "%s\n", s.n, undefined, few, min_common, flat,
                   have_fallback ? "kept with the --fallback weight" : "dropped");
        else
        {
            printf("users: %" PRId64 ", top-%" PRId64 "; co-rating pairs with undefined "
                   "similarity skipped: %" PRId64, m, topk, undefined);
            if (maxr > 0)
                printf("; items with more than %" PRId64 " raters sampled: %" PRId64 "\n", maxr,
                       capped);
            else
                printf("; no cap on raters per item\n");
        }
    }
    free(ctx.mean);
    als_triplets_free(&s);
    als_global_free(&g);
    if (rc != ALS_OK)
        return leave(rank, &err);
    MPI_Finalize();
    return 0;
}
