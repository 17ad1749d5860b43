/* als_ranking.c - top-N ranking metrics (see als_ranking.h). */
#include "als_ranking.h"

#include <math.h>
#include <string.h>

#include "als_cg.h"

void als_rank_scores(int k, int64_t n, const double *V, const double *u, double *scores)
{
    for (int64_t j = 0; j < n; j++)
        scores[j] = als_cg_dot(V + j * (int64_t)k, u, k);
}

static inline double key_of(const double *s, int64_t j)
{
    double v = s[j];
    return isnan(v) ? -INFINITY : v;
}

/* a ranks strictly below b: lower score, or equal score and larger index. */
static inline int worse(const double *s, int64_t a, int64_t b)
{
    double x = key_of(s, a), y = key_of(s, b);
    return x < y || (x == y && a > b);
}

/* Min-heap on "worse": the root is the worst item kept. */
static void sift_down(const double *s, int64_t *h, int64_t n, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && worse(s, h[l], h[w]))
            w = l;
        if (r < n && worse(s, h[r], h[w]))
            w = r;
        if (w == i)
            return;
        int64_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void sift_up(const double *s, int64_t *h, int64_t i)
{
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (!worse(s, h[i], h[p]))
            return;
        int64_t t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

int64_t als_rank_topn(int N, int64_t n_items, const double *scores, const int64_t *excl,
                      int64_t nexcl, int64_t *top)
{
    for (int64_t x = 0; x < nexcl; x++)
        if (excl[x] < 0 || excl[x] >= n_items || (x > 0 && excl[x] < excl[x - 1]))
            return -1;
    if (N <= 0)
        return 0;
    int64_t size = 0, e = 0;
    for (int64_t j = 0; j < n_items; j++) {
        while (e < nexcl && excl[e] < j)
            e++;
        if (e < nexcl && excl[e] == j)
            continue;
        if (size < N) {
            top[size] = j;
            sift_up(scores, top, size++);
        } else if (worse(scores, top[0], j)) {
            top[0] = j;
            sift_down(scores, top, size, 0);
        }
    }
    /* Pop the worst to the back: best first. */
    for (int64_t n = size; n > 1; n--) {
        int64_t t = top[0];
        top[0] = top[n - 1];
        top[n - 1] = t;
        sift_down(scores, top, n - 1, 0);
    }
    return size;
}

int64_t als_rank_find(const int64_t *a, int64_t n, int64_t x)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == x ? lo : -1;
}

int als_rank_user_metrics(int N, const int64_t *top, int64_t ntop, const int64_t *rel,
                          int64_t nrel, als_rank_user_t *out)
{
    memset(out, 0, sizeof *out);
    for (int64_t x = 1; x < nrel; x++)
        if (rel[x] <= rel[x - 1])
            return -1;
    out->nrel = nrel;
    if (nrel == 0 || N <= 0)
        return 0;
    double dcg = 0.0, idcg = 0.0, ap = 0.0;
    int64_t h = 0;
    for (int64_t p = 0; p < ntop && p < N; p++) {
        if (als_rank_find(rel, nrel, top[p]) >= 0) {
            h++;
            dcg += 1.0 / log2((double)(p + 2));
            ap += (double)h / (double)(p + 1);
        }
    }
    int64_t ideal = nrel < N ? nrel : N;
    for (int64_t p = 0; p < ideal; p++)
        idcg += 1.0 / log2((double)(p + 2));
    out->hits = h;
    out->precision = (double)h / (double)N;
    out->recall = (double)h / (double)nrel;
    out->ndcg = dcg / idcg;
    out->ap = ap / (double)ideal;
    return 0;
}

/* Heap sort of (it, val) by item ascending (val follows; ties keep no order:
 * the caller only asks "does any value of this item qualify"). */
static void sort_pairs(int64_t n, int64_t *it, double *val)
{
    for (int64_t start = n / 2 - 1, end = n;; ) {
        int64_t root;
        if (start >= 0) {
            root = start--;
        } else {
            if (--end <= 0)
                return;
            int64_t ti = it[0]; it[0] = it[end]; it[end] = ti;
            double tv = val[0]; val[0] = val[end]; val[end] = tv;
            root = 0;
        }
        for (;;) {
            int64_t c = 2 * root + 1;
            if (c >= end)
                break;
            if (c + 1 < end && it[c + 1] > it[c])
                c++;
            if (it[c] <= it[root])
                break;
            int64_t ti = it[c]; it[c] = it[root]; it[root] = ti;
            double tv = val[c]; val[c] = val[root]; val[root] = tv;
            root = c;
        }
    }
}

