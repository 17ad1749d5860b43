/* als_options.c - command-line options of als-train. */
#include "als_options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void als_options_defaults(als_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->rank_k = 10;
    o->lambda_u = 0.1;
    o->lambda_v = 0.1;
    o->alpha = 0.0;
    o->iters = 10;
    o->tol = 0.0;
    o->seed = 42;
    o->value_col = 2;
    o->duplicates = ALS_DUP_KEEP;
    o->kernel = ALS_KERNEL_FAST;
    o->threads = 0;
    o->lambda_bias = -1.0;
    o->solver = ALS_SOLVER_CHOLESKY;
    o->cg_steps = 3;
    o->implicit = 0;
    o->conf.scale = ALS_CONF_LINEAR;
    o->conf.a = 1.0;
    o->conf.eps = 1.0;
    o->top_n = 10;
    o->huge_pages = 1;
}

const char *als_exchange_mode_name(als_exchange_mode_t m)
{
    return m == ALS_EXCH_ALLGATHER ? "allgather" : m == ALS_EXCH_NEIGHBOR ? "neighbor"
           : m == ALS_EXCH_SHARED ? "shared" : "auto";
}

const char *als_dup_policy_name(als_dup_policy_t d)
{
    static const char *names[] = {"keep", "error", "first", "last", "mean"};
    return (unsigned)d < 5 ? names[d] : "?";
}

