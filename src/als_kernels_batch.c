/* als_kernels_batch.c - batched SPD solves in the "compact" layout (local).
 *
 * Several rows' k×k normal equations are solved at once, one system per SIMD
 * lane (4 per ymm for AVX2+FMA, 8 per zmm for AVX-512, 4 per GCC vector for
 * the portable path): the systems are packed (transposed) into interleaved
 * vectors, factored and solved by the template in als_kernels_compact.h, and
 * the solutions unpacked. Per lane the arithmetic is exactly the canonical
 * order of the single-system solve of the same ISA (als_kernels.c), so the
 * result of a system is bitwise independent of the batch it is in, of its
 * lane, and of the other systems (lanes never mix).
 *
 * The entry points are internal (als_kernels_internal.h); the public API is
 * als_solve_spd_batch in als_kernels.h.
 */
#include "als_kernels_internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ALS_HAVE_X86 1
#else
#define ALS_HAVE_X86 0
#endif

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* k rounded up to a multiple of L: the row stride of the compact matrix. */
static inline int64_t ck_stride(int k, int L)
{
    return ((int64_t)k + L - 1) / L * L;
}

/* Doubles of one group's P (k rows × kc), Y and INV (kc each). */
static inline int64_t ck_group_size(int k, int L)
{
    int64_t kc = ck_stride(k, L);
    return ((int64_t)k * kc + 2 * kc) * L;
}

int64_t als__compact_ws_size(int k, int L, int ng)
{
    return ng * ck_group_size(k, L) + 8; /* 8 for the alignment */
}

/* First column packed in row i: the update tiles of a block of R rows
 * starting at J read row J+r from column J >= i - (R-1); packing starts
 * there (rounded down to the transposition width L) so that every vector
 * the kernel reads was written (zero below the diagonal). */
static inline int ck_first_col(int i, int R, int L)
{
    int c = i - (R - 1);
    return c < 0 ? 0 : c & ~(L - 1);
}

/* The exponent test of has_nonfinite in als_kernels.c: the sign bit of
 * (bits & expo) + one is set exactly for NaN and Inf. */
#define CK_EXPO 0x7ff0000000000000ULL
#define CK_ONE 0x0010000000000000ULL

/* Pack L systems into the compact layout: P[i*kc + q][l] = A_l[i][q] for
 * i <= q < k, zero for the packed q < i (see ck_first_col; the lower part is
 * computed on but never used, zeros keep it free of NaN and subnormals),
 * Y[q][l] = b_l[q]. Sets info[l] = -1 for the lanes with NaN/Inf in the
 * upper triangle of A_l or in b_l. Portable version: plain loops. */
static void ck_pack_scalar(int k, int64_t kc, int L, int R, const double *const *A,
                           const double *const *b, double *P, double *Y, int *info)
{
    for (int l = 0; l < L; l++) {
        uint64_t acc = 0;
        for (int i = 0; i < k; i++) {
            double *pr = P + (int64_t)i * kc * L;
            const double *a = A[l] + (int64_t)i * k;
            for (int q = ck_first_col(i, R, L); q < i; q++)
                pr[(int64_t)q * L + l] = 0.0;
            for (int q = i; q < k; q++) {
                uint64_t u;
                memcpy(&u, a + q, sizeof u);
                acc |= (u & CK_EXPO) + CK_ONE;
                pr[(int64_t)q * L + l] = a[q];
            }
        }
        for (int q = 0; q < k; q++) {
            uint64_t u;
            memcpy(&u, b[l] + q, sizeof u);
            acc |= (u & CK_EXPO) + CK_ONE;
            Y[(int64_t)q * L + l] = b[l][q];
        }
        if ((acc >> 63) && info[l] == 0)
            info[l] = -1;
    }
}

/* Unpack the solutions of the lanes whose info is 0 into b_l. */
static void ck_unpack_scalar(int k, int L, const double *Y, double *const *b, const int *info)
{
    for (int l = 0; l < L; l++)
        if (info[l] == 0)
            for (int q = 0; q < k; q++)
                b[l][q] = Y[(int64_t)q * L + l];
}

