/* als_solver.c - the ALS half-steps, the loss and the iteration loop. */
#include "als_solver.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <unistd.h>

#include "als_checkpoint.h"
#include "als_exchange.h"
#include "als_hugepage.h"
#include "als_kernels.h"
#include "als_npy.h"
#include "als_pario.h"
#include "als_planstats.h"
#include "als_cg.h"
#include "als_egram.h"
#include "als_implicit.h"
#include "als_rankeval.h"
#include "als_woodbury.h"
#include "als_clones.h"

/* Rows per chunk of solve_rows (the unit of the dynamic schedule), solved
 * in batches of at most this many. */
#define ALS_SOLVE_CHUNK 16
/* A batch ends at a whole group of SIMD lanes once the factor rows its
 * residual passes read would exceed this, so that they are still in cache
 * (2M set, k = 64, one core: 256 KiB and one lane group per batch both
 * 0.74-0.76 s/iter, 1 MiB 0.77-0.84, always 16 rows 0.82-0.85). */
#define ALS_BATCH_BYTES (256 << 10)
/* --solver cg: rows of at most this many ratings are gathered into a
 * contiguous panel before their CG steps (k = 64: 2 MiB per thread). */
#define ALS_CG_PANEL 4096

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The shared fixed-order dot product (als_kernels.h). */
static inline double dot(const double *a, const double *b, int k)
{
    return als_dot8(a, b, k);
}

/* Squared distance with the same summation structure as dot(). */
static inline double dist2(const double *a, const double *b, int k)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int c = 0;
    for (; c + 8 <= k; c += 8)
        for (int l = 0; l < 8; l++)
            s[l] += (a[c + l] - b[c + l]) * (a[c + l] - b[c + l]);
    for (; c < k; c++)
        s[c & 7] += (a[c] - b[c]) * (a[c] - b[c]);
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

double als_init_value(uint64_t seed, int which, int64_t t, int c, int k)
{
    /* splitmix64 keyed by the seed and the matrix, counter = t*k + c. */
    uint64_t key = mix64(seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(which + 1));
    uint64_t z = mix64(key + 0x9e3779b97f4a7c15ULL * ((uint64_t)t * (uint64_t)k + (uint64_t)c + 1));
    return (double)(z >> 11) * 0x1.0p-53 / sqrt((double)k);
}

/* Physical memory of this node divided among its ranks (bytes). */
static double node_share(MPI_Comm comm)
{
    MPI_Comm node;
    int nr = 1;
    if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &nr);
        MPI_Comm_free(&node);
    }
    double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    return phys / nr;
}

/* Euclidean norms of n rows of width k (for the rounding-error bounds). */
static void row_norms(const double *X, int64_t n, int k, double *out)
{
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < n; t++)
        out[t] = sqrt(dot(X + t * k, X + t * k, k));
}

/* The largest Euclidean norm of any row of side `which` (0 U, 1 V) over
 * all ranks: the explicit model's residual bounds use it for every row of
 * that side (row_residuals). A maximum is exact, so every P gives the same
 * value; a non-finite row gives +Inf. Collective. */
static double side_norm_max(const als_solver_t *s, int which)
{
    const als_ghost_plan_t *g = which ? &s->pv : &s->pu;
    const int k = s->k;
    const double *X = (which ? s->V : s->U) + g->own_slot * k;
    const int64_t n = g->own1 - g->own0;
    double m = 0.0;
#pragma omp parallel for schedule(static) reduction(max : m)
    for (int64_t t = 0; t < n; t++) {
        double v = sqrt(dot(X + t * k, X + t * k, k));
        v = isfinite(v) ? v : INFINITY;
        m = v > m ? v : m;
    }
    double all = m;
    MPI_Allreduce(&m, &all, 1, MPI_DOUBLE, MPI_MAX, s->comm);
    return all;
}

/* What the residual bounds of a pass against side `which` need: the norms
 * of every view row with --implicit (per-rating bounds), else the side's
 * largest row norm (umax, vmax). Collective. */
static void side_norms(als_solver_t *s, int which)
{
    if (s->opt->implicit) {
        const als_ghost_plan_t *g = which ? &s->pv : &s->pu;
        row_norms(which ? s->V : s->U, g->nview, s->k, which ? s->vnorm : s->unorm);
    } else if (which) {
        s->vmax = side_norm_max(s, 1);
    } else {
        s->umax = side_norm_max(s, 0);
    }
}

/* --implicit: one observed entry's share of the loss beyond the all-pairs
 * term, c (p - s)^2 - s^2 = (c - 1) s^2 + c p (p - 2 s) with s = x.y,
 * added to the row's sum *sum (|term| to *asum), and its rounding-error
 * bound to *bound (s is within delta = (k + 2) u |x| |y| of x.y; the
 * derivative in s is 2((c-1) s - c p)). An unobserved pair (and an entry
 * with r = 0: c = 1, p = 0) adds 0. sx: als_dot8(x, y). */
static inline void add_implicit_term(const als_conf_t *cf, double r, double sx, int k,
                                     double nx, double ny, double *sum, double *asum,
                                     double *bound)
{
    double cm1 = als_implicit_cm1(cf, r);
    double p = r > 0.0 ? 1.0 : 0.0, c = 1.0 + cm1;
    double term = cm1 * sx * sx + c * p * (p - 2.0 * sx);
    double delta = (double)(k + 2) * 0x1p-53 * nx * ny;
    *sum += term;
    *asum += fabs(term);
    *bound += 2.0 * fabs(cm1 * sx - c * p) * delta + cm1 * delta * delta +
              4.0 * 0x1p-53 * (fabs(cm1 * sx * sx) + fabs(c * p) * (1.0 + 2.0 * fabs(sx)));
}

/* One solved row x's residuals against the n rows it read: their terms
 * summed in rating order in double, that sum added exactly to *sse (one
 * superaccumulator add per row, not per rating; a row's ratings and their
 * order do not depend on P or threads, so neither does the sum), and a
 * rounding-error bound of that sum, with the row sum's own (gamma_{n-1}
 * sum |term|, Higham (4.4), doubled for the rounding of sum |term|), added
 * to *bsum. Y: the rows gathered in rating order (a CG panel), or NULL to
 * read X through idx.
 *
 * Explicit model: one bound per row, not per rating. Each computed
 * e_t = r_t - x.y_t is within delta_t = c (|r_t| + |x| |y_t|) of the exact
 * residual, c = (k + 2) u, so e_t^2 is within 2|e_t| delta_t + delta_t^2 +
 * u e_t^2. With |y_t| <= ymax (the largest row norm of the other side,
 * side_norm_max) and Cauchy-Schwarz, the row's terms add up to at most
 *   u S + 2 sqrt(S D) + D,  S = sum e_t^2,
 *   D = sum delta_t^2 <= c^2 (sum r_t^2 + 2 |x| ymax sum |r_t| + n |x|^2 ymax^2),
 * taken 1.01 times for the rounding of the bound's own few operations (each
 * relative u, n u << 0.01). sum r_t^2 and sum |r_t| in 8 lanes, which the
 * compiler vectorizes: no per-rating chain or norm lookup beyond the one sum
 * of squares. The bound is looser than the per-rating one it replaces (by
 * about the ratio of the largest to a typical row norm), still rigorous.
 * --implicit keeps the per-rating bound of add_implicit_term with the norms
 * xnorm of the rows read. Local. */
ALS_CLONES static void row_residuals(const als_solver_t *s, int64_t n, const double *val,
                                     const int64_t *idx, const double *X, const double *Y,
                                     const double *xnorm, double ymax, const double *x,
                                     als_rsum_t *sse, als_rsum_t *bsum)
{
    const int k = s->k, implicit = s->opt->implicit;
    double nx = sqrt(dot(x, x, k)), bound = 0.0, xy[64], sum = 0.0, asum = 0.0;
    for (int64_t t0 = 0; t0 < n; t0 += 64) {
        /* The dots of a block of ratings first (als_dot8_rows: dot()'s bits). */
        const int64_t m = n - t0 < 64 ? n - t0 : 64;
        if (Y)
            als_dot8_rows(k, m, Y + t0 * k, NULL, x, xy);
        else
            als_dot8_rows(k, m, X, idx + t0, x, xy);
        if (implicit) {
            for (int64_t j = 0; j < m; j++)
                add_implicit_term(&s->opt->conf, val[t0 + j], xy[j], k, nx,
                                  xnorm[idx[t0 + j]], &sum, &asum, &bound);
        } else {
            for (int64_t j = 0; j < m; j++) {
                double e = val[t0 + j] - xy[j];
                sum += e * e;
            }
        }
    }
    if (!implicit) { /* the row's bound at once (see above) */
        double r1[8] = {0}, r2[8] = {0};
        int64_t t = 0;
        for (; t + 8 <= n; t += 8)
            for (int l = 0; l < 8; l++) {
                r1[l] += fabs(val[t + l]);
                r2[l] += val[t + l] * val[t + l];
            }
        for (int l = 0; t + l < n; l++) {
            r1[l] += fabs(val[t + l]);
            r2[l] += val[t + l] * val[t + l];
        }
        double s1 = 0.0, s2 = 0.0;
        for (int l = 0; l < 8; l++) {
            s1 += r1[l];
            s2 += r2[l];
        }
        const double u = 0x1p-53, c = (double)(k + 2) * u, xm = nx * ymax;
        const double D = c * c * (s2 + 2.0 * xm * s1 + (double)n * xm * xm);
        bound = 1.01 * (u * sum + 2.0 * sqrt(sum * D) + D);
        asum = sum; /* squares: every term >= 0 */
    }
    const double g = (double)(n > 1 ? n - 1 : 0) * 0x1p-53;
    als_rsum_add(sse, sum);
    als_rsum_add(bsum, bound + 2.0 * (g / (1.0 - g)) * asum);
}

/* ---- hot item rows (als_plan.h) ------------------------------------------
 * Chunks computed here: Gram + rhs packed as the upper triangle (row-major,
 * k(k+1)/2) then b (k): hot_pack doubles each, sent to the row's owner with
 * one MPI_Alltoallv per V-step; the owner adds a row's chunks in chunk order. */
