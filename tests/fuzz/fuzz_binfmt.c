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

static uint64_t rd64(const uint8_t *b, size_t o) { uint64_t v; memcpy(&v, b + o, 8); return v; }
static void wr64(uint8_t *b, size_t o, uint64_t v) { memcpy(b + o, &v, 8); }

/* Recompute the checksums the header and the section records point to,
 * wherever they fall inside the buffer. */
static void repair(uint8_t *b, size_t size)
{
    if (size < ALS_BIN_HEADER_BYTES)
        return;
    uint64_t bs = rd64(b, 24), toff = rd64(b, 168), tcnt = rd64(b, 176);
    int table_ok = toff <= size && tcnt <= (size - toff) / 8;
    if (table_ok && bs >= 8 && bs % 8 == 0) {
        for (int s = 0; s < ALS_SEC_COUNT; s++) {
            size_t rec = 200 + (size_t)s * 48;
            uint64_t off = rd64(b, rec + 8), cnt = rd64(b, rec + 16);
            uint64_t first = rd64(b, rec + 24), nb = rd64(b, rec + 32);
            if (off > size || first > tcnt || nb > tcnt - first || cnt > (uint64_t)1 << 56)
                continue;
            uint64_t bytes = cnt * 8;
            for (uint64_t k = 0; k < nb; k++) {
                uint64_t lo = off + k * bs;
                if (k * bs >= bytes || lo >= size)
                    break;
                uint64_t len = bytes - k * bs < bs ? bytes - k * bs : bs;
                if (len > size - lo)
                    len = size - lo;
                wr64(b, toff + 8 * (first + k), als_checksum(b + lo, len));
            }
        }
        wr64(b, 184, als_checksum(b + toff, 8 * tcnt));
    }
    wr64(b, ALS_BIN_HEADER_BYTES - 8, als_checksum(b, ALS_BIN_HEADER_BYTES - 8));
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