/* The aligned start of ws. */
static inline double *ck_align(double *ws)
{
    return (double *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
}

/* ---- Portable instantiation: GCC vector extensions, 4 lanes, unfused. ---- */
typedef double ck_gen_v __attribute__((vector_size(32), aligned(32)));

/* Lane-wise square root of a portable vector (a statement expression, so
 * that no vector crosses a function boundary: no ABI dependence). */
#define ck_gen_sqrt(v)                  \
    __extension__({                     \
        ck_gen_v t_ = (v);              \
        for (int l_ = 0; l_ < 4; l_++)  \
            t_[l_] = sqrt(t_[l_]);      \
        t_;                             \
    })

#define CK_FN(x) ck_gen_##x
#define CK_ATTR
#define CK_V ck_gen_v
#define CK_L 4
#define CK_R 2
#define CK_C 2
#define CK_FNMA(a, b, c) ((c) - (a) * (b))
#define CK_SQRT(v) ck_gen_sqrt(v)
#define CK_SET1(x) ((ck_gen_v){(x), (x), (x), (x)})
#define CK_ALLPOS(d) ((d)[0] > 0.0 && (d)[1] > 0.0 && (d)[2] > 0.0 && (d)[3] > 0.0)
#include "als_kernels_compact.h"
#undef CK_FN
#undef CK_ATTR
#undef CK_V
#undef CK_L
#undef CK_R
#undef CK_C
#undef CK_FNMA
#undef CK_SQRT
#undef CK_SET1
#undef CK_ALLPOS

/* Portable batch of exactly 4·ng systems (callers pad with repeats). */
void als__compact_solve_generic(int k, int ng, const double *const *A, double *const *b,
                                int *info, double *ws)
{
    int64_t kc = ck_stride(k, 4), gs = ck_group_size(k, 4);
    double *P = ck_align(ws), *Y = P + (int64_t)k * kc * 4, *INV = Y + kc * 4;
    for (int g = 0; g < ng; g++)
        ck_pack_scalar(k, kc, 4, 2, A + 4 * g, (const double *const *)b + 4 * g, P + g * gs,
                       Y + g * gs, info + 4 * g);
    ck_gen_solve(k, kc, ng, (ck_gen_v *)P, gs / 4, (ck_gen_v *)Y, (ck_gen_v *)INV, gs / 4, info);
    for (int g = 0; g < ng; g++)
        ck_unpack_scalar(k, 4, Y + g * gs, b + 4 * g, info + 4 * g);
}

#if ALS_HAVE_X86
/* ---- AVX2 + FMA instantiation: ymm, 4 lanes, AVX2_R×AVX2_C update tiles
 * (AVX2_R·AVX2_C accumulators + AVX2_R multipliers + 1 streamed vector must
 * fit in the 16 ymm registers). ---- */
#ifndef AVX2_R
#define AVX2_R 3
#endif
#ifndef AVX2_C
#define AVX2_C 4
#endif
#define CK_FN(x) ck_avx2_##x
#define CK_ATTR __attribute__((target("avx2,fma")))
#define CK_V __m256d
#define CK_L 4
#define CK_R AVX2_R
#define CK_C AVX2_C
#define CK_FNMA(a, b, c) _mm256_fnmadd_pd((a), (b), (c))
#define CK_SQRT(v) _mm256_sqrt_pd(v)
#define CK_SET1(x) _mm256_set1_pd(x)
#define CK_ALLPOS(d) (_mm256_movemask_pd(_mm256_cmp_pd((d), _mm256_setzero_pd(), _CMP_GT_OQ)) == 0xf)
#include "als_kernels_compact.h"
#undef CK_FN
#undef CK_ATTR
#undef CK_V
#undef CK_L
#undef CK_R
#undef CK_C
#undef CK_FNMA
#undef CK_SQRT
#undef CK_SET1
#undef CK_ALLPOS

/* AVX2 pack: per row i and chunk of 4 columns, 4 masked loads (one per
 * system; masked-off columns, q < i or q >= k, read as zero and are never
 * touched in memory), a 4×4 transpose, 4 aligned stores; the NaN/Inf test
 * runs on the transposed vectors, one lane per system. */
__attribute__((target("avx2,fma"))) static void
ck_pack_avx2(int k, int64_t kc, const double *const *A, const double *const *b, double *P,
             double *Y, int *info)
{
    const __m256i expo = _mm256_set1_epi64x((long long)CK_EXPO);
    const __m256i one = _mm256_set1_epi64x((long long)CK_ONE);
    const __m256i iota = _mm256_setr_epi64x(0, 1, 2, 3);
    __m256i flag = _mm256_setzero_si256();
    for (int i = 0; i <= k; i++) {
        /* i == k: the right-hand sides, as one more "row" from column 0. */
        int q0 = i < k ? ck_first_col(i, AVX2_R, 4) : 0, lo = i < k ? i : 0;
        const double *src[4];
        for (int l = 0; l < 4; l++)
            src[l] = i < k ? A[l] + (int64_t)i * k : b[l];
        __m256d *dst = i < k ? (__m256d *)P + (int64_t)i * kc : (__m256d *)Y;
        for (; q0 + 4 <= lo; q0 += 4) /* entirely below the diagonal */
            for (int j = 0; j < 4; j++)
                dst[q0 + j] = _mm256_setzero_pd();
        for (; q0 < k; q0 += 4) {
            __m256i qv = _mm256_add_epi64(_mm256_set1_epi64x(q0), iota);
            __m256i m = _mm256_and_si256(_mm256_cmpgt_epi64(qv, _mm256_set1_epi64x(lo - 1)),
                                         _mm256_cmpgt_epi64(_mm256_set1_epi64x(k), qv));
            __m256d r0 = _mm256_maskload_pd(src[0] + q0, m);
            __m256d r1 = _mm256_maskload_pd(src[1] + q0, m);
            __m256d r2 = _mm256_maskload_pd(src[2] + q0, m);
            __m256d r3 = _mm256_maskload_pd(src[3] + q0, m);
            __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
            __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
            __m256d c0 = _mm256_permute2f128_pd(t0, t2, 0x20);
            __m256d c1 = _mm256_permute2f128_pd(t1, t3, 0x20);
            __m256d c2 = _mm256_permute2f128_pd(t0, t2, 0x31);
            __m256d c3 = _mm256_permute2f128_pd(t1, t3, 0x31);
            dst[q0] = c0, dst[q0 + 1] = c1, dst[q0 + 2] = c2, dst[q0 + 3] = c3;
#define CK_FLAG2(c) \
    flag = _mm256_or_si256(flag, _mm256_add_epi64(_mm256_and_si256(_mm256_castpd_si256(c), expo), one))
            CK_FLAG2(c0);
            CK_FLAG2(c1);
            CK_FLAG2(c2);
            CK_FLAG2(c3);
#undef CK_FLAG2
        }
    }
    int bad = _mm256_movemask_pd(_mm256_castsi256_pd(flag));
    for (int l = 0; l < 4; l++)
        if (((bad >> l) & 1) && info[l] == 0)
            info[l] = -1;
}

/* AVX2 unpack: 4×4 transposes of the solutions, masked stores into the b_l
 * of the lanes whose info is 0. */
__attribute__((target("avx2,fma"))) static void
ck_unpack_avx2(int k, const double *Y, double *const *b, const int *info)
{
    const __m256i iota = _mm256_setr_epi64x(0, 1, 2, 3);
    const __m256d *y = (const __m256d *)Y;
    for (int q0 = 0; q0 < k; q0 += 4) {
        __m256i qv = _mm256_add_epi64(_mm256_set1_epi64x(q0), iota);
        __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(k), qv);
        __m256d r0 = y[q0], r1 = q0 + 1 < k ? y[q0 + 1] : r0;
        __m256d r2 = q0 + 2 < k ? y[q0 + 2] : r0, r3 = q0 + 3 < k ? y[q0 + 3] : r0;
        __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
        __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
        __m256d c[4] = {_mm256_permute2f128_pd(t0, t2, 0x20), _mm256_permute2f128_pd(t1, t3, 0x20),
                        _mm256_permute2f128_pd(t0, t2, 0x31), _mm256_permute2f128_pd(t1, t3, 0x31)};
        for (int l = 0; l < 4; l++)
            if (info[l] == 0)
                _mm256_maskstore_pd(b[l] + q0, m, c[l]);
    }
}