static int hot_init(als_solver_t *s, als_err_t *err)
{
    const als_data_t *d = s->data;
    const int k = s->k, p = s->nranks;
    const int64_t ni = d->i1 - d->i0, nc = d->nhc;
    const int sharded = s->mode == ALS_EXCH_NEIGHBOR;
    s->hot_pack = (int64_t)k * (k + 1) / 2 + k;
    s->hot_slot = malloc((size_t)(ni + 1) * sizeof *s->hot_slot);
    s->hc_irow_s = malloc((size_t)((d->hc_ptr ? d->hc_ptr[nc] : 0) + 1) * sizeof *s->hc_irow_s);
    s->hc_vslot = malloc((size_t)(nc + 1) * sizeof *s->hc_vslot);
    s->hot_scnt = calloc((size_t)p * 4, sizeof(int));
    if (!s->hot_slot || !s->hc_irow_s || !s->hc_vslot || !s->hot_scnt)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the hot-row plan");
    s->hot_sdsp = s->hot_scnt + p;
    s->hot_rcnt = s->hot_sdsp + p;
    s->hot_rdsp = s->hot_rcnt + p;
    /* Own hot rows and the range of their chunks in the plan. */
    s->nhot = 0;
    for (int64_t t = 0; t < ni; t++)
        s->hot_slot[t] = als_plan_is_hot(d->iptr[t + 1] - d->iptr[t]) ? s->nhot++ : -1;
    s->hot_c0 = malloc((size_t)(s->nhot + 1) * sizeof *s->hot_c0);
    s->hot_nc = malloc((size_t)(s->nhot + 1) * sizeof *s->hot_nc);
    if (!s->hot_c0 || !s->hot_nc)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the hot-row plan");
    int64_t own_chunks = 0;
    for (int64_t t = 0, h = 0; t < ni; t++) {
        if (s->hot_slot[t] < 0)
            continue;
        int64_t j = d->i0 + t, lo = 0, hi = d->hot.n; /* first chunk of row j */
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (d->hot.row[mid] < j)
                lo = mid + 1;
            else
                hi = mid;
        }
        int64_t c = lo;
        while (c < d->hot.n && d->hot.row[c] == j)
            c++;
        s->hot_c0[h] = lo;
        s->hot_nc[h] = c - lo;
        own_chunks += c - lo;
        h++;
    }
    /* Where each of the own rows' chunks lands in the receive buffer: the
     * sources' chunks arrive in plan order. */
    s->hot_rpos = malloc((size_t)(own_chunks + 1) * sizeof *s->hot_rpos);
    if (!s->hot_rpos)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the hot-row plan");
    for (int64_t h = 0; h < s->nhot; h++)
        for (int64_t c = s->hot_c0[h]; c < s->hot_c0[h] + s->hot_nc[h]; c++)
            s->hot_rcnt[d->hot.rank[c]]++;
    for (int64_t x = 0; x < nc; x++)
        s->hot_scnt[als_ghost_owner(d->ibeg, p, d->hot.row[d->hc[x]])]++;
    int64_t rtot = 0, stot = 0;
    for (int q = 0; q < p; q++) {
        if ((rtot + s->hot_rcnt[q]) * s->hot_pack > INT32_MAX ||
            (stot + s->hot_scnt[q]) * s->hot_pack > INT32_MAX)
            return als_err_set(err, ALS_ERR_DATA, "too many hot-row chunks for one rank's "
                               "message (use more ranks)");
        s->hot_rdsp[q] = (int)rtot;
        s->hot_sdsp[q] = (int)stot;
        rtot += s->hot_rcnt[q];
        stot += s->hot_scnt[q];
    }
    int *fill = calloc((size_t)p, sizeof *fill);
    if (!fill)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the hot-row plan");
    for (int64_t h = 0, y = 0; h < s->nhot; h++)
        for (int64_t c = s->hot_c0[h]; c < s->hot_c0[h] + s->hot_nc[h]; c++, y++) {
            int q = d->hot.rank[c];
            s->hot_rpos[y] = s->hot_rdsp[q] + fill[q]++;
        }
    /* Send positions: own chunks grouped by destination, plan order within. */
    s->hot_spos = malloc((size_t)(nc + 1) * sizeof *s->hot_spos);
    if (!s->hot_spos) {
        free(fill);
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the hot-row plan");
    }
    memset(fill, 0, (size_t)p * sizeof *fill);
    for (int64_t x = 0; x < nc; x++) {
        int q = als_ghost_owner(d->ibeg, p, d->hot.row[d->hc[x]]);
        s->hot_spos[x] = s->hot_sdsp[q] + fill[q]++;
    }
    free(fill);
    for (int q = 0; q < p; q++) { /* counts in doubles */
        s->hot_scnt[q] *= (int)s->hot_pack;
        s->hot_sdsp[q] *= (int)s->hot_pack;
        s->hot_rcnt[q] *= (int)s->hot_pack;
        s->hot_rdsp[q] *= (int)s->hot_pack;
    }
    s->hot_sbuf = malloc((size_t)(stot * s->hot_pack + 1) * sizeof(double));
    s->hot_rbuf = malloc((size_t)(rtot * s->hot_pack + 1) * sizeof(double));
    s->hotA = malloc((size_t)(s->nhot * ((int64_t)k * k + k) + 1) * sizeof(double));
    if (!s->hot_sbuf || !s->hot_rbuf || !s->hotA)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for hot-row partial sums");
    s->hot_any = d->hot.n > 0;
    /* Index maps of the chunks' ratings and rows into the views. */
    int64_t nr = d->hc_ptr ? d->hc_ptr[nc] : 0;
    for (int64_t x = 0; x < nr; x++)
        s->hc_irow_s[x] = sharded ? als_ghost_slot(&s->pu, d->hc_irow[x]) : d->hc_irow[x];
    for (int64_t x = 0; x < nc; x++) {
        int64_t j = d->hot.row[d->hc[x]];
        s->hc_vslot[x] = sharded ? als_ghost_slot(&s->pv, j) : j;
    }
    return ALS_OK;
}

static void hot_free(als_solver_t *s)
{
    free(s->hot_slot); free(s->hc_irow_s); free(s->hc_vslot); free(s->hot_scnt);
    free(s->hot_c0); free(s->hot_nc); free(s->hot_rpos); free(s->hot_spos);
    free(s->hot_sbuf); free(s->hot_rbuf); free(s->hotA);
}

/* V-step, before the solves: this rank's chunks' partial Grams, sent to
 * the owners, summed there per row in chunk order into hotA (k×k upper
 * triangle, then b). Collective when any hot row exists. */
static int hot_gram(als_solver_t *s, als_err_t *err)
{
    if (!s->hot_any)
        return ALS_OK;
    const als_data_t *d = s->data;
    const int k = s->k;
    const int64_t P = s->hot_pack;
    double t0 = omp_get_wtime();
#pragma omp parallel
    {
        double *A = malloc((size_t)(k * k + k) * sizeof *A), *b = A + k * k;
        double *ws = malloc((size_t)(als_gram_ws_size(k) + 1) * sizeof *ws);
        /* --implicit: the chunk's sum (c - 1) y y' and sum c p y (G and
         * the shift are added once by the owner). */
        double *zero = calloc((size_t)(k * k + k), sizeof *zero);
        double *wt = malloc((size_t)(2 * ALS_HOT_CHUNK) * sizeof *wt), *coef = wt + ALS_HOT_CHUNK;
        if (!A || !ws || !zero || !wt)
            ALS_ABORT("out of memory for the per-thread workspace (k = %d)", k);
#pragma omp for schedule(dynamic, 1)
        for (int64_t x = 0; x < d->nhc; x++) {
            int64_t a = d->hc_ptr[x], n = d->hc_ptr[x + 1] - a;
            if (s->opt->implicit) {
                als_implicit_weights(&s->opt->conf, n, d->hc_ival + a, wt, coef);
                als_implicit_normal_eq(k, n, s->hc_irow_s + a, s->U, wt, coef, zero, zero + k * k,
                                       0, NULL, NULL, 0.0, NULL, A, b);
            } else {
                als_gram_rhs(s->opt->kernel, k, n, s->hc_irow_s + a, d->hc_ival + a, s->U, A, b,
                             ws, s->huge);
            }
            double *o = s->hot_sbuf + s->hot_spos[x] * P;
            for (int i = 0, y = 0; i < k; i++)
                for (int j = i; j < k; j++)
                    o[y++] = A[i * k + j];
            memcpy(o + P - k, b, (size_t)k * sizeof *o);
        }
        free(A);
        free(ws);
        free(zero);
        free(wt);
    }
    double t1 = omp_get_wtime();
    s->timers[ALS_T_GRAM] += t1 - t0;
    int rc = MPI_Alltoallv(s->hot_sbuf, s->hot_scnt, s->hot_sdsp, MPI_DOUBLE, s->hot_rbuf,
                           s->hot_rcnt, s->hot_rdsp, MPI_DOUBLE, s->comm);
    double t2 = omp_get_wtime();
    s->timers[ALS_T_EXCHANGE] += t2 - t1;
    if (rc != MPI_SUCCESS)
        return als_err_set(err, ALS_ERR_MPI, "exchange of hot-row partial sums failed (MPI code "
                           "%d)", rc);
    /* Add each own hot row's chunks in chunk order. */
    for (int64_t h = 0, y = 0; h < s->nhot; h++) {
        double *A = s->hotA + h * ((int64_t)k * k + k), *b = A + k * k;
        for (int64_t c = 0; c < s->hot_nc[h]; c++, y++) {
            const double *in = s->hot_rbuf + s->hot_rpos[y] * P;
            for (int i = 0, z = 0; i < k; i++)
                for (int j = i; j < k; j++, z++)
                    A[i * k + j] = c ? A[i * k + j] + in[z] : in[z];
            for (int i = 0; i < k; i++)
                b[i] = c ? b[i] + in[P - k + i] : in[P - k + i];
        }
        if (s->opt->implicit) /* + Y'Y (the U-side Gram of this V-step) */
            for (int i = 0; i < k; i++)
                for (int j = i; j < k; j++)
                    A[i * k + j] += s->gu[i * k + j];
    }
    s->timers[ALS_T_GRAM] += omp_get_wtime() - t2;
    return ALS_OK;
}

/* V-step, after the exchange: the residuals of this rank's chunks' ratings
 * against the new item rows (the owners skip hot rows' residuals). */
static void hot_residuals(als_solver_t *s)
{
    const als_data_t *d = s->data;
    const int k = s->k;
    for (int64_t x = 0; x < d->nhc; x++)
        row_residuals(s, d->hc_ptr[x + 1] - d->hc_ptr[x], d->hc_ival + d->hc_ptr[x],
                      s->hc_irow_s + d->hc_ptr[x], s->U, NULL, s->unorm, s->umax,
                      s->V + s->hc_vslot[x] * k, &s->vsse, &s->vsse_bound);
}

/* The n×n routes' common switches: Cholesky with the fast kernels, and
 * ALS_WOODBURY unset or not "0" (ALS_WOODBURY=0 sends every row k×k, for
 * comparisons). */
static int routes_on(const als_solver_t *s)
{
    static int env = -1;
    if (env < 0) {
        const char *e = getenv("ALS_WOODBURY");
        env = !(e && strcmp(e, "0") == 0);
    }
    return env && s->opt->solver == ALS_SOLVER_CHOLESKY && s->opt->kernel == ALS_KERNEL_FAST;
}

/* 1 when this run solves some explicit rows by the n×n route
 * (als_woodbury.h; with --bias on the unknown coordinates,
 * als_woodbury_solve_fixed). */
static int woodbury_on(const als_solver_t *s)
{
    return routes_on(s) && !s->opt->implicit;
}

/* A row of n ratings with diagonal shift c and bias-coordinate diagonal d
 * (bias_diag) takes the n×n route: both positive, and the route cheaper
 * for its k - nfixed unknowns. */
static int woodbury_row(const als_solver_t *s, int64_t n, double c, double d)
{
    return woodbury_on(s) && c > 0.0 && d > 0.0 && als_woodbury_pays(s->k - s->nfixed, n);
}

/* --implicit rows on the n×n route (als_woodbury.h): with --solver
 * cholesky, the fast kernels and plain lambda (the shared M = G + lambda I
 * is factored once per half-step), a row whose shift is lambda alone (no
 * social degree) where als_woodbury_implicit_pays. */
static int implicit_route_on(const als_solver_t *s)
{
    return routes_on(s) && s->opt->implicit && !s->opt->lambda_count;
}

static int implicit_route_row(const als_solver_t *s, int64_t n, double socdeg)
{
    return implicit_route_on(s) && socdeg == 0.0 && als_woodbury_implicit_pays(s->k, n);
}

/* The bias coordinate's diagonal for a row of diagonal shift c and social
 * part socdeg = alpha d_i: lambda_bias + socdeg with --bias --lambda-bias,
 * else c (the coordinate regularized as the others). */
static double bias_diag(const als_solver_t *s, double c, double socdeg)
{
    return s->opt->bias && s->opt->lambda_bias >= 0 ? s->opt->lambda_bias + socdeg : c;
}

/* Diagonal shift of a row: lambda (times n with --lambda-scale count) plus
 * alpha d_i; the one formula of solve_rows and the flop count. */
static double row_shift(const als_solver_t *s, double reg, int64_t n, double deg)
{
    double shift = s->opt->lambda_count && n > 0 ? reg * (double)n : reg;
    return shift + s->opt->alpha * deg;
}

/* Bytes of this rank's U (which 0) or V (1) view as allocated (one double
 * more, so that an empty view is not a zero-byte request). */
static size_t factor_bytes(const als_solver_t *s, int which)
{
    const als_ghost_plan_t *p = which ? &s->pv : &s->pu;
    return (size_t)(p->nview * s->k + 1) * sizeof(double);
}

