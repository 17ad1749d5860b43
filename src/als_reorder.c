/* als_reorder.c - METIS renumbering of users and items for locality, and
 * the ghost-row report of als-partition --reorder metis --dry-run
 * (als_reorder.h). */
#include "als_reorder.h"

#include <inttypes.h>
#include <math.h>
#include <metis.h>
#include <stdlib.h>
#include <string.h>

#include "als_partition.h"
#include "als_plan.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int als_reorder_metis(const als_graph_t *g, int nparts, int seed, als_plan_model_t pm, int *upart,
                      int *ipart, int64_t *edgecut, als_err_t *err)
{
    const int64_t m = g->m, n = g->n, nv = m + n;
    *edgecut = 0;
    if (nparts <= 1) {
        for (int64_t u = 0; u < m; u++) upart[u] = 0;
        for (int64_t i = 0; i < n; i++) ipart[i] = 0;
        return ALS_OK;
    }
    /* Adjacency size: every rating twice (distinct pairs merged) + W. */
    const int64_t nnz = g->uptr[m], wnnz = g->wptr ? g->wptr[m] : 0;
    if (nv >= INT32_MAX || 2 * nnz + wnnz >= INT32_MAX || nparts > nv)
        return als_err_set(err, ALS_ERR_ARG, "--reorder metis: the graph (%" PRId64 " vertices, %"
                           PRId64 " edges) does not fit METIS' 32-bit indices or has fewer "
                           "vertices than %d parts", nv, 2 * nnz + wnnz, nparts);
    idx_t *xadj = malloc(((size_t)nv + 1) * sizeof *xadj);
    idx_t *adj = malloc(((size_t)(2 * nnz + wnnz) + 1) * sizeof *adj);
    idx_t *adjw = malloc(((size_t)(2 * nnz + wnnz) + 1) * sizeof *adjw);
    idx_t *vw = malloc(2 * ((size_t)nv + 1) * sizeof *vw);
    idx_t *part = malloc(((size_t)nv + 1) * sizeof *part);
    if (!xadj || !adj || !adjw || !vw || !part) {
        free(xadj); free(adj); free(adjw); free(vw); free(part);
        return als_err_set(err, ALS_ERR_NOMEM, "--reorder metis: out of memory for the graph");
    }
    /* Vertex weights: modelled flops per side, scaled so each side sums to
     * about 2^26 (every weight >= 1). */
    double tu = 0, ti = 0;
    for (int64_t u = 0; u < m; u++)
        tu += als_plan_row_flops(pm, g->uptr[u + 1] - g->uptr[u],
                                 g->wptr ? g->wptr[u + 1] - g->wptr[u] : 0);
    for (int64_t i = 0; i < n; i++)
        ti += als_plan_row_flops(pm, g->iptr[i + 1] - g->iptr[i], 0);
    const double su = tu > 0 ? (double)(1 << 26) / tu : 1, si = ti > 0 ? (double)(1 << 26) / ti : 1;
    int64_t e = 0;
    xadj[0] = 0;
    for (int64_t u = 0; u < m; u++) {
        double f = als_plan_row_flops(pm, g->uptr[u + 1] - g->uptr[u],
                                      g->wptr ? g->wptr[u + 1] - g->wptr[u] : 0);
        vw[2 * u] = (idx_t)fmax(1, llround(f * su));
        vw[2 * u + 1] = 0;
        for (int64_t x = g->uptr[u]; x < g->uptr[u + 1]; x++) {
            /* ratings of a row are ordered by item: duplicates are adjacent */
            if (x > g->uptr[u] && g->ucol[x] == g->ucol[x - 1]) {
                adjw[e - 1]++;
                continue;
            }
            adj[e] = (idx_t)(m + g->ucol[x]);
            adjw[e++] = 1;
        }
        if (g->wptr)
            for (int64_t x = g->wptr[u]; x < g->wptr[u + 1]; x++) {
                if (g->wcol[x] == u)
                    continue;
                adj[e] = (idx_t)g->wcol[x];
                adjw[e++] = 1;
            }
        xadj[u + 1] = (idx_t)e;
    }
    for (int64_t i = 0; i < n; i++) {
        double f = als_plan_row_flops(pm, g->iptr[i + 1] - g->iptr[i], 0);
        vw[2 * (m + i)] = 0;
        vw[2 * (m + i) + 1] = (idx_t)fmax(1, llround(f * si));
        for (int64_t x = g->iptr[i]; x < g->iptr[i + 1]; x++) {
            if (x > g->iptr[i] && g->irow[x] == g->irow[x - 1]) {
                adjw[e - 1]++;
                continue;
            }
            adj[e] = (idx_t)g->irow[x];
            adjw[e++] = 1;
        }
        xadj[m + i + 1] = (idx_t)e;
    }
    idx_t opts[METIS_NOPTIONS];
    METIS_SetDefaultOptions(opts);
    opts[METIS_OPTION_SEED] = seed;
    opts[METIS_OPTION_NUMBERING] = 0;
    idx_t nvtxs = (idx_t)nv, ncon = 2, np = nparts, cut = 0;
    int rc = METIS_PartGraphKway(&nvtxs, &ncon, xadj, adj, vw, NULL, adjw, &np, NULL, NULL, opts,
                                 &cut, part);
    if (rc == METIS_OK) {
        for (int64_t u = 0; u < m; u++) upart[u] = (int)part[u];
        for (int64_t i = 0; i < n; i++) ipart[i] = (int)part[m + i];
        *edgecut = cut;
    }
    free(xadj); free(adj); free(adjw); free(vw); free(part);
    if (rc != METIS_OK)
        return als_err_set(err, rc == METIS_ERROR_MEMORY ? ALS_ERR_NOMEM : ALS_ERR_ARG,
                           "--reorder metis: METIS_PartGraphKway failed (code %d)", rc);
    return ALS_OK;
}

