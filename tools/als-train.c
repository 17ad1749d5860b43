/* als-train - train a SoReg-ALS model on MPI ranks.
 *
 *   mpirun -np P bin/als-train --ratings FILE [--social FILE] [options]
 *
 * Flow: options (rank 0, broadcast) -> read and build the dataset (rank 0)
 * -> block plan and distribution -> U-step / V-step iterations -> output.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <sched.h>
#include <sys/resource.h>

#include "als.h"
#include "als_binfmt.h"
#include "als_checkpoint.h"
#include "als_pario.h"
#include "als_partition.h"
#include "als_rsum.h"

/* Leave with the agreed error on every rank. */
static int fail(MPI_Comm comm, const als_err_t *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0)
        fprintf(stderr, "als-train: error: %s\n", err->msg);
    MPI_Finalize();
    return err->code == ALS_ERR_ARG ? 2 : 1;
}

static void print_params(FILE *out, const als_options_t *o, int p, const als_sysinfo_t *si)
{
    fprintf(out, "als-train %s (SoReg-ALS)\n", ALS_VERSION);
    if (o->data[0])
        fprintf(out, "data: %s (binary dataset)\n", o->data);
    fprintf(out, "ratings: %s\n", o->ratings[0] ? o->ratings : "(in --data)");
    fprintf(out, "social: %s\n", o->social[0] ? o->social : o->data[0] ? "(in --data)" : "(none)");
    fprintf(out, "test: %s\n", o->test[0] ? o->test : "(none)");
    fprintf(out, "rank_k: %d  lambda_u: %g  lambda_v: %g  lambda_scale: %s  alpha: %g  bias: %s\n",
            o->rank_k, o->lambda_u, o->lambda_v, o->lambda_count ? "count" : "none", o->alpha,
            o->bias ? "yes" : "no");
    fprintf(out, "solver: %s", o->solver == ALS_SOLVER_CG ? "cg" : "cholesky");
    if (o->solver == ALS_SOLVER_CG)
        fprintf(out, " (%d steps per row, warm-started)", o->cg_steps);
    fprintf(out, "\n");
    if (o->implicit)
        fprintf(out, "implicit: yes  confidence: %s, A = %g%s  (p = [r > 0], loss over every "
                "pair)  top: %d\n", o->conf.scale == ALS_CONF_LOG ? "1 + A log(1 + r/eps)" :
                "1 + A r", o->conf.a, o->conf.scale == ALS_CONF_LOG ? (o->conf.eps == 1.0 ?
                ", eps = 1" : ", eps as given") : "", o->top_n);
    if (o->implicit && o->conf.scale == ALS_CONF_LOG && o->conf.eps != 1.0)
        fprintf(out, "epsilon: %g\n", o->conf.eps);
    if (o->bias && o->lambda_bias >= 0)
        fprintf(out, "lambda_bias: %g (plain, for b_i and c_j)\n", o->lambda_bias);
    fprintf(out, "iters: %d  tol: %g  seed: %" PRIu64 "  duplicates: %s  value_column: %d\n",
            o->iters, o->tol, o->seed, als_dup_policy_name(o->duplicates), o->value_col);
    if (o->init_user[0])
        fprintf(out, "init: %s, %s\n", o->init_user, o->init_item);
    fprintf(out, "out: %s\n", o->out[0] ? o->out : "(none)");
    fprintf(out, "ranks: %d  threads_per_rank: %d  kernel: %s (isa %s)\n", p, si->omp_threads,
            o->kernel == ALS_KERNEL_REF ? "ref" : "fast", si->kernel_isa);
    fprintf(out, "kernels: %s\n", als_kernel_config());
    fprintf(out, "blas: %s (core %s, 1 thread inside ranks)\n", si->blas_config, si->blas_core);
    if (si->blas_load_threads > 1)
        fprintf(out, "note: OpenBLAS started %d threads in each rank when it was loaded "
                "(OPENBLAS_NUM_THREADS unset or > 1); its calls here run on 1 thread, so the "
                "other %d only wait (spinning at start-up). With many ranks per node set "
                "OPENBLAS_NUM_THREADS=1, as the jobs/ scripts do.\n",
                si->blas_load_threads, si->blas_load_threads - 1);
    if (o->bias && o->rank_k >= 16 && (o->rank_k + 3) % 8 != 0 && (o->rank_k + 3) % 8 <= 3) {
        /* --bias stores K + 3 doubles per row (the bias, its partner 1 and
         * the mean's): a multiple of 8 keeps rows whole in the Gram's tiles
         * and lets it read them in place (docs/PERFORMANCE.md). Suggested
         * only when 3 or fewer factors smaller. */
        const int lo = o->rank_k - (o->rank_k + 3) % 8;
        fprintf(out, "note: with --bias every factor row holds --rank + 3 = %d doubles; --rank "
                "%d gives rows of %d, which the Gram reads whole and in place (on a 2M-rating "
                "set --rank 61 ran 1.2x faster than 64, and 13 1.6x faster than 16)\n",
                o->rank_k + 3, lo, lo + 3);
    }
    if (si->blas_generic)
        fprintf(out, "warning: OpenBLAS runs its %s kernel on a CPU with %s; dgemm is several "
                "times slower than it could be (try OPENBLAS_CORETYPE=SKYLAKEX or HASWELL). "
                "The fast kernels do not depend on it.\n", si->blas_core, si->cpu_isa);
    fflush(out);
}

