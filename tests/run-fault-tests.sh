#!/usr/bin/env bash
# Fault tests of als-train: a rank killed mid-iteration, a kill during a
# checkpoint write, corrupted checkpoints, resume with another dataset or other
# parameters, a full disk. Run from the project root (make fault-test).
# ALS_BIN selects the binaries (default bin; bin-asan for the sanitizer build).
# Every run is under `timeout`, so a hang is a failure. The disk-full tests
# mount a small tmpfs and need root (skipped, saying so, otherwise).
set -u
cd "$(dirname "$0")/.."
BIN=${ALS_BIN:-bin}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1   # more ranks than cores
unset OMP_NUM_THREADS
PY=/usr/bin/python3
T=$(mktemp -d /tmp/als-fault-test.XXXXXX)
MNT=""
cleanup() { [ -n "$MNT" ] && umount "$MNT" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0; fail=0; skip=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' "$2" | tail -25; }
skp() { skip=$((skip + 1)); echo "skip $1"; }
train() { # P args...   (environment variables named in $FWD are forwarded)
    local p=$1; shift
    local fw=()
    for v in ${FWD:-}; do fw+=(-x "$v"); done
    timeout 120 mpirun "${fw[@]}" -np "$p" "$BIN/als-train" "$@"
}
same_factors() { cmp -s "$1/U.npy" "$2/U.npy" && cmp -s "$1/V.npy" "$2/V.npy"; }
losses() { $PY -c 'import json,sys; m=json.load(open(sys.argv[1])); print(repr(m["initial_loss"]), [repr(i["loss"]) for i in m["iterations"]], [repr(i["loss_after_u"]) for i in m["iterations"]], [i["iter"] for i in m["iterations"]])' "$1"; }
same_run() { # ref dir: factors bitwise, identical loss history
    same_factors "$1" "$2" && [ "$(losses "$1/metrics.json")" = "$(losses "$2/metrics.json")" ]
}
ckpt_iters() { # the iteration count stored in a checkpoint (header offset 52)
    $PY -c 'import struct,sys; print(struct.unpack_from("<i", open(sys.argv[1],"rb").read(), 52)[0])' "$1"
}

$PY tests/gen_tricky.py "$T/d" 7
D="$T/d"
COMMON=(--ratings "$D/ratings.txt" --social "$D/social.txt" --test "$D/test.txt" --rank 5
        --lambda 0.3 --alpha 0.8 --seed 3)
CK=(--checkpoint-every 2)

# The uninterrupted runs every resumed run must equal bitwise.
train 2 "${COMMON[@]}" --iters 8 --out "$T/ref" > "$T/log" 2>&1 || bad "reference run" "$T/log"
train 2 "${COMMON[@]}" --iters 8 --bias --lambda-scale count --out "$T/refb" > "$T/log" 2>&1 \
    || bad "reference run (--bias)" "$T/log"

# --- 1. a rank killed from outside in the middle of iteration 5 of 8 ---
# Rank 1 stops after its U-step of iteration 5 and writes its pid; the test
# kills it with SIGKILL. Checkpoints every 2 iterations: the last is iteration 4.
rm -f "$T/pid"
( ALS_TEST_STALL_RANK=1 ALS_TEST_STALL_ITER=5 ALS_TEST_STALL_PIDFILE="$T/pid" \
  FWD="ALS_TEST_STALL_RANK ALS_TEST_STALL_ITER ALS_TEST_STALL_PIDFILE" \
  train 3 "${COMMON[@]}" --iters 8 "${CK[@]}" --checkpoint-dir "$T/ck1" --out "$T/o1" > "$T/log1" 2>&1
  echo $? > "$T/rc1" ) &
job=$!
for _ in $(seq 600); do [ -s "$T/pid" ] && break; sleep 0.1; done
if [ -s "$T/pid" ]; then
    t0=$(date +%s.%N)
    kill -KILL "$(cat "$T/pid")"
    wait $job
    t1=$(date +%s.%N)
    secs=$($PY -c "print(round($t1 - $t0, 2))")
    rc=$(cat "$T/rc1")
    if [ "$rc" != 0 ] && [ "$rc" != 124 ] && $PY -c "import sys; sys.exit(not $secs < 30)"; then
        ok "SIGKILL of rank 1 in iteration 5: mpirun exits $rc after ${secs}s (no hang)"
    else bad "SIGKILL of rank 1: exit $rc after ${secs}s" "$T/log1"; fi
    [ ! -e "$T/o1/U.npy" ] && ok "killed run left no output files" || bad "killed run left output"
    n=$(ckpt_iters "$T/ck1/checkpoint.als")
    [ "$n" = 4 ] && ok "last checkpoint holds iteration 4" || bad "checkpoint holds iteration $n, expected 4"
else
    wait $job; bad "rank 1 never reached the stall point" "$T/log1"
fi
# Resume with another rank count (2 and 4 instead of 3): bitwise the
# uninterrupted run. Every rank reads and verifies only its own rows.
cp -r "$T/ck1" "$T/ck1-p4"
train 4 "${COMMON[@]}" --iters 8 --resume "$T/ck1-p4" --out "$T/o1-p4" > "$T/log" 2>&1 \
    || bad "resume at P=4 after the kill at P=3" "$T/log"
same_run "$T/ref" "$T/o1-p4" && ok "resumed at P=4 (checkpoint written at P=3): factors bitwise equal, loss history identical" \
    || bad "resumed run at P=4 differs from the uninterrupted run" "$T/log"
train 2 "${COMMON[@]}" --iters 8 "${CK[@]}" --checkpoint-dir "$T/ck1" --resume "$T/ck1" --out "$T/o1" > "$T/log" 2>&1 \
    || bad "resume after the kill" "$T/log"
grep -q "continuing at iteration 5" "$T/log" && ok "resume continues at iteration 5" || bad "resume point" "$T/log"
same_run "$T/ref" "$T/o1" && ok "resumed at P=2 (killed at P=3): factors bitwise equal, loss history identical" \
    || bad "resumed run differs from the uninterrupted run" "$T/log"

# The same with the in-process hook (SIGKILL raised by rank 0 itself), --bias
# and weighted lambda, resumed at P=4.
ALS_TEST_KILL_RANK=0 ALS_TEST_KILL_ITER=5 FWD="ALS_TEST_KILL_RANK ALS_TEST_KILL_ITER" \
    train 2 "${COMMON[@]}" --iters 8 --bias --lambda-scale count "${CK[@]}" --checkpoint-dir "$T/ck2" \
    --out "$T/o2" > "$T/log" 2>&1
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] && ok "rank 0 SIGKILLed in iteration 5: exit $rc" || bad "rank 0 kill: exit $rc" "$T/log"
train 4 "${COMMON[@]}" --iters 8 --bias --lambda-scale count --resume "$T/ck2" --out "$T/o2" > "$T/log" 2>&1 \
    || bad "resume (--bias) at P=4" "$T/log"
