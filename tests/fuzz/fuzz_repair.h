/* fuzz_repair.h - recompute the checksums of a (mutated) binary dataset file
 * so that the checks behind them are reached (see fuzz_binfmt.c). */
#ifndef FUZZ_REPAIR_H
#define FUZZ_REPAIR_H

#include <stdint.h>
#include <string.h>
#include "als_binfmt.h"

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

#endif
