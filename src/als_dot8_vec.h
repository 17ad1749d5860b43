/* als_dot8_vec.h - als_dot8 (include/als_kernels.h) for four rows at once on
 * AVX-512 / AVX2 vectors, bit for bit (internal to src/: x86-64 with GCC or
 * clang only).
 *
 * als_dot8 keeps 8 lane sums s_l (lane l takes the coordinates c = l mod 8,
 * each product rounded then added: no FMA) and combines them in the fixed
 * tree ((s0+s4)+(s1+s5))+((s2+s6)+(s3+s7)). A zmm (or a lo/hi ymm pair)
 * holds one row's 8 lane sums; the tree functions below combine four rows'
 * sums at once with shuffles that pair exactly the same lanes in the same
 * order, so every result has als_dot8's bits. Lanes start at +0 and add the
 * products (0 + (-0) = +0, as in the C code).
 *
 * Any k: the last k mod 8 coordinates (als_dot8's tail, c & 7 = their lane)
 * come from masked loads that read nothing past a row's end and give 0 in
 * the other lanes, whose products 0 * 0 = +0 are then added to every lane.
 * That leaves those lanes' sums unchanged: a lane sum starts at +0 and is
 * never -0 (+0 + -0 = +0), and s + +0 = s for every other s, NaN and Inf
 * included. */
#ifndef ALS_DOT8_VEC_H
#define ALS_DOT8_VEC_H

#include <immintrin.h>

#define ALS_D8_512 __attribute__((target("avx512f"), always_inline)) static inline
/* The four trees of rows 0..3's lane sums a, b, c, d, as a vector
 * [a, b, c, d] in a register. */
ALS_D8_512 __m256d als_d8_tree4_512v(__m512d a, __m512d b, __m512d c, __m512d d)
{
    /* t = lanes 0..3 + lanes 4..7: [a t0..t3, b t0..t3], [c .., d ..]. */
    __m512d ab = _mm512_add_pd(_mm512_shuffle_f64x2(a, b, 0x44), _mm512_shuffle_f64x2(a, b, 0xee));
    __m512d cd = _mm512_add_pd(_mm512_shuffle_f64x2(c, d, 0x44), _mm512_shuffle_f64x2(c, d, 0xee));
    /* u0 = t0 + t1, u1 = t2 + t3: [a u0, c u0 | a u1, c u1 | b u0, d u0 | b u1, d u1]. */
    __m512d u = _mm512_add_pd(_mm512_unpacklo_pd(ab, cd), _mm512_unpackhi_pd(ab, cd));
    /* u0 + u1: v = [a, c, b, d, ...]; put the low four lanes in row order. */
    __m512d v = _mm512_add_pd(_mm512_shuffle_f64x2(u, u, 0x88), _mm512_shuffle_f64x2(u, u, 0xdd));
    const __m512i order = _mm512_setr_epi64(0, 2, 1, 3, 4, 5, 6, 7);
    return _mm512_castpd512_pd256(_mm512_permutexvar_pd(order, v));
}

/* s[j] = the tree of row j's lane sums (a, b, c, d: rows 0..3). */
ALS_D8_512 void als_d8_tree4_512(__m512d a, __m512d b, __m512d c, __m512d d, double s[4])
{
    _mm256_storeu_pd(s, als_d8_tree4_512v(a, b, c, d));
}

#define ALS_D8_256 __attribute__((target("avx2"), always_inline)) static inline
/* The four trees of rows whose 8 lane sums are (lo, hi) ymm pairs, as a
 * vector [a, b, c, d] in a register. */
ALS_D8_256 __m256d als_d8_tree4_256v(__m256d lo0, __m256d hi0, __m256d lo1, __m256d hi1,
                                     __m256d lo2, __m256d hi2, __m256d lo3, __m256d hi3)
{
    __m256d ta = _mm256_add_pd(lo0, hi0), tb = _mm256_add_pd(lo1, hi1);
    __m256d tc = _mm256_add_pd(lo2, hi2), td = _mm256_add_pd(lo3, hi3);
    __m256d ab = _mm256_hadd_pd(ta, tb); /* [a u0, b u0, a u1, b u1] */
    __m256d cd = _mm256_hadd_pd(tc, td); /* [c u0, d u0, c u1, d u1] */
    return _mm256_add_pd(_mm256_permute2f128_pd(ab, cd, 0x20), _mm256_permute2f128_pd(ab, cd, 0x31));
}

/* The same for four rows whose 8 lane sums are (lo, hi) ymm pairs: [a, b, c, d]. */
ALS_D8_256 void als_d8_tree4_256(const __m256d lo[4], const __m256d hi[4], double s[4])
{
    _mm256_storeu_pd(s, als_d8_tree4_256v(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2], lo[3], hi[3]));
}

