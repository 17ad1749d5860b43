#!/usr/bin/python3
"""Brute-force check of `als-partition --ranks P --rank K` summary lines.

Usage: plan_brute.py RATINGS SOCIAL P K THREADS [ROUTE] < als-partition output

Rebuilds the dataset from the text files independently of the C code (dense
ids in ascending raw-id order; users = users of the ratings and of the social
file; W = S + S^T without self-links), the cost-weighted block plan (DESIGN.md
section 6: row k^3/3 + 2k^2, rating k(k+1) + 2k, W entry 2k; block r starts at
the first row whose exclusive cost prefix reaches r/P of the total; with ROUTE
= 1, als_plan.h's n x n rows: 0 < n < K, K >= 48 and 2.5 wood(K, n) < the k x k
flops, cost 2 wood(K, n) + 16384 + 2K per W entry), the ghost
rows, bytes and memory of include/als_planstats.h by plain set arithmetic, and
compares them with the summary lines read from stdin. Prints OK or the
differences; exit status 1 on a difference.
"""
import sys
from fractions import Fraction


def main():
    rpath, spath, p, k, threads = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    route = len(sys.argv) > 6 and sys.argv[6] == "1"
    ratings = [l.split() for l in open(rpath) if l.strip() and not l.startswith("#")]
    links = [l.split() for l in open(spath) if l.strip() and not l.startswith("#")] if spath != "-" else []
    links = [(int(a), int(b)) for a, b, *_ in links if int(a) != int(b)]
    users = sorted({int(r[0]) for r in ratings} | {a for a, _ in links} | {b for _, b in links})
    items = sorted({int(r[1]) for r in ratings})
    ui = {u: t for t, u in enumerate(users)}
    ii = {j: t for t, j in enumerate(items)}
    m, n = len(users), len(items)
    urow = [[] for _ in range(m)]
    icol = [[] for _ in range(n)]
    for r in ratings:
        u, j = ui[int(r[0])], ii[int(r[1])]
        urow[u].append(j)
        icol[j].append(u)
    w = [set() for _ in range(m)]
    for a, b in links:
        w[ui[a]].add(ui[b])
        w[ui[b]].add(ui[a])
    row = Fraction(k ** 3, 3) + 2 * k * k
    per_r, per_w = k * (k + 1) + 2 * k, 2 * k

    def plan(costs):
        tot = sum(costs)
        beg, pre, r = [0], Fraction(0), 1
        for t, c in enumerate(costs):
            while r < p and pre * p >= r * tot:
                beg.append(t)
                r += 1
            pre += c
        while len(beg) < p:
            beg.append(len(costs))
        return beg + [len(costs)]

    def wood(nn):  # als_woodbury_flops, exactly
        return nn * (nn + 1) * k + 6 * nn * k + Fraction(nn ** 3, 3) + 2 * nn * nn

    def on_route(nn):  # als_woodbury_pays, in doubles as the C code
        if not route or k < 48 or nn <= 0 or nn >= k:
            return False
        dk, dn = float(k), float(nn)
        fw = dn * (dn + 1.0) * dk + 6.0 * dn * dk + dn * dn * dn / 3.0 + 2.0 * dn * dn
        fk = dn * dk * (dk + 1.0) + 2.0 * dn * dk + dk * dk * dk / 3.0 + 2.0 * dk * dk
        return 2.5 * fw < fk

    def cost(nn, nw):
        if on_route(nn):
            return 2 * wood(nn) + 16384 + nw * per_w
        return nn * per_r + nw * per_w + row

    ucost = [cost(len(urow[u]), len(w[u])) for u in range(m)]
    icost = [cost(len(icol[j]), 0) for j in range(n)]
    ubeg = plan(ucost)
    ibeg = plan(icost)
    fu, fv, gh, nb, ba, mn, ma, nr = [], [], [], [], [], [], [], []
    usent, vsent = [0] * p, [0] * p
    owner_u = {u: r for r in range(p) for u in range(ubeg[r], ubeg[r + 1])}
    owner_i = {j: r for r in range(p) for j in range(ibeg[r], ibeg[r + 1])}
    per = []
    for r in range(p):
        us, its = range(ubeg[r], ubeg[r + 1]), range(ibeg[r], ibeg[r + 1])
        vg = {j for u in us for j in urow[u]} - set(its)
        ug = ({u for j in its for u in icol[j]} | {f for u in us for f in w[u]}) - set(us)
        for x in vg:
            vsent[owner_i[x]] += 1
        for x in ug:
            usent[owner_u[x]] += 1
        per.append((us, its, ug, vg))
    for r, (us, its, ug, vg) in enumerate(per):
        nu, ni = len(us), len(its)
        ru = sum(len(urow[u]) for u in us)
        ri = sum(len(icol[j]) for j in its)
        wn = sum(len(w[u]) for u in us)
        fu.append(sum(ucost[u] for u in us))
        fv.append(sum(icost[j] for j in its))
        gh.append(len(ug) + len(vg))
        nr.append(len({owner_u[x] for x in ug}) + len({owner_i[x] for x in vg}))
        nb.append((len(ug) + len(vg)) * k * 8)
        ba.append(((m - nu) + (n - ni)) * k * 8)
        local = (ru + ri) * 16 + wn * 16 + ((nu + 1) * 2 + ni + 1) * 8 + nu * 8
        work = threads * 4 * k * k * 8
        # both modes: V solved in place, U too when the rank has no W rows;
        # sharded, the send buffer is packed in rounds of at most 16 MiB
        ma.append((m + n) * k * 8 + (nu if wn > 0 else 0) * k * 8 + local + work)
        mn.append((nu + len(ug)) * k * 8 + (ni + len(vg)) * k * 8 + (nu if wn > 0 else 0) * k * 8
                  + min(max(usent[r], vsent[r]) * k * 8, 16 << 20)
                  + (len(ug) + len(vg) + usent[r] + vsent[r]) * 8 + local + work)
    want = {}
    for key, v in (("ghost_rows", gh), ("neighbor_ranks", nr), ("bytes_per_iteration_neighbor", nb),
                   ("bytes_per_iteration_allgather", ba), ("memory_per_rank_bytes_neighbor", mn),
                   ("memory_per_rank_bytes_allgather", ma)):
        want[key] = "min %d avg %.1f max %d" % (min(v), sum(v) / p, max(v))
    def imb(f):
        return max(f) / (sum(f) / p) if sum(f) > 0 else Fraction(1)
    want["imbalance_flops"] = "users %.4f items %.4f" % (imb(fu), imb(fv))
    got = {}
    for line in sys.stdin:
        key, sep, val = line.partition(":")
        if sep and key in want:
            got[key] = val.strip()
    bad = [(kk, want[kk], got.get(kk)) for kk in want if got.get(kk) != want[kk]]
    for kk, a, b in bad:
        print("%s: expected '%s', got '%s'" % (kk, a, b))
    print("OK" if not bad else "DIFFERENT")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
