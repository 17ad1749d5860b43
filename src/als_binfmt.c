/* als_binfmt.c - the partitioned binary dataset file (format in als_binfmt.h).
 *
 * Writing is local and streaming: every section has its own buffer and write
 * cursor, block checksums are computed as full blocks leave the buffer.
 * Reading a range of a section touches whole blocks only: a partial block at
 * either end is read into a scratch block and verified there, the full blocks
 * in between are read straight into the destination and verified in place.
 * The same range reader serves three back ends: pread (local tools),
 * MPI_File_read_at_all (bytes that every rank reads: header, checksum table,
 * ids, row pointers) and MPI_File_read_at (each rank's own rows).
 */
#include "als_binfmt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "als_exchange.h"
#include "als_output.h"
#include "als_plan.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "als_binfmt.c assumes a little-endian host (the file format is little-endian)"
#endif

#define XMALLOC(p, n) ((p) = malloc(((n) > 0 ? (size_t)(n) : 1) * sizeof *(p)))
#define ALIGN_UP(x, a) ((((x) + (a) - 1) / (a)) * (a))
#define SEC_ALIGN 4096u
#define MAX_BLOCK ((uint64_t)1 << 30)
#define PIECE_BYTES ((uint64_t)1 << 20) /* read and verify this much at a time */

static const char *const sec_names[ALS_SEC_COUNT] = {
    "user_ids", "item_ids", "uptr", "ucol", "uval", "iptr", "irow", "ival",
    "wptr", "wcol", "wval"};

const char *als_bin_section_name(int sec)
{
    return (sec >= 0 && sec < ALS_SEC_COUNT) ? sec_names[sec] : "?";
}

/* ---- checksum ------------------------------------------------------------ */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

uint64_t als_checksum(const void *data, size_t bytes)
{
    const unsigned char *p = data;
    uint64_t h[4] = {FNV_OFFSET, FNV_OFFSET ^ 1, FNV_OFFSET ^ 2, FNV_OFFSET ^ 3};
    size_t nw = bytes / 8, t = 0;
    for (; t + 4 <= nw; t += 4, p += 32) {
        h[0] = (h[0] ^ load64(p)) * FNV_PRIME;
        h[1] = (h[1] ^ load64(p + 8)) * FNV_PRIME;
        h[2] = (h[2] ^ load64(p + 16)) * FNV_PRIME;
        h[3] = (h[3] ^ load64(p + 24)) * FNV_PRIME;
    }
    for (; t < nw; t++, p += 8)
        h[t & 3] = (h[t & 3] ^ load64(p)) * FNV_PRIME;
    if (bytes & 7) {
        uint64_t w = 0;
        memcpy(&w, p, bytes & 7);
        h[t & 3] = (h[t & 3] ^ w) * FNV_PRIME;
    }
    uint64_t x = FNV_OFFSET;
    for (int l = 0; l < 4; l++)
        x = (x ^ mix64(h[l])) * FNV_PRIME;
    x = (x ^ (uint64_t)bytes) * FNV_PRIME;
    return mix64(x);
}

/* ---- header -------------------------------------------------------------- */