static void print_data(FILE *out, const als_data_t *d, const als_testset_t *t, const char *test)
{
    const als_data_stats_t *s = &d->stats;
    fprintf(out, "users: %" PRId64 "  items: %" PRId64 "  ratings: %" PRId64
            "  social_links: %" PRId64 "  W_nonzeros: %" PRId64 "\n",
            d->m, d->n, d->nnz, d->nlinks, d->wnnz);
    fprintf(out, "rating range: [%g, %g]  mean: %.4f\n", d->rmin, d->rmax, d->rmean);
    if (s->duplicate_pairs)
        fprintf(out, "warning: %" PRId64 " (user, item) pairs occur more than once (%" PRId64
                " extra rows); --duplicates chooses how they count\n", s->duplicate_pairs,
                s->duplicate_rows);
    if (s->self_loops)
        fprintf(out, "warning: %" PRId64 " self-links dropped from the social file\n",
                s->self_loops);
    if (s->duplicate_links)
        fprintf(out, "warning: %" PRId64 " repeated social links (the last weight is kept)\n",
                s->duplicate_links);
    if (s->social_only_users)
        fprintf(out, "note: %" PRId64 " users appear only in the social file (factors from "
                "their neighbours)\n", s->social_only_users);
    if (s->header_lines)
        fprintf(out, "note: %" PRId64 " header line%s skipped (ratings/social)\n",
                s->header_lines, s->header_lines == 1 ? "" : "s");
    if (test[0] && t->total == 0)
        fprintf(out, "test: no test ratings in %s (test metrics are null)\n", test);
    else if (test[0])
        fprintf(out, "test: %" PRId64 " ratings, %" PRId64 " with user and item in the model, %"
                PRId64 " with unknown user, %" PRId64 " with unknown item (not evaluated)\n",
                t->total, t->n_all, t->unknown_user, t->unknown_item);
    if (test[0] && t->total > 0 && t->n_all == 0)
        fprintf(out, "note: no test ratings to evaluate (every test pair has an unknown user or "
                "item): test RMSE/MAE are '-' here and null in metrics.json\n");
    fflush(out);
}

