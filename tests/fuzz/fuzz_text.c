/* fuzz_text.c - libFuzzer harness of the text ratings and social parsers
 * (als_text_read). The first input byte chooses the kind (ratings/social),
 * the value column and whether the file is read as MatrixMarket (.mtx); the
 * rest is the file. Checks the invariants every successful parse promises. */
#include <math.h>
#include "als_text.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    als_text_kind_t kind = (mode & 1) ? ALS_TEXT_SOCIAL : ALS_TEXT_RATINGS;
    int mtx = (mode >> 1) & 1;
    als_text_opts_t opts = {.value_col = 2 + ((mode >> 2) & 3)};
    const char *path = fuzz_file(mtx ? "in.mtx" : "in.txt", data + 1, size - 1);
    als_triplets_t t;
    als_err_t err;
    als_err_clear(&err);
    int rc = als_text_read(path, kind, &opts, &t, &err);
    if (rc == ALS_OK) {
        if (err.code != ALS_OK || t.n < 0 || t.n > t.cap || t.n > (int64_t)size)
            abort();
        for (int64_t i = 0; i < t.n; i++) {
            if (!isfinite(t.val[i]))
                abort(); /* non-finite values must be rejected */
            if (kind == ALS_TEXT_SOCIAL && (t.val[i] < 0 || t.row[i] == t.col[i]))
                abort(); /* negative weights and self-links must not pass */
        }
    } else if (err.code != rc || err.msg[0] == '\0') {
        abort(); /* every error carries its message */
    }
    als_triplets_free(&t);
    return 0;
}
