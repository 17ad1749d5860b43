/* als_sysinfo.h - what the run executes on: BLAS library, kernel, threads. */
#ifndef ALS_SYSINFO_H
#define ALS_SYSINFO_H

#include <stdio.h>

typedef struct {
    char blas_config[256];   /* openblas_get_config() */
    char blas_core[64];      /* openblas_get_corename() */
    int blas_generic;        /* 1 when the BLAS runs a generic kernel on a CPU with AVX2/AVX-512 */
    char cpu_isa[16];        /* best of avx512 / avx2 / generic the CPU has */
    char kernel_isa[16];     /* ISA of the fast kernels */
    int omp_threads;         /* OpenMP threads per rank */
    int blas_load_threads;   /* threads OpenBLAS started at load (its pool + 1; the
                                environment's OPENBLAS_NUM_THREADS or the cores) */
} als_sysinfo_t;

/* Force single-threaded BLAS (threads come from OpenMP over rows) and
 * collect the facts above. Local. */
void als_sysinfo_init(als_sysinfo_t *si);

#endif