/* The metrics.json document (rank 0). */
static void build_metrics(als_buf_t *b, const als_options_t *o, const als_data_t *d,
                          const als_testset_t *t, const als_solver_t *s,
                          const als_timer_summary_t *ts, const als_sysinfo_t *si, int passed,
                          double compute_gflops, double iter_gflops, const double *rss,
                          const als_coldstart_t *cs, const double *xbytes, const double *xmem)
{
    als_buf_printf(b, "{\n  \"program\": \"als-train\",\n  \"version\": \"%s\",\n", ALS_VERSION);
    als_buf_printf(b, "  \"parameters\": {\"ratings\": ");
    als_buf_json_str(b, o->ratings);
    als_buf_printf(b, ", \"data\": ");
    als_buf_json_str(b, o->data);
    als_buf_printf(b, ", \"social\": ");
    als_buf_json_str(b, o->social);
    als_buf_printf(b, ", \"test\": ");
    als_buf_json_str(b, o->test);
    als_buf_printf(b, ", \"rank\": %d, \"lambda_u\": ", o->rank_k);
    als_buf_json_num(b, o->lambda_u);
    als_buf_printf(b, ", \"lambda_v\": ");
    als_buf_json_num(b, o->lambda_v);
    als_buf_printf(b, ", \"alpha\": ");
    als_buf_json_num(b, o->alpha);
    als_buf_printf(b, ", \"lambda_scale\": \"%s\", \"bias\": %s, \"lambda_bias\": ",
                   o->lambda_count ? "count" : "none", o->bias ? "true" : "false");
    als_buf_json_num(b, o->lambda_bias >= 0 ? o->lambda_bias : NAN);
    als_buf_printf(b, ", \"solver\": \"%s\", \"cg_steps\": %d, \"implicit\": %s, "
                   "\"confidence_scale\": \"%s\", \"confidence\": ",
                   o->solver == ALS_SOLVER_CG ? "cg" : "cholesky", o->cg_steps,
                   o->implicit ? "true" : "false", o->conf.scale == ALS_CONF_LOG ? "log" : "linear");
    als_buf_json_num(b, o->conf.a);
    als_buf_printf(b, ", \"epsilon\": ");
    als_buf_json_num(b, o->conf.eps);
    als_buf_printf(b, ", \"top\": %d", o->top_n);
    als_buf_printf(b, ", \"iters\": %d, \"tol\": ", o->iters);
    als_buf_json_num(b, o->tol);
    als_buf_printf(b, ", \"seed\": %" PRIu64 ", \"duplicates\": \"%s\", \"kernel\": \"%s\", "
                   "\"init_user\": ", o->seed, als_dup_policy_name(o->duplicates),
                   o->kernel == ALS_KERNEL_REF ? "ref" : "fast");
    als_buf_json_str(b, o->init_user);
    als_buf_printf(b, ", \"init_item\": ");
    als_buf_json_str(b, o->init_item);
    als_buf_printf(b, "},\n  \"run\": {\"ranks\": %d, \"threads_per_rank\": %d, "
                   "\"kernel_isa\": \"%s\", \"blas_core\": ", s->nranks, si->omp_threads,
                   si->kernel_isa);
    als_buf_json_str(b, si->blas_core);
    als_buf_printf(b, ", \"blas_config\": ");
    als_buf_json_str(b, si->blas_config);
    als_buf_printf(b, ", \"blas_generic_kernel\": %s, \"blas_load_threads\": %d},\n",
                   si->blas_generic ? "true" : "false", si->blas_load_threads);
    const als_data_stats_t *st = &d->stats;
    als_buf_printf(b, "  \"dataset\": {\"users\": %" PRId64 ", \"items\": %" PRId64
                   ", \"ratings\": %" PRId64 ", \"ratings_read\": %" PRId64
                   ", \"duplicate_pairs\": %" PRId64 ", \"duplicate_rows\": %" PRId64
                   ", \"social_links\": %" PRId64 ", \"social_links_read\": %" PRId64
                   ", \"self_loops_dropped\": %" PRId64 ", \"duplicate_links\": %" PRId64
                   ", \"w_nonzeros\": %" PRId64 ", \"social_only_users\": %" PRId64
                   ", \"header_lines_skipped\": %" PRId64
                   ", \"rating_min\": %.17g, \"rating_max\": %.17g",
                   d->m, d->n, d->nnz, st->ratings_read, st->duplicate_pairs,
                   st->duplicate_rows, d->nlinks, st->links_read, st->self_loops,
                   st->duplicate_links, d->wnnz, st->social_only_users, st->header_lines,
                   d->rmin, d->rmax);
    if (o->test[0])
        als_buf_printf(b, ", \"test_ratings\": %" PRId64 ", \"test_evaluated\": %" PRId64
                       ", \"test_cold_start\": %" PRId64 ", \"test_unknown_user\": %" PRId64
                       ", \"test_unknown_item\": %" PRId64 ", \"test_header_lines_skipped\": %"
                       PRId64, t->total, t->n_all - cs->n, cs->n, t->unknown_user,
                       t->unknown_item, t->header_lines);
    als_buf_printf(b, "},\n  \"model\": {\"factor_columns\": %d, \"global_mean\": ", s->k);
    als_buf_json_num(b, o->bias ? d->rmean : 0.0);
    als_buf_printf(b, ", \"layout\": \"%s\"},\n  \"initial_loss\": ",
                   o->bias ? "U rows [u, b_i, 1, mu], V rows [v, 1, c_j, 1]: prediction = U_i.V_j"
                           : "prediction = U_i.V_j");
    als_buf_json_num(b, s->initial.total);
    if (s->ckpt)
        als_buf_printf(b, ",\n  \"resumed_from_iteration\": %d", s->ckpt->resumed_from);
    als_buf_printf(b, ",\n  \"iterations\": [");
    for (int i = 0; i < s->niters; i++) {
        const als_iter_t *h = &s->hist[i];
        als_buf_printf(b, "%s\n    {\"iter\": %d, \"loss\": ", i ? "," : "", h->iter);
        als_buf_json_num(b, h->loss.total);
        als_buf_printf(b, ", \"loss_after_u\": ");
        als_buf_json_num(b, h->loss_half);
        als_buf_printf(b, ", \"sse\": ");
        als_buf_json_num(b, h->loss.sse);
        als_buf_printf(b, ", \"social\": ");
        als_buf_json_num(b, h->loss.social);
        als_buf_printf(b, ", \"train_rmse\": ");
        als_buf_json_num(b, h->train_rmse);
        if (o->test[0] && o->implicit) {
            const char *nm[4] = {"precision", "recall", "ndcg", "map"};
            const double v[4] = {h->rank_prec, h->rank_recall, h->rank_ndcg, h->rank_map};
            for (int c = 0; c < 4; c++) {
                als_buf_printf(b, ", \"%s@%d\": ", nm[c], o->top_n);
                als_buf_json_num(b, v[c]);
            }
            als_buf_printf(b, ", \"rank_users\": %" PRId64 ", \"rank_users_no_relevant\": %"
                           PRId64, h->rank_users, h->rank_norel);
        } else if (o->test[0]) {
            als_buf_printf(b, ", \"test_rmse\": ");
            als_buf_json_num(b, h->test_rmse);
            als_buf_printf(b, ", \"test_mae\": ");
            als_buf_json_num(b, h->test_mae);
        }
        als_buf_printf(b, ", \"seconds\": ");
        als_buf_json_num(b, h->seconds);
        als_buf_printf(b, "}");
    }
    als_buf_printf(b, "\n  ],\n  \"timers\": {");
    for (int p = 0; p < ALS_T_NPHASES; p++)
        als_buf_printf(b, "%s\"%s\": {\"min\": %.6f, \"avg\": %.6f, \"max\": %.6f}", p ? ", " : "",
                       als_phase_name((als_phase_t)p), ts->min[p], ts->avg[p], ts->max[p]);
    als_buf_printf(b, "},\n  \"peak_rss_mb\": {\"min\": %.1f, \"avg\": %.1f, \"max\": %.1f},\n",
                   rss[0], rss[1], rss[2]);
    als_buf_printf(b, "  \"exchange\": {\"mode\": \"%s\", \"why\": ", als_exchange_mode_name(s->mode));
    als_buf_json_str(b, s->why);
    als_buf_printf(b, ", \"bytes_per_iteration\": {\"min\": %.0f, \"avg\": %.1f, \"max\": %.0f}, "
                   "\"modelled_memory_bytes\": {\"min\": %.0f, \"avg\": %.1f, \"max\": %.0f}},\n",
                   xbytes[0], xbytes[1], xbytes[2], xmem[0], xmem[1], xmem[2]);
    als_buf_printf(b, "  \"flops_per_iteration\": %.6e,\n  \"flops_per_iteration_kxk\": %.6e,\n"
                   "  \"flops_per_iteration_plan\": %.6e,\n"
                   "  \"woodbury_rows\": {\"users\": %.0f, \"items\": %.0f},\n  \"compute_gflops\": ",
                   s->flops_per_iter, s->flops_per_iter_kxk, s->flops_per_iter_plan,
                   s->woodbury_rows[0],
                   s->woodbury_rows[1]);
    als_buf_json_num(b, compute_gflops);
    als_buf_printf(b, ",\n  \"iteration_gflops\": ");
    als_buf_json_num(b, iter_gflops);
    als_buf_printf(b, ",\n  \"max_relative_loss_increase\": ");
    als_buf_json_num(b, s->max_increase);
    if (o->test[0]) {
        als_buf_printf(b, ",\n  \"cold_start\": {\"users_without_ratings\": %" PRId64
                       ", \"test_pairs\": %" PRId64 ", \"test_rmse\": ", cs->users, cs->n);
        als_buf_json_num(b, cs->rmse);
        als_buf_printf(b, ", \"test_mae\": ");
        als_buf_json_num(b, cs->mae);
        als_buf_printf(b, ", \"global_mean_rmse\": ");
        als_buf_json_num(b, cs->mean_rmse);
        als_buf_printf(b, ", \"item_bias_rmse\": ");
        als_buf_json_num(b, cs->item_bias_rmse);
        als_buf_printf(b, "}");
    }
    als_buf_printf(b, ",\n  \"validation\": \"%s\"\n}\n", passed ? "PASSED" : "FAILED");
}

