# jobs/site.sh - the site's environment for every job script and for
# jobs/run-local.sh. Sourced (bash) before anything runs. This and the
# #SBATCH block at the top of each *.sbatch script are the places to edit
# when moving to a cluster; see jobs/README.md.

# Modules (uncomment and adapt; `module` exists only where Lmod/Environment
# Modules is installed):
# module purge
# module load gcc/12 openmpi/4.1 openblas/0.3

# Debian's OpenBLAS 0.3.21 does not recognise some recent Xeons and falls back
# to a generic kernel; als-train's fast kernels do not depend on it, but the
# reference kernel and LAPACK do. Uncomment to force a kernel:
# export OPENBLAS_CORETYPE=SKYLAKEX

# Each run's ranks get OPENBLAS_NUM_THREADS=1 unless it is set here (als-train
# runs its BLAS calls on one thread; a larger value only starts idle threads).
# export OPENBLAS_NUM_THREADS=1

# Extra options for the launchers (appended to the defaults):
# ALS_SRUN_FLAGS="--cpu-bind=cores"
# ALS_MPIRUN_FLAGS="--mca btl ^openib"

# Where results go (default: results/ under the project):
# ALS_RESULTS=/scratch/$USER/als-results
:
