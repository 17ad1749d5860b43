/* als_error.c - status codes, error records and collective error agreement. */
#include "als_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *als_strerror(int code)
{
    switch (code) {
    case ALS_OK: return "success";
    case ALS_ERR_ARG: return "invalid argument";
    case ALS_ERR_IO: return "input/output error";
    case ALS_ERR_PARSE: return "malformed input";
    case ALS_ERR_DATA: return "invalid data";
    case ALS_ERR_FORMAT: return "bad file format";
    case ALS_ERR_NOMEM: return "out of memory";
    case ALS_ERR_NUMERIC: return "numerical failure";
    case ALS_ERR_MPI: return "MPI error";
    case ALS_ERR_INTERNAL: return "internal error";
    default: return "unknown error";
    }
}

void als_err_clear(als_err_t *err)
{
    if (err) {
        err->code = ALS_OK;
        err->msg[0] = '\0';
    }
}

int als_err_set(als_err_t *err, int code, const char *fmt, ...)
{
    if (err == NULL || err->code != ALS_OK)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int als_err_agree(MPI_Comm comm, als_err_t *err)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    /* The lowest failing rank is the one to report. */
    int mine = (err->code != ALS_OK) ? rank : size;
    int first = size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == size)
        return ALS_OK;
    struct { int code; char msg[ALS_ERR_MSG_LEN]; } buf;
    if (rank == first) {
        buf.code = err->code;
        if (size > 1)
        {
            int l = snprintf(buf.msg, sizeof buf.msg, "rank %d: ", rank);
            memcpy(buf.msg + l, err->msg, sizeof buf.msg - (size_t)l - 1);
            buf.msg[sizeof buf.msg - 1] = '\0';
        }
        else
            snprintf(buf.msg, sizeof buf.msg, "%s", err->msg);
    }
    MPI_Bcast(&buf, (int)sizeof buf, MPI_BYTE, first, comm);
    err->code = buf.code;
    memcpy(err->msg, buf.msg, sizeof err->msg);
    return err->code;
}

void als_abort_at(const char *file, int line, const char *fmt, ...)
{
    int rank = 0, inited = 0;
    MPI_Initialized(&inited);
    if (inited)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "als: fatal (rank %d, %s:%d): ", rank, file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (inited)
        MPI_Abort(MPI_COMM_WORLD, 70);
    exit(70);
}

const char *als_mpi_thread_name(int level)
{
    return level == MPI_THREAD_SINGLE       ? "single"
           : level == MPI_THREAD_FUNNELED   ? "funneled"
           : level == MPI_THREAD_SERIALIZED ? "serialized"
           : level == MPI_THREAD_MULTIPLE   ? "multiple"
                                            : "unknown";
}

int als_mpi_init(int *argc, char ***argv, const char *prog, int *provided)
{
    int got = MPI_THREAD_SINGLE;
    /* A test can pretend the library gives less: ALS_TEST_MPI_THREAD_SINGLE=1
     * (only in builds with fault hooks). */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &got) != MPI_SUCCESS)
        return 1;
#ifdef ALS_FAULT_HOOKS
    const char *pretend = getenv("ALS_TEST_MPI_THREAD_SINGLE");
    if (pretend && *pretend == '1')
        got = MPI_THREAD_SINGLE;
#endif
    if (provided)
        *provided = got;
    if (got < MPI_THREAD_FUNNELED) {
        int rank = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        if (rank == 0)
            fprintf(stderr, "%s: error: the MPI library provides thread level %s; %s needs "
                    "MPI_THREAD_FUNNELED (OpenMP threads inside ranks)\n", prog,
                    als_mpi_thread_name(got), prog);
        MPI_Finalize();
        return 1;
    }
    return 0;
}
