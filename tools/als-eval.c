/* als-eval - RMSE and MAE of a saved model on a test file.
 *
 *   als-eval --model DIR --test FILE [--json]
 *
 * Exactly the accounting of als-train --test (the same library functions:
 * als_testset_read and als_solver_test): pairs whose user is not in the
 * model are counted as "unknown user", pairs with a known user and an
 * unknown item as "unknown item"; neither is evaluated, nothing is NaN.
 * Predictions u_i.v_j are clipped to the training rating range
 * [rating_min, rating_max] recorded in DIR/metrics.json.
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

static const char *prog = "als-eval";

static void usage(FILE *out)
{
    fprintf(out,
"Usage: %s --model DIR --test FILE [options]\n"
"\n"
"RMSE and MAE of the model saved by 'als-train --out DIR' on held-out ratings,\n"
"with the accounting of als-train --test: unknown users and unknown items are\n"
"counted and reported, not evaluated; predictions are clipped to the training\n"
"rating range recorded in DIR/metrics.json.\n"
"\n"
"  --model DIR         U.npy, V.npy, user_ids.txt, item_ids.txt, metrics.json\n"
"  --test FILE         ratings 'user item rating' (any format als-train reads)\n"
"  --value-column C    0-based column of the rating (default 2)\n"
"  --json              one JSON object instead of text\n"
"  --help\n", prog);
}

int main(int argc, char **argv)
{
    enum { O_MODEL = 256, O_TEST, O_VALCOL, O_JSON, O_HELP };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, O_MODEL},
        {"test", required_argument, NULL, O_TEST},
        {"value-column", required_argument, NULL, O_VALCOL},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    const char *model = NULL, *test = NULL;
    int64_t valcol = 2;
    int json = 0;
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
        case O_HELP: usage(stdout); return 0;
        case ':': als_err_set(&err, ALS_ERR_ARG, "%s: missing value (see --help)", argv[optind - 1]); break;
        default: als_err_set(&err, ALS_ERR_ARG, "unknown option '%s' (see --help)", argv[optind - 1]); break;
        }
    }
    if (err.code == ALS_OK && optind < argc)
        als_err_set(&err, ALS_ERR_ARG, "unexpected argument '%s' (see --help)", argv[optind]);
    if (err.code == ALS_OK && (!model || !test))
        als_err_set(&err, ALS_ERR_ARG, "--model DIR and --test FILE are required (see --help)");
    if (err.code != ALS_OK)
        return als_cli_fail(prog, &err);

    als_model_t mod;
    if (als_model_read(model, 1, &mod, &err) != ALS_OK)
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
    double rmse, mae;
    als_solver_test(&s, &t, &rmse, &mae);
    if (json) {
        als_buf_t b = {0};
        als_buf_printf(&b, "{\"test\": ");
        als_buf_json_str(&b, test);
        als_buf_printf(&b, ", \"test_ratings\": %" PRId64 ", \"evaluated\": %" PRId64
                       ", \"unknown_user\": %" PRId64 ", \"unknown_item\": %" PRId64
                       ", \"rating_min\": ", t.total, t.n, t.unknown_user, t.unknown_item);
        als_buf_json_num(&b, mod.rmin);
        als_buf_printf(&b, ", \"rating_max\": ");
        als_buf_json_num(&b, mod.rmax);
        als_buf_printf(&b, ", \"rmse\": ");
        als_buf_json_num(&b, rmse);
        als_buf_printf(&b, ", \"mae\": ");
        als_buf_json_num(&b, mae);
        als_buf_printf(&b, "}\n");
        fputs(b.failed ? "{}\n" : b.s, stdout);
        als_buf_free(&b);
    } else {
        printf("model: %s (%" PRId64 " users, %" PRId64 " items, k = %" PRId64 ")\n", model,
               mod.m, mod.n, mod.k);
        printf("test: %" PRId64 " ratings, %" PRId64 " evaluated, %" PRId64 " with unknown user, %"
               PRId64 " with unknown item (not evaluated)\n", t.total, t.n, t.unknown_user,
               t.unknown_item);
        printf("predictions clipped to the training rating range [%g, %g]\n", mod.rmin, mod.rmax);
        if (t.n)
            printf("rmse: %.6f\nmae: %.6f\n", rmse, mae);
        else
            printf("rmse: n/a (no test pair with known user and item)\nmae: n/a\n");
    }
    als_testset_free(&t);
    als_model_free(&mod);
    return 0;
}
