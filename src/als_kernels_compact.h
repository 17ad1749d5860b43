/* als_kernels_compact.h - template of the batched ("compact") SPD solve,
 * included by src/als_kernels_batch.c once per instruction set. Private to
 * the kernels module (not installed, not in include/).
 *
 * Layout. CK_L systems (one per SIMD lane) are interleaved: element (i, q)
 * of the L matrices is one vector P[i*kc + q] holding lane l's A_l[i][q];
 * the right-hand sides are Y[q], the reciprocal pivots INV[j]. Every vector
 * operation then works on L independent systems at once, with no shuffles.
 *
 * Arithmetic (the "canonical" order, identical to the single-system solves
 * of the same ISA in als_kernels.c, so a system's result does not depend on
 * its batch or lane), with a - b*c fused (FMA) when CK_FUSED:
 *   factor    a_jq <- a_jq - u_ij u_iq for i = 0..j-1 ascending;
 *             d = a_jj, fail unless d > 0; s = sqrt(d); inv_j = s * (1/d);
 *             u_jj = s; u_jq = a_jq * inv_j (q > j)
 *   forward   y_q <- y_q - u_jq y_j for j < q ascending; y_j = y_j * inv_j
 *   backward  x_q <- x_q - u_qj x_j for j > q descending; x_j = x_j * inv_j
 * Blocked left-looking factorization: for each block of CK_R rows, the
 * update by all earlier rows runs in CK_R x CK_C register tiles (the trailing
 * update as a Gram-like micro-kernel over the lanes), then the block's own
 * triangle and pivots in vector code.
 *
 * Parameters (macros defined by the includer):
 *   CK_FN(x)       name of this instantiation's function x
 *   CK_ATTR        function attributes (target ISA)
 *   CK_V, CK_L     vector type and its number of doubles
 *   CK_R, CK_C     register tile of the update (rows x columns)
 *   CK_FNMA(a,b,c) c - a*b, one rounding when fused
 *   CK_SQRT(v)     lane-wise square root
 *   CK_SET1(x)     broadcast
 */

/* Register tile of the left-looking update: rows J..J+RR, columns
 * q0..q0+CC, minus the products of the earlier rows i < J (ascending). */
static inline __attribute__((always_inline)) CK_ATTR void
CK_FN(tile)(CK_V *P, int64_t kc, int J, int q0, const int RR, const int CC)
{
    CK_V acc[CK_R][CK_C];
    for (int r = 0; r < RR; r++)
        for (int c = 0; c < CC; c++)
            acc[r][c] = P[(int64_t)(J + r) * kc + q0 + c];
    const CK_V *pi = P;
    for (int i = 0; i < J; i++, pi += kc) {
        CK_V u[CK_R];
        for (int r = 0; r < RR; r++)
            u[r] = pi[J + r];
        for (int c = 0; c < CC; c++) {
            CK_V v = pi[q0 + c];
            for (int r = 0; r < RR; r++)
                acc[r][c] = CK_FNMA(u[r], v, acc[r][c]);
        }
    }
    for (int r = 0; r < RR; r++)
        for (int c = 0; c < CC; c++)
            P[(int64_t)(J + r) * kc + q0 + c] = acc[r][c];
}

/* The update of rows J..J+RR over columns J..k in tiles of CK_C columns. */
static inline __attribute__((always_inline)) CK_ATTR void
CK_FN(update_rows)(CK_V *P, int64_t kc, int k, int J, const int RR)
{
    int q0 = J;
    for (; q0 + CK_C <= k; q0 += CK_C)
        CK_FN(tile)(P, kc, J, q0, RR, CK_C);
    switch (k - q0) {
#if CK_C > 7
    case 7: CK_FN(tile)(P, kc, J, q0, RR, 7); break;
#endif
#if CK_C > 6
    case 6: CK_FN(tile)(P, kc, J, q0, RR, 6); break;
#endif
#if CK_C > 5
    case 5: CK_FN(tile)(P, kc, J, q0, RR, 5); break;
#endif
#if CK_C > 4
    case 4: CK_FN(tile)(P, kc, J, q0, RR, 4); break;
#endif
#if CK_C > 3
    case 3: CK_FN(tile)(P, kc, J, q0, RR, 3); break;
#endif
#if CK_C > 2
    case 2: CK_FN(tile)(P, kc, J, q0, RR, 2); break;
#endif
    case 1: CK_FN(tile)(P, kc, J, q0, RR, 1); break;
    default: break;
    }
}

/* One block step of the factorization of CK_L interleaved systems of order
 * k (row stride kc): rows J..J+CK_R (fewer at the end) are updated by the
 * earlier rows in register tiles, their diagonal triangle factored (pivots,
 * the reciprocals into INV) and the rest of the rows finished. info[l] is
 * set to the 1-based failing leading minor of lane l (left alone when it is
 * already nonzero); a failed lane continues with pivot 1 so that the other
 * lanes are unaffected. */
