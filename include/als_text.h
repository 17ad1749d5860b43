/* als_text.h - reading ratings and social-link text files (local, one rank).
 *
 * Accepted ratings formats (one observation per line):
 *   user item rating [more columns ignored]
 * separated by spaces, tabs, commas or "::" (MovieLens 1M style), any mix.
 * Lines starting with '#' or '%' (after leading blanks) and blank lines are
 * skipped. CRLF line ends are accepted. A UTF-8 byte-order mark at the start
 * is stripped (`bom`). If the first non-comment line does not start with a
 * number it is a header: it is skipped, counted in `header`, and reported on
 * stderr as "note: FILE:LINE skipped as a header: 'TEXT'".
 * Files whose name ends in ".mtx" are MatrixMarket coordinate files:
 * "%%MatrixMarket matrix coordinate real|integer general" banner, '%' comments,
 * a size line "M N NNZ", then NNZ lines "i j value" with 1-based indices; the
 * raw ids are the indices as written (1..M, 1..N). Entries outside M×N, or a
 * count different from NNZ, are errors. "pattern" matrices are accepted only
 * for social files (weight 1).
 *
 * Social format: "i f [s_if]": directed link, f in F+(i) ("i trusts f"),
 * weight 1 when the column is absent. Self-links (i == f) are dropped and
 * counted in `self_loops`. A negative, NaN or infinite weight is an error.
 *
 * Ids are unsigned 64-bit decimal integers (0 .. 2^64-1), digits only. A
 * negative id, a leading '+', hexadecimal, an id with a fraction or exponent,
 * or one beyond 64 bits is an error. Values are decimal numbers
 * (-?digits[.digits][e[+-]digits]): a leading '+' or hexadecimal ("0x10",
 * "0x1p2") is an error, so is a value that underflows (1e-400: magnitude
 * below DBL_MIN, digits not all zero); values must be finite (NaN/Inf are
 * errors); a rating of 0 is an ordinary rating.
 * Every error message names the file and the 1-based line number.
 */
#ifndef ALS_TEXT_H
#define ALS_TEXT_H

#include <stdint.h>
#include "als_error.h"

typedef enum { ALS_TEXT_RATINGS = 0, ALS_TEXT_SOCIAL = 1 } als_text_kind_t;

/* Triplets in file order (local). */
typedef struct {
    uint64_t *row;     /* raw user id (ratings) / raw trustor i (social) */
    uint64_t *col;     /* raw item id (ratings) / raw trustee f (social) */
    double *val;       /* rating / weight */
    int64_t n;         /* number of triplets kept */
    int64_t cap;       /* allocated capacity */
    int64_t lines;     /* physical lines in the file */
    int64_t header;    /* 1 when a header line was skipped */
    int64_t header_line;   /* its 1-based line number (0: none) */
    char header_text[96];  /* its text, quoted (non-printable bytes as \xHH) */
    int bom;           /* 1 when a UTF-8 byte-order mark was stripped */
    int64_t comments;  /* comment and blank lines skipped */
    int64_t self_loops;/* social self-links dropped */
} als_triplets_t;

/* Options for als_text_read. Zero-initialise, then set what differs. */
typedef struct {
    /* 0-based column holding the value; 0 means the default (2).
     * E.g. Ciao's rating.tsv (user item category rating helpfulness) uses 3.
     * Ignored for .mtx files. */
    int value_col;
} als_text_opts_t;

/* Read a whole text file into t (which is initialised by this call; free
 * with als_triplets_free even on error). opts may be NULL. Local.
 * Returns ALS_OK, ALS_ERR_IO (cannot open/read), ALS_ERR_PARSE (malformed
 * line: "FILE:LINE: what"), ALS_ERR_DATA (non-finite value, negative weight),
 * ALS_ERR_NOMEM. An empty file (no data lines) is not an error here: t->n == 0. */
int als_text_read(const char *path, als_text_kind_t kind, const als_text_opts_t *opts,
                  als_triplets_t *t, als_err_t *err);

void als_triplets_free(als_triplets_t *t);

#endif