void als_reorder_perm(int64_t rows, const int *part, int64_t *perm)
{
    if (!part) {
        for (int64_t t = 0; t < rows; t++) perm[t] = t;
        return;
    }
    int maxp = 0;
    for (int64_t t = 0; t < rows; t++)
        if (part[t] > maxp) maxp = part[t];
    int64_t *start = calloc((size_t)maxp + 2, sizeof *start);
    if (!start) { /* fall back to a stable O(rows * parts) pass */
        int64_t w = 0;
        for (int q = 0; q <= maxp; q++)
            for (int64_t t = 0; t < rows; t++)
                if (part[t] == q) perm[w++] = t;
        return;
    }
    for (int64_t t = 0; t < rows; t++) start[part[t] + 1]++;
    for (int q = 0; q <= maxp; q++) start[q + 1] += start[q];
    for (int64_t t = 0; t < rows; t++) perm[start[part[t]]++] = t; /* stable: ascending old id */
    free(start);
}

/* rows of (ptr, idx) taken in the order perm (NULL: identity), indices
 * mapped through inv (NULL: unchanged) and sorted. */
static int permute_rows(int64_t rows, const int64_t *ptr, const int64_t *idx, const int64_t *perm,
                        const int64_t *inv, int64_t **optr, int64_t **oidx)
{
    int64_t *p = malloc(((size_t)rows + 1) * sizeof *p);
    int64_t *x = malloc(((size_t)ptr[rows] + 1) * sizeof *x);
    if (!p || !x) { free(p); free(x); return -1; }
    p[0] = 0;
    for (int64_t t = 0; t < rows; t++) {
        int64_t o = perm ? perm[t] : t, len = ptr[o + 1] - ptr[o];
        for (int64_t y = 0; y < len; y++) {
            int64_t v = idx[ptr[o] + y];
            x[p[t] + y] = inv ? inv[v] : v;
        }
        if (inv)
            qsort(x + p[t], (size_t)len, sizeof *x, cmp_i64);
        p[t + 1] = p[t] + len;
    }
    *optr = p;
    *oidx = x;
    return 0;
}

void als_graph_free(als_graph_t *g)
{
    free(g->uptr); free(g->ucol); free(g->iptr); free(g->irow); free(g->wptr); free(g->wcol);
    memset(g, 0, sizeof *g);
}

