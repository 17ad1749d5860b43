#!/usr/bin/python3
"""Independent dense NumPy implementation of DESIGN.md §2 (the test oracle).

usage: ref_soreg.py RATINGS SOCIAL U0.npy V0.npy USER_IDS ITEM_IDS K LU LV ALPHA ITERS OUT_U OUT_V

Reads the same text files (simple whitespace/comma format, first line may be a
header), builds dense R, mask and S, and runs ITERS Jacobi ALS iterations
solving every normal equation with numpy.linalg.solve.
"""
import re
import sys

import numpy as np

(ratings, social, u0, v0, uids, iids, k, lu, lv, alpha, iters, out_u, out_v) = sys.argv[1:]
k, lu, lv, alpha, iters = int(k), float(lu), float(lv), float(alpha), int(iters)
user_ids = [int(x) for x in open(uids)]
item_ids = [int(x) for x in open(iids)]
ui = {u: i for i, u in enumerate(user_ids)}
ii = {u: i for i, u in enumerate(item_ids)}
m, n = len(user_ids), len(item_ids)


def rows(path):
    for line in open(path):
        line = line.strip()
        if not line or line[0] in "#%":
            continue
        parts = [p for p in re.split(r"::|[ \t,]+", line) if p]
        if not parts[0].isdigit():
            continue  # header
        yield parts


obs = [(ui[int(p[0])], ii[int(p[1])], float(p[2])) for p in rows(ratings)]
S = np.zeros((m, m))
for p in rows(social):
    a, b = ui[int(p[0])], ui[int(p[1])]
    if a != b:
        S[a, b] = float(p[2]) if len(p) > 2 else 1.0  # repeated link: last wins
W = S + S.T
d = W.sum(axis=1)
U = np.load(u0)
V = np.load(v0)
by_user = [[] for _ in range(m)]
by_item = [[] for _ in range(n)]
for (a, j, r) in obs:
    by_user[a].append((j, r))
    by_item[j].append((a, r))
for _ in range(iters):
    Uold = U.copy()
    for a in range(m):
        A = (lu + alpha * d[a]) * np.eye(k)
        b = alpha * W[a] @ Uold
        for (j, r) in by_user[a]:
            A += np.outer(V[j], V[j])
            b += r * V[j]
        U[a] = np.linalg.solve(A, b)
    for j in range(n):
        A = lv * np.eye(k)
        b = np.zeros(k)
        for (a, r) in by_item[j]:
            A += np.outer(U[a], U[a])
            b += r * U[a]
        V[j] = np.linalg.solve(A, b)
np.save(out_u, U)
np.save(out_v, V)
