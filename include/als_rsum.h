/* als_rsum.h - exact, reproducible sums of doubles across threads and ranks.
 *
 * A sum of per-row terms reduced over ranks in the usual way depends on the
 * number of ranks and on the order of arrival. Here every term is added
 * exactly into a fixed-point "superaccumulator" that spans the whole double
 * range (2^-1074 .. 2^1024 plus 64 bits of headroom) in 32-bit limbs held in
 * int64 words; limbs are summed with MPI_Allreduce(MPI_SUM) on integers, which
 * is exact and associative. The result is the exact sum rounded once to the
 * nearest double, so its bits depend only on the multiset of terms: not on P,
 * threads, blocking or order. Non-finite terms make the result NaN or ±Inf as
 * IEEE addition would.
 *
 * Cost: an add is a bit extraction, a 128-bit shift and three integer adds; one
 * reduction moves (ALS_RSUM_LIMBS + 3) int64 per sum (568 bytes).
 */
#ifndef ALS_RSUM_H
#define ALS_RSUM_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <mpi.h>

#define ALS_RSUM_LIMBS 70

typedef struct {
    int64_t limb[ALS_RSUM_LIMBS]; /* value = sum limb[i] * 2^(32 i - 1074) */
    int64_t pending;              /* adds since the last carry normalization */
    int64_t npinf, nninf, nnan;   /* non-finite terms seen */
} als_rsum_t;

/* Local: an empty sum. */
void als_rsum_init(als_rsum_t *a);
/* Local: bring every limb but the top one into [0, 2^32) (carries). */
void als_rsum_normalize(als_rsum_t *a);
/* Local: a += x, exactly (inline: it runs once per row in the loss). */
static inline void als_rsum_add(als_rsum_t *a, double x)
{
    if (!isfinite(x)) {
        if (isnan(x))
            a->nnan++;
        else if (x > 0)
            a->npinf++;
        else
            a->nninf++;
        return;
    }
    if (x == 0.0)
        return;
    /* |x| = m 2^(pos - 1074) read off the bits: a normal number's 52-bit
     * fraction with its hidden bit (pos = biased exponent - 1), a subnormal's
     * fraction alone (pos = 0). Exact, and no libm calls on the hot path. */
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int be = (int)((bits >> 52) & 0x7ff);
    uint64_t m = bits & (((uint64_t)1 << 52) - 1);
    int pos = 0;
    if (be) {
        m |= (uint64_t)1 << 52;
        pos = be - 1;
    }
    unsigned __int128 v = (unsigned __int128)m << (pos & 31);
    int l = pos >> 5;
    int64_t w0 = (int64_t)(uint32_t)v, w1 = (int64_t)(uint32_t)(v >> 32),
            w2 = (int64_t)(uint32_t)(v >> 64);
    if (x < 0) {
        w0 = -w0; w1 = -w1; w2 = -w2;
    }
    a->limb[l] += w0;
    a->limb[l + 1] += w1;
    a->limb[l + 2] += w2;
    /* Each add changes a limb by less than 2^32: 2^30 adds stay in int64. */
    if (++a->pending >= ((int64_t)1 << 30))
        als_rsum_normalize(a);
}

/* Local: dst += src, exactly. */
void als_rsum_merge(als_rsum_t *dst, const als_rsum_t *src);
/* Local: the exact sum rounded to the nearest double (ties to even; results
 * in the subnormal range may be rounded twice). */
double als_rsum_value(const als_rsum_t *a);
/* Collective over comm: replace each of a[0..count) by its sum over all
 * ranks (exact). Returns an MPI error code. */
int als_rsum_allreduce(MPI_Comm comm, als_rsum_t *a, int count);
/* Collective: the exactly rounded sum over ranks of every rank's x[0..count)
 * (x[c] summed over ranks into out[c]); out may alias x. */
int als_rsum_allreduce_doubles(MPI_Comm comm, const double *x, double *out, int count);

#endif