void als_options_usage(FILE *out, const char *prog)
{
    fprintf(out,
"Usage: mpirun -np P %s --ratings FILE [options]\n"
"\n"
"Trains U (users x K) and V (items x K) by alternating least squares on\n"
"  L = 1/2 sum (r_ij - u_i.v_j)^2 + alpha/2 sum_i sum_{f in F+(i)} s_if |u_i - u_f|^2\n"
"      + lambda_u/2 |U|^2 + lambda_v/2 |V|^2      (Ma et al., WSDM 2011)\n"
"\n"
"Input:\n"
"  --ratings FILE       user item rating [ignored columns...]; separators: space, tab,\n"
"                       comma or '::'; '#'/'%%' comments; header line skipped;\n"
"                       FILE.mtx is read as MatrixMarket coordinate (1-based)\n"
"  --value-column C     0-based column holding the rating (default 2)\n"
"  --social FILE        directed links 'i f [s_if]' (f in F+(i), weight 1 if absent)\n"
"  --data FILE          binary dataset from als-partition or als-gen instead of\n"
"                       --ratings/--social: each rank reads only its own blocks\n"
"  --test FILE          held-out ratings: RMSE/MAE each iteration\n"
"  --duplicates POLICY  repeated (user,item) pairs: keep (default: each is an\n"
"                       observation), error, first, last, mean\n"
"  --init-user FILE.npy --init-item FILE.npy   start from these factors\n"
"Model:\n"
"  --rank K             latent factors (default 10)\n"
"  --lambda X           sets --lambda-u and --lambda-v (default 0.1)\n"
"  --lambda-u X         user regularization (>= 0)\n"
"  --lambda-v Y         item regularization (>= 0)\n"
"  --alpha A            social regularization weight (>= 0, default 0)\n"
"  --bias               predict mu + b_i + c_j + u_i.v_j (biases solved inside ALS;\n"
"                       rows hold K + 3 doubles: a multiple of 8 (--rank 61) runs\n"
"                       fastest)\n"
"  --lambda-scale S     none (default: plain lambda) or count (lambda * ratings of\n"
"                       the row, ALS-WR; rows without ratings count as 1)\n"
"  --lambda-bias B      plain (never count-scaled) regularization of the biases\n"
"                       (default: the same as the factors of that side)\n"
"  --implicit           implicit feedback (Hu, Koren & Volinsky 2008): preference\n"
"                       p = [r > 0], confidence c = 1 + A r (or the log scale),\n"
"                       loss 1/2 sum over EVERY (user, item) c (p - u.v)^2 + the\n"
"                       same regularization and social terms; values must be >= 0;\n"
"                       not with --bias\n"
"  --confidence A       confidence weight A >= 0 (default 1)\n"
"  --confidence-scale S linear (default: c = 1 + A r) or log (c = 1 + A log(1 + r/eps))\n"
"  --epsilon E          eps of the log scale (> 0, default 1)\n"
"  --top N              with --implicit --test: precision/recall/NDCG/MAP@N per\n"
"                       iteration, training items excluded (default 10)\n"
"Solver:\n"
"  --solver S           cholesky (default: exact k x k solve per row) or cg (a few\n"
"                       matrix-free conjugate-gradient steps per row, warm-started\n"
"                       from the row's current factor; O(steps n_i k) per row)\n"
"  --cg-steps N         CG steps per row and half-step (default 3)\n"
"Run:\n"
"  --iters N            iterations (default 10); one = U-step then V-step\n"
"  --tol T              stop when the relative loss decrease falls below T (default 0)\n"
"  --seed S             initialisation seed (default 42); results do not depend on P\n"
"  --kernel ref|fast    per-row kernels: BLAS reference or vectorized (default fast)\n"
"  --exchange MODE      allgather (replicated factors), shared (replicated once per\n"
"                       node in shared memory: no transfer inside a node, rows of\n"
"                       other nodes arrive once per node; needs the same number of\n"
"                       ranks on every node), neighbor (sharded: each rank holds its\n"
"                       rows and the ghost rows it reads) or auto (default: neighbor\n"
"                       when replicated factors would not fit the memory, else the\n"
"                       faster of allgather and neighbor by a bytes/messages model;\n"
"                       prints why). All give bitwise the same results\n"
"  --shared-domain D    with --exchange shared: one copy per node (default), socket\n"
"                       or numa (keeps reads local on multi-socket nodes; bind the\n"
"                       ranks, e.g. mpirun --bind-to core, or nothing is shared)\n"
"  --huge-pages on|off  U and V on transparent huge pages (default on: fewer TLB\n"
"                       misses on the random rows every rating reads; the AVX-512\n"
"                       Gram then reads rows in place when k %% 8 == 0); same results\n"
"  --mem-per-rank BYTES memory a rank may use, for --exchange auto (default: the\n"
"                       node's physical memory / ranks on the node; K/M/G suffixes)\n"
"  --threads T          OpenMP threads per rank (default: OMP_NUM_THREADS or 1)\n"
"  --out DIR            write U.npy V.npy user_ids.txt item_ids.txt metrics.json\n"
"  --quiet              no per-iteration lines\n"
"  --print-plan         print the block plan (rows, ratings, social entries per rank)\n"
"  --row-costs          with --out, one rank: also write row_costs.txt, each row's\n"
"                       measured seconds per half-step (median over iterations\n"
"                       2..N), to check a plan's balance with tools/plan-balance\n"
"Checkpoints:\n"
"  --checkpoint-dir DIR write DIR/checkpoint.als (atomically, keeping the previous)\n"
"  --checkpoint-every N every N iterations (default 10 with --checkpoint-dir)\n"
"  --resume DIR         continue from DIR's checkpoint: same dataset and parameters\n"
"                       (any P); --iters may grow\n"
"  --help, --version\n"
"\n"
"Example: mpirun -np 2 %s --ratings data/filmtrust/ratings.txt \\\n"
"           --social data/filmtrust/trust.txt --rank 10 --alpha 0.1 --out run1\n",
            prog, prog);
}

/* Parse a double option value; name is used in the message. */
static int parse_double(const char *name, const char *s, double lo, double *v, als_err_t *err)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(x))
        return als_err_set(err, ALS_ERR_ARG, "%s: '%s' is not a finite number", name, s);
    if (x < lo)
        return als_err_set(err, ALS_ERR_ARG, "%s: %s must be >= %g", name, s, lo);
    *v = x;
    return ALS_OK;
}

