/* als_exchange.h - MPI transfers of factor blocks and large arrays.
 *
 * MPI counts are int. Every transfer here is split into pieces of at most
 * als_exchange_chunk elements (rows for the factor exchange), so arrays of
 * more than 2^31-1 elements move correctly; tests shrink the chunk to force
 * the multi-piece path.
 */
#ifndef ALS_EXCHANGE_H
#define ALS_EXCHANGE_H

#include <stdint.h>
#include <mpi.h>

/* Largest count passed to one MPI call (default INT_MAX). Set it identically
 * on every rank (e.g. from the environment variable ALS_MPI_CHUNK). */
extern int64_t als_exchange_chunk;

/* MPI_Allgatherv displacements are ints too: when the matrix has more rows
 * than this (default INT_MAX; ALS_MPI_DISP_MAX lowers it for tests),
 * als_allgather_rows broadcasts every block in pieces instead. */
extern int64_t als_exchange_disp_max;

/* Read ALS_MPI_CHUNK and ALS_MPI_DISP_MAX from the environment, if set (> 0).
 * Local. */
void als_exchange_init_from_env(void);

/* Collective: every rank r contributes rows [beg[r], beg[r+1]) of width k
 * from its local buffer blk (row-major, (beg[r+1]-beg[r])×k doubles); on
 * return all[0..beg[p])×k holds every block on every rank. Uses
 * MPI_Allgatherv with a row datatype, in rounds of at most
 * als_exchange_chunk rows per rank. blk may be all + beg[rank]×k (the block
 * already in its place: sent with MPI_IN_PLACE, no copy). Returns an MPI
 * error code. */
int als_allgather_rows(MPI_Comm comm, const double *blk, double *all, int64_t k,
                       const int64_t *beg);

/* Collective: the same, in place, for blocks at any rows: member r of comm
 * holds rows [start[r], start[r] + cnt[r]) of all (the blocks disjoint);
 * on return every member holds every block. Returns an MPI error code. */
int als_allgather_rows_at(MPI_Comm comm, double *all, int64_t k, const int64_t *start,
                          const int64_t *cnt);

/* Collective: broadcast count elements of type t from root, in chunks. */
int als_bcast_big(MPI_Comm comm, void *buf, int64_t count, MPI_Datatype t, int root);

/* Point-to-point send/receive of count elements of type t, in chunks. */
int als_send_big(MPI_Comm comm, const void *buf, int64_t count, MPI_Datatype t, int dest, int tag);
int als_recv_big(MPI_Comm comm, void *buf, int64_t count, MPI_Datatype t, int src, int tag);

#endif