/* AVX2 batch of exactly 4·ng systems. */
__attribute__((target("avx2,fma"))) void
als__compact_solve_avx2(int k, int ng, const double *const *A, double *const *b, int *info,
                        double *ws)
{
    int64_t kc = ck_stride(k, 4), gs = ck_group_size(k, 4);
    double *P = ck_align(ws), *Y = P + (int64_t)k * kc * 4, *INV = Y + kc * 4;
    for (int g = 0; g < ng; g++)
        ck_pack_avx2(k, kc, A + 4 * g, (const double *const *)b + 4 * g, P + g * gs, Y + g * gs,
                     info + 4 * g);
    ck_avx2_solve(k, kc, ng, (__m256d *)P, gs / 4, (__m256d *)Y, (__m256d *)INV, gs / 4, info);
    for (int g = 0; g < ng; g++)
        ck_unpack_avx2(k, Y + g * gs, b + 4 * g, info + 4 * g);
}

/* ---- AVX-512 instantiation: zmm, 8 lanes, 4×6 update tiles. ---- */
#define CK_FN(x) ck_avx512_##x
#define CK_ATTR __attribute__((target("avx512f,avx512vl,fma")))
#define CK_V __m512d
#define CK_L 8
#define CK_R 4
#define CK_C 6
#define CK_FNMA(a, b, c) _mm512_fnmadd_pd((a), (b), (c))
#define CK_SQRT(v) _mm512_sqrt_pd(v)
#define CK_SET1(x) _mm512_set1_pd(x)
#define CK_ALLPOS(d) (_mm512_cmp_pd_mask((d), _mm512_setzero_pd(), _CMP_GT_OQ) == 0xff)
#include "als_kernels_compact.h"
#undef CK_FN
#undef CK_ATTR
#undef CK_V
#undef CK_L
#undef CK_R
#undef CK_C
#undef CK_FNMA
#undef CK_SQRT
#undef CK_SET1
#undef CK_ALLPOS

