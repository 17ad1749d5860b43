/* als_exchange.c - MPI transfers of factor blocks and large arrays. */
#include "als_exchange.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int64_t als_exchange_chunk = INT_MAX;
int64_t als_exchange_disp_max = INT_MAX;

void als_exchange_init_from_env(void)
{
    const char *s = getenv("ALS_MPI_CHUNK");
    if (s) {
        long long v = atoll(s);
        if (v > 0 && v <= INT_MAX)
            als_exchange_chunk = v;
    }
    s = getenv("ALS_MPI_DISP_MAX");
    if (s) {
        long long v = atoll(s);
        if (v > 0 && v <= INT_MAX)
            als_exchange_disp_max = v;
    }
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* The allgather of rows in pieces: member r of comm contributes the
 * cnt[r] rows at all + start[r] k (from blk when blk is not NULL and not
 * already there). */
static int allgather_rows_at(MPI_Comm comm, const double *blk, double *all, int64_t k,
                             const int64_t *start, const int64_t *cnt)
{
    int p, rank;
    MPI_Comm_size(comm, &p);
    MPI_Comm_rank(comm, &rank);
    MPI_Datatype row;
    MPI_Type_contiguous((int)k, MPI_DOUBLE, &row);
    MPI_Type_commit(&row);
    int *c32 = malloc(2 * (size_t)p * sizeof *c32);
    if (!c32) {
        MPI_Type_free(&row);
        return MPI_ERR_NO_MEM;
    }
    int *dsp = c32 + p;
    int64_t maxrows = 0, end = 0;
    for (int r = 0; r < p; r++) {
        maxrows = cnt[r] > maxrows ? cnt[r] : maxrows;
        end = start[r] + cnt[r] > end ? start[r] + cnt[r] : end;
    }
    int rc = MPI_SUCCESS;
    int64_t chunk = als_exchange_chunk;
    double *mine = all + (size_t)start[rank] * (size_t)k;
    /* The block already in its place in all (rows solved in place). */
    const int inplace = blk == NULL || blk == mine;
    if (end > als_exchange_disp_max) {
        /* Row displacements would not fit an int: every rank broadcasts its
         * block in pieces instead (the same bytes land in the same place). */
        if (!inplace)
            memcpy(mine, blk, (size_t)cnt[rank] * (size_t)k * sizeof *mine);
        for (int r = 0; r < p && rc == MPI_SUCCESS; r++)
            for (int64_t off = 0; off < cnt[r] && rc == MPI_SUCCESS; off += chunk)
                rc = MPI_Bcast(all + (size_t)(start[r] + off) * (size_t)k,
                               (int)min64(chunk, cnt[r] - off), row, r, comm);
        free(c32);
        MPI_Type_free(&row);
        return rc;
    }
    /* Round c moves rows [c*chunk, (c+1)*chunk) of every block. Row
     * displacements are ints too: end <= als_exchange_disp_max here. */
    for (int64_t off = 0; off < maxrows; off += chunk) {
        for (int r = 0; r < p; r++) {
            int64_t nr = cnt[r];
            int64_t c = nr > off ? min64(chunk, nr - off) : 0;
            c32[r] = (int)c;
            dsp[r] = (int)(start[r] + (nr > off ? off : nr));
        }
        rc = MPI_Allgatherv(inplace ? MPI_IN_PLACE
                                    : blk + (size_t)min64(off, cnt[rank]) * k,
                            c32[rank], row, all, c32, dsp, row, comm);
        if (rc != MPI_SUCCESS)
            break;
    }
    free(c32);
    MPI_Type_free(&row);
    return rc;
}

int als_allgather_rows(MPI_Comm comm, const double *blk, double *all, int64_t k,
                       const int64_t *beg)
{
    int p;
    MPI_Comm_size(comm, &p);
    int64_t *cnt = malloc((size_t)p * sizeof *cnt);
    if (!cnt)
        return MPI_ERR_NO_MEM;
    for (int r = 0; r < p; r++)
        cnt[r] = beg[r + 1] - beg[r];
    int rc = allgather_rows_at(comm, blk, all, k, beg, cnt);
    free(cnt);
    return rc;
}

int als_allgather_rows_at(MPI_Comm comm, double *all, int64_t k, const int64_t *start,
                          const int64_t *cnt)
{
    return allgather_rows_at(comm, NULL, all, k, start, cnt);
}

int als_bcast_big(MPI_Comm comm, void *buf, int64_t count, MPI_Datatype t, int root)
{
    int sz;
    MPI_Type_size(t, &sz);
    for (int64_t off = 0; off < count; off += als_exchange_chunk) {
        int c = (int)min64(als_exchange_chunk, count - off);
        int rc = MPI_Bcast((char *)buf + off * sz, c, t, root, comm);
        if (rc != MPI_SUCCESS)
            return rc;
    }
    return MPI_SUCCESS;
}

int als_send_big(MPI_Comm comm, const void *buf, int64_t count, MPI_Datatype t, int dest, int tag)
{
    int sz;
    MPI_Type_size(t, &sz);
    for (int64_t off = 0; off < count; off += als_exchange_chunk) {
        int c = (int)min64(als_exchange_chunk, count - off);
        int rc = MPI_Send((const char *)buf + off * sz, c, t, dest, tag, comm);
        if (rc != MPI_SUCCESS)
            return rc;
    }
    return MPI_SUCCESS;
}

int als_recv_big(MPI_Comm comm, void *buf, int64_t count, MPI_Datatype t, int src, int tag)
{
    int sz;
    MPI_Type_size(t, &sz);
    for (int64_t off = 0; off < count; off += als_exchange_chunk) {
        int c = (int)min64(als_exchange_chunk, count - off);
        int rc = MPI_Recv((char *)buf + off * sz, c, t, src, tag, comm, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return rc;
    }
    return MPI_SUCCESS;
}
