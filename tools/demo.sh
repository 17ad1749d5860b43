#!/usr/bin/env bash
# The main job on the embedded default data: FilmTrust (Guo et al. 2013) with
# its trust network, a fixed 80/20 held-out split, P = 2 ranks; trains plain MF
# (alpha = 0) and SoReg (alpha > 0) and prints both test RMSEs.
set -eu
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} # see README "Hybrid runs"
P=${P:-2}
OUT=${OUT:-build/demo}
K=${K:-5}; LAMBDA=${LAMBDA:-8}; ALPHA=${ALPHA:-2}; ITERS=${ITERS:-15}
mkdir -p "$OUT"
# Deterministic split: every 5th rating (file order) is held out.
awk 'NR % 5 != 0' data/filmtrust/ratings.txt > "$OUT/train.txt"
awk 'NR % 5 == 0' data/filmtrust/ratings.txt > "$OUT/test.txt"
echo "== FilmTrust: $(wc -l < "$OUT/train.txt") training and $(wc -l < "$OUT/test.txt") test ratings, $(wc -l < data/filmtrust/trust.txt) trust links"
run() { # alpha outdir
    mpirun -np "$P" --oversubscribe bin/als-train --ratings "$OUT/train.txt" --test "$OUT/test.txt" \
        --social data/filmtrust/trust.txt --rank "$K" --lambda "$LAMBDA" --bias --alpha "$1" \
        --iters "$ITERS" --out "$2"
}
echo "== plain MF (alpha = 0)"
run 0 "$OUT/mf" | tee "$OUT/mf.log"
echo "== SoReg (alpha = $ALPHA)"
run "$ALPHA" "$OUT/soreg" | tee "$OUT/soreg.log"
mf=$(awk '/^test_rmse:/ {print $2}' "$OUT/mf.log")
so=$(awk '/^test_rmse:/ {print $2}' "$OUT/soreg.log")
echo
echo "== FilmTrust held-out test RMSE, P = $P, k = $K, lambda = $LAMBDA, biases, $ITERS iterations"
printf '   without social term (alpha = 0):   %s\n' "$mf"
printf '   with social term    (alpha = %s):   %s\n' "$ALPHA" "$so"
echo "   factors and metrics: $OUT/mf, $OUT/soreg"
