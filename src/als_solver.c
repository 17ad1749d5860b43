/* als_solver.c - the ALS half-steps, the loss and the iteration loop. */
#include "als_solver.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "als_checkpoint.h"
#include "als_exchange.h"
#include "als_kernels.h"
#include "als_npy.h"

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Dot product with 8 independent partial sums (a fixed order, so the same
 * bits on every rank; 8 chains hide the FMA latency that one chain exposes). */
static inline double dot(const double *a, const double *b, int k)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int c = 0;
    for (; c + 8 <= k; c += 8)
        for (int l = 0; l < 8; l++)
            s[l] += a[c + l] * b[c + l];
    for (; c < k; c++)
        s[c & 7] += a[c] * b[c];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
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

/* x'Ax for symmetric A given by its upper triangle (row-major k×k). */
static double quad_upper(const double *A, const double *x, int k)
{
    double s = 0.0;
    for (int p = 0; p < k; p++) {
        const double *a = A + p * k;
        double off = 0.0;
        for (int q = p + 1; q < k; q++)
            off += a[q] * x[q];
        s += x[p] * (a[p] * x[p] + 2.0 * off);
    }
    return s;
}

double als_init_value(uint64_t seed, int which, int64_t t, int c, int k)
{
    /* splitmix64 keyed by the seed and the matrix, counter = t*k + c. */
    uint64_t key = mix64(seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(which + 1));
    uint64_t z = mix64(key + 0x9e3779b97f4a7c15ULL * ((uint64_t)t * (uint64_t)k + (uint64_t)c + 1));
    return (double)(z >> 11) * 0x1.0p-53 / sqrt((double)k);
}

/* Rank 0 reads one --init-* file (rows × k) and checks its shape; then
 * broadcast into the first k columns of the width-wide rows of dst. */
static int read_init(MPI_Comm comm, int rank, const char *path, const char *what, int64_t rows,
                     int k, int width, double *dst, als_err_t *err)
{
    if (rank == 0) {
        double *a = NULL;
        int64_t r = 0, c = 0;
        if (als_npy_read(path, &a, &r, &c, err) == ALS_OK) {
            if (r != rows || c != k)
                als_err_set(err, ALS_ERR_DATA,
                            "%s: shape (%" PRId64 ", %" PRId64 "), expected (%" PRId64
                            ", %d) (%s x --rank)", path, r, c, rows, k, what);
            else {
                for (int64_t x = 0; x < r * c; x++)
                    if (!isfinite(a[x])) {
                        als_err_set(err, ALS_ERR_DATA, "%s: element %" PRId64
                                    " is not finite", path, x);
                        break;
                    }
                if (err->code == ALS_OK)
                    for (int64_t t = 0; t < rows; t++)
                        memcpy(dst + t * width, a + t * k, (size_t)k * sizeof *dst);
            }
        }
        free(a);
    }
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    als_bcast_big(comm, dst, rows * width, MPI_DOUBLE, 0);
    return ALS_OK;
}