/* 8×8 transpose of r[0..8) (row l = system l) into c[0..8) (c[j] = the
 * j-th elements of the 8 rows): unpack, then two rounds of 128-bit lane
 * shuffles, 24 shuffles in all. Its own inverse. */
__attribute__((target("avx512f,avx512vl,fma"), always_inline)) static inline void
ck_tr8(const __m512d *r, __m512d *c)
{
    __m512d t0 = _mm512_unpacklo_pd(r[0], r[1]), t1 = _mm512_unpackhi_pd(r[0], r[1]);
    __m512d t2 = _mm512_unpacklo_pd(r[2], r[3]), t3 = _mm512_unpackhi_pd(r[2], r[3]);
    __m512d t4 = _mm512_unpacklo_pd(r[4], r[5]), t5 = _mm512_unpackhi_pd(r[4], r[5]);
    __m512d t6 = _mm512_unpacklo_pd(r[6], r[7]), t7 = _mm512_unpackhi_pd(r[6], r[7]);
    __m512d u0 = _mm512_shuffle_f64x2(t0, t2, 0x88), u1 = _mm512_shuffle_f64x2(t0, t2, 0xdd);
    __m512d u2 = _mm512_shuffle_f64x2(t1, t3, 0x88), u3 = _mm512_shuffle_f64x2(t1, t3, 0xdd);
    __m512d u4 = _mm512_shuffle_f64x2(t4, t6, 0x88), u5 = _mm512_shuffle_f64x2(t4, t6, 0xdd);
    __m512d u6 = _mm512_shuffle_f64x2(t5, t7, 0x88), u7 = _mm512_shuffle_f64x2(t5, t7, 0xdd);
    c[0] = _mm512_shuffle_f64x2(u0, u4, 0x88), c[4] = _mm512_shuffle_f64x2(u0, u4, 0xdd);
    c[2] = _mm512_shuffle_f64x2(u1, u5, 0x88), c[6] = _mm512_shuffle_f64x2(u1, u5, 0xdd);
    c[1] = _mm512_shuffle_f64x2(u2, u6, 0x88), c[5] = _mm512_shuffle_f64x2(u2, u6, 0xdd);
    c[3] = _mm512_shuffle_f64x2(u3, u7, 0x88), c[7] = _mm512_shuffle_f64x2(u3, u7, 0xdd);
}

/* AVX-512 pack: per row i and chunk of 8 columns, 8 masked loads (columns
 * q < i or q >= k read as zero, untouched in memory), an 8×8 transpose, 8
 * aligned stores; the NaN/Inf test on the transposed vectors. */
