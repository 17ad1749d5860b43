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

int als_allgather_rows(MPI_Comm comm, const double *blk, double *all, int64_t k,
                       const int64_t *beg)
{
    int p, rank;
    MPI_Comm_size(comm, &p);
    MPI_Comm_rank(comm, &rank);
    MPI_Datatype row;
    MPI_Type_contiguous((int)k, MPI_DOUBLE, &row);
    MPI_Type_commit(&row);
    int *cnt = malloc(2 * (size_t)p * sizeof *cnt);
    int *dsp = cnt + p;
    int64_t maxrows = 0;
    for (int r = 0; r < p; r++)
        maxrows = beg[r + 1] - beg[r] > maxrows ? beg[r + 1] - beg[r] : maxrows;
    int rc = MPI_SUCCESS;
    int64_t chunk = als_exchange_chunk;
    /* The block already in its place in all (rows solved in place). */
    const int inplace = blk == all + (size_t)beg[rank] * (size_t)k;
    if (beg[p] > als_exchange_disp_max) {
        /* Row displacements would not fit an int: every rank broadcasts its
         * block in pieces instead (the same bytes land in the same place). */
        for (int r = 0; r < p && rc == MPI_SUCCESS; r++) {
            int64_t nr = beg[r + 1] - beg[r];
            for (int64_t off = 0; off < nr && rc == MPI_SUCCESS; off += chunk) {
                double *dst = all + (size_t)(beg[r] + off) * (size_t)k;
                if (r == rank && dst != blk + (size_t)off * (size_t)k)
                    memcpy(dst, blk + (size_t)off * (size_t)k,
                           (size_t)min64(chunk, nr - off) * (size_t)k * sizeof *dst);
                rc = MPI_Bcast(dst, (int)min64(chunk, nr - off), row, r, comm);
            }
        }
        free(cnt);
        MPI_Type_free(&row);
        return rc;
    }
    /* Round c moves rows [c*chunk, (c+1)*chunk) of every block. Row
     * displacements are ints too: beg[p] <= als_exchange_disp_max here. */
    for (int64_t off = 0; off < maxrows; off += chunk) {
        for (int r = 0; r < p; r++) {
            int64_t nr = beg[r + 1] - beg[r];
            int64_t c = nr > off ? min64(chunk, nr - off) : 0;
            cnt[r] = (int)c;
            dsp[r] = (int)(beg[r] + (nr > off ? off : nr));
        }
        rc = MPI_Allgatherv(inplace ? MPI_IN_PLACE
                                    : blk + (size_t)min64(off, beg[rank + 1] - beg[rank]) * k,
                            cnt[rank], row, all, cnt, dsp, row, comm);
        if (rc != MPI_SUCCESS)
            break;
    }
    free(cnt);
    MPI_Type_free(&row);
    return rc;
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