same_run "$T/refb" "$T/o2" && ok "--bias --lambda-scale count: resumed at P=4 bitwise equal" \
    || bad "--bias resume differs" "$T/log"

# kill_resume MODE PKILL PRESUME [VAR=value]: rank 1 of a PKILL-rank run with
# --exchange MODE SIGKILLed in iteration 5 of 8 (no hang, non-zero exit), then
# its checkpoint resumed with PRESUME ranks (environment VAR=value forwarded)
# must equal the (replicated) reference run bitwise.
kill_resume() {
    local mode=$1 pk=$2 pr=$3 renv=${4:-} rc
    ALS_TEST_KILL_RANK=1 ALS_TEST_KILL_ITER=5 FWD="ALS_TEST_KILL_RANK ALS_TEST_KILL_ITER" \
        train "$pk" "${COMMON[@]}" --iters 8 --exchange "$mode" "${CK[@]}" --checkpoint-dir "$T/ck-$mode" \
        --out "$T/o-$mode" > "$T/log" 2>&1
    rc=$?
    [ $rc != 0 ] && [ $rc != 124 ] && ok "--exchange $mode: rank 1 SIGKILLed in iteration 5: exit $rc" \
        || bad "$mode kill: exit $rc" "$T/log"
    ( if [ -n "$renv" ]; then export "${renv?}"; FWD=${renv%%=*}; fi
      train "$pr" "${COMMON[@]}" --iters 8 --exchange "$mode" --resume "$T/ck-$mode" --out "$T/o-$mode" \
          > "$T/log" 2>&1 ) || bad "resume (--exchange $mode) at P=$pr${renv:+ ($renv)}" "$T/log"
    same_run "$T/ref" "$T/o-$mode" \
        && ok "--exchange $mode: killed at P=$pk, resumed at P=$pr${renv:+ ($renv)}, bitwise equal to the reference" \
        || bad "$mode resume differs" "$T/log"
}
# The sharded mode (each rank writes and reads only its rows): killed at P=2,
# resumed at P=3.
kill_resume neighbor 2 3
# One copy of the factors per node: a rank killed while the others wait in a
# node barrier of the shared window; resumed at P=4 as 2 pseudo-nodes of 2.
kill_resume shared 3 4 ALS_SHM_NODE_SIZE=2

