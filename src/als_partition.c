/* als_partition.c - printing the block plan from the whole dataset, from a
 * binary dataset file, or from the distributed data of a running job. */
#include "als_partition.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "als_binfmt.h"
#include "als_ghost.h"
#include "als_plan.h"
#include "als_planstats.h"

/* Plans for each p from the global arrays, then print. */
int als_partition_print_arrays(FILE *out, int np, const int *plist, als_plan_model_t pm,
                               int threads,
                               int rpn, int with_table, int64_t m, int64_t n, const int64_t *uptr,
                               const int64_t *ucol, const int64_t *iptr, const int64_t *irow,
                               const int64_t *wptr, const int64_t *wcol, int64_t *ghost_total,
                               als_err_t *err)
{
    for (int q = 0; q < np; q++) {
        const int p = plist[q];
        int64_t *ubeg = malloc(((size_t)p + 1) * sizeof *ubeg);
        int64_t *ibeg = malloc(((size_t)p + 1) * sizeof *ibeg);
        als_planstats_counts_t *cnt = malloc((size_t)p * sizeof *cnt);
        if (!cnt || !ubeg || !ibeg) {
            free(cnt); free(ubeg); free(ibeg);
            return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the block plan");
        }
        als_plan_blocks(m, uptr, wptr, pm, p, ubeg);
        als_hotplan_t hot;
        int rc = als_plan_items(n, iptr, pm, p, ibeg, &hot) == 0 ? ALS_OK
                 : als_err_set(err, ALS_ERR_NOMEM, "out of memory for the hot-row plan");
        if (rc == ALS_OK)
            rc = als_planstats_global(p, m, n, pm, ubeg, ibeg, &hot, uptr, ucol, iptr, irow, wptr,
                                      wcol, cnt, err);
        als_hotplan_free(&hot);
        if (rc == ALS_OK && ghost_total) {
            ghost_total[q] = 0;
            for (int r = 0; r < p; r++)
                ghost_total[q] += cnt[r].ughost + cnt[r].vghost;
        }
        if (rc == ALS_OK && out)
            als_planstats_print(out, p, m, n, pm.k, threads, rpn, cnt, with_table);
        free(cnt); free(ubeg); free(ibeg);
        if (rc != ALS_OK)
            return rc;
    }
    return ALS_OK;
}

int als_partition_print_global(FILE *out, const als_global_t *g, int np, const int *plist,
                               als_plan_model_t pm, int threads, int rpn, int with_table,
                               als_err_t *err)
{
    return als_partition_print_arrays(out, np, plist, pm, threads, rpn, with_table, g->m, g->n,
                                      g->uptr,
                                      g->ucol, g->iptr, g->irow, g->wptr, g->wcol, NULL, err);
}

int als_partition_load_index(const char *path, int64_t *m_, int64_t *n_, int64_t **uptr_,
                             int64_t **ucol_, int64_t **iptr_, int64_t **irow_, int64_t **wptr_,
                             int64_t **wcol_, als_err_t *err)
{
    als_bin_file_t f;
    if (als_bin_open(path, &f, err) != ALS_OK)
        return err->code;
    int64_t m = f.h.m, n = f.h.n, nnz = f.h.nnz, wnnz = f.h.wnnz;
    int64_t *uptr = malloc(((size_t)m + 1) * sizeof *uptr);
    int64_t *wptr = malloc(((size_t)m + 1) * sizeof *wptr);
    int64_t *iptr = malloc(((size_t)n + 1) * sizeof *iptr);
    int64_t *ucol = malloc(((size_t)nnz + 1) * sizeof *ucol);
    int64_t *irow = malloc(((size_t)nnz + 1) * sizeof *irow);
    int64_t *wcol = malloc(((size_t)wnnz + 1) * sizeof *wcol);
    int rc = ALS_OK;
    if (!uptr || !wptr || !iptr || !ucol || !irow || !wcol)
        rc = als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory for the row pointers and "
                         "indices", path);
    if (rc == ALS_OK && (als_bin_read(&f, ALS_SEC_UPTR, 0, m + 1, uptr, err) ||
                         als_bin_read(&f, ALS_SEC_WPTR, 0, m + 1, wptr, err) ||
                         als_bin_read(&f, ALS_SEC_IPTR, 0, n + 1, iptr, err) ||
                         als_bin_read(&f, ALS_SEC_UCOL, 0, nnz, ucol, err) ||
                         als_bin_read(&f, ALS_SEC_IROW, 0, nnz, irow, err) ||
                         als_bin_read(&f, ALS_SEC_WCOL, 0, wnnz, wcol, err)))
        rc = err->code;
    als_bin_close(&f);
    if (rc != ALS_OK) {
        free(uptr); free(wptr); free(iptr); free(ucol); free(irow); free(wcol);
        return rc;
    }
    *m_ = m; *n_ = n;
    *uptr_ = uptr; *ucol_ = ucol; *iptr_ = iptr; *irow_ = irow; *wptr_ = wptr; *wcol_ = wcol;
    return ALS_OK;
}

