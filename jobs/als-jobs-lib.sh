# jobs/als-jobs-lib.sh - shared by train.sbatch, strong-scaling.sbatch,
# weak-scaling.sbatch and run-local.sh. Sourced by bash; defines functions and
# nothing runs at source time except locating the project.
#
# Layout of one results directory (named after the job):
#   RESULTS/<job-name>-<job-id>/             (local: <study>-local-<date>-<pid>)
#     provenance.json        git revision, hosts, modules, Slurm/launcher, CPU, BLAS
#     job.log                what the job did, step by step
#     data/                  generated data (removed at the end unless ALS_KEEP_DATA=1)
#     runs/p0004-t1[-rN]/    one run: metrics.json (from als-train), stdout.log, run.json
#
# Environment knobs (all optional):
#   ALS_HOME        project root (default: the submit directory, or this file's parent)
#   ALS_BIN         binaries (default: $ALS_HOME/bin)
#   ALS_RESULTS     parent of the results directories (default: $ALS_HOME/results)
#   ALS_RESULT_DIR  exact results directory (overrides the name derived from the job)
#   ALS_LAUNCHER    auto | srun | mpirun (auto: srun --mpi=pmix inside Slurm when the
#                   pmix plugin is there, otherwise mpirun)
#   ALS_SRUN_FLAGS, ALS_MPIRUN_FLAGS   extra launcher options
#   ALS_TIMEOUT     seconds allowed per run (default: none)
#   ALS_KEEP_DATA=1, ALS_KEEP_FACTORS=1   keep generated data / U.npy, V.npy

als__log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "${ALS_JOBDIR:-/dev/null}/job.log" >&2; }
als_log() { if [ -n "${ALS_JOBDIR:-}" ] && [ -d "$ALS_JOBDIR" ]; then als__log "$@"; else printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; fi; }
als_die() { als_log "error: $*"; exit 1; }

# JSON string literal of $1 (escapes \ " and control characters).
als_json_str() {
    local s
    s=$(printf '%s' "$1" | tr -d '\000-\010\013\014\016-\037')
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    s=${s//$'\r'/}
    printf '"%s"' "$s"
}
# JSON array of strings from the arguments.
als_json_arr() {
    local first=1 a
    printf '['
    for a in "$@"; do
        [ $first = 1 ] || printf ', '
        first=0
        als_json_str "$a"
    done
    printf ']'
}

# Physical CPUs usable here (the allocation's on this node under Slurm).
als_ncpus() {
    if [ -n "${SLURM_CPUS_ON_NODE:-}" ]; then echo "$SLURM_CPUS_ON_NODE"; else nproc 2>/dev/null || echo 1; fi
}

# als_setup STUDY: site environment, binaries, results directory, launcher.
als_setup() {
    ALS_STUDY=$1
    [ -f "$ALS_HOME/jobs/site.sh" ] && . "$ALS_HOME/jobs/site.sh"
    ALS_BIN=${ALS_BIN:-$ALS_HOME/bin}
    [ -d "$ALS_BIN" ] && ALS_BIN=$(cd "$ALS_BIN" && pwd)
    [ -x "$ALS_BIN/als-train" ] || als_die "$ALS_BIN/als-train not found: run make in $ALS_HOME first (or set ALS_BIN)"
    if [ "$(id -u)" = 0 ]; then
        export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
    ALS_RESULTS=${ALS_RESULTS:-$ALS_HOME/results}
    if [ -n "${ALS_RESULT_DIR:-}" ]; then
        ALS_JOBDIR=$ALS_RESULT_DIR
    elif [ -n "${SLURM_JOB_ID:-}" ]; then
        ALS_JOBDIR=$ALS_RESULTS/${SLURM_JOB_NAME:-$ALS_STUDY}-$SLURM_JOB_ID
    else
        ALS_JOBDIR=$ALS_RESULTS/${ALS_JOB_NAME:-$ALS_STUDY}-local-$(date +%Y%m%d-%H%M%S)-$$
    fi
    mkdir -p "$ALS_JOBDIR/runs" || als_die "cannot create $ALS_JOBDIR"
    ALS_JOBDIR=$(cd "$ALS_JOBDIR" && pwd)
    export ALS_JOBDIR
    if [ -n "$(ls -A "$ALS_JOBDIR/runs")" ]; then
        als_log "warning: $ALS_JOBDIR/runs already holds runs; new runs of the same name replace them, others stay and enter the report"
    fi
    : > "$ALS_JOBDIR/job.log"

    ALS_LAUNCHER=${ALS_LAUNCHER:-auto}
    if [ "$ALS_LAUNCHER" = auto ]; then
        ALS_LAUNCHER=mpirun
        if [ -n "${SLURM_JOB_ID:-}" ] && command -v srun >/dev/null 2>&1 &&
            srun --mpi=list 2>&1 | grep -qw pmix; then
            ALS_LAUNCHER=srun
        fi
    fi
    case $ALS_LAUNCHER in
        srun|mpirun) ;;
        *) als_die "ALS_LAUNCHER must be auto, srun or mpirun (got '$ALS_LAUNCHER')" ;;
    esac
    command -v "$ALS_LAUNCHER" >/dev/null 2>&1 || als_die "launcher $ALS_LAUNCHER not found"
    ALS_FAILED=0
    als_log "study $ALS_STUDY: results in $ALS_JOBDIR, launcher $ALS_LAUNCHER"
}