# --- 2. a kill during a checkpoint write leaves the previous one usable ---
ALS_TEST_CRASH_IN_CHECKPOINT=2 FWD=ALS_TEST_CRASH_IN_CHECKPOINT \
    train 2 "${COMMON[@]}" --iters 8 "${CK[@]}" --checkpoint-dir "$T/ck3" --out "$T/o3" > "$T/log" 2>&1
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] && grep -q "ALS_TEST_CRASH_IN_CHECKPOINT: killing" "$T/log" \
    && ok "writer killed during its 2nd checkpoint (iteration 4): exit $rc" || bad "crash in checkpoint: exit $rc" "$T/log"
ls "$T/ck3"/.checkpoint.als.tmp.* > /dev/null 2>&1 && ok "a partial temporary was left behind" \
    || bad "no partial temporary (the hook did not write part of the file)"
n=$(ckpt_iters "$T/ck3/checkpoint.als")
[ "$n" = 2 ] && ok "checkpoint.als still holds iteration 2" || bad "checkpoint.als holds $n"
train 3 "${COMMON[@]}" --iters 8 "${CK[@]}" --checkpoint-dir "$T/ck3" --resume "$T/ck3" --out "$T/o3" > "$T/log" 2>&1 \
    || bad "resume after the crash in a checkpoint write" "$T/log"
same_run "$T/ref" "$T/o3" && ok "resumed from the previous checkpoint (P=3): bitwise equal" \
    || bad "resume after checkpoint crash differs" "$T/log"
ls "$T/ck3"/.checkpoint.als.tmp.* > /dev/null 2>&1 && bad "stale temporary not removed" \
    || ok "the stale temporary was removed by the next run"

# --- 3. corrupted and truncated checkpoints ---
train 2 "${COMMON[@]}" --iters 4 "${CK[@]}" --checkpoint-dir "$T/ck4" > "$T/log" 2>&1 || bad "checkpointing run" "$T/log"
cp -r "$T/ck4" "$T/ck4-orig"
$PY -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=0x40; open(p,"wb").write(b)' "$T/ck4/checkpoint.als"
train 2 "${COMMON[@]}" --iters 8 --resume "$T/ck4" --out "$T/o4" > "$T/log" 2>&1
grep -q "checksum mismatch" "$T/log" && grep -q "resuming from the previous checkpoint" "$T/log" \
    && ok "corrupted checkpoint.als: warning, falls back to checkpoint.prev.als" || bad "fallback to prev" "$T/log"
