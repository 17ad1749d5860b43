/* als_rankeval.c - distributed top-N ranking metrics (see als_rankeval.h). */
#include "als_rankeval.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

struct als_rankeval {
    int N;
    int64_t nown;          /* this rank's test users */
    int64_t *own_t;        /* their local offsets (ascending) */
    int64_t *hptr, *hitem; /* held-out items (global) per own test user */
    double *hval;
    int64_t T;             /* test users over all ranks */
    int64_t *tu;           /* their global indices, ascending */
    int *cnt, *dsp;        /* per rank: its test users, their offset in tu */
    int64_t *eptr, *eitem; /* per test user: excluded own items (offsets from i0) */
};

void als_rankeval_free(als_solver_t *s)
{
    struct als_rankeval *r = s->rk;
    if (!r)
        return;
    free(r->own_t); free(r->hptr); free(r->hitem); free(r->hval);
    free(r->tu); free(r->cnt); free(r->eptr); free(r->eitem); /* dsp lives in cnt */
    free(r);
    s->rk = NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int als_rankeval_init(als_solver_t *s, als_err_t *err)
{
    const als_data_t *d = s->data;
    const int p = s->nranks;
    struct als_rankeval *r = calloc(1, sizeof *r);
    s->rk = r;
    if (!r)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory (ranking metrics)");
    r->N = s->opt->top_n;
    const int64_t nt = s->ntest;
    /* Own test users: distinct local offsets, ascending. */
    int64_t *tmp = malloc((size_t)(nt + 1) * sizeof *tmp);
    r->hptr = calloc((size_t)(nt + 2), sizeof *r->hptr);
    r->hitem = malloc((size_t)(nt + 1) * sizeof *r->hitem);
    r->hval = malloc((size_t)(nt + 1) * sizeof *r->hval);
    r->own_t = malloc((size_t)(nt + 1) * sizeof *r->own_t);
    r->cnt = malloc(2 * (size_t)p * sizeof *r->cnt);
    if (!tmp || !r->hptr || !r->hitem || !r->hval || !r->own_t || !r->cnt)
        als_err_set(err, ALS_ERR_NOMEM, "out of memory (ranking metrics)");
    if (als_err_agree(s->comm, err) != ALS_OK) {
        free(tmp);
        return err->code;
    }
    r->dsp = r->cnt + p;
    for (int64_t x = 0; x < nt; x++)
        tmp[x] = s->test_u[x];
    qsort(tmp, (size_t)nt, sizeof *tmp, cmp_i64);
    for (int64_t x = 0; x < nt; x++)
        if (x == 0 || tmp[x] != tmp[x - 1])
            r->own_t[r->nown++] = tmp[x];
    free(tmp);
    /* Held-out pairs grouped by own test user (file order within a user). */
    for (int64_t x = 0; x < nt; x++)
        r->hptr[als_rank_find(r->own_t, r->nown, s->test_u[x]) + 1]++;
    for (int64_t q = 0; q < r->nown; q++)
        r->hptr[q + 1] += r->hptr[q];
    int64_t *fill = calloc((size_t)(r->nown + 1), sizeof *fill);
    if (!fill)
        ALS_ABORT("out of memory (ranking metrics)");
    for (int64_t x = 0; x < nt; x++) {
        int64_t q = als_rank_find(r->own_t, r->nown, s->test_u[x]), at = r->hptr[q] + fill[q]++;
        r->hitem[at] = als_view_global(&s->pv, s->test_v[x]);
        r->hval[at] = s->test_r[x];
    }
    free(fill);
    /* Every rank's test users (global indices, ascending: owners hold
     * ascending contiguous blocks). */
    int mine = (int)r->nown;
    MPI_Allgather(&mine, 1, MPI_INT, r->cnt, 1, MPI_INT, s->comm);
    r->T = 0;
    for (int q = 0; q < p; q++) {
        r->dsp[q] = (int)r->T;
        r->T += r->cnt[q];
    }
    r->tu = malloc((size_t)(r->T + 1) * sizeof *r->tu);
    int64_t *myg = malloc((size_t)(r->nown + 1) * sizeof *myg);
    r->eptr = calloc((size_t)(r->T + 2), sizeof *r->eptr);
    if (!r->tu || !myg || !r->eptr)
        ALS_ABORT("out of memory (ranking metrics: %" PRId64 " test users)", r->T);
    for (int64_t q = 0; q < r->nown; q++)
        myg[q] = d->u0 + r->own_t[q];
    MPI_Allgatherv(myg, mine, MPI_INT64_T, r->tu, r->cnt, r->dsp, MPI_INT64_T, s->comm);
    free(myg);
    /* Excluded items: the own items each test user rated (CSC), ascending. */
    const int64_t ni = d->i1 - d->i0;
    for (int64_t t = 0; t < ni; t++)
        for (int64_t x = d->iptr[t]; x < d->iptr[t + 1]; x++) {
            int64_t q = als_rank_find(r->tu, r->T, d->irow[x]);
            if (q >= 0)
                r->eptr[q + 1]++;
        }
    for (int64_t q = 0; q < r->T; q++)
        r->eptr[q + 1] += r->eptr[q];
    r->eitem = malloc((size_t)(r->eptr[r->T] + 1) * sizeof *r->eitem);
    fill = calloc((size_t)(r->T + 1), sizeof *fill);
    if (!r->eitem || !fill)
        ALS_ABORT("out of memory (ranking metrics)");
    for (int64_t t = 0; t < ni; t++)
        for (int64_t x = d->iptr[t]; x < d->iptr[t + 1]; x++) {
            int64_t q = als_rank_find(r->tu, r->T, d->irow[x]);
            if (q >= 0)
                r->eitem[r->eptr[q] + fill[q]++] = t;
        }
    free(fill);
    return ALS_OK;
}

typedef struct {
    double key;   /* score, NaN as -Inf */
    int64_t item;
} cand_t;

static int cmp_cand(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

int als_rankeval_run(als_solver_t *s, als_rank_result_t *res, als_err_t *err)
{
    struct als_rankeval *r = s->rk;
    const als_data_t *d = s->data;
    const int p = s->nranks, k = s->k, N = r->N;
    const int64_t ni = d->i1 - d->i0, T = r->T, nown = r->nown;
    double t0 = MPI_Wtime();
    double *rows = malloc((size_t)(T * k + 1) * sizeof *rows);
    double *myrows = malloc((size_t)(nown * k + 1) * sizeof *myrows);
    int64_t *sitem = malloc((size_t)(T * N + 1) * sizeof *sitem);
    double *sscore = malloc((size_t)(T * N + 1) * sizeof *sscore);
    int64_t *ritem = malloc((size_t)(p * nown * N + 1) * sizeof *ritem);
    double *rscore = malloc((size_t)(p * nown * N + 1) * sizeof *rscore);
    int *sc = malloc(4 * (size_t)p * sizeof *sc), *sd = sc + p, *rc = sd + p, *rd = rc + p;
    if (!rows || !myrows || !sitem || !sscore || !ritem || !rscore || !sc)
        als_err_set(err, ALS_ERR_NOMEM, "out of memory for the ranking metrics (%" PRId64
                    " test users)", T);
    if (als_err_agree(s->comm, err) != ALS_OK)
        goto out;
    /* 1. The test users' rows on every rank. */
    for (int64_t q = 0; q < nown; q++)
        memcpy(myrows + q * k, s->U + (s->pu.own_slot + r->own_t[q]) * k,
               (size_t)k * sizeof *myrows);
    MPI_Datatype row;
    MPI_Type_contiguous(k, MPI_DOUBLE, &row);
    MPI_Type_commit(&row);
    MPI_Allgatherv(myrows, (int)nown, row, rows, r->cnt, r->dsp, row, s->comm);
    MPI_Type_free(&row);
    /* 2. Local top-N over the own items for every test user. */
    const double *Vown = s->V + s->pv.own_slot * k;
#pragma omp parallel
    {
        double *scores = malloc((size_t)(ni + 1) * sizeof *scores);
        int64_t *top = malloc((size_t)N * sizeof *top);
        if (!scores || !top)
            ALS_ABORT("out of memory for the ranking scores (%" PRId64 " items)", ni);
#pragma omp for schedule(dynamic, 8)
        for (int64_t q = 0; q < T; q++) {
            als_rank_scores(k, ni, Vown, rows + q * k, scores);
            int64_t nt = als_rank_topn(N, ni, scores, r->eitem + r->eptr[q],
                                       r->eptr[q + 1] - r->eptr[q], top);
            for (int64_t j = 0; j < N; j++) {
                sitem[q * N + j] = j < nt ? d->i0 + top[j] : -1;
                sscore[q * N + j] = j < nt ? scores[top[j]] : 0.0;
            }
        }
        free(scores);
        free(top);
    }
    /* 3. The lists to the users' owners (tu is grouped by owner, in rank order). */
    for (int q = 0; q < p; q++) {
        sc[q] = r->cnt[q] * N;
        sd[q] = r->dsp[q] * N;
        rc[q] = (int)nown * N;
        rd[q] = q * (int)nown * N;
    }
    MPI_Alltoallv(sitem, sc, sd, MPI_INT64_T, ritem, rc, rd, MPI_INT64_T, s->comm);
    MPI_Alltoallv(sscore, sc, sd, MPI_DOUBLE, rscore, rc, rd, MPI_DOUBLE, s->comm);
    /* 4. Merge, score against the held-out items, accumulate exactly. */
    als_rank_acc_t acc;
    als_rank_acc_init(&acc);
    int bad = 0;
#pragma omp parallel
    {
        cand_t *cand = malloc((size_t)(p * N + 1) * sizeof *cand);
        int64_t *top = malloc((size_t)N * sizeof *top);
        int64_t hmax = 0;
        for (int64_t q = 0; q < nown; q++)
            if (r->hptr[q + 1] - r->hptr[q] > hmax)
                hmax = r->hptr[q + 1] - r->hptr[q];
        int64_t *it = malloc((size_t)(2 * hmax + 1) * sizeof *it), *rel = it + hmax;
        double *val = malloc((size_t)(hmax + 1) * sizeof *val);
        if (!cand || !top || !it || !val)
            ALS_ABORT("out of memory for the ranking merge");
        als_rank_acc_t my;
        als_rank_acc_init(&my);
#pragma omp for schedule(dynamic, 16)
        for (int64_t q = 0; q < nown; q++) {
            int64_t nc = 0;
            for (int src = 0; src < p; src++)
                for (int j = 0; j < N; j++) {
                    int64_t at = (int64_t)src * nown * N + q * N + j;
                    if (ritem[at] < 0)
                        break;
                    cand[nc].key = isnan(rscore[at]) ? -INFINITY : rscore[at];
                    cand[nc++].item = ritem[at];
                }
            qsort(cand, (size_t)nc, sizeof *cand, cmp_cand);
            int64_t ntop = nc < N ? nc : N;
            for (int64_t j = 0; j < ntop; j++)
                top[j] = cand[j].item;
            int64_t t = r->own_t[q], nh = r->hptr[q + 1] - r->hptr[q];
            memcpy(it, r->hitem + r->hptr[q], (size_t)nh * sizeof *it);
            memcpy(val, r->hval + r->hptr[q], (size_t)nh * sizeof *val);
            int64_t nrel = als_rank_relevant(nh, it, val, DBL_TRUE_MIN, d->ucol + d->uptr[t],
                                             d->uptr[t + 1] - d->uptr[t], rel);
            als_rank_user_t m;
            if (als_rank_user_metrics(N, top, ntop, rel, nrel, &m) != 0) {
#pragma omp atomic write
                bad = 1;
                continue;
            }
            als_rank_acc_add(&my, &m);
        }
#pragma omp critical
        als_rank_acc_merge(&acc, &my);
        free(cand); free(top); free(it); free(val);
    }
    if (bad)
        als_err_set(err, ALS_ERR_INTERNAL, "ranking: inconsistent item lists");
    int64_t words[ALS_RANK_ACC_WORDS];
    als_rank_acc_pack(&acc, words);
    MPI_Allreduce(MPI_IN_PLACE, words, ALS_RANK_ACC_WORDS, MPI_INT64_T, MPI_SUM, s->comm);
    als_rank_acc_unpack(words, &acc);
    als_rank_acc_result(&acc, N, res);
    als_err_agree(s->comm, err);
out:
    free(rows); free(myrows); free(sitem); free(sscore); free(ritem); free(rscore); free(sc);
    s->timers[ALS_T_EVALUATE] += MPI_Wtime() - t0;
    return err->code;
}