int als_partition_print_binary(FILE *out, const char *path, int np, const int *plist,
                               als_plan_model_t pm,
                               int threads, int rpn, int with_table, als_err_t *err)
{
    int64_t m, n, *uptr, *ucol, *iptr, *irow, *wptr, *wcol;
    if (als_partition_load_index(path, &m, &n, &uptr, &ucol, &iptr, &irow, &wptr, &wcol, err))
        return err->code;
    int rc = als_partition_print_arrays(out, np, plist, pm, threads, rpn, with_table, m, n, uptr,
                                        ucol,
                                        iptr, irow, wptr, wcol, NULL, err);
    free(uptr); free(wptr); free(iptr); free(ucol); free(irow); free(wcol);
    return rc;
}

void als_partition_print_data(MPI_Comm comm, const als_data_t *d, als_plan_model_t pm,
                              int threads, FILE *out)
{
    int rank, p;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &p);
    als_err_t err;
    als_err_clear(&err);
    /* This rank's ghost lists, as the sharded runtime builds them (no test pairs). */
    als_planstats_counts_t mine = {.users = d->u1 - d->u0, .items = d->i1 - d->i0,
                                   .user_ratings = d->lnnz_u, .item_ratings = d->lnnz_i,
                                   .wnnz = d->lwnnz};
    int64_t *sent = calloc(2 * (size_t)p, sizeof *sent);
    int64_t *vg = NULL, *ug = NULL, nvg = 0, nug = 0;
    int64_t *hrows = malloc((size_t)(d->nhc + 1) * sizeof *hrows);
    int ok = sent != NULL && hrows != NULL;
    if (ok) {
        for (int64_t x = 0; x < d->nhc; x++)
            hrows[x] = d->hot.row[d->hc[x]];
        mine.chunk_ratings = d->hc_ptr ? d->hc_ptr[d->nhc] : 0;
        for (int64_t t = 0; t < d->i1 - d->i0; t++)
            if (als_plan_is_hot(d->iptr[t + 1] - d->iptr[t]))
                mine.hot_ratings += d->iptr[t + 1] - d->iptr[t];
        als_planstats_route(pm, d->u1 - d->u0, d->uptr, d->i1 - d->i0, d->iptr, &mine);
        als_ghost_input_t gi = {d->u0, d->u1, d->i0, d->i1, d->i1 - d->i0, d->iptr, d->irow,
                                d->ucol, d->lnnz_u, d->wcol, d->lwnnz, d->hc_irow,
                                mine.chunk_ratings, hrows, d->nhc, NULL, 0};
        ok = als_ghost_lists(&gi, &ug, &nug, &vg, &nvg, &err) == ALS_OK;
    }
    free(hrows);
    if (ok) {
        mine.ughost = nug;
        mine.vghost = nvg;
        for (int64_t x = 0, last = -1; x < nug; x++) {
            int q = als_ghost_owner(d->ubeg, p, ug[x]);
            sent[q]++;
            mine.urecv_ranks += q != last; /* ascending ghosts: owners ascend */
            last = q;
        }
        for (int64_t x = 0, last = -1; x < nvg; x++) {
            int q = als_ghost_owner(d->ibeg, p, vg[x]);
            sent[p + q]++;
            mine.vrecv_ranks += q != last;
            last = q;
        }
    }
    free(ug); free(vg);
    als_planstats_counts_t *all = rank == 0 ? malloc((size_t)p * sizeof *all) : NULL;
    int64_t *sum = rank == 0 ? malloc(2 * (size_t)p * sizeof *sum) : NULL;
    ok = ok && (rank != 0 || (all && sum));
    int allok = 0;
    MPI_Allreduce(&ok, &allok, 1, MPI_INT, MPI_MIN, comm);
    if (allok) {
        MPI_Reduce(sent, sum, 2 * p, MPI_INT64_T, MPI_SUM, 0, comm);
        MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, 0, comm);
        if (rank == 0 && out) {
            for (int r = 0; r < p; r++) {
                all[r].usent = sum[r];
                all[r].vsent = sum[p + r];
            }
            als_planstats_print(out, p, d->m, d->n, pm.k, threads, 0, all, 1);
            fflush(out);
        }
    } else if (rank == 0 && out) {
        fprintf(out, "block plan: out of memory\n");
    }
    free(sent); free(all); free(sum);
}
