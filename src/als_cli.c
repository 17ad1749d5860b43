/* als_cli.c - option parsing helpers of the tools. */
#include "als_cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int als_cli_int64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *v,
                  als_err_t *err)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        return als_err_set(err, ALS_ERR_ARG, "%s: '%s' is not an integer", opt, s);
    if (x < lo || x > hi)
        return als_err_set(err, ALS_ERR_ARG, "%s: %lld is out of range [%lld, %lld]", opt, x,
                           (long long)lo, (long long)hi);
    *v = x;
    return ALS_OK;
}

int als_cli_u64(const char *opt, const char *s, uint64_t *v, als_err_t *err)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || s[0] == '-')
        return als_err_set(err, ALS_ERR_ARG, "%s: '%s' is not an unsigned 64-bit integer", opt, s);
    *v = x;
    return ALS_OK;
}

int als_cli_double(const char *opt, const char *s, double lo, double hi, double *v,
                   als_err_t *err)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(x))
        return als_err_set(err, ALS_ERR_ARG, "%s: '%s' is not a finite number", opt, s);
    if (x < lo || x > hi)
        return als_err_set(err, ALS_ERR_ARG, "%s: %s is out of range [%g, %g]", opt, s, lo, hi);
    *v = x;
    return ALS_OK;
}

int als_cli_fail(const char *prog, const als_err_t *err)
{
    fprintf(stderr, "%s: error: %s\n", prog, err->msg);
    return err->code == ALS_ERR_ARG ? 2 : 1;
}

void als_cli_fmt_double(char *buf, size_t cap, double x)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}
