/* als_metrics.h - phase timers, loss records, test metrics, metrics.json. */
#ifndef ALS_METRICS_H
#define ALS_METRICS_H

#include <stdint.h>
#include <stdio.h>
#include <mpi.h>

/* Named phases (wall seconds per rank). */
typedef enum {
    ALS_T_READ = 0,   /* reading and building the dataset */
    ALS_T_DISTRIBUTE, /* block plan and sending blocks */
    ALS_T_GRAM,       /* Gram matrices and right-hand sides */
    ALS_T_SOLVE,      /* Cholesky solves */
    ALS_T_EXCHANGE,   /* Allgatherv of factor blocks */
    ALS_T_EVALUATE,   /* loss, RMSE, test metrics */
    ALS_T_WRITE,      /* output files */
    ALS_T_NPHASES
} als_phase_t;

const char *als_phase_name(als_phase_t p);

/* min/avg/max over ranks of each phase. */
typedef struct {
    double min[ALS_T_NPHASES], avg[ALS_T_NPHASES], max[ALS_T_NPHASES];
} als_timer_summary_t;

/* Collective: reduce each rank's timers t[ALS_T_NPHASES]. */
void als_timers_reduce(MPI_Comm comm, const double *t, als_timer_summary_t *s);

/* The loss split into its terms. */
typedef struct {
    double total;   /* L */
    double sse;     /* sum of squared residuals over the training ratings */
    double social;  /* sum_i sum_{f in F+(i)} s_if |u_i - u_f|^2 */
    double reg_u;   /* lambda_u |U|_F^2 (row-weighted with --lambda-scale=count) */
    double reg_v;   /* lambda_v |V|_F^2 (idem) */
} als_loss_t;

/* One row of the iteration history. */
typedef struct {
    int iter;
    double loss_half;   /* L after the U-step */
    als_loss_t loss;    /* after the V-step */
    double train_rmse;
    double test_rmse, test_mae; /* NaN without --test */
    /* --implicit --test: ranking metrics @ --top over the test users (NaN
     * otherwise); rank_users averaged, rank_norel counted apart. */
    double rank_prec, rank_recall, rank_ndcg, rank_map;
    int64_t rank_users, rank_norel;
    double seconds;     /* wall time of the iteration (solve + exchange + evaluate) */
} als_iter_t;

/* A growing text buffer for JSON. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed; /* allocation failed: the buffer is incomplete */
} als_buf_t;

void als_buf_printf(als_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append a JSON string literal (quoted, escaped). Bytes that are not valid
 * UTF-8 (a path in another encoding) become the four characters \xHH, so
 * the document is always valid UTF-8 JSON. */
void als_buf_json_str(als_buf_t *b, const char *s);
/* Append a JSON number (null for NaN/Inf). */
void als_buf_json_num(als_buf_t *b, double x);
/* "%*.*f" of x, or "-" right-aligned in width when x is not finite (a metric
 * that does not exist, e.g. a test RMSE without evaluated test pairs, is
 * never printed as NaN). Returns buf. */
const char *als_fmt_metric(char *buf, size_t cap, int width, int prec, double x);
void als_buf_free(als_buf_t *b);

#endif