int64_t als_rank_relevant(int64_t nt, int64_t *it, double *val, double threshold,
                          const int64_t *excl, int64_t nexcl, int64_t *rel)
{
    sort_pairs(nt, it, val);
    int64_t n = 0, e = 0;
    for (int64_t a = 0; a < nt;) {
        int64_t b = a, j = it[a];
        int ok = 0;
        for (; b < nt && it[b] == j; b++)
            ok |= val[b] >= threshold;
        while (e < nexcl && excl[e] < j)
            e++;
        if (ok && !(e < nexcl && excl[e] == j))
            rel[n++] = j;
        a = b;
    }
    return n;
}

/* ---- exact accumulation --------------------------------------------------- */

#define LIMB_BITS 31
#define LIMB_MASK ((INT64_C(1) << LIMB_BITS) - 1)

void als_rank_acc_init(als_rank_acc_t *acc)
{
    memset(acc, 0, sizeof *acc);
}

static void add_value(int64_t limb[2], double v)
{
    if (!(v > 0.0))  /* 0 or NaN (cannot happen for a valid user) */
        v = 0.0;
    if (v > 1.0)
        v = 1.0;
    int64_t q = (int64_t)nearbyint(ldexp(v, 2 * LIMB_BITS));
    limb[0] += q >> LIMB_BITS;
    limb[1] += q & LIMB_MASK;
}

void als_rank_acc_add(als_rank_acc_t *acc, const als_rank_user_t *m)
{
    if (m->nrel == 0) {
        acc->no_relevant++;
        return;
    }
    acc->users++;
    acc->hits += m->hits;
    add_value(acc->limb[0], m->precision);
    add_value(acc->limb[1], m->recall);
    add_value(acc->limb[2], m->ndcg);
    add_value(acc->limb[3], m->ap);
}

void als_rank_acc_merge(als_rank_acc_t *dst, const als_rank_acc_t *src)
{
    dst->users += src->users;
    dst->no_relevant += src->no_relevant;
    dst->hits += src->hits;
    for (int q = 0; q < ALS_RANK_NMETRIC; q++) {
        dst->limb[q][0] += src->limb[q][0];
        dst->limb[q][1] += src->limb[q][1];
    }
}

void als_rank_acc_pack(const als_rank_acc_t *acc, int64_t *words)
{
    words[0] = acc->users;
    words[1] = acc->no_relevant;
    words[2] = acc->hits;
    for (int q = 0; q < ALS_RANK_NMETRIC; q++) {
        words[3 + 2 * q] = acc->limb[q][0];
        words[4 + 2 * q] = acc->limb[q][1];
    }
}

void als_rank_acc_unpack(const int64_t *words, als_rank_acc_t *acc)
{
    acc->users = words[0];
    acc->no_relevant = words[1];
    acc->hits = words[2];
    for (int q = 0; q < ALS_RANK_NMETRIC; q++) {
        acc->limb[q][0] = words[3 + 2 * q];
        acc->limb[q][1] = words[4 + 2 * q];
    }
}

void als_rank_acc_result(const als_rank_acc_t *acc, int N, als_rank_result_t *res)
{
    memset(res, 0, sizeof *res); /* padding too: results compare with memcmp */
    res->N = N;
    res->users = acc->users;
    res->no_relevant = acc->no_relevant;
    res->hits = acc->hits;
    double mean[ALS_RANK_NMETRIC];
    for (int q = 0; q < ALS_RANK_NMETRIC; q++) {
        /* Normalise the carry so the representation is unique, then convert. */
        int64_t hi = acc->limb[q][0] + (acc->limb[q][1] >> LIMB_BITS);
        int64_t lo = acc->limb[q][1] & LIMB_MASK;
        double sum = ldexp((double)hi, -LIMB_BITS) + ldexp((double)lo, -2 * LIMB_BITS);
        mean[q] = acc->users ? sum / (double)acc->users : NAN;
    }
    res->precision = mean[0];
    res->recall = mean[1];
    res->ndcg = mean[2];
    res->map = mean[3];
}
