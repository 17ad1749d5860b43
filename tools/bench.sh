#!/usr/bin/env bash
# make bench: seconds per iteration, GFLOP/s, fraction of the same-run dgemm
# rate, phase breakdown and peak memory per rank, for k = 16 32 64 128 and
# P = 1, 2 (ranks x 1 thread) plus P = 1 x 2 threads. Appends one JSON line per
# run to build/bench/results.jsonl so runs can be compared over time.
#
#   make bench                   # small set (2M ratings, about a minute)
#   BENCH_SIZE=large make bench  # 20M ratings (several minutes)
#   BENCH_K="64" BENCH_P="1 2" make bench
#   BENCH_KERNELS_ONLY=1 make bench   # only the kernel section (one core)
#   BENCH_KERNELS=0 make bench        # skip it
#   BENCH_ISA=avx2 make bench         # whole iterations on the AVX2 path
#                                       (ALS_KERNEL_ISA), against the AVX2 dgemm
#
# An AVX-512 CPU also stands in for an AVX2-only one (the issue's AMD EPYC
# kind): the avx2 rows of the kernel summary and the BENCH_ISA=avx2 whole
# iterations are also given as fractions of the best AVX2-only dgemm
# (OPENBLAS_CORETYPE ZEN or HASWELL) measured in the same run, the ceiling
# such a machine's dgemm would have on these cores.
#
# The kernel section comes first: the single-core dgemm of every
# OPENBLAS_CORETYPE this CPU runs (a type it cannot run dies and is skipped),
# the best of them as the reference, then for each ISA path that runs here
# (ALS_KERNEL_ISA values avx512, avx2, generic) and k = 16 32 64 10 the
# fractions of that dgemm reached by the gram+rhs kernel, the batched
# Cholesky solve, and the per-row kernels of an iteration (gram+rhs, lambda,
# batched solve; exchange and evaluation not included). Times are CPU time
# of the benchmark thread (bin/als-bench-kernels --help).
set -eu
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
SIZE=${BENCH_SIZE:-small}
KS=${BENCH_K:-16 32 64 128}
PS=${BENCH_P:-1 2}
ITERS=${BENCH_ITERS:-3}
D=build/bench
mkdir -p "$D"
case $SIZE in
    small) M=100000; N=20000; NNZ=2000000 ;;
    large) M=1000000; N=100000; NNZ=20000000 ;;
    *) echo "bench: BENCH_SIZE must be small or large" >&2; exit 2 ;;
esac
DATA="$D/synthetic-$SIZE.txt"
if [ ! -s "$DATA" ]; then
    echo "bench: generating $NNZ uniform random ratings ($M users x $N items) in $DATA"
    awk -v m=$M -v n=$N -v nnz=$NNZ 'BEGIN { srand(12345);
        for (t = 0; t < nnz; t++) printf "%d %d %d\n", int(rand() * m), int(rand() * n), 1 + int(rand() * 5) }' > "$DATA.tmp"
    mv "$DATA.tmp" "$DATA"
