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

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there
 * are not one (stray continuation, overlong form, surrogate, > U+10FFFF,
 * truncated). */
static int utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    int n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

void als_buf_json_str(als_buf_t *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    als_buf_printf(b, "\"");
    while (*s) {
        unsigned char c = *s;
        int n = utf8_len(s);
        if (c == '"' || c == '\\')
            als_buf_printf(b, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            als_buf_printf(b, "\\u%04x", c);
        else if (n == 0) {
            /* Not UTF-8 (a path in another encoding): the four characters
             * \xHH, so the document stays valid UTF-8 JSON. */
            als_buf_printf(b, "\\\\x%02x", c);
            s++;
            continue;
        } else {
            als_buf_printf(b, "%.*s", n, (const char *)s);
            s += n;
            continue;
        }
        s++;
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