static void put32(unsigned char *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static void put64(unsigned char *b, size_t off, uint64_t v) { memcpy(b + off, &v, 8); }
static uint32_t get32(const unsigned char *b, size_t off) { uint32_t v; memcpy(&v, b + off, 4); return v; }
static uint64_t get64(const unsigned char *b, size_t off) { uint64_t v; memcpy(&v, b + off, 8); return v; }
static void putd(unsigned char *b, size_t off, double v) { memcpy(b + off, &v, 8); }
static double getd(const unsigned char *b, size_t off) { double v; memcpy(&v, b + off, 8); return v; }

#define H_SECTIONS 200
#define H_SECREC 48
#define H_CHECKSUM (ALS_BIN_HEADER_BYTES - 8)
#define BOM 0x01020304u

/* Element counts of the sections from the dataset counts. */
static void section_counts(int64_t m, int64_t n, int64_t nnz, int64_t wnnz, uint64_t *cnt)
{
    uint64_t c[ALS_SEC_COUNT] = {(uint64_t)m, (uint64_t)n, (uint64_t)m + 1, (uint64_t)nnz,
                                 (uint64_t)nnz, (uint64_t)n + 1, (uint64_t)nnz, (uint64_t)nnz,
                                 (uint64_t)m + 1, (uint64_t)wnnz, (uint64_t)wnnz};
    memcpy(cnt, c, sizeof c);
}

/* Fill the section table, checksum-table place and file size from h's
 * counts and block size. */
static void layout(als_bin_header_t *h)
{
    uint64_t cnt[ALS_SEC_COUNT];
    section_counts(h->m, h->n, h->nnz, h->wnnz, cnt);
    uint64_t off = ALS_BIN_HEADER_BYTES, blk = 0, B = h->block_size;
    for (int s = 0; s < ALS_SEC_COUNT; s++) {
        off = ALIGN_UP(off, SEC_ALIGN);
        h->sec[s].offset = off;
        h->sec[s].count = cnt[s];
        h->sec[s].first_block = blk;
        h->sec[s].nblocks = (cnt[s] * 8 + B - 1) / B;
        blk += h->sec[s].nblocks;
        off += cnt[s] * 8;
    }
    h->csum_offset = ALIGN_UP(off, SEC_ALIGN);
    h->csum_count = blk;
    h->file_size = h->csum_offset + 8 * blk;
}

static void stats_put(unsigned char *b, size_t off, const als_data_stats_t *s)
{
    int64_t v[8] = {s->ratings_read, s->duplicate_rows, s->duplicate_pairs, s->links_read,
                    s->self_loops, s->duplicate_links, s->social_only_users, s->header_lines};
    for (int i = 0; i < 8; i++)
        put64(b, off + 8 * (size_t)i, (uint64_t)v[i]);
}

static void stats_get(const unsigned char *b, size_t off, als_data_stats_t *s)
{
    int64_t v[8];
    for (int i = 0; i < 8; i++)
        v[i] = (int64_t)get64(b, off + 8 * (size_t)i);
    *s = (als_data_stats_t){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
}

static void header_encode(const als_bin_header_t *h, unsigned char *b)
{
    memset(b, 0, ALS_BIN_HEADER_BYTES);
    memcpy(b, ALS_BIN_MAGIC, 8);
    put32(b, 8, ALS_BIN_VERSION);
    put32(b, 12, ALS_BIN_HEADER_BYTES);
    put32(b, 16, BOM);
    put32(b, 20, ALS_BIN_VALUE_F64);
    put64(b, 24, h->block_size);
    put64(b, 32, (uint64_t)h->m);
    put64(b, 40, (uint64_t)h->n);
    put64(b, 48, (uint64_t)h->nnz);
    put64(b, 56, (uint64_t)h->nlinks);
    put64(b, 64, (uint64_t)h->wnnz);
    putd(b, 72, h->rmin);
    putd(b, 80, h->rmax);
    putd(b, 88, h->rmean);
    stats_put(b, 96, &h->stats);
    put32(b, 160, ALS_SEC_COUNT);
    put64(b, 168, h->csum_offset);
    put64(b, 176, h->csum_count);
    put64(b, 184, h->csum_checksum);
    put64(b, 192, h->file_size);
    for (int s = 0; s < ALS_SEC_COUNT; s++) {
        size_t o = H_SECTIONS + (size_t)s * H_SECREC;
        put32(b, o, (uint32_t)s);
        put32(b, o + 4, 8);
        put64(b, o + 8, h->sec[s].offset);
        put64(b, o + 16, h->sec[s].count);
        put64(b, o + 24, h->sec[s].first_block);
        put64(b, o + 32, h->sec[s].nblocks);
    }
    put64(b, H_CHECKSUM, als_checksum(b, H_CHECKSUM));
}

/* Decode and check a header. have: bytes available in b (the file may be
 * shorter than a header); fsize: the actual file size. */
/* The header's fields make sense together (the checksums prove only that the
 * bytes are as written): rating range and mean, counts, cleaning statistics.
 * Called once the counts are known to be in [0, 2^56]. */
static int header_sense(const char *path, const als_bin_header_t *h, als_err_t *err)
{
#define HBAD(...) als_err_set(err, ALS_ERR_FORMAT, __VA_ARGS__)
    if (h->nnz > 0 && (h->m == 0 || h->n == 0))
        return HBAD("%s: section 'header': %" PRId64 " ratings but %" PRId64 " users and %" PRId64
                    " items", path, h->nnz, h->m, h->n);
    if (h->nnz > 0) {
        if (!isfinite(h->rmin) || !isfinite(h->rmax) || !isfinite(h->rmean))
            return HBAD("%s: section 'header': rating range [%g, %g] or mean %g is not finite",
                        path, h->rmin, h->rmax, h->rmean);
        if (h->rmin > h->rmax)
            return HBAD("%s: section 'header': rating range [%g, %g] is empty (min > max)", path,
                        h->rmin, h->rmax);
        double tol = 1e-9 * (fabs(h->rmin) + fabs(h->rmax));
        if (h->rmean < h->rmin - tol || h->rmean > h->rmax + tol)
            return HBAD("%s: section 'header': rating mean %.17g outside the range [%g, %g]",
                        path, h->rmean, h->rmin, h->rmax);
    }
    if (h->nlinks > h->wnnz || (h->wnnz + 1) / 2 > h->nlinks || (h->wnnz & 1)) /* wnnz <= 2^56 */
        return HBAD("%s: section 'header': %" PRId64 " W entries for %" PRId64 " links (W = S + "
                    "S^T has between links and 2 x links entries, an even number)", path,
                    h->wnnz, h->nlinks);
    if (h->wnnz > 0 && h->m < 2)
        return HBAD("%s: section 'header': social entries with %" PRId64 " users", path, h->m);
    const als_data_stats_t *st = &h->stats;
    const int64_t v[] = {st->ratings_read, st->duplicate_rows, st->duplicate_pairs,
                         st->links_read, st->self_loops, st->duplicate_links,
                         st->social_only_users, st->header_lines};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (v[i] < 0)
            return HBAD("%s: section 'header': negative cleaning statistic (field %zu: %" PRId64
                        ")", path, i, v[i]);
    if (st->duplicate_pairs > st->duplicate_rows || st->duplicate_rows > st->ratings_read ||
        st->social_only_users > h->m || st->header_lines > 2 ||
        (st->ratings_read > 0 && h->nnz > st->ratings_read))
        return HBAD("%s: section 'header': inconsistent cleaning statistics (%" PRId64
                    " ratings read, %" PRId64 " kept, %" PRId64 " duplicate rows of %" PRId64
                    " pairs, %" PRId64 " social-only users of %" PRId64 ", %" PRId64
                    " header lines)", path, st->ratings_read, h->nnz, st->duplicate_rows,
                    st->duplicate_pairs, st->social_only_users, h->m, st->header_lines);
    return ALS_OK;
#undef HBAD
}

static int header_decode(const char *path, const unsigned char *b, uint64_t have, uint64_t fsize,
                         als_bin_header_t *h, als_err_t *err)
{
    memset(h, 0, sizeof *h);
    size_t cmp = have < 8 ? (size_t)have : 8;
    if (memcmp(b, ALS_BIN_MAGIC, cmp) != 0)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: not a SoReg-ALS binary dataset (wrong magic; "
                           "expected \"%s\", as written by als-partition or als-gen)",
                           path, ALS_BIN_MAGIC);
    if (have < ALS_BIN_HEADER_BYTES)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: truncated: %" PRIu64 " bytes, shorter than "
                           "the %d-byte header (section 'header')", path, fsize,
                           ALS_BIN_HEADER_BYTES);
    uint32_t version = get32(b, 8);
    if (version != ALS_BIN_VERSION)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: format version %" PRIu32 ", this build "
                           "reads version %d (rebuild the file with this als-partition)",
                           path, version, ALS_BIN_VERSION);
    if (get32(b, 16) != BOM)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: byte-order mark 0x%08" PRIx32 " (the file "
                           "was written on a machine of the other byte order, or is corrupted)",
                           path, get32(b, 16));
    uint64_t stored = get64(b, H_CHECKSUM), computed = als_checksum(b, H_CHECKSUM);
    if (stored != computed)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: section 'header': checksum mismatch (stored "
                           "%016" PRIx64 ", computed %016" PRIx64 "): the file is corrupted",
                           path, stored, computed);
    if (get32(b, 12) != ALS_BIN_HEADER_BYTES)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: section 'header': header size %" PRIu32
                           ", expected %d", path, get32(b, 12), ALS_BIN_HEADER_BYTES);
    h->version = version;
    h->value_type = get32(b, 20);
    if (h->value_type != ALS_BIN_VALUE_F64)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: section 'header': value type %" PRIu32
                           " (only 1 = float64 is supported)", path, h->value_type);
    h->block_size = get64(b, 24);
    h->m = (int64_t)get64(b, 32);
    h->n = (int64_t)get64(b, 40);
    h->nnz = (int64_t)get64(b, 48);
    h->nlinks = (int64_t)get64(b, 56);
    h->wnnz = (int64_t)get64(b, 64);
    h->rmin = getd(b, 72);
    h->rmax = getd(b, 80);
    h->rmean = getd(b, 88);
    stats_get(b, 96, &h->stats);
    if (h->block_size < 8 || h->block_size % 8 || h->block_size > MAX_BLOCK)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: section 'header': block size %" PRIu64
                           " (must be a multiple of 8 up to 1 GiB)", path, h->block_size);
    const int64_t lim = (int64_t)1 << 56; /* keeps every byte count below 2^63 */
    if (h->m < 0 || h->n < 0 || h->nnz < 0 || h->wnnz < 0 || h->nlinks < 0 || h->m > lim ||
        h->n > lim || h->nnz > lim || h->wnnz > lim || get32(b, 160) != ALS_SEC_COUNT)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: section 'header': impossible counts (m %"
                           PRId64 ", n %" PRId64 ", nnz %" PRId64 ", W entries %" PRId64 ")",
                           path, h->m, h->n, h->nnz, h->wnnz);
    if (header_sense(path, h, err) != ALS_OK)
        return err->code;
    layout(h);
    h->csum_checksum = get64(b, 184);
    int consistent = get64(b, 168) == h->csum_offset && get64(b, 176) == h->csum_count &&
                     get64(b, 192) == h->file_size;
    for (int s = 0; s < ALS_SEC_COUNT; s++) {
        size_t o = H_SECTIONS + (size_t)s * H_SECREC;
        consistent = consistent && get32(b, o) == (uint32_t)s && get32(b, o + 4) == 8 &&
                     get64(b, o + 8) == h->sec[s].offset && get64(b, o + 16) == h->sec[s].count &&
                     get64(b, o + 24) == h->sec[s].first_block &&
                     get64(b, o + 32) == h->sec[s].nblocks;
    }
    if (!consistent)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: section 'header': the section table does "
                           "not match the counts", path);
    if (fsize < h->file_size) {
        const char *what = "checksum table";
        uint64_t lo = h->csum_offset, hi = h->file_size;
        for (int s = ALS_SEC_COUNT - 1; s >= 0; s--)
            if (h->sec[s].offset + 8 * h->sec[s].count > fsize) {
                what = sec_names[s];
                lo = h->sec[s].offset;
                hi = lo + 8 * h->sec[s].count;
            }
        return als_err_set(err, ALS_ERR_FORMAT, "%s: truncated: %" PRIu64 " bytes, the header "
                           "records %" PRIu64 "; section '%s' (bytes %" PRIu64 "..%" PRIu64
                           ") is incomplete", path, fsize, h->file_size, what, lo, hi);
    }
    if (fsize > h->file_size)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: %" PRIu64 " bytes, but the header records %"
                           PRIu64 " (trailing bytes: not one complete dataset file)", path,
                           fsize, h->file_size);
    return ALS_OK;
}