# als_launch_cmd P T: prints the launcher words (one per line) for P ranks x T threads.
als_launch_cmd() {
    local p=$1 t=$2
    if [ "$ALS_LAUNCHER" = srun ]; then
        local nn=${SLURM_JOB_NUM_NODES:-${SLURM_NNODES:-1}}
        [ "$p" -lt "$nn" ] && nn=$p
        printf '%s\n' srun --mpi=pmix --ntasks="$p" --cpus-per-task="$t" --nodes="$nn" \
            --kill-on-bad-exit=1
        # shellcheck disable=SC2086
        [ -n "${ALS_SRUN_FLAGS:-}" ] && printf '%s\n' $ALS_SRUN_FLAGS
    else
        printf '%s\n' mpirun -np "$p" -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS
        local slots
        if [ -n "${SLURM_JOB_ID:-}" ]; then slots=${SLURM_NTASKS:-$(als_ncpus)}
        else slots=$(als_ncpus); fi
        [ $((p * t)) -gt "$slots" ] && printf '%s\n' --oversubscribe
        # More threads than one core per rank, or more ranks than cores: no binding.
        if [ "$t" -gt 1 ] || [ $((p * t)) -gt "$(als_ncpus)" ]; then printf '%s\n' --bind-to none; fi
        # shellcheck disable=SC2086
        [ -n "${ALS_MPIRUN_FLAGS:-}" ] && printf '%s\n' $ALS_MPIRUN_FLAGS
    fi
    return 0
}

