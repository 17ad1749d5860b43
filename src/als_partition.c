/* als_partition.c - printing the block plan from the whole dataset, from a
 * binary dataset file, or from the distributed data of a running job. */
#include "als_partition.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "als_binfmt.h"
#include "als_plan.h"

/* Plan from the three row-pointer arrays (prefix sums of ratings per user,
 * ratings per item, W entries per user), then print. */
static int print_from_ptrs(FILE *out, int p, int64_t m, int64_t n, const int64_t *uptr,
                           const int64_t *iptr, const int64_t *wptr, als_err_t *err)
{
    int64_t *cnt = malloc(((size_t)(m > n ? m : n) + 1) * sizeof *cnt);
    int64_t *ubeg = malloc(((size_t)p + 1) * sizeof *ubeg);
    int64_t *ibeg = malloc(((size_t)p + 1) * sizeof *ibeg);
    if (!cnt || !ubeg || !ibeg) {
        free(cnt); free(ubeg); free(ibeg);
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory for the block plan");
    }
    /* The work counts of als_global_work. */
    for (int64_t t = 0; t < m; t++)
        cnt[t] = (uptr[t + 1] - uptr[t]) + (wptr[t + 1] - wptr[t]);
    als_plan_blocks(m, cnt, p, ubeg);
    for (int64_t j = 0; j < n; j++)
        cnt[j] = iptr[j + 1] - iptr[j];
    als_plan_blocks(n, cnt, p, ibeg);
    als_plan_print(out, p, m, n, ubeg, ibeg, uptr, iptr, wptr);
    free(cnt); free(ubeg); free(ibeg);
    return ALS_OK;
}

int als_partition_print_global(FILE *out, const als_global_t *g, int p, als_err_t *err)
{
    return print_from_ptrs(out, p, g->m, g->n, g->uptr, g->iptr, g->wptr, err);
}

int als_partition_print_binary(FILE *out, const char *path, int p, als_err_t *err)
{
    als_bin_file_t f;
    if (als_bin_open(path, &f, err) != ALS_OK)
        return err->code;
    int64_t m = f.h.m, n = f.h.n;
    int64_t *uptr = malloc(((size_t)m + 1) * sizeof *uptr);
    int64_t *wptr = malloc(((size_t)m + 1) * sizeof *wptr);
    int64_t *iptr = malloc(((size_t)n + 1) * sizeof *iptr);
    int rc = ALS_OK;
    if (!uptr || !wptr || !iptr)
        rc = als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory for the row pointers", path);
    if (rc == ALS_OK && (als_bin_read(&f, ALS_SEC_UPTR, 0, m + 1, uptr, err) ||
                         als_bin_read(&f, ALS_SEC_WPTR, 0, m + 1, wptr, err) ||
                         als_bin_read(&f, ALS_SEC_IPTR, 0, n + 1, iptr, err)))
        rc = err->code;
    if (rc == ALS_OK)
        rc = print_from_ptrs(out, p, m, n, uptr, iptr, wptr, err);
    free(uptr); free(wptr); free(iptr);
    als_bin_close(&f);
    return rc;
}

void als_partition_print_data(MPI_Comm comm, const als_data_t *d, FILE *out)
{
    int rank, p;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &p);
    int64_t mine[3] = {d->lnnz_u, d->lnnz_i, d->lwnnz};
    int64_t *all = rank == 0 ? malloc(3 * (size_t)p * sizeof *all) : NULL;
    int ok = rank != 0 || all != NULL;
    MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
    if (!ok)
        return;
    MPI_Gather(mine, 3, MPI_INT64_T, all, 3, MPI_INT64_T, 0, comm);
    if (rank != 0)
        return;
    /* als_plan_print reads prefix sums at block boundaries only: build prefix
     * arrays that are exact there from the ranks' actual counts. */
    int64_t *up = calloc((size_t)d->m + 1, sizeof *up);
    int64_t *wp = calloc((size_t)d->m + 1, sizeof *wp);
    int64_t *ip = calloc((size_t)d->n + 1, sizeof *ip);
    if (up && wp && ip && out) {
        int64_t su = 0, sw = 0, si = 0;
        for (int r = 0; r < p; r++) {
            su += all[3 * r];
            si += all[3 * r + 1];
            sw += all[3 * r + 2];
            up[d->ubeg[r + 1]] = su;
            wp[d->ubeg[r + 1]] = sw;
            ip[d->ibeg[r + 1]] = si;
        }
        als_plan_print(out, p, d->m, d->n, d->ubeg, d->ibeg, up, ip, wp);
        fflush(out);
    } else if (out) {
        fprintf(out, "block plan: out of memory\n");
    }
    free(up); free(wp); free(ip); free(all);
}