int als_solver_init(MPI_Comm comm, const als_options_t *opt, const als_data_t *data,
                    als_solver_t *s, als_err_t *err)
{
    memset(s, 0, sizeof *s);
    s->comm = comm;
    MPI_Comm_rank(comm, &s->rank);
    MPI_Comm_size(comm, &s->nranks);
    s->opt = opt;
    s->data = data;
    s->latent = opt->rank_k;
    s->k = opt->rank_k + (opt->bias ? 3 : 0);
    if (opt->bias) {
        int k0 = opt->rank_k;
        s->nfixed = 2;
        s->ufix[0] = k0 + 1; s->ufixval[0] = 1.0;          /* meets c_j */
        s->ufix[1] = k0 + 2; s->ufixval[1] = data->rmean;  /* mu, meets 1 */
        s->vfix[0] = k0;     s->vfixval[0] = 1.0;          /* meets b_i */
        s->vfix[1] = k0 + 2; s->vfixval[1] = 1.0;          /* meets mu */
    }
    s->threads = omp_get_max_threads();
    int64_t m = data->m, n = data->n, k = s->k;
    s->U = malloc((size_t)(m * k + 1) * sizeof(double));
    s->V = malloc((size_t)(n * k + 1) * sizeof(double));
    s->ublk = malloc((size_t)((data->u1 - data->u0) * k + 1) * sizeof(double));
    s->vblk = malloc((size_t)((data->i1 - data->i0) * k + 1) * sizeof(double));
    /* The history grows as iterations run (--iters may be 2^31 - 1). */
    s->hist_cap = opt->iters < 64 ? opt->iters + 1 : 64;
    s->hist = calloc((size_t)s->hist_cap, sizeof *s->hist);
    s->usse = malloc((size_t)(data->u1 - data->u0 + 1) * sizeof *s->usse);
    s->vsse = malloc((size_t)(data->i1 - data->i0 + 1) * sizeof *s->vsse);
    if (!s->U || !s->V || !s->ublk || !s->vblk || !s->hist || !s->usse || !s->vsse)
        als_err_set(err, ALS_ERR_NOMEM, "out of memory for the factors (%" PRId64 " x %" PRId64
                    " and %" PRId64 " x %" PRId64 " doubles)", m, k, n, k);
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    const int k0 = s->latent;
    if (opt->init_user[0]) {
        if (read_init(comm, s->rank, opt->init_user, "users", m, k0, s->k, s->U, err) ||
            read_init(comm, s->rank, opt->init_item, "items", n, k0, s->k, s->V, err))
            return err->code;
    } else {
#pragma omp parallel for schedule(static)
        for (int64_t t = 0; t < m; t++)
            for (int c = 0; c < k0; c++)
                s->U[t * k + c] = als_init_value(opt->seed, 0, t, c, k0);
#pragma omp parallel for schedule(static)
        for (int64_t t = 0; t < n; t++)
            for (int c = 0; c < k0; c++)
                s->V[t * k + c] = als_init_value(opt->seed, 1, t, c, k0);
    }
    /* Biases start at 0; constant coordinates take their values. */
    for (int64_t t = 0; t < m && opt->bias; t++) {
        s->U[t * k + k0] = 0.0;
        for (int f = 0; f < s->nfixed; f++)
            s->U[t * k + s->ufix[f]] = s->ufixval[f];
    }
    for (int64_t t = 0; t < n && opt->bias; t++) {
        s->V[t * k + k0 + 1] = 0.0;
        for (int f = 0; f < s->nfixed; f++)
            s->V[t * k + s->vfix[f]] = s->vfixval[f];
    }
    double dk = (double)k;
    s->flops_per_iter = (double)data->nnz * 2.0 * (dk * (dk + 1.0) + 2.0 * dk) +
                        (double)(m + n) * (dk * dk * dk / 3.0 + 2.0 * dk * dk) +
                        (double)data->wnnz * 2.0 * dk;
    return ALS_OK;
}

void als_solver_free(als_solver_t *s)
{
    free(s->U);
    free(s->V);
    free(s->ublk);
    free(s->vblk);
    free(s->usse);
    free(s->vsse);
    free(s->hist);
    memset(s, 0, sizeof *s);
}

/* Solve the rows [0, nrows) of one half-step. For row t: ratings
 * idx/val[ptr[t]..ptr[t+1]) against X, diagonal shift reg + alpha*deg[t],
 * social right-hand side alpha * sum W[t,f] Y[f] (wptr NULL for items).
 * Returns the lowest local row whose factorization failed, or -1. */