int als_solver_init_test(MPI_Comm comm, const als_options_t *opt, const als_data_t *data,
                         const als_testset_t *test, als_solver_t *s, als_err_t *err)
{
    memset(s, 0, sizeof *s);
    s->comm = comm;
    MPI_Comm_rank(comm, &s->rank);
    MPI_Comm_size(comm, &s->nranks);
    s->opt = opt;
    s->data = data;
    s->latent = opt->rank_k;
    s->k = opt->rank_k + (opt->bias ? 3 : 0);
    s->pu.graph = s->pv.graph = MPI_COMM_NULL;
    if (opt->bias) {
        int k0 = opt->rank_k;
        s->nfixed = 2;
        s->ufix[0] = k0 + 1; s->ufixval[0] = 1.0;          /* meets c_j */
        s->ufix[1] = k0 + 2; s->ufixval[1] = data->rmean;  /* mu, meets 1 */
        s->vfix[0] = k0;     s->vfixval[0] = 1.0;          /* meets b_i */
        s->vfix[1] = k0 + 2; s->vfixval[1] = 1.0;          /* meets mu */
    }
    s->threads = omp_get_max_threads();
    const als_data_t *d = data;
    int64_t m = d->m, n = d->n, k = s->k;
    int64_t nu = d->u1 - d->u0, ni = d->i1 - d->i0;
    const int64_t ntest = test ? test->n : 0;

    /* Ghost lists: what this rank reads (always computed: the start-up
     * report compares both modes). */
    int64_t *ug = NULL, *vg = NULL, nug = 0, nvg = 0;
    {
        int64_t *hrows = malloc((size_t)(d->nhc + 1) * sizeof *hrows);
        if (!hrows)
            ALS_ABORT("out of memory collecting ghost rows");
        for (int64_t x = 0; x < d->nhc; x++)
            hrows[x] = d->hot.row[d->hc[x]];
        als_ghost_input_t gi = {d->u0, d->u1, d->i0, d->i1, ni, d->iptr, d->irow, d->ucol,
                                d->lnnz_u, d->wcol, d->lwnnz, d->hc_irow,
                                d->hc_ptr ? d->hc_ptr[d->nhc] : 0, hrows, d->nhc,
                                test ? test->i : NULL, ntest};
        als_ghost_lists(&gi, &ug, &nug, &vg, &nvg, err);
        free(hrows);
    }
    if (als_err_agree(comm, err) != ALS_OK) {
        free(ug);
        free(vg);
        return err->code;
    }
    s->mode = opt->exchange;
    /* The plans are built in both modes: the start-up report and --exchange
     * auto compare the modes with the same figures als-partition prints. */
    if (als_ghost_plan_build(comm, d->ubeg, ug, nug, &s->pu, err) != ALS_OK ||
        als_ghost_plan_build(comm, d->ibeg, vg, nvg, &s->pv, err) != ALS_OK)
        return err->code;
    ug = vg = NULL; /* owned by the plans */
    int64_t nsend = s->pu.nsend > s->pv.nsend ? s->pu.nsend : s->pv.nsend;
    als_planstats_counts_t pc = {nu, ni, d->lnnz_u, d->lnnz_i, d->lwnnz, nug, nvg,
                                 s->pu.nsend, s->pv.nsend, s->pu.nsrc, s->pv.nsrc, 0,
                                 d->hc_ptr ? d->hc_ptr[d->nhc] : 0, 0.0, 0.0};
    als_planstats_route(als_plan_model_of(opt), nu, d->uptr, ni, d->iptr, &pc);
    for (int64_t t = 0; t < ni; t++)
        if (als_plan_is_hot(d->iptr[t + 1] - d->iptr[t]))
            pc.hot_ratings += d->iptr[t + 1] - d->iptr[t];
    als_planstats_t ps;
    als_planstats_rank(&pc, m, n, (int)k, s->threads, &ps);
    s->bytes_recv_iter = (double)ps.bytes_neighbor;
    s->bytes_recv_other = (double)ps.bytes_allgather;
    double mem_n = (double)ps.mem_neighbor, mem_a = (double)ps.mem_allgather;
    if (opt->implicit) {
        /* --implicit (not in the plan, which als-partition prints without a
         * model): the view rows' norms, 8 bytes per view row and side, and
         * the two k x k Grams X'X, Y'Y. */
        const double grams = 2.0 * (double)k * (double)k * 8.0;
        mem_a += 8.0 * (double)(m + n) + grams;
        mem_n += 8.0 * (double)(nu + nug + ni + nvg) + grams;
    }
    if (s->mode == ALS_EXCH_AUTO) {
        /* Memory first (largest rank decides), then a time model of one
         * iteration's two exchanges on the slowest rank:
         *   allgather: alpha ceil(log2 P) + (bytes received) / beta
         *   neighbor:  alpha (sources + destinations) + bytes / beta
         *              + packing (rows sent × k × 8) / copy rate. */
        double limit = opt->mem_limit > 0 ? opt->mem_limit : 0.8 * node_share(comm);
        double x[6] = {mem_a, s->bytes_recv_other, s->bytes_recv_iter,
                       (double)(s->pu.nsrc + s->pu.ndst + s->pv.nsrc + s->pv.ndst),
                       8.0 * (double)k * (double)(s->pu.nsend + s->pv.nsend), -limit};
        MPI_Allreduce(MPI_IN_PLACE, x, 6, MPI_DOUBLE, MPI_MAX, comm);
        const double alpha = 2e-6, beta = 5e9, copy = 5e9;
        double lg = s->nranks > 1 ? ceil(log2((double)s->nranks)) : 0.0;
        double ta = 2.0 * alpha * lg + x[1] / beta;
        double tn = alpha * x[3] + x[2] / beta + x[4] / copy;
        if (x[0] > -x[5]) {
            s->mode = ALS_EXCH_NEIGHBOR;
            snprintf(s->why, sizeof s->why, "replicated factors need %.3g GB on the largest rank, "
                     "more than the %.3g GB a rank may use (--mem-per-rank)", x[0] * 1e-9,
                     -x[5] * 1e-9);
        } else {
            s->mode = tn < ta ? ALS_EXCH_NEIGHBOR : ALS_EXCH_ALLGATHER;
            snprintf(s->why, sizeof s->why, "modelled exchange per iteration on the slowest rank: "
                     "allgather %.3g ms, neighbor %.3g ms (alpha %.0f us, %.0f GB/s, packing "
                     "%.0f GB/s)", ta * 1e3, tn * 1e3, alpha * 1e6, beta * 1e-9, copy * 1e-9);
        }
    } else {
        snprintf(s->why, sizeof s->why, "--exchange %s", als_exchange_mode_name(s->mode));
    }
    if (s->mode == ALS_EXCH_SHARED) {
        if (als_shm_init(comm, opt->shm_domain, &s->shm, err) != ALS_OK)
            return err->code;
        const char *dn = s->shm.domain == ALS_SHM_NUMA ? "NUMA domain"
                         : als_shm_domain_name(s->shm.domain);
        snprintf(s->why, sizeof s->why, "--exchange shared: %d %s%s x %d rank%s, one copy of "
                 "U and V per %s%s", s->shm.nnodes, dn, s->shm.nnodes > 1 ? "s" : "",
                 s->shm.node_size, s->shm.node_size > 1 ? "s" : "", dn,
                 s->shm.unbound ? "; the ranks are not bound (mpirun --bind-to core), so each "
                 "is its own domain and nothing is shared" : "");
    }
    if (s->mode == ALS_EXCH_ALLGATHER || s->mode == ALS_EXCH_SHARED) {
        /* The whole matrices: view slot = global row. */
        als_ghost_plan_free(&s->pu);
        als_ghost_plan_free(&s->pv);
        nsend = 0;
        s->pu.own0 = d->u0; s->pu.own1 = d->u1; s->pu.own_slot = d->u0; s->pu.nview = m;
        s->pv.own0 = d->i0; s->pv.own1 = d->i1; s->pv.own_slot = d->i0; s->pv.nview = n;
        s->mem_expected = mem_a;
        s->mem_other = mem_n;
        double t = s->bytes_recv_iter;
        s->bytes_recv_iter = s->bytes_recv_other;
        s->bytes_recv_other = t;
        if (s->mode == ALS_EXCH_SHARED) {
            /* This rank's share of the node's copy; what its bridge brings. */
            s->mem_expected = (double)als_planstats_mem_shared((int64_t)mem_a, m, n, (int)k,
                                                               s->shm.node_size);
            s->bytes_recv_shared = (double)(als_shm_peer_rows(&s->shm, d->ubeg) +
                                            als_shm_peer_rows(&s->shm, d->ibeg)) *
                                   (double)k * 8.0;
        }
    } else {
        s->mem_expected = mem_n;
        s->mem_other = mem_a;
    }
    const int sharded = s->mode == ALS_EXCH_NEIGHBOR;
    /* In both modes the new rows are solved in place when nothing on this
     * rank reads the old ones during the half-step: always for V (the
     * V-step reads only U), for U when this rank's users have no social
     * rows (the U-step reads own U rows only through W). Other ranks read
     * their own copies, so this is a local decision. Results are
     * unchanged; the allgather then sends from its receive buffer
     * (MPI_IN_PLACE) instead of copying a new block. */
    s->v_inplace = 1;
    s->u_inplace = d->lwnnz == 0;
    if (s->mode == ALS_EXCH_SHARED) {
        /* One copy per node: in place only if no rank of the node reads
         * other users' rows during the U-step. */
        int social = d->lwnnz > 0;
        MPI_Allreduce(MPI_IN_PLACE, &social, 1, MPI_INT, MPI_MAX, s->shm.node);
        s->u_inplace = !social;
    }
    if (sharded) {
        if (als_ghost_plan_rounds(comm, &s->pu, (int)k) != MPI_SUCCESS ||
            als_ghost_plan_rounds(comm, &s->pv, (int)k) != MPI_SUCCESS)
            als_err_set(err, ALS_ERR_MPI, "agreeing on the exchange rounds failed");
        int64_t ru = als_ghost_round_rows(&s->pu, (int)k), rv = als_ghost_round_rows(&s->pv, (int)k);
        nsend = ru > rv ? ru : rv;
    }
    if (s->mode == ALS_EXCH_SHARED) {
        s->huge = als_huge_shm_available(als_shm_dir(), s->huge_why, sizeof s->huge_why) &&
                  opt->huge_pages;
        if (als_shm_alloc(&s->shm, 0, m, k, s->huge, err) != ALS_OK ||
            als_shm_alloc(&s->shm, 1, n, k, s->huge, err) != ALS_OK)
            return err->code;
        s->U = s->shm.base[0];
        s->V = s->shm.base[1];
    } else {
        s->huge = opt->huge_pages && als_huge_available();
        s->fbytes[0] = factor_bytes(s, 0);
        s->fbytes[1] = factor_bytes(s, 1);
        s->U = als_huge_alloc(s->fbytes[0], s->huge);
        s->V = als_huge_alloc(s->fbytes[1], s->huge);
    }
    /* The view rows' norms: only --implicit's per-rating bounds read them
     * (the explicit model's bounds take the side's largest norm). */
    const int64_t nnorm_u = opt->implicit ? s->pu.nview : 0, nnorm_v = opt->implicit ? s->pv.nview : 0;
    s->unorm = malloc((size_t)(nnorm_u + 1) * sizeof(double));
    s->vnorm = malloc((size_t)(nnorm_v + 1) * sizeof(double));
    s->ublk = malloc((size_t)((s->u_inplace ? 0 : nu) * k + 1) * sizeof(double));
    s->vblk = malloc((size_t)((s->v_inplace ? 0 : ni) * k + 1) * sizeof(double));
    s->sendbuf = malloc((size_t)(nsend * k + 1) * sizeof(double));
    s->hist_cap = opt->iters < 64 ? opt->iters + 1 : 64;
    s->hist = calloc((size_t)s->hist_cap, sizeof *s->hist);
    s->test_u = malloc((size_t)(ntest + 1) * sizeof *s->test_u);
    s->test_v = malloc((size_t)(ntest + 1) * sizeof *s->test_v);
    s->test_r = malloc((size_t)(ntest + 1) * sizeof *s->test_r);
    if (sharded) {
        s->ucol_s = malloc((size_t)(d->lnnz_u + 1) * sizeof(int64_t));
        s->irow_s = malloc((size_t)(d->lnnz_i + 1) * sizeof(int64_t));
        s->wcol_s = malloc((size_t)(d->lwnnz + 1) * sizeof(int64_t));
    } else {
        s->ucol_s = d->ucol;
        s->irow_s = d->irow;
        s->wcol_s = d->wcol;
    }
    if (!s->U || !s->V || !s->unorm || !s->vnorm || !s->ublk || !s->vblk || !s->sendbuf ||
        !s->hist || !s->test_u || !s->test_v || !s->test_r || !s->ucol_s || !s->irow_s ||
        !s->wcol_s)
        als_err_set(err, ALS_ERR_NOMEM, "out of memory for the factors (%s: %" PRId64 " x %" PRId64
                    " and %" PRId64 " x %" PRId64 " doubles on this rank)",
                    als_exchange_mode_name(s->mode), s->pu.nview, k, s->pv.nview, k);
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    if (sharded) {
        als_ghost_map(&s->pv, d->ucol, d->lnnz_u, s->ucol_s);
        als_ghost_map(&s->pu, d->irow, d->lnnz_i, s->irow_s);
        als_ghost_map(&s->pu, d->wcol, d->lwnnz, s->wcol_s);
    }
    if (hot_init(s, err) != ALS_OK)
        return err->code;
    for (int64_t x = 0; x < ntest; x++) {
        s->test_u[x] = test->u[x] - d->u0;
        s->test_v[x] = sharded ? als_ghost_slot(&s->pv, test->i[x]) : test->i[x];
        s->test_r[x] = test->r[x];
    }
    s->ntest = ntest;

    const int k0 = s->latent;
    /* The rows initialised here: the whole view, or with one copy per node
     * only the own rows (each rank writes its own; the exchanges below
     * bring the rest). */
    const int shared = s->mode == ALS_EXCH_SHARED;
    const int64_t u_init0 = shared ? s->pu.own_slot : 0, u_init1 = shared ? s->pu.own_slot + nu
                                                                          : s->pu.nview;
    const int64_t v_init0 = shared ? s->pv.own_slot : 0, v_init1 = shared ? s->pv.own_slot + ni
                                                                          : s->pv.nview;
    if (opt->init_user[0]) {
        /* Each rank reads its own rows; the ghosts come with an exchange
         * (after the constant coordinates are set, below). */
        if (als_pario_read_npy_rows(comm, opt->init_user, d->u0, nu, m, k0, s->k,
                                    als_solver_urow(s, d->u0), err) != ALS_OK ||
            als_pario_read_npy_rows(comm, opt->init_item, d->i0, ni, n, k0, s->k,
                                    als_solver_vrow(s, d->i0), err) != ALS_OK)
            return err->code;
    } else {
#pragma omp parallel for schedule(static)
        for (int64_t t = u_init0; t < u_init1; t++)
            for (int c = 0; c < k0; c++)
                s->U[t * k + c] = als_init_value(opt->seed, 0, als_view_global(&s->pu, t), c, k0);
#pragma omp parallel for schedule(static)
        for (int64_t t = v_init0; t < v_init1; t++)
            for (int c = 0; c < k0; c++)
                s->V[t * k + c] = als_init_value(opt->seed, 1, als_view_global(&s->pv, t), c, k0);
    }
    /* Biases start at 0; constant coordinates take their values. */
    for (int64_t t = u_init0; t < u_init1 && opt->bias; t++) {
        s->U[t * k + k0] = 0.0;
        for (int f = 0; f < s->nfixed; f++)
            s->U[t * k + s->ufix[f]] = s->ufixval[f];
    }
    for (int64_t t = v_init0; t < v_init1 && opt->bias; t++) {
        s->V[t * k + k0 + 1] = 0.0;
        for (int f = 0; f < s->nfixed; f++)
            s->V[t * k + s->vfix[f]] = s->vfixval[f];
    }
    /* Per-thread weight buffers: the longest local row. */
    for (int64_t t = 0; t < nu; t++)
        if (d->uptr[t + 1] - d->uptr[t] > s->maxrow)
            s->maxrow = d->uptr[t + 1] - d->uptr[t];
    for (int64_t t = 0; t < ni; t++)
        if (d->iptr[t + 1] - d->iptr[t] > s->maxrow)
            s->maxrow = d->iptr[t + 1] - d->iptr[t];
    if (opt->implicit) {
        if (!(d->rmin >= 0.0))
            als_err_set(err, ALS_ERR_DATA, "--implicit: values must be >= 0 (play counts, "
                        "clicks); the smallest is %g", d->rmin);
        else if (opt->conf.scale == ALS_CONF_LOG && !(opt->conf.eps > 0.0))
            als_err_set(err, ALS_ERR_ARG, "--epsilon must be > 0");
        s->gu = malloc((size_t)(k * k) * sizeof *s->gu);
        s->gv = malloc((size_t)(k * k) * sizeof *s->gv);
        if (!s->gu || !s->gv)
            als_err_set(err, ALS_ERR_NOMEM, "out of memory for the Gram matrices");
        if (als_err_agree(comm, err) != ALS_OK)
            return err->code;
        if (test && als_rankeval_init(s, err) != ALS_OK)
            return err->code;
    }
    if ((opt->init_user[0] || shared) &&
        (als_solver_exchange(s, 0, err) != ALS_OK || als_solver_exchange(s, 1, err) != ALS_OK))
        return err->code;
    s->bytes_received = 0.0; /* the start-up exchanges are not an iteration's */
    s->nexchanges = 0;
    double dk = (double)k;
    /* DESIGN.md section 6 with every row k×k: the Cholesky count and the
     * block plan's base */
    const double kxk = (double)data->nnz * 2.0 * (dk * (dk + 1.0) + 2.0 * dk) +
                       (double)(m + n) * (dk * dk * dk / 3.0 + 2.0 * dk * dk) +
                       (double)data->wnnz * 2.0 * dk;
    s->flops_per_iter = kxk;
    if (opt->solver == ALS_SOLVER_CG) /* rhs + steps x (A p: 4 n_i k, + k^2 implicit; 10 k) */
        s->flops_per_iter = (double)data->nnz * 2.0 * 2.0 * dk +
                            (double)opt->cg_steps * ((double)data->nnz * 2.0 * 4.0 * dk +
                            (double)(m + n) * (10.0 * dk + (opt->implicit ? 2.0 * dk * dk : 0.0))) +
                            (double)data->wnnz * 2.0 * dk;
    if (opt->implicit) /* the two exact Grams */
        s->flops_per_iter += (double)(m + n) * dk * (dk + 1.0);
    s->flops_per_iter_kxk = s->flops_per_iter;
    {
        /* The block plan's cost of an iteration (als_plan.h), in the units
         * of the per-rank figures als-partition prints: the k×k count with
         * the plan's n×n rows at their modelled cost (pc's sums, above). */
        double in = pc.route_u + pc.route_v, sum = 0.0;
        als_rsum_allreduce_doubles(comm, &in, &sum, 1);
        s->flops_per_iter_plan = kxk + sum;
    }
    if (woodbury_on(s) || implicit_route_on(s)) {
        /* Rows on an n×n route (explicit, or --implicit's): their flops
         * instead of the k×k ones (summed over the own rows, one reduction;
         * --implicit's shared factor, k^3/3 per half-step, left out). */
        double wb_rows[2] = {0.0, 0.0}, delta = 0.0;
        for (int side = 0; side < 2; side++) {
            const int64_t nr = side ? d->i1 - d->i0 : d->u1 - d->u0;
            const int64_t *ptr = side ? d->iptr : d->uptr;
            const double reg = side ? opt->lambda_v : opt->lambda_u;
            for (int64_t t = 0; t < nr; t++) {
                const int64_t nt = ptr[t + 1] - ptr[t];
                if (side == 1 && als_plan_is_hot(nt)) /* the chunks' k×k route */
                    continue;
                const double deg = side ? 0.0 : d->wdeg[t], c = row_shift(s, reg, nt, deg);
                double f = -1.0; /* the row's flops on its n×n route, if it takes one */
                if (woodbury_row(s, nt, c, bias_diag(s, c, opt->alpha * deg)))
                    f = als_woodbury_flops((int)k - s->nfixed, nt); /* its unknowns' */
                else if (implicit_route_row(s, nt, opt->alpha * deg))
                    f = als_woodbury_implicit_flops((int)k, nt);
                if (f >= 0.0) {
                    delta += f - als_woodbury_kxk_flops((int)k, nt);
                    wb_rows[side] += 1.0;
                }
            }
        }
        double in[3] = {delta, wb_rows[0], wb_rows[1]}, sum[3];
        als_rsum_allreduce_doubles(comm, in, sum, 3);
        s->flops_per_iter += sum[0];
        s->woodbury_rows[0] = sum[1];
        s->woodbury_rows[1] = sum[2];
    }
    if (opt->row_costs) {
        s->rowcost_n = (d->u1 - d->u0) + (d->i1 - d->i0);
        s->rowcost = calloc((size_t)(s->rowcost_n * opt->iters + 1), sizeof *s->rowcost);
        if (!s->rowcost)
            als_err_set(err, ALS_ERR_NOMEM, "--row-costs: out of memory for %" PRId64
                        " rows x %d iterations", s->rowcost_n, opt->iters);
        if (als_err_agree(comm, err) != ALS_OK)
            return err->code;
    }
    return ALS_OK;
}

