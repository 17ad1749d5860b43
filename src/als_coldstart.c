/* als_coldstart.c - test metrics of cold-start users. */
#include "als_coldstart.h"

#include <math.h>

void als_coldstart_eval(als_solver_t *s, const als_testset_t *t, als_coldstart_t *cs)
{
    const als_data_t *d = s->data;
    int64_t mine = 0;
    for (int64_t u = 0; u < d->u1 - d->u0; u++)
        mine += d->uptr[u + 1] == d->uptr[u];
    MPI_Allreduce(&mine, &cs->users, 1, MPI_INT64_T, MPI_SUM, s->comm);
    cs->n = 0;
    cs->rmse = cs->mae = cs->mean_rmse = cs->item_bias_rmse = NAN;
    if (!t)
        return;
    als_testmetrics_t m;
    als_solver_test_dist(s, &m);
    cs->n = m.cold_n;
    cs->rmse = m.cold_rmse;
    cs->mae = m.cold_mae;
    cs->mean_rmse = m.cold_mean_rmse;
    cs->item_bias_rmse = m.cold_item_bias_rmse;
}
