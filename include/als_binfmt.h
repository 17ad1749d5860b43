/* als_binfmt.h - the partitioned binary dataset file, written once, read in parallel.
 *
 * A binary dataset holds exactly what als_global_build makes from the text
 * files (ids, CSR by user, CSC by item, W = S + S^T, rating range and mean,
 * cleaning statistics), so `als-train --data FILE` gives bitwise the same
 * als_data_t, and therefore the same factors, as `--ratings/--social`.
 *
 * File layout (version 1, every integer and double little-endian):
 *
 *   [0, 4096)      header (below), its last 8 bytes the checksum of the rest
 *   sections       11 arrays, each starting on a 4096-byte boundary, in order
 *                    user_ids u64[m]   item_ids u64[n]
 *                    uptr i64[m+1]     ucol i64[nnz]   uval f64[nnz]   (CSR by user)
 *                    iptr i64[n+1]     irow i64[nnz]   ival f64[nnz]   (CSC by item)
 *                    wptr i64[m+1]     wcol i64[wnnz]  wval f64[wnnz]  (W rows of users)
 *   checksum table u64 per block of every section, in section order
 *
 * Header fields (byte offset: type name):
 *     0: char[8] magic "SOREGALS"     8: u32 version (1)     12: u32 header bytes (4096)
 *    16: u32 byte-order mark 0x01020304                      20: u32 value type (1 = float64)
 *    24: u64 block size B            32: i64 m, n, nnz, nlinks, wnnz (5 × 8 bytes)
 *    72: f64 rmin, rmax, rmean       96: i64 statistics (8 × 8 bytes, als_data_stats_t order)
 *   160: u32 number of sections (11), u32 0
 *   168: u64 checksum table offset, u64 its entry count, u64 checksum of the table
 *   192: u64 file size
 *   200: 11 section records of 48 bytes: u32 id, u32 element size (8), u64 offset,
 *        u64 element count, u64 first block (index into the checksum table),
 *        u64 number of blocks, u64 0
 *  4088: u64 checksum of bytes [0, 4088)
 *
 * Checksums: each section is cut into blocks of B bytes (default 1 MiB; the
 * last block of a section may be shorter), and every block has its own
 * checksum, so a rank that reads rows [a, b) of a section verifies just the
 * blocks it touches. The checksum (als_checksum) is FNV-1a over 64-bit
 * little-endian words in 4 interleaved lanes (word t goes to lane t mod 4;
 * trailing bytes are zero-padded into one last word), the lanes finished with
 * the splitmix64 mixer and folded together with the byte length by FNV-1a.
 * A changed word always changes its lane's state (x -> (x ^ w) * P is a
 * bijection), and it runs at memory speed.
 *
 * Counts of ratings and edges are 64-bit everywhere; MPI transfers are split
 * into pieces of at most min(als_exchange_chunk elements, 1 GiB).
 */
#ifndef ALS_BINFMT_H
#define ALS_BINFMT_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>

#include "als_dataset.h"
#include "als_error.h"

#define ALS_BIN_MAGIC "SOREGALS"
#define ALS_BIN_VERSION 1
#define ALS_BIN_HEADER_BYTES 4096
#define ALS_BIN_BLOCK_DEFAULT ((uint64_t)1 << 20)
#define ALS_BIN_VALUE_F64 1

typedef enum {
    ALS_SEC_USER_IDS = 0, ALS_SEC_ITEM_IDS,
    ALS_SEC_UPTR, ALS_SEC_UCOL, ALS_SEC_UVAL,
    ALS_SEC_IPTR, ALS_SEC_IROW, ALS_SEC_IVAL,
    ALS_SEC_WPTR, ALS_SEC_WCOL, ALS_SEC_WVAL,
    ALS_SEC_COUNT
} als_bin_section_t;

/* The section's name as used in messages ("ucol", ...). */
const char *als_bin_section_name(int sec);