static int64_t solve_rows(als_solver_t *s, int64_t nrows, const int64_t *ptr, const int64_t *idx,
                          const double *val, const double *X, double reg, const int64_t *wptr,
                          const int64_t *wcol, const double *wval, const double *deg,
                          const double *Y, const int *fix, const double *fixval, int bcoord,
                          double *out, double *rowsse, int *info_out)
{
    const double lbias = s->opt->lambda_bias;
    const int k = s->k, nf = s->nfixed, kr = k - nf;
    const int count_scale = s->opt->lambda_count;
    /* The unknown coordinates, ascending (all of them without --bias). */
    int q[4096 + 3];
    for (int c = 0, a = 0; c < k; c++) {
        int fixed = 0;
        for (int f = 0; f < nf; f++)
            fixed |= fix[f] == c;
        if (!fixed)
            q[a++] = c;
    }
    const double alpha = s->opt->alpha;
    const als_kernel_t kern = s->opt->kernel;
    int64_t bad = INT64_MAX;
    int bad_info = 0;
    double tg = 0.0, ts = 0.0, t0 = omp_get_wtime();
#pragma omp parallel reduction(+ : tg, ts)
    {
        double *A = malloc((size_t)k * k * sizeof *A);
        double *ws = malloc((size_t)(als_gram_ws_size(k) + 1) * sizeof *ws);
        double *Ar = malloc((size_t)(kr * kr + kr) * sizeof *Ar), *xr = Ar + kr * kr;
        double *A0 = malloc((size_t)(k * k + k) * sizeof *A0), *b0 = A0 + k * k;
        if (!A || !ws || !Ar || !A0)
            ALS_ABORT("out of memory for the per-thread workspace (k = %d)", k);
#pragma omp for schedule(dynamic, 16)
        for (int64_t t = 0; t < nrows; t++) {
            double *b = out + t * k;
            double c0 = omp_get_wtime();
            als_gram_rhs(kern, k, ptr[t + 1] - ptr[t], idx + ptr[t], val + ptr[t], X, A, b, ws);
            /* Keep the ratings' Gram matrix and right-hand side: the row's
             * squared error after the solve is then
             * sum r^2 - 2 x.b0 + x'A0 x, with no second pass over X. */
            memcpy(A0, A, (size_t)(k * k) * sizeof *A0);
            memcpy(b0, b, (size_t)k * sizeof *b0);
            double shift = count_scale && ptr[t + 1] > ptr[t] ? reg * (double)(ptr[t + 1] - ptr[t]) : reg;
            if (wptr) {
                shift += alpha * deg[t];
                for (int64_t x = wptr[t]; x < wptr[t + 1]; x++) {
                    const double w = alpha * wval[x], *y = Y + wcol[x] * k;
                    for (int c = 0; c < k; c++)
                        b[c] += w * y[c];
                }
            }
            for (int c = 0; c < k; c++)
                A[c * k + c] += shift;
            if (bcoord >= 0 && lbias >= 0) /* the bias: its own plain lambda */
                A[bcoord * k + bcoord] += lbias - (shift - (wptr ? alpha * deg[t] : 0.0));
            double c1 = omp_get_wtime();
            int info;
            if (nf == 0) {
                info = als_solve_spd(kern, k, A, b);
            } else {
                /* Drop the constant coordinates: unknowns q, right-hand side
                 * minus the constant columns times their values. */
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
                info = als_solve_spd(kern, kr, Ar, xr);
                for (int a = 0; a < kr; a++)
                    b[q[a]] = xr[a];
                for (int f = 0; f < nf; f++)
                    b[fix[f]] = fixval[f];
            }
            double r2 = 0.0;
            for (int64_t x = ptr[t]; x < ptr[t + 1]; x++)
                r2 += val[x] * val[x];
            rowsse[t] = r2 - 2.0 * dot(b, b0, k) + quad_upper(A0, b, k);
            double c2 = omp_get_wtime();
            tg += c1 - c0;
            ts += c2 - c1;
            if (info != 0) {
#pragma omp critical
                if (t < bad) {
                    bad = t;
                    bad_info = info;
                }
            }
        }
        free(A);
        free(ws);
        free(Ar);
        free(A0);
    }
    /* Split the loop's wall time between gram and solve by their CPU shares. */
    double wall = omp_get_wtime() - t0;
    double share = (tg + ts) > 0 ? tg / (tg + ts) : 0.5;
    s->timers[ALS_T_GRAM] += wall * share;
    s->timers[ALS_T_SOLVE] += wall * (1.0 - share);
    *info_out = bad_info;
    return bad == INT64_MAX ? -1 : bad;
}

