/* als_egram.h - the Gram matrix Y'Y of a distributed factor matrix, exact
 * and reproducible: its bits do not depend on the number of ranks, threads
 * or the order of the rows.
 *
 * Implicit-feedback ALS needs Y'Y = sum over ALL rows of y y' once per
 * half-step, and every rank holds only its own rows (sharded mode) or must
 * not depend on how rows are split. A plain double sum reduced over ranks
 * would change its bits with P. Here:
 *   1. M = max |Y_rc| over every rank's rows (MPI_Allreduce MAX: exact), and
 *      e with M < 2^e; every product fl(y_a y_b) is below 2^(2e) in magnitude.
 *   2. Each product, scaled by 2^(62 - 2e) (exact), is cut into an integer
 *      part hi (|hi| < 2^62) and 62 further fraction bits lo (truncation
 *      toward zero: a deterministic function of the product alone; what is
 *      dropped is below 2^(2e - 124), i.e. 2^-124 of the largest product).
 *   3. hi and lo are summed in 128-bit integers (exact, associative), per
 *      thread, then merged; across ranks each 128-bit sum travels as four
 *      32-bit limbs in int64 words (MPI_Allreduce SUM on integers: exact).
 *   4. The exact fixed-point total is rounded once to the nearest double
 *      (via als_rsum).
 * Cost per rank: own rows × k(k+1)/2 multiply-and-convert steps, and one
 * reduction of 4 k(k+1) int64 words (k = 64: 66 KB) plus one double.
 */
#ifndef ALS_EGRAM_H
#define ALS_EGRAM_H

#include <stdint.h>
#include <mpi.h>

/* Collective over comm: G (k×k row-major, both triangles, bitwise
 * symmetric) = sum over every rank's rows Y[0..nrows) (row-major, leading
 * dimension k) of y y'. Uses the calling rank's OpenMP threads. A non-finite
 * entry anywhere makes every entry of G NaN. Returns 0, or -1 when out of
 * memory (on any rank: agreed, every rank returns -1). */
int als_egram_allreduce(MPI_Comm comm, int k, int64_t nrows, const double *Y, double *G);

/* Local reference for tests: the same fixed-point rule on one rank's rows
 * (als_egram_allreduce on MPI_COMM_SELF). */

#endif
