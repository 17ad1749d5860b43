/* als_coldstart.h - test metrics of cold-start users (no training ratings).
 *
 * A user with links but no training ratings gets its factor row only from
 * its neighbours through the social term. Their test pairs are scored
 * separately, beside the global-mean baseline (and, with --bias, the
 * item-bias baseline mu + c_j), so the benefit of the social term is visible.
 */
#ifndef ALS_COLDSTART_H
#define ALS_COLDSTART_H

#include <stdint.h>
#include "als_solver.h"

typedef struct {
    int64_t users;          /* users without training ratings (in the model) */
    int64_t n;              /* test pairs of such users */
    double rmse, mae;       /* the model on those pairs (NaN when n == 0) */
    double mean_rmse;       /* global-mean baseline on those pairs */
    double item_bias_rmse;  /* mu + c_j baseline (--bias only, else NaN) */
} als_coldstart_t;

/* Collective: counts the users without training ratings and scores the test
 * pairs of those users (each rank its own users' pairs, given to
 * als_solver_init_test; t only says whether there is a test set). The result
 * is the same on every rank. Predictions are clipped to the training range
 * as the headline's. */
void als_coldstart_eval(als_solver_t *s, const als_testset_t *t, als_coldstart_t *cs);

#endif