/* Agree on a factorization failure, naming the raw id of the row. */
static int check_failure(als_solver_t *s, int64_t bad, int info, const char *what,
                         const uint64_t *ids, int64_t first, int64_t nratings, const char *opt,
                         als_err_t *err)
{
    if (bad >= 0) {
        if (info < 0)
            als_err_set(err, ALS_ERR_NUMERIC, "%s %" PRIu64 ": normal equations hold NaN/Inf "
                        "(diverged or non-finite input)", what, ids[first + bad]);
        else
            als_err_set(err, ALS_ERR_NUMERIC,
                        "%s %" PRIu64 " (%" PRId64 " ratings): normal-equation matrix is not "
                        "positive definite (leading minor %d); increase %s", what,
                        ids[first + bad], nratings, info, opt);
    }
    return als_err_agree(s->comm, err);
}

int als_solver_ustep(als_solver_t *s, als_err_t *err)
{
    const als_data_t *d = s->data;
    int info = 0;
    int64_t bad = solve_rows(s, d->u1 - d->u0, d->uptr, d->ucol, d->uval, s->V, s->opt->lambda_u,
                             d->wptr, d->wcol, d->wval, d->wdeg, s->U, s->ufix, s->ufixval,
                             s->opt->bias ? s->latent : -1, s->ublk, s->usse, &info);
    int64_t nr = bad >= 0 ? d->uptr[bad + 1] - d->uptr[bad] : 0;
    if (check_failure(s, bad, info, "user", d->user_ids, d->u0, nr, "--lambda-u", err))
        return err->code;
    double t0 = MPI_Wtime();
    int rc = als_allgather_rows(s->comm, s->ublk, s->U, s->k, d->ubeg);
    s->timers[ALS_T_EXCHANGE] += MPI_Wtime() - t0;
    if (rc != MPI_SUCCESS)
        return als_err_set(err, ALS_ERR_MPI, "MPI_Allgatherv of U failed (code %d)", rc);
    return ALS_OK;
}

