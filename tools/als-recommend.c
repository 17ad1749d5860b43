/* als-recommend - top-N unseen items for given users, with scores.
 *
 *   [mpirun -np P] als-recommend --model DIR (--ratings FILE | --data DATASET)
 *                  (--users ID[,ID...] | --users all | --users-file F) [--top N] [--out FILE]
 *
 * Score of item j for user i: u_i.v_j from the saved factors (with --bias
 * models the stored rows carry the biases, so the same dot product is the
 * prediction). Items the user rated in the training data (--ratings text or
 * the --data binary dataset) are excluded. Ties: the smaller raw item id
 * first. Output: "user rank item score" lines.
 *
 * The seen items are indexed once (a CSR by model user row), the top N are
 * kept by a bounded heap (no full sort per user). Under mpirun the requested
 * users are split into contiguous blocks, one per rank; the output is one
 * file in request order (--out: written collectively with MPI-IO into an
 * exclusive temporary, then renamed; stdout: gathered on rank 0).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <unistd.h>

#include "als.h"
#include "als_output.h"
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
"  --users IDS         raw user ids, comma-separated, or 'all' (every model user)\n"
"  --users-file FILE   or one raw user id per line\n"
"  --top N             items per user (default 10)\n"
"  --out FILE          write there (atomically) instead of stdout\n"
"  --help\n"
"Output: 'user rank item score', best first; a user not in the model is an error.\n"
"Under mpirun each rank scores its block of the users; the output is the same.\n",
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

/* Append to a growing text buffer. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} tbuf_t;

static void tb_put(tbuf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *x = realloc(b->s, cap);
        if (!x) {
            b->failed = 1;
            return;
        }
        b->s = x;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
}

/* The seen items of every model user: CSR by model user row of model item
 * rows (items not in the model are dropped). Built once. */
static int seen_index(const als_model_t *mod, const char *ratings, int valcol, const char *data,
                      int64_t **ptr_out, int64_t **col_out, als_err_t *err)
{
    int64_t *ptr = calloc((size_t)mod->m + 2, sizeof *ptr), *col = NULL;
    int64_t nr = 0, *ur = NULL, *ir = NULL;
    int rc = ptr ? ALS_OK : als_err_set(err, ALS_ERR_NOMEM, "out of memory for the seen index");
    if (rc == ALS_OK && ratings) {
        als_triplets_t r;
        als_text_opts_t topts = {.value_col = valcol};
        rc = als_text_read(ratings, ALS_TEXT_RATINGS, &topts, &r, err);
        if (rc == ALS_OK) {
            ur = malloc((size_t)(r.n + 1) * sizeof *ur);
            ir = malloc((size_t)(r.n + 1) * sizeof *ir);
            if (!ur || !ir)
                rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory for the seen index");
            for (int64_t x = 0; x < r.n && rc == ALS_OK; x++) {
                int64_t u = als_id_find(mod->user_ids, mod->m, r.row[x]);
                int64_t j = u >= 0 ? als_id_find(mod->item_ids, mod->n, r.col[x]) : -1;
                if (j >= 0) {
                    ur[nr] = u;
                    ir[nr++] = j;
                }
            }
        }
        als_triplets_free(&r);
    } else if (rc == ALS_OK) {
        als_bin_file_t f;
        rc = als_bin_open(data, &f, err);
        if (rc == ALS_OK) {
            int64_t m = f.h.m, n = f.h.n, nnz = f.h.nnz;
            uint64_t *uid = malloc((size_t)(m + 1) * 8), *iid = malloc((size_t)(n + 1) * 8);
            int64_t *uptr = malloc((size_t)(m + 1) * sizeof *uptr);
            int64_t *ucol = malloc((size_t)(nnz + 1) * sizeof *ucol);
            int64_t *umap = malloc((size_t)(m + 1) * sizeof *umap);
            int64_t *imap = malloc((size_t)(n + 1) * sizeof *imap);
            ur = malloc((size_t)(nnz + 1) * sizeof *ur);
            ir = malloc((size_t)(nnz + 1) * sizeof *ir);
            if (!uid || !iid || !uptr || !ucol || !umap || !imap || !ur || !ir)
                rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory for the seen index");
            if (rc == ALS_OK && (als_bin_read(&f, ALS_SEC_USER_IDS, 0, m, uid, err) ||
                                 als_bin_read(&f, ALS_SEC_ITEM_IDS, 0, n, iid, err) ||
                                 als_bin_read(&f, ALS_SEC_UPTR, 0, m + 1, uptr, err) ||
                                 als_bin_read(&f, ALS_SEC_UCOL, 0, nnz, ucol, err)))
                rc = err->code;
            for (int64_t t = 0; t < m && rc == ALS_OK; t++)
                umap[t] = als_id_find(mod->user_ids, mod->m, uid[t]);
            for (int64_t t = 0; t < n && rc == ALS_OK; t++)
                imap[t] = als_id_find(mod->item_ids, mod->n, iid[t]);
            for (int64_t t = 0; t < m && rc == ALS_OK; t++) {
                if (umap[t] < 0)
                    continue;
                for (int64_t x = uptr[t]; x < uptr[t + 1]; x++) {
                    int64_t c = ucol[x];
                    if (c >= 0 && c < n && imap[c] >= 0) {
                        ur[nr] = umap[t];
                        ir[nr++] = imap[c];
                    }
                }
            }
            free(uid); free(iid); free(uptr); free(ucol); free(umap); free(imap);
            als_bin_close(&f);
        }
    }
    if (rc == ALS_OK) { /* counting sort by user row */
        col = malloc((size_t)(nr + 1) * sizeof *col);
        if (!col)
            rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory for the seen index");
        for (int64_t x = 0; x < nr && rc == ALS_OK; x++)
            ptr[ur[x] + 2]++;
        for (int64_t u = 0; u < mod->m && rc == ALS_OK; u++)
            ptr[u + 2] += ptr[u + 1];
        for (int64_t x = 0; x < nr && rc == ALS_OK; x++)
            col[ptr[ur[x] + 1]++] = ir[x];
    }
    free(ur);
    free(ir);
    if (rc != ALS_OK) {
        free(ptr);
        free(col);
        return rc;
    }
    *ptr_out = ptr; /* row u: col[ptr[u] .. ptr[u+1]) */
    *col_out = col;
    return ALS_OK;
}