/* ---- the range reader ---------------------------------------------------- */

enum { RD_PREAD = 0, RD_MPI_ALL, RD_MPI_ONE };

typedef struct {
    int kind;
    int fd;
    MPI_File fh;
    const char *path;
    const als_bin_header_t *h;
    const uint64_t *csum;
    unsigned char *scratch; /* one block */
} reader_t;

/* Bytes per read call: MPI counts are int. */
static uint64_t piece_bytes(void)
{
    uint64_t c = (uint64_t)als_exchange_chunk * 8;
    return c < MAX_BLOCK ? c : MAX_BLOCK;
}

/* Read bytes at off into buf. In RD_MPI_ALL mode the sequence of calls
 * depends only on bytes (the same on every rank) and never stops early, so
 * every rank makes the same collective calls even when one of them fails. */
static int read_at(reader_t *r, uint64_t off, void *buf, uint64_t bytes, const char *what,
                   als_err_t *err)
{
    unsigned char *p = buf;
    uint64_t chunk = piece_bytes();
    int failed = 0;
    for (uint64_t done = 0; done < bytes;) {
        uint64_t want = bytes - done < chunk ? bytes - done : chunk;
        uint64_t got = 0;
        if (r->kind == RD_PREAD) {
            while (got < want) {
                ssize_t k = pread(r->fd, p + done + got, want - got, (off_t)(off + done + got));
                if (k < 0 && errno == EINTR)
                    continue;
                if (k < 0) {
                    return als_err_set(err, ALS_ERR_IO, "%s: section '%s': read error: %s",
                                       r->path, what, strerror(errno));
                }
                if (k == 0)
                    break;
                got += (uint64_t)k;
            }
        } else {
            MPI_Status st;
            int rc = r->kind == RD_MPI_ALL
                         ? MPI_File_read_at_all(r->fh, (MPI_Offset)(off + done), p + done,
                                                (int)want, MPI_BYTE, &st)
                         : MPI_File_read_at(r->fh, (MPI_Offset)(off + done), p + done, (int)want,
                                            MPI_BYTE, &st);
            if (rc != MPI_SUCCESS) {
                char msg[MPI_MAX_ERROR_STRING];
                int len = 0;
                MPI_Error_string(rc, msg, &len);
                als_err_set(err, ALS_ERR_IO, "%s: section '%s': MPI-IO read error: %s", r->path,
                            what, msg);
                failed = 1;
            } else {
                int n = 0;
                MPI_Get_count(&st, MPI_BYTE, &n);
                got = n > 0 ? (uint64_t)n : 0;
            }
        }
        if (!failed && got < want) {
            als_err_set(err, ALS_ERR_FORMAT, "%s: truncated while reading section '%s' (%" PRIu64
                        " of %" PRIu64 " bytes at offset %" PRIu64 ")", r->path, what,
                        done + got, bytes, off);
            failed = 1;
        }
        if (failed && r->kind != RD_MPI_ALL)
            return err->code;
        done += want;
    }
    return failed ? err->code : ALS_OK;
}

static uint64_t block_end(const als_bin_section_info_t *s, uint64_t B, uint64_t k)
{
    uint64_t e = (k + 1) * B, S = s->count * 8;
    return e < S ? e : S;
}

static int verify_block(reader_t *r, int sec, uint64_t k, const void *data, uint64_t bytes,
                        als_err_t *err)
{
    const als_bin_section_info_t *s = &r->h->sec[sec];
    uint64_t stored = r->csum[s->first_block + k], computed = als_checksum(data, bytes);
    if (stored == computed)
        return ALS_OK;
    uint64_t lo = s->offset + k * r->h->block_size;
    return als_err_set(err, ALS_ERR_FORMAT, "%s: section '%s', block %" PRIu64 " (bytes %" PRIu64
                       "..%" PRIu64 "): checksum mismatch (stored %016" PRIx64 ", computed %016"
                       PRIx64 "): the file is corrupted", r->path, sec_names[sec], k, lo,
                       lo + bytes, stored, computed);
}

/* Entries of an index section must lie in [0, limit): a broken writer must
 * not make the solver index out of bounds. Checked on each piece while it is
 * in cache. */
static int check_piece(const char *path, int sec, const void *p, uint64_t bytes, int64_t limit,
                       als_err_t *err)
{
    if (limit < 0)
        return ALS_OK;
    const int64_t *idx = p;
    uint64_t n = bytes / 8, mx = 0;
    for (uint64_t x = 0; x < n; x++)
        mx = (uint64_t)idx[x] > mx ? (uint64_t)idx[x] : mx;
    if (mx < (uint64_t)limit)
        return ALS_OK;
    for (uint64_t x = 0; x < n; x++)
        if ((uint64_t)idx[x] >= (uint64_t)limit)
            return als_err_set(err, ALS_ERR_FORMAT, "%s: section '%s': index %" PRId64 " out of "
                               "range [0, %" PRId64 ")", path, sec_names[sec], idx[x], limit);
    return ALS_OK;
}

/* Read elements [first, first+count) of section sec into dst, verifying every
 * block touched (and, limit >= 0, that every entry is an index below limit).
 * Full blocks are read straight into dst 1 MiB at a time and verified
 * while in cache. Keeps making its read calls after a failure (see read_at). */
