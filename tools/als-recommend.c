/* als-recommend - top-N unseen items for given users, with scores.
 *
 *   als-recommend --model DIR (--ratings FILE | --data DATASET) --users ID[,ID...] [--top N]
 *
 * Score of item j for user i: u_i.v_j from the saved factors (with --bias
 * models the stored rows carry the biases, so the same dot product is the
 * prediction). Items the user rated in the training data (--ratings text or
 * the --data binary dataset) are excluded. Ties: the smaller raw item id
 * first. Output: "user rank item score" lines.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "als.h"
#include "als_binfmt.h"
#include "als_cli.h"
#include "als_model.h"

static const char *prog = "als-recommend";

static void usage(FILE *out)
{
    fprintf(out,
"Usage: %s --model DIR (--ratings FILE | --data DATASET) --users IDS [options]\n"
"\n"
"Top-N items by predicted score u_i.v_j for each given user, leaving out the\n"
"items the user rated in the training data.\n"
"\n"
"  --model DIR         the --out directory of als-train\n"
"  --ratings FILE      the training ratings (text), to exclude seen items\n"
"  --data DATASET      or the training binary dataset (als-partition)\n"
"  --value-column C    0-based rating column of --ratings (default 2)\n"
"  --users IDS         raw user ids, comma-separated\n"
"  --users-file FILE   or one raw user id per line\n"
"  --top N             items per user (default 10)\n"
"  --help\n"
"Output: 'user rank item score', best first; a user not in the model is an error.\n",
            prog);
}

/* Append the comma-separated ids of s to the list. */
static int parse_ids(const char *s, uint64_t **ids, int64_t *n, als_err_t *err)
{
    char *dup = strdup(s), *save = NULL;
    if (!dup)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory");
    int rc = ALS_OK;
    for (char *tok = strtok_r(dup, ",", &save); tok && rc == ALS_OK; tok = strtok_r(NULL, ",", &save)) {
        uint64_t x;
        if ((rc = als_cli_u64("--users", tok, &x, err)) != ALS_OK)
            break;
        uint64_t *a = realloc(*ids, (size_t)(*n + 1) * sizeof *a);
        if (!a) {
            rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory");
            break;
        }
        *ids = a;
        (*ids)[(*n)++] = x;
    }
    free(dup);
    return rc;
}

