#!/usr/bin/env bash
# Time to accuracy beside LIBMF (SGD) and libpmf (CCD++), issue 12.
#
# For each data set (MovieLens 100K u1, a 2M-rating als-gen set with a 10%
# per-user test split), rank k and core count, every solver runs once per
# repetition and reports its test RMSE after each iteration with its
# cumulative time; the table gives, per solver, the time until the test RMSE
# is within 0.5% of that solver's own best in the run (best of the
# repetitions: the minimum time), and that best RMSE. Also the k = 64
# iteration time of --solver cg on the 2M set against a LIBMF epoch.
#
# Peer code is built from source in a scratch folder OUTSIDE the repository
# (never committed) from GitHub snapshots unpacked there beforehand:
#   $TTA_DIR/cjlin1+libmf            (github:cjlin1/libmf)
#   $TTA_DIR/Hui-Li+LIBPMF-original  (github:Hui-Li/LIBPMF-original, libpmf 1.41)
# A tool whose source is absent is skipped with a message. MovieLens is read
# from ../shared/data/movielens-100k (or $ML_DIR) and skipped if absent.
#
#   tools/time-to-accuracy.sh                 # everything (about 2 minutes here)
#   TTA_SETS=ml TTA_K=10 TTA_CORES=1 tools/time-to-accuracy.sh
#   TTA_REPS=3 tools/time-to-accuracy.sh      # minimum of 3 repetitions (about 4 minutes)
#
# What each time counts (each tool's own notion of training time, data
# loading excluded):
#   this project  the cumulative "seconds" column of als-train (each
#                 iteration's wall time including its train/test RMSE);
#   LIBMF         wall time from its "iter" header line (printed when training
#                 starts, after loading) to each epoch's line (includes its
#                 per-epoch test RMSE);
#   libpmf        the cumulative "time" it prints per rank-one update (its own
#                 timer, evaluation excluded).
# Parameters (count-scaled regularization in all three: LIBMF's SGD and
# libpmf's CCD++ regularize per rating): per data set AND rank k, each tool's
# best lambda by test RMSE over a small grid (TTA_GRID=1 below); the values
# in lam() are that grid's result of 2026-12-01 (docs/PERFORMANCE.md):
#                     MovieLens k=10  k=64    2M k=10  k=64
#   this project      0.15            0.15    0.05     0.1   (--lambda-scale count)
#   LIBMF (-l2)       0.1             0.1     0.05     0.07  (learning rate 0.1, its default)
#   libpmf (-l)       0.15            0.1     0.05     0.07  (-T 5, its default)
# Grids: MovieLens {0.05, 0.1, 0.15, 0.2, 0.3}, the 2M set {0.02, 0.05, 0.07,
# 0.1, 0.15}. This project runs Cholesky and --solver cg
# --cg-steps 3 (its default) with the same lambda.
# Override with TTA_LAMBDA_<TOOL>_<SET>_<K>, e.g. TTA_LAMBDA_LIBMF_gen2m_64=0.1.
#
#   TTA_GRID=1 tools/time-to-accuracy.sh   # (about 4 minutes) the lambda grid instead of the
#       table: every tool, set and k in TTA_SETS/TTA_K, 1 core, one run per
#       lambda, the best test RMSE of each run; prints the best lambda of each
#       (tool, set, k) and writes $OUT/grid.txt
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ALS_BIN:-$REPO/bin}
TTA_DIR=${TTA_DIR:-/work/scratch/tta}
ML_DIR=${ML_DIR:-$REPO/../shared/data/movielens-100k}
SETS=${TTA_SETS:-ml gen2m}
KS=${TTA_K:-10 64}
CORES=${TTA_CORES:-1 2}
REPS=${TTA_REPS:-1}
OUT=${TTA_OUT:-$TTA_DIR/results}
PY=/usr/bin/python3
lam() { # tool set k -> lambda
    local v="TTA_LAMBDA_$1_$2_$3"
    if [ -n "${!v:-}" ]; then echo "${!v}"; return; fi
    case "$1:$2:$3" in
        OURS:ml:*) echo 0.15 ;; LIBMF:ml:*) echo 0.1 ;; PMF:ml:10) echo 0.15 ;; PMF:ml:*) echo 0.1 ;;
        OURS:gen2m:64) echo 0.1 ;; *:gen2m:64) echo 0.07 ;;
        *:gen2m:*) echo 0.05 ;;
        *) echo 0.1 ;;
    esac
}
GRID=${TTA_GRID:-0}
grid_of() { # set -> the lambdas tried
    case "$1" in ml) echo 0.05 0.1 0.15 0.2 0.3 ;; *) echo 0.02 0.05 0.07 0.1 0.15 ;; esac
}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
case "$TTA_DIR" in "$REPO"|"$REPO"/*) echo "tta: TTA_DIR must be outside the repository" >&2; exit 2 ;; esac
mkdir -p "$TTA_DIR" "$OUT"

# ---- build the peers (once) ----
LIBMF=$TTA_DIR/cjlin1+libmf
PMF=$TTA_DIR/Hui-Li+LIBPMF-original
have_libmf=0; have_pmf=0
if [ -f "$LIBMF/mf.cpp" ]; then
    [ -x "$LIBMF/mf-train" ] || make -C "$LIBMF" mf-train > "$OUT/libmf-build.log" 2>&1
    have_libmf=1
else echo "tta: $LIBMF absent (unpack github:cjlin1/libmf there): LIBMF skipped"; fi
if [ -f "$PMF/ccd-r1.cpp" ]; then
    [ -x "$PMF/omp-pmf-train" ] || make -C "$PMF" omp-pmf-train > "$OUT/libpmf-build.log" 2>&1
    have_pmf=1
else echo "tta: $PMF absent (unpack github:Hui-Li/LIBPMF-original there): libpmf skipped"; fi

# ---- data: train/test text (1-based ids) and libpmf's meta directory ----
D=$TTA_DIR/data
mkdir -p "$D"
prep() { # name train test
    local dir=$D/$1
    mkdir -p "$dir"
    if [ ! -s "$dir/meta" ]; then
        # user item rating only (MovieLens has a 4th column, the time)
        awk '{print $1, $2, $3}' "$2" > "$dir/train.txt"
        awk '{print $1, $2, $3}' "$3" > "$dir/test.txt"
        read -r m n <<<"$(awk '{if ($1 > m) m = $1; if ($2 > n) n = $2} END {print m, n}' "$dir/train.txt" "$dir/test.txt")"
        printf '%s %s\n%s train.txt\n%s test.txt\n' "$m" "$n" "$(wc -l < "$dir/train.txt")" \
            "$(wc -l < "$dir/test.txt")" > "$dir/meta"
    fi
}
sets=""
for set in $SETS; do
    case $set in
        ml)
            if [ -s "$ML_DIR/u1.base" ]; then
                prep ml "$ML_DIR/u1.base" "$ML_DIR/u1.test"; sets="$sets ml"
            else echo "tta: $ML_DIR/u1.base absent: MovieLens skipped"; fi ;;
        gen2m)
            if [ ! -s "$D/gen2m/meta" ]; then
                "$BIN/als-gen" --users 50000 --items 10000 --ratings-per-user 40 --seed 1 \
                    --out-ratings "$D/gen2m-all.txt" > /dev/null
                "$BIN/als-split" --ratings "$D/gen2m-all.txt" --ratio 0.1 --out "$D/gen2m-split" > /dev/null
                prep gen2m "$D/gen2m-split/train.txt" "$D/gen2m-split/test.txt"
            fi
            sets="$sets gen2m" ;;
        *) echo "tta: unknown set $set" >&2; exit 2 ;;
    esac
done

iters_for() { # set k solver -> iterations / epochs
    case "$1:$3" in
        ml:chol) echo 15 ;; ml:cg) echo 30 ;; ml:libmf) echo 60 ;; ml:pmf) echo 10 ;;
        gen2m:chol) echo 10 ;; gen2m:cg) echo 25 ;; gen2m:libmf) echo 40 ;; gen2m:pmf) echo 8 ;;
    esac
}

# Each run writes "seconds rmse" lines (cumulative) to $OUT/<tag>.curve.
run_ours() { # set k cores solver tag
    local dir=$D/$1 extra=""; [ "$4" = cg ] && extra="--solver cg --cg-steps 3"
    # shellcheck disable=SC2086
    mpirun -np 1 --bind-to none "$BIN/als-train" --ratings "$dir/train.txt" --test "$dir/test.txt" \
        --rank "$2" --lambda-scale count --lambda "${TTA_LAM:-$(lam OURS "$1" "$2")}" --iters "$(iters_for "$1" "$2" "$4")" \
        --threads "$3" $extra > "$OUT/$5.log" 2>&1
    awk '/^ iter /{on=1; next} on && /^ *[0-9]+ /{t += $6; print t, $4} /^----/{on=0}' "$OUT/$5.log" > "$OUT/$5.curve"
}
run_libmf() { # set k cores tag
    local dir=$D/$1
    "$LIBMF/mf-train" -k "$2" -l2 "${TTA_LAM:-$(lam LIBMF "$1" "$2")}" -t "$(iters_for "$1" "$2" libmf)" -s "$3" -p "$dir/test.txt" \
        "$dir/train.txt" "$OUT/$4.model" 2>&1 | $PY -u -c '
import sys, time
t0 = None
for line in sys.stdin:
    now = time.monotonic()
    f = line.split()
    if f and f[0] == "iter":
        t0 = now; continue
    if t0 is not None and f and f[0].isdigit():
        print("%.4f %s" % (now - t0, f[2]), flush=True)
' > "$OUT/$4.curve"
    rm -f "$OUT/$4.model"
}
run_pmf() { # set k cores tag (libpmf also writes p.txt and q.txt into the
    # working directory: run it in $OUT, never in the repository)
    cd "$OUT"
    OMP_NUM_THREADS=$3 "$PMF/omp-pmf-train" -k "$2" -l "${TTA_LAM:-$(lam PMF "$1" "$2")}" -t "$(iters_for "$1" "$2" pmf)" -n "$3" \
        -p 1 -q 1 "$D/$1" "$OUT/$4.model" > "$OUT/$4.log" 2>&1
    awk '/^iter/ {for (i = 1; i < NF; i++) {if ($i == "time") t = $(i + 1); if ($i == "rmse") r = $(i + 1)}; print t, r}' \
        "$OUT/$4.log" > "$OUT/$4.curve"
    rm -f "$OUT/$4.model" "$OUT/p.txt" "$OUT/q.txt" "$OUT/W.txt" "$OUT/H.txt"
    cd "$REPO"
}
# time to within 0.5% of the curve's best, and the best
tta() {
    awk 'NR == FNR {if (b == "" || $2 < b) b = $2; next}
         !done && $2 <= b * 1.005 {printf "%.3f %.4f\n", $1, b; done = 1}' "$1" "$1"
}

best_rmse() { awk '{if (b == "" || $2 < b) b = $2} END {print b}' "$1"; }
if [ "$GRID" = 1 ]; then
    echo "tta grid: $(date -u +%FT%TZ), git $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
    G=$OUT/grid.txt
    : > "$G"
    for set in $sets; do
        for k in $KS; do
            for solver in cg libmf pmf; do
                [ "$solver" = libmf ] && [ $have_libmf = 0 ] && continue
                [ "$solver" = pmf ] && [ $have_pmf = 0 ] && continue
                for l in $(grid_of "$set"); do
                    tag=grid-$set-k$k-$solver-$l
                    case $solver in
                        cg) TTA_LAM=$l run_ours "$set" "$k" 1 cg "$tag" ;;
                        libmf) TTA_LAM=$l run_libmf "$set" "$k" 1 "$tag" ;;
                        pmf) TTA_LAM=$l run_pmf "$set" "$k" 1 "$tag" ;;
                    esac
                    echo "$set $k $solver $l $(best_rmse "$OUT/$tag.curve")" | tee -a "$G"
                done
            done
        done
    done
    echo
    echo "best lambda by test RMSE (set k tool lambda rmse):"
    sort -k1,1 -k2,2n -k3,3 -k5,5g "$G" | awk '{key = $1 " " $2 " " $3} key != last {print "  " $0; last = key}'
    exit 0
fi

echo "tta: $(date -u +%FT%TZ) $(uname -n), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $REPS repetition(s)"
echo "tta: git $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'), this project $BIN"
RES=$OUT/tta.txt
: > "$RES"
for set in $sets; do
    for k in $KS; do
        for c in $CORES; do
            for solver in chol cg libmf pmf; do
                [ "$solver" = libmf ] && [ $have_libmf = 0 ] && continue
                [ "$solver" = pmf ] && [ $have_pmf = 0 ] && continue
                best=""
                for rep in $(seq "$REPS"); do
                    tag=$set-k$k-c$c-$solver-$rep
                    case $solver in
                        chol|cg) run_ours "$set" "$k" "$c" "$solver" "$tag" ;;
                        libmf) run_libmf "$set" "$k" "$c" "$tag" ;;
                        pmf) run_pmf "$set" "$k" "$c" "$tag" ;;
                    esac
                    r=$(tta "$OUT/$tag.curve")
                    if [ -z "$best" ] || [ "$(echo "$r" | awk -v b="$best" '{split(b, x, " "); print ($1 < x[1])}')" = 1 ]; then best=$r; fi
                done
                echo "$set $k $c $solver $best" | tee -a "$RES"
            done
        done
    done
done

# The table: one row per (set, k, cores).
$PY - "$RES" <<'EOF'
import sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 6:
        continue
    rows.setdefault((f[0], int(f[1]), int(f[2])), {})[f[3]] = (float(f[4]), float(f[5]))
name = {"ml": "MovieLens 100K u1", "gen2m": "2M als-gen"}
print()
print("| set, k, cores | this project (Cholesky) | this project (--solver cg) | LIBMF (SGD) | libpmf (CCD++) |")
print("|---|---|---|---|---|")
for (s, k, c), r in sorted(rows.items(), key=lambda x: (x[0][0] != "ml", x[0][1], x[0][2])):
    cell = lambda t: "%.3f s (%.4f)" % r[t] if t in r else "-"
    print("| %s, k = %d, %d core%s | %s | %s | %s | %s |" % (name.get(s, s), k, c, "s" if c > 1 else "",
          cell("chol"), cell("cg"), cell("libmf"), cell("pmf")))
EOF

# --solver cg iteration vs a LIBMF epoch at k = 64 on the 2M set (same cores):
# the fastest of the first repetition, and the medians over all repetitions.
steps() { # curve files -> one per-iteration time per line (after the first line of each)
    for f in "$@"; do [ -s "$f" ] && awk 'NR > 1 {print $1 - p} {p = $1}' "$f"; done
}
median() { sort -g | awk '{a[NR] = $1} END {if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
if [ $have_libmf = 1 ] && echo "$sets" | grep -q gen2m && echo " $KS " | grep -q " 64 "; then
    echo
    for c in $CORES; do
        cg=$(steps "$OUT/gen2m-k64-c$c-cg-1.curve" | sort -g | head -1)
        ep=$(steps "$OUT/gen2m-k64-c$c-libmf-1.curve" | sort -g | head -1)
        cgm=$(steps "$OUT"/gen2m-k64-c$c-cg-*.curve | median)
        epm=$(steps "$OUT"/gen2m-k64-c$c-libmf-*.curve | median)
        [ -n "$cg" ] && [ -n "$ep" ] && awk -v a="$cg" -v b="$ep" -v am="$cgm" -v bm="$epm" -v c="$c" \
            'BEGIN {printf "k = 64, 2M, %d core(s): --solver cg iteration %.3f s, LIBMF epoch %.3f s (%.2fx); medians over all repetitions %.4f s, %.4f s (%.2fx)\n", c, a, b, a / b, am, bm, am / bm}'
    done
fi
