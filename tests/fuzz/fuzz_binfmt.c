/* fuzz_binfmt.c - libFuzzer harness of the binary dataset reader
 * (als_binfmt_read_global: header, section table, checksum table, every
 * section, structural checks).
 *
 * Every part of the file is checksummed, so random mutations would almost
 * always stop at the first checksum. When the first input byte is odd the
 * harness therefore repairs the checksums of the mutated file (every block
 * checksum named by the section records, the checksum table's checksum, the
 * header checksum) before reading it, so that the checks behind the
 * checksums (counts, layout, row pointers, ids, indices) are fuzzed too. */
#include "als_binfmt.h"
#include "fuzz_common.h"

#include "fuzz_repair.h"

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
    als_global_t g;
    als_err_t err;
    als_err_clear(&err);
    int rc = als_binfmt_read_global(path, &g, &err);
    if (rc == ALS_OK) {
        /* What the reader promises to the rest of the library. */
        if (g.m < 0 || g.n < 0 || g.nnz < 0 || g.wnnz < 0 || g.uptr[0] != 0 ||
            g.uptr[g.m] != g.nnz || g.iptr[g.n] != g.nnz || g.wptr[g.m] != g.wnnz)
            abort();
        for (int64_t x = 0; x < g.nnz; x++)
            if (g.ucol[x] < 0 || g.ucol[x] >= g.n || g.irow[x] < 0 || g.irow[x] >= g.m)
                abort();
        for (int64_t x = 0; x < g.wnnz; x++)
            if (g.wcol[x] < 0 || g.wcol[x] >= g.m)
                abort();
        als_global_free(&g);
    } else if (err.code != rc || err.msg[0] == '\0') {
        abort();
    }
    return 0;
}
