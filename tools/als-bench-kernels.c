/* als-bench-kernels - single-core benchmark of the per-row ALS kernels.
 *
 * Measures, in one run on one core (OpenBLAS forced to one thread):
 *   1. cblas_dgemm GFLOP/s on square n×n matrices (the reference rate);
 *   2. for each rank k, on a synthetic rows workload (X = rows×k random, the
 *      ratings split into rows of about --per-row ratings with random idx):
 *      GFLOP/s of the ref and fast gram+rhs kernels, of the ref and fast SPD
 *      solves (one system per call), of the batched solve (groups of
 *      NBATCH systems through als_solve_spd_batch), and of the combined
 *      per-row step, an estimate of a whole iteration's kernels (gram+rhs
 *      of NBATCH rows, lambda on the diagonals, one batched solve) for ref
 *      and fast, each also as a fraction of dgemm (this process's, or the
 *      best one given with --dgemm-gflops);
 *   3. where the fast Gram's time goes: the same rows over an X that fits a
 *      quarter of L2 (its compute ceiling), and reading the rows of X alone
 *      (its memory traffic).
 * FLOP conventions (DESIGN §6): gram k(k+1) and rhs 2k per rating, Cholesky
 * k^3/3, the two triangular solves 2k^2. Every figure is the best of --reps.
 */
#include <cblas.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "als_cli.h"
#include "als_hugepage.h"
#include "als_kernels.h"

extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int num_threads);

typedef struct {
    int ks[32];
    int nk;
    int64_t xrows;     /* rows of X */
    int64_t ratings;   /* total ratings of the rows workload */
    int per_row;       /* mean ratings per row */
    int dgemm_n;
    int reps;
    int json;
    int no_ref;        /* skip the ref kernels */
    int dgemm_only;    /* print the dgemm rate as JSON and stop */
    double dgemm_ref;  /* dgemm rate the fractions are relative to (0: own) */
    const char *isa;
    uint64_t seed;
    int huge;          /* --huge-pages on|off: X on transparent huge pages, Gram in place */
} bench_opts;

/* Print the usage text. */
static void usage(FILE *f)
{
    fprintf(f,
            "Usage: als-bench-kernels [options]\n"
            "Single-core benchmark of the ALS per-row kernels against cblas_dgemm.\n"
            "\n"
            "  --k LIST        ranks to measure, comma-separated (default 16,32,64,128)\n"
            "  --xrows N       rows of the factor matrix X (default 100000)\n"
            "  --ratings N     total ratings of the rows workload (default 2000000)\n"
            "  --per-row N     mean ratings per row, uniform in [N/2, 3N/2] (default 50)\n"
            "  --dgemm-n N     size of the square dgemm (default 2000)\n"
            "  --reps N        repetitions, the best is reported (default 3)\n"
            "  --isa NAME      force the fast kernels' ISA: avx512, avx2, generic\n"
            "  --seed N        random seed (default 1)\n"
            "  --json          also print one JSON line per k\n"
            "  --no-ref        skip the ref (BLAS/LAPACK) kernels\n"
            "  --huge-pages on|off  X on transparent huge pages and the fast Gram\n"
            "                  reading its rows in place, as als-train (default on)\n"
            "  --dgemm-gflops X  report fractions of X (e.g. the best dgemm of all\n"
            "                  OPENBLAS_CORETYPE values, measured by tools/bench.sh)\n"
            "  --dgemm-only    measure dgemm only, print it as one JSON line\n"
            "  --help          this text\n"
            "\n"
            "GFLOP/s conventions: gram k(k+1) and rhs 2k flops per rating, Cholesky\n"
            "k^3/3, triangular solves 2k^2. 'solve' times exclude copying the matrix.\n"
            "Times are the calling thread's CPU time (other jobs' time slices do not\n"
            "count); dgemm is re-measured between the kernels and the best kept.\n"
            "Set OPENBLAS_CORETYPE (e.g. SKYLAKEX) to choose OpenBLAS's kernels.\n"
            "\n"
            "Per k, a '#' line says where the fast Gram's time goes: its ns per rating,\n"
            "the same rows over an X shrunk to a quarter of L2 (rows from cache: the\n"
            "Gram's compute ceiling, as GFLOP/s and a fraction of dgemm), and reading\n"
            "the workload's rows of X alone (one double per cache line: the memory\n"
            "traffic the Gram cannot avoid). JSON: gram_l2_frac, gram_ns_per_rating,\n"
            "gram_l2_ns_per_rating, read_ns_per_rating, x_bytes, x_l2_bytes.\n");
}