# als_gen_data DIR USERS ITEMS RATINGS_PER_USER: synthetic data in DIR, sets the
# array ALS_DATA_ARGS (als-train input options). Knobs: GEN_RANK (8), GEN_NOISE
# (0.5), GEN_SEED (1), GEN_LINKS (social links per user, 5), GEN_TEST_FRACTION
# (0.1). Uses bin/als-gen when it is built (ALS_GEN=awk forces the fallback).
als_gen_data() {
    local dir=$1 users=$2 items=$3 rpu=$4
    local rank=${GEN_RANK:-8} noise=${GEN_NOISE:-0.5} seed=${GEN_SEED:-1}
    local links=${GEN_LINKS:-5} testfrac=${GEN_TEST_FRACTION:-0.1}
    local t0=$SECONDS
    mkdir -p "$dir" || als_die "cannot create $dir"
    ALS_DATA_ARGS=()
    if [ "${ALS_GEN:-auto}" != awk ] && [ -x "$ALS_BIN/als-gen" ]; then
        als_gen_with_tool "$dir" "$users" "$items" "$rpu" "$rank" "$noise" "$seed" "$links" "$testfrac" &&
            ALS_GEN_USED=als-gen
    fi
    if [ ${#ALS_DATA_ARGS[@]} = 0 ]; then
        awk -v users="$users" -v items="$items" -v rpu="$rpu" -v rank="$rank" -v noise="$noise" \
            -v seed="$seed" -v links="$links" -v testfrac="$testfrac" -v out="$dir" \
            -f "$ALS_HOME/jobs/gen-synthetic.awk" || als_die "data generation failed"
        ALS_DATA_ARGS=(--ratings "$dir/ratings.txt")
        [ "$links" -gt 0 ] && ALS_DATA_ARGS+=(--social "$dir/social.txt")
        [ -s "$dir/test.txt" ] && ALS_DATA_ARGS+=(--test "$dir/test.txt")
        ALS_GEN_USED=gen-synthetic.awk
    fi
    local format=text
    if [ "${ALS_PARTITION:-auto}" != 0 ] && [ -x "$ALS_BIN/als-partition" ] &&
        [ "${ALS_DATA_ARGS[0]}" = --ratings ]; then
        als_partition_data "$dir" && format=binary
    fi
    als_log "data: $users users x $items items x $rpu ratings/user (rank $rank, noise $noise, seed $seed, $links links/user) by $ALS_GEN_USED, $format, in $((SECONDS - t0)) s"
    ALS_GEN_DESC="{\"generator\": $(als_json_str "$ALS_GEN_USED"), \"format\": \"$format\", \"users\": $users, \"items\": $items, \"ratings_per_user\": $rpu, \"rank\": $rank, \"noise\": $noise, \"seed\": $seed, \"links_per_user\": $links, \"test_fraction\": $testfrac, \"dir\": $(als_json_str "$dir")}"
}

# bin/als-gen, when present: ask its --help which options it has, so that the
# job scripts keep working as the tool grows. Sets ALS_DATA_ARGS on success.
# als-gen has no held-out split: with a test fraction > 0 it writes text, which
# is split here (awk, seeded) and partitioned later; otherwise it writes the
# binary dataset directly (--out-data).
als_gen_with_tool() {
    local dir=$1 users=$2 items=$3 rpu=$4 rank=$5 noise=$6 seed=$7 links=$8 testfrac=$9
    local help args
    help=$("$ALS_BIN/als-gen" --help 2>&1)
    grep -q -- '--out-ratings' <<<"$help" || { als_log "bin/als-gen has no --out-ratings: not used"; return 1; }
    args=(--users "$users" --items "$items" --ratings-per-user "$rpu" --rank "$rank" --seed "$seed")
    if grep -q -- '--sigma' <<<"$help"; then args+=(--sigma "$noise"); else args+=(--noise "$noise"); fi
    local has_social=0
    if [ "$links" -gt 0 ] && grep -q -- '--links-per-user' <<<"$help"; then
        args+=(--links-per-user "$links")
        has_social=1
    fi
    local split=0
    awk -v f="$testfrac" 'BEGIN { exit !(f > 0) }' && split=1
    if [ $split = 0 ] && [ "${ALS_PARTITION:-auto}" != 0 ] && grep -q -- '--out-data' <<<"$help"; then
        "$ALS_BIN/als-gen" "${args[@]}" --out-data "$dir/dataset.bin" > "$dir/als-gen.log" 2>&1 ||
            { als_log "als-gen failed (see $dir/als-gen.log); falling back to gen-synthetic.awk"; return 1; }
        ALS_DATA_ARGS=(--data "$dir/dataset.bin")
        return 0
    fi
    [ $has_social = 1 ] && args+=(--out-social "$dir/social.txt")
    if ! "$ALS_BIN/als-gen" "${args[@]}" --out-ratings "$dir/all.txt" > "$dir/als-gen.log" 2>&1; then
        als_log "als-gen failed (see $dir/als-gen.log); falling back to gen-synthetic.awk"
        return 1
    fi
    if [ $split = 1 ]; then
        awk -v f="$testfrac" -v seed="$seed" -v tr="$dir/ratings.txt" -v te="$dir/test.txt" \
            'BEGIN { srand(seed) } { if (rand() < f) print > te; else print > tr }' "$dir/all.txt" &&
            rm -f "$dir/all.txt" || return 1
    else
        mv "$dir/all.txt" "$dir/ratings.txt"
    fi
    ALS_DATA_ARGS=(--ratings "$dir/ratings.txt")
    [ $has_social = 1 ] && [ -s "$dir/social.txt" ] && ALS_DATA_ARGS+=(--social "$dir/social.txt")
    [ -s "$dir/test.txt" ] && ALS_DATA_ARGS+=(--test "$dir/test.txt")
    return 0
}

# Text ratings (and social links) in ALS_DATA_ARGS -> one binary dataset file
# that every rank reads its own blocks of (als-partition, then als-train --data).
# The test set stays text. ALS_PARTITION=0 keeps the text files.
als_partition_data() {
    local dir=$1 in=() rest=() i=0
    while [ $i -lt ${#ALS_DATA_ARGS[@]} ]; do
        case ${ALS_DATA_ARGS[$i]} in
            --ratings|--social) in+=("${ALS_DATA_ARGS[$i]}" "${ALS_DATA_ARGS[$((i + 1))]}") ;;
            *) rest+=("${ALS_DATA_ARGS[$i]}" "${ALS_DATA_ARGS[$((i + 1))]}") ;;
        esac
        i=$((i + 2))
    done
    if ! "$ALS_BIN/als-partition" "${in[@]}" --out "$dir/dataset.bin" > "$dir/als-partition.log" 2>&1; then
        als_log "als-partition failed (see $dir/als-partition.log); training from the text files"
        return 1
    fi
    ALS_DATA_ARGS=(--data "$dir/dataset.bin" "${rest[@]}")
    [ "${ALS_KEEP_DATA:-0}" = 1 ] || rm -f "$dir/ratings.txt" "$dir/social.txt"
    return 0
}

# True when the als-train arguments name their own input.
als_has_input() {
    local a
    for a in "$@"; do
        case $a in --ratings|--ratings=*|--data|--data=*) return 0 ;; esac
    done
    return 1
}

# als_run NAME P T [als-train args...]: one run into runs/NAME. Returns its exit code.
als_run() {
    local name=$1 p=$2 t=$3
    shift 3
    local dir=$ALS_JOBDIR/runs/$name
    mkdir -p "$dir"
    local launch
    mapfile -t launch < <(als_launch_cmd "$p" "$t")
    local cmd=("${launch[@]}" "$ALS_BIN/als-train" "$@" --threads "$t" --out "$dir")
    local to=()
    [ -n "${ALS_TIMEOUT:-}" ] && to=(timeout "$ALS_TIMEOUT")
    als_log "run $name: P=$p x T=$t: ${cmd[*]}"
    local start end rc load
    load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo null)
    start=$(date +%s.%N)
    # OpenBLAS's calls run on one thread inside ranks: without this, each
    # rank would start a pool of idle BLAS threads (one per core) at load.
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} "${to[@]}" "${cmd[@]}" \
        > "$dir/stdout.log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    local wall
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    [ "$ALS_KEEP_FACTORS" = 1 ] || rm -f "$dir/U.npy" "$dir/V.npy"
    {
        printf '{\n  "name": %s,\n  "study": %s,\n' "$(als_json_str "$name")" "$(als_json_str "$ALS_STUDY")"
        printf '  "ranks": %d,\n  "threads_per_rank": %d,\n' "$p" "$t"
        printf '  "nodes": %d,\n' "$( if [ "$ALS_LAUNCHER" = srun ]; then n=${SLURM_JOB_NUM_NODES:-1}; [ "$p" -lt "$n" ] && n=$p; echo "$n"; else echo "${SLURM_JOB_NUM_NODES:-1}"; fi )"
        printf '  "launcher": %s,\n' "$(als_json_str "$ALS_LAUNCHER")"
        printf '  "command": %s,\n' "$(als_json_arr "${cmd[@]}")"
        printf '  "exit_code": %d,\n  "wall_seconds": %s,\n' "$rc" "$wall"
        printf '  "loadavg_before": %s,\n' "${load:-null}"
        printf '  "started": %s,\n' "$(als_json_str "$(date -d "@${start%.*}" -Is 2>/dev/null || echo "$start")")"
        printf '  "data": %s\n}\n' "${ALS_GEN_DESC:-null}"
    } > "$dir/run.json"
    if [ $rc != 0 ]; then
        ALS_FAILED=$((ALS_FAILED + 1))
        als_log "run $name FAILED (exit $rc); last lines of $dir/stdout.log:"
        tail -5 "$dir/stdout.log" | sed 's/^/    /' >&2
    elif [ ! -s "$dir/metrics.json" ]; then
        ALS_FAILED=$((ALS_FAILED + 1))
        rc=1
        als_log "run $name FAILED: exit 0 but no metrics.json"
    else
        local spi
        spi=$(sed -n 's/^seconds_per_iteration: *//p' "$dir/stdout.log" | head -1)
        als_log "run $name: ok, ${spi:-?} s/iteration, wall ${wall} s"
    fi
    return $rc
}

