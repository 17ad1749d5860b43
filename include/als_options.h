/* als_options.h - the parameters of a training run: parse, validate, broadcast.
 *
 * Rank 0 parses argv with getopt_long and validates; the plain struct is then
 * broadcast so that every rank holds identical parameters (collective input
 * to everything downstream).
 */
#ifndef ALS_OPTIONS_H
#define ALS_OPTIONS_H

#include <stdint.h>
#include <stdio.h>
#include "als_error.h"
#include "als_kernels.h"
#include "als_implicit.h"
#include "als_plan.h"

#define ALS_PATH_MAX 4096
#define ALS_VERSION "0.1.0"

typedef enum {
    ALS_DUP_KEEP = 0, /* every duplicate (user, item) row is its own observation */
    ALS_DUP_ERROR,    /* a duplicate pair is an error */
    ALS_DUP_FIRST,    /* keep the first occurrence in file order */
    ALS_DUP_LAST,     /* keep the last occurrence in file order */
    ALS_DUP_MEAN      /* one observation: the mean of the duplicates */
} als_dup_policy_t;

/* How factor rows move between half-steps (als_exchange.h). */
typedef enum {
    ALS_EXCH_AUTO = 0,   /* neighbor when replicated factors do not fit, else the faster */
    ALS_EXCH_ALLGATHER,  /* replicated factors, MPI_Allgatherv of whole blocks */
    ALS_EXCH_NEIGHBOR,   /* sharded: own rows + ghost rows, MPI_Neighbor_alltoallv */
    ALS_EXCH_SHARED      /* replicated once per node (als_shm.h), allgather between nodes */
} als_exchange_mode_t;

/* What one copy of the factors is shared by with --exchange shared
 * (--shared-domain, als_shm.h). */
enum { ALS_SHM_NODE = 0, ALS_SHM_SOCKET, ALS_SHM_NUMA };

/* How each row's normal equations are solved (--solver). */
typedef enum {
    ALS_SOLVER_CHOLESKY = 0, /* form the k×k system, Cholesky (exact) */
    ALS_SOLVER_CG            /* --cg-steps matrix-free CG steps, warm-started (als_cg.h) */
} als_solver_kind_t;

typedef struct {
    char ratings[ALS_PATH_MAX];   /* --ratings: training ratings text file */
    char social[ALS_PATH_MAX];    /* --social: directed links "i f [s_if]" ("" = none) */
    char data[ALS_PATH_MAX];      /* --data: binary dataset (als-partition) instead of the two */
    int print_plan;               /* --print-plan: print the block plan in use */
    int row_costs;                /* --row-costs: row_costs.txt in the --out set (P = 1) */
    char test[ALS_PATH_MAX];      /* --test: held-out ratings ("" = none) */
    char init_user[ALS_PATH_MAX]; /* --init-user: U0 as .npy (m×k) */
    char init_item[ALS_PATH_MAX]; /* --init-item: V0 as .npy (n×k) */
    char out[ALS_PATH_MAX];       /* --out: output directory ("" = write nothing) */
    int rank_k;                   /* --rank K: number of latent factors */
    double lambda_u, lambda_v;    /* --lambda-u, --lambda-v (--lambda sets both) */
    double alpha;                 /* --alpha: social regularization weight */
    int iters;                    /* --iters: maximum number of iterations */
    double tol;                   /* --tol: stop when relative loss decrease < tol (0 = never) */
    uint64_t seed;                /* --seed: key of the counter-based initialisation */
    int value_col;                /* --value-column: 0-based column of the rating (default 2) */
    als_dup_policy_t duplicates;  /* --duplicates */
    als_kernel_t kernel;          /* --kernel ref|fast */
    als_exchange_mode_t exchange; /* --exchange allgather|shared|neighbor|auto */
    int shm_domain;               /* --shared-domain: ALS_SHM_NODE, _SOCKET or _NUMA */
    int huge_pages;               /* --huge-pages on|off: U and V on transparent huge pages */
    double mem_limit;             /* --mem-per-rank BYTES for --exchange auto (0 = detect) */
    int threads;                  /* --threads: OpenMP threads per rank (0 = OMP default) */
    int quiet;                    /* --quiet: no per-iteration lines */
    int bias;                     /* --bias: global mean + user and item biases */
    int lambda_count;             /* --lambda-scale=count: lambda * n_i (ALS-WR) */
    double lambda_bias;           /* --lambda-bias: plain lambda of b_i, c_j (< 0: as the factors) */
    int checkpoint_every;         /* --checkpoint-every N: checkpoint after every N iterations */
    char checkpoint_dir[ALS_PATH_MAX]; /* --checkpoint-dir DIR ("" = no checkpoints) */
    char resume[ALS_PATH_MAX];    /* --resume DIR: continue from DIR's checkpoint */
    als_solver_kind_t solver;     /* --solver cholesky|cg */
    int cg_steps;                 /* --cg-steps N (default 3) */
    int implicit;                 /* --implicit: Hu-Koren-Volinsky loss over every pair */
    als_conf_t conf;              /* --confidence A, --confidence-scale, --epsilon */
    int top_n;                    /* --top N: ranking metrics with --implicit --test (10) */
} als_options_t;

/* The block plan's model of a run with these options: stored width, the
 * unknowns, and the n×n route for --solver cholesky without --implicit. */
static inline als_plan_model_t als_plan_model_of(const als_options_t *o)
{
    return als_plan_model(o->rank_k, o->bias,
                          o->solver == ALS_SOLVER_CHOLESKY && !o->implicit);
}

/* Fill o with the defaults. Local. */
void als_options_defaults(als_options_t *o);

/* Returned when --help or --version was printed: the caller exits 0. */
#define ALS_OPTIONS_EXIT (-1)

/* Parse and validate argv into o (local, normally called on rank 0 only).
 * Returns ALS_OK; ALS_ERR_ARG with a message naming the option on bad input;
 * or ALS_OPTIONS_EXIT (help/version printed to out). */
int als_options_parse(int argc, char **argv, als_options_t *o, FILE *out, als_err_t *err);

/* Collective: parse on rank 0, broadcast the result and agree on errors.
 * Returns ALS_OK, ALS_OPTIONS_EXIT or the agreed error code, on every rank. */
int als_options_init(MPI_Comm comm, int argc, char **argv, als_options_t *o, als_err_t *err);

/* Print the usage text. Local. */
void als_options_usage(FILE *out, const char *prog);

const char *als_dup_policy_name(als_dup_policy_t d);
const char *als_exchange_mode_name(als_exchange_mode_t m);

#endif