/* Parse a positive integer option value; exits with a message on error. */
static long long parse_pos(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0) {
        fprintf(stderr, "als-bench-kernels: %s: expected a positive integer, got '%s'\n", opt, s);
        exit(2);
    }
    return v;
}

/* Parse the command line into o; exits on --help or a bad option. */
static void parse_args(int argc, char **argv, bench_opts *o)
{
    static const int defk[] = {16, 32, 64, 128};
    memset(o, 0, sizeof *o);
    memcpy(o->ks, defk, sizeof defk);
    o->nk = 4;
    o->xrows = 100000;
    o->ratings = 2000000;
    o->per_row = 50;
    o->dgemm_n = 2000;
    o->reps = 3;
    o->seed = 1;
    o->huge = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        } else if (strcmp(a, "--no-ref") == 0) {
            o->no_ref = 1;
            continue;
        } else if (strcmp(a, "--dgemm-only") == 0) {
            o->dgemm_only = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "als-bench-kernels: unknown option or missing value: %s\n", a);
            usage(stderr);
            exit(2);
        }
        const char *v = argv[++i];
        if (strcmp(a, "--huge-pages") == 0) {
            if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
                fprintf(stderr, "als-bench-kernels: --huge-pages: '%s' is not on or off\n", v);
                exit(2);
            }
            o->huge = strcmp(v, "on") == 0;
        } else if (strcmp(a, "--k") == 0) {
            o->nk = 0;
            char *copy = strdup(v), *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (o->nk == 32) {
                    fprintf(stderr, "als-bench-kernels: --k: at most 32 ranks\n");
                    exit(2);
                }
                long long k = parse_pos("--k", tok);
                if (k > 4096) {
                    fprintf(stderr, "als-bench-kernels: --k: %lld too large\n", k);
                    exit(2);
                }
                o->ks[o->nk++] = (int)k;
            }
            free(copy);
            if (o->nk == 0) {
                fprintf(stderr, "als-bench-kernels: --k: empty list\n");
                exit(2);
            }
        } else if (strcmp(a, "--xrows") == 0) {
            o->xrows = parse_pos(a, v);
        } else if (strcmp(a, "--ratings") == 0) {
            o->ratings = parse_pos(a, v);
        } else if (strcmp(a, "--per-row") == 0) {
            o->per_row = (int)parse_pos(a, v);
        } else if (strcmp(a, "--dgemm-n") == 0) {
            o->dgemm_n = (int)parse_pos(a, v);
        } else if (strcmp(a, "--reps") == 0) {
            o->reps = (int)parse_pos(a, v);
        } else if (strcmp(a, "--dgemm-gflops") == 0) {
            o->dgemm_ref = strtod(v, NULL);
            if (!(o->dgemm_ref > 0)) {
                fprintf(stderr, "als-bench-kernels: --dgemm-gflops: expected a positive rate\n");
                exit(2);
            }
        } else if (strcmp(a, "--isa") == 0) {
            o->isa = v;
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = (uint64_t)parse_pos(a, v);
        } else {
            fprintf(stderr, "als-bench-kernels: unknown option: %s\n", a);
            usage(stderr);
            exit(2);
        }
    }
}

/* CPU seconds of the calling thread: on a machine shared with other jobs,
 * time slices given to other processes do not count (cache and memory
 * contention still do), so the fractions of dgemm stay meaningful. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* splitmix64 */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* Uniform in [-1, 1). */
static double rng_uniform(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-52 - 1.0;
}