int als_solver_vstep(als_solver_t *s, als_err_t *err)
{
    const als_data_t *d = s->data;
    int info = 0;
    int64_t bad = solve_rows(s, d->i1 - d->i0, d->iptr, d->irow, d->ival, s->U, s->opt->lambda_v,
                             NULL, NULL, NULL, NULL, NULL, s->vfix, s->vfixval,
                             s->opt->bias ? s->latent + 1 : -1, s->vblk, s->vsse, &info);
    int64_t nr = bad >= 0 ? d->iptr[bad + 1] - d->iptr[bad] : 0;
    if (check_failure(s, bad, info, "item", d->item_ids, d->i0, nr, "--lambda-v", err))
        return err->code;
    double t0 = MPI_Wtime();
    int rc = als_allgather_rows(s->comm, s->vblk, s->V, s->k, d->ibeg);
    s->timers[ALS_T_EXCHANGE] += MPI_Wtime() - t0;
    if (rc != MPI_SUCCESS)
        return als_err_set(err, ALS_ERR_MPI, "MPI_Allgatherv of V failed (code %d)", rc);
    return ALS_OK;
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

/* The loss, with the squared errors taken from (mode) a direct pass over
 * the ratings (LOSS_DIRECT), the users' rows of the last U-step
 * (LOSS_AFTER_U) or the items' rows of the last V-step (LOSS_AFTER_V). */
enum { LOSS_DIRECT, LOSS_AFTER_U, LOSS_AFTER_V };
static void loss_eval(als_solver_t *s, int mode, als_loss_t *L)
{
    double t0 = MPI_Wtime();
    const als_data_t *d = s->data;
    const int k = s->k;
    int64_t nu = d->u1 - d->u0, ni = d->i1 - d->i0;
    /* Per user: (sse, social, reg); per item: (sse, reg). */
    double *ut = malloc((size_t)(3 * nu + 1) * sizeof *ut);
    double *it = malloc((size_t)(2 * ni + 1) * sizeof *it);
    double *uall = malloc((size_t)(3 * d->m + 1) * sizeof *uall);
    double *iall = malloc((size_t)(2 * d->n + 1) * sizeof *iall);
    if (!ut || !it || !uall || !iall)
        ALS_ABORT("out of memory evaluating the loss");
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t t = 0; t < nu; t++) {
        const double *u = s->U + (d->u0 + t) * k;
        double sse = 0.0, soc = 0.0;
        if (mode == LOSS_DIRECT) {
            for (int64_t x = d->uptr[t]; x < d->uptr[t + 1]; x++) {
                double e = d->uval[x] - dot(u, s->V + d->ucol[x] * k, k);
                sse += e * e;
            }
        } else if (mode == LOSS_AFTER_U) {
            sse = s->usse[t];
        }
        for (int64_t x = d->wptr[t]; x < d->wptr[t + 1]; x++) {
            soc += d->wval[x] * dist2(u, s->U + d->wcol[x] * k, k);
        }
        ut[3 * t] = sse;
        ut[3 * t + 1] = 0.5 * soc; /* W counts every link from both ends */
        ut[3 * t + 2] = row_reg(s, u, d->uptr[t + 1] - d->uptr[t], s->opt->lambda_u, s->ufix,
                                s->latent);
    }
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < ni; t++) {
        it[2 * t] = mode == LOSS_AFTER_V ? s->vsse[t] : 0.0;
        it[2 * t + 1] = row_reg(s, s->V + (d->i0 + t) * k, d->iptr[t + 1] - d->iptr[t],
                                s->opt->lambda_v, s->vfix, s->latent + 1);
    }
    als_allgather_rows(s->comm, ut, uall, 3, d->ubeg);
    als_allgather_rows(s->comm, it, iall, 2, d->ibeg);
    L->sse = L->social = L->reg_u = L->reg_v = 0.0;
    for (int64_t t = 0; t < d->m; t++) {
        L->sse += uall[3 * t];
        L->social += uall[3 * t + 1];
        L->reg_u += uall[3 * t + 2];
    }
    for (int64_t t = 0; t < d->n; t++) {
        L->sse += iall[2 * t];
        L->reg_v += iall[2 * t + 1];
    }
    L->total = 0.5 * L->sse + 0.5 * s->opt->alpha * L->social + 0.5 * L->reg_u + 0.5 * L->reg_v;
    free(ut);
    free(it);
    free(uall);
    free(iall);
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

void als_solver_test(const als_solver_t *s, const als_testset_t *t, double *rmse, double *mae)
{
    if (!t || t->n == 0) {
        *rmse = *mae = NAN;
        return;
    }
    const int k = s->k;
    double se = 0.0, ae = 0.0;
    for (int64_t x = 0; x < t->n; x++) {
        double p = dot(s->U + t->u[x] * k, s->V + t->i[x] * k, k);
        p = p < s->data->rmin ? s->data->rmin : (p > s->data->rmax ? s->data->rmax : p);
        double e = t->r[x] - p;
        se += e * e;
        ae += fabs(e);
    }
    *rmse = sqrt(se / (double)t->n);
    *mae = ae / (double)t->n;
}

/* Record a half-step's loss against the previous one. */
static void check_increase(als_solver_t *s, double before, double after)
{
    double rel = (after - before) / (fabs(before) > 1e-300 ? fabs(before) : 1e-300);
    if (rel > s->max_increase)
        s->max_increase = rel;
    if (rel > ALS_LOSS_RTOL)
        s->increases++;
}

