#!/usr/bin/env python3
"""Write a small dirty dataset for the multi-rank tests (no numpy needed).

Users with no ratings (social only), items rated once, duplicate pairs, a
self-link, a header line, CRLF lines, comments, raw ids far apart.
usage: gen_tricky.py DIR SEED
"""
import os
import random
import sys

d, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
os.makedirs(d, exist_ok=True)
users = [rng.randrange(1, 10**12) for _ in range(60)]
items = [rng.randrange(0, 10**6) for _ in range(40)]
rows = []
for u in users[:50]:                       # users[50:] rate nothing
    for it in rng.sample(items[:35], rng.randint(3, 12)):
        rows.append((u, it, rng.choice([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5])))
for it in items[35:]:                      # items rated exactly once
    rows.append((rng.choice(users[:50]), it, 3.0))
rows += [rows[3][:2] + (1.0,), rows[10][:2] + (5.0,)]  # duplicate pairs
rng.shuffle(rows)
with open(os.path.join(d, "ratings.txt"), "w", newline="") as f:
    f.write("user,item,rating\r\n# a comment\r\n")
    for i, (u, it, r) in enumerate(rows):
        sep = [" ", "\t", ",", "::"][i % 4]
        f.write(f"{u}{sep}{it}{sep}{r}\r\n" if i % 3 == 0 else f"{u}{sep}{it}{sep}{r}\n")
with open(os.path.join(d, "social.txt"), "w") as f:
    for _ in range(120):
        a, b = rng.choice(users), rng.choice(users)
        f.write(f"{a} {b} {rng.choice([1, 0.5, 0.25])}\n")
    f.write(f"{users[0]} {users[0]} 1\n")   # a self-link
    f.write(f"{users[1]} {users[55]} 1\n")  # users[55] has no ratings: cold start
with open(os.path.join(d, "test.txt"), "w") as f:
    for _ in range(80):
        f.write(f"{rng.choice(users[:50])} {rng.choice(items)} {rng.choice([1, 2, 3, 4, 5])}\n")
    f.write(f"999999999999999 {items[0]} 3\n")  # unknown user
    f.write(f"{users[55]} {items[0]} 4\n")     # a cold-start user's rating
    f.write(f"{users[0]} 77777777 3\n")         # unknown item
