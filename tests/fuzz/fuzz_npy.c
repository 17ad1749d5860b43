/* fuzz_npy.c - libFuzzer harness of the .npy reader (als_npy_read). A
 * successful read must return a finite-size 2-D array whose every element is
 * readable; every failure must carry a message. Round trip: what was read is
 * written and read back bitwise. */
#include "als_npy.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("in.npy", data, size);
    double *a = NULL;
    int64_t r = -1, c = -1;
    als_err_t err;
    als_err_clear(&err);
    int rc = als_npy_read(path, &a, &r, &c, &err);
    if (rc == ALS_OK) {
        if (r < 0 || c < 0 || (r && c && (uint64_t)r * (uint64_t)c * 8 > size))
            abort();
        volatile double s = 0;
        for (int64_t i = 0; i < r * c; i++)
            s += a[i]; /* ASan checks the whole array is allocated */
        (void)s;
        char out[600];
        snprintf(out, sizeof out, "%s.rt", path);
        if (als_npy_write(out, a, r, c, &err) != ALS_OK)
            abort();
        double *b = NULL;
        int64_t r2, c2;
        if (als_npy_read(out, &b, &r2, &c2, &err) != ALS_OK || r2 != r || c2 != c ||
            (r * c && memcmp(a, b, (size_t)(r * c) * 8) != 0))
            abort();
        free(b);
    } else if (err.code != rc || err.msg[0] == '\0') {
        abort();
    }
    free(a);
    return 0;
}