static int read_range(reader_t *r, int sec, uint64_t first, uint64_t count, void *dst,
                      int64_t limit, als_err_t *err)
{
    const als_bin_section_info_t *s = &r->h->sec[sec];
    if (first + count > s->count || first + count < first)
        return als_err_set(err, ALS_ERR_INTERNAL, "%s: section '%s': elements %" PRIu64 "..%"
                           PRIu64 " requested of %" PRIu64, r->path, sec_names[sec], first,
                           first + count, s->count);
    if (count == 0)
        return ALS_OK;
    const uint64_t B = r->h->block_size, a = first * 8, b = (first + count) * 8;
    const uint64_t ka = a / B, kb = (b - 1) / B;
    const int head = a > ka * B || block_end(s, B, ka) > b;
    const int tail = kb != ka && block_end(s, B, kb) > b;
    const uint64_t m0 = ka + (uint64_t)head, m1 = kb + 1 - (uint64_t)tail;
    unsigned char *out = dst;
    int rc = ALS_OK;
    if (head) {
        uint64_t len = block_end(s, B, ka) - ka * B;
        if (read_at(r, s->offset + ka * B, r->scratch, len, sec_names[sec], err) == ALS_OK &&
            verify_block(r, sec, ka, r->scratch, len, err) == ALS_OK) {
            uint64_t e = block_end(s, B, ka) < b ? block_end(s, B, ka) : b;
            memcpy(out, r->scratch + (a - ka * B), e - a);
            check_piece(r->path, sec, out, e - a, limit, err);
        } else {
            rc = err->code;
        }
    }
    const uint64_t per = B >= PIECE_BYTES ? 1 : PIECE_BYTES / B; /* blocks per piece */
    for (uint64_t k0 = m0; k0 < m1; k0 += per) {
        uint64_t k1 = k0 + per < m1 ? k0 + per : m1;
        uint64_t lo = k0 * B, hi = block_end(s, B, k1 - 1);
        if (read_at(r, s->offset + lo, out + (lo - a), hi - lo, sec_names[sec], err) == ALS_OK) {
            for (uint64_t k = k0; k < k1 && rc == ALS_OK; k++)
                rc = verify_block(r, sec, k, out + (k * B - a), block_end(s, B, k) - k * B, err);
            if (rc == ALS_OK)
                rc = check_piece(r->path, sec, out + (lo - a), hi - lo, limit, err);
        } else {
            rc = err->code;
        }
    }
    if (tail) {
        uint64_t len = block_end(s, B, kb) - kb * B;
        if (read_at(r, s->offset + kb * B, r->scratch, len, sec_names[sec], err) == ALS_OK &&
            verify_block(r, sec, kb, r->scratch, len, err) == ALS_OK) {
            memcpy(out + (kb * B - a), r->scratch, b - kb * B);
            check_piece(r->path, sec, out + (kb * B - a), b - kb * B, limit, err);
        } else
            rc = err->code;
    }
    return rc != ALS_OK ? rc : err->code;
}

/* Read the checksum table (all of it) and check it against the header. */
static int read_table(reader_t *r, uint64_t **tab, als_err_t *err)
{
    const als_bin_header_t *h = r->h;
    XMALLOC(*tab, h->csum_count);
    if (!*tab)
        return als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory for the checksum table",
                           r->path);
    if (read_at(r, h->csum_offset, *tab, 8 * h->csum_count, "checksum table", err) != ALS_OK)
        return err->code;
    uint64_t c = als_checksum(*tab, 8 * h->csum_count);
    if (c != h->csum_checksum)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: section 'checksum table': checksum mismatch "
                           "(stored %016" PRIx64 ", computed %016" PRIx64 "): the file is "
                           "corrupted", r->path, h->csum_checksum, c);
    return ALS_OK;
}

/* ---- structural checks (after the checksums: catch a broken writer) ------ */

static int check_ids(const char *path, int sec, const uint64_t *ids, int64_t n, als_err_t *err)
{
    for (int64_t t = 1; t < n; t++)
        if (ids[t] <= ids[t - 1])
            return als_err_set(err, ALS_ERR_FORMAT, "%s: section '%s': ids not strictly "
                               "ascending at entry %" PRId64, path, sec_names[sec], t);
    return ALS_OK;
}

/* A slice ptr[0..b-a] of a row-pointer section (rows [a, b] of rows+1):
 * non-decreasing, within [0, total], 0 at row 0 and total at the end. */
static int check_ptr_slice(const char *path, int sec, const int64_t *ptr, int64_t a, int64_t b,
                           int64_t rows, int64_t total, als_err_t *err)
{
    if ((a == 0 && ptr[0] != 0) || (b == rows && ptr[b - a] != total))
        return als_err_set(err, ALS_ERR_FORMAT, "%s: section '%s': row pointers run from %" PRId64
                           " to %" PRId64 ", expected 0 to %" PRId64, path, sec_names[sec],
                           a == 0 ? ptr[0] : 0, b == rows ? ptr[b - a] : total, total);
    for (int64_t t = a; t < b; t++)
        if (ptr[t - a + 1] < ptr[t - a] || ptr[t - a] < 0 || ptr[t - a + 1] > total)
            return als_err_set(err, ALS_ERR_FORMAT, "%s: section '%s': row pointers decrease "
                               "or leave [0, %" PRId64 "] at row %" PRId64, path, sec_names[sec],
                               total, t);
    return ALS_OK;
}

/* A whole row-pointer section ptr[0..rows]: the slice of every row. */
static int check_ptr(const char *path, int sec, const int64_t *ptr, int64_t rows, int64_t total,
                     als_err_t *err)
{
    return check_ptr_slice(path, sec, ptr, 0, rows, rows, total, err);
}

/* Collective: the id slices of the ranks, in rank order, ascend strictly
 * across the block boundaries too. */
static int check_ids_across(MPI_Comm comm, const char *path, int sec, const uint64_t *ids,
                            int64_t n, als_err_t *err)
{
    int p;
    MPI_Comm_size(comm, &p);
    uint64_t mine[3] = {n > 0, n > 0 ? ids[0] : 0, n > 0 ? ids[n - 1] : 0};
    uint64_t *all = malloc((size_t)p * sizeof mine);
    if (!all)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory checking ids");
    MPI_Allgather(mine, 3, MPI_UINT64_T, all, 3, MPI_UINT64_T, comm);
    int have = 0;
    uint64_t last = 0;
    for (int q = 0; q < p && err->code == ALS_OK; q++) {
        if (!all[3 * q])
            continue;
        if (have && all[3 * q + 1] <= last)
            als_err_set(err, ALS_ERR_FORMAT, "%s: section '%s': ids not strictly ascending "
                        "(id %" PRIu64 " after %" PRIu64 ")", path, sec_names[sec],
                        all[3 * q + 1], last);
        have = 1;
        last = all[3 * q + 2];
    }
    free(all);
    return err->code;
}

static int check_idx(const char *path, int sec, const int64_t *idx, int64_t n, int64_t limit,
                     als_err_t *err)
{
    int64_t bad = -1;
    for (int64_t x = 0; x < n; x++)
        if ((uint64_t)idx[x] >= (uint64_t)limit)
            bad = x;
    if (bad >= 0)
        return als_err_set(err, ALS_ERR_FORMAT, "%s: section '%s': index %" PRId64 " out of "
                           "range [0, %" PRId64 ")", path, sec_names[sec], idx[bad], limit);
    return ALS_OK;
}

/* ---- writer -------------------------------------------------------------- */

