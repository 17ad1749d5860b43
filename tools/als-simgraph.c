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
 */
#include <getopt.h>
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

/* Similarity of dense users i and f by merging their item-sorted rows. */
static int pair_sim(const sim_ctx_t *c, int64_t i, int64_t f, int64_t *nco, double *s)
{
    const als_global_t *g = c->g;
    int64_t a = g->uptr[i], ae = g->uptr[i + 1], b = g->uptr[f], be = g->uptr[f + 1], nc = 0;
    double mi = c->pcc ? c->mean[i] : 0.0, mf = c->pcc ? c->mean[f] : 0.0;
    double sxy = 0, sxx = 0, syy = 0;
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
    *nco = nc;
    return finish(c, nc, sxy, sxx, syy, s);
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
"  --out FILE          output social file (written atomically)\n"
"  --help\n", prog);
}

int main(int argc, char **argv)
{
    enum { O_RATINGS = 256, O_VALCOL, O_TRUST, O_TOPK, O_MEASURE, O_MIN, O_FALLBACK, O_OUT, O_HELP };
    static const struct option longopts[] = {
        {"ratings", required_argument, NULL, O_RATINGS},
        {"value-column", required_argument, NULL, O_VALCOL},
        {"trust", required_argument, NULL, O_TRUST},
        {"top-k", required_argument, NULL, O_TOPK},
        {"measure", required_argument, NULL, O_MEASURE},
        {"min-common", required_argument, NULL, O_MIN},
        {"fallback", required_argument, NULL, O_FALLBACK},
        {"out", required_argument, NULL, O_OUT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    const char *ratings = NULL, *trust = NULL, *out = NULL;
    int64_t valcol = 2, topk = 10, min_common = 2;
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
        case O_FALLBACK:
            als_cli_double("--fallback", optarg, 0, 1e300, &fallback, &err);
            have_fallback = 1;
            break;
        case O_MEASURE:
            if (strcmp(optarg, "pcc") == 0) measure = 1;
            else if (strcmp(optarg, "vss") == 0) measure = 0;
            else als_err_set(&err, ALS_ERR_ARG, "--measure: '%s' is not one of pcc, vss", optarg);
            break;
        case O_HELP: usage(stdout); return 0;
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
        return als_cli_fail(prog, &err);

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
    if (rc != ALS_OK) {
        als_triplets_free(&s);
        return als_cli_fail(prog, &err);
    }
    int64_t m = g.m;
    sim_ctx_t ctx = {.g = &g, .pcc = measure, .min_common = min_common};
    ctx.mean = malloc((size_t)(m + 1) * sizeof *ctx.mean);
    if (!ctx.mean) {
        als_err_set(&err, ALS_ERR_NOMEM, "out of memory");
        return als_cli_fail(prog, &err);
    }
    for (int64_t i = 0; i < m; i++) {
        double sum = 0;
        for (int64_t x = g.uptr[i]; x < g.uptr[i + 1]; x++)
            sum += g.uval[x];
        ctx.mean[i] = g.uptr[i + 1] > g.uptr[i] ? sum / (double)(g.uptr[i + 1] - g.uptr[i]) : 0;
    }
    als_cli_out_t o = {0};
    if (als_cli_out_open(&o, out, &err) != ALS_OK)
        return als_cli_fail(prog, &err);
    int64_t written = 0, undefined = 0, few = 0, flat = 0;
    char wb[40];
    if (trust) {
        for (int64_t x = 0; x < s.n; x++) {
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
            fprintf(o.f, "%" PRIu64 " %" PRIu64 " %s\n", s.row[x], s.col[x], wb);
            written++;
        }
    } else {
        /* Sparse accumulation over co-raters via the item columns. */
        int64_t *cnt = calloc((size_t)m + 1, sizeof *cnt), *touched = malloc((size_t)m * sizeof *touched);
        double *sxy = calloc((size_t)m + 1, sizeof *sxy), *sxx = calloc((size_t)m + 1, sizeof *sxx);
        double *syy = calloc((size_t)m + 1, sizeof *syy);
        als_scored_t *nb = malloc((size_t)m * sizeof *nb);
        if (!cnt || !touched || !sxy || !sxx || !syy || !nb) {
            als_cli_out_close(&o, 0, &err);
            als_err_set(&err, ALS_ERR_NOMEM, "out of memory for the accumulators");
            return als_cli_fail(prog, &err);
        }
        for (int64_t i = 0; i < m; i++) {
            int64_t nt = 0;
            double mi = measure ? ctx.mean[i] : 0.0;
            for (int64_t a = g.uptr[i]; a < g.uptr[i + 1]; a++) {
                int64_t j = g.ucol[a];
                double x = g.uval[a] - mi;
                for (int64_t b = g.iptr[j]; b < g.iptr[j + 1]; b++) {
                    int64_t f = g.irow[b];
                    if (f == i)
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
                    nb[k++] = (als_scored_t){sim, f};
                else
                    undefined++;
                cnt[f] = 0;
                sxy[f] = sxx[f] = syy[f] = 0;
            }
            als_cli_sort_scored(nb, k, g.user_ids);
            for (int64_t t = 0; t < k && t < topk; t++) {
                als_cli_fmt_double(wb, sizeof wb, nb[t].s);
                fprintf(o.f, "%" PRIu64 " %" PRIu64 " %s\n", g.user_ids[i], g.user_ids[nb[t].row], wb);
                written++;
            }
        }
        free(cnt); free(touched); free(sxy); free(sxx); free(syy); free(nb);
    }
    rc = als_cli_out_close(&o, 1, &err);
    if (rc == ALS_OK) {
        printf("%s: %" PRId64 " links with %s weights (%.3f s)\n", out, written,
               measure ? "PCC (mapped to [0,1])" : "VSS", als_cli_now() - t0);
        if (trust)
            printf("trust links: %" PRId64 "; similarity undefined for %" PRId64 " (%" PRId64
                   " with fewer than %" PRId64 " co-rated items, %" PRId64 " without variation): "
                   "%s\n", s.n, undefined, few, min_common, flat,
                   have_fallback ? "kept with the --fallback weight" : "dropped");
        else
            printf("users: %" PRId64 ", top-%" PRId64 "; co-rating pairs with undefined "
                   "similarity skipped: %" PRId64 "\n", m, topk, undefined);
    }
    free(ctx.mean);
    als_triplets_free(&s);
    als_global_free(&g);
    return rc == ALS_OK ? 0 : als_cli_fail(prog, &err);
}