fi
if [ "${BENCH_KERNELS:-1}" != 0 ]; then
    KK=${BENCH_KERNEL_K:-16,32,64,10}
    CORETYPES=${BENCH_CORETYPES:-SAPPHIRERAPIDS COOPERLAKE SKYLAKEX ZEN HASWELL SANDYBRIDGE PRESCOTT}
    best=0; bestct=""; best2=0
    echo "bench: kernels, one core. dgemm per OPENBLAS_CORETYPE (best of 3):"
    for ct in default $CORETYPES; do
        if [ "$ct" = default ]; then env=""; else env="OPENBLAS_CORETYPE=$ct"; fi
        line=$(env $env bin/als-bench-kernels --dgemm-only --reps 3 2>/dev/null) || { echo "   $ct: cannot run here"; continue; }
        read -r core g <<<"$($PY -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["blas_core"], d["dgemm_gflops"])' "$line")"
        echo "   $ct -> $core: $g GFLOP/s"
        if $PY -c "import sys; sys.exit(0 if float('$g') > float('$best') else 1)"; then best=$g; bestct=$ct; fi
        case $ct in ZEN|HASWELL)
            if $PY -c "import sys; sys.exit(0 if float('$g') > float('$best2') else 1)"; then best2=$g; fi ;;
        esac
    done
    echo "bench: reference dgemm = $best GFLOP/s ($bestct); the kernel runs re-measure it and keep the best"
    echo "bench: best AVX2-only dgemm (ZEN, HASWELL core types) = $best2 GFLOP/s"
    cenv=""; [ "$bestct" != default ] && cenv="OPENBLAS_CORETYPE=$bestct"
    : > "$D/kernels.jsonl"
    for isa in avx512 avx2 generic; do
        if ! env $cenv bin/als-bench-kernels --isa "$isa" --k 1 --ratings 100 --xrows 10 --reps 1 --dgemm-n 64 --no-ref >/dev/null 2>&1; then
            echo "bench: ISA $isa: not supported on this CPU"; continue
        fi
        env $cenv bin/als-bench-kernels --isa "$isa" --k "$KK" --ratings "${BENCH_KERNEL_RATINGS:-500000}" \
            --reps "${BENCH_KERNEL_REPS:-3}" --no-ref --json --dgemm-gflops "$best" |
            tee -a "$D/kernels.jsonl" | grep -v '^{'
    done
    echo "bench: summary, fraction of the best single-core dgemm (same run):"
    $PY - "$D/kernels.jsonl" "$best2" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
best2 = float(sys.argv[2])
print("   %-8s %4s %8s %8s %8s   %-13s  %s" % ("isa", "k", "gram", "solve", "iter", "dgemm GFLOP/s",
      "gram with X in L2; ns per rating: gram / gram with X in L2 / reading X's rows alone"))
for r in rows:
    print("   %-8s %4d %7.0f%% %7.0f%% %7.0f%%   %-13.1f  %3.0f%%; %.1f / %.1f / %.1f" % (
          r["isa"], r["k"], 100 * r["gram_frac"], 100 * r["solve_batch_frac"], 100 * r["iter_frac"],
          r["dgemm_ref_gflops"], 100 * r["gram_l2_frac"], r["gram_ns_per_rating"],
          r["gram_l2_ns_per_rating"], r["read_ns_per_rating"]))
print("bench: the Gram reads one random row of X per rating; X of the workload is %.0f MB and more"
      " (L2 %.1f MB): 'with X in L2' is the Gram's rate when its rows come from cache, the"
      " ceiling that the memory traffic ('reading X's rows alone') keeps it under" %
      (min(r["x_bytes"] for r in rows) / 1e6, 4 * max(r["x_l2_bytes"] for r in rows) / 1e6))
if best2 > 0 and any(r["isa"] == "avx2" for r in rows):
    print("bench: the avx2 rows against the best AVX2-only dgemm (%.1f GFLOP/s, same run):" % best2)
    for r in rows:
        if r["isa"] == "avx2":
            f = r["dgemm_ref_gflops"] / best2
            print("   %-8s %4d %7.0f%% %7.0f%% %7.0f%%   %.1f" % (r["isa"], r["k"], 100 * f * r["gram_frac"],
                  100 * f * r["solve_batch_frac"], 100 * f * r["iter_frac"], best2))
PYEOF
    [ "${BENCH_KERNELS_ONLY:-0}" = 1 ] && exit 0
fi

# The machine's single-core dgemm rate, measured now (same run).
DGEMM=$(bin/als-bench-kernels --k 16 --xrows 1000 --ratings 20000 --reps 3 --json | tail -1 |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["dgemm_gflops"])')
# The reference is the best of this and the kernel section's best coretype.
if [ -n "${best:-}" ] && $PY -c "import sys; sys.exit(0 if float('$best') > float('$DGEMM') else 1)"; then
    echo "bench: dgemm with the default coretype $DGEMM GFLOP/s; reference: the best coretype's $best"
    DGEMM=$best