struct als_bin_writer {
    char path[4096], tmp[4200];
    int fd;
    als_bin_header_t h;
    uint64_t *csum;
    uint64_t bufcap;
    unsigned char *buf[ALS_SEC_COUNT];
    uint64_t fill[ALS_SEC_COUNT];    /* bytes in the buffer */
    uint64_t written[ALS_SEC_COUNT]; /* bytes of the section already in the file */
};

static int write_all(als_bin_writer_t *w, uint64_t off, const void *data, uint64_t bytes,
                     als_err_t *err)
{
    const unsigned char *p = data;
    while (bytes > 0) {
        size_t want = bytes > MAX_BLOCK ? (size_t)MAX_BLOCK : (size_t)bytes;
        ssize_t k = pwrite(w->fd, p, want, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return als_err_set(err, ALS_ERR_IO, "%s: write failed: %s", w->path,
                               k < 0 ? strerror(errno) : "no space written");
        p += k;
        off += (uint64_t)k;
        bytes -= (uint64_t)k;
    }
    return ALS_OK;
}

/* Checksum and write bytes of section sec starting at section byte written[sec]
 * (a block boundary); data holds whole blocks, except at the section's end. */
static int emit(als_bin_writer_t *w, int sec, const unsigned char *data, uint64_t bytes,
                als_err_t *err)
{
    const als_bin_section_info_t *s = &w->h.sec[sec];
    const uint64_t B = w->h.block_size, S = s->count * 8;
    uint64_t start = w->written[sec];
    for (uint64_t o = 0; o < bytes; o += B) {
        uint64_t len = bytes - o < B ? bytes - o : B;
        w->csum[s->first_block + (start + o) / B] = als_checksum(data + o, len);
    }
    if (start + bytes > S)
        return als_err_set(err, ALS_ERR_INTERNAL, "%s: section '%s' overflows", w->path,
                           sec_names[sec]);
    int rc = write_all(w, s->offset + start, data, bytes, err);
    w->written[sec] += bytes;
    return rc;
}

void als_bin_writer_abort(als_bin_writer_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        unlink(w->tmp);
    }
    for (int s = 0; s < ALS_SEC_COUNT; s++)
        free(w->buf[s]);
    free(w->csum);
    free(w);
}

int als_bin_writer_open(als_bin_writer_t **wp, const char *path, int64_t m, int64_t n,
                        int64_t nnz, int64_t wnnz, uint64_t block_size, als_err_t *err)
{
    *wp = NULL;
    if (block_size == 0)
        block_size = ALS_BIN_BLOCK_DEFAULT;
    if (block_size % 8 || block_size > MAX_BLOCK)
        return als_err_set(err, ALS_ERR_ARG, "block size %" PRIu64 ": must be a multiple of 8 "
                           "up to 1 GiB", block_size);
    if (m < 0 || n < 0 || nnz < 0 || wnnz < 0)
        return als_err_set(err, ALS_ERR_INTERNAL, "negative counts for %s", path);
    if (strlen(path) >= 4096)
        return als_err_set(err, ALS_ERR_ARG, "%s: path too long", path);
    als_bin_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return als_err_set(err, ALS_ERR_NOMEM, "out of memory");
    w->fd = -1;
    strcpy(w->path, path);
    w->h.block_size = block_size;
    w->h.m = m;
    w->h.n = n;
    w->h.nnz = nnz;
    w->h.wnnz = wnnz;
    layout(&w->h);
    uint64_t per = (((uint64_t)1 << 20) + block_size - 1) / block_size;
    w->bufcap = per * block_size;
    XMALLOC(w->csum, w->h.csum_count);
    int ok = w->csum != NULL;
    for (int s = 0; s < ALS_SEC_COUNT && ok; s++)
        ok = (w->buf[s] = malloc(w->bufcap)) != NULL;
    if (!ok) {
        als_bin_writer_abort(w);
        return als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory for the write buffers", path);
    }
    w->fd = als_tmpfile_open(path, w->tmp, sizeof w->tmp); /* exclusive, never a symlink */
    if (w->fd < 0) {
        int e = errno;
        als_err_set(err, ALS_ERR_IO, "%s: cannot create (temporary %s): %s", path, w->tmp,
                    strerror(e));
        als_bin_writer_abort(w); /* frees w: the message above reads w->tmp first */
        return err ? err->code : ALS_ERR_IO;
    }
    *wp = w;
    return ALS_OK;
}

int als_bin_writer_put(als_bin_writer_t *w, int sec, const void *data, int64_t count,
                       als_err_t *err)
{
    if (sec < 0 || sec >= ALS_SEC_COUNT || count < 0)
        return als_err_set(err, ALS_ERR_INTERNAL, "als_bin_writer_put: bad arguments");
    const als_bin_section_info_t *s = &w->h.sec[sec];
    uint64_t bytes = (uint64_t)count * 8;
    if (w->written[sec] + w->fill[sec] + bytes > s->count * 8)
        return als_err_set(err, ALS_ERR_INTERNAL, "%s: section '%s' given more than its %" PRIu64
                           " elements", w->path, sec_names[sec], s->count);
    const unsigned char *p = data;
    const uint64_t B = w->h.block_size;
    while (bytes > 0) {
        if (w->fill[sec] == 0 && bytes >= w->bufcap) {
            /* Whole blocks straight from the caller's memory. */
            uint64_t direct = (bytes / B) * B;
            if (direct > MAX_BLOCK)
                direct = (MAX_BLOCK / B) * B;
            if (emit(w, sec, p, direct, err) != ALS_OK)
                return err->code;
            p += direct;
            bytes -= direct;
            continue;
        }
        uint64_t take = w->bufcap - w->fill[sec];
        take = take < bytes ? take : bytes;
        memcpy(w->buf[sec] + w->fill[sec], p, take);
        w->fill[sec] += take;
        p += take;
        bytes -= take;
        if (w->fill[sec] == w->bufcap) {
            if (emit(w, sec, w->buf[sec], w->fill[sec], err) != ALS_OK)
                return err->code;
            w->fill[sec] = 0;
        }
    }
    return ALS_OK;
}

