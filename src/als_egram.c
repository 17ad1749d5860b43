/* als_egram.c - exact, reproducible Y'Y (see als_egram.h). */
#include "als_egram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "als_rsum.h"

typedef __int128 i128;

/* The four 32-bit limbs of x (low three unsigned, top one signed). */
static void limbs(i128 x, int64_t *w)
{
    for (int i = 0; i < 3; i++)
        w[i] = (int64_t)(uint32_t)(x >> (32 * i));
    w[3] = (int64_t)(x >> 96);
}

int als_egram_allreduce(MPI_Comm comm, int k, int64_t nrows, const double *Y, double *G)
{
    const int64_t nent = (int64_t)k * (k + 1) / 2;
    /* Scale: the largest |Y| over all ranks (exact MAX), NaN-aware. */
    double mx[2] = {0.0, 0.0}; /* max |y|, non-finite seen */
    for (int64_t x = 0; x < nrows * k; x++) {
        double a = fabs(Y[x]);
        if (!isfinite(a))
            mx[1] = 1.0;
        else if (a > mx[0])
            mx[0] = a;
    }
    MPI_Allreduce(MPI_IN_PLACE, mx, 2, MPI_DOUBLE, MPI_MAX, comm);
    int64_t *words = calloc((size_t)(8 * nent + 1), sizeof *words);
    i128 *acc = calloc((size_t)(2 * nent + 1), sizeof *acc);
    int fail = !words || !acc, anyfail = 0;
    MPI_Allreduce(&fail, &anyfail, 1, MPI_INT, MPI_MAX, comm);
    if (anyfail) {
        free(words);
        free(acc);
        return -1;
    }
    if (mx[1] != 0.0) {
        for (int64_t x = 0; x < (int64_t)k * k; x++)
            G[x] = NAN;
        free(words);
        free(acc);
        return 0;
    }
    int e = 0;
    if (mx[0] > 0.0)
        frexp(mx[0], &e); /* mx < 2^e */
    const double up = ldexp(1.0, 62 - 2 * e), frac = 0x1p62;
#pragma omp parallel
    {
        i128 *my = calloc((size_t)(2 * nent + 1), sizeof *my);
        if (!my)
            abort();
#pragma omp for schedule(static)
        for (int64_t t = 0; t < nrows; t++) {
            const double *y = Y + t * k;
            int64_t ent = 0;
            for (int a = 0; a < k; a++) {
                const double ya = y[a];
                for (int c = a; c < k; c++, ent++) {
                    double v = ya * y[c] * up;        /* exact scaling, |v| < 2^62 */
                    int64_t hi = (int64_t)v;           /* truncation toward zero */
                    int64_t lo = (int64_t)((v - (double)hi) * frac); /* v - hi exact */
                    my[2 * ent] += hi;
                    my[2 * ent + 1] += lo;
                }
            }
        }
#pragma omp critical
        for (int64_t x = 0; x < 2 * nent; x++)
            acc[x] += my[x];
        free(my);
    }
    for (int64_t x = 0; x < 2 * nent; x++)
        limbs(acc[x], words + 4 * x);
    MPI_Allreduce(MPI_IN_PLACE, words, (int)(8 * nent), MPI_INT64_T, MPI_SUM, comm);
    /* Entry = (hi + lo 2^-62) 2^(2e - 62), each limb an exact double. */
    int64_t ent = 0;
    for (int a = 0; a < k; a++)
        for (int c = a; c < k; c++, ent++) {
            als_rsum_t s;
            als_rsum_init(&s);
            for (int i = 0; i < 4; i++) {
                als_rsum_add(&s, ldexp((double)words[8 * ent + i], 32 * i + 2 * e - 62));
                als_rsum_add(&s, ldexp((double)words[8 * ent + 4 + i], 32 * i + 2 * e - 124));
            }
            G[(int64_t)a * k + c] = G[(int64_t)c * k + a] = als_rsum_value(&s);
        }
    free(words);
    free(acc);
    return 0;
}
