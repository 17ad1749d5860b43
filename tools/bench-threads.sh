#!/usr/bin/env bash
# Threads and ranks on one node (issue 12): seconds per iteration of 1 rank ×
# 1 thread, 1 rank × 2 threads (--bind-to none) and 2 ranks × 1 thread (with
# --exchange allgather and with --exchange shared) on a 2M-rating als-gen set
# (50K users × 10K items), alternated, minimum of REPS runs each,
# with the phase breakdown of the fastest run, the speed-up of 2 threads and
# the parallel efficiency of P = 2. Prints the load average before each run:
# the figures mean something only on an otherwise idle machine.
#
#   tools/bench-threads.sh                    # k = 64, 3 iterations, 3 runs
#   BT_K="16 64" BT_REPS=5 BT_SOLVER=cg tools/bench-threads.sh
set -eu
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
BIN=${ALS_BIN:-bin}
KS=${BT_K:-64}
REPS=${BT_REPS:-3}
ITERS=${BT_ITERS:-3}
SOLVER=${BT_SOLVER:-cholesky}
D=${BT_DIR:-build/bench}
mkdir -p "$D"
DATA=$D/gen2m.bin
[ -s "$DATA" ] || "$BIN/als-gen" --users 50000 --items 10000 --ratings-per-user 40 --seed 1 \
    --out-data "$DATA" > /dev/null
one() { # k P T exchange -> "s/iter gram solve exchange evaluate" of one run
    local bind=""; [ "$3" -gt 1 ] && bind="--bind-to none"
    # shellcheck disable=SC2086
    mpirun -np "$2" $bind "$BIN/als-train" --data "$DATA" --rank "$1" --iters "$ITERS" \
        --threads "$3" --solver "$SOLVER" --exchange "$4" --quiet > "$D/bt.log" 2>&1
    awk -v n="$ITERS" '/^seconds_per_iteration:/ {s = $2}
        /^(gram|solve|exchange|evaluate) / {p[$1] = $4 / n}
        END {printf "%.4f %.4f %.4f %.4f %.4f\n", s, p["gram"], p["solve"], p["exchange"], p["evaluate"]}' "$D/bt.log"
}
echo "bench-threads: $(uname -n), $(nproc) cores, $BIN, solver $SOLVER, $ITERS iterations, min of $REPS"
printf '%-4s %-6s %-9s %9s %8s %8s %8s %8s   %s\n' k PxT exchange s/iter gram solve exch eval "load (1-min) before each run"
for k in $KS; do
    declare -A best=() loads=()
    # The configurations alternate within each repetition (a slow spell of
    # the machine then hits all of them), the minimum of each is kept.
    cfgs=("1 1 allgather" "1 2 allgather" "2 1 allgather" "2 1 shared")
    for r in $(seq "$REPS"); do
        for cfg in "${cfgs[@]}"; do
            set -- $cfg
            key="$1x$2 $3"
            loads[$key]="${loads[$key]:-} $(cut -d' ' -f1 /proc/loadavg)"
            line=$(one "$k" "$1" "$2" "$3")
            b=${best[$key]:-}
            if [ -z "$b" ] || awk -v a="${line%% *}" -v c="${b%% *}" 'BEGIN {exit !(a < c)}'; then
                best[$key]=$line
            fi
        done
    done
    for cfg in "${cfgs[@]}"; do
        set -- $cfg
        key="$1x$2 $3"
        read -r s g so ex ev <<<"${best[$key]}"
        printf '%-4s %-6s %-9s %9s %8s %8s %8s %8s  %s\n' "$k" "$1x$2" "$3" "$s" "$g" "$so" "$ex" "$ev" "${loads[$key]}"
    done
    a=${best[1x1 allgather]%% *} t=${best[1x2 allgather]%% *}
    p=${best[2x1 allgather]%% *} q=${best[2x1 shared]%% *}
    awk -v a="$a" -v t="$t" -v p="$p" -v q="$q" -v k="$k" 'BEGIN {
        printf "k = %d: 2 threads %.2fx faster than 1 (target 1.8x); P = 2 efficiency %.0f%% with --exchange allgather, %.0f%% with --exchange shared (target 90%%)\n",
               k, a / t, 100 * a / (2 * p), 100 * a / (2 * q) }'
    unset best
done
