#!/usr/bin/env bash
# Regenerates the "Implicit feedback" section of docs/RESULTS.md (issue 14):
# Last.fm HetRec 2011 play counts with log confidence, alpha = 0 against the
# friendship graph, and MovieLens 100K treated as implicit (ratings >= 4 as
# plays), each beside a popularity baseline; 5 seeded per-user item holdouts
# (als-split --by-user-items 0.2 --seed s). Hyper-parameters are chosen by
# als-tune on a validation split of each seed's TRAINING part only (a second
# --by-user-items 0.2 holdout); the test part is read only by the final runs.
#   tools/implicit-results.sh [OUTDIR]     (default results/implicit)
# Data from ../shared/data (override with ALS_DATA); nothing is copied into
# the repository. Prints the markdown section on stdout.
set -eu
cd "$(dirname "$0")/.."
DATA=${ALS_DATA:-$(cd .. && pwd)/shared/data}
OUT=${1:-results/implicit}
NP=${NP:-2}
SEEDS=${SEEDS:-"1 2 3 4 5"}
ITERS=${ITERS:-10}
K=${K:-32}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$OUT"
LFM="$DATA/lastfm-hetrec2011-2k"
ML="$DATA/movielens-100k"
# MovieLens 100K as implicit: ratings >= 4 become one play (value 1).
MLDATA=$(ls "$ML"/u.data "$ML"/ml-100k/u.data 2>/dev/null | head -1)
awk '$3 >= 4 { print $1, $2, 1 }' "$MLDATA" > "$OUT/ml100k-implicit.txt"

pop() { # train test N -> "ndcg recall" of the popularity ranking (als_ranking.h definitions)
    /usr/bin/python3 - "$1" "$2" "$3" <<'PYEOF'
import sys, math, collections
tr, te, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
def rows(p):
    for line in open(p):
        f = line.split()
        if len(f) < 3:
            continue
        try:
            yield int(f[0]), int(f[1]), float(f[2])
        except ValueError:
            continue
train = collections.defaultdict(set); cnt = collections.Counter(); users = set()
for u, i, r in rows(tr):
    train[u].add(i); cnt[i] += 1; users.add(u)
items = sorted(cnt)  # dense order = ascending raw id (the model's item order)
order = sorted(items, key=lambda i: (-cnt[i], i))  # score desc, index asc
test = collections.defaultdict(set)
for u, i, r in rows(te):
    if u in users and i in cnt and r > 0:
        test[u].add(i)
nd = rc = 0.0; n = 0
for u, rel in test.items():
    rel = rel - train[u]
    if not rel:
        continue
    top = [i for i in order if i not in train[u]][:N]
    dcg = sum(1 / math.log2(p + 2) for p, i in enumerate(top) if i in rel)
    idcg = sum(1 / math.log2(p + 2) for p in range(min(N, len(rel))))
    nd += dcg / idcg; rc += sum(1 for i in top if i in rel) / len(rel); n += 1
print("%.6f %.6f" % (nd / n, rc / n))
PYEOF
}

