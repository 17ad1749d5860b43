#!/usr/bin/env bash
# jobs/run-local.sh - the studies of the batch scripts on a workstation, with
# mpirun and no Slurm: it runs the very same jobs/*.sbatch scripts with bash,
# then tools/als-scaling-report on their results directory.
#
#   jobs/run-local.sh strong [als-train options]   strong scaling, P = 1 2 4 ... cores
#   jobs/run-local.sh weak   [als-train options]   weak scaling, same rank counts
#   jobs/run-local.sh train  [als-train options]   one training run on all cores
#
# Knobs (environment): ALS_RANKS="1 2 4" (rank counts; more than the cores is
# allowed and oversubscribes), ALS_THREADS (per rank), ALS_REPEAT, GEN_* (data
# size, see jobs/README.md), ALS_RESULTS (default results/), REPORT_ARGS (extra
# options for als-scaling-report, default "--model"), NO_REPORT=1.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
export ALS_HOME=${ALS_HOME:-$(cd "$HERE/.." && pwd)}
study=${1:-}
case $study in
    strong) script=strong-scaling.sbatch ;;
    weak) script=weak-scaling.sbatch ;;
    train) script=train.sbatch ;;
    *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 2 ;;
esac
shift
# Outside any allocation: forget Slurm variables a shell might carry, use mpirun.
for v in $(env | sed -n 's/^\(SLURM_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
export ALS_LAUNCHER=mpirun
export ALS_RESULTS=${ALS_RESULTS:-$ALS_HOME/results}
export ALS_RESULT_DIR=${ALS_RESULT_DIR:-$ALS_RESULTS/$study-local-$(date +%Y%m%d-%H%M%S)}
bash "$ALS_HOME/jobs/$script" "$@"
rc=$?
if [ "${NO_REPORT:-0}" != 1 ] && [ -d "$ALS_RESULT_DIR/runs" ]; then
    read -r -a rargs <<< "${REPORT_ARGS:---model}"
    /usr/bin/python3 "$ALS_HOME/tools/als-scaling-report" "${rargs[@]}" "$ALS_RESULT_DIR" || rc=1
fi
exit $rc