/* Parse an integer option value in [lo, hi]. */
static int parse_int(const char *name, const char *s, long lo, long hi, int *v, als_err_t *err)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        return als_err_set(err, ALS_ERR_ARG, "%s: '%s' is not an integer", name, s);
    if (x < lo || x > hi)
        return als_err_set(err, ALS_ERR_ARG, "%s: %ld is out of range [%ld, %ld]", name, x, lo, hi);
    *v = (int)x;
    return ALS_OK;
}

/* Parse a keyword option value: names[i] gives values[i] (n of them); any
 * other word is an error listing the names in this order. */
static int parse_choice(const char *name, const char *s, const char *const *names,
                        const int *values, int n, int *v, als_err_t *err)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *v = values[i];
            return ALS_OK;
        }
    char list[256] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    return als_err_set(err, ALS_ERR_ARG, "%s: '%s' is not one of %s", name, s, list);
}

static int copy_path(const char *name, const char *s, char *dst, als_err_t *err)
{
    if (strlen(s) >= ALS_PATH_MAX)
        return als_err_set(err, ALS_ERR_ARG, "%s: path longer than %d bytes", name, ALS_PATH_MAX - 1);
    if (s[0] == '\0')
        return als_err_set(err, ALS_ERR_ARG, "%s: empty path", name);
    strcpy(dst, s);
    return ALS_OK;
}

