/* als_model.c - reading a saved model directory. */
#include "als_model.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "als_cli.h"
#include "als_npy.h"

void als_model_free(als_model_t *mod)
{
    free(mod->U);
    free(mod->V);
    free(mod->user_ids);
    free(mod->item_ids);
    memset(mod, 0, sizeof *mod);
}

/* The number after "key": in a JSON text (the keys are unique in metrics.json). */
static int json_number(const char *text, const char *key, double *v)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(text, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    char *end;
    errno = 0;
    double x = strtod(p, &end);
    if (end == p || errno == ERANGE)
        return -1;
    *v = x;
    return 0;
}

static int read_range(const char *dir, als_model_t *mod, als_err_t *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return als_err_set(err, ALS_ERR_IO, "%s: cannot open: %s (the rating range used for "
                           "clipping comes from it)", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap + 1);
    while (text) {
        size_t k = fread(text + len, 1, cap - len, f);
        len += k;
        if (len < cap)
            break;
        char *t = realloc(text, 2 * cap + 1);
        if (!t) {
            free(text);
            text = NULL;
            break;
        }
        text = t;
        cap *= 2;
    }
    fclose(f);
    if (!text)
        return als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory", path);
    text[len] = '\0';
    int rc = ALS_OK;
    if (json_number(text, "rating_min", &mod->rmin) || json_number(text, "rating_max", &mod->rmax))
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: no dataset.rating_min/rating_max (not written "
                         "by als-train?)", path);
    free(text);
    return rc;
}

int als_model_read(const char *dir, int need_range, als_model_t *mod, als_err_t *err)
{
    memset(mod, 0, sizeof *mod);
    mod->rmin = mod->rmax = NAN;
    char path[4200];
    int64_t rows, cols, vrows, vcols, nu, ni;
    int rc;
    snprintf(path, sizeof path, "%s/U.npy", dir);
    if ((rc = als_npy_read(path, &mod->U, &rows, &cols, err)) != ALS_OK)
        goto fail;
    snprintf(path, sizeof path, "%s/V.npy", dir);
    if ((rc = als_npy_read(path, &mod->V, &vrows, &vcols, err)) != ALS_OK)
        goto fail;
    snprintf(path, sizeof path, "%s/user_ids.txt", dir);
    if ((rc = als_cli_read_ids(path, &mod->user_ids, &nu, err)) != ALS_OK)
        goto fail;
    snprintf(path, sizeof path, "%s/item_ids.txt", dir);
    if ((rc = als_cli_read_ids(path, &mod->item_ids, &ni, err)) != ALS_OK)
        goto fail;
    if (cols != vcols || rows != nu || vrows != ni) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: inconsistent model: U.npy %" PRId64 "x%" PRId64
                         ", V.npy %" PRId64 "x%" PRId64 ", %" PRId64 " user ids, %" PRId64
                         " item ids", dir, rows, cols, vrows, vcols, nu, ni);
        goto fail;
    }
    for (int64_t t = 1; t < nu; t++)
        if (mod->user_ids[t] <= mod->user_ids[t - 1]) {
            rc = als_err_set(err, ALS_ERR_FORMAT, "%s/user_ids.txt:%" PRId64 ": ids not ascending",
                             dir, t + 1);
            goto fail;
        }
    for (int64_t t = 1; t < ni; t++)
        if (mod->item_ids[t] <= mod->item_ids[t - 1]) {
            rc = als_err_set(err, ALS_ERR_FORMAT, "%s/item_ids.txt:%" PRId64 ": ids not ascending",
                             dir, t + 1);
            goto fail;
        }
    mod->m = rows;
    mod->n = vrows;
    mod->k = cols;
    if (need_range && (rc = read_range(dir, mod, err)) != ALS_OK)
        goto fail;
    return ALS_OK;
fail:
    als_model_free(mod);
    return rc;
}
