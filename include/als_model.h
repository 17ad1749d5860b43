/* als_model.h - a saved model (the --out directory of als-train), read back.
 *
 * U.npy (m×k), V.npy (n×k), user_ids.txt, item_ids.txt and, from
 * metrics.json, the training rating range dataset.rating_min/rating_max that
 * predictions are clipped to (als-train writes it at full precision).
 */
#ifndef ALS_MODEL_H
#define ALS_MODEL_H

#include <stdint.h>
#include "als_error.h"

typedef struct {
    int64_t m, n, k;
    double *U, *V;            /* m×k, n×k row-major */
    uint64_t *user_ids, *item_ids;
    double rmin, rmax;        /* training rating range (NaN if not found and not needed) */
} als_model_t;

/* Read DIR's files; need_range: metrics.json's rating range is required.
 * Shapes are checked against each other. Local. */
int als_model_read(const char *dir, int need_range, als_model_t *mod, als_err_t *err);
void als_model_free(als_model_t *mod);

#endif
