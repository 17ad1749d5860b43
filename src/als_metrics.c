/* als_metrics.c - phase timers and a small JSON text builder. */
#include "als_metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *als_phase_name(als_phase_t p)
{
    static const char *names[ALS_T_NPHASES] = {"read", "distribute", "gram", "solve",
                                               "exchange", "evaluate", "write"};
    return (unsigned)p < ALS_T_NPHASES ? names[p] : "?";
}

void als_timers_reduce(MPI_Comm comm, const double *t, als_timer_summary_t *s)
{
    int p;
    MPI_Comm_size(comm, &p);
    double sum[ALS_T_NPHASES];
    MPI_Allreduce(t, s->min, ALS_T_NPHASES, MPI_DOUBLE, MPI_MIN, comm);
    MPI_Allreduce(t, s->max, ALS_T_NPHASES, MPI_DOUBLE, MPI_MAX, comm);
    MPI_Allreduce(t, sum, ALS_T_NPHASES, MPI_DOUBLE, MPI_SUM, comm);
    for (int i = 0; i < ALS_T_NPHASES; i++)
        s->avg[i] = sum[i] / p;
}

static void reserve(als_buf_t *b, size_t extra)
{
    if (b->failed || b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->failed = 1;
        return;
    }
    b->s = s;
    b->cap = cap;
}

void als_buf_printf(als_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    if (b->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void als_buf_json_str(als_buf_t *b, const char *s)
{
    als_buf_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            als_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            als_buf_printf(b, "\\u%04x", c);
        else
            als_buf_printf(b, "%c", c);
    }
    als_buf_printf(b, "\"");
}

void als_buf_json_num(als_buf_t *b, double x)
{
    if (isfinite(x))
        als_buf_printf(b, "%.17g", x);
    else
        als_buf_printf(b, "null");
}

const char *als_fmt_metric(char *buf, size_t cap, int width, int prec, double x)
{
    if (isfinite(x))
        snprintf(buf, cap, "%*.*f", width, prec, x);
    else
        snprintf(buf, cap, "%*s", width, "-");
    return buf;
}

void als_buf_free(als_buf_t *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}
