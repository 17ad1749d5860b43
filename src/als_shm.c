/* als_shm.c - replicated factors held once per node (als_shm.h). */
#include "als_shm.h"

#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "als_exchange.h"
#include "als_hugepage.h"

/* The pseudo-node split of the tests (ALS_SHM_NODE_SIZE, ALS_SHM_CYCLIC):
 * the color of node rank r in a node of n ranks, or -1 for none. */
static int pseudo_node_color(int r, int n)
{
    const char *s = getenv("ALS_SHM_NODE_SIZE");
    int ns = s ? atoi(s) : 0;
    if (ns <= 0 || ns >= n)
        return -1;
    const char *c = getenv("ALS_SHM_CYCLIC");
    if (c && atoi(c) == 1) {
        int groups = (n + ns - 1) / ns;
        return r % groups;
    }
    return r / ns;
}

const char *als_shm_domain_name(int domain)
{
    return domain == ALS_SHM_SOCKET ? "socket" : domain == ALS_SHM_NUMA ? "numa" : "node";
}

int als_shm_init(MPI_Comm comm, int domain, als_shm_t *sh, als_err_t *err)
{
    memset(sh, 0, sizeof *sh);
    sh->comm = comm;
    sh->domain = domain;
    sh->node = sh->bridge = MPI_COMM_NULL;
    int rank, p;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &p);
    int type = MPI_COMM_TYPE_SHARED;
    if (domain != ALS_SHM_NODE) {
#if defined(OPEN_MPI) && OPEN_MPI
        type = domain == ALS_SHM_SOCKET ? OMPI_COMM_TYPE_SOCKET : OMPI_COMM_TYPE_NUMA;
#else
        return als_err_set(err, ALS_ERR_ARG, "--shared-domain %s needs Open MPI's "
                           "OMPI_COMM_TYPE_SOCKET/NUMA; this MPI offers only node",
                           als_shm_domain_name(domain));
#endif
    }
    MPI_Comm real;
    int rc = MPI_Comm_split_type(comm, type, 0, MPI_INFO_NULL, &real);
    if (rc == MPI_SUCCESS && real == MPI_COMM_NULL) /* no such domain here: on its own */
        rc = MPI_Comm_dup(MPI_COMM_SELF, &real);
    if (rc == MPI_SUCCESS) {
        int rr, rn;
        MPI_Comm_rank(real, &rr);
        MPI_Comm_size(real, &rn);
        int color = pseudo_node_color(rr, rn);
        if (color >= 0) {
            rc = MPI_Comm_split(real, color, rr, &sh->node);
            MPI_Comm_free(&real);
        } else {
            sh->node = real;
        }
    }
    int bad = rc != MPI_SUCCESS;
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm);
    if (bad) {
        if (sh->node != MPI_COMM_NULL)
            MPI_Comm_free(&sh->node);
        return als_err_set(err, ALS_ERR_MPI, "--exchange shared: splitting the ranks by node "
                           "failed (MPI_Comm_split_type)");
    }
    MPI_Comm_rank(sh->node, &sh->node_rank);
    MPI_Comm_size(sh->node, &sh->node_size);
    if (domain != ALS_SHM_NODE) {
        /* Unbound ranks each get a domain of their own: say so. */
        MPI_Comm whole;
        int wn = 1;
        if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &whole) ==
            MPI_SUCCESS && whole != MPI_COMM_NULL) {
            MPI_Comm_size(whole, &wn);
            MPI_Comm_free(&whole);
        }
        int single = sh->node_size == 1 && wn > 1;
        MPI_Allreduce(MPI_IN_PLACE, &single, 1, MPI_INT, MPI_MIN, comm);
        sh->unbound = single;
    }
    /* Every node must hold the same number of ranks. */
    int sz[2] = {sh->node_size, -sh->node_size};
    MPI_Allreduce(MPI_IN_PLACE, sz, 2, MPI_INT, MPI_MAX, comm);
    if (sz[0] != -sz[1]) {
        MPI_Comm_free(&sh->node);
        return als_err_set(err, ALS_ERR_ARG, "--exchange shared needs the same number of ranks "
                           "on every %s (found %d to %d ranks per %s): use --ntasks-per-node "
                           "(Slurm) or --npernode (mpirun), or --exchange allgather",
                           als_shm_domain_name(domain), -sz[1], sz[0],
                           als_shm_domain_name(domain));
    }
    sh->nnodes = p / sh->node_size;
    rc = MPI_Comm_split(comm, sh->node_rank, rank, &sh->bridge);
    sh->bridge_world = malloc((size_t)sh->nnodes * sizeof *sh->bridge_world);
    sh->bstart = malloc(2 * (size_t)sh->nnodes * sizeof *sh->bstart);
    bad = rc != MPI_SUCCESS || !sh->bridge_world || !sh->bstart;
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm);
    if (bad) {
        if (sh->bridge != MPI_COMM_NULL)
            MPI_Comm_free(&sh->bridge);
        MPI_Comm_free(&sh->node);
        free(sh->bridge_world);
        free(sh->bstart);
        sh->bridge_world = NULL;
        sh->bstart = NULL;
        return als_err_set(err, ALS_ERR_MPI, "--exchange shared: building the bridge "
                           "communicators failed");
    }
    MPI_Allgather(&rank, 1, MPI_INT, sh->bridge_world, 1, MPI_INT, sh->bridge);
    sh->ready = 1;
    return ALS_OK;
}

/* Free bytes of the file system at path, or -1 if it cannot be read. */
static double free_bytes(const char *path)
{
    struct statvfs v;
    if (statvfs(path, &v) != 0)
        return -1.0;
    return (double)v.f_bavail * (double)v.f_frsize;
}