same_run "$T/ref" "$T/o4" && ok "resumed from the previous checkpoint: bitwise equal" || bad "fallback resume differs" "$T/log"
expect_fail() { # name pattern args...
    local name=$1 pat=$2; shift 2
    rm -f "$T/codes"
    timeout 60 mpirun -np 2 sh -c '"$0" "$@"; rc=$?; echo $rc >> '"$T/codes"'; exit $rc' \
        "$BIN/als-train" "$@" > "$T/log" 2>&1
    local rc=$?
    if [ $rc = 124 ]; then bad "$name: timed out (hang)" "$T/log"; return; fi
    if [ $rc = 0 ] || grep -qx 0 "$T/codes" 2>/dev/null; then bad "$name: expected a non-zero exit on every rank" "$T/log"; return; fi
    if ! grep -q -- "$pat" "$T/log"; then bad "$name: message lacks '$pat'" "$T/log"; return; fi
    ok "$name: '$(grep -m1 'error:' "$T/log" | cut -c1-200)'"
}
head -c 100 "$T/ck4-orig/checkpoint.prev.als" > "$T/ck4/checkpoint.prev.als"
expect_fail "both checkpoints damaged" "checksum mismatch" "${COMMON[@]}" --iters 8 --resume "$T/ck4"
head -c 1000 "$T/ck4-orig/checkpoint.als" > "$T/ck4/checkpoint.als"; rm -f "$T/ck4/checkpoint.prev.als"
expect_fail "truncated checkpoint" "truncated or corrupted" "${COMMON[@]}" --iters 8 --resume "$T/ck4"
echo "not a checkpoint, just text that is long enough to hold a header of 152 bytes ....................................................................." > "$T/ck4/checkpoint.als"
expect_fail "not a checkpoint file" "not an als-train checkpoint" "${COMMON[@]}" --iters 8 --resume "$T/ck4"
mkdir -p "$T/empty"
expect_fail "--resume from a directory without a checkpoint" "no checkpoint there" "${COMMON[@]}" --resume "$T/empty"

# --- 4. resume with another dataset or other parameters: a clear error ---
rm -rf "$T/ck4"; cp -r "$T/ck4-orig" "$T/ck4"
expect_fail "resume with another --alpha" "written with --alpha 0.8, this run has --alpha 0.5" \
    "${COMMON[@]}" --alpha 0.5 --iters 8 --resume "$T/ck4"
expect_fail "resume with another --seed" "written with --seed 3, this run has --seed 4" \
    "${COMMON[@]}" --seed 4 --iters 8 --resume "$T/ck4"
expect_fail "resume with --bias added" "written with --bias no, this run has --bias yes" "${COMMON[@]}" --bias --iters 8 --resume "$T/ck4"
# the same shape, one rating changed: only the dataset hash can tell
sed '0,/^\([0-9]* [0-9]*\) [0-9.]*/s//\1 2.5/' "$D/ratings.txt" > "$T/ratings2.txt"
cmp -s "$D/ratings.txt" "$T/ratings2.txt" && bad "test setup: ratings2 equals ratings"
expect_fail "resume with another dataset" "dataset differs" --ratings "$T/ratings2.txt" \
    --social "$D/social.txt" --test "$D/test.txt" --rank 5 --lambda 0.3 --alpha 0.8 --seed 3 --iters 8 --resume "$T/ck4"
expect_fail "resume with fewer --iters than done" "more than --iters 2" "${COMMON[@]}" --iters 2 --resume "$T/ck4"
expect_fail "--checkpoint-every without a directory" "needs --checkpoint-dir" "${COMMON[@]}" --checkpoint-every 2
# --iters may grow: 4 done, resumed to 8, equals 8 in one go
train 1 "${COMMON[@]}" --iters 8 --resume "$T/ck4" --out "$T/o5" > "$T/log" 2>&1 || bad "extend 4 -> 8 iterations" "$T/log"
same_run "$T/ref" "$T/o5" && ok "a finished 4-iteration run extended to 8 (P=1): bitwise equal" || bad "extension differs" "$T/log"

# A text run resumed from the same data as a binary dataset (--data), at P=3.
if [ -x "$BIN/als-partition" ]; then
    "$BIN/als-partition" --ratings "$D/ratings.txt" --social "$D/social.txt" --out "$T/d.bin" > "$T/log" 2>&1 \
        || bad "als-partition" "$T/log"
    train 3 --data "$T/d.bin" --test "$D/test.txt" --rank 5 --lambda 0.3 --alpha 0.8 --seed 3 --iters 8 \
        --resume "$T/ck4-orig" --out "$T/o6" > "$T/log" 2>&1 || bad "resume with --data" "$T/log"
    same_run "$T/ref" "$T/o6" && ok "text checkpoint resumed with --data (binary) at P=3: bitwise equal" \
        || bad "--data resume differs" "$T/log"
fi

