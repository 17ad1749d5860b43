/* als_output.h - the output directory, committed as one set; exclusive temporaries.
 *
 * An output set is every file of one run's --out DIR (U.npy, V.npy, the id
 * files, metrics.json). It is written into a fresh private directory beside
 * DIR (".BASE.tmp-XXXXXX" in DIR's parent, made by mkdtemp) and committed by
 * swapping directories, so a reader of DIR sees either the complete previous
 * set or the complete new one, never a mixture:
 *
 *   1. als_output_prepare (rank 0, before training): checks that DIR can be
 *      made and swapped (nearest existing ancestor is a writable directory;
 *      DIR, if present, is a directory whose set names are regular files).
 *      Creates nothing.
 *   2. als_output_begin (rank 0): creates DIR's missing parents and the
 *      temporary directory. als_output_tmpdir() returns its path: broadcast
 *      it and any rank may write files inside it (e.g. U.npy by collective
 *      MPI-IO); name each such file with als_output_add() on rank 0.
 *      als_output_tmp/_text/_ids write files of the set from rank 0.
 *   3. als_output_commit (rank 0, after every writer has finished, flushed
 *      and synced, i.e. after an als_err_agree): fsyncs the temporary
 *      directory, moves entries of an existing DIR that are not part of the
 *      set (the user's own files) into it, then swaps it with DIR in one
 *      step (renameat2 RENAME_EXCHANGE; where the file system lacks it,
 *      rename(DIR, .BASE.old-XXXXXX) then rename(tmp, DIR), leaving DIR
 *      absent for that instant), removes the previous set's files and
 *      fsyncs the parent. Every file in the temporary directory is
 *      committed, registered or not.
 *   4. als_output_abort (rank 0, on any failure on any rank): removes the
 *      temporary directory, its files and the parents begin created; DIR is
 *      untouched.
 *
 * A set name that exists in DIR as a directory, symlink or anything but a
 * regular file is an error (never replaced). A killed run can leave its
 * ".BASE.tmp-XXXXXX" beside DIR; DIR itself is never half-written.
 *
 * All functions are local (rank 0) unless the caller makes them otherwise.
 */
#ifndef ALS_OUTPUT_H
#define ALS_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "als_error.h"

#define ALS_OUTPUT_PATH 4096

/* Check that DIR can receive an output set (see above). Creates nothing. */
int als_output_prepare(const char *dir, const char *opt_name, als_err_t *err);

/* mkdir -p DIR and check that a file can be created in it (checkpoint
 * directories, als-split). */
int als_output_mkdirs(const char *dir, const char *opt_name, als_err_t *err);

/* Create a new file beside path, named ".BASE.tmp.XXXXXX" (random), with
 * O_CREAT|O_EXCL|O_NOFOLLOW: never an existing file or a planted symlink.
 * The name is stored in tmp (cap bytes). Returns the descriptor (O_WRONLY,
 * close-on-exec, mode 0666 & ~umask) or -1 with errno set. */
int als_tmpfile_open(const char *path, char *tmp, size_t cap);
/* The same as a stdio stream ("w"); NULL with errno set on failure. */
FILE *als_tmpfile_fopen(const char *path, char *tmp, size_t cap);

/* A set of files committed together. */
#define ALS_OUTPUT_MAX 16
typedef struct {
    char dir[ALS_OUTPUT_PATH];         /* DIR */
    char tmpdir[ALS_OUTPUT_PATH + 64]; /* the private directory beside DIR; "" before begin */
    int n;                             /* set names registered */
    char name[ALS_OUTPUT_MAX][256];
    char path[ALS_OUTPUT_MAX][ALS_OUTPUT_PATH + 320];
    int nmade;                         /* parents of DIR that begin created, outermost first */
    char made[8][ALS_OUTPUT_PATH];
} als_output_t;

/* Create DIR's missing parents and the temporary directory (rank 0). */
int als_output_begin(als_output_t *o, const char *dir, als_err_t *err);
/* The temporary directory's path (valid until commit/abort); "" if begin failed. */
const char *als_output_tmpdir(const als_output_t *o);
/* Register NAME (a plain file name, no '/') as a member of the set: it is, or
 * will be, written inside als_output_tmpdir() by any rank. */
int als_output_add(als_output_t *o, const char *name, als_err_t *err);
/* Register NAME and return its path inside the temporary directory (NULL if
 * the table is full or the name is bad), for a writer of the caller's own. */
const char *als_output_tmp(als_output_t *o, const char *name);
/* Write a text buffer as NAME (exclusive create, checked, fsync'ed). */
int als_output_text(als_output_t *o, const char *name, const char *text, size_t len,
                    als_err_t *err);
/* Write raw ids, one per line, as NAME. */
int als_output_ids(als_output_t *o, const char *name, const uint64_t *ids, int64_t n,
                   als_err_t *err);
/* Swap the set into place (see above). On failure DIR is unchanged and the
 * temporary directory removed. */
int als_output_commit(als_output_t *o, als_err_t *err);
/* Remove the temporary directory and the parents begin created. */
void als_output_abort(als_output_t *o);

#endif
