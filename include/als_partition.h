/* als_partition.h - reporting the block plan: the one als-partition predicts
 * and the one als-train uses, printed by the same als_planstats_print with
 * the same ghost-row definitions (als_planstats.h).
 */
#ifndef ALS_PARTITION_H
#define ALS_PARTITION_H

#include <stdio.h>
#include <mpi.h>

#include "als_dataset.h"
#include "als_error.h"

/* The plans for np rank counts plist[0..np) of the whole dataset g for the
 * plan model pm (als_plan.h) with `threads` threads per rank, printed to
 * out one after the other: the plan als_data_scatter and als_data_load_binary
 * compute (same als_plan_blocks), its per-rank figures and summary lines
 * (als_planstats_print; with_table = 0: summary lines only; rpn > 0 adds
 * --exchange shared's figures for nodes of rpn consecutive ranks). Local.
 * Returns ALS_OK or ALS_ERR_NOMEM. */
int als_partition_print_global(FILE *out, const als_global_t *g, int np, const int *plist,
                               als_plan_model_t pm, int threads, int rpn, int with_table,
                               als_err_t *err);

/* The same from a binary dataset: its row pointers and index sections only
 * (verified; the values are not read). Local. */
int als_partition_print_binary(FILE *out, const char *path, int np, const int *plist,
                               als_plan_model_t pm,
                               int threads, int rpn, int with_table, als_err_t *err);

/* The same from the index arrays (W: wptr/wcol, may be NULL); out may be
 * NULL (no printing); ghost_total (np entries, may be NULL) receives each
 * plan's ghost rows summed over ranks (U + V). Local. */
int als_partition_print_arrays(FILE *out, int np, const int *plist, als_plan_model_t pm,
                               int threads,
                               int rpn, int with_table, int64_t m, int64_t n, const int64_t *uptr,
                               const int64_t *ucol, const int64_t *iptr, const int64_t *irow,
                               const int64_t *wptr, const int64_t *wcol, int64_t *ghost_total,
                               als_err_t *err);

/* Read a binary dataset's row pointers and index sections (verified; the
 * values are not read) into new arrays (the caller frees them). Local. */
int als_partition_load_index(const char *path, int64_t *m, int64_t *n, int64_t **uptr,
                             int64_t **ucol, int64_t **iptr, int64_t **irow, int64_t **wptr,
                             int64_t **wcol, als_err_t *err);

/* Collective: the plan d was distributed by (d->ubeg, d->ibeg) with every
 * rank's actual local counts and ghost rows (from its own CSR, CSC and W
 * indices; rows sent summed over ranks with one MPI_Reduce of 2p counts),
 * printed by rank 0 to out (ignored on other ranks, may be NULL). */
void als_partition_print_data(MPI_Comm comm, const als_data_t *d, als_plan_model_t pm,
                              int threads, FILE *out);

#endif