int als_bin_writer_finish(als_bin_writer_t *w, int64_t nlinks, double rmin, double rmax,
                          double rmean, const als_data_stats_t *stats, als_err_t *err)
{
    int rc = ALS_OK;
    for (int s = 0; s < ALS_SEC_COUNT && rc == ALS_OK; s++) {
        if (w->fill[s])
            rc = emit(w, s, w->buf[s], w->fill[s], err);
        w->fill[s] = 0;
        if (rc == ALS_OK && w->written[s] != w->h.sec[s].count * 8)
            rc = als_err_set(err, ALS_ERR_INTERNAL, "%s: section '%s' has %" PRIu64 " of its %"
                             PRIu64 " elements", w->path, sec_names[s], w->written[s] / 8,
                             w->h.sec[s].count);
    }
    if (rc == ALS_OK) {
        w->h.nlinks = nlinks;
        w->h.rmin = rmin;
        w->h.rmax = rmax;
        w->h.rmean = rmean;
        w->h.stats = *stats;
        w->h.csum_checksum = als_checksum(w->csum, 8 * w->h.csum_count);
        unsigned char hb[ALS_BIN_HEADER_BYTES];
        header_encode(&w->h, hb);
        rc = write_all(w, w->h.csum_offset, w->csum, 8 * w->h.csum_count, err);
        if (rc == ALS_OK)
            rc = write_all(w, 0, hb, sizeof hb, err);
        if (rc == ALS_OK && ftruncate(w->fd, (off_t)w->h.file_size) != 0)
            rc = als_err_set(err, ALS_ERR_IO, "%s: cannot set the size: %s", w->path,
                             strerror(errno));
        if (rc == ALS_OK && fsync(w->fd) != 0)
            rc = als_err_set(err, ALS_ERR_IO, "%s: fsync failed: %s", w->path, strerror(errno));
    }
    if (rc == ALS_OK) {
        int fd = w->fd;
        w->fd = -1;
        if (close(fd) != 0)
            rc = als_err_set(err, ALS_ERR_IO, "%s: close failed: %s", w->path, strerror(errno));
        else if (rename(w->tmp, w->path) != 0)
            rc = als_err_set(err, ALS_ERR_IO, "%s: cannot rename %s into place: %s", w->path,
                             w->tmp, strerror(errno));
        if (rc != ALS_OK) {
            unlink(w->tmp);
        } else {
            /* Make the rename durable. */
            char dir[4096];
            snprintf(dir, sizeof dir, "%s", w->path);
            char *slash = strrchr(dir, '/');
            if (slash)
                *(slash == dir ? slash + 1 : slash) = '\0';
            else
                strcpy(dir, ".");
            int dfd = open(dir, O_RDONLY);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
    }
    als_bin_writer_abort(w); /* frees; removes the temporary if still open */
    return rc;
}

int als_binfmt_write(const char *path, const als_global_t *g, uint64_t block_size,
                     als_err_t *err)
{
    als_bin_writer_t *w;
    if (als_bin_writer_open(&w, path, g->m, g->n, g->nnz, g->wnnz, block_size, err) != ALS_OK)
        return err->code;
    const void *src[ALS_SEC_COUNT] = {g->user_ids, g->item_ids, g->uptr, g->ucol, g->uval,
                                      g->iptr, g->irow, g->ival, g->wptr, g->wcol, g->wval};
    for (int s = 0; s < ALS_SEC_COUNT; s++)
        if (als_bin_writer_put(w, s, src[s], (int64_t)w->h.sec[s].count, err) != ALS_OK) {
            als_bin_writer_abort(w);
            return err->code;
        }
    return als_bin_writer_finish(w, g->nlinks, g->rmin, g->rmax, g->rmean, &g->stats, err);
}

/* ---- local reader -------------------------------------------------------- */

static void local_reader(als_bin_file_t *f, reader_t *r, unsigned char *scratch)
{
    *r = (reader_t){.kind = RD_PREAD, .fd = f->fd, .path = f->path, .h = &f->h,
                    .csum = f->csum, .scratch = scratch};
}

int als_bin_open(const char *path, als_bin_file_t *f, als_err_t *err)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    snprintf(f->path, sizeof f->path, "%s", path);
    f->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) /* a FIFO must not block */;
    if (f->fd < 0)
        return als_err_set(err, ALS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        als_bin_close(f);
        return als_err_set(err, ALS_ERR_IO, "%s: not a regular file", path);
    }
    unsigned char hb[ALS_BIN_HEADER_BYTES];
    memset(hb, 0, sizeof hb);
    uint64_t fsize = (uint64_t)st.st_size;
    uint64_t have = fsize < sizeof hb ? fsize : sizeof hb;
    reader_t r;
    local_reader(f, &r, NULL);
    if (read_at(&r, 0, hb, have, "header", err) != ALS_OK ||
        header_decode(path, hb, have, fsize, &f->h, err) != ALS_OK ||
        (r.h = &f->h, read_table(&r, &f->csum, err)) != ALS_OK) {
        als_bin_close(f);
        return err->code;
    }
    return ALS_OK;
}

int als_bin_read(als_bin_file_t *f, int sec, int64_t first, int64_t count, void *dst,
                 als_err_t *err)
{
    if (sec < 0 || sec >= ALS_SEC_COUNT || first < 0 || count < 0)
        return als_err_set(err, ALS_ERR_INTERNAL, "als_bin_read: bad arguments");
    unsigned char *scratch = malloc(f->h.block_size);
    if (!scratch)
        return als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory", f->path);
    reader_t r;
    local_reader(f, &r, scratch);
    int rc = read_range(&r, sec, (uint64_t)first, (uint64_t)count, dst, -1, err);
    free(scratch);
    return rc;
}

void als_bin_close(als_bin_file_t *f)
{
    if (f->fd >= 0)
        close(f->fd);
    free(f->csum);
    f->csum = NULL;
    f->fd = -1;
}

int als_binfmt_read_global(const char *path, als_global_t *g, als_err_t *err)
{
    memset(g, 0, sizeof *g);
    als_bin_file_t f;
    if (als_bin_open(path, &f, err) != ALS_OK)
        return err->code;
    const als_bin_header_t *h = &f.h;
    g->m = h->m; g->n = h->n; g->nnz = h->nnz; g->nlinks = h->nlinks; g->wnnz = h->wnnz;
    g->rmin = h->rmin; g->rmax = h->rmax; g->rmean = h->rmean; g->stats = h->stats;
    XMALLOC(g->user_ids, g->m); XMALLOC(g->item_ids, g->n);
    XMALLOC(g->uptr, g->m + 1); XMALLOC(g->ucol, g->nnz); XMALLOC(g->uval, g->nnz);
    XMALLOC(g->iptr, g->n + 1); XMALLOC(g->irow, g->nnz); XMALLOC(g->ival, g->nnz);
    XMALLOC(g->wptr, g->m + 1); XMALLOC(g->wcol, g->wnnz); XMALLOC(g->wval, g->wnnz);
    void *dst[ALS_SEC_COUNT] = {g->user_ids, g->item_ids, g->uptr, g->ucol, g->uval,
                                g->iptr, g->irow, g->ival, g->wptr, g->wcol, g->wval};
    int rc = ALS_OK;
    for (int s = 0; s < ALS_SEC_COUNT; s++)
        if (!dst[s])
            rc = als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory for the dataset", path);
    for (int s = 0; s < ALS_SEC_COUNT && rc == ALS_OK; s++)
        rc = als_bin_read(&f, s, 0, (int64_t)h->sec[s].count, dst[s], err);
    if (rc == ALS_OK &&
        (check_ids(path, ALS_SEC_USER_IDS, g->user_ids, g->m, err) ||
         check_ids(path, ALS_SEC_ITEM_IDS, g->item_ids, g->n, err) ||
         check_ptr(path, ALS_SEC_UPTR, g->uptr, g->m, g->nnz, err) ||
         check_ptr(path, ALS_SEC_IPTR, g->iptr, g->n, g->nnz, err) ||
         check_ptr(path, ALS_SEC_WPTR, g->wptr, g->m, g->wnnz, err) ||
         check_idx(path, ALS_SEC_UCOL, g->ucol, g->nnz, g->n, err) ||
         check_idx(path, ALS_SEC_IROW, g->irow, g->nnz, g->m, err) ||
         check_idx(path, ALS_SEC_WCOL, g->wcol, g->wnnz, g->m, err)))
        rc = err->code;
    als_bin_close(&f);
    if (rc != ALS_OK)
        als_global_free(g);
    return rc;
}

