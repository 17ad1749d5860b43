/* als_rsum.c - exact, reproducible sums of doubles across threads and ranks. */
#include "als_rsum.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RSUM_BIAS 1074 /* bit 0 of limb 0 has weight 2^-1074 */

void als_rsum_init(als_rsum_t *a)
{
    memset(a, 0, sizeof *a);
}

/* Bring every limb but the top one into [0, 2^32); the top limb keeps the
 * sign (floor division carries). */
void als_rsum_normalize(als_rsum_t *a)
{
    for (int i = 0; i < ALS_RSUM_LIMBS - 1; i++) {
        int64_t c = a->limb[i] >> 32; /* arithmetic shift: floor(limb / 2^32) */
        a->limb[i] -= c * ((int64_t)1 << 32);
        a->limb[i + 1] += c;
    }
    a->pending = 0;
}

void als_rsum_merge(als_rsum_t *dst, const als_rsum_t *src)
{
    als_rsum_t s = *src;
    als_rsum_normalize(&s);
    als_rsum_normalize(dst);
    for (int i = 0; i < ALS_RSUM_LIMBS; i++)
        dst->limb[i] += s.limb[i];
    dst->pending = 1;
    dst->npinf += s.npinf;
    dst->nninf += s.nninf;
    dst->nnan += s.nnan;
}

double als_rsum_value(const als_rsum_t *in)
{
    if (in->nnan || (in->npinf && in->nninf))
        return NAN;
    if (in->npinf)
        return INFINITY;
    if (in->nninf)
        return -INFINITY;
    als_rsum_t a = *in;
    als_rsum_normalize(&a);
    double sign = 1.0;
    if (a.limb[ALS_RSUM_LIMBS - 1] < 0) { /* negate: two's complement over limbs */
        sign = -1.0;
        for (int i = 0; i < ALS_RSUM_LIMBS; i++)
            a.limb[i] = -a.limb[i];
        als_rsum_normalize(&a);
    }
    int t = ALS_RSUM_LIMBS - 1;
    while (t >= 0 && a.limb[t] == 0)
        t--;
    if (t < 0)
        return 0.0;
    /* The top 128 bits (limbs t..t-3) and a sticky bit for everything below. */
    unsigned __int128 h = 0;
    for (int i = t; i > t - 4; i--)
        h = (h << 32) | (uint64_t)(i >= 0 ? a.limb[i] : 0);
    int sticky = 0;
    for (int i = t - 4; i >= 0; i--)
        sticky |= a.limb[i] != 0;
    /* Shift so that the top bit is bit 127, then keep 64 bits; fold the
     * dropped bits into bit 0 so the int->double conversion rounds right. */
    int lz = 0;
    while (!((h >> 127) & 1)) {
        h <<= 1;
        lz++;
    }
    uint64_t top = (uint64_t)(h >> 64);
    sticky |= (uint64_t)h != 0;
    top |= (uint64_t)sticky;
    /* h before the shift had weight 2^(32 (t-3) - 1074) at bit 0. */
    int exp0 = 32 * (t - 3) - RSUM_BIAS - lz + 64;
    return sign * ldexp((double)top, exp0);
}

int als_rsum_allreduce(MPI_Comm comm, als_rsum_t *a, int count)
{
    const int w = ALS_RSUM_LIMBS + 3;
    int64_t *buf = malloc((size_t)count * w * sizeof *buf);
    if (!buf)
        return MPI_ERR_NO_MEM;
    for (int c = 0; c < count; c++) {
        als_rsum_normalize(&a[c]);
        memcpy(buf + (size_t)c * w, a[c].limb, sizeof a[c].limb);
        buf[(size_t)c * w + ALS_RSUM_LIMBS] = a[c].npinf;
        buf[(size_t)c * w + ALS_RSUM_LIMBS + 1] = a[c].nninf;
        buf[(size_t)c * w + ALS_RSUM_LIMBS + 2] = a[c].nnan;
    }
    /* Limbs are in [0, 2^32) (top limb signed, tiny): sums over up to 2^31
     * ranks stay inside int64. */
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, count * w, MPI_INT64_T, MPI_SUM, comm);
    for (int c = 0; c < count && rc == MPI_SUCCESS; c++) {
        memcpy(a[c].limb, buf + (size_t)c * w, sizeof a[c].limb);
        a[c].npinf = buf[(size_t)c * w + ALS_RSUM_LIMBS];
        a[c].nninf = buf[(size_t)c * w + ALS_RSUM_LIMBS + 1];
        a[c].nnan = buf[(size_t)c * w + ALS_RSUM_LIMBS + 2];
        a[c].pending = 1;
        als_rsum_normalize(&a[c]);
    }
    free(buf);
    return rc;
}

int als_rsum_allreduce_doubles(MPI_Comm comm, const double *x, double *out, int count)
{
    als_rsum_t *a = malloc((size_t)(count + 1) * sizeof *a);
    if (!a)
        return MPI_ERR_NO_MEM;
    for (int c = 0; c < count; c++) {
        als_rsum_init(&a[c]);
        als_rsum_add(&a[c], x[c]);
    }
    int rc = als_rsum_allreduce(comm, a, count);
    for (int c = 0; c < count && rc == MPI_SUCCESS; c++)
        out[c] = als_rsum_value(&a[c]);
    free(a);
    return rc;
}