/* --row-costs (P = 1): row_costs.txt in the output set, one line per row in
 * the plan's dense order: side (u or i), row, ratings, seconds
 * (als_solver_row_cost). tools/plan-balance sums them over any plan's
 * blocks. Local (rank 0). */
static int write_row_costs(als_output_t *out, const als_data_t *d, const als_solver_t *s,
                           als_err_t *err)
{
    als_buf_t b = {0};
    als_buf_printf(&b, "# side row ratings seconds: each row's time in its half-step, the "
                   "median over iterations %d..%d (k = %d, %d thread%s)\n",
                   s->rowcost_lo + (s->rowcost_hi > s->rowcost_lo), s->rowcost_hi, s->k,
                   s->threads, s->threads == 1 ? "" : "s");
    for (int side = 0; side < 2; side++) {
        const int64_t nr = side ? d->i1 - d->i0 : d->u1 - d->u0;
        const int64_t *ptr = side ? d->iptr : d->uptr;
        for (int64_t t = 0; t < nr; t++)
            als_buf_printf(&b, "%c %" PRId64 " %" PRId64 " %.9f\n", side ? 'i' : 'u', t,
                           ptr[t + 1] - ptr[t], als_solver_row_cost(s, side, t));
    }
    int rc = b.failed ? als_err_set(err, ALS_ERR_NOMEM, "out of memory building row_costs.txt")
                      : als_output_text(out, "row_costs.txt", b.s, b.len, err);
    als_buf_free(&b);
    return rc;
}