fi
# BENCH_ISA pins the fast kernels' path of the runs; with avx2 the reference
# is the best AVX2-only dgemm (ZEN, HASWELL core types): the kernel section's,
# or measured now when that section was skipped.
if [ -n "${BENCH_ISA:-}" ]; then
    export ALS_KERNEL_ISA=$BENCH_ISA
    if [ "$BENCH_ISA" = avx2 ]; then
        d2=${best2:-0}
        [ "$d2" = 0 ] && for ct in ZEN HASWELL; do
            g=$(OPENBLAS_CORETYPE=$ct bin/als-bench-kernels --dgemm-only --reps 3 2>/dev/null |
                $PY -c 'import json,sys; print(json.load(sys.stdin)["dgemm_gflops"])') || continue
            if $PY -c "import sys; sys.exit(0 if float('$g') > float('$d2') else 1)"; then d2=$g; fi
        done
        if [ "$d2" = 0 ]; then
            echo "bench: ALS_KERNEL_ISA=avx2; no AVX2 OpenBLAS core type runs here: reference stays $DGEMM GFLOP/s"
        else
            DGEMM=$d2
            echo "bench: ALS_KERNEL_ISA=avx2; reference: the best AVX2-only dgemm, $DGEMM GFLOP/s"
        fi
    else
        echo "bench: ALS_KERNEL_ISA=$BENCH_ISA"
    fi
fi
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "bench: dgemm (one core, same run) = $DGEMM GFLOP/s; dataset $SIZE ($NNZ ratings); git $REV"
printf '%-4s %-3s %-3s %10s %9s %9s %9s %8s %8s %8s %8s %9s\n' k P T s/iter GFLOP/s per-core %dgemm gram solve exch eval rss_MB
run() { # k P threads
    local k=$1 p=$2 t=$3 out="$D/run-k$1-p$2-t$3"
    rm -rf "$out"
    # Threads need cores: mpirun binds each rank to one core unless told not to.
    local bind=""; [ "$t" -gt 1 ] && bind="--bind-to none"
    mpirun -np "$p" --oversubscribe $bind bin/als-train --ratings "$DATA" --rank "$k" --lambda 0.1 \
        --iters "$ITERS" --threads "$t" --quiet --out "$out" > "$out.log" 2>&1 ||
        { echo "bench: run failed, see $out.log" >&2; return 1; }
    $PY - "$out/metrics.json" "$DGEMM" "$k" "$p" "$t" "$SIZE" "$REV" >> "$D/results.jsonl" <<'PYEOF'
import json, sys, time
m = json.load(open(sys.argv[1]))
dgemm, k, p, t, size, rev = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
its = m["iterations"]
sec = sum(i["seconds"] for i in its) / len(its)
tm = m["timers"]
per_iter = {ph: tm[ph]["max"] / len(its) for ph in ("gram", "solve", "exchange", "evaluate")}
gf = m["flops_per_iteration"] / sec / 1e9
# Rows on the n x n route (als_woodbury.h) do fewer flops than the k x k
# count of DESIGN.md section 6: that count over the same time is the rate a
# k x k-only solver would need to match this run.
gf_kxk = m.get("flops_per_iteration_kxk", m["flops_per_iteration"]) / sec / 1e9
cores = p * t
rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "git": rev, "size": size, "k": k, "ranks": p,
       "threads": t, "seconds_per_iteration": sec, "gflops": gf, "gflops_per_core": gf / cores,
       "dgemm_gflops_one_core": dgemm, "fraction_of_dgemm": gf / cores / dgemm,
       "fraction_of_dgemm_kxk": gf_kxk / cores / dgemm,
       "compute_gflops": m["compute_gflops"], "phase_seconds_per_iteration": per_iter,
       "peak_rss_mb_max": m["peak_rss_mb"]["max"], "blas_core": m["run"]["blas_core"],
       "kernel_isa": m["run"]["kernel_isa"], "ratings": m["dataset"]["ratings"]}