int als_solver_run(als_solver_t *s, const als_testset_t *test, FILE *out, als_err_t *err)
{
    const als_options_t *o = s->opt;
    const int have_test = o->test[0] != '\0';
    double prev;
    int first = 1;
    if (s->resumed) { /* --resume: state restored by als_ckpt_restore */
        first = als_ckpt_resume_point(s, &prev);
    } else {
        als_solver_loss(s, &s->initial);
        prev = s->initial.total;
        s->max_increase = -INFINITY;
    }
    if (out && s->rank == 0) {
        fprintf(out, "initial loss: %.10e\n", s->initial.total);
        if (!o->quiet)
            fprintf(out, "%5s %18s %12s %12s %12s %10s\n", "iter", "loss", "train_rmse",
                    "test_rmse", "test_mae", "seconds");
        fflush(out);
    }
    for (int it = first; it <= o->iters; it++) {
        double t0 = MPI_Wtime();
        if (it > s->hist_cap) { /* same iteration on every rank: agree there */
            als_solver_hist_reserve(s, it, err);
            if (als_err_agree(s->comm, err) != ALS_OK)
                return err->code;
        }
        als_iter_t *h = &s->hist[it - 1];
        h->iter = it;
        if (als_solver_ustep(s, err) != ALS_OK)
            return err->code;
        als_ckpt_fault_point(s->rank, it); /* fault-test hooks (environment) */
        als_loss_t lu;
        als_solver_loss_after(s, 0, &lu);
        h->loss_half = lu.total;
        check_increase(s, prev, lu.total);
        if (als_solver_vstep(s, err) != ALS_OK)
            return err->code;
        als_solver_loss_after(s, 1, &h->loss);
        check_increase(s, lu.total, h->loss.total);
        h->train_rmse = sqrt(h->loss.sse / (double)s->data->nnz);
        h->test_rmse = h->test_mae = NAN;
        if (have_test) {
            double te = MPI_Wtime();
            if (s->rank == 0)
                als_solver_test(s, test, &h->test_rmse, &h->test_mae);
            s->timers[ALS_T_EVALUATE] += MPI_Wtime() - te;
        }
        h->seconds = MPI_Wtime() - t0;
        /* Every rank reports rank 0's wall time and metrics. */
        double share[3] = {h->seconds, h->test_rmse, h->test_mae};
        MPI_Bcast(share, 3, MPI_DOUBLE, 0, s->comm);
        h->seconds = share[0];
        h->test_rmse = share[1];
        h->test_mae = share[2];
        s->niters = it;
        if (out && s->rank == 0 && !o->quiet) {
            char tr[32], ta[32];
            fprintf(out, "%5d %18.10e %12.6f %s %s %10.4f\n", it, h->loss.total,
                    h->train_rmse, als_fmt_metric(tr, sizeof tr, 12, 6, h->test_rmse),
                    als_fmt_metric(ta, sizeof ta, 12, 6, h->test_mae), h->seconds);
            fflush(out);
        }
        if (als_ckpt_after_iter(s, it, err) != ALS_OK)
            return err->code;
        double decrease = (prev - h->loss.total) / (fabs(prev) > 1e-300 ? fabs(prev) : 1e-300);
        prev = h->loss.total;
        if (o->tol > 0 && decrease < o->tol) {
            if (out && s->rank == 0)
                fprintf(out, "stopping: relative loss decrease %.3e < --tol %g\n", decrease, o->tol);
            break;
        }
    }
    return ALS_OK;
}

int als_solver_hist_reserve(als_solver_t *s, int n, als_err_t *err)
{
    if (n <= s->hist_cap)
        return ALS_OK;
    int64_t cap = s->hist_cap > 0 ? s->hist_cap : 64;
    while (cap < n)
        cap *= 2;
    if (cap > (int64_t)INT_MAX)
        cap = INT_MAX;
    als_iter_t *h = realloc(s->hist, (size_t)cap * sizeof *h);
    if (!h)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the iteration history (%"
                           PRId64 " records of %zu bytes at iteration %d)", cap, sizeof *h, n);
    memset(h + s->hist_cap, 0, (size_t)(cap - s->hist_cap) * sizeof *h);
    s->hist = h;
    s->hist_cap = (int)cap;
    return ALS_OK;
}
