/* als-eval - RMSE and MAE of a saved model on a test file, and top-N
 * ranking metrics.
 *
 *   als-eval --model DIR --test FILE [--json]
 *   als-eval --model DIR --test FILE --top N [--train FILE]
 *            [--relevance-threshold T | --implicit] [--json]
 *
 * Exactly the accounting of als-train --test (the same library functions:
 * als_testset_read and als_solver_test): pairs whose user is not in the
 * model are counted as "unknown user", pairs with a known user and an
 * unknown item as "unknown item"; neither is evaluated, nothing is NaN.
 * Predictions u_i.v_j are clipped to the training rating range
 * [rating_min, rating_max] recorded in DIR/metrics.json.
 *
 * --top N: for every user of the test file known to the model, all items of
 * the model are scored (u . v_j), the user's training items (--train FILE,
 * pairs of known users and items) are excluded, and precision@N, recall@N,
 * NDCG@N and MAP@N are computed over the held-out items that count as
 * relevant (als_ranking.h has the exact definitions and the tie rule):
 * rating >= T with --relevance-threshold T, value > 0 with --implicit, else
 * every held-out item. Users whose held-out items are all irrelevant are
 * counted apart. --implicit also drops RMSE/MAE (meaningless on play
 * counts) and the need for a rating range in metrics.json.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "als.h"
#include "als_cli.h"
#include "als_model.h"
#include "als_ranking.h"

static const char *prog = "als-eval";

/* Pairs (u, i, r) of t sorted by (u, i): the permutation into ord. */
static int cmp_pair(const void *a, const void *b, void *ctx)
{
    const als_testset_t *t = ctx;
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (t->u[x] != t->u[y])
        return t->u[x] < t->u[y] ? -1 : 1;
    if (t->i[x] != t->i[y])
        return t->i[x] < t->i[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static int64_t *sorted_order(const als_testset_t *t)
{
    int64_t *ord = malloc((size_t)(t->n + 1) * sizeof *ord);
    if (!ord)
        return NULL;
    for (int64_t x = 0; x < t->n; x++)
        ord[x] = x;
    qsort_r(ord, (size_t)t->n, sizeof *ord, cmp_pair, (void *)t);
    return ord;
}

/* Ranking metrics of the model on the test pairs t, excluding the training
 * pairs tr (may be empty). */
static int ranking_eval(const als_model_t *mod, const als_testset_t *t, const als_testset_t *tr,
                        int N, double threshold, als_rank_result_t *res, als_err_t *err)
{
    const int64_t n = mod->n;
    int64_t *to = sorted_order(t), *ro = sorted_order(tr);
    double *scores = malloc((size_t)(n + 1) * sizeof *scores);
    int64_t *excl = malloc((size_t)(n + 1) * sizeof *excl);
    int64_t *it = malloc((size_t)(t->n + 1) * sizeof *it), *rel = malloc((size_t)(t->n + 1) * sizeof *rel);
    double *val = malloc((size_t)(t->n + 1) * sizeof *val);
    int64_t *top = malloc((size_t)N * sizeof *top);
    int rc = ALS_OK;
    if (!to || !ro || !scores || !excl || !it || !rel || !val || !top) {
        rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory for the ranking evaluation");
        goto out;
    }
    als_rank_acc_t acc;
    als_rank_acc_init(&acc);
    int64_t rx = 0;
    for (int64_t a = 0; a < t->n;) {
        const int64_t u = t->u[to[a]];
        int64_t b = a, nt = 0, ne = 0;
        for (; b < t->n && t->u[to[b]] == u; b++) {
            it[nt] = t->i[to[b]];
            val[nt++] = t->r[to[b]];
        }
        while (rx < tr->n && tr->u[ro[rx]] < u)
            rx++;
        for (; rx < tr->n && tr->u[ro[rx]] == u; rx++)
            excl[ne++] = tr->i[ro[rx]];
        als_rank_scores((int)mod->k, n, mod->V, mod->U + u * mod->k, scores);
        int64_t nrel = als_rank_relevant(nt, it, val, threshold, excl, ne, rel);
        int64_t ntop = als_rank_topn(N, n, scores, excl, ne, top);
        als_rank_user_t m;
        if (ntop < 0 || als_rank_user_metrics(N, top, ntop, rel, nrel, &m) != 0) {
            rc = als_err_set(err, ALS_ERR_INTERNAL, "ranking: bad item lists for user %" PRIu64,
                             mod->user_ids[u]);
            goto out;
        }
        als_rank_acc_add(&acc, &m);
        a = b;
    }
    als_rank_acc_result(&acc, N, res);
out:
    free(to); free(ro); free(scores); free(excl); free(it); free(rel); free(val); free(top);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
"Usage: %s --model DIR --test FILE [options]\n"
"\n"
"RMSE and MAE of the model saved by 'als-train --out DIR' on held-out ratings,\n"
"with the accounting of als-train --test: unknown users and unknown items are\n"
"counted and reported, not evaluated; predictions are clipped to the training\n"
"rating range recorded in DIR/metrics.json. With --top N, also top-N\n"
"ranking metrics over the held-out items.\n"
"\n"
"  --model DIR         U.npy, V.npy, user_ids.txt, item_ids.txt, metrics.json\n"
"  --test FILE         ratings 'user item rating' (any format als-train reads)\n"
"  --value-column C    0-based column of the rating (default 2)\n"
"  --top N             precision@N, recall@N, NDCG@N, MAP@N (1 <= N <= 10000): all\n"
"                      items ranked by score (ties: item order), training items excluded\n"
"  --train FILE        the training ratings: these items are excluded per user\n"
"  --relevance-threshold T\n"
"                      explicit data: a held-out item is relevant when rating >= T\n"
"                      (default: every held-out item)\n"
"  --implicit          implicit data: a held-out item is relevant when value > 0;\n"
"                      no RMSE/MAE (needs --top)\n"
"  --json              one JSON object instead of text\n"
"  --help\n", prog);
}

int main(int argc, char **argv)
{
    enum { O_MODEL = 256, O_TEST, O_VALCOL, O_JSON, O_TOP, O_TRAIN, O_THRESH, O_IMPLICIT, O_HELP };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, O_MODEL},
        {"test", required_argument, NULL, O_TEST},
        {"value-column", required_argument, NULL, O_VALCOL},
        {"json", no_argument, NULL, O_JSON},
        {"top", required_argument, NULL, O_TOP},
        {"train", required_argument, NULL, O_TRAIN},
        {"relevance-threshold", required_argument, NULL, O_THRESH},
        {"implicit", no_argument, NULL, O_IMPLICIT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    const char *model = NULL, *test = NULL, *train = NULL;
    int64_t valcol = 2, top = 0;
    int json = 0, implicit = 0, have_thresh = 0;
    double thresh = -INFINITY;
    als_err_t err;
    als_err_clear(&err);
    opterr = 0;
    int c;
    while (err.code == ALS_OK && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model = optarg; break;
        case O_TEST: test = optarg; break;
        case O_VALCOL: als_cli_int64("--value-column", optarg, 2, 1000, &valcol, &err); break;
        case O_JSON: json = 1; break;
        case O_TOP: als_cli_int64("--top", optarg, 1, 10000, &top, &err); break;
        case O_TRAIN: train = optarg; break;
        case O_THRESH:
            als_cli_double("--relevance-threshold", optarg, -1e300, 1e300, &thresh, &err);
            have_thresh = 1;
            break;
        case O_IMPLICIT: implicit = 1; break;
        case O_HELP: usage(stdout); return 0;
        case ':': als_err_set(&err, ALS_ERR_ARG, "%s: missing value (see --help)", argv[optind - 1]); break;
        default: als_err_set(&err, ALS_ERR_ARG, "unknown option '%s' (see --help)", argv[optind - 1]); break;
        }
    }
    if (err.code == ALS_OK && optind < argc)
        als_err_set(&err, ALS_ERR_ARG, "unexpected argument '%s' (see --help)", argv[optind]);
    if (err.code == ALS_OK && (!model || !test))
        als_err_set(&err, ALS_ERR_ARG, "--model DIR and --test FILE are required (see --help)");
    if (err.code == ALS_OK && !top && (train || have_thresh || implicit))
        als_err_set(&err, ALS_ERR_ARG, "--train, --relevance-threshold and --implicit need --top N");
    if (err.code == ALS_OK && implicit && have_thresh)
        als_err_set(&err, ALS_ERR_ARG, "give at most one of --implicit and --relevance-threshold");
    if (err.code != ALS_OK)
        return als_cli_fail(prog, &err);
    if (implicit)
        thresh = 0x1p-1074; /* the smallest positive double: value > 0 */

    als_model_t mod;
    if (als_model_read(model, !implicit, &mod, &err) != ALS_OK)
        return als_cli_fail(prog, &err);
    /* The training-side view als_testset_read and als_solver_test need. */
    als_data_t d;
    memset(&d, 0, sizeof d);
    d.m = mod.m;
    d.n = mod.n;
    d.user_ids = mod.user_ids;
    d.item_ids = mod.item_ids;
    d.rmin = mod.rmin;
    d.rmax = mod.rmax;
    als_solver_t s;
    memset(&s, 0, sizeof s);
    s.k = (int)mod.k;
    s.U = mod.U;
    s.V = mod.V;
    s.data = &d;
    als_testset_t t;
    als_text_opts_t topts = {.value_col = (int)valcol};
    if (als_testset_read(test, &topts, &d, &t, &err) != ALS_OK) {
        als_model_free(&mod);
        return als_cli_fail(prog, &err);
    }
    double rmse = NAN, mae = NAN;
    if (!implicit)
        als_solver_test(&s, &t, &rmse, &mae);
    als_testset_t tr;
    memset(&tr, 0, sizeof tr);
    als_rank_result_t rk;
    memset(&rk, 0, sizeof rk);
    if (top) {
        if ((train && als_testset_read(train, &topts, &d, &tr, &err) != ALS_OK) ||
            ranking_eval(&mod, &t, &tr, (int)top, thresh, &rk, &err) != ALS_OK) {
            als_testset_free(&t);
            als_testset_free(&tr);
            als_model_free(&mod);
            return als_cli_fail(prog, &err);
        }
    }
    const char *relname = implicit ? "value > 0" : have_thresh ? "rating >= threshold" : "every held-out item";
    if (json) {
        als_buf_t b = {0};
        als_buf_printf(&b, "{\"test\": ");
        als_buf_json_str(&b, test);
        als_buf_printf(&b, ", \"test_ratings\": %" PRId64 ", \"evaluated\": %" PRId64
                       ", \"unknown_user\": %" PRId64 ", \"unknown_item\": %" PRId64,
                       t.total, t.n, t.unknown_user, t.unknown_item);
        if (top) {
            als_buf_printf(&b, ", \"top\": %" PRId64 ", \"train\": ", top);
            if (train)
                als_buf_json_str(&b, train);
            else
                als_buf_printf(&b, "null");
            als_buf_printf(&b, ", \"train_pairs\": %" PRId64 ", \"relevant\": ", tr.n);
            als_buf_json_str(&b, relname);
            als_buf_printf(&b, ", \"relevance_threshold\": ");
            als_buf_json_num(&b, have_thresh ? thresh : NAN);
            als_buf_printf(&b, ", \"ranked_users\": %" PRId64 ", \"users_no_relevant\": %" PRId64
                           ", \"hits\": %" PRId64, rk.users, rk.no_relevant, rk.hits);
            const char *nm[4] = {"precision", "recall", "ndcg", "map"};
            const double v[4] = {rk.precision, rk.recall, rk.ndcg, rk.map};
            for (int q = 0; q < 4; q++) {
                als_buf_printf(&b, ", \"%s_at_n\": ", nm[q]);
                als_buf_json_num(&b, v[q]);
            }
        }
        if (implicit) {
            als_buf_printf(&b, ", \"implicit\": true");
        } else {
            als_buf_printf(&b, ", \"rating_min\": ");
            als_buf_json_num(&b, mod.rmin);
            als_buf_printf(&b, ", \"rating_max\": ");
            als_buf_json_num(&b, mod.rmax);
            als_buf_printf(&b, ", \"rmse\": ");
            als_buf_json_num(&b, rmse);
            als_buf_printf(&b, ", \"mae\": ");
            als_buf_json_num(&b, mae);
        }
        als_buf_printf(&b, "}\n");
        fputs(b.failed ? "{}\n" : b.s, stdout);
        als_buf_free(&b);
    } else {
        printf("model: %s (%" PRId64 " users, %" PRId64 " items, k = %" PRId64 ")\n", model,
               mod.m, mod.n, mod.k);
        printf("test: %" PRId64 " ratings, %" PRId64 " evaluated, %" PRId64 " with unknown user, %"
               PRId64 " with unknown item (not evaluated)\n", t.total, t.n, t.unknown_user,
               t.unknown_item);
        if (!implicit) {
            printf("predictions clipped to the training rating range [%g, %g]\n", mod.rmin, mod.rmax);
            if (t.n)
                printf("rmse: %.6f\nmae: %.6f\n", rmse, mae);
            else
                printf("rmse: n/a (no test pair with known user and item)\nmae: n/a\n");
        }
        if (top) {
            if (train)
                printf("ranking: training items excluded: %" PRId64 " pairs of %s\n", tr.n, train);
            else
                printf("ranking: training items excluded: none (no --train)\n");
            if (have_thresh)
                printf("ranking: relevant = held-out rating >= %g\n", thresh);
            else
                printf("ranking: relevant = %s\n", relname);
            printf("ranking: %" PRId64 " users ranked, %" PRId64 " users with held-out items but "
                   "none relevant (not averaged), %" PRId64 " hits\n", rk.users, rk.no_relevant,
                   rk.hits);
            if (rk.users) {
                printf("precision@%" PRId64 ": %.6f\n", top, rk.precision);
                printf("recall@%" PRId64 ": %.6f\n", top, rk.recall);
                printf("ndcg@%" PRId64 ": %.6f\n", top, rk.ndcg);
                printf("map@%" PRId64 ": %.6f\n", top, rk.map);
            } else {
                printf("precision@%" PRId64 ": n/a (no user with a relevant held-out item)\n", top);
            }
        }
    }
    als_testset_free(&tr);
    als_testset_free(&t);
    als_model_free(&mod);
    return 0;
}