# --- 5. disk full while writing a checkpoint or the output ---
MNT="$T/small"
mkdir -p "$MNT"
if mount -t tmpfs -o size=1m tmpfs "$MNT" 2>/dev/null; then
    train 2 "${COMMON[@]}" --iters 4 "${CK[@]}" --checkpoint-dir "$MNT/ck" --out "$MNT/out" > "$T/log" 2>&1 \
        || bad "run on the small tmpfs" "$T/log"
    cp -r "$MNT/ck" "$T/ck-before"; cp -r "$MNT/out" "$T/out-before"
    dd if=/dev/zero of="$MNT/filler" bs=4k > /dev/null 2>&1   # fill the file system
    expect_fail "disk full while writing a checkpoint" "No space left on device" \
        "${COMMON[@]}" --iters 8 "${CK[@]}" --checkpoint-dir "$MNT/ck" --resume "$MNT/ck"
    cmp -s "$T/ck-before/checkpoint.als" "$MNT/ck/checkpoint.als" && cmp -s "$T/ck-before/checkpoint.prev.als" "$MNT/ck/checkpoint.prev.als" \
        && [ -z "$(ls -A "$MNT/ck" | grep -v '^checkpoint')" ] \
        && ok "disk full: previous checkpoints intact, no temporary left" || bad "disk full damaged the checkpoints: $(ls -A "$MNT/ck")"
    expect_fail "disk full while writing the output" "No space left on device" \
        "${COMMON[@]}" --iters 8 --resume "$MNT/ck" --out "$MNT/out"
    ok_files=1
    for f in U.npy V.npy user_ids.txt item_ids.txt metrics.json; do cmp -s "$T/out-before/$f" "$MNT/out/$f" || ok_files=0; done
    [ $ok_files = 1 ] && [ "$(ls -A "$MNT/out" | wc -l)" = 5 ] && ok "disk full: previous output files intact, no temporary left" \
        || bad "disk full damaged the output: $(ls -A "$MNT/out")"
    rm -f "$MNT/filler"
    train 2 "${COMMON[@]}" --iters 8 "${CK[@]}" --checkpoint-dir "$MNT/ck" --resume "$MNT/ck" --out "$MNT/out" > "$T/log" 2>&1 \
        || bad "resume once space is free" "$T/log"
    same_run "$T/ref" "$MNT/out" && ok "space freed: resume finishes bitwise equal" || bad "resume after disk full differs" "$T/log"
    # --exchange shared checks the free space where Open MPI backs shared
    # windows (/dev/shm; here a 1 MB tmpfs named by ALS_SHM_DIR) before it
    # allocates: a clear error on every rank, not a SIGBUS at the first touch.
    ALS_SHM_DIR="$MNT" FWD=ALS_SHM_DIR train 2 "${COMMON[@]}" --rank 4000 --iters 1 --exchange shared \
        --out "$T/shmfull" > "$T/log" 2>&1
    rc=$?
    [ $rc != 0 ] && [ $rc != 124 ] && grep -q "error: --exchange shared: the node's copy of U (.* MB) does not fit the free space of $MNT (1.0 MB)" "$T/log" \
        && [ ! -e "$T/shmfull" ] && ok "--exchange shared, shared-memory file system too small: clear error (exit $rc), no output" \
        || bad "shared with a small /dev/shm: exit $rc" "$T/log"
    umount "$MNT" && MNT=""
else
    skp "disk-full tests: cannot mount a tmpfs (needs root)"
