#!/usr/bin/env bash
# Tests of issue 13 (hostile and dirty inputs): exclusive temporaries, the
# output set committed as a whole, foreign checkpoint files, FIFOs, BOM and
# header lines, non-decimal numbers, empty test files, binary headers that
# make no sense, huge --iters, non-UTF-8 paths, als-recommend --users all,
# als-simgraph caps, MPI thread level, release builds without fault hooks.
# Run from anywhere; needs the binaries (make tools). Every run is under
# `timeout`. ALS_BIN selects the binaries (default bin).
set -u
cd "$(dirname "$0")/.."
B="${ALS_BIN:-bin}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
unset OMP_NUM_THREADS
PY=/usr/bin/python3
T=$(mktemp -d /tmp/als-defects-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' "$2" | tail -20; }
train() { local p=$1; shift; timeout 120 mpirun -np "$p" "$B/als-train" "$@"; }
tool() { local t=$1; shift; timeout 60 "$B/$t" "$@"; }
# expect_fail NAME PATTERN P args...: non-zero exit on every rank, the message,
# no hang; --out (if any) is checked by the caller.
expect_fail() {
    local name=$1 pat=$2 p=$3; shift 3
    rm -f "$T/codes"
    timeout 60 mpirun -np "$p" sh -c '"$0" "$@"; rc=$?; echo $rc >> '"$T/codes"'; exit $rc' "$B/als-train" "$@" > "$T/log" 2>&1
    local rc=$?
    if [ $rc = 124 ]; then bad "$name: timed out (hang)" "$T/log"; return 1; fi
    if [ $rc = 0 ] || [ ! -s "$T/codes" ] || grep -qx 0 "$T/codes"; then
        bad "$name: expected non-zero exit on every rank (mpirun $rc)" "$T/log"; return 1; fi
    if ! grep -q -- "$pat" "$T/log"; then bad "$name: message lacks '$pat'" "$T/log"; return 1; fi
    ok "$name: '$(grep -m1 'error:' "$T/log" | cut -c1-150)'"
}
printf '1 1 3\n1 2 4\n2 1 5\n2 2 2\n3 1 1\n3 2 4\n' > "$T/r.txt"
R=(--ratings "$T/r.txt" --rank 2 --lambda 0.5 --iters 2)

# ---- item 3: temporaries are created exclusively, never through a symlink ----
echo victim > "$T/victim.txt"
mkdir -p "$T/sym"
printf '1 2\n' > "$T/sym/s.txt"
# plant symlinks under every name the old scheme (.NAME.tmp.PID, NAME.tmp.PID) could pick next
pid0=$(sh -c 'echo $$')
for i in $(seq 0 300); do
    q=$((pid0 + i))
    for n in .user_ids.txt.tmp.$q .U.npy.tmp.$q .metrics.json.tmp.$q; do ln -sf "$T/victim.txt" "$T/sym/$n"; done
    ln -sf "$T/victim.txt" "$T/split.txt.tmp.$q" 2>/dev/null
    ln -sf "$T/victim.txt" "$T/sg.txt.tmp.$q"; ln -sf "$T/victim.txt" "$T/g.bin.tmp.$q"
done
train 2 "${R[@]}" --out "$T/sym" > "$T/log" 2>&1 || bad "training beside planted symlinks" "$T/log"
tool als-simgraph --ratings "$T/r.txt" --measure vss --min-common 1 --top-k 1 --out "$T/sg.txt" > /dev/null 2>&1
tool als-partition --ratings "$T/r.txt" --out "$T/g.bin" > /dev/null 2>&1
if [ "$(cat "$T/victim.txt")" = victim ] && [ ! -L "$T/sym/user_ids.txt" ] && [ ! -L "$T/sym/U.npy" ] \
   && [ -f "$T/sg.txt" ] && [ ! -L "$T/sg.txt" ] && [ ! -L "$T/g.bin" ]; then
    ok "item 3: planted temporary-name symlinks are never followed (als-train, als-simgraph, als-partition)"
else bad "item 3: a planted symlink was followed: victim='$(cat "$T/victim.txt" | head -c 40)'" "$T/log"; fi

# ---- item 4: the output set is replaced as a whole, or not at all ----
train 1 "${R[@]}" --out "$T/set" > "$T/log" 2>&1 || bad "first output set" "$T/log"
cp -r "$T/set" "$T/set-before"
echo mine > "$T/set/notes.txt"
rm "$T/set/metrics.json"; mkdir "$T/set/metrics.json"
expect_fail "item 4: metrics.json is a directory in --out" "metrics.json exists and is not a regular file" 2 \
    "${R[@]}" --iters 3 --out "$T/set"
if cmp -s "$T/set/U.npy" "$T/set-before/U.npy" && cmp -s "$T/set/V.npy" "$T/set-before/V.npy" \
   && [ -d "$T/set/metrics.json" ] && [ -z "$(ls -A "$T" | grep '^\.set\.')" ]; then
    ok "item 4: a failed run changed no file of the previous set and left no temporary directory"
else bad "item 4: previous set damaged: $(ls -A "$T/set") / $(ls -A "$T")"; fi
rmdir "$T/set/metrics.json"
train 2 "${R[@]}" --iters 3 --out "$T/set" > "$T/log" 2>&1 || bad "second output set" "$T/log"
[ "$(cat "$T/set/notes.txt")" = mine ] && ! cmp -s "$T/set/U.npy" "$T/set-before/U.npy" && [ -f "$T/set/metrics.json" ] \
    && [ -z "$(ls -A "$T" | grep '^\.set\.')" ] \
    && ok "item 4: a new set replaces the old one, the user's own files kept, nothing left beside it" \
    || bad "item 4: swap" "$T/log"
expect_fail "item 4: failed run" "lambda-u" 2 "${R[@]}" --lambda-u -1 --out "$T/new/deep/out"
[ ! -e "$T/new" ] && ok "item 4: a failed run leaves no directory it created" || bad "item 4: $T/new was created"

# ---- item 5: checkpoint.als of the user's is never renamed away ----
mkdir -p "$T/ck1" "$T/ck2"
echo "my notes" > "$T/ck1/checkpoint.als"
expect_fail "item 5: checkpoint.als is the user's file" "checkpoint.als: exists and is not an als-train checkpoint" 2 \
    "${R[@]}" --checkpoint-every 1 --checkpoint-dir "$T/ck1"
[ "$(cat "$T/ck1/checkpoint.als")" = "my notes" ] && [ ! -e "$T/ck1/checkpoint.prev.als" ] \
    && ok "item 5: the user's checkpoint.als is untouched" || bad "item 5: user's file moved: $(ls -A "$T/ck1")"
mkdir "$T/ck2/checkpoint.als"
expect_fail "item 5: checkpoint.als is a directory" "checkpoint.als: exists and is not a regular file" 2 \
    "${R[@]}" --checkpoint-every 1 --checkpoint-dir "$T/ck2"
[ -d "$T/ck2/checkpoint.als" ] || bad "item 5: directory moved"

# ---- item 6: --data FIFO fails at once ----
mkfifo "$T/fifo.bin"
expect_fail "item 6: --data FIFO" "fifo.bin: not a regular file" 2 --data "$T/fifo.bin" --rank 2
timeout 20 "$B/als-partition" --data "$T/fifo.bin" --ranks 2 > "$T/log" 2>&1
[ $? != 124 ] && grep -q "not a regular file" "$T/log" && ok "item 6: als-partition --data FIFO: not a regular file" \
    || bad "item 6: als-partition --data FIFO" "$T/log"
mkdir -p "$T/ckf"; mkfifo "$T/ckf/checkpoint.als"
expect_fail "item 6: --resume from a FIFO checkpoint" "not a regular file" 2 "${R[@]}" --resume "$T/ckf"

# ---- item 16: MPI_Init_thread(FUNNELED), level checked ----
train 2 "${R[@]}" > "$T/log" 2>&1 && grep -q "^mpi_thread_level: funneled" "$T/log" \
    && ok "item 16: als-train asks for MPI_THREAD_FUNNELED and reports the level it got" || bad "item 16: thread level" "$T/log"

# ---- item 17: the release binaries have no fault hooks ----
if strings "$B/als-train" | grep -q ALS_TEST_KILL; then
    echo "skip item 17: $B is a build with fault hooks"
else
    ALS_TEST_KILL_RANK=0 ALS_TEST_KILL_ITER=1 ALS_TEST_CRASH_IN_CHECKPOINT=1 timeout 60 mpirun \
        -x ALS_TEST_KILL_RANK -x ALS_TEST_KILL_ITER -x ALS_TEST_CRASH_IN_CHECKPOINT -np 2 "$B/als-train" "${R[@]}" \
        --checkpoint-every 1 --checkpoint-dir "$T/ck17" > "$T/log" 2>&1 \
        && ok "item 17: the release als-train ignores ALS_TEST_KILL_*/ALS_TEST_CRASH_IN_CHECKPOINT" \
        || bad "item 17: release binary obeyed a fault hook" "$T/log"
fi

# ---- item 18: make install / uninstall into a module-style tree, pkg-config ----
P18="$T/modules/soreg-als/0.1"
if make -s install PREFIX="$P18" > "$T/log" 2>&1 && [ -x "$P18/bin/als-train" ] && [ -f "$P18/lib/libals.a" ] \
   && [ -f "$P18/include/als/als.h" ] && [ -f "$P18/share/doc/soreg-als/README.md" ]; then
    cat > "$T/use.c" <<'EOC'
#include <als.h>
#include <stdio.h>
int main(int argc, char **argv) { if (als_mpi_init(&argc, &argv, "use", NULL)) return 1; printf("%s\n", als_strerror(ALS_ERR_IO)); MPI_Finalize(); return 0; }
EOC
    PKG_CONFIG_PATH="$P18/lib/pkgconfig" mpicc "$T/use.c" -o "$T/use" $(PKG_CONFIG_PATH="$P18/lib/pkgconfig" pkg-config --cflags --libs --static als) -fopenmp >> "$T/log" 2>&1 \
        && timeout 30 mpirun -np 1 "$T/use" >> "$T/log" 2>&1 \
        && ok "item 18: make install PREFIX=...: binaries, libals.a, headers, als.pc (a program built with pkg-config runs), docs" \
        || bad "item 18: building against the installed tree" "$T/log"
    make -s uninstall PREFIX="$P18" >> "$T/log" 2>&1
    [ -z "$(find "$P18" -type f)" ] && ok "item 18: make uninstall removes every installed file" || bad "item 18: left: $(find "$P18" -type f | head -3)"
else bad "item 18: make install" "$T/log"; fi

# ---- item 7: BOM stripped; a skipped header is reported and counted ----
printf '\xef\xbb\xbf1 1 3\n1 2 4\n2 1 5\n2 2 2\n3 1 1\n3 2 4\n' > "$T/bom.txt"
train 2 --ratings "$T/bom.txt" --rank 2 --lambda 0.5 --iters 2 --out "$T/o7" > "$T/log" 2>&1
grep -q "ratings: 6 " "$T/log" && ! grep -q "skipped as a header" "$T/log" \
    && ok "item 7: a UTF-8 BOM before the first rating is stripped (6 of 6 ratings kept)" || bad "item 7: BOM" "$T/log"
printf 'x1 1 3\n1 1 3\n1 2 4\n2 1 5\n2 2 2\n3 1 1\n' > "$T/x1.txt"
printf 'user item\n1 2\n' > "$T/soc7.txt"
printf 'u i r\n1 1 3\n' > "$T/test7.txt"
train 2 --ratings "$T/x1.txt" --social "$T/soc7.txt" --test "$T/test7.txt" --rank 2 --lambda 0.5 --iters 2 --out "$T/o7" > "$T/log" 2>&1
grep -q "note: $T/x1.txt:1 skipped as a header: 'x1 1 3'" "$T/log" && grep -q "note: $T/soc7.txt:1 skipped as a header: 'user item'" "$T/log" \
    && grep -q "note: $T/test7.txt:1 skipped as a header: 'u i r'" "$T/log" \
    && $PY -c 'import json,sys; d=json.load(open(sys.argv[1]))["dataset"]; sys.exit(not (d["header_lines_skipped"]==2 and d["test_header_lines_skipped"]==1))' "$T/o7/metrics.json" \
    && ok "item 7: header lines of ratings, social and test files reported (file:1) and counted in metrics.json" \
    || bad "item 7: header note" "$T/log"
tool als-split --ratings "$T/x1.txt" --ratio 0.5 --seed 1 --out "$T/split7" > "$T/log" 2>&1
grep -q "note: $T/x1.txt:1 skipped as a header: 'x1 1 3'" "$T/log" && ok "item 7: als-split reports the skipped header" || bad "item 7: als-split" "$T/log"

# ---- item 8: only decimal numbers; underflow reported ----
for v in "0x10:is hexadecimal" "0x1p2:is hexadecimal" "+3:has a leading '+'" "1e-400:underflows"; do
    printf '1 1 3\n1 2 %s\n' "${v%%:*}" > "$T/v8.txt"
    expect_fail "item 8: rating ${v%%:*}" "v8.txt:2: rating '${v%%:*}' ${v#*:}" 2 --ratings "$T/v8.txt" --rank 2
done
printf '1 1 3\n+2 2 4\n' > "$T/p8.txt"
expect_fail "item 8: id +2" "p8.txt:2: user id '+2' has a leading '+'" 2 --ratings "$T/p8.txt" --rank 2

# ---- item 9: an empty --test file ----
: > "$T/empty-test.txt"
expect_fail "item 9: empty --test file" "empty-test.txt: no test ratings (the file has no data lines)" 2 "${R[@]}" --test "$T/empty-test.txt"
printf '99 1 3\n' > "$T/unknown-test.txt"
train 2 "${R[@]}" --test "$T/unknown-test.txt" --out "$T/o9" > "$T/log" 2>&1
! grep -qi "nan" "$T/log" && grep -q "test_rmse: none (no test ratings evaluated)" "$T/log" \
    && $PY -c 'import json,sys; m=json.load(open(sys.argv[1])); sys.exit(m["iterations"][-1]["test_rmse"] is not None)' "$T/o9/metrics.json" \
    && ok "item 9: no evaluated test pair: 'none' on stdout, null in metrics.json, no NaN printed" || bad "item 9: NaN printed" "$T/log"

# ---- item 11: --iters 2147483647 (the history grows as iterations run) ----
train 2 "${R[@]}" --iters 2147483647 --tol 1e-3 --out "$T/o11" > "$T/log" 2>&1 \
    && grep -q "stopping: relative loss decrease" "$T/log" && ok "item 11: --iters 2147483647 --tol stops early, no up-front history" \
    || bad "item 11: huge --iters" "$T/log"

# ---- item 12: metrics.json is valid UTF-8 with non-UTF-8 bytes in paths ----
cp "$T/r.txt" "$T/r"$'\xff'".txt"
train 2 --ratings "$T/r"$'\xff'".txt" --rank 2 --iters 1 --out "$T/o12"$'\xfe' > "$T/log" 2>&1
$PY -c 'import json,sys; m=json.loads(open(sys.argv[1],"rb").read().decode("utf-8")); sys.exit("\\xff" not in m["parameters"]["ratings"])' "$T/o12"$'\xfe'"/metrics.json" \
    && ok "item 12: a path with bytes 0xff/0xfe gives valid UTF-8 metrics.json (\\xff written as text)" || bad "item 12: metrics.json not UTF-8" "$T/log"

# ---- item 14: als-recommend --users all, indexed once, distributed over ranks ----
tool als-gen --users 1500 --items 600 --ratings-per-user 40 --rank 4 --seed 3 --out-ratings "$T/g14.txt" > /dev/null 2>&1
train 2 --ratings "$T/g14.txt" --rank 4 --iters 2 --out "$T/m14" > "$T/log" 2>&1 || bad "item 14: training" "$T/log"
cut -d' ' -f1 "$T/g14.txt" | sort -un > "$T/u14.txt"
tool als-recommend --model "$T/m14" --ratings "$T/g14.txt" --users-file "$T/u14.txt" --top 5 > "$T/rec-list" 2> "$T/log" || bad "item 14: --users-file" "$T/log"
tool als-recommend --model "$T/m14" --ratings "$T/g14.txt" --users all --top 5 --out "$T/rec-all1" 2> "$T/log" || bad "item 14: --users all" "$T/log"
timeout 120 mpirun -np 3 "$B/als-recommend" --model "$T/m14" --ratings "$T/g14.txt" --users all --top 5 --out "$T/rec-all3" 2> "$T/log" || bad "item 14: P=3" "$T/log"
tool als-partition --ratings "$T/g14.txt" --out "$T/g14.bin" > /dev/null 2>&1
timeout 120 mpirun -np 2 "$B/als-recommend" --model "$T/m14" --data "$T/g14.bin" --users all --top 5 > "$T/rec-all2d" 2> "$T/log"
if [ "$(wc -l < "$T/rec-all1")" = $((1 + 5 * $(wc -l < "$T/u14.txt"))) ] && cmp -s "$T/rec-all1" "$T/rec-all3" \
   && cmp -s <(sort "$T/rec-all1") <(sort "$T/rec-list") && cmp -s "$T/rec-all1" "$T/rec-all2d"; then
    ok "item 14: --users all = --users-file of every user; P=3 --out and P=2 --data (stdout) give the same single file"
else bad "item 14: outputs differ" "$T/log"; fi

# ---- item 15: als-simgraph: popular items sampled, partial selection, MPI ranks ----
awk '{print} END{for(u=1;u<=1500;u++) print u, 999999, 1+u%5}' "$T/g14.txt" > "$T/hub15.txt"
tool als-simgraph --ratings "$T/hub15.txt" --top-k 6 --measure pcc --max-item-raters 0 --out "$T/sg-nocap" > "$T/log" 2>&1 || bad "item 15: no cap" "$T/log"
tool als-simgraph --ratings "$T/hub15.txt" --top-k 6 --measure pcc --max-item-raters 300 --out "$T/sg-cap1" > "$T/log" 2>&1 || bad "item 15: cap" "$T/log"
grep -q "items with more than 300 raters sampled: 1" "$T/log" || bad "item 15: the capped item is not reported" "$T/log"
timeout 120 mpirun -np 3 "$B/als-simgraph" --ratings "$T/hub15.txt" --top-k 6 --measure pcc --max-item-raters 300 --out "$T/sg-cap3" > "$T/log" 2>&1 || bad "item 15: P=3" "$T/log"
timeout 120 mpirun -np 2 "$B/als-simgraph" --ratings "$T/hub15.txt" --top-k 6 --measure pcc --max-item-raters 0 --out "$T/sg-nocap2" > "$T/log" 2>&1 || bad "item 15: P=2" "$T/log"
cmp -s "$T/sg-cap1" "$T/sg-cap3" && cmp -s "$T/sg-nocap" "$T/sg-nocap2" && ! cmp -s "$T/sg-cap1" "$T/sg-nocap" \
    && [ "$(wc -l < "$T/sg-cap1")" = $((6 * 1500)) ] \
    && ok "item 15: --max-item-raters samples a popular item's raters; P=2/3 write the same file as P=1" || bad "item 15: outputs" "$T/log"
# --trust: a hub user rating every item, linked by everyone (galloping search, same weights)
awk 'BEGIN{for(j=1;j<=600;j++) print 777777, j, 1+j%5}' > "$T/hubrow.txt"; cat "$T/g14.txt" >> "$T/hubrow.txt"
awk 'BEGIN{for(u=1;u<=1500;u++) print u, 777777}' > "$T/hublinks.txt"
tool als-simgraph --ratings "$T/hubrow.txt" --trust "$T/hublinks.txt" --measure vss --out "$T/sgt1" > "$T/log" 2>&1
timeout 120 mpirun -np 3 "$B/als-simgraph" --ratings "$T/hubrow.txt" --trust "$T/hublinks.txt" --measure vss --out "$T/sgt3" > "$T/log" 2>&1
$PY - "$T/hubrow.txt" "$T/sgt1" > "$T/cmp15" 2>&1 <<'EOP'
import sys, math, collections
r = collections.defaultdict(dict)
for l in open(sys.argv[1]):
    u, i, v = l.split(); r[int(u)][int(i)] = float(v)
bad = 0
for l in open(sys.argv[2]):
    i, f, s = l.split(); a, b = r[int(i)], r[int(f)]
    c = sorted(set(a) & set(b))
    x = sum(a[j] * b[j] for j in c) / (math.sqrt(sum(a[j]**2 for j in c)) * math.sqrt(sum(b[j]**2 for j in c)))
    x = min(max(x, 0.0), 1.0)
    bad += abs(x - float(s)) > 1e-12
print("mismatches", bad)
sys.exit(bad != 0)
EOP
[ $? = 0 ] && cmp -s "$T/sgt1" "$T/sgt3" && [ "$(wc -l < "$T/sgt1")" = 1500 ] \
    && ok "item 15: --trust links to a hub: VSS by galloping merge equals Python, P=3 the same file" || bad "item 15: trust hub" "$T/cmp15"

#@@MORE@@

echo "defects tests: $pass passed, $fail failed"
[ $fail = 0 ]