__attribute__((target("avx512f,avx512vl,fma"))) static void
ck_pack_avx512(int k, int64_t kc, const double *const *A, const double *const *b, double *P,
               double *Y, int *info)
{
    /* NaN/Inf test: acc = fma(x, 0, acc) stays (±)0 for finite x and turns
     * NaN for x = ±Inf or NaN; one FMA per vector, four accumulators so the
     * chains do not limit the loop (the shuffles of the transpose do). */
    const __m512d zero = _mm512_setzero_pd();
    __m512d fl[4] = {zero, zero, zero, zero};
    for (int i = 0; i <= k; i++) {
        int q0 = i < k ? ck_first_col(i, 4, 8) : 0, lo = i < k ? i : 0;
        const double *src[8];
        for (int l = 0; l < 8; l++)
            src[l] = i < k ? A[l] + (int64_t)i * k : b[l];
        __m512d *dst = i < k ? (__m512d *)P + (int64_t)i * kc : (__m512d *)Y;
        for (; q0 + 8 <= lo; q0 += 8) /* entirely below the diagonal */
            for (int j = 0; j < 8; j++)
                dst[q0 + j] = zero;
        for (; q0 < k; q0 += 8) {
            unsigned hi = k - q0 >= 8 ? 0xffu : (1u << (k - q0)) - 1;
            unsigned low = lo <= q0 ? 0xffu : lo - q0 >= 8 ? 0u : (0xffu << (lo - q0)) & 0xffu;
            __mmask8 m = (__mmask8)(hi & low);
            __m512d r[8], c[8];
            for (int l = 0; l < 8; l++)
                r[l] = _mm512_maskz_loadu_pd(m, src[l] + q0);
            ck_tr8(r, c);
            for (int j = 0; j < 8; j++) {
                dst[q0 + j] = c[j];
                fl[j & 3] = _mm512_fmadd_pd(c[j], zero, fl[j & 3]);
            }
        }
    }
    __m512d f = _mm512_add_pd(_mm512_add_pd(fl[0], fl[1]), _mm512_add_pd(fl[2], fl[3]));
    __mmask8 bad = _mm512_cmp_pd_mask(f, f, _CMP_UNORD_Q);
    for (int l = 0; l < 8; l++)
        if (((bad >> l) & 1) && info[l] == 0)
            info[l] = -1;
}

/* AVX-512 unpack: 8×8 transposes of the solutions, masked stores into the
 * b_l of the lanes whose info is 0. */
__attribute__((target("avx512f,avx512vl,fma"))) static void
ck_unpack_avx512(int k, int64_t kc, const double *Y, double *const *b, const int *info)
{
    const __m512d *y = (const __m512d *)Y;
    for (int q0 = 0; q0 < k; q0 += 8) {
        __mmask8 m = (__mmask8)(k - q0 >= 8 ? 0xffu : (1u << (k - q0)) - 1);
        __m512d c[8];
        ck_tr8(y + q0, c); /* Y has kc >= q0 + 8 vectors: the tail is unused */
        for (int l = 0; l < 8; l++)
            if (info[l] == 0)
                _mm512_mask_storeu_pd(b[l] + q0, m, c[l]);
    }
    (void)kc;
}

/* AVX-512 batch of exactly 8·ng systems. */
__attribute__((target("avx512f,avx512vl,fma"))) void
als__compact_solve_avx512(int k, int ng, const double *const *A, double *const *b, int *info,
                          double *ws)
{
    int64_t kc = ck_stride(k, 8), gs = ck_group_size(k, 8);
    double *P = ck_align(ws), *Y = P + (int64_t)k * kc * 8, *INV = Y + kc * 8;
    for (int g = 0; g < ng; g++)
        ck_pack_avx512(k, kc, A + 8 * g, (const double *const *)b + 8 * g, P + g * gs,
                       Y + g * gs, info + 8 * g);
    ck_avx512_solve(k, kc, ng, (__m512d *)P, gs / 8, (__m512d *)Y, (__m512d *)INV, gs / 8, info);
    for (int g = 0; g < ng; g++)
        ck_unpack_avx512(k, kc, Y + g * gs, b + 8 * g, info + 8 * g);
}
#endif
