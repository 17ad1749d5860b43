#!/usr/bin/env bash
# tests/run-slurm-tests.sh - the job scripts against a real single-node Slurm,
# and the same studies through jobs/run-local.sh (make slurm-test).
#
# Starts munged, slurmctld and slurmd from the Debian packages (slurm-wlm,
# munge; this script installs nothing) with a configuration in a temporary
# directory, submits jobs/train.sbatch, a strong-scaling job (P = 1, 2, 4,
# oversubscribed), a weak-scaling job (P = 1, 2) and a job that must fail, on
# small synthetic data; waits for each with a timeout by polling
# `scontrol show job`; checks exit codes, metrics files and provenance; runs
# tools/als-scaling-report --model on the results and checks the table and the
# PNGs (their embedded run list); then runs the studies through
# jobs/run-local.sh. Every daemon it started is stopped by pid from a trap.
# Exits non-zero on any failure. Needs root (munged runs as user munge).
#
# KEEP=1 keeps the temporary directory; SLURM_TEST_TIMEOUT (s, default 240) bounds
# each wait.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
PY=/usr/bin/python3
WAIT=${SLURM_TEST_TIMEOUT:-240}
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL $1"
    if [ -n "${2:-}" ] && [ -f "$2" ]; then tail -25 "$2" | sed 's/^/     /'; fi
    return 0
}
check() { # description command...
    local d=$1
    shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}

for c in munged slurmctld slurmd sbatch scontrol sinfo srun mpirun "$PY"; do
    if ! command -v "$c" >/dev/null 2>&1; then
        echo "FAIL $c not found: install the Debian packages slurm-wlm munge openmpi-bin python3-matplotlib" >&2
        exit 1
    fi
done
[ "$(id -u)" = 0 ] || { echo "FAIL run as root (munged must run as user munge, slurmd as root)" >&2; exit 1; }
id munge >/dev/null 2>&1 || { echo "FAIL no user munge (is the munge package installed?)" >&2; exit 1; }
SRC_BIN=${ALS_BIN:-bin}
[ -x "$SRC_BIN/als-train" ] || { echo "FAIL $SRC_BIN/als-train missing: run make first" >&2; exit 1; }