int main(int argc, char **argv)
{
    enum { O_MODEL = 256, O_RATINGS, O_DATA, O_VALCOL, O_USERS, O_USERS_FILE, O_TOP, O_HELP };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, O_MODEL},
        {"ratings", required_argument, NULL, O_RATINGS},
        {"data", required_argument, NULL, O_DATA},
        {"value-column", required_argument, NULL, O_VALCOL},
        {"users", required_argument, NULL, O_USERS},
        {"users-file", required_argument, NULL, O_USERS_FILE},
        {"top", required_argument, NULL, O_TOP},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    const char *model = NULL, *ratings = NULL, *data = NULL;
    int64_t valcol = 2, top = 10, nreq = 0;
    uint64_t *req = NULL;
    als_err_t err;
    als_err_clear(&err);
    opterr = 0;
    int c;
    while (err.code == ALS_OK && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model = optarg; break;
        case O_RATINGS: ratings = optarg; break;
        case O_DATA: data = optarg; break;
        case O_VALCOL: als_cli_int64("--value-column", optarg, 2, 1000, &valcol, &err); break;
        case O_USERS: parse_ids(optarg, &req, &nreq, &err); break;
        case O_USERS_FILE: {
            uint64_t *a;
            int64_t k;
            if (als_cli_read_ids(optarg, &a, &k, &err) == ALS_OK) {
                uint64_t *b = realloc(req, (size_t)(nreq + k + 1) * sizeof *b);
                if (b) {
                    memcpy(b + nreq, a, (size_t)k * sizeof *a);
                    req = b;
                    nreq += k;
                } else {
                    als_err_set(&err, ALS_ERR_NOMEM, "out of memory");
                }
                free(a);
            }
            break;
        }
        case O_TOP: als_cli_int64("--top", optarg, 1, (int64_t)1 << 40, &top, &err); break;
        case O_HELP: usage(stdout); return 0;
        case ':': als_err_set(&err, ALS_ERR_ARG, "%s: missing value (see --help)", argv[optind - 1]); break;
        default: als_err_set(&err, ALS_ERR_ARG, "unknown option '%s' (see --help)", argv[optind - 1]); break;
        }
    }
    if (err.code == ALS_OK && optind < argc)
        als_err_set(&err, ALS_ERR_ARG, "unexpected argument '%s' (see --help)", argv[optind]);
    if (err.code == ALS_OK) {
        if (!model || nreq == 0)
            als_err_set(&err, ALS_ERR_ARG, "--model DIR and --users IDS are required (see --help)");
        else if (!ratings == !data)
            als_err_set(&err, ALS_ERR_ARG, "give exactly one of --ratings FILE and --data DATASET "
                        "(the training ratings: seen items are excluded)");
    }
    if (err.code != ALS_OK) {
        free(req);
        return als_cli_fail(prog, &err);
    }
    als_model_t mod;
    if (als_model_read(model, 0, &mod, &err) != ALS_OK) {
        free(req);
        return als_cli_fail(prog, &err);
    }
    int64_t *urow = malloc((size_t)nreq * sizeof *urow);
    int64_t *seen_ptr = calloc((size_t)nreq + 1, sizeof *seen_ptr);
    uint64_t *seen = NULL; /* raw item ids rated by each requested user */
    als_scored_t *sc = malloc((size_t)(mod.n + 1) * sizeof *sc);
    unsigned char *mask = calloc((size_t)mod.n + 1, 1);
    int rc = urow && seen_ptr && sc && mask ? ALS_OK : als_err_set(&err, ALS_ERR_NOMEM, "out of memory");
    for (int64_t q = 0; q < nreq && rc == ALS_OK; q++) {
        urow[q] = als_id_find(mod.user_ids, mod.m, req[q]);
        if (urow[q] < 0)
            rc = als_err_set(&err, ALS_ERR_DATA, "user %" PRIu64 " is not in the model (%s/user_ids.txt)",
                             req[q], model);
    }
    /* Seen items of the requested users. */
    if (rc == ALS_OK && ratings) {
        als_triplets_t r;
        als_text_opts_t topts = {.value_col = (int)valcol};
        rc = als_text_read(ratings, ALS_TEXT_RATINGS, &topts, &r, &err);
        if (rc == ALS_OK) {
            for (int pass = 0; pass < 2 && rc == ALS_OK; pass++) {
                int64_t *fill = calloc((size_t)nreq + 1, sizeof *fill);
                if (!fill) {
                    rc = als_err_set(&err, ALS_ERR_NOMEM, "out of memory");
                    break;
                }
                for (int64_t x = 0; x < r.n; x++)
                    for (int64_t q = 0; q < nreq; q++)
                        if (r.row[x] == req[q]) {
                            if (pass == 0)
                                seen_ptr[q + 1]++;
                            else
                                seen[seen_ptr[q] + fill[q]++] = r.col[x];
                        }
                if (pass == 0) {
                    for (int64_t q = 0; q < nreq; q++)
                        seen_ptr[q + 1] += seen_ptr[q];
                    seen = malloc((size_t)(seen_ptr[nreq] + 1) * sizeof *seen);
                    if (!seen)
                        rc = als_err_set(&err, ALS_ERR_NOMEM, "out of memory");
                }
                free(fill);
            }
        }
        als_triplets_free(&r);
    } else if (rc == ALS_OK) {
        als_bin_file_t f;
        rc = als_bin_open(data, &f, &err);
        if (rc == ALS_OK) {
            int64_t m = f.h.m, n = f.h.n;
            uint64_t *uid = malloc((size_t)(m + 1) * 8), *iid = malloc((size_t)(n + 1) * 8);
            int64_t *rows = malloc((size_t)nreq * 2 * sizeof *rows);
            if (!uid || !iid || !rows)
                rc = als_err_set(&err, ALS_ERR_NOMEM, "out of memory");
            if (rc == ALS_OK && (als_bin_read(&f, ALS_SEC_USER_IDS, 0, m, uid, &err) ||
                                 als_bin_read(&f, ALS_SEC_ITEM_IDS, 0, n, iid, &err)))
                rc = err.code;
            /* Each requested user's CSR row: two pointers, then the columns. */
            for (int64_t q = 0; q < nreq && rc == ALS_OK; q++) {
                int64_t t = als_id_find(uid, m, req[q]);
                rows[2 * q] = rows[2 * q + 1] = 0;
                if (t >= 0)
                    rc = als_bin_read(&f, ALS_SEC_UPTR, t, 2, rows + 2 * q, &err);
                seen_ptr[q + 1] = seen_ptr[q] + (rows[2 * q + 1] - rows[2 * q]);
            }
            if (rc == ALS_OK && !(seen = malloc((size_t)(seen_ptr[nreq] + 1) * sizeof *seen)))
                rc = als_err_set(&err, ALS_ERR_NOMEM, "out of memory");
            for (int64_t q = 0; q < nreq && rc == ALS_OK; q++) {
                int64_t len = rows[2 * q + 1] - rows[2 * q];
                int64_t *cols = malloc((size_t)(len + 1) * sizeof *cols);
                if (!cols) {
                    rc = als_err_set(&err, ALS_ERR_NOMEM, "out of memory");
                    break;
                }
                rc = als_bin_read(&f, ALS_SEC_UCOL, rows[2 * q], len, cols, &err);
                for (int64_t x = 0; x < len && rc == ALS_OK; x++)
                    seen[seen_ptr[q] + x] = (uint64_t)cols[x] < (uint64_t)n ? iid[cols[x]] : 0;
                free(cols);
            }
            free(uid); free(iid); free(rows);
            als_bin_close(&f);
        }
    }
    if (rc == ALS_OK) {
        printf("# user rank item score\n");
        for (int64_t q = 0; q < nreq; q++) {
            for (int64_t x = seen_ptr[q]; x < seen_ptr[q + 1]; x++) {
                int64_t j = als_id_find(mod.item_ids, mod.n, seen[x]);
                if (j >= 0)
                    mask[j] = 1;
            }
            const double *u = mod.U + urow[q] * mod.k;
            int64_t k = 0;
            for (int64_t j = 0; j < mod.n; j++) {
                if (mask[j])
                    continue;
                const double *v = mod.V + j * mod.k;
                double s = 0.0;
                for (int64_t c2 = 0; c2 < mod.k; c2++)
                    s += u[c2] * v[c2];
                sc[k++] = (als_scored_t){s, j};
            }
            als_cli_sort_scored(sc, k, mod.item_ids);
            for (int64_t t = 0; t < k && t < top; t++)
                printf("%" PRIu64 " %" PRId64 " %" PRIu64 " %.6f\n", req[q], t + 1,
                       mod.item_ids[sc[t].row], sc[t].s);
            for (int64_t x = seen_ptr[q]; x < seen_ptr[q + 1]; x++) {
                int64_t j = als_id_find(mod.item_ids, mod.n, seen[x]);
                if (j >= 0)
                    mask[j] = 0;
            }
        }
    }
    free(urow); free(seen_ptr); free(seen); free(sc); free(mask); free(req);
    als_model_free(&mod);
    return rc == ALS_OK ? 0 : als_cli_fail(prog, &err);
}
