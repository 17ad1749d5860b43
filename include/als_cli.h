/* als_cli.h - small helpers shared by the tools' front ends (local).
 *
 * Option values are parsed strictly (the whole string, range-checked) and
 * every failure is an ALS_ERR_ARG message naming the option.
 */
#ifndef ALS_CLI_H
#define ALS_CLI_H

#include <stdint.h>
#include <stdio.h>
#include "als_error.h"

int als_cli_int64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *v,
                  als_err_t *err);
int als_cli_u64(const char *opt, const char *s, uint64_t *v, als_err_t *err);
/* A finite double in [lo, hi]. */
int als_cli_double(const char *opt, const char *s, double lo, double hi, double *v,
                   als_err_t *err);
/* Print "PROG: error: MSG" to stderr and return the exit status (2 for
 * ALS_ERR_ARG, 1 otherwise). */
int als_cli_fail(const char *prog, const als_err_t *err);

/* A scored row (a candidate item or neighbour) of a top-N list. */
typedef struct {
    double s;       /* score */
    int64_t row;    /* dense row */
} als_scored_t;

/* Sort by score, highest first; ties by ascending raw id ids[row], so lists
 * are deterministic. Local. */
void als_cli_sort_scored(als_scored_t *a, int64_t n, const uint64_t *ids);

/* Keep the best `cap` candidates (sort order above) in a min-heap h of
 * *len entries (root = the worst kept): a partial selection in O(log cap)
 * per candidate instead of a full sort. Sort the heap with
 * als_cli_sort_scored afterwards. Local. */
void als_cli_top_push(als_scored_t *h, int64_t *len, int64_t cap, als_scored_t c,
                      const uint64_t *ids);

/* Write every rank's buffer, in rank order, as one file: path != NULL:
 * collective MPI-IO into an exclusive temporary beside path, renamed into
 * place by rank 0 (errors agreed); path == NULL: gathered on rank 0 and
 * written to stdout (up to 2 GiB). Collective. */
int als_cli_write_ordered(MPI_Comm comm, const char *path, const char *buf, size_t len,
                          als_err_t *err);

/* Monotonic wall-clock seconds, for progress lines and timings. Local. */
double als_cli_now(void);
/* Format x with the fewest digits that read back as exactly x (at most 17). */
void als_cli_fmt_double(char *buf, size_t cap, double x);

/* A text output file written under an exclusive temporary name beside path
 * (als_tmpfile_open: never a planted symlink) and renamed
 * into place by als_cli_out_close(keep = 1); keep = 0 removes it. */
typedef struct {
    const char *path;
    char tmp[4200];
    FILE *f;
} als_cli_out_t;

int als_cli_out_open(als_cli_out_t *t, const char *path, als_err_t *err);
int als_cli_out_close(als_cli_out_t *t, int keep, als_err_t *err);

/* Read a file of raw ids, one per line (user_ids.txt, item_ids.txt); *ids is
 * malloc'ed. Errors name the file and line. */
int als_cli_read_ids(const char *path, uint64_t **ids, int64_t *n, als_err_t *err);

#endif
