/* fuzz_checkpoint.c - libFuzzer harness of the checkpoint reader
 * (als_ckpt_read: magic, size, checksum, parameters, dataset hash, shapes,
 * history, factors).
 *
 * The first input byte selects repairs applied to the rest before it is
 * read: bit 0 recomputes the trailer's checksums with als_ckpt_seal (so the
 * checks behind them are reached), bit 1 takes the expected shapes and dataset hash from the header
 * (so a mutated header can still be accepted and its factors read). The
 * expected parameters are those of the seeds (tests/fuzz/corpus/checkpoint:
 * als-train defaults with --rank 2). */
#include <stdlib.h>
#include <math.h>
#include "als_checkpoint.h"
#include "fuzz_common.h"

/* The library's kernel ISA query lives in the BLAS-backed kernels module,
 * which the harness does not link. */
const char *als_kernel_isa(void) { return "generic"; }

/* The harness exercises the checkpoint reader only; als_ckpt_restore (the
 * solver-facing wrapper in the same module) is never called, so the two
 * solver functions it uses are stubs here instead of linking the solver. */
int als_solver_hist_reserve(als_solver_t *s, int it, als_err_t *err)
{
    (void)s; (void)it; (void)err;
    abort();
}

int als_solver_exchange(als_solver_t *s, int which, als_err_t *err)
{
    (void)s; (void)which; (void)err;
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    uint8_t *b = malloc(n + 8);
    memcpy(b, data + 1, n);
    static als_ckpt_t c;
    static int init = 0;
    if (!init) {
        als_options_t o;
        als_options_defaults(&o);
        o.rank_k = 2;
        als_ckpt_params_text(&o, c.params, sizeof c.params);
        c.param_hash = als_ckpt_hash(c.params, strlen(c.params));
        init = 1;
    }
    int64_t m = 3, nn = 2;
    int k = 2;
    c.data_hash = 0x5eed;
    if ((data[0] & 2) && n >= 152) {
        int64_t hm, hn;
        int32_t hk;
        memcpy(&c.data_hash, b + 16, 8);
        memcpy(&hm, b + 32, 8);
        memcpy(&hn, b + 40, 8);
        memcpy(&hk, b + 48, 4);
        if (hm >= 0 && hn >= 0 && hk > 0 && hk <= 64 && hm <= 4096 && hn <= 4096) {
            m = hm;
            nn = hn;
            k = hk;
        }
    }
    if (data[0] & 1)
        als_ckpt_seal(b, n);
    const char *path = fuzz_file("checkpoint.als", b, n);
    free(b);
    double *U = malloc((size_t)(m * k + 1) * sizeof *U), *V = malloc((size_t)(nn * k + 1) * sizeof *V);
    int niters = -1;
    als_iter_t *hist = NULL;
    als_err_t err;
    als_err_clear(&err);
    int rc = als_ckpt_read(path, &c, m, nn, k, U, V, &niters, &hist, &err);
    if (rc == ALS_OK) {
        if (niters < 0 || (niters > 0 && !hist))
            abort();
        volatile double s = 0;
        for (int i = 0; i < niters; i++)
            s += hist[i].loss.total;
        (void)s;
    } else if (err.code != rc || err.msg[0] == '\0' || hist) {
        abort();
    }
    free(hist);
    free(U);
    free(V);
    return 0;
}