static inline __attribute__((always_inline)) CK_ATTR void
CK_FN(block)(int k, int64_t kc, CK_V *P, CK_V *INV, int *info, int J)
{
    const CK_V one = CK_SET1(1.0);
    int nr = k - J < CK_R ? k - J : CK_R;
    if (J > 0) {
        switch (nr) {
#if CK_R > 3
        case 4: CK_FN(update_rows)(P, kc, k, J, 4); break;
#endif
#if CK_R > 2
        case 3: CK_FN(update_rows)(P, kc, k, J, 3); break;
#endif
        case 2: CK_FN(update_rows)(P, kc, k, J, 2); break;
        default: CK_FN(update_rows)(P, kc, k, J, 1); break;
        }
    }
    /* The block's diagonal nr×nr triangle: updates by the block's earlier
     * rows, pivots, scaling (columns < J + nr only). */
    for (int j = J; j < J + nr; j++) {
        CK_V *pj = P + (int64_t)j * kc;
        for (int i = J; i < j; i++) {
            const CK_V *pi = P + (int64_t)i * kc;
            CK_V u = pi[j];
            for (int q = j; q < J + nr; q++)
                pj[q] = CK_FNMA(u, pi[q], pj[q]);
        }
        CK_V d = pj[j];
        if (!CK_ALLPOS(d)) {
            for (int l = 0; l < CK_L; l++)
                if (!(d[l] > 0.0)) {
                    if (info[l] == 0)
                        info[l] = j + 1;
                    d[l] = 1.0;
                }
        }
        CK_V s = CK_SQRT(d), rd = one / d;
        CK_V inv = s * rd;
        pj[j] = s;
        INV[j] = inv;
        for (int q = j + 1; q < J + nr; q++)
            pj[q] = pj[q] * inv;
    }
    /* The block's rows right of the triangle, one column at a time in
     * registers: row J+r loses u_{J+i,J+r} times the finished row J+i (i < r
     * ascending), then is scaled; the columns are independent. */
    CK_V *r0 = P + (int64_t)J * kc;
    switch (nr) {
    case 1:
        for (int q = J + 1; q < k; q++)
            r0[q] = r0[q] * INV[J];
        break;
    case 2: {
        CK_V *r1 = r0 + kc;
        CK_V u01 = r0[J + 1], i0 = INV[J], i1 = INV[J + 1];
        for (int q = J + 2; q < k; q++) {
            CK_V v0 = r0[q] * i0;
            r0[q] = v0;
            r1[q] = CK_FNMA(u01, v0, r1[q]) * i1;
        }
        break;
    }
#if CK_R > 2
    case 3: {
        CK_V *r1 = r0 + kc, *r2 = r1 + kc;
        CK_V u01 = r0[J + 1], u02 = r0[J + 2], u12 = r1[J + 2];
        CK_V i0 = INV[J], i1 = INV[J + 1], i2 = INV[J + 2];
        for (int q = J + 3; q < k; q++) {
            CK_V v0 = r0[q] * i0;
            r0[q] = v0;
            CK_V v1 = CK_FNMA(u01, v0, r1[q]) * i1;
            r1[q] = v1;
            r2[q] = CK_FNMA(u12, v1, CK_FNMA(u02, v0, r2[q])) * i2;
        }
        break;
    }
#endif
#if CK_R > 3
    case 4: {
        CK_V *r1 = r0 + kc, *r2 = r1 + kc, *r3 = r2 + kc;
        CK_V u01 = r0[J + 1], u02 = r0[J + 2], u03 = r0[J + 3];
        CK_V u12 = r1[J + 2], u13 = r1[J + 3], u23 = r2[J + 3];
        CK_V i0 = INV[J], i1 = INV[J + 1], i2 = INV[J + 2], i3 = INV[J + 3];
        for (int q = J + 4; q < k; q++) {
            CK_V v0 = r0[q] * i0;
            r0[q] = v0;
            CK_V v1 = CK_FNMA(u01, v0, r1[q]) * i1;
            r1[q] = v1;
            CK_V v2 = CK_FNMA(u12, v1, CK_FNMA(u02, v0, r2[q])) * i2;
            r2[q] = v2;
            r3[q] = CK_FNMA(u23, v2, CK_FNMA(u13, v1, CK_FNMA(u03, v0, r3[q]))) * i3;
        }
        break;
    }
#endif
    default:
        break;
    }
}

/* Forward and backward substitution of CK_L interleaved systems with the
 * factor in P and the reciprocal pivots in INV; Y overwritten by x. */
static inline __attribute__((always_inline)) CK_ATTR void
CK_FN(trsv)(int k, int64_t kc, const CK_V *P, CK_V *Y, const CK_V *INV)
{
    for (int j = 0; j < k; j++) {
        CK_V y = Y[j] * INV[j];
        Y[j] = y;
        const CK_V *pj = P + (int64_t)j * kc;
        for (int q = j + 1; q < k; q++)
            Y[q] = CK_FNMA(pj[q], y, Y[q]);
    }
    for (int j = k - 1; j >= 0; j--) {
        CK_V x = Y[j] * INV[j];
        Y[j] = x;
        const CK_V *pq = P + j;
        for (int q = 0; q < j; q++, pq += kc)
            Y[q] = CK_FNMA(*pq, x, Y[q]);
    }
}

/* Factor and solve ng (1 or 2) independent groups of CK_L interleaved
 * systems: group g's matrix at P + g*pstride, right-hand sides at
 * Y + g*ystride, reciprocal pivots at INV + g*ystride, info at info + g*CK_L.
 * With two groups the block steps alternate between them, so that one
 * group's pivot chain (square root, division: long latencies) overlaps the
 * other's register-tile updates in the out-of-order window. */
static CK_ATTR void CK_FN(solve)(int k, int64_t kc, int ng, CK_V *P, int64_t pstride, CK_V *Y,
                                 CK_V *INV, int64_t ystride, int *info)
{
    for (int J = 0; J < k; J += CK_R)
        for (int g = 0; g < ng; g++)
            CK_FN(block)(k, kc, P + g * pstride, INV + g * ystride, info + g * CK_L, J);
    for (int g = 0; g < ng; g++)
        CK_FN(trsv)(k, kc, P + g * pstride, Y + g * ystride, INV + g * ystride);
}