/* acc + y[kf..k) * x[kf..k) in lanes 0..k-kf-1, the other lanes unchanged
 * (kf = k rounded down to 8; xt: x's tail, zero-masked; m: its mask). */
ALS_D8_512 __m512d als_d8_tail_512(__m512d acc, const double *y, int kf, __m512d xt, __mmask8 m)
{
    return _mm512_add_pd(acc, _mm512_mul_pd(_mm512_maskz_loadu_pd(m, y + kf), xt));
}

/* The tail mask of k: lanes 0..k mod 8 - 1. */
ALS_D8_512 __mmask8 als_d8_mask_512(int k)
{
    return (__mmask8)((1u << (k & 7)) - 1u);
}

/* s[j] = als_dot8(y[j], x) for j < m (1 <= m <= 4; any k). */
ALS_D8_512 void als_d8_dots4_512(int k, const double *const y[4], int m, const double *x,
                                 double s[4])
{
    const __m512d z = _mm512_setzero_pd();
    const int kf = k & ~7;
    const __mmask8 tm = als_d8_mask_512(k);
    const __m512d xt = _mm512_maskz_loadu_pd(tm, x + kf);
    __m512d acc[4] = {z, z, z, z};
    for (int j = 0; j < m; j++) {
        for (int c = 0; c < kf; c += 8)
            acc[j] = _mm512_add_pd(acc[j],
                                   _mm512_mul_pd(_mm512_loadu_pd(y[j] + c), _mm512_loadu_pd(x + c)));
        if (tm)
            acc[j] = als_d8_tail_512(acc[j], y[j], kf, xt, tm);
    }
    als_d8_tree4_512(acc[0], acc[1], acc[2], acc[3], s);
}

/* The tail of k for a (lo, hi) pair: masks of lanes 0..k mod 8 - 1 split
 * into the lo and hi halves, and x's tail loaded under them (zero elsewhere). */
typedef struct {
    __m256i mlo, mhi;
    __m256d xlo, xhi;
    int any_lo, any_hi;
} als_d8_tail256_t;

ALS_D8_256 als_d8_tail256_t als_d8_tail_setup_256(int k, const double *x)
{
    const int r = k & 7, kf = k & ~7;
    const __m256i iota = _mm256_setr_epi64x(0, 1, 2, 3);
    als_d8_tail256_t t;
    t.mlo = _mm256_cmpgt_epi64(_mm256_set1_epi64x(r < 4 ? r : 4), iota);
    t.mhi = _mm256_cmpgt_epi64(_mm256_set1_epi64x(r > 4 ? r - 4 : 0), iota);
    t.any_lo = r > 0;
    t.any_hi = r > 4;
    t.xlo = _mm256_maskload_pd(x + kf, t.mlo);
    t.xhi = _mm256_maskload_pd(x + kf + 4, t.mhi);
    return t;
}

/* (lo, hi) plus y's tail times x's in the tail lanes, the others unchanged. */
ALS_D8_256 void als_d8_tail_256(__m256d *lo, __m256d *hi, const double *y, int kf,
                                const als_d8_tail256_t *t)
{
    if (t->any_lo)
        *lo = _mm256_add_pd(*lo, _mm256_mul_pd(_mm256_maskload_pd(y + kf, t->mlo), t->xlo));
    if (t->any_hi)
        *hi = _mm256_add_pd(*hi, _mm256_mul_pd(_mm256_maskload_pd(y + kf + 4, t->mhi), t->xhi));
}

ALS_D8_256 void als_d8_dots4_256(int k, const double *const y[4], int m, const double *x,
                                 double s[4])
{
    const __m256d z = _mm256_setzero_pd();
    const int kf = k & ~7;
    const als_d8_tail256_t tail = als_d8_tail_setup_256(k, x);
    __m256d lo[4] = {z, z, z, z}, hi[4] = {z, z, z, z};
    for (int j = 0; j < m; j++) {
        for (int c = 0; c < kf; c += 8) {
            lo[j] = _mm256_add_pd(lo[j], _mm256_mul_pd(_mm256_loadu_pd(y[j] + c),
                                                       _mm256_loadu_pd(x + c)));
            hi[j] = _mm256_add_pd(hi[j], _mm256_mul_pd(_mm256_loadu_pd(y[j] + c + 4),
                                                       _mm256_loadu_pd(x + c + 4)));
        }
        als_d8_tail_256(&lo[j], &hi[j], y[j], kf, &tail);
    }
    als_d8_tree4_256(lo, hi, s);
}

#endif
