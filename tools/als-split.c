/* als-split - deterministic train/test splits of a ratings file, by user.
 *
 *   als-split --ratings FILE --ratio R --out DIR [--seed S]
 *   als-split --ratings FILE --folds K --out DIR [--seed S]
 *   als-split --ratings FILE --by-user-items FRAC --out DIR [--seed S]
 *
 * Each user's ratings are put in a random order drawn from a stream keyed by
 * (seed, raw user id, position in the user's file order); the result depends
 * only on the seed and on each user's own ratings, not on other users or on
 * the order users appear in the file.
 *
 * --ratio R: the first t_i of user i's shuffled ratings are test, where t_i =
 *   floor(R n_i) plus one with probability frac(R n_i) (also drawn from the
 *   user's stream), so the expected test share is exactly R; t_i is capped at
 *   n_i - 1 so every user keeps at least one training rating.
 *   Writes DIR/train.txt and DIR/test.txt.
 * --folds K: the shuffled position q of user i's ratings goes to fold
 *   (q + o_i) mod K, o_i a per-user random offset, so fold sizes differ by at
 *   most one per user and the K test files partition the input exactly.
 *   Writes DIR/train-F.txt and DIR/test-F.txt for F = 1..K (train-F is every
 *   rating not in test-F).
 * --by-user-items FRAC: a per-user holdout of ITEMS, for implicit data: user
 *   i's distinct items (n_i of them) are ordered by a key drawn from (seed,
 *   raw user id, raw item id) and the first h_i = floor(FRAC n_i + 1/2),
 *   capped at n_i - 1, are held out with every line of those (user, item)
 *   pairs. The split depends only on the seed and on each user's item set:
 *   not on the file order, on the values, or on other users. Users with one
 *   item keep it in training. Writes DIR/train.txt and DIR/test.txt.
 * Output lines are "user item rating" in input file order (comments, the
 * header and columns beyond the rating are not copied; ratings are written
 * with the fewest digits that read back exactly).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "als.h"
#include "als_cli.h"

static const char *prog = "als-split";

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Key of (seed, user, what, index). */
static uint64_t key(uint64_t seed, uint64_t user, uint64_t what, uint64_t t)
{
    return mix64(mix64(mix64(seed + 0x632be59bd9b4e019ULL) ^ user) + what * 0x9e3779b97f4a7c15ULL + t);
}

typedef struct {
    uint64_t k;
    int64_t x;
} kx_t;

