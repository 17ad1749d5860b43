/* als_sysinfo.c - BLAS library and kernel detection. */
#include "als_sysinfo.h"

#include <stdio.h>
#include <string.h>
#include <omp.h>

#include "als_kernels.h"

/* OpenBLAS extensions (declared here: Debian's cblas.h variants differ). */
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);

void als_sysinfo_init(als_sysinfo_t *si)
{
    memset(si, 0, sizeof *si);
    /* Before it is set to 1: the pool OpenBLAS created when it was loaded
     * (setting 1 now makes its calls single-threaded but keeps the pool). */
    si->blas_load_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    snprintf(si->blas_config, sizeof si->blas_config, "%s", openblas_get_config());
    snprintf(si->blas_core, sizeof si->blas_core, "%s", openblas_get_corename());
    __builtin_cpu_init();
    const char *isa = __builtin_cpu_supports("avx512f") ? "avx512"
                      : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? "avx2"
                                                                                         : "generic";
    snprintf(si->cpu_isa, sizeof si->cpu_isa, "%s", isa);
    snprintf(si->kernel_isa, sizeof si->kernel_isa, "%s", als_kernel_isa());
    /* OpenBLAS names its fallback kernels after old cores. */
    static const char *old[] = {"prescott", "Prescott", "Core2", "Nehalem", "Sandybridge",
                                "generic", "Generic", "Katmai", "Penryn", "Dunnington", "Atom"};
    int oldcore = 0;
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
        if (strcmp(si->blas_core, old[i]) == 0)
            oldcore = 1;
    if (strcmp(isa, "avx512") == 0 && strstr(si->blas_core, "SKYLAKEX") == NULL &&
        strstr(si->blas_core, "Cooperlake") == NULL && strstr(si->blas_core, "Sapphire") == NULL)
        oldcore = 1;
    else if (strcmp(isa, "avx2") == 0 && !strstr(si->blas_core, "Haswell") &&
             !strstr(si->blas_core, "Zen") && !strstr(si->blas_core, "SkylakeX"))
        oldcore = oldcore || 0;
    si->blas_generic = oldcore && strcmp(isa, "generic") != 0;
    si->omp_threads = omp_get_max_threads();
}
