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
#include "als_partition.h"

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
    if (o->bias && o->lambda_bias >= 0)
        fprintf(out, "lambda_bias: %g (plain, for b_i and c_j)\n", o->lambda_bias);
    fprintf(out, "iters: %d  tol: %g  seed: %" PRIu64 "  duplicates: %s  value_column: %d\n",
            o->iters, o->tol, o->seed, als_dup_policy_name(o->duplicates), o->value_col);
    if (o->init_user[0])
        fprintf(out, "init: %s, %s\n", o->init_user, o->init_item);
    fprintf(out, "out: %s\n", o->out[0] ? o->out : "(none)");
    fprintf(out, "ranks: %d  threads_per_rank: %d  kernel: %s (isa %s)\n", p, si->omp_threads,
            o->kernel == ALS_KERNEL_REF ? "ref" : "fast", si->kernel_isa);
    fprintf(out, "blas: %s (core %s, 1 thread inside ranks)\n", si->blas_config, si->blas_core);
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
    if (test[0])
        fprintf(out, "test: %" PRId64 " ratings, %" PRId64 " evaluated, %" PRId64
                " with unknown user, %" PRId64 " with unknown item (not evaluated)\n",
                t->total, t->n, t->unknown_user, t->unknown_item);
    if (test[0] && t->n == 0)
        fprintf(out, "note: no test ratings to evaluate (every test pair has an unknown user or "
                "item): test RMSE/MAE are '-' here and null in metrics.json\n");
    fflush(out);
}

