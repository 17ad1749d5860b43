/* als-partition - build the binary dataset once; print the block plan.
 *
 *   als-partition --ratings FILE [--social FILE] --out DATASET [--ranks P]
 *   als-partition --data DATASET --ranks P[,P...] [--rank K] [--bias] [--solver S] [--implicit] [--threads T]
 *
 * Reads every text format als-train reads, builds the dataset exactly as
 * als-train does (als_global_build: dense ids in ascending raw-id order, CSR,
 * CSC, W = S + S^T, duplicate policy) and writes it in the binary format of
 * als_binfmt.h, which `mpirun -np P als-train --data DATASET` reads in
 * parallel. --ranks P prints the block plan als-train will use with P ranks
 * and rank K (the plan balances modelled flops at the stored width), with
 * each rank's ghost rows, and summary lines (ghost rows, bytes received per
 * iteration and memory per rank in both exchange modes, flop imbalance):
 * computed from the global arrays, for any P, without P ranks.
 *
 *   als-partition (--ratings FILE [--social FILE] | --data DATASET) --ranks P
 *                 --reorder metis --dry-run [--parts N] [--seed S]
 *
 * Locality (issue 11): partitions the user-item-social graph with METIS
 * (als_reorder.h) and prints the plan's ghost rows with users, and users and
 * items, renumbered by part, next to the stored order. Only the report
 * (--dry-run) exists: no reordered dataset is written (README).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "als.h"
#include "als_binfmt.h"
#include "als_cli.h"
#include "als_partition.h"
#include "als_reorder.h"

static const char *prog = "als-partition";

static void usage(FILE *out)
{
    fprintf(out,
"Usage: %s --ratings FILE [--social FILE] --out DATASET [options]\n"
"       %s --data DATASET --ranks P[,P...] [--rank K] [--bias] [--solver S]\n"
"                     [--implicit] [--threads T]\n"
"\n"
"Builds the dataset exactly as als-train does from text and writes it as one\n"
"binary file (header, id maps, CSR by user, CSC by item, W = S + S^T, a\n"
"checksum per 1 MiB block of every section). Train on it with\n"
"  mpirun -np P als-train --data DATASET [options]\n"
"where every rank reads only its own blocks with MPI-IO.\n"
"\n"
"  --ratings FILE       ratings, any format als-train reads (see als-train --help)\n"
"  --social FILE        directed links 'i f [s_if]'\n"
"  --value-column C     0-based column of the rating (default 2)\n"
"  --duplicates POLICY  keep (default), error, first, last, mean: as als-train\n"
"  --out DATASET        the binary file to write (atomically: temporary + rename)\n"
"  --block-size BYTES   checksum block size (default 1048576; multiple of 8)\n"
"  --ranks P[,P...]     print the block plan for P ranks (several: one after the\n"
"                       other): users, ratings, social entries, items, ghost rows\n"
"                       and modelled cost per rank, then summary lines\n"
"                       (ghost_rows, bytes_per_iteration_{neighbor,allgather},\n"
"                       memory_per_rank_bytes_{neighbor,allgather}: min avg max;\n"
"                       imbalance_flops: users X items Y); the same plan\n"
"                       als-train uses (als-train --print-plan shows it)\n"
"  --rank K             latent factors of the planned run (default 10, as als-train)\n"
"  --bias               the planned run uses --bias (stored width K + 3)\n"
"  --solver S           the planned run's solver, cholesky (default) or cg: with\n"
"                       cholesky, rows with fewer ratings than factors take the\n"
"                       n x n route and the plan counts them at its cost\n"
"  --implicit           the planned run uses --implicit (every row k x k)\n"
"  --threads T          threads per rank of the planned run (memory model; default 1)\n"
"  --ranks-per-node R   also the --exchange shared figures for nodes of R consecutive\n"
"                       ranks (ranks_per_node, bytes_per_iteration_shared,\n"
"                       memory_per_rank_bytes_shared; als-train prints the same)\n"
"  --summary            summary lines only, no per-rank table\n"
"  --data DATASET       with --ranks: print the plan of an existing binary file\n"
"  --reorder metis      with --ranks P and --dry-run: partition the user-item-\n"
"                       social graph into P parts (METIS k-way, seeded) and print\n"
"                       the plan with users (and users and items) renumbered by\n"
"                       part next to the stored order, and a line\n"
"                       'ghost_reorder: P p parts N before A users B users_items C'\n"
"  --parts N            METIS parts (default: each P of --ranks)\n"
"  --seed S             METIS seed (default 1)\n"
"  --dry-run            report only (writing a reordered dataset is not implemented)\n"
"  --help\n", prog, prog);
}

int main(int argc, char **argv)
{
    enum { O_RATINGS = 256, O_SOCIAL, O_VALCOL, O_DUP, O_OUT, O_BLOCK, O_RANKS, O_DATA, O_HELP,
           O_RANK, O_BIAS, O_THREADS, O_SUMMARY, O_REORDER, O_PARTS, O_SEED, O_DRY, O_RPN, O_SOLVER, O_IMPLICIT };
    static const struct option longopts[] = {
        {"ratings", required_argument, NULL, O_RATINGS},
        {"social", required_argument, NULL, O_SOCIAL},
        {"value-column", required_argument, NULL, O_VALCOL},
        {"duplicates", required_argument, NULL, O_DUP},
        {"out", required_argument, NULL, O_OUT},
        {"block-size", required_argument, NULL, O_BLOCK},
        {"ranks", required_argument, NULL, O_RANKS},
        {"data", required_argument, NULL, O_DATA},
        {"rank", required_argument, NULL, O_RANK},
        {"bias", no_argument, NULL, O_BIAS},
        {"solver", required_argument, NULL, O_SOLVER},
        {"implicit", no_argument, NULL, O_IMPLICIT},
        {"threads", required_argument, NULL, O_THREADS},
        {"ranks-per-node", required_argument, NULL, O_RPN},
        {"summary", no_argument, NULL, O_SUMMARY},
        {"reorder", required_argument, NULL, O_REORDER},
        {"parts", required_argument, NULL, O_PARTS},
        {"seed", required_argument, NULL, O_SEED},
        {"dry-run", no_argument, NULL, O_DRY},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    const char *ratings = NULL, *social = NULL, *out = NULL, *data = NULL;
    int64_t valcol = 2, block = (int64_t)ALS_BIN_BLOCK_DEFAULT, ranks = 0, rank_k = 10,
            threads = 1, rpn = 0;
    int bias = 0, cg = 0, implicit = 0, summary = 0, np = 0, reorder = 0, dry = 0;
    int64_t parts = 0, seed = 1;
    int plist[64];
    als_dup_policy_t dup = ALS_DUP_KEEP;
    als_err_t err;
    als_err_clear(&err);
    opterr = 0;
    int c;
    while (err.code == ALS_OK && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case O_RATINGS: ratings = optarg; break;
        case O_SOCIAL: social = optarg; break;
        case O_OUT: out = optarg; break;
        case O_DATA: data = optarg; break;
        case O_VALCOL: als_cli_int64("--value-column", optarg, 2, 1000, &valcol, &err); break;
        case O_BLOCK:
            if (als_cli_int64("--block-size", optarg, 8, (int64_t)1 << 30, &block, &err) == ALS_OK &&
                block % 8)
                als_err_set(&err, ALS_ERR_ARG, "--block-size: %s is not a multiple of 8", optarg);
            break;
        case O_RANKS: {
            /* P or a comma-separated list. */
            char *copy = strdup(optarg), *save = NULL;
            np = 0;
            for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && err.code == ALS_OK;
                 tok = strtok_r(NULL, ",", &save)) {
                if (np == 64)
                    als_err_set(&err, ALS_ERR_ARG, "--ranks: at most 64 rank counts");
                else if (als_cli_int64("--ranks", tok, 1, 1 << 20, &ranks, &err) == ALS_OK)
                    plist[np++] = (int)ranks;
            }
            if (err.code == ALS_OK && np == 0)
                als_err_set(&err, ALS_ERR_ARG, "--ranks: no rank count in '%s'", optarg);
            free(copy);
            break;
        }
        case O_RANK: als_cli_int64("--rank", optarg, 1, 4096, &rank_k, &err); break;
        case O_THREADS: als_cli_int64("--threads", optarg, 1, 4096, &threads, &err); break;
        case O_RPN: als_cli_int64("--ranks-per-node", optarg, 1, 1 << 20, &rpn, &err); break;
        case O_BIAS: bias = 1; break;
        case O_IMPLICIT: implicit = 1; break;
        case O_SOLVER:
            if (strcmp(optarg, "cholesky") == 0 || strcmp(optarg, "cg") == 0)
                cg = optarg[1] == 'g';
            else
                als_err_set(&err, ALS_ERR_ARG, "--solver: '%s' is not 'cholesky' or 'cg'", optarg);
            break;
        case O_SUMMARY: summary = 1; break;
        case O_REORDER:
            if (strcmp(optarg, "metis") == 0)
                reorder = 1;
            else
                als_err_set(&err, ALS_ERR_ARG, "--reorder: '%s' is not 'metis'", optarg);
            break;
        case O_PARTS: als_cli_int64("--parts", optarg, 1, 1 << 20, &parts, &err); break;
        case O_SEED: als_cli_int64("--seed", optarg, 0, INT32_MAX, &seed, &err); break;
        case O_DRY: dry = 1; break;
        case O_DUP: {
            static const char *names[] = {"keep", "error", "first", "last", "mean"};
            int found = -1;
            for (int i = 0; i < 5; i++)
                if (strcmp(optarg, names[i]) == 0)
                    found = i;
            if (found < 0)
                als_err_set(&err, ALS_ERR_ARG, "--duplicates: '%s' is not one of keep, error, "
                            "first, last, mean", optarg);
            else
                dup = (als_dup_policy_t)found;
            break;
        }
        case O_HELP: usage(stdout); return 0;
        case ':': als_err_set(&err, ALS_ERR_ARG, "%s: missing value (see --help)", argv[optind - 1]); break;
        default: als_err_set(&err, ALS_ERR_ARG, "unknown option '%s' (see --help)", argv[optind - 1]); break;
        }
    }
    if (err.code == ALS_OK && optind < argc)
        als_err_set(&err, ALS_ERR_ARG, "unexpected argument '%s' (see --help)", argv[optind]);
    if (err.code == ALS_OK) {
        if ((parts || dry) && !reorder)
            als_err_set(&err, ALS_ERR_ARG, "--parts and --dry-run go with --reorder metis");
        else if (reorder && (!ranks || !dry || out))
            als_err_set(&err, ALS_ERR_ARG, "--reorder metis needs --ranks P and --dry-run (it "
                        "reports the ghost rows of the reordered plan; writing a reordered "
                        "dataset (--out) is not implemented)");
        else if (data && (ratings || social || out))
            als_err_set(&err, ALS_ERR_ARG, "--data prints the plan of an existing file: give it "
                        "with --ranks only");
        else if (data && !ranks)
            als_err_set(&err, ALS_ERR_ARG, "--data needs --ranks P");
        else if (!data && !ratings)
            als_err_set(&err, ALS_ERR_ARG, "--ratings FILE is required (see --help)");
        else if (!data && !out && !ranks)
            als_err_set(&err, ALS_ERR_ARG, "nothing to do: give --out DATASET and/or --ranks P");
    }
    if (err.code != ALS_OK)
        return als_cli_fail(prog, &err);
    /* The plan's model: as als_plan_model_of for the same als-train options. */
    const als_plan_model_t kw = als_plan_model((int)rank_k, bias, !cg && !implicit);

    if (data && reorder) {
        als_graph_t gr;
        memset(&gr, 0, sizeof gr);
        if (als_partition_load_index(data, &gr.m, &gr.n, &gr.uptr, &gr.ucol, &gr.iptr, &gr.irow,
                                     &gr.wptr, &gr.wcol, &err) != ALS_OK)
            return als_cli_fail(prog, &err);
        int rr = als_reorder_report(stdout, &gr, np, plist, (int)parts, (int)seed, kw,
                                    (int)threads, !summary, &err);
        als_graph_free(&gr);
        return rr == ALS_OK ? 0 : als_cli_fail(prog, &err);
    }
    if (data) {
        if (als_partition_print_binary(stdout, data, np, plist, kw, (int)threads, (int)rpn,
                                       !summary, &err) != ALS_OK)
            return als_cli_fail(prog, &err);
        return 0;
    }
    double t0 = als_cli_now();
    als_triplets_t r, s;
    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    als_text_opts_t topts = {.value_col = (int)valcol};
    als_global_t g;
    memset(&g, 0, sizeof g);
    int rc = als_text_read(ratings, ALS_TEXT_RATINGS, &topts, &r, &err);
    if (rc == ALS_OK && social)
        rc = als_text_read(social, ALS_TEXT_SOCIAL, NULL, &s, &err);
    if (rc == ALS_OK)
        rc = als_global_build(&r, social ? &s : NULL, dup, ratings, &g, &err);
    als_triplets_free(&r);
    als_triplets_free(&s);
    if (rc != ALS_OK)
        return als_cli_fail(prog, &err);
    double t1 = als_cli_now();
    const als_data_stats_t *st = &g.stats;
    printf("users: %" PRId64 "  items: %" PRId64 "  ratings: %" PRId64 "  social_links: %" PRId64
           "  W_nonzeros: %" PRId64 "\n", g.m, g.n, g.nnz, g.nlinks, g.wnnz);
    printf("rating range: [%g, %g]  mean: %.4f\n", g.rmin, g.rmax, g.rmean);
    if (st->duplicate_pairs)
        printf("warning: %" PRId64 " (user, item) pairs occur more than once (%" PRId64
               " extra rows; --duplicates %s)\n", st->duplicate_pairs, st->duplicate_rows,
               als_dup_policy_name(dup));
    if (st->self_loops)
        printf("warning: %" PRId64 " self-links dropped from the social file\n", st->self_loops);
    if (st->duplicate_links)
        printf("warning: %" PRId64 " repeated social links (the last weight is kept)\n",
               st->duplicate_links);
    printf("read and build: %.3f s\n", t1 - t0);
    if (out) {
        if (als_binfmt_write(out, &g, (uint64_t)block, &err) != ALS_OK) {
            als_global_free(&g);
            return als_cli_fail(prog, &err);
        }
        printf("wrote %s (%.3f s)\n", out, als_cli_now() - t1);
    }
    if (ranks && reorder) {
        als_graph_t gr = {g.m, g.n, g.uptr, g.ucol, g.iptr, g.irow, g.wptr, g.wcol};
        rc = als_reorder_report(stdout, &gr, np, plist, (int)parts, (int)seed, kw, (int)threads,
                                !summary, &err);
    } else if (ranks)
        rc = als_partition_print_global(stdout, &g, np, plist, kw, (int)threads, (int)rpn,
                                        !summary, &err);
    als_global_free(&g);
    if (rc != ALS_OK)
        return als_cli_fail(prog, &err);
    return 0;
}