int als_options_parse(int argc, char **argv, als_options_t *o, FILE *out, als_err_t *err)
{
    enum { O_RATINGS = 256, O_SOCIAL, O_TEST, O_INIT_U, O_INIT_V, O_OUT, O_RANK, O_LAMBDA,
           O_LAMBDA_U, O_LAMBDA_V, O_ALPHA, O_ITERS, O_TOL, O_SEED, O_VALCOL, O_DUP,
           O_KERNEL, O_THREADS, O_QUIET, O_HELP, O_VERSION, O_BIAS, O_LSCALE, O_LBIAS, O_EXCHANGE, O_MEMRANK,
           O_SHMDOM, O_HUGE };
    enum { O_DATA = 512, O_PRINT_PLAN, O_ROW_COSTS };
    enum { O_CKPT_EVERY = 768, O_CKPT_DIR, O_RESUME };
    enum { O_SOLVER = 1024, O_CG_STEPS, O_IMPLICIT, O_CONF, O_CONF_SCALE, O_EPS, O_TOP };
    static const struct option longopts[] = {
        {"ratings", required_argument, NULL, O_RATINGS},
        {"social", required_argument, NULL, O_SOCIAL},
        {"data", required_argument, NULL, O_DATA},
        {"print-plan", no_argument, NULL, O_PRINT_PLAN},
        {"row-costs", no_argument, NULL, O_ROW_COSTS},
        {"checkpoint-every", required_argument, NULL, O_CKPT_EVERY},
        {"checkpoint-dir", required_argument, NULL, O_CKPT_DIR},
        {"resume", required_argument, NULL, O_RESUME},
        {"test", required_argument, NULL, O_TEST},
        {"init-user", required_argument, NULL, O_INIT_U},
        {"init-item", required_argument, NULL, O_INIT_V},
        {"out", required_argument, NULL, O_OUT},
        {"rank", required_argument, NULL, O_RANK},
        {"lambda", required_argument, NULL, O_LAMBDA},
        {"lambda-u", required_argument, NULL, O_LAMBDA_U},
        {"lambda-v", required_argument, NULL, O_LAMBDA_V},
        {"alpha", required_argument, NULL, O_ALPHA},
        {"iters", required_argument, NULL, O_ITERS},
        {"tol", required_argument, NULL, O_TOL},
        {"seed", required_argument, NULL, O_SEED},
        {"value-column", required_argument, NULL, O_VALCOL},
        {"duplicates", required_argument, NULL, O_DUP},
        {"kernel", required_argument, NULL, O_KERNEL},
        {"threads", required_argument, NULL, O_THREADS},
        {"exchange", required_argument, NULL, O_EXCHANGE},
        {"mem-per-rank", required_argument, NULL, O_MEMRANK},
        {"shared-domain", required_argument, NULL, O_SHMDOM},
        {"huge-pages", required_argument, NULL, O_HUGE},
        {"quiet", no_argument, NULL, O_QUIET},
        {"bias", no_argument, NULL, O_BIAS},
        {"lambda-scale", required_argument, NULL, O_LSCALE},
        {"lambda-bias", required_argument, NULL, O_LBIAS},
        {"solver", required_argument, NULL, O_SOLVER},
        {"cg-steps", required_argument, NULL, O_CG_STEPS},
        {"implicit", no_argument, NULL, O_IMPLICIT},
        {"confidence", required_argument, NULL, O_CONF},
        {"confidence-scale", required_argument, NULL, O_CONF_SCALE},
        {"epsilon", required_argument, NULL, O_EPS},
        {"top", required_argument, NULL, O_TOP},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0}};
    als_options_defaults(o);
    const char *prog = argc > 0 ? argv[0] : "als-train";
    const char *slash = strrchr(prog, '/');
    if (slash)
        prog = slash + 1;
    optind = 1;
    opterr = 0;
    int c, rc = ALS_OK;
    while (rc == ALS_OK && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case O_RATINGS: rc = copy_path("--ratings", optarg, o->ratings, err); break;
        case O_SOCIAL: rc = copy_path("--social", optarg, o->social, err); break;
        case O_DATA: rc = copy_path("--data", optarg, o->data, err); break;
        case O_PRINT_PLAN: o->print_plan = 1; break;
        case O_ROW_COSTS: o->row_costs = 1; break;
        case O_CKPT_EVERY:
            rc = parse_int("--checkpoint-every", optarg, 1, INT_MAX, &o->checkpoint_every, err);
            break;
        case O_CKPT_DIR: rc = copy_path("--checkpoint-dir", optarg, o->checkpoint_dir, err); break;
        case O_RESUME: rc = copy_path("--resume", optarg, o->resume, err); break;
        case O_TEST: rc = copy_path("--test", optarg, o->test, err); break;
        case O_INIT_U: rc = copy_path("--init-user", optarg, o->init_user, err); break;
        case O_INIT_V: rc = copy_path("--init-item", optarg, o->init_item, err); break;
        case O_OUT: rc = copy_path("--out", optarg, o->out, err); break;
        case O_RANK: rc = parse_int("--rank", optarg, 1, 4096, &o->rank_k, err); break;
        case O_LAMBDA:
            rc = parse_double("--lambda", optarg, 0.0, &o->lambda_u, err);
            o->lambda_v = o->lambda_u;
            break;
        case O_LAMBDA_U: rc = parse_double("--lambda-u", optarg, 0.0, &o->lambda_u, err); break;
        case O_LAMBDA_V: rc = parse_double("--lambda-v", optarg, 0.0, &o->lambda_v, err); break;
        case O_ALPHA: rc = parse_double("--alpha", optarg, 0.0, &o->alpha, err); break;
        case O_ITERS: rc = parse_int("--iters", optarg, 0, INT_MAX, &o->iters, err); break;
        case O_TOL: rc = parse_double("--tol", optarg, 0.0, &o->tol, err); break;
        case O_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (end == optarg || *end || errno == ERANGE || optarg[0] == '-')
                rc = als_err_set(err, ALS_ERR_ARG, "--seed: '%s' is not an unsigned 64-bit integer", optarg);
            o->seed = s;
            break;
        }
        case O_VALCOL: rc = parse_int("--value-column", optarg, 2, 1000, &o->value_col, err); break;
        case O_DUP: {
            static const char *const names[] = {"keep", "error", "first", "last", "mean"};
            static const int values[] = {ALS_DUP_KEEP, ALS_DUP_ERROR, ALS_DUP_FIRST, ALS_DUP_LAST,
                                         ALS_DUP_MEAN};
            int v = 0;
            rc = parse_choice("--duplicates", optarg, names, values, 5, &v, err);
            o->duplicates = rc == ALS_OK ? (als_dup_policy_t)v : o->duplicates;
            break;
        }
        case O_KERNEL: {
            static const char *const names[] = {"ref", "fast"};
            static const int values[] = {ALS_KERNEL_REF, ALS_KERNEL_FAST};
            int v = 0;
            rc = parse_choice("--kernel", optarg, names, values, 2, &v, err);
            o->kernel = rc == ALS_OK ? (als_kernel_t)v : o->kernel;
            break;
        }
        case O_EXCHANGE: {
            static const char *const names[] = {"allgather", "shared", "neighbor", "auto"};
            static const int values[] = {ALS_EXCH_ALLGATHER, ALS_EXCH_SHARED, ALS_EXCH_NEIGHBOR,
                                         ALS_EXCH_AUTO};
            int v = 0;
            rc = parse_choice("--exchange", optarg, names, values, 4, &v, err);
            o->exchange = rc == ALS_OK ? (als_exchange_mode_t)v : o->exchange;
            break;
        }
        case O_SHMDOM: {
            static const char *const names[] = {"node", "socket", "numa"};
            static const int values[] = {ALS_SHM_NODE, ALS_SHM_SOCKET, ALS_SHM_NUMA};
            rc = parse_choice("--shared-domain", optarg, names, values, 3, &o->shm_domain, err);
            break;
        }
        case O_HUGE: {
            static const char *const names[] = {"on", "off"};
            static const int values[] = {1, 0};
            rc = parse_choice("--huge-pages", optarg, names, values, 2, &o->huge_pages, err);
            break;
        }
        case O_MEMRANK: {
            char *end;
            double v = strtod(optarg, &end);
            double mul = *end == 'K' || *end == 'k' ? 1024.0 : *end == 'M' || *end == 'm' ? 1048576.0
                       : *end == 'G' || *end == 'g' ? 1073741824.0 : 1.0;
            if (mul != 1.0)
                end++;
            if (end == optarg || *end != '\0' || !(v > 0) || !isfinite(v))
                rc = als_err_set(err, ALS_ERR_ARG, "--mem-per-rank: '%s' is not a positive byte "
                                 "count (e.g. 4G)", optarg);
            else
                o->mem_limit = v * mul;
            break;
        }
        case O_THREADS: rc = parse_int("--threads", optarg, 1, 4096, &o->threads, err); break;
        case O_QUIET: o->quiet = 1; break;
        case O_BIAS: o->bias = 1; break;
        case O_LBIAS: rc = parse_double("--lambda-bias", optarg, 0.0, &o->lambda_bias, err); break;
        case O_LSCALE: {
            static const char *const names[] = {"none", "count"};
            static const int values[] = {0, 1};
            rc = parse_choice("--lambda-scale", optarg, names, values, 2, &o->lambda_count, err);
            break;
        }
        case O_SOLVER: {
            static const char *const names[] = {"cholesky", "cg"};
            static const int values[] = {ALS_SOLVER_CHOLESKY, ALS_SOLVER_CG};
            int v = 0;
            rc = parse_choice("--solver", optarg, names, values, 2, &v, err);
            o->solver = rc == ALS_OK ? (als_solver_kind_t)v : o->solver;
            break;
        }
        case O_CG_STEPS: rc = parse_int("--cg-steps", optarg, 1, 100000, &o->cg_steps, err); break;
        case O_IMPLICIT: o->implicit = 1; break;
        case O_CONF: rc = parse_double("--confidence", optarg, 0.0, &o->conf.a, err); break;
        case O_CONF_SCALE: {
            static const char *const names[] = {"linear", "log"};
            static const int values[] = {ALS_CONF_LINEAR, ALS_CONF_LOG};
            int v = 0;
            rc = parse_choice("--confidence-scale", optarg, names, values, 2, &v, err);
            o->conf.scale = rc == ALS_OK ? (als_conf_scale_t)v : o->conf.scale;
            break;
        }
        case O_EPS:
            rc = parse_double("--epsilon", optarg, 0.0, &o->conf.eps, err);
            if (rc == ALS_OK && !(o->conf.eps > 0.0))
                rc = als_err_set(err, ALS_ERR_ARG, "--epsilon: must be > 0");
            break;
        case O_TOP: rc = parse_int("--top", optarg, 1, 10000, &o->top_n, err); break;
        case O_HELP: als_options_usage(out, prog); return ALS_OPTIONS_EXIT;
        case O_VERSION: fprintf(out, "%s (SoReg-ALS) %s\n", prog, ALS_VERSION); return ALS_OPTIONS_EXIT;
        case ':':
            rc = als_err_set(err, ALS_ERR_ARG, "%s: missing value (see --help)", argv[optind - 1]);
            break;
        default:
            rc = als_err_set(err, ALS_ERR_ARG, "unknown option '%s' (see --help)", argv[optind - 1]);
            break;
        }
    }
    if (rc != ALS_OK)
        return rc;
    if (optind < argc)
        return als_err_set(err, ALS_ERR_ARG, "unexpected argument '%s' (see --help)", argv[optind]);
    if (o->data[0] && (o->ratings[0] || o->social[0]))
        return als_err_set(err, ALS_ERR_ARG, "--data replaces --ratings and --social (the binary "
                           "dataset holds both): give one or the other");
    if (o->data[0] && (o->duplicates != ALS_DUP_KEEP || o->value_col != 2))
        return als_err_set(err, ALS_ERR_ARG, "--duplicates and --value-column apply when the "
                           "dataset is built: give them to als-partition, not with --data");
    if (o->ratings[0] == '\0' && o->data[0] == '\0')
        return als_err_set(err, ALS_ERR_ARG, "--ratings FILE (or --data FILE) is required (see --help)");
    if ((o->init_user[0] == '\0') != (o->init_item[0] == '\0'))
        return als_err_set(err, ALS_ERR_ARG, "--init-user and --init-item must be given together");
    if (o->implicit && o->bias)
        return als_err_set(err, ALS_ERR_ARG, "--implicit and --bias together are not supported "
                           "(the implicit loss has no biases)");
    if (o->shm_domain != ALS_SHM_NODE && o->exchange != ALS_EXCH_SHARED)
        return als_err_set(err, ALS_ERR_ARG, "--shared-domain applies to --exchange shared "
                           "only (give both)");
    if (o->row_costs && !o->out[0])
        return als_err_set(err, ALS_ERR_ARG, "--row-costs writes row_costs.txt into the --out "
                           "set: give --out DIR");
    if (o->checkpoint_dir[0] && o->checkpoint_every == 0)
        o->checkpoint_every = 10;
    if (o->checkpoint_every > 0 && !o->checkpoint_dir[0] && !o->resume[0])
        return als_err_set(err, ALS_ERR_ARG, "--checkpoint-every needs --checkpoint-dir DIR");
    return ALS_OK;
}

int als_options_init(MPI_Comm comm, int argc, char **argv, als_options_t *o, als_err_t *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    int rc = ALS_OK;
    if (rank == 0)
        rc = als_options_parse(argc, argv, o, stdout, err);
    /* Help/version is not an error: share it separately. */
    int shared = rc;
    MPI_Bcast(&shared, 1, MPI_INT, 0, comm);
    if (shared == ALS_OPTIONS_EXIT)
        return ALS_OPTIONS_EXIT;
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    MPI_Bcast(o, (int)sizeof *o, MPI_BYTE, 0, comm);
    return ALS_OK;
}