T=$(mktemp -d /tmp/als-slurm-test.XXXXXX)
chmod 755 "$T"
# A snapshot of the binaries: a rebuild while the jobs run cannot break them.
cp -a "$SRC_BIN/." "$T/bin"
export ALS_BIN=$T/bin
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# ---------------------------------------------------------------- stop by pid
stop_pid() { # name pid
    local name=$1 pid=$2
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { echo "stopped $name (pid $pid)"; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    echo "killed $name (pid $pid)"
}
SLURMD_PID="" SLURMCTLD_PID="" MUNGED_PID=""
read_pids() { # the daemons delete their pid files on exit: read them while running
    [ -z "$MUNGED_PID" ] && [ -s "$T/munge/munged.pid" ] && MUNGED_PID=$(cat "$T/munge/munged.pid")
    [ -z "$SLURMCTLD_PID" ] && [ -s "$T/slurmctld.pid" ] && SLURMCTLD_PID=$(cat "$T/slurmctld.pid")
    [ -z "$SLURMD_PID" ] && [ -s "$T/slurmd.pid" ] && SLURMD_PID=$(cat "$T/slurmd.pid")
    return 0
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    read_pids
    # Jobs still running are cancelled first (their steps are children of slurmd).
    if [ -n "$SLURMCTLD_PID" ] && [ -n "${JOBIDS:-}" ]; then
        # shellcheck disable=SC2086
        scancel $JOBIDS 2>/dev/null
    fi
    stop_pid slurmd "$SLURMD_PID"
    stop_pid slurmctld "$SLURMCTLD_PID"
    stop_pid munged "$MUNGED_PID"
    if [ "${KEEP:-0}" = 1 ] || [ $rc != 0 ]; then
        echo "kept $T"
    else
        rm -rf "$T"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dump_logs() {
    for f in "$T/slurmctld.log" "$T/slurmd.log" "$T/munge/munged.log"; do
        [ -f "$f" ] && { echo "---- $f (last lines)"; tail -20 "$f"; }
    done
}

# ---------------------------------------------------------------- munge
mkdir -p "$T/munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chown -R munge:munge "$T/munge"
chmod 711 "$T/munge"
chmod 400 "$T/munge/munge.key"
if ! runuser -u munge -- munged --force --socket="$T/munge/munge.socket" \
    --key-file="$T/munge/munge.key" --pid-file="$T/munge/munged.pid" \
    --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed" > "$T/munged.out" 2>&1; then
    bad "munged starts" "$T/munged.out"
    exit 1
fi
for _ in $(seq 1 50); do [ -s "$T/munge/munged.pid" ] && break; sleep 0.1; done
read_pids
[ -n "$MUNGED_PID" ] && ok "munged running (pid $MUNGED_PID)" || { bad "munged pid file" "$T/munge/munged.log"; exit 1; }

# ---------------------------------------------------------------- slurm
HOST=$(hostname -s)
free_port() { # a TCP port nobody listens on, from a pid-dependent start
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}
CPORT=$(free_port $((20000 + $$ % 20000)))
DPORT=$(free_port $((CPORT + 1)))
mkdir -p "$T/state" "$T/spool"
export SLURM_CONF=$T/slurm.conf
cat > "$SLURM_CONF" <<EOF
ClusterName=alstest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CPORT
SlurmdPort=$DPORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$T/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
SlurmdParameters=config_overrides
EnforcePartLimits=ALL
MailProg=/bin/true
MinJobAge=300
ReturnToService=2
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF" > "$T/slurmctld.out" 2>&1 || { bad "slurmctld starts" "$T/slurmctld.out"; dump_logs; exit 1; }
for _ in $(seq 1 50); do [ -s "$T/slurmctld.pid" ] && break; sleep 0.1; done
read_pids
slurmd -f "$SLURM_CONF" > "$T/slurmd.out" 2>&1 || { bad "slurmd starts" "$T/slurmd.out"; dump_logs; exit 1; }
for _ in $(seq 1 50); do [ -s "$T/slurmd.pid" ] && break; sleep 0.1; done
read_pids
state=""
for _ in $(seq 1 150); do
    state=$(sinfo -h -o %T 2>/dev/null | head -1)
    [ "$state" = idle ] && break
    sleep 0.2
done
if [ "$state" = idle ] && [ -n "$SLURMCTLD_PID" ] && [ -n "$SLURMD_PID" ]; then
    ok "slurmctld (pid $SLURMCTLD_PID) and slurmd (pid $SLURMD_PID) up, node $HOST idle"
else
    bad "Slurm node idle (state '$state')"
    dump_logs
    exit 1
fi
srun --mpi=list 2>&1 | grep -qw pmix && ok "srun offers --mpi=pmix" || bad "srun --mpi=list has pmix"

# ---------------------------------------------------------------- jobs
RES=$T/results
mkdir -p "$RES" "$T/out"
JOBIDS=""
submit() { # name [VAR=value...] -- sbatch-args and script args...
    local name=$1 envs=() id
    shift
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    id=$(env ALS_RESULTS="$RES" "${envs[@]}" sbatch --parsable --job-name="$name" --chdir="$ROOT" \
        -o "$T/out/%x-%j.out" -t 5 "$@") || return 1
    id=${id%%;*}
    echo "$id"
}
# wait_job ID: prints "STATE EXITCODE" once the job is finished (or TIMEOUT).
wait_job() {
    local id=$1 line st ec t0=$SECONDS
    while [ $((SECONDS - t0)) -lt "$WAIT" ]; do
        line=$(scontrol show job -o "$id" 2>/dev/null)
        st=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
        ec=$(sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p' <<<"$line")
        case $st in
            COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
                echo "$st $ec"
                return 0 ;;
        esac
        sleep 0.25
    done
    scancel "$id" 2>/dev/null
    echo "WAIT_TIMEOUT -"
}
field() { # file key: value of a top-level or nested JSON key path a.b.c
    $PY - "$1" "$2" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v if not isinstance(v, (list, dict)) else json.dumps(v))
EOF
}

# All submitted at once; the scheduler runs them as the 8 advertised CPUs allow.
GEN=(GEN_USERS=1500 GEN_ITEMS=400 GEN_RPU=20 GEN_LINKS=3)
id_train=$(submit als-train "${GEN[@]}" -- --cpus-per-task=2 jobs/train.sbatch --iters 4 --rank 8 --exchange shared) ||
    bad "sbatch train.sbatch"
id_strong=$(submit als-strong "${GEN[@]}" ALS_RANKS="1 2 4" -- --nodes=1 --ntasks-per-node=4 \
    jobs/strong-scaling.sbatch --iters 3 --rank 16) || bad "sbatch strong-scaling.sbatch"
# The weak job uses the awk fallback generator, the others bin/als-gen when built.
id_weak=$(submit als-weak ALS_GEN=awk GEN_USERS_PER_RANK=800 GEN_ITEMS=300 GEN_RPU=15 GEN_LINKS=3 \
    ALS_RANKS="1 2" -- --nodes=1 --ntasks-per-node=2 jobs/weak-scaling.sbatch --iters 3 --rank 8) ||
    bad "sbatch weak-scaling.sbatch"
id_bad=$(submit als-bad -- --ntasks=1 jobs/train.sbatch --ratings "$T/no-such-file.txt") ||
    bad "sbatch of the failing job"
JOBIDS="$id_train $id_strong $id_weak $id_bad"
echo "submitted: train $id_train, strong $id_strong, weak $id_weak, failing $id_bad"

# --- train.sbatch
read -r st ec < <(wait_job "$id_train")
out=$T/out/als-train-$id_train.out
[ "$st $ec" = "COMPLETED 0:0" ] && ok "train.sbatch job $id_train COMPLETED, exit 0:0" ||
    bad "train.sbatch job $id_train finished as $st $ec" "$out"
D=$RES/als-train-$id_train
M=$D/runs/p0002-t2/metrics.json
if [ -s "$M" ]; then
    ok "train: results directory named after the job holds runs/p0002-t2/metrics.json"
    check "train: 2 ranks x 2 threads (--cpus-per-task=2), validation PASSED, 4 iterations" \
        test "$(field "$M" run.ranks) $(field "$M" run.threads_per_rank) $(field "$M" validation) $($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["iterations"]))' "$M")" = "2 2 PASSED 4"
    check "train: launched by srun --mpi=pmix --cpus-per-task=2" \
        grep -q '"srun", "--mpi=pmix", "--ntasks=2", "--cpus-per-task=2"' "$D/runs/p0002-t2/run.json"
    check "train: U.npy and V.npy kept" test -s "$D/runs/p0002-t2/U.npy" -a -s "$D/runs/p0002-t2/V.npy"
    check "train: --exchange shared under srun (one copy of U and V on the node)" \
        test "$(field "$M" exchange.mode)" = shared
    P=$D/provenance.json
    check "train: provenance has git revision, host, Slurm job id, BLAS core" \
        test "$(field "$P" git.revision | wc -c)" = 41 -a "$(field "$P" hosts.0)" = "$HOST" \
        -a "$(field "$P" slurm.job_id)" = "$id_train" -a -n "$(field "$D/blas.json" blas_run.blas_core)"
    check "train: provenance records the als-train arguments" grep -q '"--rank", "8"' "$P"
    if [ -x "$ALS_BIN/als-gen" ]; then
        check "train: data from bin/als-gen" test "$(field "$P" parameters.generated_data.generator)" = als-gen
    fi
    check "train: test RMSE recorded" $PY -c 'import json,sys,math; m=json.load(open(sys.argv[1])); sys.exit(not math.isfinite(m["iterations"][-1]["test_rmse"]))' "$M"
else
    bad "train: $M missing" "$out"
fi

# --- strong-scaling.sbatch
read -r st ec < <(wait_job "$id_strong")
out=$T/out/als-strong-$id_strong.out
[ "$st $ec" = "COMPLETED 0:0" ] && ok "strong-scaling job $id_strong COMPLETED, exit 0:0" ||
    bad "strong-scaling job $id_strong finished as $st $ec" "$out"
S=$RES/als-strong-$id_strong
for p in 1 2 4; do
    m=$S/runs/$(printf 'p%04d-t1' $p)/metrics.json
    if [ -s "$m" ] && [ "$(field "$m" run.ranks)" = $p ] && [ "$(field "$m" validation)" = PASSED ]; then
        ok "strong: P=$p metrics.json (ranks $p, PASSED)"
    else bad "strong: P=$p metrics.json" "$out"; fi
done
check "strong: factors not kept by scaling studies" test ! -e "$S/runs/p0004-t1/U.npy"

# --- weak-scaling.sbatch
read -r st ec < <(wait_job "$id_weak")
out=$T/out/als-weak-$id_weak.out
[ "$st $ec" = "COMPLETED 0:0" ] && ok "weak-scaling job $id_weak COMPLETED, exit 0:0" ||
    bad "weak-scaling job $id_weak finished as $st $ec" "$out"
W=$RES/als-weak-$id_weak
if [ -s "$W/runs/p0001-t1/metrics.json" ] && [ -s "$W/runs/p0002-t1/metrics.json" ]; then
    u1=$(field "$W/runs/p0001-t1/metrics.json" dataset.users)
    u2=$(field "$W/runs/p0002-t1/metrics.json" dataset.users)
    [ "$u2" -gt "$u1" ] && ok "weak: P=2 dataset has more users ($u2) than P=1 ($u1)" ||
        bad "weak: dataset grows with P ($u1 -> $u2)"
    check "weak: data from the awk fallback generator" \
        test "$(field "$W/runs/p0002-t1/run.json" data.generator)" = gen-synthetic.awk
else
    bad "weak: metrics.json for P=1 and P=2" "$out"
fi

# --- the job that must fail
read -r st ec < <(wait_job "$id_bad")
[ "$st" = FAILED ] && [ "${ec%%:*}" != 0 ] && ok "failing run: job $id_bad FAILED with exit $ec" ||
    bad "failing run: job $id_bad finished as $st $ec" "$T/out/als-bad-$id_bad.out"
grep -q "no-such-file" "$T/out/als-bad-$id_bad.out" 2>/dev/null &&
    ok "failing run: the job log names the missing file" || bad "failing run: message" "$T/out/als-bad-$id_bad.out"

# ---------------------------------------------------------------- report
png_ok() { # file runs-that-must-be-listed...
    local f=$1
    shift
    [ -s "$f" ] || return 1
    [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || return 1
    local r
    for r in "$@"; do grep -aq "$r" "$f" || return 1; done
}
report_checks() { # label dir expected-ranks...
    local label=$1 dir=$2
    shift 2
    if ! $PY tools/als-scaling-report --model "$dir" > "$T/report-$label.log" 2>&1; then
        bad "$label: als-scaling-report --model exits 0" "$T/report-$label.log"
        return
    fi
    ok "$label: als-scaling-report --model exits 0"
    local R=$dir/report p ranks_csv f
    for f in "$dir/provenance.json" "$dir"/runs/*/run.json; do
        $PY -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null || bad "$label: $f is not valid JSON"
    done
    ranks_csv=$(awk -F, 'NR > 1 { printf "%s ", $1 }' "$R/scaling.csv" 2>/dev/null)
    [ "$ranks_csv" = "$* " ] && ok "$label: scaling.csv rows for ranks $*" ||
        bad "$label: scaling.csv ranks '$ranks_csv', expected '$* '"
    local allrows=1
    for p in "$@"; do grep -q "^| $p | 1 |" "$R/scaling.md" || allrows=0; done
    [ $allrows = 1 ] && ok "$label: scaling.md has a row per rank count" || bad "$label: scaling.md rows" "$R/scaling.md"
    local runs=()
    for p in "$@"; do runs+=("P=$p,T=1"); done
    for png in scaling phases convergence; do
        png_ok "$R/$png.png" "${runs[@]}" && ok "$label: $png.png is a PNG listing runs ${runs[*]}" ||
            bad "$label: $png.png"
    done
    grep -q "Where the replicated Allgatherv stops scaling" "$R/model.md" &&
        grep -q "Netflix-sized" "$R/model.md" && grep -q "| 1024 |" "$R/model.md" &&
        ok "$label: model.md projects to 1024 ranks and says where the Allgatherv stops" ||
        bad "$label: model.md" "$R/model.md"
    local nmodel
    nmodel=$(sed -n '/^## Model against measurement/,/^## Projections/p' "$R/model.md" | grep -c '^| [0-9]')
    [ "$nmodel" = $# ] && ok "$label: model printed beside every measured P ($nmodel rows)" ||
        bad "$label: model-vs-measured rows ($nmodel, expected $#)" "$R/model.md"
}
[ -d "$S/runs" ] && report_checks "slurm strong" "$S" 1 2 4
[ -d "$W/runs" ] && report_checks "slurm weak" "$W" 1 2

# ---------------------------------------------------------------- local launcher
for v in $(env | sed -n 's/^\(SLURM_[A-Z_]*\)=.*/\1/p'); do [ "$v" = SLURM_CONF ] || unset "$v"; done
run_local() { # label study ranks VAR=value... ; sets L to the results directory
    local label=$1 study=$2 ranks=$3
    shift 3
    L=$T/local-$label
    local rk=(ALS_RANKS="$ranks")
    [ "$ranks" = default ] && rk=(-u ALS_RANKS)
    if env "${rk[@]}" ALS_RESULT_DIR="$L" ALS_TIMEOUT=120 "$@" \
        timeout 300 jobs/run-local.sh "$study" --iters 3 --rank 8 > "$T/local-$label.log" 2>&1; then
        ok "run-local.sh $study (P = $ranks) exits 0"
    else
        bad "run-local.sh $study (P = $ranks)" "$T/local-$label.log"
    fi
}
run_local strong strong "1 2 4" GEN_USERS=1500 GEN_ITEMS=400 GEN_RPU=20
grep -q "launcher mpirun" "$T/local-strong.log" && ok "local strong: launched by mpirun" ||
    bad "local strong: mpirun" "$T/local-strong.log"
check "local strong: the launcher's report was written" test -s "$L/report/scaling.md"
report_checks "local strong" "$L" 1 2 4
# The weak study with the default rank list: 1 2 4 ... up to the cores, and the cores.
run_local weak weak default GEN_USERS_PER_RANK=800 GEN_ITEMS=300 GEN_RPU=15
expect=()
p=1
while [ $p -lt "$(nproc)" ]; do expect+=("$p"); p=$((p * 2)); done
expect+=("$(nproc)")
# shellcheck disable=SC2048,SC2086
report_checks "local weak" "$L" ${expect[*]}
run_local train train "2" GEN_USERS=1500 GEN_ITEMS=400 GEN_RPU=20
[ -s "$L/runs/p0002-t1/metrics.json" ] && ok "local train: runs/p0002-t1/metrics.json" ||
    bad "local train: metrics.json" "$T/local-train.log"

echo
echo "slurm tests: $pass passed, $fail failed"
[ $fail = 0 ]