/* Collective: rank 0 creates a private directory beside --out
 * (als_output.h); every rank writes its rows of U.npy, V.npy and its slices
 * of the id files in it with MPI-IO; rank 0 writes metrics.json (significant
 * on rank 0) and swaps the directory with --out: a reader sees the whole
 * previous set or the whole new one. No rank holds a whole factor matrix or
 * id map. */
static int write_outputs(MPI_Comm comm, const als_options_t *o, const als_data_t *d,
                         const als_solver_t *s, const als_buf_t *metrics, als_err_t *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    als_output_t *out = NULL;
    static const char *names[4] = {"U.npy", "V.npy", "user_ids.txt", "item_ids.txt"};
    char tmp[4][4200];
    memset(tmp, 0, sizeof tmp);
    if (rank == 0) {
        out = malloc(sizeof *out);
        if (!out)
            als_err_set(err, ALS_ERR_NOMEM, "out of memory for the output table");
        else if (als_output_begin(out, o->out, err) == ALS_OK)
            for (int f = 0; f < 4 && err->code == ALS_OK; f++)
                if (als_output_add(out, names[f], err) == ALS_OK)
                    snprintf(tmp[f], sizeof tmp[f], "%s/%s", als_output_tmpdir(out), names[f]);
    }
    if (als_err_agree(comm, err) != ALS_OK) {
        if (out && rank == 0)
            als_output_abort(out);
        free(out);
        return err->code;
    }
    MPI_Bcast(tmp, (int)sizeof tmp, MPI_CHAR, 0, comm);
    if (als_pario_write_npy(comm, tmp[0], als_solver_urow(s, d->u0), d->u0, d->u1 - d->u0, d->m,
                            s->k, err) == ALS_OK &&
        als_pario_write_npy(comm, tmp[1], als_solver_vrow(s, d->i0), d->i0, d->i1 - d->i0, d->n,
                            s->k, err) == ALS_OK &&
        als_pario_write_ids(comm, tmp[2], d->user_ids, d->u1 - d->u0, err) == ALS_OK &&
        als_pario_write_ids(comm, tmp[3], d->item_ids, d->i1 - d->i0, err) == ALS_OK &&
        rank == 0) {
        if (metrics->failed)
            als_err_set(err, ALS_ERR_NOMEM, "out of memory building metrics.json");
        else if (als_output_text(out, "metrics.json", metrics->s, metrics->len, err) == ALS_OK &&
                 (!o->row_costs || write_row_costs(out, d, s, err) == ALS_OK))
            als_output_commit(out, err);
    }
    if (rank == 0 && err->code != ALS_OK)
        als_output_abort(out);
    free(out);
    return als_err_agree(comm, err);
}