/* The metrics.json document (rank 0). */
static void build_metrics(als_buf_t *b, const als_options_t *o, const als_data_t *d,
                          const als_testset_t *t, const als_solver_t *s,
                          const als_timer_summary_t *ts, const als_sysinfo_t *si, int passed,
                          double compute_gflops, double iter_gflops, const double *rss,
                          const als_coldstart_t *cs)
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
    als_buf_printf(b, ", \"blas_generic_kernel\": %s},\n", si->blas_generic ? "true" : "false");
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
                       ", \"test_unknown_user\": %" PRId64 ", \"test_unknown_item\": %" PRId64
                       ", \"test_header_lines_skipped\": %" PRId64,
                       t->total, t->n, t->unknown_user, t->unknown_item, t->header_lines);
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
        if (o->test[0]) {
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
    als_buf_printf(b, "  \"flops_per_iteration\": %.6e,\n  \"compute_gflops\": ",
                   s->flops_per_iter);
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

/* Rank 0 writes every output file into a private directory beside --out,
 * then swaps it with --out (als_output.h): a reader sees the whole previous
 * set or the whole new one. */
static int write_outputs(const als_options_t *o, const als_data_t *d, const als_solver_t *s,
                         const als_buf_t *metrics, als_err_t *err)
{
    als_output_t *out = malloc(sizeof *out);
    if (!out)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the output table");
    const char *p;
    int rc = als_output_begin(out, o->out, err);
    if (rc != ALS_OK)
        goto done;
    if ((p = als_output_tmp(out, "U.npy")) == NULL ||
        (rc = als_npy_write(p, s->U, d->m, s->k, err)) != ALS_OK)
        goto fail;
    if ((p = als_output_tmp(out, "V.npy")) == NULL ||
        (rc = als_npy_write(p, s->V, d->n, s->k, err)) != ALS_OK)
        goto fail;
    if ((rc = als_output_ids(out, "user_ids.txt", d->user_ids, d->m, err)) != ALS_OK ||
        (rc = als_output_ids(out, "item_ids.txt", d->item_ids, d->n, err)) != ALS_OK)
        goto fail;
    if (metrics->failed) {
        rc = als_err_set(err, ALS_ERR_NOMEM, "out of memory building metrics.json");
        goto fail;
    }
    if ((rc = als_output_text(out, "metrics.json", metrics->s, metrics->len, err)) != ALS_OK)
        goto fail;
    rc = als_output_commit(out, err);
    goto done;
fail:
    als_output_abort(out);
    if (!rc)
        rc = als_err_set(err, ALS_ERR_INTERNAL, "output file table full");
done:
    free(out);
    return rc;
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
    rc = opt.data[0] ? als_data_load_binary(comm, opt.data, &data, &err)
                     : als_data_scatter(comm, 0, &g, &data, &err);
    als_global_free(&g);
    if (rc != ALS_OK)
        return fail(comm, &err);
    t_dist = MPI_Wtime() - t_dist;
    if (opt.data[0]) { /* the parallel load is the read phase */
        t_read += t_dist;
        t_dist = 0.0;
    }
    if (opt.print_plan)
        als_partition_print_data(comm, &data, rank == 0 ? stdout : NULL);
    if (rank == 0 && opt.test[0]) {
        double t0 = MPI_Wtime();
        als_text_opts_t topts = {.value_col = opt.value_col};
        als_testset_read(opt.test, &topts, &data, &test, &err);
        t_read += MPI_Wtime() - t0;
    }
    if (als_err_agree(comm, &err) != ALS_OK)
        return fail(comm, &err);
    if (rank == 0)
        print_data(stdout, &data, &test, opt.test);

    als_solver_t s;
    if (als_solver_init(comm, &opt, &data, &s, &err) != ALS_OK)
        return fail(comm, &err);
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

    int passed = s.increases == 0;
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

    double t_write = MPI_Wtime();
    if (rank == 0 && opt.out[0]) {
        als_buf_t b = {0};
        build_metrics(&b, &opt, &data, &test, &s, &ts, &si, passed, compute_gflops, iter_gflops,
                      rss, &cs);
        write_outputs(&opt, &data, &s, &b, &err);
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
            if (opt.test[0] && test.n > 0)
                printf("test_rmse: %.6f\ntest_mae: %.6f\n", last->test_rmse, last->test_mae);
            else if (opt.test[0])
                printf("test_rmse: none (no test ratings evaluated)\n");
            if (opt.test[0] && cs.n) {
                printf("cold_start: %" PRId64 " test ratings of users without training ratings: "
                       "RMSE %.6f (global-mean baseline %.6f", cs.n, cs.rmse, cs.mean_rmse);
                if (opt.bias)
                    printf(", item-bias baseline %.6f", cs.item_bias_rmse);
                printf(")\n");
            }
            printf("seconds_per_iteration: %.6f\n", iter_seconds / s.niters);
        }
        printf("flops_per_iteration: %.4e\n", s.flops_per_iter);
        printf("gflops: %.3f (gram+solve phases, slowest rank), %.3f (whole iterations)\n",
               compute_gflops, iter_gflops);
        printf("%-10s %10s %10s %10s   (seconds over ranks)\n", "phase", "min", "avg", "max");
        for (int ph = 0; ph < ALS_T_NPHASES; ph++)
            printf("%-10s %10.4f %10.4f %10.4f\n", als_phase_name((als_phase_t)ph),
                   ph == ALS_T_WRITE ? t_write : ts.min[ph], ph == ALS_T_WRITE ? t_write : ts.avg[ph],
                   ph == ALS_T_WRITE ? t_write : ts.max[ph]);
        printf("peak_rss_mb: min %.1f avg %.1f max %.1f (per rank)\n", rss[0], rss[1], rss[2]);
        if (opt.out[0])
            printf("output: %s/{U.npy,V.npy,user_ids.txt,item_ids.txt,metrics.json}\n", opt.out);
        printf("validation: loss non-increasing over %d half-steps (max relative increase %.3e, "
               "tolerance %.0e) ... %s\n", 2 * s.niters, s.niters ? s.max_increase : 0.0,
               ALS_LOSS_RTOL, passed ? "PASSED" : "FAILED");
        fflush(stdout);
    }
    als_solver_free(&s);
    als_testset_free(&test);
    als_data_free(&data);
    MPI_Finalize();
    return passed ? 0 : 1;
}