/* --row-costs: the current iteration's slots of side 0 (users) or 1
 * (items), or NULL when nothing is timed. */
static double *rowcost_slots(const als_solver_t *s, int side)
{
    if (!s->rowcost || s->rowcost_hi <= 0)
        return NULL;
    return s->rowcost + (int64_t)(s->rowcost_hi - 1) * s->rowcost_n +
           (side ? s->data->u1 - s->data->u0 : 0);
}

double als_solver_row_cost(const als_solver_t *s, int side, int64_t t)
{
    if (!s->rowcost || s->rowcost_hi < s->rowcost_lo)
        return NAN;
    const int64_t slot = side ? (s->data->u1 - s->data->u0) + t : t;
    int lo = s->rowcost_lo + (s->rowcost_hi > s->rowcost_lo), n = 0;
    double v[64];
    /* the median of at most 64 iterations (the last ones) */
    if (s->rowcost_hi - lo + 1 > 64)
        lo = s->rowcost_hi - 63;
    for (int it = lo; it <= s->rowcost_hi; it++) {
        double x = s->rowcost[(int64_t)(it - 1) * s->rowcost_n + slot];
        int j = n++;
        while (j > 0 && v[j - 1] > x) { /* insertion sort */
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int als_solver_init(MPI_Comm comm, const als_options_t *opt, const als_data_t *data,
                    als_solver_t *s, als_err_t *err)
{
    return als_solver_init_test(comm, opt, data, NULL, s, err);
}

void als_solver_describe(als_solver_t *s, FILE *out)
{
    /* min/avg/max over ranks of: bytes received (mode, other), ghost rows
     * (U, V), modelled memory (mode, other), bytes received through the
     * bridges, the share of U and V on huge pages (-1: unknown). */
    const int nv = 8;
    double huge = -1.0;
    if (s->huge) {
        size_t bu = (size_t)s->pu.nview * (size_t)s->k * sizeof(double);
        size_t bv = (size_t)s->pv.nview * (size_t)s->k * sizeof(double);
        int64_t hu = als_huge_backed(s->U, bu), hv = als_huge_backed(s->V, bv);
        if (hu >= 0 && hv >= 0 && bu + bv > 0)
            huge = (double)(hu + hv) / (double)(bu + bv);
    }
    double mine[8] = {s->bytes_recv_iter, s->bytes_recv_other,
                      (double)(s->mode == ALS_EXCH_NEIGHBOR ? s->pu.nghost : s->pu.nview -
                               (s->pu.own1 - s->pu.own0)),
                      (double)(s->mode == ALS_EXCH_NEIGHBOR ? s->pv.nghost : s->pv.nview -
                               (s->pv.own1 - s->pv.own0)),
                      s->mem_expected, s->mem_other, s->bytes_recv_shared, huge};
    double mn[8], mx[8], sum[8];
    MPI_Allreduce(mine, mn, nv, MPI_DOUBLE, MPI_MIN, s->comm);
    MPI_Allreduce(mine, mx, nv, MPI_DOUBLE, MPI_MAX, s->comm);
    als_rsum_allreduce_doubles(s->comm, mine, sum, nv);
    if (!out || s->rank != 0)
        return;
    const int nb = s->mode == ALS_EXCH_NEIGHBOR; /* index of neighbor figures: 0 or 1 */
    const char *name[2] = {"neighbor", "allgather"};
    int ia = nb ? 1 : 0, in = nb ? 0 : 1;
    (void)name;
    double P = s->nranks;
    fprintf(out, "exchange: %s (%s)\n", als_exchange_mode_name(s->mode), s->why);
    fprintf(out, "bytes received per rank per iteration: neighbor min %.0f avg %.1f max %.0f; "
            "allgather min %.0f avg %.1f max %.0f\n", mn[in], sum[in] / P, mx[in], mn[ia],
            sum[ia] / P, mx[ia]);
    if (s->mode == ALS_EXCH_SHARED)
        fprintf(out, "shared: bytes received per rank per iteration (from other nodes, through "
                "its bridge) min %.0f avg %.1f max %.0f\n", mn[6], sum[6] / P, mx[6]);
    if (nb)
        fprintf(out, "ghost rows per rank: U min %.0f avg %.1f max %.0f; V min %.0f avg %.1f "
                "max %.0f\n", mn[2], sum[2] / P, mx[2], mn[3], sum[3] / P, mx[3]);
    fprintf(out, "expected memory per rank (bytes): %s min %.0f avg %.1f max %.0f; %s min %.0f "
            "avg %.1f max %.0f\n", als_exchange_mode_name(s->mode), mn[4], sum[4] / P, mx[4],
            nb ? "allgather" : "neighbor", mn[5], sum[5] / P, mx[5]);
    if (woodbury_on(s))
        fprintf(out, "short rows: %.0f users and %.0f items solved by the n x n route "
                "(fewer ratings than k, where it needs under 40%% of the flops: x = (g - Y'w)/c, "
                "(YY' + cI) w = Y g)\n", s->woodbury_rows[0], s->woodbury_rows[1]);
    if (implicit_route_on(s))
        fprintf(out, "short rows: %.0f users and %.0f items solved by the implicit n x n route "
                "(few entries, no social degree, where it needs under 40%% of the flops: "
                "M = G + lambda I = L L' once per half-step, x = L^-T (beta - W u), "
                "(I + W'W) u = W' beta)\n", s->woodbury_rows[0], s->woodbury_rows[1]);
    /* Shared mode: the node's window, under the shared-memory setting. */
    const int sh = s->mode == ALS_EXCH_SHARED;
    const char *what = sh ? "the shared window of U and V" : "U and V";
    char setting[224];
    if (sh)
        snprintf(setting, sizeof setting, "%s", s->huge_why);
    else
        snprintf(setting, sizeof setting, "transparent huge pages: %s", als_huge_thp_mode());
    if (!s->opt->huge_pages)
        fprintf(out, "huge pages: off (--huge-pages off); the Gram gathers its rows\n");
    else if (!s->huge)
        fprintf(out, "huge pages: not available for %s (%s); the Gram gathers its rows\n",
                what, setting);
    else if (mn[7] < 0)
        fprintf(out, "huge pages: asked for %s (%s; /proc/self/smaps unreadable, share "
                "unknown)\n", what, setting);
    else
        fprintf(out, "huge pages: asked for %s (%s); on huge pages now: min %.0f%% avg "
                "%.0f%% max %.0f%% over ranks\n", what, setting, 100.0 * mn[7],
                100.0 * sum[7] / P, 100.0 * mx[7]);
    fflush(out);
}

void als_solver_free(als_solver_t *s)
{
    hot_free(s);
    free(s->rowcost);
    s->rowcost = s->rowcost_cur = NULL;
    if (s->mode == ALS_EXCH_NEIGHBOR) {
        free(s->ucol_s);
        free(s->irow_s);
        free(s->wcol_s);
        als_ghost_plan_free(&s->pu);
        als_ghost_plan_free(&s->pv);
    }
    if (s->mode == ALS_EXCH_SHARED) {
        als_shm_free(&s->shm);
    } else {
        /* the sizes they were allocated with: the ghost plans, which
         * factor_bytes reads, are already freed in neighbor mode */
        als_huge_free(s->U, s->fbytes[0], s->huge);
        als_huge_free(s->V, s->fbytes[1], s->huge);
    }
    free(s->unorm);
    free(s->vnorm);
    free(s->ublk);
    free(s->vblk);
    free(s->sendbuf);
    free(s->test_u);
    free(s->test_v);
    free(s->test_r);
    free(s->hist);
    free(s->gu);
    free(s->gv);
    als_rankeval_free(s);
    memset(s, 0, sizeof *s);
}

/* b += alpha sum_e W[e] Y[wcol[e]] over the row's W entries e in [w0, w1),
 * in entry order: the social right-hand side of every route (k×k, n×n,
 * CG), so all three add the same terms in the same order. */
static void add_social(int k, double alpha, int64_t w0, int64_t w1, const int64_t *wcol,
                       const double *wval, const double *Y, double *b)
{
    for (int64_t e = w0; e < w1; e++) {
        const double a = alpha * wval[e], *y = Y + wcol[e] * k;
        for (int c = 0; c < k; c++)
            b[c] += a * y[c];
    }
}

/* --solver cg: one row by als_cg_solve_coef (als_cg.h), warm-started from
 * the row's current factor cur, into x. The right-hand side and the diagonal
 * are exactly those the Cholesky path forms (b is never formed whole: its
 * ratings' part enters the initial residual, the buffer b gets the social
 * part): b = sum_t coef_t X[idx_t] (coef = r explicit, c p implicit)
 * + alpha sum_f W_if Y[f]; d = shift (lambda or
 * lambda n_i, + alpha deg_i) on every coordinate, lambda_bias + alpha deg_i
 * on the bias coordinate with --lambda-bias; G = Y'Y and w = c - 1 with
 * --implicit. Fixed coordinates keep cur's values. b, diag: k doubles each,
 * ws: als_cg_ws_size(k); panel: npanel*k doubles (rows with n <= npanel
 * are gathered into the panel first; prefetching 1-8 rows ahead measured no
 * gain). Returns 0, -1 (non-finite) or 1 (not positive definite on the free
 * coordinates), like the Cholesky path's info. Local. */
static int cg_row(const als_solver_t *s, int64_t n, const int64_t *idx, const double *coef,
                  const double *w, const double *X, const double *G, double shift,
                  double socdeg, int64_t w0, int64_t w1, const int64_t *wcol,
                  const double *wval, const double *Y, const int *fix, int bcoord,
                  const double *cur, double *x, double *b, double *diag, double *ws,
                  double *panel, int64_t npanel)
{
    const int k = s->k;
    const double alpha = s->opt->alpha, lbias = s->opt->lambda_bias;
    if (n <= npanel) {
        /* Gather the row's n factor rows once into a contiguous panel (in
         * cache for every CG step): the same values in the same order, so
         * the same bits as reading X through idx. On huge pages npanel is 0
         * and the steps read X through idx: no copy, and the TLB covers X (k = 64
         * on the 2M set: 0.28-0.33 -> 0.258-0.260 s per iteration). */
        for (int64_t t = 0; t < n; t++)
            memcpy(panel + t * k, X + idx[t] * k, (size_t)k * sizeof *panel);
        X = panel;
        idx = NULL; /* row t of the panel is panel + t k */
    }
    /* b holds only the social part b0; the ratings' part sum_t coef_t x_t
     * enters the initial residual in the same pass as A x. */
    memset(b, 0, (size_t)k * sizeof *b);
    add_social(k, alpha, w0, w1, wcol, wval, Y, b);
    for (int c = 0; c < k; c++)
        diag[c] = shift;
    if (bcoord >= 0 && lbias >= 0) /* the bias: its own plain lambda */
        diag[bcoord] = lbias + socdeg;
    if (x != cur) /* in place: the row is its own warm start */
        memcpy(x, cur, (size_t)k * sizeof *x);
    als_cg_row_t row = {.k = k, .n = n, .idx = idx, .X = X, .w = w, .G = G, .diag = diag,
                        .nfix = s->nfixed, .fix = fix};
    /* In exact arithmetic CG ends within kr = k - nfixed steps: more only
     * re-polish rounding noise (and can meet p'Ap = 0 by underflow). */
    const int kr = k - s->nfixed;
    int rc = als_cg_solve_coef(&row, coef, b, s->opt->cg_steps < kr ? s->opt->cg_steps : kr, x,
                               ws);
    if (rc == -2) {
        /* p'Ap <= 0: a failure unless the iterate already solves the row
         * (the direction was rounding noise): |b - Ax| <= 1e-12 |b|. */
        double *bf = ws + k; /* the full right-hand side b0 + sum coef_t x_t */
        als_cg_rhs(k, n, idx, coef, X, bf);
        for (int c = 0; c < k; c++)
            bf[c] += b[c];
        als_cg_residual(&row, coef, b, x, ws);
        double rr = 0.0, bb = 0.0;
        for (int c = 0; c < k; c++) {
            int fixed = 0;
            for (int f = 0; f < s->nfixed; f++)
                fixed |= fix[f] == c;
            if (!fixed) {
                rr += ws[c] * ws[c];
                bb += bf[c] * bf[c];
            }
        }
        rc = rr <= 1e-24 * bb && isfinite(rr) ? 0 : -2;
    }
    return rc == -1 ? -1 : rc == -2 ? 1 : 0;
}

/* Record a failed row: the lowest local row wins. */
static void note_failure(int64_t t, int info, int64_t *bad, int *bad_info)
{
#pragma omp critical(als_solve_failure)
    if (t < *bad) {
        *bad = t;
        *bad_info = info;
    }
}

/* Solve the rows [0, nrows) of one half-step. For row t: ratings
 * idx/val[ptr[t]..ptr[t+1]) against X (view rows; norms xnorm with
 * --implicit, the largest row norm of X's side xmax otherwise), diagonal
 * shift reg + alpha*deg[t], social right-hand side alpha * sum W[t,f] Y[f]
 * (wptr NULL for items). After each solve the row's residuals against the
 * rows just read are added exactly to *sse (with their rounding bound).
 * cur: the rows' current factors (the CG warm start); G: Y'Y with
 * --implicit (else NULL). --solver cg solves each row with cg_row, else the
 * row's k×k system is formed and factored (Cholesky).
 * Returns the lowest local row whose factorization failed, or -1. */
static int64_t solve_rows(als_solver_t *s, int64_t nrows, const int64_t *ptr, const int64_t *idx,
                          const double *val, const double *X, const double *xnorm, double xmax,
                          double reg,
                          const int64_t *wptr, const int64_t *wcol, const double *wval,
                          const double *deg, const double *Y, const int *fix,
                          const double *fixval, int bcoord, const int64_t *hot_slot,
                          const double *hotA, const double *cur, const double *G, double *out,
                          als_rsum_t *sse,
                          als_rsum_t *sse_bound, int *info_out)
{
    const double lbias = s->opt->lambda_bias;
    const int k = s->k, nf = s->nfixed, kr = k - nf;
    /* The unknown coordinates, ascending (all of them without --bias). */
    int q[4096 + 3], bq = -1; /* bq: the bias coordinate's index in q */
    for (int c = 0, a = 0; c < k; c++) {
        int fixed = 0;
        for (int f = 0; f < nf; f++)
            fixed |= fix[f] == c;
        if (!fixed) {
            if (c == bcoord)
                bq = a;
            q[a++] = c;
        }
    }
    const double alpha = s->opt->alpha;
    const als_kernel_t kern = s->opt->kernel;
    const int implicit = s->opt->implicit, use_cg = s->opt->solver == ALS_SOLVER_CG;
    double zero_diag[4096 + 3] = {0};
    int64_t bad = INT64_MAX;
    int bad_info = 0;
    als_rsum_init(sse);
    als_rsum_init(sse_bound);
    double tg = 0.0, ts = 0.0, t0 = omp_get_wtime();
    /* --row-costs: each row's seconds (forming, its share of its batch's
     * solve, its residual pass; n×n and CG rows whole) into rc[t]. */
    double *const rc = s->rowcost_cur;
    /* --implicit rows on the n×n route: M = G + reg I factored once (the
     * same bits on every rank: G is reduced exactly, the factorization is
     * a fixed loop); if it fails, every row goes k×k (which fails too). */
    double *iL = NULL;
    if (implicit && G && implicit_route_on(s)) {
        iL = malloc(2 * (size_t)k * (size_t)k * sizeof *iL);
        if (!iL)
            ALS_ABORT("out of memory for the implicit route's factor (k = %d)", k);
        if (als_woodbury_implicit_factor(k, G, reg, iL) != 0) {
            free(iL);
            iL = NULL;
        }
    }
    /* Rows are taken in chunks of ALS_SOLVE_CHUNK: each Cholesky row's
     * system is formed, then the chunk's systems are solved together by
     * als_solve_spd_batch (one per SIMD lane; a system's solution does not
     * depend on its chunk or lane, so the results stay the same for every
     * P and thread count), then each row's residual pass runs. --kernel ref
     * solves each system with als_solve_spd; CG rows are solved as formed.
     * Rows on the n×n route (als_woodbury.h) are solved as formed too, so a
     * chunk runs until it has ALS_SOLVE_CHUNK rows on the k×k route (at most
     * 32 ALS_SOLVE_CHUNK rows): otherwise the few k×k rows among many short
     * ones would leave the batches' SIMD lanes mostly empty. */
    int64_t *cstart = malloc((size_t)(nrows / ALS_SOLVE_CHUNK + 2) * sizeof *cstart);
    if (!cstart)
        ALS_ABORT("out of memory for the chunks of %" PRId64 " rows", nrows);
    int64_t nchunk = 0;
    for (int64_t t = 0, nk = 0, c0 = 0; t < nrows; t++) {
        const int64_t nt = ptr[t + 1] - ptr[t];
        const int hot = hot_slot && hot_slot[t] >= 0;
        const double degt = wptr ? deg[t] : 0.0, c = row_shift(s, reg, nt, degt);
        nk += use_cg || hot ||
              !(woodbury_row(s, nt, c, bias_diag(s, c, alpha * degt)) ||
                (iL && implicit_route_row(s, nt, alpha * degt)));
        if (t == c0)
            cstart[nchunk++] = c0;
        if (nk == ALS_SOLVE_CHUNK || t + 1 - c0 == 32 * ALS_SOLVE_CHUNK)
            c0 = t + 1, nk = 0;
    }
    cstart[nchunk] = nrows;
    const int64_t sys_sz = (int64_t)kr * kr + kr; /* one batched system: A, then x */
    const int lanes = als_solve_batch_lanes(kern);
    const int64_t batch_bytes = ALS_BATCH_BYTES;
    /* CG: rows of at most npanel ratings are gathered into a per-thread panel
     * (none when U and V are on huge pages: the steps read them in place). */
    const int64_t npanel = use_cg && !s->huge ? (s->maxrow < ALS_CG_PANEL ? s->maxrow : ALS_CG_PANEL)
                                              : 0;
    /* --implicit k×k rows with the fast kernels: rows of at most nipanel
     * entries are formed by the fast Gram over a per-thread panel of the
     * rows sqrt(c - 1) y (at most 4 MiB, at least 256 rows); longer ones by
     * the plain loops of als_implicit_normal_eq. */
    const int64_t irows = ((int64_t)4 << 20) / (8 * (int64_t)k), icap = irows > 256 ? irows : 256;
    const int64_t nipanel = implicit && !use_cg && kern == ALS_KERNEL_FAST
                                ? (s->maxrow < icap ? s->maxrow : icap)
                                : 0;
#pragma omp parallel reduction(+ : tg, ts)
    {
        double *A = malloc((size_t)k * k * sizeof *A); /* forming with --bias */
        double *ws = malloc((size_t)(als_gram_ws_size(k) + 1) * sizeof *ws);
        double *As = malloc((size_t)(ALS_SOLVE_CHUNK * sys_sz) * sizeof *As);
        double *bws = malloc((size_t)(als_solve_batch_ws_size(kr) + 1) * sizeof *bws);
        double *panel = malloc((size_t)(npanel * k + 1) * sizeof *panel);
        double *ipanel = malloc((size_t)(nipanel * k + 1) * sizeof *ipanel);
        int64_t *iota = malloc((size_t)(nipanel + 1) * sizeof *iota);
        for (int64_t t = 0; iota && t < nipanel; t++)
            iota[t] = t;
        double *wws = malloc((size_t)(iL ? als_woodbury_implicit_ws_size(k, k)
                                      : !woodbury_on(s) ? 1
                                      : nf ? als_woodbury_fixed_ws_size(kr, kr)
                                           : als_woodbury_ws_size(k, k)) * sizeof *wws);
        /* --implicit: each row's c - 1 and c p; CG: b, diag and its ws. */
        double *wt = malloc((size_t)(2 * s->maxrow + 5 * k + 2) * sizeof *wt);
        double *coef = wt + s->maxrow, *cgb = coef + s->maxrow, *cgd = cgb + k, *cgws = cgd + k;
        const double *Ap[ALS_SOLVE_CHUNK];
        double *bp[ALS_SOLVE_CHUNK];
        int binfo[ALS_SOLVE_CHUNK];
        als_rsum_t my_sse, my_bound;
        als_rsum_init(&my_sse);
        als_rsum_init(&my_bound);
        if (!A || !ws || !As || !bws || !wt || !panel || !wws || !ipanel || !iota)
            ALS_ABORT("out of memory for the per-thread workspace (k = %d)", k);
#pragma omp for schedule(dynamic, 1)
        for (int64_t ch = 0; ch < nchunk; ch++) {
            const int64_t r0 = cstart[ch];
            const int nr = (int)(cstart[ch + 1] - r0);
            int ns = 0;          /* systems pending in the batch */
            int64_t pend_n = 0;  /* their ratings: the factor rows their residuals read */
            int64_t prow[ALS_SOLVE_CHUNK];
            /* Timers per chunk and per batch, not per row (at k = 16 the
             * clock reads cost 2% of an iteration): the chunk's time minus
             * its batch solves is forming time; with CG all of it is
             * solve time. */
            const double tc0 = omp_get_wtime(), ts0 = ts;
            for (int j = 0; j <= nr; j++) {
                /* Solve the pending systems in one batch and run their
                 * residual passes while the rows they read are still in
                 * cache: at the end of the chunk, or at a whole group of
                 * lanes when the next row would take the rows read past
                 * batch_bytes. */
                const int64_t nt_next = j < nr ? ptr[r0 + j + 1] - ptr[r0 + j] : 0;
                if (ns > 0 && (j == nr || (ns % lanes == 0 &&
                                           (pend_n + nt_next) * k * 8 > batch_bytes))) {
                    double c1 = omp_get_wtime();
                    if (kern == ALS_KERNEL_REF) /* the oracle: one LAPACK solve per row */
                        for (int i = 0; i < ns; i++)
                            binfo[i] = als_solve_spd(kern, kr, (double *)Ap[i], bp[i]);
                    else
                        als_solve_spd_batch(kern, kr, ns, Ap, bp, binfo, bws);
                    if (rc) {
                        const double share = (omp_get_wtime() - c1) / ns;
                        for (int i = 0; i < ns; i++)
                            rc[prow[i]] += share;
                    }
                    for (int i = 0; i < ns; i++) {
                        const int64_t t = prow[i];
                        double *b = out + t * k;
                        int info = binfo[i];
                        if (nf > 0) {
                            for (int a = 0; a < kr; a++)
                                b[q[a]] = bp[i][a];
                            for (int f = 0; f < nf; f++)
                                b[fix[f]] = fixval[f];
                        }
                        for (int c = 0; c < k && info == 0; c++)
                            if (!isfinite(b[c]))
                                info = -1;
                        /* The row's residuals against the rows it read:
                         * exact, no Sum r^2 - 2 x.b + x'Ax cancellation.
                         * Hot rows: hot_residuals, where the chunks are. */
                        const double r0t = rc ? omp_get_wtime() : 0.0;
                        if (info == 0 && !(hot_slot && hot_slot[t] >= 0))
                            row_residuals(s, ptr[t + 1] - ptr[t], val + ptr[t], idx + ptr[t], X,
                                          NULL, xnorm, xmax, b, &my_sse, &my_bound);
                        if (rc)
                            rc[t] += omp_get_wtime() - r0t;
                        if (info != 0)
                            note_failure(t, info, &bad, &bad_info);
                    }
                    ts += omp_get_wtime() - c1;
                    ns = 0;
                    pend_n = 0;
                }
                if (j == nr)
                    break;
                const int64_t t = r0 + j;
                double *b = out + t * k;
                const double f0 = rc ? omp_get_wtime() : 0.0;
                const int64_t nt = ptr[t + 1] - ptr[t];
                const int hot = hot_slot && hot_slot[t] >= 0;
                double shift = row_shift(s, reg, nt, 0.0);
                if (implicit) /* data checked >= 0 and finite at start-up */
                    als_implicit_weights(&s->opt->conf, nt, val + ptr[t], wt, coef);
                if (use_cg && !hot) { /* hot rows: the chunks' Gram and Cholesky */
                    double socdeg = wptr ? alpha * deg[t] : 0.0;
                    int info = cg_row(s, nt, idx + ptr[t], implicit ? coef : val + ptr[t],
                                      implicit ? wt : NULL, X, G, shift + socdeg, socdeg,
                                      wptr ? wptr[t] : 0, wptr ? wptr[t + 1] : 0, wcol, wval, Y,
                                      fix, bcoord, cur + t * k, b, cgb, cgd, cgws, panel,
                                      npanel);
                    for (int c = 0; c < k && info == 0; c++)
                        if (!isfinite(b[c]))
                            info = -1;
                    /* The residuals now, from the rows the steps just read
                     * (the panel, or X in place). */
                    if (info == 0)
                        row_residuals(s, nt, val + ptr[t], idx + ptr[t], X,
                                      nt <= npanel ? panel : NULL, xnorm, xmax, b,
                                      &my_sse, &my_bound);
                    else
                        note_failure(t, info, &bad, &bad_info);
                    if (rc)
                        rc[t] += omp_get_wtime() - f0;
                    continue;
                }
                const int iroute =
                    iL && !hot && implicit_route_row(s, nt, wptr ? alpha * deg[t] : 0.0);
                const double c = row_shift(s, reg, nt, wptr ? deg[t] : 0.0);
                const double dbias = bias_diag(s, c, wptr ? alpha * deg[t] : 0.0);
                if (iroute || (!hot && woodbury_row(s, nt, c, dbias))) {
                    /* An n×n route (als_woodbury.h): --implicit's on the
                     * shared factor, b as the k×k route's; or the explicit
                     * one, fewer ratings than factors, the social
                     * right-hand side in cgb. */
                    double c1 = omp_get_wtime();
                    int info;
                    if (iroute) {
                        als_cg_rhs(k, nt, idx + ptr[t], coef, X, cgb);
                        if (wptr)
                            add_social(k, alpha, wptr[t], wptr[t + 1], wcol, wval, Y, cgb);
                        info = als_woodbury_implicit_solve(k, nt, idx + ptr[t], X, wt, cgb, iL, b,
                                                           wws);
                    } else {
                        const double *sr = NULL;
                        if (wptr) {
                            memset(cgb, 0, (size_t)k * sizeof *cgb);
                            add_social(k, alpha, wptr[t], wptr[t + 1], wcol, wval, Y, cgb);
                            sr = cgb;
                        }
                        if (nf == 0) {
                            info = als_woodbury_solve(k, nt, idx + ptr[t], X, val + ptr[t], sr, c,
                                                      b, wws);
                        } else { /* --bias: the unknowns q, the bias's own diagonal */
                            const als_wb_coords_t co = {kr, q, nf, fix, fixval,
                                                        bcoord >= 0 && lbias >= 0 ? bq : -1,
                                                        dbias};
                            info = als_woodbury_solve_fixed(k, nt, idx + ptr[t], X, val + ptr[t],
                                                            sr, &co, c, b, wws);
                        }
                    }
                    if (info == 0)
                        row_residuals(s, nt, val + ptr[t], idx + ptr[t], X, NULL, xnorm, xmax, b,
                                      &my_sse, &my_bound);
                    else
                        note_failure(t, info, &bad, &bad_info);
                    ts += omp_get_wtime() - c1;
                    if (rc)
                        rc[t] += omp_get_wtime() - f0;
                    continue;
                }
                /* Without fixed coordinates the system is formed in place in
                 * the batch; with them in A, then reduced into the batch. */
                double *Sa = As + ns * sys_sz, *Am = nf == 0 ? Sa : A;
                if (hot) { /* the chunks' sum, added in chunk order by hot_gram */
                    const double *h = hotA + hot_slot[t] * ((int64_t)k * k + k);
                    memcpy(Am, h, (size_t)k * k * sizeof *Am);
                    memcpy(b, h + k * k, (size_t)k * sizeof *b);
                } else if (implicit && nt <= nipanel) { /* the same by the fast Gram */
                    als_implicit_normal_eq_fast(k, nt, idx + ptr[t], X, wt, coef, G, ipanel, iota,
                                                ws, Am, b);
                } else if (implicit) { /* G + sum (c-1) y y', b = sum c p y (social below) */
                    als_implicit_normal_eq(k, nt, idx + ptr[t], X, wt, coef, G, zero_diag, 0,
                                           NULL, NULL, 0.0, NULL, Am, b);
                } else {
                    als_gram_rhs(kern, k, nt, idx + ptr[t], val + ptr[t], X, Am, b, ws, s->huge);
                }
                if (wptr) {
                    shift += alpha * deg[t];
                    add_social(k, alpha, wptr[t], wptr[t + 1], wcol, wval, Y, b);
                }
                for (int c = 0; c < k; c++)
                    Am[c * k + c] += shift;
                if (bcoord >= 0 && lbias >= 0) /* the bias: its own plain lambda */
                    Am[bcoord * k + bcoord] += lbias - (shift - (wptr ? alpha * deg[t] : 0.0));
                if (nf == 0) {
                    bp[ns] = b;
                } else {
                    /* Drop the constant coordinates: unknowns q, right-hand
                     * side minus the constant columns times their values. */
                    double *Ar = Sa, *xr = Sa + (int64_t)kr * kr;
                    for (int a = 0; a < kr; a++) {
                        for (int c = a; c < kr; c++)
                            Ar[a * kr + c] = A[q[a] * k + q[c]];
                        double r = b[q[a]];
                        for (int f = 0; f < nf; f++) {
                            int lo = q[a] < fix[f] ? q[a] : fix[f], hi = q[a] ^ fix[f] ^ lo;
                            r -= A[lo * k + hi] * fixval[f];
                        }
                        xr[a] = r;
                    }
                    bp[ns] = xr;
                }
                Ap[ns] = Sa;
                if (rc)
                    rc[t] += omp_get_wtime() - f0;
                prow[ns++] = t;
                if (!hot)
                    pend_n += nt;
            }
            const double dt = omp_get_wtime() - tc0;
            if (use_cg)
                ts = ts0 + dt;
            else
                tg += dt - (ts - ts0);
        }
#pragma omp critical
        {
            als_rsum_merge(sse, &my_sse);
            als_rsum_merge(sse_bound, &my_bound);
        }
        free(A);
        free(ws);
        free(As);
        free(bws);
        free(panel);
        free(ipanel);
        free(iota);
        free(wws);
        free(wt);
    }
    free(cstart);
    free(iL);
    /* Split the loop's wall time between gram and solve by their CPU shares. */
    double wall = omp_get_wtime() - t0;
    double share = (tg + ts) > 0 ? tg / (tg + ts) : 0.5;
    s->timers[ALS_T_GRAM] += wall * share;
    s->timers[ALS_T_SOLVE] += wall * (1.0 - share);
    *info_out = bad_info;
    return bad == INT64_MAX ? -1 : bad;
}

/* Agree on a factorization failure, naming the raw id of the row (ids: the
 * rank's own id slice). */
static int check_failure(als_solver_t *s, int64_t bad, int info, const char *what,
                         const uint64_t *ids, int64_t nratings, const char *opt, als_err_t *err)
{
    if (bad >= 0) {
        if (info < 0)
            als_err_set(err, ALS_ERR_NUMERIC, "%s %" PRIu64 ": normal equations or their solution "
                        "hold NaN/Inf (diverged or non-finite input; try a larger %s)", what,
                        ids[bad], opt);
        else
            als_err_set(err, ALS_ERR_NUMERIC,
                        "%s %" PRIu64 " (%" PRId64 " ratings): normal-equation matrix is not "
                        "positive definite (leading minor %d); increase %s", what,
                        ids[bad], nratings, info, opt);
    }
    return als_err_agree(s->comm, err);
}

/* Where a half-step writes its new rows: the own block, or the view's own
 * slots when solved in place. */
static double *new_rows(const als_solver_t *s, int which)
{
    if (which)
        return s->v_inplace ? s->V + s->pv.own_slot * s->k : s->vblk;
    return s->u_inplace ? s->U + s->pu.own_slot * s->k : s->ublk;
}

/* Copy the own block into the view and move it to the readers. The view
 * of that side changes: its Gram (--implicit) and kept loss terms no longer
 * match it. */
static int exchange(als_solver_t *s, int which, als_err_t *err)
{
    const als_data_t *d = s->data;
    double t0 = MPI_Wtime();
    int rc;
    if (which)
        s->gv_ok = s->vterm_ok = 0;
    else
        s->gu_ok = s->uterm_ok = 0;
    if (s->mode == ALS_EXCH_NEIGHBOR)
        rc = which == 0 ? als_ghost_exchange(&s->pu, new_rows(s, 0), s->U, s->k, s->sendbuf)
                        : als_ghost_exchange(&s->pv, new_rows(s, 1), s->V, s->k, s->sendbuf);
    else if (s->mode == ALS_EXCH_SHARED)
        rc = als_shm_exchange(&s->shm, which, s->k, which ? d->ibeg : d->ubeg,
                              (which ? s->v_inplace : s->u_inplace) ? NULL : new_rows(s, which));
    else
        rc = which == 0 ? als_allgather_rows(s->comm, new_rows(s, 0), s->U, s->k, d->ubeg)
                        : als_allgather_rows(s->comm, new_rows(s, 1), s->V, s->k, d->ibeg);
    s->timers[ALS_T_EXCHANGE] += MPI_Wtime() - t0;
    /* Count what arrived: ghost rows, or every row but the own block. */
    const als_ghost_plan_t *g = which ? &s->pv : &s->pu;
    int64_t rows = 0;
    if (s->mode == ALS_EXCH_NEIGHBOR)
        for (int q = 0; q < g->nsrc; q++)
            rows += g->recv_cnt[q];
    else if (s->mode == ALS_EXCH_SHARED) /* the blocks the bridge brought */
        rows = als_shm_peer_rows(&s->shm, which ? d->ibeg : d->ubeg);
    else
        rows = g->nview - (g->own1 - g->own0);
    s->bytes_received += (double)rows * (double)s->k * 8.0;
    s->nexchanges++;
    if (rc != MPI_SUCCESS)
        return als_err_set(err, ALS_ERR_MPI, "exchange of %s (%s) failed (MPI code %d)",
                           which ? "V" : "U", als_exchange_mode_name(s->mode), rc);
    return ALS_OK;
}

int als_solver_exchange(als_solver_t *s, int which, als_err_t *err)
{
    const als_ghost_plan_t *g = which ? &s->pv : &s->pu;
    double *blk = new_rows(s, which), *view = which ? s->V : s->U;
    if (blk != view + g->own_slot * s->k)
        memcpy(blk, view + g->own_slot * s->k,
               (size_t)((g->own1 - g->own0) * s->k) * sizeof *blk);
    exchange(s, which, err);
    return als_err_agree(s->comm, err);
}

/* Room for iteration it (1-based) in the history, grown as iterations run. */
static int hist_reserve(als_solver_t *s, int it, als_err_t *err)
{
    if (it <= s->hist_cap)
        return ALS_OK;
    int cap = s->hist_cap * 2 > it ? s->hist_cap * 2 : it;
    als_iter_t *h = realloc(s->hist, (size_t)cap * sizeof *h);
    if (!h)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the iteration history "
                           "(%d iterations)", cap);
    memset(h + s->hist_cap, 0, (size_t)(cap - s->hist_cap) * sizeof *h);
    s->hist = h;
    s->hist_cap = cap;
    return ALS_OK;
}

int als_solver_hist_reserve(als_solver_t *s, int it, als_err_t *err)
{
    return hist_reserve(s, it, err);
}

/* --implicit: make s->gu (which = 0: X'X of U) or s->gv (1: Y'Y of V)
 * match the current view. Collective (als_egram_allreduce over the owned
 * rows: the same bits on every rank, for every P and thread count). */
static int ensure_gram(als_solver_t *s, int which, als_err_t *err)
{
    int *ok = which ? &s->gv_ok : &s->gu_ok;
    if (!s->opt->implicit || *ok)
        return ALS_OK;
    double t0 = MPI_Wtime();
    const als_ghost_plan_t *g = which ? &s->pv : &s->pu;
    const double *own = (which ? s->V : s->U) + g->own_slot * s->k;
    int rc = als_egram_allreduce(s->comm, s->k, g->own1 - g->own0, own, which ? s->gv : s->gu);
    s->timers[ALS_T_GRAM] += MPI_Wtime() - t0;
    if (rc != 0)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the Gram matrix %s (k = %d)",
                           which ? "Y'Y" : "X'X", s->k);
    *ok = 1;
    return ALS_OK;
}

int als_solver_ustep(als_solver_t *s, als_err_t *err)
{
    const als_data_t *d = s->data;
    int info = 0;
    if (s->mode == ALS_EXCH_SHARED) /* every rank of the node done reading the old U */
        als_shm_fence(&s->shm);
    if (ensure_gram(s, 1, err) != ALS_OK) /* Y'Y of the V the users are solved against */
        return err->code;
    side_norms(s, 1);
    s->rowcost_cur = rowcost_slots(s, 0);
    int64_t bad = solve_rows(s, d->u1 - d->u0, d->uptr, s->ucol_s, d->uval, s->V, s->vnorm,
                             s->vmax, s->opt->lambda_u, d->wptr, s->wcol_s, d->wval, d->wdeg, s->U,
                             s->ufix, s->ufixval, s->opt->bias ? s->latent : -1, NULL, NULL,
                             s->U + s->pu.own_slot * s->k, s->opt->implicit ? s->gv : NULL,
                             new_rows(s, 0), &s->usse, &s->usse_bound, &info);
    int64_t nr = bad >= 0 ? d->uptr[bad + 1] - d->uptr[bad] : 0;
    if (check_failure(s, bad, info, "user", d->user_ids, nr, "--lambda-u", err))
        return err->code;
    exchange(s, 0, err);
    if (als_err_agree(s->comm, err) != ALS_OK)
        return err->code;
    return ensure_gram(s, 0, err); /* X'X of the new U: the V-step's and the loss's */
}

int als_solver_vstep(als_solver_t *s, als_err_t *err)
{
    const als_data_t *d = s->data;
    int info = 0;
    if (s->mode == ALS_EXCH_SHARED) /* every rank of the node done reading the old V */
        als_shm_fence(&s->shm);
    side_norms(s, 0);
    if (ensure_gram(s, 0, err) != ALS_OK)
        return err->code;
    if (hot_gram(s, err) != ALS_OK)
        return als_err_agree(s->comm, err);
    s->rowcost_cur = rowcost_slots(s, 1);
    int64_t bad = solve_rows(s, d->i1 - d->i0, d->iptr, s->irow_s, d->ival, s->U, s->unorm,
                             s->umax, s->opt->lambda_v, NULL, NULL, NULL, NULL, NULL, s->vfix, s->vfixval,
                             s->opt->bias ? s->latent + 1 : -1, s->hot_slot, s->hotA,
                             s->V + s->pv.own_slot * s->k, s->opt->implicit ? s->gu : NULL,
                             new_rows(s, 1), &s->vsse, &s->vsse_bound, &info);
    int64_t nr = bad >= 0 ? d->iptr[bad + 1] - d->iptr[bad] : 0;
    if (check_failure(s, bad, info, "item", d->item_ids, nr, "--lambda-v", err))
        return err->code;
    exchange(s, 1, err);
    if (als_err_agree(s->comm, err) != ALS_OK)
        return err->code;
    hot_residuals(s);
    return ensure_gram(s, 1, err);
}

/* The regularization term of one row, lambda included: lambda * w * |x|^2
 * over the updated coordinates (w = the row's rating count with
 * --lambda-scale=count, else 1), with the bias coordinate (index bcoord)
 * under --lambda-bias when that is set. */
static double row_reg(const als_solver_t *s, const double *x, int64_t nratings, double lambda,
                      const int *fix, int bcoord)
{
    const int k = s->k;
    const double lb = s->opt->lambda_bias;
    double r = 0.0, rb = 0.0;
    for (int c = 0; c < k; c++) {
        if (s->nfixed && (c == fix[0] || c == fix[1]))
            continue;
        if (s->opt->bias && c == bcoord && lb >= 0)
            rb += x[c] * x[c];
        else
            r += x[c] * x[c];
    }
    double w = s->opt->lambda_count && nratings > 0 ? (double)nratings : 1.0;
    return lambda * w * r + (lb >= 0 ? lb : 0.0) * rb;
}

/* --implicit: tr = sum_{u,i} (x_u'y_i)^2 = sum_{a,b} (X'X)_ab (Y'Y)_ab from the
 * reduced Grams (identical on every rank: a fixed-order sum), and a bound
 * on its rounding error: each Gram entry is within 2u sqrt(G_aa G_bb) of the
 * exact sum of products (each product rounded once, the total once; Cauchy-
 * Schwarz), and the k^2-term sum adds (k^2 + 2) u sum |products|. Local. */
static void implicit_trace(const als_solver_t *s, double *tr, double *bound)
{
    const int k = s->k;
    const double *A = s->gu, *B = s->gv, u = 0x1p-53;
    double t = 0.0, abs_sum = 0.0, gerr = 0.0;
    for (int a = 0; a < k; a++)
        for (int c = 0; c < k; c++) {
            double x = A[a * k + c], y = B[a * k + c];
            t += x * y;
            abs_sum += fabs(x * y);
            gerr += 2.0 * u * (sqrt(fabs(A[a * k + a] * A[c * k + c])) * fabs(y) +
                               sqrt(fabs(B[a * k + a] * B[c * k + c])) * fabs(x));
        }
    *tr = t;
    *bound = (double)(k * k + 2) * u * abs_sum + 1.01 * gerr;
}

/* The loss, with the squared errors taken from (mode) a direct pass over
 * the ratings (LOSS_DIRECT), the users' rows of the last U-step
 * (LOSS_AFTER_U) or the items' rows of the last V-step (LOSS_AFTER_V).
 * Each row's squared residuals are summed in rating order and that sum is
 * added exactly: LOSS_DIRECT and LOSS_AFTER_U sum the same user rows, so
 * they give the same bits; LOSS_AFTER_V sums the same terms by item rows,
 * equal to rounding (within the two bounds), and the same bits for every P.
 * Per-row terms (social, regularization) are added exactly too, then all is
 * reduced over ranks exactly: nothing O(m + n) per rank. After a half-step
 * the other side's terms are this rank's sums kept from the last
 * evaluation (uterm, vterm), unless that side changed since: exact sums of
 * the same terms, so the same bits as recomputing them. */
enum { LOSS_DIRECT, LOSS_AFTER_U, LOSS_AFTER_V };
static void loss_eval(als_solver_t *s, int mode, als_loss_t *L)
{
    double t0 = MPI_Wtime();
    const als_data_t *d = s->data;
    const int k = s->k;
    const int64_t nu = d->u1 - d->u0, ni = d->i1 - d->i0;
    /* sse, social, reg_u, reg_v, sse bound */
    als_rsum_t acc[5];
    for (int c = 0; c < 5; c++)
        als_rsum_init(&acc[c]);
    const int implicit = s->opt->implicit;
    if (implicit) { /* the all-pairs term sum (x'y)^2 = <X'X, Y'Y>, once (rank 0) */
        als_err_t e;
        als_err_clear(&e);
        if (ensure_gram(s, 0, &e) != ALS_OK || ensure_gram(s, 1, &e) != ALS_OK)
            ALS_ABORT("%s", e.msg);
        double tr, trb;
        implicit_trace(s, &tr, &trb);
        if (s->rank == 0) {
            als_rsum_add(&acc[0], tr);
            als_rsum_add(&acc[4], trb);
        }
    }
    if (mode == LOSS_DIRECT) {
        side_norms(s, 1);
    } else {
        als_rsum_merge(&acc[0], mode == LOSS_AFTER_U ? &s->usse : &s->vsse);
        als_rsum_merge(&acc[4], mode == LOSS_AFTER_U ? &s->usse_bound : &s->vsse_bound);
    }
    /* A side's terms are recomputed unless kept (always, directly). */
    const int keep = mode != LOSS_DIRECT;
    const int do_u = !(keep && s->uterm_ok), do_v = !(keep && s->vterm_ok);
    const int64_t nu_pass = do_u ? nu : 0, ni_pass = do_v ? ni : 0;
#pragma omp parallel
    {
        als_rsum_t my[5];
        for (int c = 0; c < 5; c++)
            als_rsum_init(&my[c]);
#pragma omp for schedule(dynamic, 64)
        for (int64_t t = 0; t < nu_pass; t++) {
            const double *u = s->U + (s->pu.own_slot + t) * k;
            if (mode == LOSS_DIRECT)
                row_residuals(s, d->uptr[t + 1] - d->uptr[t], d->uval + d->uptr[t],
                              s->ucol_s + d->uptr[t], s->V, NULL, s->vnorm, s->vmax, u, &my[0],
                              &my[4]);
            double soc = 0.0;
            for (int64_t x = d->wptr[t]; x < d->wptr[t + 1]; x++)
                soc += d->wval[x] * dist2(u, s->U + s->wcol_s[x] * k, k);
            als_rsum_add(&my[1], 0.5 * soc); /* W counts every link from both ends */
            als_rsum_add(&my[2], row_reg(s, u, d->uptr[t + 1] - d->uptr[t], s->opt->lambda_u,
                                         s->ufix, s->latent));
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < ni_pass; t++)
            als_rsum_add(&my[3], row_reg(s, s->V + (s->pv.own_slot + t) * k,
                                         d->iptr[t + 1] - d->iptr[t], s->opt->lambda_v, s->vfix,
                                         s->latent + 1));
#pragma omp critical
        for (int c = 0; c < 5; c++)
            als_rsum_merge(&acc[c], &my[c]);
    }
    if (!do_u) {
        acc[1] = s->uterm[0];
        acc[2] = s->uterm[1];
    } else if (keep) {
        s->uterm[0] = acc[1];
        s->uterm[1] = acc[2];
        s->uterm_ok = 1;
    }
    if (!do_v)
        acc[3] = s->vterm;
    else if (keep) {
        s->vterm = acc[3];
        s->vterm_ok = 1;
    }
    als_rsum_allreduce(s->comm, acc, 5);
    L->sse = als_rsum_value(&acc[0]);
    L->social = als_rsum_value(&acc[1]);
    L->reg_u = als_rsum_value(&acc[2]);
    L->reg_v = als_rsum_value(&acc[3]);
    L->total = 0.5 * L->sse + 0.5 * s->opt->alpha * L->social + 0.5 * L->reg_u + 0.5 * L->reg_v;
    /* Rounding-error bound of L: the squared errors' bound, relative
     * (k + 4) u for the sums of positive per-row terms, and the final
     * combination. */
    const double u = 0x1p-53;
    s->loss_bound = 0.5 * als_rsum_value(&acc[4]) +
                    (double)(k + 4) * u * (0.5 * s->opt->alpha * L->social + 0.5 * L->reg_u +
                                           0.5 * L->reg_v) + 4.0 * u * fabs(L->total);
    s->timers[ALS_T_EVALUATE] += MPI_Wtime() - t0;
}

void als_solver_loss(als_solver_t *s, als_loss_t *L)
{
    loss_eval(s, LOSS_DIRECT, L);
}

void als_solver_loss_after(als_solver_t *s, int after_vstep, als_loss_t *L)
{
    loss_eval(s, after_vstep ? LOSS_AFTER_V : LOSS_AFTER_U, L);
}

static double clip(double p, double lo, double hi) { return p < lo ? lo : (p > hi ? hi : p); }

void als_solver_test(const als_solver_t *s, const als_testset_t *t, double *rmse, double *mae)
{
    if (!t || t->n == 0) {
        *rmse = *mae = NAN;
        return;
    }
    const int k = s->k;
    als_rsum_t se, ae;
    als_rsum_init(&se);
    als_rsum_init(&ae);
    for (int64_t x = 0; x < t->n; x++) {
        double p = clip(dot(s->U + t->u[x] * k, s->V + t->i[x] * k, k), s->data->rmin,
                        s->data->rmax);
        double e = t->r[x] - p;
        als_rsum_add(&se, e * e);
        als_rsum_add(&ae, fabs(e));
    }
    *rmse = sqrt(als_rsum_value(&se) / (double)t->n);
    *mae = als_rsum_value(&ae) / (double)t->n;
}

void als_solver_test_dist(als_solver_t *s, als_testmetrics_t *m)
{
    double t0 = MPI_Wtime();
    const als_data_t *d = s->data;
    const int k = s->k, kb = s->latent; /* with --bias, V[j][kb + 1] = c_j */
    /* headline se, ae; cold se, ae, mean-baseline se, item-bias se */
    als_rsum_t a[6];
    for (int c = 0; c < 6; c++)
        als_rsum_init(&a[c]);
    int64_t cnt[2] = {0, 0};
    /* Threads over the test pairs: the sums are exact, so the same bits
     * for every thread count. */
#pragma omp parallel
    {
        als_rsum_t my[6];
        int64_t mc[2] = {0, 0};
        for (int c = 0; c < 6; c++)
            als_rsum_init(&my[c]);
#pragma omp for schedule(static)
        for (int64_t x = 0; x < s->ntest; x++) {
            int64_t t = s->test_u[x];
            const double *u = s->U + (s->pu.own_slot + t) * k, *v = s->V + s->test_v[x] * k;
            double e = s->test_r[x] - clip(dot(u, v, k), d->rmin, d->rmax);
            if (d->uptr[t + 1] > d->uptr[t]) {
                als_rsum_add(&my[0], e * e);
                als_rsum_add(&my[1], fabs(e));
                mc[0]++;
            } else {
                double em = s->test_r[x] - d->rmean;
                als_rsum_add(&my[2], e * e);
                als_rsum_add(&my[3], fabs(e));
                als_rsum_add(&my[4], em * em);
                if (s->opt->bias) {
                    double eb = s->test_r[x] - clip(d->rmean + v[kb + 1], d->rmin, d->rmax);
                    als_rsum_add(&my[5], eb * eb);
                }
                mc[1]++;
            }
        }
#pragma omp critical
        {
            for (int c = 0; c < 6; c++)
                als_rsum_merge(&a[c], &my[c]);
            cnt[0] += mc[0];
            cnt[1] += mc[1];
        }
    }
    als_rsum_allreduce(s->comm, a, 6);
    MPI_Allreduce(MPI_IN_PLACE, cnt, 2, MPI_INT64_T, MPI_SUM, s->comm);
    m->n = cnt[0];
    m->cold_n = cnt[1];
    double n0 = (double)cnt[0], n1 = (double)cnt[1];
    m->rmse = cnt[0] ? sqrt(als_rsum_value(&a[0]) / n0) : NAN;
    m->mae = cnt[0] ? als_rsum_value(&a[1]) / n0 : NAN;
    m->cold_rmse = cnt[1] ? sqrt(als_rsum_value(&a[2]) / n1) : NAN;
    m->cold_mae = cnt[1] ? als_rsum_value(&a[3]) / n1 : NAN;
    m->cold_mean_rmse = cnt[1] ? sqrt(als_rsum_value(&a[4]) / n1) : NAN;
    m->cold_item_bias_rmse = cnt[1] && s->opt->bias ? sqrt(als_rsum_value(&a[5]) / n1) : NAN;
    s->timers[ALS_T_EVALUATE] += MPI_Wtime() - t0;
}

/* Record a half-step's loss against the previous one. The check allows the
 * two evaluations' rounding-error bounds (loss_eval), nothing more; a
 * non-finite loss is never a pass. */
static void check_increase(als_solver_t *s, double before, double before_bound, double after,
                           double after_bound)
{
    if (!isfinite(after) || !isfinite(before)) {
        s->nonfinite++;
        return;
    }
    double rel = (after - before) / (fabs(before) > 1e-300 ? fabs(before) : 1e-300);
    if (rel > s->max_increase)
        s->max_increase = rel;
    if (after - before > before_bound + after_bound)
        s->increases++;
}

int als_solver_run(als_solver_t *s, const als_testset_t *test, FILE *out, als_err_t *err)
{
    const als_options_t *o = s->opt;
    const int have_test = o->test[0] != '\0';
    (void)test;
    double prev, prev_bound;
    int first = 1;
    if (s->resumed) { /* --resume: state restored by als_ckpt_restore */
        first = als_ckpt_resume_point(s, &prev);
        als_loss_t L;
        als_solver_loss(s, &L); /* the restored state's bound (and a consistency check) */
        prev_bound = s->loss_bound;
    } else {
        als_solver_loss(s, &s->initial);
        prev = s->initial.total;
        prev_bound = s->loss_bound;
        s->max_increase = -INFINITY;
        if (!isfinite(prev))
            s->nonfinite++;
    }
    if (out && s->rank == 0) {
        fprintf(out, "initial loss: %.10e\n", s->initial.total);
        if (!o->quiet && s->rk) {
            char h[4][24];
            const char *nm[4] = {"prec", "recall", "ndcg", "map"};
            for (int c = 0; c < 4; c++)
                snprintf(h[c], sizeof h[c], "%s@%d", nm[c], o->top_n);
            fprintf(out, "%5s %18s %12s %10s %10s %10s %10s %10s\n", "iter", "loss", "train_wrms",
                    h[0], h[1], h[2], h[3], "seconds");
        } else if (!o->quiet)
            fprintf(out, "%5s %18s %12s %12s %12s %10s\n", "iter", "loss", "train_rmse",
                    "test_rmse", "test_mae", "seconds");
        fflush(out);
    }
    for (int it = first; it <= o->iters; it++) {
        double t0 = MPI_Wtime();
        int rc = hist_reserve(s, it, err);
        if (als_err_agree(s->comm, err) != ALS_OK)
            return rc ? rc : err->code;
        als_iter_t *h = &s->hist[it - 1];
        h->iter = it;
        if (s->rowcost) { /* --row-costs: this iteration's slots */
            if (s->rowcost_lo == 0)
                s->rowcost_lo = it;
            s->rowcost_hi = it;
        }
        if (als_solver_ustep(s, err) != ALS_OK)
            return err->code;
        als_ckpt_fault_point(s->rank, it); /* fault-test hooks (environment) */
        als_loss_t lu;
        als_solver_loss_after(s, 0, &lu);
        double lu_bound = s->loss_bound;
        h->loss_half = lu.total;
        check_increase(s, prev, prev_bound, lu.total, lu_bound);
        if (als_solver_vstep(s, err) != ALS_OK)
            return err->code;
        als_solver_loss_after(s, 1, &h->loss);
        check_increase(s, lu.total, lu_bound, h->loss.total, s->loss_bound);
        /* --implicit: the confidence-weighted RMS over all m n pairs */
        h->train_rmse = sqrt(h->loss.sse / (o->implicit ? (double)s->data->m * (double)s->data->n
                                                         : (double)s->data->nnz));
        h->test_rmse = h->test_mae = NAN;
        h->rank_prec = h->rank_recall = h->rank_ndcg = h->rank_map = NAN;
        if (have_test && s->rk) { /* --implicit: ranking metrics, no RMSE */
            als_rank_result_t rr;
            if (als_rankeval_run(s, &rr, err) != ALS_OK)
                return err->code;
            h->rank_prec = rr.precision;
            h->rank_recall = rr.recall;
            h->rank_ndcg = rr.ndcg;
            h->rank_map = rr.map;
            h->rank_users = rr.users;
            h->rank_norel = rr.no_relevant;
        } else if (have_test) {
            als_testmetrics_t tm;
            als_solver_test_dist(s, &tm);
            h->test_rmse = tm.rmse;
            h->test_mae = tm.mae;
            if (tm.n && (!isfinite(tm.rmse) || !isfinite(tm.mae)))
                s->nonfinite++;
        }
        if (!isfinite(h->train_rmse))
            s->nonfinite++;
        h->seconds = MPI_Wtime() - t0;
        /* Every rank reports rank 0's wall time. */
        MPI_Bcast(&h->seconds, 1, MPI_DOUBLE, 0, s->comm);
        s->niters = it;
        if (out && s->rank == 0 && !o->quiet) {
            if (s->rk)
                fprintf(out, "%5d %18.10e %12.6f %10.6f %10.6f %10.6f %10.6f %10.4f\n", it,
                        h->loss.total, h->train_rmse, h->rank_prec, h->rank_recall,
                        h->rank_ndcg, h->rank_map, h->seconds);
            else if (have_test && isfinite(h->test_rmse))
                fprintf(out, "%5d %18.10e %12.6f %12.6f %12.6f %10.4f\n", it, h->loss.total,
                        h->train_rmse, h->test_rmse, h->test_mae, h->seconds);
            else /* no test set, or no pair to score: no number to show */
                fprintf(out, "%5d %18.10e %12.6f %12s %12s %10.4f\n", it, h->loss.total,
                        h->train_rmse, "-", "-", h->seconds);
            fflush(out);
        }
        if (als_ckpt_after_iter(s, it, err) != ALS_OK)
            return err->code;
        double decrease = (prev - h->loss.total) / (fabs(prev) > 1e-300 ? fabs(prev) : 1e-300);
        prev = h->loss.total;
        prev_bound = s->loss_bound;
        if (o->tol > 0 && decrease < o->tol) {
            if (out && s->rank == 0)
                fprintf(out, "stopping: relative loss decrease %.3e < --tol %g\n", decrease, o->tol);
            break;
        }
    }
    return ALS_OK;
}