int main(int argc, char **argv)
{
    int thread_level;
    if (als_mpi_init(&argc, &argv, "als-train", &thread_level) != 0)
        return 1;
    MPI_Comm comm = MPI_COMM_WORLD;
    int rank, p;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &p);
    als_exchange_init_from_env();
    als_err_t err;
    als_err_clear(&err);
    als_options_t opt;
    int rc = als_options_init(comm, argc, argv, &opt, &err);
    if (rc == ALS_OPTIONS_EXIT) {
        MPI_Finalize();
        return 0;
    }
    if (rc != ALS_OK)
        return fail(comm, &err);
    if (opt.row_costs && p > 1) { /* the same decision on every rank */
        als_err_set(&err, ALS_ERR_ARG, "--row-costs measures the rows at one rank (its file "
                    "holds every row, which no rank of a P-rank run has); run it with P = 1, "
                    "not %d", p);
        return fail(comm, &err);
    }
    /* One thread per rank unless asked: ranks usually fill the cores. */
    if (opt.threads > 0)
        omp_set_num_threads(opt.threads);
    else if (getenv("OMP_NUM_THREADS") == NULL)
        omp_set_num_threads(1);
    /* ALS_KERNEL_ISA pins the fast kernels' instruction set (mixed clusters). */
    const char *isa = getenv("ALS_KERNEL_ISA");
    if (isa && als_kernel_set_isa(isa) != 0)
        als_err_set(&err, ALS_ERR_ARG, "ALS_KERNEL_ISA=%s: not available on this CPU (one of "
                    "avx512, avx2, generic)", isa);
    als_sysinfo_t si;
    als_sysinfo_init(&si);
    if (rank == 0 && opt.out[0])
        als_output_prepare(opt.out, "--out", &err);
    if (als_err_agree(comm, &err) != ALS_OK)
        return fail(comm, &err);
    if (rank == 0)
        print_params(stdout, &opt, p, &si);
    if (rank == 0)
        printf("mpi_thread_level: %s (requested funneled)\n", als_mpi_thread_name(thread_level));
    /* Threads bound to fewer CPUs than there are threads share a core. */
    cpu_set_t cpus;
    int ncpu = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : si.omp_threads;
    int min_cpu = ncpu;
    MPI_Reduce(&ncpu, &min_cpu, 1, MPI_INT, MPI_MIN, 0, comm);
    if (rank == 0 && min_cpu < si.omp_threads)
        printf("warning: %d threads per rank but a rank may use only %d CPU%s (mpirun binds each "
               "rank to a core by default: use --bind-to none or --map-by slot:PE=%d)\n",
               si.omp_threads, min_cpu, min_cpu == 1 ? "" : "s", si.omp_threads);

    /* Read and build on rank 0, then distribute. */
    double t_read = MPI_Wtime();
    als_global_t g;
    memset(&g, 0, sizeof g);
    als_testset_t test;
    memset(&test, 0, sizeof test);
    if (rank == 0 && !opt.data[0]) {
        als_triplets_t r, s;
        memset(&r, 0, sizeof r);
        memset(&s, 0, sizeof s);
        als_text_opts_t topts = {.value_col = opt.value_col};
        rc = als_text_read(opt.ratings, ALS_TEXT_RATINGS, &topts, &r, &err);
        if (rc == ALS_OK && opt.social[0])
            rc = als_text_read(opt.social, ALS_TEXT_SOCIAL, NULL, &s, &err);
        if (rc == ALS_OK)
            als_global_build(&r, opt.social[0] ? &s : NULL, opt.duplicates, opt.ratings, &g, &err);
        als_triplets_free(&r);
        als_triplets_free(&s);
    }
    if (als_err_agree(comm, &err) != ALS_OK)
        return fail(comm, &err);
    t_read = MPI_Wtime() - t_read;
    double t_dist = MPI_Wtime();
    als_data_t data;
    /* --data: every rank reads its own blocks of the binary dataset. */
    const als_plan_model_t kw = als_plan_model_of(&opt); /* what the plan balances */
    rc = opt.data[0] ? als_data_load_binary(comm, opt.data, kw, &data, &err)
                     : als_data_scatter(comm, 0, &g, kw, &data, &err);
    als_global_free(&g);
    if (rc != ALS_OK)
        return fail(comm, &err);
    t_dist = MPI_Wtime() - t_dist;
    if (opt.data[0]) { /* the parallel load is the read phase */
        t_read += t_dist;
        t_dist = 0.0;
    }
    if (opt.print_plan)
        als_partition_print_data(comm, &data, kw, omp_get_max_threads(), rank == 0 ? stdout : NULL);
    if (opt.test[0]) { /* each pair goes to the rank that owns its user */
        double t0 = MPI_Wtime();
        als_text_opts_t topts = {.value_col = opt.value_col};
        als_testset_load(comm, opt.test, &topts, &data, &test, &err);
        t_read += MPI_Wtime() - t0;
    }
    if (als_err_agree(comm, &err) != ALS_OK)
        return fail(comm, &err);
    if (rank == 0)
        print_data(stdout, &data, &test, opt.test);

    als_solver_t s;
    if (als_solver_init_test(comm, &opt, &data, opt.test[0] ? &test : NULL, &s, &err) != ALS_OK)
        return fail(comm, &err);
    als_solver_describe(&s, rank == 0 ? stdout : NULL);
    /* Checkpoints (--checkpoint-every/-dir) and --resume: als_checkpoint.h. */
    als_ckpt_t ckpt;
    if (als_ckpt_init(comm, &opt, &data, rank == 0 ? stdout : NULL, &ckpt, &err) != ALS_OK ||
        (opt.resume[0] && als_ckpt_restore(&s, &ckpt, opt.resume, &err) != ALS_OK))
        return fail(comm, &err);
    s.ckpt = &ckpt;
    s.timers[ALS_T_READ] = t_read;
    s.timers[ALS_T_DISTRIBUTE] = t_dist;
    if (als_solver_run(&s, &test, rank == 0 ? stdout : NULL, &err) != ALS_OK)
        return fail(comm, &err);

    int passed = s.increases == 0 && s.nonfinite == 0;
    /* Users without training ratings, scored apart (collective). */
    als_coldstart_t cs;
    als_coldstart_eval(&s, opt.test[0] ? &test : NULL, &cs);
    double iter_seconds = 0.0;
    for (int i = 0; i < s.niters; i++)
        iter_seconds += s.hist[i].seconds;
    als_timer_summary_t ts;
    als_timers_reduce(comm, s.timers, &ts);
    double compute = ts.max[ALS_T_GRAM] + ts.max[ALS_T_SOLVE];
    double compute_gflops = compute > 0 ? s.flops_per_iter * s.niters / compute * 1e-9 : NAN;
    double iter_gflops = iter_seconds > 0 ? s.flops_per_iter * s.niters / iter_seconds * 1e-9 : NAN;

    /* Peak resident memory per rank (MB): min, avg, max. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double mine = ru.ru_maxrss / 1024.0, rss[3];
    MPI_Allreduce(&mine, &rss[0], 1, MPI_DOUBLE, MPI_MIN, comm);
    MPI_Allreduce(&mine, &rss[1], 1, MPI_DOUBLE, MPI_SUM, comm);
    MPI_Allreduce(&mine, &rss[2], 1, MPI_DOUBLE, MPI_MAX, comm);
    rss[1] /= p;
    /* Measured bytes received per iteration and the modelled memory, min/avg/max. */
    double xb = s.nexchanges ? s.bytes_received * 2.0 / s.nexchanges : 0.0, xm = s.mem_expected;
    double xbytes[3], xmem[3];
    MPI_Allreduce(&xb, &xbytes[0], 1, MPI_DOUBLE, MPI_MIN, comm);
    als_rsum_allreduce_doubles(comm, &xb, &xbytes[1], 1);
    MPI_Allreduce(&xb, &xbytes[2], 1, MPI_DOUBLE, MPI_MAX, comm);
    MPI_Allreduce(&xm, &xmem[0], 1, MPI_DOUBLE, MPI_MIN, comm);
    als_rsum_allreduce_doubles(comm, &xm, &xmem[1], 1);
    MPI_Allreduce(&xm, &xmem[2], 1, MPI_DOUBLE, MPI_MAX, comm);
    xbytes[1] /= p;
    xmem[1] /= p;

    double t_write = MPI_Wtime();
    if (opt.out[0]) {
        als_buf_t b = {0};
        if (rank == 0)
            build_metrics(&b, &opt, &data, &test, &s, &ts, &si, passed, compute_gflops,
                          iter_gflops, rss, &cs, xbytes, xmem);
        write_outputs(comm, &opt, &data, &s, &b, &err);
        als_buf_free(&b);
    }
    if (als_err_agree(comm, &err) != ALS_OK)
        return fail(comm, &err);
    t_write = MPI_Wtime() - t_write;

    if (rank == 0) {
        const als_iter_t *last = s.niters ? &s.hist[s.niters - 1] : NULL;
        printf("---- summary\n");
        printf("iterations: %d\n", s.niters);
        printf("final_loss: %.10e\n", last ? last->loss.total : s.initial.total);
        if (last) {
            printf("train_rmse: %.6f\n", last->train_rmse);
            if (opt.test[0] && opt.implicit)
                printf("precision@%d: %.6f\nrecall@%d: %.6f\nndcg@%d: %.6f\nmap@%d: %.6f\n"
                       "ranking users: %" PRId64 " (and %" PRId64 " with no relevant held-out "
                       "item, counted apart)\n", opt.top_n, last->rank_prec, opt.top_n,
                       last->rank_recall, opt.top_n, last->rank_ndcg, opt.top_n, last->rank_map,
                       last->rank_users, last->rank_norel);
            else if (opt.test[0] && isfinite(last->test_rmse))
                printf("test_rmse: %.6f\ntest_mae: %.6f\n", last->test_rmse, last->test_mae);
            else if (opt.test[0])
                printf("test_rmse: none (no test ratings evaluated)\n");
            if (opt.test[0] && cs.n && !opt.implicit) {
                printf("cold_start: %" PRId64 " test ratings of users without training ratings: "
                       "RMSE %.6f (global-mean baseline %.6f", cs.n, cs.rmse, cs.mean_rmse);
                if (opt.bias)
                    printf(", item-bias baseline %.6f", cs.item_bias_rmse);
                printf(")\n");
            }
            printf("seconds_per_iteration: %.6f\n", iter_seconds / s.niters);
        }
        if (s.flops_per_iter != s.flops_per_iter_kxk)
            printf("flops_per_iteration: %.4e (%.4e if every row took the k x k route)\n",
                   s.flops_per_iter, s.flops_per_iter_kxk);
        else
            printf("flops_per_iteration: %.4e\n", s.flops_per_iter);
        printf("gflops: %.3f (gram+solve phases, slowest rank), %.3f (whole iterations)\n",
               compute_gflops, iter_gflops);
        printf("%-10s %10s %10s %10s   (seconds over ranks)\n", "phase", "min", "avg", "max");
        for (int ph = 0; ph < ALS_T_NPHASES; ph++)
            printf("%-10s %10.4f %10.4f %10.4f\n", als_phase_name((als_phase_t)ph),
                   ph == ALS_T_WRITE ? t_write : ts.min[ph], ph == ALS_T_WRITE ? t_write : ts.avg[ph],
                   ph == ALS_T_WRITE ? t_write : ts.max[ph]);
        printf("peak_rss_mb: min %.1f avg %.1f max %.1f (per rank; modelled %.1f %.1f %.1f)\n",
               rss[0], rss[1], rss[2], xmem[0] / 1048576.0, xmem[1] / 1048576.0,
               xmem[2] / 1048576.0);
        if (s.mode == ALS_EXCH_SHARED)
            printf("peak_rss_mb counts the shared U and V (%.1f MB) in full on every rank "
                   "that reads them; the model counts 1/%d of them per rank\n",
                   (double)(s.data->m + s.data->n) * s.k * 8.0 / 1048576.0, s.shm.node_size);
        printf("exchange_bytes_per_iteration: min %.0f avg %.1f max %.0f (measured, %s)\n",
               xbytes[0], xbytes[1], xbytes[2], als_exchange_mode_name(s.mode));
        if (opt.out[0])
            printf("output: %s/{U.npy,V.npy,user_ids.txt,item_ids.txt,metrics.json}\n", opt.out);
        if (s.nonfinite)
            printf("error: the loss, an RMSE or a factor is not finite (%d evaluations): the run "
                   "diverged or the data overflow double precision\n", s.nonfinite);
        printf("validation: loss non-increasing over %d half-steps beyond the rounding-error "
               "bound of its evaluation (max relative increase %.3e, %d beyond the bound), "
               "all finite: %s ... %s\n", 2 * s.niters, s.niters ? s.max_increase : 0.0,
               s.increases, s.nonfinite ? "no" : "yes", passed ? "PASSED" : "FAILED");
        fflush(stdout);
    }
    als_solver_free(&s);
    als_testset_free(&test);
    als_data_free(&data);
    MPI_Finalize();
    return passed ? 0 : 1;
}
