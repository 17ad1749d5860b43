#!/usr/bin/env bash
# Load benchmark: text parsing vs the binary dataset (issue 3).
#
#   tools/bench-load.sh [DIR]        (default DIR: build/bench-load)
#
# Generates (once, cached in DIR) a 20M-rating als-gen dataset as text and as
# the binary format, then runs `als-train --iters 0` at P = 1 and 2 from each
# and reports:
#   - load time: the slowest rank's read + distribute phases of als-train
#     (text: rank 0 parses and builds, then sends every rank its rows;
#     binary: every rank reads its own blocks with MPI-IO), median and best of
#     REPS runs;
#   - peak RSS of every rank (/usr/bin/time -f %M around each rank), against
#     the target 1.3 x (its ratings in both orientations x 16 bytes
#     + (m + n) k 8 bytes), the rank's rating counts taken from --print-plan.
# Files are read from the page cache (warm), as in repeated jobs on one node.
# Environment: USERS (100000), ITEMS (20000), PER_USER (200), K (10), REPS (5),
# LINKS (0: no social graph, so the target formula covers everything held).
set -eu
cd "$(dirname "$0")/.."
DIR=${1:-build/bench-load}
USERS=${USERS:-100000}; ITEMS=${ITEMS:-20000}; PER_USER=${PER_USER:-200}
K=${K:-10}; REPS=${REPS:-5}; LINKS=${LINKS:-0}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
unset OMP_NUM_THREADS
make -s tools >/dev/null
mkdir -p "$DIR"
TAG="u${USERS}-i${ITEMS}-r${PER_USER}-l${LINKS}"
TXT="$DIR/$TAG.txt"; SOC="$DIR/$TAG.social.txt"; BIN="$DIR/$TAG.bin"
GEN=(--users "$USERS" --items "$ITEMS" --ratings-per-user "$PER_USER" --rank 10 --sigma 0.5 --seed 1)
SOCARGS=(); TRAINSOC=()
if [ "$LINKS" -gt 0 ]; then
    GEN+=(--links-per-user "$LINKS"); SOCARGS=(--social "$SOC"); TRAINSOC=(--social "$SOC")
fi
now() { date +%s.%N; }
if [ ! -s "$TXT" ]; then
    t0=$(now)
    if [ "$LINKS" -gt 0 ]; then bin/als-gen "${GEN[@]}" --out-ratings "$TXT" --out-social "$SOC" > "$DIR/gen.log"
    else bin/als-gen "${GEN[@]}" --out-ratings "$TXT" > "$DIR/gen.log"; fi
    echo "als-gen text:       $(echo "$(now) - $t0" | bc) s  ($(du -h "$TXT" | cut -f1))"
fi
if [ ! -s "$BIN" ]; then
    t0=$(now)
    bin/als-partition --ratings "$TXT" "${SOCARGS[@]}" --out "$BIN" > "$DIR/partition.log"
    echo "als-partition:      $(echo "$(now) - $t0" | bc) s  ($(du -h "$BIN" | cut -f1), once per dataset)"
    t0=$(now)
    bin/als-gen "${GEN[@]}" --out-data "$DIR/$TAG.direct.bin" > "$DIR/gen-bin.log"
    echo "als-gen --out-data: $(echo "$(now) - $t0" | bc) s  (identical file: $(cmp -s "$BIN" "$DIR/$TAG.direct.bin" && echo yes || echo NO))"
    rm -f "$DIR/$TAG.direct.bin"
fi
head -1 "$DIR/partition.log" 2>/dev/null || true
cat "$TXT" "$BIN" ${SOCARGS:+"$SOC"} > /dev/null   # warm the page cache

run() { # P source -> prints "load_seconds rss_kb_rank0 rss_kb_rank1 ..." ; plan in $DIR/plan-P
    local p=$1 src=$2 log="$DIR/run-$1-$2.log"
    local in=(--ratings "$TXT" "${TRAINSOC[@]}"); [ "$src" = binary ] && in=(--data "$BIN")
    rm -f "$DIR"/rss.*
    timeout 900 mpirun -np "$p" sh -c '/usr/bin/time -o "$0.$OMPI_COMM_WORLD_RANK" -f "%M" "$@"' "$DIR/rss" \
        bin/als-train "${in[@]}" --rank "$K" --iters 0 --print-plan --quiet > "$log" 2>&1
    sed -n '/^block plan for/,/^imbalance/p' "$log" > "$DIR/plan-$p"
    local rd ds
    rd=$(awk '$1 == "read" {print $4}' "$log"); ds=$(awk '$1 == "distribute" {print $4}' "$log")
    echo "$(echo "$rd + $ds" | bc -l) $(for r in $(seq 0 $((p - 1))); do tail -1 "$DIR/rss.$r"; done | tr '\n' ' ')"
}

M=$(awk '/^users:/ {print $2}' "$DIR/partition.log"); N=$(awk '/^users:/ {print $4}' "$DIR/partition.log")
NNZ=$(awk '/^users:/ {print $6}' "$DIR/partition.log")
echo
echo "dataset: $M users, $N items, $NNZ ratings; k = $K; $REPS runs each; warm page cache; load = slowest rank's read + distribute"
echo "machine load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other jobs on the machine inflate both times)"
printf "%-3s %-7s %9s %9s %9s %9s   %s\n" P source median_s speedup best_s speedup "peak RSS per rank MB of the median run (target MB = 1.3 x (ratings both ways x 16 B + (m+n) k 8 B); ratio to the unscaled size)"
for p in 1 2; do
    declare -A load rss best
    for src in text binary; do
        : > "$DIR/reps"
        for r in $(seq "$REPS"); do run $p $src >> "$DIR/reps"; done
        load[$src]=$(sort -n "$DIR/reps" | awk -v n="$REPS" 'NR == int((n + 1) / 2) {print $1}')
        best[$src]=$(sort -n "$DIR/reps" | awk 'NR == 1 {print $1}')
        rss[$src]=$(sort -n "$DIR/reps" | awk -v n="$REPS" 'NR == int((n + 1) / 2) {$1 = ""; print}')  # same run
    done
    # per-rank sizes from the plan: user_ratings + item_ratings (+ social entries)
    mapfile -t need < <(awk -v m="$M" -v n="$N" -v k="$K" '$1 ~ /^[0-9]+$/ {
        printf "%.1f\n", (($3 + $6 + $4) * 16 + (m + n) * k * 8) / 1048576 }' "$DIR/plan-$p")
    for src in text binary; do
        sp=$(echo "${load[text]} / ${load[$src]}" | bc -l)
        spb=$(echo "${best[text]} / ${best[$src]}" | bc -l)
        line=""
        i=0
        for kb in ${rss[$src]}; do
            mb=$(echo "$kb / 1024" | bc -l)
            base=${need[$i]:-${need[0]}}
            line+=$(printf "%.0f (target %.0f, %.2fx)  " "$mb" "$(echo "1.3 * $base" | bc -l)" "$(echo "$mb / $base" | bc -l)")
            i=$((i + 1))
        done
        printf "%-3s %-7s %9.3f %8.1fx %9.3f %8.1fx   %s\n" "$p" "$src" "${load[$src]}" "$sp" "${best[$src]}" "$spb" "$line"
    done
    unset load rss best
done
echo
echo "logs: $DIR/run-P-{text,binary}.log; plan: $DIR/plan-P"