print(json.dumps(rec))
sys.stderr.write("%-4d %-3d %-3d %10.4f %9.2f %9.2f %8.0f%% %8.3f %8.3f %8.3f %8.3f %9.0f\n" % (
    k, p, t, sec, gf, gf / cores, 100 * gf / cores / dgemm, per_iter["gram"], per_iter["solve"],
    per_iter["exchange"], per_iter["evaluate"], m["peak_rss_mb"]["max"]))
PYEOF
}
for k in $KS; do
    for p in $PS; do run "$k" "$p" 1; done
    run "$k" 1 2
done 2>&1
echo "bench: results appended to $D/results.jsonl (phases: seconds per iteration, slowest rank)"
# Whole iterations of the real als-train runs above (P = 1, one thread; all
# phases, evaluation and exchange included) as a fraction of the reference dgemm.
$PY - "$D/results.jsonl" "$REV" "$SIZE" $KS <<'PYEOF'
import json, sys
rev, size, ks = sys.argv[2], sys.argv[3], [int(k) for k in sys.argv[4:]]
last, runs = {}, {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["git"] == rev and r["size"] == size:
        runs[(r["k"], r["ranks"], r["threads"])] = r
        if r["ranks"] == 1 and r["threads"] == 1:
            last[r["k"]] = r
isa = ", ".join(sorted({last[k]["kernel_isa"] for k in ks if k in last}))
def frac(r):
    f, fk = r["fraction_of_dgemm"], r.get("fraction_of_dgemm_kxk", r["fraction_of_dgemm"])
    return "%.0f%%" % (100 * f) + ("" if abs(fk - f) < 1e-9 else
                                   " (%.0f%% counting every row's k x k flops)" % (100 * fk))
print("bench: whole iteration of a real als-train run (P = 1, 1 thread, kernels %s), fraction of the dgemm:" % isa,
      ", ".join("k = %d: %s" % (k, frac(last[k])) for k in ks if k in last))
# Against 1 x 1 of the same run: P = 2 ranks' parallel efficiency and the
# speed-up of 2 threads in one rank (one run each: on a busy machine, repeat).
for k in ks:
    one = runs.get((k, 1, 1))
    if not one:
        continue
    t1, parts = one["seconds_per_iteration"], []
    if (k, 2, 1) in runs:
        parts.append("P = 2 efficiency %.0f%%" % (100 * t1 / (2 * runs[(k, 2, 1)]["seconds_per_iteration"])))
    if (k, 1, 2) in runs:
        parts.append("2 threads %.2fx" % (t1 / runs[(k, 1, 2)]["seconds_per_iteration"]))
    if parts:
        print("bench: k = %d: %s" % (k, ", ".join(parts)))
PYEOF

# Time to accuracy on MovieLens 100K u1 (read from ../shared/data, never copied).
ML=${ML100K:-../shared/data/movielens-100k}
if [ -r "$ML/u1.base" ]; then
    echo "bench: time to accuracy, MovieLens 100K u1 (k = 64, --bias, lambda 0.15 count, 30 iterations)"
    for pt in "1 1" "2 1" "1 2"; do
        set -- $pt
        out="$D/tta-p$1-t$2"
        bind=""; [ "$2" -gt 1 ] && bind="--bind-to none"
        mpirun -np "$1" $bind bin/als-train --ratings "$ML/u1.base" --test "$ML/u1.test" --rank 64 --bias \
            --lambda 0.15 --lambda-scale count --iters 30 --threads "$2" --quiet --out "$out" > "$out.log" 2>&1
        $PY - "$out/metrics.json" "$1" "$2" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
its = m["iterations"]
final = its[-1]["test_rmse"]
t = 0.0
for i in its:
    t += i["seconds"]
    if i["test_rmse"] <= final * 1.005:
        break
print("   P=%s x %s thread(s): test RMSE %.4f after 30 iterations; within 0.5%% (%.4f) at iteration %d, %.3f s"
      % (sys.argv[2], sys.argv[3], final, i["test_rmse"], i["iter"], t))
PYEOF
    done
else
    echo "bench: MovieLens 100K not found at $ML: time-to-accuracy skipped"
fi