/* The block checksum described above. Local. */
uint64_t als_checksum(const void *data, size_t bytes);

/* One section's place in the file. */
typedef struct {
    uint64_t offset, count, first_block, nblocks;
} als_bin_section_info_t;

/* The decoded header. */
typedef struct {
    uint32_t version, value_type;
    uint64_t block_size;
    int64_t m, n, nnz, nlinks, wnnz;
    double rmin, rmax, rmean;
    als_data_stats_t stats;
    als_bin_section_info_t sec[ALS_SEC_COUNT];
    uint64_t csum_offset, csum_count, csum_checksum, file_size;
} als_bin_header_t;

/* ---- writing (local) ----------------------------------------------------- */

/* A streaming writer: the counts fix the layout up front; then the sections
 * are filled by als_bin_writer_put in any interleaving (each section in
 * order), block checksums are computed on the fly, and finish writes the
 * checksum table and the header. The file is written under a temporary name
 * beside path (".BASE.tmp.XXXXXX", created exclusively: als_tmpfile_open) and
 * renamed into place by finish, so a failed
 * or aborted write leaves no partial file. */
typedef struct als_bin_writer als_bin_writer_t;

/* block_size 0 means ALS_BIN_BLOCK_DEFAULT; it must be a multiple of 8. */
int als_bin_writer_open(als_bin_writer_t **w, const char *path, int64_t m, int64_t n,
                        int64_t nnz, int64_t wnnz, uint64_t block_size, als_err_t *err);
/* Append count elements (8 bytes each) to section sec. */
int als_bin_writer_put(als_bin_writer_t *w, int sec, const void *data, int64_t count,
                       als_err_t *err);
/* Check that every section is complete, write the table and header, fsync,
 * rename. Frees w in every case. */
int als_bin_writer_finish(als_bin_writer_t *w, int64_t nlinks, double rmin, double rmax,
                          double rmean, const als_data_stats_t *stats, als_err_t *err);
/* Remove the temporary and free w (w may be NULL). */
void als_bin_writer_abort(als_bin_writer_t *w);

/* Write the whole dataset g to path. Local. */
int als_binfmt_write(const char *path, const als_global_t *g, uint64_t block_size,
                     als_err_t *err);

/* ---- reading (local) ----------------------------------------------------- */

typedef struct {
    char path[4096];
    int fd;
    als_bin_header_t h;
    uint64_t *csum;           /* the checksum table */
} als_bin_file_t;

/* Open path, read and check the header, the file size and the checksum
 * table. Errors name the file and what is wrong (ALS_ERR_IO, ALS_ERR_FORMAT). */
int als_bin_open(const char *path, als_bin_file_t *f, als_err_t *err);
/* Read elements [first, first+count) of section sec into dst, verifying the
 * checksum of every block touched. */
int als_bin_read(als_bin_file_t *f, int sec, int64_t first, int64_t count, void *dst,
                 als_err_t *err);
void als_bin_close(als_bin_file_t *f);

/* Read the whole dataset into g (verified). Local. */
int als_binfmt_read_global(const char *path, als_global_t *g, als_err_t *err);

/* ---- reading in parallel ------------------------------------------------- */

/* Collective over comm: every rank opens path with MPI-IO, reads the header,
 * the checksum table, the id maps and the three row-pointer arrays
 * (MPI_File_read_at_all: the same bytes on every rank), computes the block
 * plan for the plan model pm exactly as als_data_scatter does, and then reads only its own rows of
 * the CSR, CSC and W sections (MPI_File_read_at, block-aligned, every touched
 * block verified). On return d equals what als_data_scatter gives for the same
 * dataset. On error every rank returns the same code and message (naming the
 * file and the section) and d is empty. */
int als_data_load_binary(MPI_Comm comm, const char *path, als_plan_model_t pm, als_data_t *d,
                         als_err_t *err);

#endif