int als_graph_permute(const als_graph_t *g, const int64_t *uperm, const int64_t *iperm,
                      als_graph_t *out, als_err_t *err)
{
    memset(out, 0, sizeof *out);
    out->m = g->m;
    out->n = g->n;
    int64_t *uinv = uperm ? malloc(((size_t)g->m + 1) * sizeof *uinv) : NULL;
    int64_t *iinv = iperm ? malloc(((size_t)g->n + 1) * sizeof *iinv) : NULL;
    int bad = (uperm && !uinv) || (iperm && !iinv);
    if (!bad) {
        for (int64_t t = 0; uperm && t < g->m; t++) uinv[uperm[t]] = t;
        for (int64_t t = 0; iperm && t < g->n; t++) iinv[iperm[t]] = t;
        bad = permute_rows(g->m, g->uptr, g->ucol, uperm, iinv, &out->uptr, &out->ucol) ||
              permute_rows(g->n, g->iptr, g->irow, iperm, uinv, &out->iptr, &out->irow) ||
              (g->wptr && permute_rows(g->m, g->wptr, g->wcol, uperm, uinv, &out->wptr,
                                       &out->wcol));
    }
    free(uinv); free(iinv);
    if (bad) {
        als_graph_free(out);
        return als_err_set(err, ALS_ERR_NOMEM, "--reorder: out of memory for the permuted graph");
    }
    return ALS_OK;
}

static uint64_t fnv(const int64_t *v, int64_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (int64_t t = 0; t < len; t++)
        for (int b = 0; b < 8; b++) {
            h ^= ((uint64_t)v[t] >> (8 * b)) & 0xff;
            h *= 1099511628211ULL;
        }
    return h;
}

int als_reorder_report(FILE *out, const als_graph_t *g, int np, const int *plist, int parts,
                       int seed, als_plan_model_t pm, int threads, int with_table,
                       als_err_t *err)
{
    int *upart = malloc(((size_t)g->m + 1) * sizeof *upart);
    int *ipart = malloc(((size_t)g->n + 1) * sizeof *ipart);
    int64_t *uperm = malloc(((size_t)g->m + 1) * sizeof *uperm);
    int64_t *iperm = malloc(((size_t)g->n + 1) * sizeof *iperm);
    int rc = (upart && ipart && uperm && iperm) ? ALS_OK
             : als_err_set(err, ALS_ERR_NOMEM, "--reorder: out of memory");
    for (int q = 0; rc == ALS_OK && q < np; q++) {
        const int p = plist[q], npart = parts > 0 ? parts : p;
        int64_t cut = 0, gh[3] = {0, 0, 0};
        rc = als_reorder_metis(g, npart, seed, pm, upart, ipart, &cut, err);
        if (rc != ALS_OK)
            break;
        als_reorder_perm(g->m, upart, uperm);
        als_reorder_perm(g->n, ipart, iperm);
        fprintf(out, "reorder: metis parts %d seed %d edgecut %" PRId64 " (P %d)\n", npart, seed,
                cut, p);
        static const char *names[3] = {"ascending raw ids (as stored)", "users by METIS part",
                                       "users and items by METIS part"};
        for (int v = 0; rc == ALS_OK && v < 3; v++) {
            als_graph_t h;
            rc = als_graph_permute(g, v >= 1 ? uperm : NULL, v == 2 ? iperm : NULL, &h, err);
            if (rc != ALS_OK)
                break;
            fprintf(out, "== P %d, order: %s\n", p, names[v]);
            rc = als_partition_print_arrays(out, 1, &p, pm, threads, 0, with_table, h.m, h.n,
                                            h.uptr,
                                            h.ucol, h.iptr, h.irow, h.wptr, h.wcol, &gh[v], err);
            als_graph_free(&h);
        }
        if (rc != ALS_OK)
            break;
        fprintf(out, "ghost_reorder: P %d parts %d before %" PRId64 " users %" PRId64
                " users_items %" PRId64 " (%.1f%% / %.1f%% of before)\n", p, npart, gh[0], gh[1],
                gh[2], gh[0] ? 100.0 * (double)gh[1] / (double)gh[0] : 100.0,
                gh[0] ? 100.0 * (double)gh[2] / (double)gh[0] : 100.0);
        fprintf(out, "reorder_perm_checksum: users %016" PRIx64 " items %016" PRIx64 "\n",
                fnv(uperm, g->m), fnv(iperm, g->n));
    }
    free(upart); free(ipart); free(uperm); free(iperm);
    return rc;
}
