/* als_coldstart.c - test metrics of cold-start users. */
#include "als_coldstart.h"

#include <math.h>
#include <stdlib.h>

#include "als_exchange.h"

static double clip(double p, double lo, double hi) { return p < lo ? lo : (p > hi ? hi : p); }

void als_coldstart_eval(const als_solver_t *s, const als_testset_t *t, als_coldstart_t *cs)
{
    const als_data_t *d = s->data;
    int64_t nu = d->u1 - d->u0;
    /* 1.0 for each of this rank's users without ratings, gathered. */
    double *mine = malloc((size_t)(nu + 1) * sizeof *mine);
    double *all = malloc((size_t)(d->m + 1) * sizeof *all);
    if (!mine || !all)
        ALS_ABORT("out of memory for the cold-start flags");
    for (int64_t u = 0; u < nu; u++)
        mine[u] = d->uptr[u + 1] == d->uptr[u];
    als_allgather_rows(s->comm, mine, all, 1, d->ubeg);
    cs->users = 0;
    for (int64_t u = 0; u < d->m; u++)
        cs->users += all[u] != 0.0;
    cs->n = 0;
    cs->rmse = cs->mae = cs->mean_rmse = cs->item_bias_rmse = NAN;
    if (s->rank == 0 && t) {
        const int k = s->k, kb = s->latent; /* with --bias, V[j][kb + 1] = c_j */
        double se = 0, ae = 0, sem = 0, seb = 0;
        for (int64_t x = 0; x < t->n; x++) {
            if (all[t->u[x]] == 0.0)
                continue;
            const double *u = s->U + t->u[x] * k, *v = s->V + t->i[x] * k;
            double p = 0;
            for (int c = 0; c < k; c++)
                p += u[c] * v[c];
            double e = t->r[x] - clip(p, d->rmin, d->rmax);
            double em = t->r[x] - d->rmean;
            se += e * e;
            ae += fabs(e);
            sem += em * em;
            if (s->opt->bias) {
                double eb = t->r[x] - clip(d->rmean + v[kb + 1], d->rmin, d->rmax);
                seb += eb * eb;
            }
            cs->n++;
        }
        if (cs->n) {
            cs->rmse = sqrt(se / cs->n);
            cs->mae = ae / cs->n;
            cs->mean_rmse = sqrt(sem / cs->n);
            if (s->opt->bias)
                cs->item_bias_rmse = sqrt(seb / cs->n);
        }
    }
    free(mine);
    free(all);
}
