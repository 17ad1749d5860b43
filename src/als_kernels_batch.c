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

int64_t als__compact_ws_size(int k, int L)
{
    int64_t kc = ck_stride(k, L);
    /* P (k rows × kc), Y and INV (kc each), in vectors of L; 8 for alignment. */
    return ((int64_t)k * kc + 2 * kc) * L + 8;
}

/* Pack L systems into the compact layout: P[i*kc + q][l] = A_l[i][q] for
 * i <= q < k, zero for q < i (the lower part is computed on but never used;
 * zeros keep it free of NaN and subnormals), Y[q][l] = b_l[q]. Portable
 * version: plain loops over the lanes. */
static void ck_pack_scalar(int k, int64_t kc, int L, const double *const *A,
                           const double *const *b, double *P, double *Y)
{
    for (int i = 0; i < k; i++) {
        double *pr = P + (int64_t)i * kc * L;
        memset(pr, 0, sizeof(double) * (size_t)(i * L));
        for (int l = 0; l < L; l++) {
            const double *a = A[l] + (int64_t)i * k;
            for (int q = i; q < k; q++)
                pr[(int64_t)q * L + l] = a[q];
        }
    }
    for (int l = 0; l < L; l++)
        for (int q = 0; q < k; q++)
            Y[(int64_t)q * L + l] = b[l][q];
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

/* Portable batch of exactly 4 systems (callers pad with repeats). */
void als__compact_solve_generic(int k, const double *const *A, double *const *b, int *info,
                                double *ws)
{
    int64_t kc = ck_stride(k, 4);
    double *P = ck_align(ws), *Y = P + (int64_t)k * kc * 4, *INV = Y + kc * 4;
    ck_pack_scalar(k, kc, 4, A, (const double *const *)b, P, Y);
    ck_gen_solve(k, kc, (ck_gen_v *)P, (ck_gen_v *)Y, (ck_gen_v *)INV, info);
    ck_unpack_scalar(k, 4, Y, b, info);
}

#if ALS_HAVE_X86
/* ---- AVX2 + FMA instantiation: ymm, 4 lanes, 3×4 update tiles. ---- */
#define CK_FN(x) ck_avx2_##x
#define CK_ATTR __attribute__((target("avx2,fma")))
#define CK_V __m256d
#define CK_L 4
#define CK_R 3
#define CK_C 4
#define CK_FNMA(a, b, c) _mm256_fnmadd_pd((a), (b), (c))
#define CK_SQRT(v) _mm256_sqrt_pd(v)
#define CK_SET1(x) _mm256_set1_pd(x)
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

/* AVX2 batch of exactly 4 systems. */
__attribute__((target("avx2,fma"))) void
als__compact_solve_avx2(int k, const double *const *A, double *const *b, int *info, double *ws)
{
    int64_t kc = ck_stride(k, 4);
    double *P = ck_align(ws), *Y = P + (int64_t)k * kc * 4, *INV = Y + kc * 4;
    ck_pack_scalar(k, kc, 4, A, (const double *const *)b, P, Y);
    ck_avx2_solve(k, kc, (__m256d *)P, (__m256d *)Y, (__m256d *)INV, info);
    ck_unpack_scalar(k, 4, Y, b, info);
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

/* AVX-512 batch of exactly 8 systems. */
__attribute__((target("avx512f,avx512vl,fma"))) void
als__compact_solve_avx512(int k, const double *const *A, double *const *b, int *info,
                          double *ws)
{
    int64_t kc = ck_stride(k, 8);
    double *P = ck_align(ws), *Y = P + (int64_t)k * kc * 8, *INV = Y + kc * 8;
    ck_pack_scalar(k, kc, 8, A, (const double *const *)b, P, Y);
    ck_avx512_solve(k, kc, (__m512d *)P, (__m512d *)Y, (__m512d *)INV, info);
    ck_unpack_scalar(k, 8, Y, b, info);
}
#endif
