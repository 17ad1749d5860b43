/* als_shm.h - replicated factors held once per node (--exchange shared).
 *
 * With --exchange allgather every rank holds the whole U and V and receives
 * every other rank's new rows each half-step: per node, the same rows arrive
 * once per rank. With --exchange shared the ranks of a node share one copy
 * of each matrix (an MPI-3 shared-memory window, MPI_Win_allocate_shared on
 * the communicator of MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)):
 *
 *   - a rank writes its new rows straight into the node's copy, so rows of
 *     the same node need no transfer at all;
 *   - rows of other nodes arrive once per node: the ranks with the same
 *     node-local index form a "bridge" communicator (one rank per node), and
 *     each bridge allgathers its members' blocks into the shared copy, so
 *     every rank of a node moves 1/(ranks per node) of the node's traffic;
 *   - memory: (m + n) k 8 bytes per node instead of per rank.
 *
 * Every node must run the same number of ranks (Slurm's --ntasks-per-node;
 * the bridges would otherwise miss blocks): als_shm_init fails with a clear
 * error when they differ. Any placement of the ranks on the nodes works
 * (block or cyclic). The bytes that land in the factors are the same as with
 * allgather, so results stay bitwise identical.
 *
 * Synchronisation (MPI's unified memory model, a passive-target epoch held
 * for the window's life): MPI_Win_sync, a barrier of the node, MPI_Win_sync
 * (als_shm_fence) orders one rank's stores before the other ranks' loads.
 *
 * Open MPI 4.1 backs a shared window with a file in /dev/shm (a tmpfs;
 * containers often give it 64 MB): als_shm_alloc checks its free space
 * first and fails with a clear error instead of a SIGBUS at the first touch
 * of a page past its end (ALS_SHM_DIR names another directory to check).
 *
 * For tests on one machine, ALS_SHM_NODE_SIZE=N splits each real node into
 * pseudo-nodes of N ranks (consecutive node ranks; with ALS_SHM_CYCLIC=1,
 * node rank r goes to pseudo-node r mod (node size / N)).
 */
#ifndef ALS_SHM_H
#define ALS_SHM_H

#include <stdint.h>
#include <mpi.h>

#include "als_error.h"
#include "als_options.h"

/* "node", "socket" or "numa". */
const char *als_shm_domain_name(int domain);

typedef struct {
    MPI_Comm comm;    /* the solver's communicator (not owned) */
    MPI_Comm node;    /* the ranks sharing one copy */
    MPI_Comm bridge;  /* the ranks with this node-local index, one per node */
    int node_rank, node_size, nnodes;
    int *bridge_world; /* bridge member q -> rank in comm */
    int64_t *bstart;   /* 2 nnodes: the bridge members' block starts and counts */
    MPI_Win win[2];    /* U, V */
    double *base[2];   /* the node's copy of U, V (rows x k doubles) */
    int nwin;          /* bit w: win[w] allocated */
    int ready;         /* als_shm_init succeeded */
    int domain;        /* ALS_SHM_NODE, _SOCKET or _NUMA */
    int unbound;       /* socket/numa domains of one rank on nodes of several:
                        * the ranks are not bound (nothing is shared) */
} als_shm_t;

/* Collective over comm: build the node and bridge communicators. The
 * "node" is the sharing domain: the ranks of one node (MPI_COMM_TYPE_SHARED),
 * or of one socket or NUMA domain (Open MPI's OMPI_COMM_TYPE_SOCKET/_NUMA:
 * one copy per socket keeps every read local on multi-socket nodes; the
 * ranks must be bound, e.g. mpirun --bind-to core, or each rank is its own
 * domain). Fails (on every rank, same error) when domains hold different
 * numbers of ranks, or the MPI lacks the domain. On failure nothing is left
 * allocated. */
int als_shm_init(MPI_Comm comm, int domain, als_shm_t *sh, als_err_t *err);

/* The directory where Open MPI places shared windows, whose free space
 * (and huge-page mount option) is checked: /dev/shm, or $ALS_SHM_DIR in the
 * tests. Local. */
const char *als_shm_dir(void);

/* Collective over comm: allocate the node's copy of matrix which (0: U,
 * 1: V) of rows x k doubles (node rank 0 allocates it; the others map it)
 * and return it in sh->base[which]; huge: every rank's mapping asks for
 * transparent huge pages (als_huge_advise) before the first touch. */
int als_shm_alloc(als_shm_t *sh, int which, int64_t rows, int64_t k, int huge, als_err_t *err);

/* Collective over the node: every rank's stores to the shared copies so far
 * are visible to every rank of the node after it returns, and no rank
 * returns before every rank of the node has entered it. */
void als_shm_fence(const als_shm_t *sh);

/* Collective over comm: rows [beg[r], beg[r+1]) of matrix which belong to
 * rank r. If blk is not NULL it holds this rank's new block (written to the
 * node's copy here, after every rank of the node has finished reading the
 * old rows); otherwise the block is already in place. On return every rank
 * sees every block in sh->base[which]. Returns an MPI error code. */
int als_shm_exchange(als_shm_t *sh, int which, int64_t k, const int64_t *beg, const double *blk);

/* Local: the rows this rank's bridge brings per exchange of a matrix whose
 * rank r owns rows [beg[r], beg[r+1]): its peers' blocks on the other nodes. */
int64_t als_shm_peer_rows(const als_shm_t *sh, const int64_t *beg);

/* Collective over comm: free the windows and communicators (nothing if
 * als_shm_init did not succeed, or sh is all zero). */
void als_shm_free(als_shm_t *sh);

#endif
