/* als_output.h - the output directory: checked at start, files renamed into place.
 *
 * Every file is written under a temporary name (".NAME.tmp.PID") in the output
 * directory, flushed and fsync'ed; only when all are complete are they renamed
 * to their final names and the directory is fsync'ed. A failed run removes its
 * temporaries and leaves no partial file behind.
 */
#ifndef ALS_OUTPUT_H
#define ALS_OUTPUT_H

#include <stdint.h>
#include "als_error.h"

/* Create dir (and missing parents) and check that a file can be created in
 * it. Local (rank 0). */
int als_output_prepare(const char *dir, const char *opt_name, als_err_t *err);

/* A set of files written to temporaries and committed together. */
#define ALS_OUTPUT_MAX 16
typedef struct {
    const char *dir;          /* the caller's string, kept until commit/abort */
    int n;
    char tmp[ALS_OUTPUT_MAX][4200];
    char final[ALS_OUTPUT_MAX][4200];
} als_output_t;

void als_output_begin(als_output_t *o, const char *dir);
/* Reserve the temporary path for NAME; returns it (valid until commit/abort). */
const char *als_output_tmp(als_output_t *o, const char *name);
/* Write a text buffer to the temporary of NAME (checked, fsync'ed). */
int als_output_text(als_output_t *o, const char *name, const char *text, size_t len,
                    als_err_t *err);
/* Write raw ids, one per line. */
int als_output_ids(als_output_t *o, const char *name, const uint64_t *ids, int64_t n,
                   als_err_t *err);
/* Rename every temporary into place, then fsync the directory. */
int als_output_commit(als_output_t *o, als_err_t *err);
/* Remove every temporary. */
void als_output_abort(als_output_t *o);

#endif