/* Allocate n doubles aligned to 64 bytes, or exit. */
static void *xalloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) {
        fprintf(stderr, "als-bench-kernels: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

/* Best-of-reps GFLOP/s of an n×n×n cblas_dgemm. */
static double bench_dgemm(int n, int reps, uint64_t *seed)
{
    size_t nn = (size_t)n * n;
    double *a = xalloc(nn * 8), *b = xalloc(nn * 8), *c = xalloc(nn * 8);
    for (size_t i = 0; i < nn; i++)
        a[i] = rng_uniform(seed), b[i] = rng_uniform(seed), c[i] = 0.0;
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        double t = cpu_now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0,
                    c, n);
        t = cpu_now() - t;
        if (t < best)
            best = t;
    }
    free(a), free(b), free(c);
    return 2.0 * n * (double)n * n / best * 1e-9;
}

/* The rows workload for one k. */
typedef struct {
    int k;
    int64_t nrows;   /* workload rows */
    int64_t *start;  /* nrows + 1 offsets into idx / r */
    int64_t *idx;
    double *r;
    double *X;
    int64_t xrows;   /* rows of X */
    int huge;        /* X asked for huge pages; the fast Gram reads it in place */
} workload;

/* Build X (xrows×k uniform) and the rows (sizes uniform in [m/2, 3m/2]). */
static void make_workload(workload *w, int k, const bench_opts *o, uint64_t *seed)
{
    w->k = k;
    int64_t cap = o->ratings / (o->per_row > 0 ? o->per_row : 1) + 2;
    w->start = xalloc(sizeof(int64_t) * (size_t)(cap + 1));
    w->idx = xalloc(sizeof(int64_t) * (size_t)(o->ratings + 4 * o->per_row + 2));
    w->r = xalloc(sizeof(double) * (size_t)(o->ratings + 4 * o->per_row + 2));
    w->xrows = o->xrows;
    w->huge = o->huge && als_huge_available();
    w->X = als_huge_alloc(sizeof(double) * (size_t)(o->xrows * k), w->huge);
    if (!w->X) {
        fprintf(stderr, "als-bench-kernels: out of memory for X\n");
        exit(1);
    }
    for (int64_t i = 0; i < o->xrows * k; i++)
        w->X[i] = rng_uniform(seed);
    int64_t t = 0, row = 0;
    w->start[0] = 0;
    while (t < o->ratings && row < cap) {
        int lo = o->per_row / 2, span = o->per_row + 1;
        int64_t n = lo + (int64_t)(rng_next(seed) % (uint64_t)span);
        for (int64_t j = 0; j < n; j++, t++) {
            w->idx[t] = (int64_t)(rng_next(seed) % (uint64_t)o->xrows);
            w->r[t] = 1.0 + 4.0 * (0.5 + 0.5 * rng_uniform(seed));
        }
        w->start[++row] = t;
    }
    w->nrows = row;
}

static void free_workload(workload *w)
{
    free(w->start), free(w->idx), free(w->r);
    als_huge_free(w->X, sizeof(double) * (size_t)(w->xrows * w->k), w->huge);
}

/* One sink to keep the compiler from dropping results. */
static volatile double g_sink;

/* Seconds for gram+rhs over all rows with the given kernel. */
static double time_gram(const workload *w, als_kernel_t kern, double *A, double *b, double *ws)
{
    double t = cpu_now(), s = 0.0;
    for (int64_t i = 0; i < w->nrows; i++) {
        int64_t s0 = w->start[i];
        als_gram_rhs(kern, w->k, w->start[i + 1] - s0, w->idx + s0, w->r + s0, w->X, A, b, ws,
                     w->huge);
        s += b[0];
    }
    t = cpu_now() - t;
    g_sink = s;
    return t;
}

#define NPOOL 64

/* Seconds for nsolve solves (copy from a pool of NPOOL SPD matrices, then
 * solve), and separately for the copies alone. */