# als_provenance STUDY-PARAMETERS-JSON ARGS...: write provenance.json.
als_provenance() {
    local params=$1
    shift
    local f=$ALS_JOBDIR/provenance.json
    local rev="unknown" dirty=false branch=""
    if command -v git >/dev/null 2>&1 && git -C "$ALS_HOME" rev-parse HEAD >/dev/null 2>&1; then
        rev=$(git -C "$ALS_HOME" rev-parse HEAD)
        branch=$(git -C "$ALS_HOME" rev-parse --abbrev-ref HEAD 2>/dev/null)
        git -C "$ALS_HOME" diff --quiet HEAD -- src include tools jobs Makefile 2>/dev/null || dirty=true
    fi
    local hosts=()
    if [ -n "${SLURM_JOB_NODELIST:-}" ] && command -v scontrol >/dev/null 2>&1; then
        mapfile -t hosts < <(scontrol show hostnames "$SLURM_JOB_NODELIST" 2>/dev/null)
    fi
    [ ${#hosts[@]} = 0 ] && hosts=("$(hostname)")
    local modules=""
    if type module >/dev/null 2>&1; then
        modules=$(module -t list 2>&1 | grep -v ':$' | tr '\n' ' ')
    fi
    [ -z "$modules" ] && modules=${LOADEDMODULES:-}
    local cpu
    cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
    local flags
    flags=$(grep -m1 -o -w -E 'avx512f|avx2' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')
    local version mpiv
    version=$("$ALS_BIN/als-train" --version 2>&1 | head -1)
    if [ "$ALS_LAUNCHER" = srun ]; then mpiv="$(srun --version 2>&1 | head -1); $(mpirun --version 2>&1 | head -1)"
    else mpiv=$(mpirun --version 2>&1 | head -1); fi
    local slurm="null"
    if [ -n "${SLURM_JOB_ID:-}" ]; then
        slurm="{\"job_id\": $(als_json_str "$SLURM_JOB_ID"), \"job_name\": $(als_json_str "${SLURM_JOB_NAME:-}"), \"partition\": $(als_json_str "${SLURM_JOB_PARTITION:-}"), \"account\": $(als_json_str "${SLURM_JOB_ACCOUNT:-}"), \"nodes\": $(als_json_str "${SLURM_JOB_NUM_NODES:-}"), \"nodelist\": $(als_json_str "${SLURM_JOB_NODELIST:-}"), \"ntasks\": $(als_json_str "${SLURM_NTASKS:-}"), \"cpus_per_task\": $(als_json_str "${SLURM_CPUS_PER_TASK:-}"), \"cpus_on_node\": $(als_json_str "${SLURM_CPUS_ON_NODE:-}"), \"submit_dir\": $(als_json_str "${SLURM_SUBMIT_DIR:-}"), \"cluster\": $(als_json_str "${SLURM_CLUSTER_NAME:-}")}"
    fi
    {
        printf '{\n'
        printf '  "study": %s,\n' "$(als_json_str "$ALS_STUDY")"
        printf '  "created": %s,\n' "$(als_json_str "$(date -Is)")"
        printf '  "git": {"revision": %s, "branch": %s, "dirty": %s},\n' \
            "$(als_json_str "$rev")" "$(als_json_str "$branch")" "$dirty"
        printf '  "als_train_version": %s,\n' "$(als_json_str "$version")"
        printf '  "hosts": %s,\n' "$(als_json_arr "${hosts[@]}")"
        printf '  "batch_host": %s,\n' "$(als_json_str "$(hostname)")"
        printf '  "cpu_model": %s,\n  "cpu_flags": %s,\n  "cpus_per_node": %s,\n' \
            "$(als_json_str "$cpu")" "$(als_json_str "$flags")" "$(nproc 2>/dev/null || echo 0)"
        printf '  "modules": %s,\n' "$(als_json_str "$modules")"
        printf '  "launcher": %s,\n  "mpi": %s,\n' "$(als_json_str "$ALS_LAUNCHER")" "$(als_json_str "$mpiv")"
        printf '  "environment": {"OMP_NUM_THREADS": %s, "OPENBLAS_CORETYPE": %s, "OPENBLAS_NUM_THREADS": %s, "ALS_SRUN_FLAGS": %s, "ALS_MPIRUN_FLAGS": %s},\n' \
            "$(als_json_str "${OMP_NUM_THREADS:-}")" "$(als_json_str "${OPENBLAS_CORETYPE:-}")" \
            "$(als_json_str "${OPENBLAS_NUM_THREADS:-}")" "$(als_json_str "${ALS_SRUN_FLAGS:-}")" \
            "$(als_json_str "${ALS_MPIRUN_FLAGS:-}")"
        printf '  "slurm": %s,\n' "$slurm"
        printf '  "parameters": %s,\n' "$params"
        printf '  "als_train_args": %s,\n' "$(als_json_arr "$@")"
        printf '  "uname": %s\n' "$(als_json_str "$(uname -srm)")"
        printf '}\n'
    } > "$f"
    als_log "provenance: $f (git ${rev:0:12}$([ "$dirty" = true ] && echo ' +local changes'))"
}

# BLAS kernel and ISA as the runs saw them (from the first metrics.json), appended
# to provenance.json as a separate small file the report reads too.
als_finish() {
    local m
    m=$(find "$ALS_JOBDIR/runs" -name metrics.json 2>/dev/null | sort | head -1)
    if [ -n "$m" ]; then
        local run
        run=$(grep -o '"run": *{[^}]*}' "$m" | head -1 | sed 's/^"run": *//')
        [ -n "$run" ] && printf '{"first_run": %s, "blas_run": %s}\n' "$(als_json_str "${m#"$ALS_JOBDIR"/}")" "$run" > "$ALS_JOBDIR/blas.json"
    fi
    if [ "${ALS_KEEP_DATA:-0}" != 1 ] && [ -d "$ALS_JOBDIR/data" ]; then
        rm -rf "$ALS_JOBDIR/data"
    fi
    local n
    n=$(find "$ALS_JOBDIR/runs" -name metrics.json | wc -l)
    als_log "done: $n metrics.json in $ALS_JOBDIR/runs, $ALS_FAILED failed run(s)"
    echo "results: $ALS_JOBDIR"
    [ "$ALS_FAILED" = 0 ]
}

# Rank counts: ALS_RANKS if set, else powers of two up to $1 (and $1 itself).
als_rank_list() {
    local max=$1
    if [ -n "${ALS_RANKS:-}" ]; then echo "$ALS_RANKS"; return; fi
    local p=1 out=""
    while [ $p -lt "$max" ]; do out="$out$p "; p=$((p * 2)); done
    echo "$out$max"
}
# JSON array of the numbers among the words of $1 ("1 2 4" -> [1, 2, 4]).
als_json_nums() {
    local w out=""
    for w in $1; do out="$out${out:+, }$w"; done
    printf '[%s]' "$out"
}
ALS_KEEP_FACTORS=${ALS_KEEP_FACTORS:-0}