run_set() { # name ratings social-or-empty confidence-scale conf-grid lambda-grid alpha-grid
    local name=$1 ratings=$2 social=$3 scale=$4 confs=$5 lambdas=$6 alphas=$7
    for s in $SEEDS; do
        d="$OUT/$name/s$s"; mkdir -p "$d"
        bin/als-split --ratings "$ratings" --by-user-items 0.2 --seed "$s" --out "$d/split" > /dev/null
        soc=(); [ -n "$social" ] && soc=(--social "$social")
        # stage 1: alpha = 0, lambda x confidence on validation data
        tools/als-tune --ratings "$d/split/train.txt" ${soc[@]+"${soc[@]}"} --implicit \
            --confidence-scale "$scale" --confidence "$confs" --rank "$K" --lambda-u "$lambdas" \
            --alpha 0 --iters "$ITERS" --np "$NP" --val-seed "$s" --extra "--solver cg" \
            --csv "$d/tune0.csv" --best "$d/best0.args" --quiet > "$d/tune0.log"
        arms="alpha0"
        if [ -n "$social" ]; then
            # stage 2: alpha on the same validation split, lambda and confidence from stage 1
            lu=$(sed 's/.*--lambda-u \([^ ]*\).*/\1/' "$d/best0.args")
            c=$(sed 's/.*--confidence \([^ ]*\).*/\1/' "$d/best0.args")
            tools/als-tune --ratings "$d/split/train.txt" "${soc[@]}" --implicit \
                --confidence-scale "$scale" --confidence "$c" --rank "$K" --lambda-u "$lu" \
                --alpha "$alphas" --iters "$ITERS" --np "$NP" --val-seed "$s" --extra "--solver cg" \
                --csv "$d/tune1.csv" --best "$d/best1.args" --quiet > "$d/tune1.log"
            arms="alpha0 social"
        fi
        for arm in $arms; do
            args=$(cat "$d/best$([ $arm = alpha0 ] && echo 0 || echo 1).args")
            # shellcheck disable=SC2086
            mpirun -np "$NP" bin/als-train --ratings "$d/split/train.txt" ${soc[@]+"${soc[@]}"} \
                --test "$d/split/test.txt" $args --quiet --out "$d/$arm" > "$d/$arm.log"
            echo "$args" > "$d/$arm.args"
        done
        pop "$d/split/train.txt" "$d/split/test.txt" 10 > "$d/pop.txt"
    done
}

run_set lastfm "$LFM/user_artists.dat" "$LFM/user_friends.dat" log "1,4" "1,5" "0.25,1,4"
run_set ml100k "$OUT/ml100k-implicit.txt" "" linear "1,4" "1,5" ""

/usr/bin/python3 - "$OUT" "$SEEDS" "$K" "$ITERS" "$NP" <<'PYEOF'
import sys, json, os, statistics as st
out, seeds, K, iters, NP = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4], sys.argv[5]
def metric(d, arm):
    m = json.load(open(os.path.join(d, arm, "metrics.json")))["iterations"][-1]
    return m["ndcg@10"], m["recall@10"]
print("| set | seed | arm | chosen options (als-tune, validation only) | NDCG@10 | recall@10 |")
print("|---|---|---|---|---|---|")
summary = []
for name, arms in (("lastfm", ["alpha0", "social"]), ("ml100k", ["alpha0"])):
    res = {a: [] for a in arms + ["popularity"]}
    for s in seeds:
        d = os.path.join(out, name, "s" + s)
        for a in arms:
            nd, rc = metric(d, a)
            res[a].append((nd, rc))
            args = open(os.path.join(d, a + ".args")).read().split()
            keep = " ".join(x for x in args if x not in ("--implicit",))
            print("| %s | %s | %s | `%s` | %.4f | %.4f |" % (name, s, a, keep, nd, rc))
        nd, rc = map(float, open(os.path.join(d, "pop.txt")).read().split())
        res["popularity"].append((nd, rc))
        print("| %s | %s | popularity | - | %.4f | %.4f |" % (name, s, nd, rc))
    for a, v in res.items():
        nds = [x[0] for x in v]; rcs = [x[1] for x in v]
        summary.append((name, a, st.mean(nds), st.pstdev(nds), st.mean(rcs), st.pstdev(rcs),
                        sum(1 for x, y in zip(nds, [p[0] for p in res[arms[0]]]) if x > y)))
print()
print("| set | arm | mean NDCG@10 (sd over %d seeds) | mean recall@10 (sd) |" % len(seeds))
print("|---|---|---|---|")
for name, a, m1, s1, m2, s2, wins in summary:
    print("| %s | %s | %.4f (%.4f) | %.4f (%.4f) |" % (name, a, m1, s1, m2, s2))
PYEOF
