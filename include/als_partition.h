/* als_partition.h - reporting the block plan: the one als-partition predicts
 * and the one als-train uses, printed by the same als_plan_print.
 */
#ifndef ALS_PARTITION_H
#define ALS_PARTITION_H

#include <stdio.h>
#include <mpi.h>

#include "als_dataset.h"
#include "als_error.h"

/* The plan for p ranks of the whole dataset g, printed to out. It is the plan
 * als_data_scatter and als_data_load_binary compute (same work counts, same
 * als_plan_blocks). Local. Returns ALS_OK or ALS_ERR_NOMEM. */
int als_partition_print_global(FILE *out, const als_global_t *g, int p, als_err_t *err);

/* The plan for p ranks of a binary dataset, read from its row-pointer
 * sections only (verified). Local. */
int als_partition_print_binary(FILE *out, const char *path, int p, als_err_t *err);

/* Collective: the plan d was distributed by (d->ubeg, d->ibeg) with every
 * rank's actual local counts, printed by rank 0 to out (out is ignored on
 * other ranks and may be NULL). */
void als_partition_print_data(MPI_Comm comm, const als_data_t *d, FILE *out);

#endif
