#!/bin/sh
# tests/run-tune-test.sh: als-tune on FilmTrust with a tiny grid.
# Checks the CSV (one row per trial, numbers, status ok), the args file (one
# line als-train accepts and that matches the best CSV row), that --test is
# refused, and that the test file is never opened.
#
# "Never opened" is checked with a FIFO: a background writer blocks in open()
# until some process opens the FIFO for reading, then leaves a marker file.
# The FIFO is placed where a careless tuner would look (test.txt beside the
# training file, and in $ALS_TEST / $TEST_FILE), and is passed as --test.  A
# control run first opens the FIFO with als-train itself, to prove the
# detector does fire when the file is read.
set -u
cd "$(dirname "$0")/.." || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=${MPIRUN:-mpirun}
T=$(mktemp -d /tmp/als-tune-test.XXXXXX)
WPID=
fail() { echo "FAIL: $*"; [ -n "$WPID" ] && kill "$WPID" 2>/dev/null; rm -rf "$T"; exit 1; }
ok() { echo "ok: $*"; }

[ -x bin/als-train ] || make -s >/dev/null || fail "make"
D=data/filmtrust
# the "training file" for this test: 4 of every 5 lines; the held-out lines are the test set
awk 'NR % 5 != 0' $D/ratings.txt > "$T/train.txt"

arm() {   # arm the trap FIFO at $T/test.txt; the writer notes when it is opened
    rm -f "$T/test.txt" "$T/opened"
    mkfifo "$T/test.txt" || fail "mkfifo"
    ( exec 3>"$T/test.txt"; echo opened > "$T/opened" ) &
    WPID=$!
}
disarm() { kill "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null; WPID=; }

# 1. control: the detector fires when the test file is read
arm
$MPIRUN -np 1 bin/als-train --ratings "$T/train.txt" --test "$T/test.txt" --iters 1 --quiet \
    >/dev/null 2>&1 &
CPID=$!
i=0; while [ ! -f "$T/opened" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
wait $CPID 2>/dev/null
[ -f "$T/opened" ] || fail "control: reading the trap FIFO was not detected"
disarm
ok "control: the trap detects a read of the test file"

# 2. --test is refused (exit code 2, clear message)
arm
ALS_TEST="$T/test.txt" TEST_FILE="$T/test.txt" \
    tools/als-tune --ratings "$T/train.txt" --test "$T/test.txt" --csv "$T/x.csv" --best "$T/x.args" \
    > "$T/refuse.out" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "--test should be refused with exit 2, got $rc"
grep -q -- "--test is not accepted" "$T/refuse.out" || fail "no clear message for --test"
[ -f "$T/opened" ] && fail "tune opened the test file while refusing --test"
ok "--test refused"

# 3. a real tiny search; the trap stays armed beside the training file and in the environment
ALS_TEST="$T/test.txt" TEST_FILE="$T/test.txt" \
    tools/als-tune --ratings "$T/train.txt" --social $D/trust.txt --bias \
    --rank 3,5 --lambda-u 8 --lambda-v 4,8 --alpha 0,1 --iters 4 \
    --csv "$T/trials.csv" --best "$T/best.args" > "$T/tune.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$T/tune.out"; fail "als-tune exited $rc"; }
[ -f "$T/opened" ] && fail "als-tune opened the test file"
disarm
ok "tune ran and never opened the test file"

# CSV: header + 8 trials (2 ranks x 1 lambda_u x 2 lambda_v x 2 alphas), all ok, numbers in range
python3 - "$T/trials.csv" "$T/best.args" <<'EOF' || fail "CSV / args checks"
import csv, sys, shlex
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 8, "expected 8 trials, got %d" % len(rows)
want = {(k, lv, a) for k in ("3", "5") for lv in ("4", "8") for a in ("0", "1")}
got = {(r["rank"], r["lambda_v"], r["alpha"]) for r in rows}
assert got == want, "grid mismatch: %s" % got
for r in rows:
    assert r["status"] == "ok", r
    assert r["lambda_u"] == "8" and r["bias"] == "1" and r["iters"] == "4", r
    assert 0.5 < float(r["val_rmse"]) < 1.5 and 0.3 < float(r["val_mae"]) < 1.2, r
best = min(rows, key=lambda r: float(r["val_rmse"]))
lines = open(sys.argv[2]).read().splitlines()
assert len(lines) == 1, "args file must be one line"
t = shlex.split(lines[0])
opt = {t[i]: t[i + 1] for i in range(len(t) - 1) if t[i].startswith("--") and not t[i + 1].startswith("--")}
assert "--bias" in t, t
assert "--test" not in t and "--ratings" not in t, t
for key, col in (("--rank", "rank"), ("--lambda-u", "lambda_u"), ("--lambda-v", "lambda_v"), ("--alpha", "alpha")):
    assert opt.get(key) == best[col], (key, opt.get(key), best[col])
print("csv rows and args ok:", lines[0])
EOF
ok "CSV has 8 trials; args file matches the best row"

# the args file is accepted by als-train as $(cat best.args)
awk 'NR % 5 == 0' $D/ratings.txt > "$T/real-test.txt"
$MPIRUN -np 2 bin/als-train --ratings "$T/train.txt" --social $D/trust.txt --test "$T/real-test.txt" \
    $(cat "$T/best.args") --quiet > "$T/train.out" 2>&1 || { cat "$T/train.out"; fail "als-train rejected best.args"; }
grep -q "test_rmse:" "$T/train.out" || fail "no test_rmse from als-train with best.args"
ok "als-train accepts \$(cat best.args): $(grep test_rmse: "$T/train.out")"

# 4. clear errors
tools/als-tune --ratings "$T/nope.txt" --csv "$T/e.csv" --best "$T/e.args" >/dev/null 2>&1 && fail "missing ratings accepted"
tools/als-tune --ratings "$T/train.txt" --rank a,b --csv "$T/e.csv" --best "$T/e.args" >/dev/null 2>&1 && fail "bad --rank accepted"
tools/als-tune --ratings "$T/train.txt" --extra "--test x" --csv "$T/e.csv" --best "$T/e.args" >/dev/null 2>&1 && fail "--extra --test accepted"
tools/als-tune --help | grep -q "validation" || fail "--help"
ok "errors and --help"

rm -rf "$T"
echo "PASS: run-tune-test"