fi
# --- 6. bad inputs not covered by run-mpi-tests.sh / run-tools-tests.sh ---
# (the README's bad-input table names the test of every case)
printf '1 2 3\n18446744073709551616 1 3\n' > "$T/big.txt"
printf '1 2 3\n-5 1 3\n' > "$T/negid.txt"
printf '1 2 3\n1 2.5 3\n' > "$T/fracid.txt"
printf '1 2 3\n1 3 inf\n' > "$T/inf.txt"
printf '1 2 3\n3 1 -inf\n' > "$T/inf-soc.txt"
printf 'user,item,rating\n' > "$T/header-only.txt"
expect_fail "id beyond 64 bits" "big.txt:2: user id '18446744073709551616' does not fit in 64 bits" --ratings "$T/big.txt"
expect_fail "negative id" "negid.txt:2: user id '-5' is negative" --ratings "$T/negid.txt"
expect_fail "id with a fraction" "fracid.txt:2: item id '2.5' has a fraction" --ratings "$T/fracid.txt"
expect_fail "infinite rating" "inf.txt:2: rating 'inf' is not a finite number" --ratings "$T/inf.txt"
expect_fail "infinite social weight" "inf-soc.txt:2" --ratings "$D/ratings.txt" --social "$T/inf-soc.txt"
expect_fail "header-only ratings file" "header-only.txt: no ratings" --ratings "$T/header-only.txt"
$PY -c '
import sys, numpy as np
t = sys.argv[1]
np.save(t + "/one.npy", np.ones(5))
np.save(t + "/nan.npy", np.full((60, 5), np.nan))
np.save(t + "/fortran.npy", np.asfortranarray(np.ones((60, 5))))
np.save(t + "/V0.npy", np.ones((40, 5)))
open(t + "/trunc.npy", "wb").write(open(t + "/V0.npy", "rb").read()[:70])
' "$T"
INIT=(--ratings "$D/ratings.txt" --social "$D/social.txt" --rank 5)
expect_fail ".npy of one dimension" "one.npy: shape (5,) is 1-D" "${INIT[@]}" --init-user "$T/one.npy" --init-item "$T/V0.npy"
expect_fail ".npy with NaN" "nan.npy: element 0 is not finite" "${INIT[@]}" --init-user "$T/nan.npy" --init-item "$T/V0.npy"
expect_fail ".npy in Fortran order" "fortran.npy" "${INIT[@]}" --init-user "$T/fortran.npy" --init-item "$T/V0.npy"
expect_fail "truncated .npy" "trunc.npy: truncated" "${INIT[@]}" --init-user "$T/trunc.npy" --init-item "$T/V0.npy"
# rating 0 and an empty social file are ordinary input
printf '1 2 0\n2 2 4\n3 5 0\n' > "$T/zero.txt"; : > "$T/empty-soc.txt"
train 2 --ratings "$T/zero.txt" --social "$T/empty-soc.txt" --rank 2 --iters 2 > "$T/log" 2>&1 \
    && grep -q "rating range: \[0, 4\]" "$T/log" && ok "rating 0 is a rating; an empty social file means no links" \
    || bad "rating 0 / empty social file" "$T/log"
# more ranks than rows, with a checkpoint and a resume at another P
printf '5 1 4\n9 2 3\n5 2 1\n' > "$T/tiny.txt"
train 1 --ratings "$T/tiny.txt" --rank 2 --iters 4 --out "$T/tiny-ref" > "$T/log" 2>&1 || bad "tiny reference" "$T/log"
train 5 --ratings "$T/tiny.txt" --rank 2 --iters 2 --checkpoint-every 1 --checkpoint-dir "$T/tiny-ck" > "$T/log" 2>&1 \
    || bad "P=5 > 2 users, 2 items with checkpoints" "$T/log"
train 4 --ratings "$T/tiny.txt" --rank 2 --iters 4 --resume "$T/tiny-ck" --out "$T/tiny-res" > "$T/log" 2>&1 \
    || bad "resume at P=4 > rows" "$T/log"
same_run "$T/tiny-ref" "$T/tiny-res" && ok "more ranks than rows: checkpoint at P=5, resume at P=4, bitwise equal to P=1" \
    || bad "P > rows checkpoint/resume differs" "$T/log"

# MPI thread level below FUNNELED (pretended by the hook build): a clear error on every rank
FWD=ALS_TEST_MPI_THREAD_SINGLE ALS_TEST_MPI_THREAD_SINGLE=1 train 2 --ratings "$T/tiny.txt" --rank 2 --iters 1 > "$T/log" 2>&1
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] && grep -q "provides thread level single; als-train needs MPI_THREAD_FUNNELED" "$T/log" \
    && ok "MPI thread level below FUNNELED: '$(grep -m1 error: "$T/log")'" || bad "thread level check" "$T/log"

echo "fault tests: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