static int cmp_user(const void *a, const void *b, void *ctx)
{
    const uint64_t *row = ctx;
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (row[x] != row[y])
        return row[x] < row[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static int cmp_kx(const void *a, const void *b)
{
    const kx_t *p = a, *q = b;
    if (p->k != q->k)
        return p->k < q->k ? -1 : 1;
    return (p->x > q->x) - (p->x < q->x);
}

/* Key, then raw item id, then line. */
static int cmp_kitem(const void *a, const void *b, void *ctx)
{
    const uint64_t *col = ctx;
    const kx_t *p = a, *q = b;
    if (p->k != q->k)
        return p->k < q->k ? -1 : 1;
    if (col[p->x] != col[q->x])
        return col[p->x] < col[q->x] ? -1 : 1;
    return (p->x > q->x) - (p->x < q->x);
}

static void usage(FILE *out)
{
    fprintf(out,
"Usage: %s --ratings FILE (--ratio R | --folds K | --by-user-items F) --out DIR [options]\n"
"\n"
"Deterministic per-user train/test split of a ratings file (any format\n"
"als-train reads); the outputs are text files als-train and als-partition read.\n"
"\n"
"  --ratings FILE      the ratings\n"
"  --value-column C    0-based column of the rating (default 2)\n"
"  --ratio R           hold out a share R (0 < R < 1) of each user's ratings:\n"
"                      DIR/train.txt, DIR/test.txt; every user keeps >= 1 training rating\n"
"  --folds K           K-fold cross-validation (2 <= K <= 100): DIR/train-F.txt,\n"
"                      DIR/test-F.txt for F = 1..K; the test files partition the input\n"
"  --by-user-items F   hold out round(F n_i) of each user's n_i distinct items\n"
"                      (0 < F < 1; all lines of a held-out pair; at most n_i - 1),\n"
"                      chosen by (seed, user, item) only: DIR/train.txt, DIR/test.txt\n"
"  --seed S            seed (default 1)\n"
"  --out DIR           output directory (created if missing)\n"
"  --help\n", prog);
}

static int write_line(FILE *f, const als_triplets_t *r, int64_t x)
{
    char v[40];
    als_cli_fmt_double(v, sizeof v, r->val[x]);
    return fprintf(f, "%" PRIu64 " %" PRIu64 " %s\n", r->row[x], r->col[x], v) < 0;
}

int main(int argc, char **argv)
{
    enum { O_RATINGS = 256, O_VALCOL, O_RATIO, O_FOLDS, O_BYITEMS, O_SEED, O_OUT, O_HELP };
    static const struct option longopts[] = {
        {"ratings", required_argument, NULL, O_RATINGS},
        {"value-column", required_argument, NULL, O_VALCOL},
        {"ratio", required_argument, NULL, O_RATIO},
        {"folds", required_argument, NULL, O_FOLDS},
        {"by-user-items", required_argument, NULL, O_BYITEMS},
        {"seed", required_argument, NULL, O_SEED},
        {"out", required_argument, NULL, O_OUT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    const char *ratings = NULL, *out = NULL;
    int64_t valcol = 2, folds = 0;
    double ratio = 0.0, byitems = 0.0;
    uint64_t seed = 1;
    als_err_t err;
    als_err_clear(&err);
    opterr = 0;
    int c;
    while (err.code == ALS_OK && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case O_RATINGS: ratings = optarg; break;
        case O_OUT: out = optarg; break;
        case O_VALCOL: als_cli_int64("--value-column", optarg, 2, 1000, &valcol, &err); break;
        case O_RATIO:
            if (als_cli_double("--ratio", optarg, 0, 1, &ratio, &err) == ALS_OK &&
                (ratio <= 0 || ratio >= 1))
                als_err_set(&err, ALS_ERR_ARG, "--ratio: %s must be strictly between 0 and 1", optarg);
            break;
        case O_FOLDS: als_cli_int64("--folds", optarg, 2, 100, &folds, &err); break;
        case O_BYITEMS:
            if (als_cli_double("--by-user-items", optarg, 0, 1, &byitems, &err) == ALS_OK &&
                (byitems <= 0 || byitems >= 1))
                als_err_set(&err, ALS_ERR_ARG, "--by-user-items: %s must be strictly between 0 and 1",
                            optarg);
            break;
        case O_SEED: als_cli_u64("--seed", optarg, &seed, &err); break;
        case O_HELP: usage(stdout); return 0;
        case ':': als_err_set(&err, ALS_ERR_ARG, "%s: missing value (see --help)", argv[optind - 1]); break;
        default: als_err_set(&err, ALS_ERR_ARG, "unknown option '%s' (see --help)", argv[optind - 1]); break;
        }
    }
    if (err.code == ALS_OK && optind < argc)
        als_err_set(&err, ALS_ERR_ARG, "unexpected argument '%s' (see --help)", argv[optind]);
    if (err.code == ALS_OK && (!ratings || !out))
        als_err_set(&err, ALS_ERR_ARG, "--ratings FILE and --out DIR are required (see --help)");
    if (err.code == ALS_OK && (ratio > 0) + (folds > 0) + (byitems > 0) != 1)
        als_err_set(&err, ALS_ERR_ARG, "give exactly one of --ratio R, --folds K and --by-user-items F");
    if (err.code != ALS_OK)
        return als_cli_fail(prog, &err);
    if (als_output_mkdirs(out, "--out", &err) != ALS_OK)
        return als_cli_fail(prog, &err);

    als_triplets_t r;
    als_text_opts_t topts = {.value_col = (int)valcol};
    if (als_text_read(ratings, ALS_TEXT_RATINGS, &topts, &r, &err) != ALS_OK) {
        als_triplets_free(&r);
        return als_cli_fail(prog, &err);
    }
    int64_t N = r.n;
    if (N == 0) {
        als_triplets_free(&r);
        als_err_set(&err, ALS_ERR_DATA, "%s: no ratings (the file has no data lines)", ratings);
        return als_cli_fail(prog, &err);
    }
    /* Group by user (file order within a user), shuffle each group. */
    int64_t *ord = malloc((size_t)N * sizeof *ord);
    int *part = malloc((size_t)N * sizeof *part); /* test fold (0-based), -1 = train */
    kx_t *kx = malloc((size_t)N * sizeof *kx);
    if (!ord || !part || !kx) {
        als_triplets_free(&r);
        als_err_set(&err, ALS_ERR_NOMEM, "out of memory for %" PRId64 " ratings", N);
        return als_cli_fail(prog, &err);
    }
    for (int64_t x = 0; x < N; x++)
        ord[x] = x;
    qsort_r(ord, (size_t)N, sizeof *ord, cmp_user, r.row);
    int64_t users = 0, ntest = 0;
    for (int64_t a = 0; a < N;) {
        int64_t b = a + 1;
        uint64_t u = r.row[ord[a]];
        while (b < N && r.row[ord[b]] == u)
            b++;
        int64_t n = b - a;
        if (byitems > 0) {
            for (int64_t t = 0; t < n; t++)
                kx[t] = (kx_t){key(seed, u, 4, r.col[ord[a + t]]), ord[a + t]};
            qsort_r(kx, (size_t)n, sizeof *kx, cmp_kitem, r.col);
            int64_t ni = 0;
            for (int64_t q = 0; q < n; q++)
                ni += q == 0 || r.col[kx[q].x] != r.col[kx[q - 1].x];
            int64_t h = (int64_t)floor(byitems * (double)ni + 0.5);
            if (h > ni - 1)
                h = ni - 1;
            for (int64_t q = 0, d = -1; q < n; q++) {
                d += q == 0 || r.col[kx[q].x] != r.col[kx[q - 1].x];
                part[kx[q].x] = d < h ? 0 : -1;
                ntest += d < h;
            }
            users++;
            a = b;
            continue;
        }
        for (int64_t t = 0; t < n; t++)
            kx[t] = (kx_t){key(seed, u, 1, (uint64_t)t), ord[a + t]};
        qsort(kx, (size_t)n, sizeof *kx, cmp_kx);
        if (folds) {
            uint64_t off = key(seed, u, 2, 0) % (uint64_t)folds;
            for (int64_t q = 0; q < n; q++)
                part[kx[q].x] = (int)(((uint64_t)q + off) % (uint64_t)folds);
        } else {
            double want = ratio * (double)n, fl = floor(want);
            double coin = (double)(key(seed, u, 3, 0) >> 11) * 0x1.0p-53;
            int64_t t_i = (int64_t)fl + (coin < want - fl ? 1 : 0);
            if (t_i > n - 1)
                t_i = n - 1;
            for (int64_t q = 0; q < n; q++)
                part[kx[q].x] = q < t_i ? 0 : -1;
            ntest += t_i;
        }
        users++;
        a = b;
    }
    free(kx);
    free(ord);

    int nf = folds ? (int)folds : 1, rc = ALS_OK;
    for (int f = 0; f < nf && rc == ALS_OK; f++) {
        char ptrain[4200], ptest[4200];
        if (folds) {
            snprintf(ptrain, sizeof ptrain, "%s/train-%d.txt", out, f + 1);
            snprintf(ptest, sizeof ptest, "%s/test-%d.txt", out, f + 1);
        } else {
            snprintf(ptrain, sizeof ptrain, "%s/train.txt", out);
            snprintf(ptest, sizeof ptest, "%s/test.txt", out);
        }
        als_cli_out_t tr = {0}, te = {0};
        rc = als_cli_out_open(&tr, ptrain, &err);
        if (rc == ALS_OK)
            rc = als_cli_out_open(&te, ptest, &err);
        int64_t ntr = 0, nte = 0;
        for (int64_t x = 0; x < N && rc == ALS_OK; x++) {
            if (part[x] == f) {
                write_line(te.f, &r, x);
                nte++;
            } else {
                write_line(tr.f, &r, x);
                ntr++;
            }
        }
        int keep = rc == ALS_OK;
        if (als_cli_out_close(&tr, keep, &err) != ALS_OK || als_cli_out_close(&te, keep, &err) != ALS_OK)
            rc = err.code;
        if (rc == ALS_OK)
            printf("%s: %" PRId64 " ratings, %s: %" PRId64 " ratings\n", ptrain, ntr, ptest, nte);
    }
    if (rc == ALS_OK)
        printf("%" PRId64 " ratings of %" PRId64 " users split %s (seed %" PRIu64 ")\n", N, users,
               folds ? "into folds" : byitems > 0 ? "by user items" : "by ratio", seed);
    free(part);
    als_triplets_free(&r);
    return rc == ALS_OK ? 0 : als_cli_fail(prog, &err);
}