static void time_solve(int k, const double *poolA, const double *poolb, int64_t nsolve,
                       als_kernel_t kern, double *A, double *b, double *t_all, double *t_copy)
{
    size_t kk = (size_t)k * k;
    double t = cpu_now(), s = 0.0;
    for (int64_t i = 0; i < nsolve; i++) {
        memcpy(A, poolA + (size_t)(i % NPOOL) * kk, kk * 8);
        memcpy(b, poolb + (size_t)(i % NPOOL) * k, (size_t)k * 8);
        if (als_solve_spd(kern, k, A, b) != 0) {
            fprintf(stderr, "als-bench-kernels: pool solve failed at k=%d\n", k);
            exit(1);
        }
        s += b[0];
    }
    *t_all = cpu_now() - t;
    t = cpu_now();
    for (int64_t i = 0; i < nsolve; i++) {
        memcpy(A, poolA + (size_t)(i % NPOOL) * kk, kk * 8);
        memcpy(b, poolb + (size_t)(i % NPOOL) * k, (size_t)k * 8);
        __asm__ volatile("" : : "r"(A), "r"(b) : "memory");
        s += b[0];
    }
    *t_copy = cpu_now() - t;
    g_sink = s;
}

#define NBATCH 16

/* Seconds for nsolve solves in batches of NBATCH through
 * als_solve_spd_batch (A read from the pool in place, b copied first), and
 * separately for the b copies alone. */
static void time_solve_batch(int k, const double *poolA, const double *poolb, int64_t nsolve,
                             als_kernel_t kern, double *bbuf, double *ws, double *t_all,
                             double *t_copy)
{
    size_t kk = (size_t)k * k;
    const double *Ap[NBATCH];
    double *bp[NBATCH];
    int info[NBATCH];
    double t = cpu_now(), s = 0.0;
    for (int64_t i = 0; i < nsolve; i += NBATCH) {
        for (int j = 0; j < NBATCH; j++) {
            int64_t p = (i + j) % NPOOL;
            Ap[j] = poolA + (size_t)p * kk;
            bp[j] = bbuf + (size_t)j * k;
            memcpy(bp[j], poolb + (size_t)p * k, (size_t)k * 8);
        }
        if (als_solve_spd_batch(kern, k, NBATCH, Ap, bp, info, ws) != 0) {
            fprintf(stderr, "als-bench-kernels: pool batch solve failed at k=%d\n", k);
            exit(1);
        }
        s += bbuf[0];
    }
    *t_all = cpu_now() - t;
    t = cpu_now();
    for (int64_t i = 0; i < nsolve; i += NBATCH) {
        for (int j = 0; j < NBATCH; j++)
            memcpy(bbuf + (size_t)j * k, poolb + (size_t)((i + j) % NPOOL) * k, (size_t)k * 8);
        __asm__ volatile("" : : "r"(bbuf) : "memory");
        s += bbuf[0];
    }
    *t_copy = cpu_now() - t;
    g_sink = s;
}

/* Seconds for the per-row step done the way a solver uses the batched
 * solve: gram+rhs of NBATCH rows into their own A and b, lambda on the
 * diagonals, one als_solve_spd_batch; exits if a solve fails. */
static double time_step_batch(const workload *w, als_kernel_t kern, double *Abuf, double *bbuf,
                              double *ws, double *wsb)
{
    int k = w->k;
    size_t kk = (size_t)k * k;
    const double *Ap[NBATCH];
    double *bp[NBATCH];
    int info[NBATCH];
    double t = cpu_now(), s = 0.0;
    for (int64_t i0 = 0; i0 < w->nrows; i0 += NBATCH) {
        int nb = w->nrows - i0 < NBATCH ? (int)(w->nrows - i0) : NBATCH;
        for (int j = 0; j < nb; j++) {
            int64_t s0 = w->start[i0 + j], n = w->start[i0 + j + 1] - s0;
            double *A = Abuf + j * kk, *b = bbuf + (size_t)j * k;
            als_gram_rhs(kern, k, n, w->idx + s0, w->r + s0, w->X, A, b, ws, w->huge);
            for (int p = 0; p < k; p++)
                A[(int64_t)p * k + p] += 0.05 * (double)n;
            Ap[j] = A;
            bp[j] = b;
        }
        if (als_solve_spd_batch(kern, k, nb, Ap, bp, info, wsb) != 0) {
            fprintf(stderr, "als-bench-kernels: batch solve failed at k=%d row %" PRId64 "\n",
                    k, i0);
            exit(1);
        }
        s += bbuf[0];
    }
    t = cpu_now() - t;
    g_sink = s;
    return t;
}