int main(int argc, char **argv)
{
    if (als_mpi_init(&argc, &argv, prog, NULL) != 0)
        return 1;
    MPI_Comm comm = MPI_COMM_WORLD;
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    enum { O_MODEL = 256, O_RATINGS, O_DATA, O_VALCOL, O_USERS, O_USERS_FILE, O_TOP, O_OUT, O_HELP };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, O_MODEL},
        {"ratings", required_argument, NULL, O_RATINGS},
        {"data", required_argument, NULL, O_DATA},
        {"value-column", required_argument, NULL, O_VALCOL},
        {"users", required_argument, NULL, O_USERS},
        {"users-file", required_argument, NULL, O_USERS_FILE},
        {"top", required_argument, NULL, O_TOP},
        {"out", required_argument, NULL, O_OUT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    const char *model = NULL, *ratings = NULL, *data = NULL, *out = NULL;
    int64_t valcol = 2, top = 10, nreq = 0;
    int all_users = 0;
    uint64_t *req = NULL;
    als_err_t err;
    als_err_clear(&err);
    opterr = 0;
    int c;
    /* Every rank parses the same argv: the same result everywhere. */
    while (err.code == ALS_OK && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model = optarg; break;
        case O_RATINGS: ratings = optarg; break;
        case O_DATA: data = optarg; break;
        case O_VALCOL: als_cli_int64("--value-column", optarg, 2, 1000, &valcol, &err); break;
        case O_USERS:
            if (!strcmp(optarg, "all"))
                all_users = 1;
            else
                parse_ids(optarg, &req, &nreq, &err);
            break;
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
        case O_OUT: out = optarg; break;
        case O_HELP:
            if (rank == 0)
                usage(stdout);
            free(req);
            MPI_Finalize();
            return 0;
        case ':': als_err_set(&err, ALS_ERR_ARG, "%s: missing value (see --help)", argv[optind - 1]); break;
        default: als_err_set(&err, ALS_ERR_ARG, "unknown option '%s' (see --help)", argv[optind - 1]); break;
        }
    }
    if (err.code == ALS_OK && optind < argc)
        als_err_set(&err, ALS_ERR_ARG, "unexpected argument '%s' (see --help)", argv[optind]);
    if (err.code == ALS_OK) {
        if (!model || (nreq == 0 && !all_users))
            als_err_set(&err, ALS_ERR_ARG, "--model DIR and --users IDS|all are required (see --help)");
        else if (all_users && nreq)
            als_err_set(&err, ALS_ERR_ARG, "--users all cannot be combined with a list of users");
        else if (!ratings == !data)
            als_err_set(&err, ALS_ERR_ARG, "give exactly one of --ratings FILE and --data DATASET "
                        "(the training ratings: seen items are excluded)");
    }
    als_model_t mod;
    memset(&mod, 0, sizeof mod);
    if (err.code == ALS_OK)
        als_model_read(model, 0, &mod, &err);
    int64_t *urow = NULL;
    if (err.code == ALS_OK) {
        if (all_users)
            nreq = mod.m;
        urow = malloc((size_t)(nreq + 1) * sizeof *urow);
        if (!urow)
            als_err_set(&err, ALS_ERR_NOMEM, "out of memory");
        for (int64_t q = 0; q < nreq && err.code == ALS_OK; q++) {
            urow[q] = all_users ? q : als_id_find(mod.user_ids, mod.m, req[q]);
            if (urow[q] < 0)
                als_err_set(&err, ALS_ERR_DATA, "user %" PRIu64 " is not in the model (%s/user_ids.txt)",
                            req[q], model);
        }
    }
    double t0 = MPI_Wtime();
    int64_t *sptr = NULL, *scol = NULL;
    if (err.code == ALS_OK)
        seen_index(&mod, ratings, (int)valcol, data, &sptr, &scol, &err);
    if (als_err_agree(comm, &err) != ALS_OK) {
        free(req); free(urow); free(sptr); free(scol);
        als_model_free(&mod);
        if (rank == 0)
            als_cli_fail(prog, &err);
        MPI_Finalize();
        return err.code == ALS_ERR_ARG ? 2 : 1;
    }
    double t_index = MPI_Wtime() - t0;
    /* This rank's contiguous block of the requests. */
    int64_t q0 = nreq * rank / nranks, q1 = nreq * (rank + 1) / nranks;
    int64_t hcap = top < mod.n ? top : mod.n;
    als_scored_t *heap = malloc((size_t)(hcap + 1) * sizeof *heap);
    unsigned char *mask = calloc((size_t)mod.n + 1, 1);
    tbuf_t b = {0};
    if (!heap || !mask)
        als_err_set(&err, ALS_ERR_NOMEM, "out of memory");
    if (rank == 0)
        tb_put(&b, "# user rank item score\n", 23);
    for (int64_t q = q0; q < q1 && err.code == ALS_OK; q++) {
        int64_t u = urow[q];
        for (int64_t x = sptr[u]; x < sptr[u + 1]; x++)
            mask[scol[x]] = 1;
        const double *uv = mod.U + u * mod.k;
        int64_t len = 0;
        for (int64_t j = 0; j < mod.n; j++) {
            if (mask[j])
                continue;
            const double *v = mod.V + j * mod.k;
            double s = 0.0;
            for (int64_t c2 = 0; c2 < mod.k; c2++)
                s += uv[c2] * v[c2];
            als_cli_top_push(heap, &len, hcap, (als_scored_t){s, j}, mod.item_ids);
        }
        als_cli_sort_scored(heap, len, mod.item_ids);
        uint64_t uid = mod.user_ids[u];
        for (int64_t t = 0; t < len; t++) {
            char line[96];
            int n = snprintf(line, sizeof line, "%" PRIu64 " %" PRId64 " %" PRIu64 " %.6f\n",
                             uid, t + 1, mod.item_ids[heap[t].row], heap[t].s);
            tb_put(&b, line, (size_t)n);
        }
        for (int64_t x = sptr[u]; x < sptr[u + 1]; x++)
            mask[scol[x]] = 0;
    }
    if (b.failed)
        als_err_set(&err, ALS_ERR_NOMEM, "out of memory for the output");
    double t_score = MPI_Wtime() - t0 - t_index;
    if (als_err_agree(comm, &err) == ALS_OK)
        als_cli_write_ordered(comm, out, b.s, b.len, &err);
    if (err.code == ALS_OK && rank == 0 && getenv("ALS_RECOMMEND_TIMING"))
        fprintf(stderr, "als-recommend: %" PRId64 " users on %d ranks: seen index %.3f s, "
                "scoring %.3f s (rank 0)\n", nreq, nranks, t_index, t_score);
    free(b.s); free(heap); free(mask); free(urow); free(sptr); free(scol); free(req);
    als_model_free(&mod);
    int code = err.code == ALS_OK ? 0 : err.code == ALS_ERR_ARG ? 2 : 1;
    if (code && rank == 0)
        als_cli_fail(prog, &err);
    MPI_Finalize();
    return code;
}