/* ---- parallel reader ----------------------------------------------------- */

/* Fault in the pages of a large fresh array in one call (MADV_POPULATE_WRITE,
 * Linux 5.14+) instead of one trap per 4 KiB page during the read; a no-op
 * where unsupported. */
static void prefault(void *p, int64_t n)
{
#ifdef MADV_POPULATE_WRITE
    size_t bytes = (size_t)(n > 0 ? n : 0) * 8, pg = 4096;
    if (bytes < ((size_t)4 << 20))
        return;
    uintptr_t a = ((uintptr_t)p + pg - 1) & ~(uintptr_t)(pg - 1);
    uintptr_t e = ((uintptr_t)p + bytes) & ~(uintptr_t)(pg - 1);
    if (e > a)
        madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

int als_data_load_binary(MPI_Comm comm, const char *path, als_plan_model_t pm, als_data_t *d,
                         als_err_t *err)
{
    int rank, p;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &p);
    memset(d, 0, sizeof *d);
    d->rank = rank;
    d->nranks = p;
    /* A plain message for a missing or unreadable file before the collective
     * open (whose failure would be reported in MPI's words). */
    if (rank == 0) {
        struct stat st;
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) /* a FIFO must not block */;
        if (fd < 0)
            als_err_set(err, ALS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
            als_err_set(err, ALS_ERR_IO, "%s: not a regular file", path);
        if (fd >= 0)
            close(fd);
    }
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;
    MPI_File fh;
    int mrc = MPI_File_open(comm, path, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh);
    if (mrc != MPI_SUCCESS) {
        char msg[MPI_MAX_ERROR_STRING];
        int len = 0;
        MPI_Error_string(mrc, msg, &len);
        als_err_set(err, ALS_ERR_IO, "%s: cannot open with MPI-IO: %s", path, msg);
    }
    if (als_err_agree(comm, err) != ALS_OK)
        return err->code;

    als_bin_header_t h;
    uint64_t *csum = NULL;
    int64_t *uptr = NULL, *iptr = NULL, *wptr = NULL;
    unsigned char *scratch = NULL;
    reader_t r = {.kind = RD_MPI_ALL, .fd = -1, .fh = fh, .path = path, .h = &h};

    /* Header and checksum table: the same bytes on every rank. */
    MPI_Offset fsize = 0;
    MPI_File_get_size(fh, &fsize);
    unsigned char hb[ALS_BIN_HEADER_BYTES];
    memset(hb, 0, sizeof hb);
    uint64_t have = (uint64_t)fsize < sizeof hb ? (uint64_t)fsize : sizeof hb;
    if (read_at(&r, 0, hb, have, "header", err) == ALS_OK)
        header_decode(path, hb, have, (uint64_t)fsize, &h, err);
    if (als_err_agree(comm, err) != ALS_OK)
        goto fail;
    read_table(&r, &csum, err);
    r.csum = csum;
    if (als_err_agree(comm, err) != ALS_OK)
        goto fail;

    /* The plan from slices: each rank reads an even share of the row
     * pointers and computes the plan with the others (als_plan_dist, the
     * same plan as als_data_scatter's); then it reads its own rows'
     * pointers and raw ids. No rank reads an O(m + n) array. */
    d->m = h.m; d->n = h.n; d->nnz = h.nnz; d->nlinks = h.nlinks; d->wnnz = h.wnnz;
    d->rmin = h.rmin; d->rmax = h.rmax; d->rmean = h.rmean; d->stats = h.stats;
    const int64_t m = h.m, n = h.n;
    const int64_t sa = (int64_t)((__int128)m * rank / p), sb = (int64_t)((__int128)m * (rank + 1) / p);
    const int64_t ta = (int64_t)((__int128)n * rank / p), tb = (int64_t)((__int128)n * (rank + 1) / p);
    XMALLOC(d->ubeg, p + 1); XMALLOC(d->ibeg, p + 1);
    XMALLOC(uptr, sb - sa + 1); XMALLOC(wptr, sb - sa + 1); XMALLOC(iptr, tb - ta + 1);
    scratch = malloc(h.block_size);
    r.scratch = scratch;
    if (!d->ubeg || !d->ibeg || !uptr || !wptr || !iptr || !scratch)
        als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory for the row pointers", path);
    if (als_err_agree(comm, err) != ALS_OK)
        goto fail;
    r.kind = RD_MPI_ONE;
    if (read_range(&r, ALS_SEC_UPTR, (uint64_t)sa, (uint64_t)(sb - sa + 1), uptr, -1, err) ==
            ALS_OK &&
        read_range(&r, ALS_SEC_WPTR, (uint64_t)sa, (uint64_t)(sb - sa + 1), wptr, -1, err) ==
            ALS_OK &&
        read_range(&r, ALS_SEC_IPTR, (uint64_t)ta, (uint64_t)(tb - ta + 1), iptr, -1, err) ==
            ALS_OK)
        (void)(check_ptr_slice(path, ALS_SEC_UPTR, uptr, sa, sb, m, h.nnz, err) ||
               check_ptr_slice(path, ALS_SEC_WPTR, wptr, sa, sb, m, h.wnnz, err) ||
               check_ptr_slice(path, ALS_SEC_IPTR, iptr, ta, tb, n, h.nnz, err));
    if (als_err_agree(comm, err) != ALS_OK)
        goto fail;
    if (als_plan_dist(comm, m, sa, sb, uptr, wptr, pm, 0, d->ubeg, NULL) != 0 ||
        als_plan_dist(comm, n, ta, tb, iptr, NULL, pm, 1, d->ibeg, &d->hot) != 0)
        als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory computing the plan", path);
    else
        als_hot_local(d, err);
    free(uptr); free(wptr); free(iptr);
    uptr = wptr = iptr = NULL;
    if (als_err_agree(comm, err) != ALS_OK)
        goto fail;
    d->u0 = d->ubeg[rank]; d->u1 = d->ubeg[rank + 1];
    d->i0 = d->ibeg[rank]; d->i1 = d->ibeg[rank + 1];
    const int64_t nu = d->u1 - d->u0, ni = d->i1 - d->i0;
    XMALLOC(uptr, nu + 1); XMALLOC(wptr, nu + 1); XMALLOC(iptr, ni + 1);
    XMALLOC(d->user_ids, nu); XMALLOC(d->item_ids, ni);
    /* Where this rank's hot-row chunks start in the CSC (read below). */
    int64_t *hc_at = malloc((size_t)(d->nhc + 1) * sizeof *hc_at);
    if (!uptr || !wptr || !iptr || !d->user_ids || !d->item_ids || !hc_at)
        ALS_ABORT("out of memory for %" PRId64 " + %" PRId64 " own rows", nu, ni);
    if (read_range(&r, ALS_SEC_UPTR, (uint64_t)d->u0, (uint64_t)nu + 1, uptr, -1, err) ||
        read_range(&r, ALS_SEC_WPTR, (uint64_t)d->u0, (uint64_t)nu + 1, wptr, -1, err) ||
        read_range(&r, ALS_SEC_IPTR, (uint64_t)d->i0, (uint64_t)ni + 1, iptr, -1, err) ||
        read_range(&r, ALS_SEC_USER_IDS, (uint64_t)d->u0, (uint64_t)nu, d->user_ids, -1, err) ||
        read_range(&r, ALS_SEC_ITEM_IDS, (uint64_t)d->i0, (uint64_t)ni, d->item_ids, -1, err))
        (void)0;
    for (int64_t x = 0; x < d->nhc && err->code == ALS_OK; x++) {
        int64_t row0 = 0;
        if (read_range(&r, ALS_SEC_IPTR, (uint64_t)d->hot.row[d->hc[x]], 1, &row0, -1, err) ==
            ALS_OK)
            hc_at[x] = row0 + d->hot.first[d->hc[x]];
    }
    if (err->code == ALS_OK)
        (void)(check_ids(path, ALS_SEC_USER_IDS, d->user_ids, nu, err) ||
               check_ids(path, ALS_SEC_ITEM_IDS, d->item_ids, ni, err));
    if (als_err_agree(comm, err) != ALS_OK) {
        free(hc_at);
        goto fail;
    }
    /* Ids ascend across ranks too: each block's first id above the
     * previous non-empty block's last. */
    check_ids_across(comm, path, ALS_SEC_USER_IDS, d->user_ids, nu, err);
    check_ids_across(comm, path, ALS_SEC_ITEM_IDS, d->item_ids, ni, err);
    if (als_err_agree(comm, err) != ALS_OK) {
        free(hc_at);
        goto fail;
    }
    const int64_t ua = uptr[0], ia = iptr[0], wa = wptr[0];
    d->lnnz_u = uptr[nu] - ua;
    d->lnnz_i = iptr[ni] - ia;
    d->lwnnz = wptr[nu] - wa;
    XMALLOC(d->uptr, nu + 1); XMALLOC(d->iptr, ni + 1); XMALLOC(d->wptr, nu + 1);
    XMALLOC(d->wdeg, nu);
    /* (Transparent huge pages would halve the first-touch cost of these, but
     * with the usual defrag=madvise setting they stall in compaction: slower
     * on the median run.) */
    XMALLOC(d->ucol, d->lnnz_u); XMALLOC(d->uval, d->lnnz_u);
    XMALLOC(d->irow, d->lnnz_i); XMALLOC(d->ival, d->lnnz_i);
    XMALLOC(d->wcol, d->lwnnz); XMALLOC(d->wval, d->lwnnz);
    if (d->ucol && d->uval && d->irow && d->ival && d->wcol && d->wval) {
        prefault(d->ucol, d->lnnz_u); prefault(d->uval, d->lnnz_u);
        prefault(d->irow, d->lnnz_i); prefault(d->ival, d->lnnz_i);
        prefault(d->wcol, d->lwnnz); prefault(d->wval, d->lwnnz);
    }
    if (!d->uptr || !d->ucol || !d->uval || !d->iptr || !d->irow || !d->ival || !d->wptr ||
        !d->wcol || !d->wval || !d->wdeg) {
        als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory for the local blocks (%" PRId64
                    " + %" PRId64 " ratings)", path, d->lnnz_u, d->lnnz_i);
    } else {
        for (int64_t t = 0; t <= nu; t++) {
            d->uptr[t] = uptr[t] - ua;
            d->wptr[t] = wptr[t] - wa;
        }
        for (int64_t t = 0; t <= ni; t++)
            d->iptr[t] = iptr[t] - ia;
    }
    free(uptr); free(wptr); free(iptr);
    uptr = wptr = iptr = NULL;
    if (als_err_agree(comm, err) != ALS_OK) {
        free(hc_at);
        goto fail;
    }

    /* Own rows only: independent, contiguous, block-aligned reads. */
    r.kind = RD_MPI_ONE;
    if (read_range(&r, ALS_SEC_UCOL, (uint64_t)ua, (uint64_t)d->lnnz_u, d->ucol, n, err) ||
        read_range(&r, ALS_SEC_UVAL, (uint64_t)ua, (uint64_t)d->lnnz_u, d->uval, -1, err) ||
        read_range(&r, ALS_SEC_IROW, (uint64_t)ia, (uint64_t)d->lnnz_i, d->irow, m, err) ||
        read_range(&r, ALS_SEC_IVAL, (uint64_t)ia, (uint64_t)d->lnnz_i, d->ival, -1, err) ||
        read_range(&r, ALS_SEC_WCOL, (uint64_t)wa, (uint64_t)d->lwnnz, d->wcol, m, err) ||
        read_range(&r, ALS_SEC_WVAL, (uint64_t)wa, (uint64_t)d->lwnnz, d->wval, -1, err))
        (void)0;
    for (int64_t x = 0; x < d->nhc && err->code == ALS_OK; x++) {
        int64_t len = d->hc_ptr[x + 1] - d->hc_ptr[x];
        if (read_range(&r, ALS_SEC_IROW, (uint64_t)hc_at[x], (uint64_t)len,
                       d->hc_irow + d->hc_ptr[x], m, err) == ALS_OK)
            read_range(&r, ALS_SEC_IVAL, (uint64_t)hc_at[x], (uint64_t)len,
                       d->hc_ival + d->hc_ptr[x], -1, err);
    }
    free(hc_at);
    /* Values as the text path admits them: finite ratings, finite
     * non-negative weights (a checksum only says the bytes are as written). */
    for (int64_t u = 0; u < nu && err->code == ALS_OK; u++) {
        for (int64_t x = d->uptr[u]; x < d->uptr[u + 1]; x++)
            if (!isfinite(d->uval[x]) || d->uval[x] < d->rmin || d->uval[x] > d->rmax) {
                als_err_set(err, ALS_ERR_DATA, "%s: section user ratings: rating %g of user %"
                            PRIu64 " for item #%" PRId64 " (dense index) is not finite or outside "
                            "the header's range [%g, %g]", path, d->uval[x], d->user_ids[u],
                            d->ucol[x], d->rmin, d->rmax);
                break;
            }
        for (int64_t x = d->wptr[u]; x < d->wptr[u + 1] && err->code == ALS_OK; x++)
            if (!isfinite(d->wval[x]) || d->wval[x] < 0)
                als_err_set(err, ALS_ERR_DATA, "%s: section social weights: weight %g between "
                            "user %" PRIu64 " and user #%" PRId64 " (dense index) is negative or not "
                            "finite", path, d->wval[x], d->user_ids[u], d->wcol[x]);
    }
    for (int64_t x = 0; x < d->lnnz_i && err->code == ALS_OK; x++)
        if (!isfinite(d->ival[x]))
            als_err_set(err, ALS_ERR_DATA, "%s: section item ratings: a rating is not finite", path);
    if (als_err_agree(comm, err) != ALS_OK)
        goto fail;
    /* d_i = sum_f W_if in row order, as als_data_scatter. */
    for (int64_t u = 0; u < nu; u++) {
        double s = 0.0;
        for (int64_t x = d->wptr[u]; x < d->wptr[u + 1]; x++)
            s += d->wval[x];
        d->wdeg[u] = s;
    }
    free(csum);
    free(scratch);
    MPI_File_close(&fh);
    return ALS_OK;

fail:
    free(csum); free(scratch); free(uptr); free(wptr); free(iptr);
    MPI_File_close(&fh);
    als_data_free(d);
    return err->code;
}