/* Seconds to read every rating's row of X once (one double of each of its
 * cache lines, summed: the rows' chains are independent, one add per row
 * carries over): the memory traffic of the Gram without its arithmetic. */
static double time_read(const workload *w)
{
    const int k = w->k;
    double acc = 0.0, t = cpu_now();
    for (int64_t i = 0; i < w->start[w->nrows]; i++) {
        const double *x = w->X + w->idx[i] * k;
        double r = x[k - 1];
        for (int c = 0; c < k - 1; c += 8)
            r += x[c];
        acc += r;
    }
    t = cpu_now() - t;
    g_sink = acc;
    return t;
}

/* This core's L2 cache in bytes (1 MiB when the system does not say). */
static int64_t l2_bytes(void)
{
    long b = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return b > 0 ? (int64_t)b : (int64_t)1 << 20;
}

/* Minimum helper. */
static double dmin(double a, double b)
{
    return a < b ? a : b;
}

int main(int argc, char **argv)
{
    bench_opts o;
    parse_args(argc, argv, &o);
    openblas_set_num_threads(1);
    if (o.isa && als_kernel_set_isa(o.isa) != 0) {
        fprintf(stderr, "als-bench-kernels: --isa %s: not supported on this CPU\n", o.isa);
        return 2;
    }
    uint64_t seed = o.seed;
    const char *core = openblas_get_corename();
    const char *ctenv = getenv("OPENBLAS_CORETYPE");
    double dg_own = bench_dgemm(o.dgemm_n, o.reps, &seed);
    double dg = o.dgemm_ref > 0 ? o.dgemm_ref : dg_own;
    if (o.dgemm_only) {
        printf("{\"blas_core\":\"%s\",\"dgemm_gflops\":%.3f}\n", core ? core : "?", dg_own);
        return 0;
    }
    printf("# kernels: %s\n", als_kernel_config());
    printf("# OpenBLAS core: %s (OPENBLAS_CORETYPE=%s); dgemm n=%d here: %.2f GFLOP/s (1 thread)\n",
           core ? core : "?", ctenv ? ctenv : "unset", o.dgemm_n, dg_own);
    printf("# reference dgemm for the fractions: %.2f GFLOP/s%s\n", dg,
           o.dgemm_ref > 0 ? " (--dgemm-gflops: best core type, same run)" : " (this process)");
    printf("# rows workload: X %" PRId64 "×k, %" PRId64 " ratings, ~%d per row; best of %d;"
           " batch solves in groups of %d\n",
           o.xrows, o.ratings, o.per_row, o.reps, NBATCH);
    printf("# X on huge pages: %s (transparent huge pages: %s)%s\n",
           o.huge && als_huge_available() ? "asked" : "no", als_huge_thp_mode(),
           o.huge && als_huge_available() ? "; the fast Gram reads rows in place when k % 8 == 0"
                                          : "");
    printf("# GFLOP/s (fraction of dgemm); 'iter' = gram+rhs, lambda, batched solve per row\n");
    if (o.no_ref)
        printf("%4s  %14s  %14s  %14s  %14s\n", "k", "gram+rhs fast", "solve fast 1",
               "solve batch", "iter fast");
    else
        printf("%4s  %14s  %14s  %14s  %14s  %14s  %14s  %14s\n", "k", "gram+rhs ref",
               "gram+rhs fast", "solve ref", "solve fast 1", "solve batch", "iter ref",
               "iter fast");
    fflush(stdout);

    for (int ki = 0; ki < o.nk; ki++) {
        int k = o.ks[ki];
        workload w;
        make_workload(&w, k, &o, &seed);
        size_t kk = (size_t)k * k;
        double *A = xalloc(kk * 8), *b = xalloc((size_t)k * 8);
        double *ws = xalloc((size_t)als_gram_ws_size(k) * 8);
        double *wsb = xalloc((size_t)als_solve_batch_ws_size(k) * 8);
        double *Abuf = xalloc(NBATCH * kk * 8), *bbuf = xalloc(NBATCH * (size_t)k * 8);
        int64_t nrat = w.start[w.nrows];
        double f_gram = (double)nrat * ((double)k * (k + 1) + 2.0 * k);
        double f_solve1 = (double)k * k * k / 3.0 + 2.0 * k * (double)k;

        double tg[2] = {1e300, 1e300}, ts[2] = {1e300, 1e300}, tst[2] = {1e300, 1e300};
        double tb = 1e300;
        /* SPD pool: grams of the first rows plus lambda n I. */
        double *poolA = xalloc(NPOOL * kk * 8), *poolb = xalloc(NPOOL * (size_t)k * 8);
        for (int p = 0; p < NPOOL; p++) {
            int64_t row = p % w.nrows, s0 = w.start[row], n = w.start[row + 1] - s0;
            double *Ap = poolA + p * kk, *bp = poolb + (size_t)p * k;
            memset(Ap, 0, kk * 8);
            als_gram_rhs_ref(k, n, w.idx + s0, w.r + s0, w.X, Ap, bp, ws);
            for (int i = 0; i < k; i++)
                Ap[(size_t)i * k + i] += 0.05 * (double)n + 1e-3;
        }
        /* Enough solves for ~ the same flops as the gram, at least 2000. */
        int64_t nsolve = (int64_t)(f_gram / f_solve1 / 4);
        if (nsolve < 2000)
            nsolve = 2000;
        if (nsolve > w.nrows * 4)
            nsolve = w.nrows * 4;
        nsolve = (nsolve + NBATCH - 1) / NBATCH * NBATCH;
        for (int rep = 0; rep < o.reps; rep++) {
            /* dgemm again between the kernels: the best of all is kept. */
            double d = bench_dgemm(o.dgemm_n, 1, &seed);
            if (d > dg_own) {
                dg_own = d;
                if (!(o.dgemm_ref > 0))
                    dg = d;
            }
            for (int kern = o.no_ref ? 1 : 0; kern < 2; kern++) {
                als_kernel_t kn = (als_kernel_t)kern;
                tg[kern] = dmin(tg[kern], time_gram(&w, kn, A, b, ws));
                double ta, tc;
                time_solve(k, poolA, poolb, nsolve, kn, A, b, &ta, &tc);
                ts[kern] = dmin(ts[kern], ta - tc > 1e-9 ? ta - tc : 1e-9);
                if (kern == 1) {
                    time_solve_batch(k, poolA, poolb, nsolve, kn, bbuf, wsb, &ta, &tc);
                    tb = dmin(tb, ta - tc > 1e-9 ? ta - tc : 1e-9);
                }
                tst[kern] = dmin(tst[kern], time_step_batch(&w, kn, Abuf, bbuf, ws, wsb));
            }
        }
        /* Where the Gram's time goes: the same rows over an X that fits a
         * quarter of L2 (the compute ceiling: the rows come from cache), and
         * reading the workload's rows of X alone (the memory cost). */
        workload wl = w;
        wl.xrows = l2_bytes() / 4 / (8 * k);
        if (wl.xrows < 16)
            wl.xrows = 16;
        if (wl.xrows > w.xrows)
            wl.xrows = w.xrows;
        wl.X = als_huge_alloc(sizeof(double) * (size_t)(wl.xrows * k), wl.huge);
        wl.idx = xalloc(sizeof(int64_t) * (size_t)(nrat + 1));
        if (!wl.X) {
            fprintf(stderr, "als-bench-kernels: out of memory for X\n");
            exit(1);
        }
        memcpy(wl.X, w.X, sizeof(double) * (size_t)(wl.xrows * k));
        for (int64_t t = 0; t < nrat; t++)
            wl.idx[t] = w.idx[t] % wl.xrows;
        double tgl = 1e300, trd = 1e300;
        for (int rep = 0; rep < o.reps; rep++) {
            tgl = dmin(tgl, time_gram(&wl, ALS_KERNEL_FAST, A, b, ws));
            trd = dmin(trd, time_read(&w));
        }
        als_huge_free(wl.X, sizeof(double) * (size_t)(wl.xrows * k), wl.huge);
        free(wl.idx);
        double f_step = f_gram + (double)w.nrows * f_solve1;
        double g[7] = {f_gram / tg[0] * 1e-9, f_gram / tg[1] * 1e-9,
                       nsolve * f_solve1 / ts[0] * 1e-9, nsolve * f_solve1 / ts[1] * 1e-9,
                       nsolve * f_solve1 / tb * 1e-9,
                       f_step / tst[0] * 1e-9, f_step / tst[1] * 1e-9};
        static const int cols_all[] = {0, 1, 2, 3, 4, 5, 6}, cols_fast[] = {1, 3, 4, 6};
        const int *cols = o.no_ref ? cols_fast : cols_all;
        int ncols = o.no_ref ? 4 : 7;
        if (o.dgemm_ref > 0 && dg_own > dg)
            printf("# note: dgemm in this process (%.2f) beat --dgemm-gflops; using it\n", dg = dg_own);
        printf("%4d", k);
        for (int i = 0; i < ncols; i++)
            printf("  %6.2f (%4.0f%%)", g[cols[i]], 100.0 * g[cols[i]] / dg);
        printf("\n");
        printf("#   k = %d, where the fast Gram's time goes: %.1f ns per rating; with X in L2"
               " (%" PRId64 " rows, %.2f MB) %.1f ns, %.2f GFLOP/s (%.0f%%); reading the rows of X"
               " (%.1f MB) alone %.1f ns per rating (%.1f GB/s)\n",
               k, tg[1] / nrat * 1e9, wl.xrows, 8e-6 * (double)(wl.xrows * k), tgl / nrat * 1e9,
               f_gram / tgl * 1e-9, 100.0 * f_gram / tgl * 1e-9 / dg,
               8e-6 * (double)(w.xrows * k), trd / nrat * 1e9, 8e-9 * k * nrat / trd);
        if (o.json)
            printf("{\"k\":%d,\"blas_core\":\"%s\",\"isa\":\"%s\",\"dgemm_gflops\":%.3f,"
                   "\"dgemm_ref_gflops\":%.3f,"
                   "\"gram_fast_gflops\":%.3f,\"solve_fast_gflops\":%.3f,"
                   "\"solve_batch_gflops\":%.3f,\"iter_fast_gflops\":%.3f,"
                   "\"gram_frac\":%.4f,\"solve_batch_frac\":%.4f,\"iter_frac\":%.4f,"
                   "\"gram_l2_frac\":%.4f,\"gram_ns_per_rating\":%.3f,"
                   "\"gram_l2_ns_per_rating\":%.3f,\"read_ns_per_rating\":%.3f,"
                   "\"x_bytes\":%" PRId64 ",\"x_l2_bytes\":%" PRId64 ","
                   "\"rows\":%" PRId64 ",\"ratings\":%" PRId64 "}\n",
                   k, core ? core : "?", als_kernel_isa(), dg_own, dg, g[1], g[3], g[4], g[6],
                   g[1] / dg, g[4] / dg, g[6] / dg, f_gram / tgl * 1e-9 / dg,
                   tg[1] / nrat * 1e9, tgl / nrat * 1e9, trd / nrat * 1e9,
                   8 * w.xrows * k, 8 * wl.xrows * k, w.nrows, nrat);
        fflush(stdout);
        free(poolA), free(poolb), free(A), free(b), free(ws), free(wsb), free(Abuf), free(bbuf);
        free_workload(&w);
    }
    return 0;
}
