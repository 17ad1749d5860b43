#!/usr/bin/env bash
# One multi-rank als-train run under valgrind memcheck (make valgrind-test):
# 2 ranks, social term, test set, checkpoints and output, then a --resume at
# 3 ranks. Memory errors of any kind and definite/indirect leaks fail it;
# only Open MPI's own reports are suppressed (its openmpi-valgrind.supp and
# tests/sanitizers/valgrind-openmpi.supp: what MPI_Init/MPI_Finalize keep).
set -u
cd "$(dirname "$0")/.."
BIN=${ALS_BIN:-bin}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# Keep Open MPI's plugins loaded until exit so that their frames have names.
export OMPI_MCA_mca_base_component_disable_dlclose=1 PMIX_MCA_mca_base_component_disable_dlclose=1
unset OMP_NUM_THREADS
PY=/usr/bin/python3
T=$(mktemp -d /tmp/als-valgrind.XXXXXX)
trap 'rm -rf "$T"' EXIT
command -v valgrind > /dev/null || { echo "valgrind not installed (Debian package valgrind)"; exit 1; }
SUPP=(--suppressions=tests/sanitizers/valgrind-openmpi.supp)
[ -f /usr/share/openmpi/openmpi-valgrind.supp ] && SUPP+=(--suppressions=/usr/share/openmpi/openmpi-valgrind.supp)
VG=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --track-origins=yes --num-callers=40 "${SUPP[@]}")
$PY tests/gen_tricky.py "$T/d" 7
D="$T/d"
ARGS=(--ratings "$D/ratings.txt" --social "$D/social.txt" --test "$D/test.txt" --rank 5
      --lambda 0.3 --alpha 0.8 --bias --checkpoint-every 2 --checkpoint-dir "$T/ck")
pass=0; fail=0
run() { # name P args...
    local name=$1 p=$2; shift 2
    rm -f "$T"/vg.*
    timeout 900 mpirun -np "$p" "${VG[@]}" --log-file="$T/vg.%p" "$BIN/als-train" "$@" > "$T/log" 2>&1
    local rc=$?
    local errs; errs=$(cat "$T"/vg.* 2>/dev/null | grep -c "^==[0-9]*== [A-Z0-9]" )
    if [ $rc = 0 ] && [ "$errs" = 0 ]; then
        pass=$((pass + 1)); echo "ok   valgrind: $name ($p ranks): no memcheck error, no leak"
    else
        fail=$((fail + 1)); echo "FAIL valgrind: $name ($p ranks): exit $rc"
        cat "$T"/vg.* | head -80; tail -5 "$T/log"
    fi
}
run "train 3 iterations with checkpoints and output" 2 "${ARGS[@]}" --iters 3 --out "$T/out"
run "resume to 5 iterations" 3 "${ARGS[@]}" --iters 5 --resume "$T/ck" --out "$T/out"
echo "valgrind tests: $pass passed, $fail failed"
[ $fail = 0 ]
