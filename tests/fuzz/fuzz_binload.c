/* fuzz_binload.c - libFuzzer harness of the parallel binary dataset loader
 * (als_data_load_binary: MPI-IO collective open and reads, plan, own rows)
 * on MPI_COMM_SELF, i.e. one rank holding every row. Input as fuzz_binfmt:
 * an odd first byte repairs the checksums first. Run with leak detection
 * off (-detect_leaks=0, set by run-fuzzers.sh): MPI-IO keeps caches that
 * look like leaks per input. */
#include <mpi.h>
#include "als_binfmt.h"
#include "fuzz_common.h"

#include "fuzz_repair.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int provided;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    uint8_t *b = malloc(n + 1);
    memcpy(b, data + 1, n);
    if (data[0] & 1)
        repair(b, n);
    const char *path = fuzz_file("in.bin", b, n);
    free(b);
    als_data_t d;
    als_err_t err;
    als_err_clear(&err);
    int rc = als_data_load_binary(MPI_COMM_SELF, path, als_plan_kxk(10) /* the plan's model */, &d, &err);
    if (rc == ALS_OK) {
        if (d.u0 != 0 || d.u1 != d.m || d.i0 != 0 || d.i1 != d.n || d.lnnz_u != d.nnz ||
            d.lnnz_i != d.nnz || d.lwnnz != d.wnnz)
            abort();
        for (int64_t x = 0; x < d.nnz; x++)
            if (d.ucol[x] < 0 || d.ucol[x] >= d.n || d.irow[x] < 0 || d.irow[x] >= d.m)
                abort();
        als_data_free(&d);
    } else if (err.code != rc || err.msg[0] == '\0') {
        abort();
    }
    return 0;
}