const char *als_shm_dir(void)
{
    const char *dir = getenv("ALS_SHM_DIR");
    return dir && *dir ? dir : "/dev/shm";
}

int als_shm_alloc(als_shm_t *sh, int which, int64_t rows, int64_t k, int huge, als_err_t *err)
{
    MPI_Aint bytes = sh->node_rank == 0 ? (MPI_Aint)((rows * k + 1) * (int64_t)sizeof(double))
                                        : 0;
    /* Open MPI backs shared windows with a file in /dev/shm: a tmpfs that is
     * too small (containers default to 64 MB) would fail here or, worse,
     * kill the first rank that touches a page past its end (SIGBUS). */
    double room[2] = {0.0, 0.0}; /* over nodes: the largest shortfall's need and free space */
    const char *dir = als_shm_dir();
    if (sh->node_rank == 0) {
        double avail = free_bytes(dir);
        if (avail >= 0.0 && (double)bytes > avail) {
            room[0] = (double)bytes;
            room[1] = avail;
        }
    }
    MPI_Allreduce(MPI_IN_PLACE, room, 2, MPI_DOUBLE, MPI_MAX, sh->comm);
    if (room[0] > 0.0)
        return als_err_set(err, ALS_ERR_NOMEM, "--exchange shared: the node's copy of %s "
                           "(%.1f MB) does not fit the free space of %s (%.1f MB), where "
                           "Open MPI places shared windows: enlarge it (e.g. docker "
                           "--shm-size) or use --exchange allgather", which ? "V" : "U",
                           room[0] / 1e6, dir, room[1] / 1e6);
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "alloc_shared_noncontig", "false");
    double *mine = NULL;
    int rc = MPI_Win_allocate_shared(bytes, (int)sizeof(double), info, sh->node, &mine,
                                     &sh->win[which]);
    MPI_Info_free(&info);
    if (rc == MPI_SUCCESS) {
        MPI_Aint qs;
        int du;
        rc = MPI_Win_shared_query(sh->win[which], 0, &qs, &du, &sh->base[which]);
        /* Before any page is touched: each rank's mapping of the file asks
         * for huge pages (effective where the tmpfs is mounted huge=advise,
         * always or within_size, or shmem_enabled is force). */
        if (rc == MPI_SUCCESS && huge)
            als_huge_advise(sh->base[which], (size_t)qs);
        if (rc == MPI_SUCCESS)
            rc = MPI_Win_lock_all(MPI_MODE_NOCHECK, sh->win[which]);
    }
    int bad = rc != MPI_SUCCESS;
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, sh->comm);
    if (bad)
        return als_err_set(err, ALS_ERR_NOMEM, "--exchange shared: the node's shared copy of "
                           "%s (%lld x %lld doubles) could not be allocated",
                           which ? "V" : "U", (long long)rows, (long long)k);
    sh->nwin |= 1 << which;
    return ALS_OK;
}

void als_shm_fence(const als_shm_t *sh)
{
    for (int w = 0; w < 2; w++)
        if (sh->nwin & (1 << w))
            MPI_Win_sync(sh->win[w]);
    MPI_Barrier(sh->node);
    for (int w = 0; w < 2; w++)
        if (sh->nwin & (1 << w))
            MPI_Win_sync(sh->win[w]);
}

int als_shm_exchange(als_shm_t *sh, int which, int64_t k, const int64_t *beg, const double *blk)
{
    int rank;
    MPI_Comm_rank(sh->comm, &rank);
    double *all = sh->base[which];
    if (blk) {
        /* The other ranks of the node may still read the old rows. */
        als_shm_fence(sh);
        memcpy(all + beg[rank] * k, blk, (size_t)((beg[rank + 1] - beg[rank]) * k) * sizeof *all);
    }
    int rc = MPI_SUCCESS;
    if (sh->nnodes > 1) {
        /* Other nodes' rows may be read until every rank of the node is done. */
        if (!blk)
            als_shm_fence(sh);
        int64_t *start = sh->bstart, *cnt = start + sh->nnodes;
        for (int q = 0; q < sh->nnodes; q++) {
            int r = sh->bridge_world[q];
            start[q] = beg[r];
            cnt[q] = beg[r + 1] - beg[r];
        }
        rc = als_allgather_rows_at(sh->bridge, all, k, start, cnt);
    }
    als_shm_fence(sh);
    return rc;
}

int64_t als_shm_peer_rows(const als_shm_t *sh, const int64_t *beg)
{
    int rank;
    MPI_Comm_rank(sh->comm, &rank);
    int64_t rows = 0;
    for (int q = 0; q < sh->nnodes; q++) {
        int r = sh->bridge_world[q];
        rows += r != rank ? beg[r + 1] - beg[r] : 0;
    }
    return rows;
}

void als_shm_free(als_shm_t *sh)
{
    if (!sh->ready)
        return;
    for (int w = 0; w < 2; w++)
        if (sh->nwin & (1 << w)) {
            MPI_Win_unlock_all(sh->win[w]);
            MPI_Win_free(&sh->win[w]);
        }
    sh->nwin = 0;
    if (sh->bridge != MPI_COMM_NULL)
        MPI_Comm_free(&sh->bridge);
    if (sh->node != MPI_COMM_NULL)
        MPI_Comm_free(&sh->node);
    free(sh->bridge_world);
    free(sh->bstart);
    sh->bridge_world = NULL;
    sh->bstart = NULL;
    sh->ready = 0;
}
