/* als_npy.c - NumPy .npy files of float64 matrices (local).
 *
 * Format (numpy.lib.format): the magic "\x93NUMPY", major and minor version
 * bytes, the header length (2 bytes little-endian in version 1.0, 4 bytes in
 * 2.0 and 3.0), then the header: a Python dict literal such as
 *     {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n' so that the data start on a 64-byte
 * boundary, then the raw array data.
 *
 * The writer produces the same bytes as np.save of a C-contiguous float64
 * array with NumPy >= 1.24 (which also leaves room for the first dimension to
 * grow to 21 digits; older NumPy pads less, but for small shapes the header
 * rounds to the same 64-byte multiple).
 */
#include "als_npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
#define NPY_GROWTH_DIGITS 21        /* numpy.lib.format.GROWTH_AXIS_MAX_DIGITS */
#define NPY_MAX_HEADER (1u << 20)   /* refuse absurd header lengths */
#define NPY_IO_CHUNK ((size_t)1 << 30)

int als_npy_host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Reverse the bytes of n doubles in place (big-endian hosts only). */
static void swap8(double *a, size_t n)
{
    unsigned char *p = (unsigned char *)a;
    for (size_t i = 0; i < n; i++, p += 8)
        for (int k = 0; k < 4; k++) {
            unsigned char c = p[k];
            p[k] = p[7 - k];
            p[7 - k] = c;
        }
}

/* ---- writer -------------------------------------------------------------- */

/* Write all n bytes of p to fd, retrying short writes and EINTR.
 * Returns 0, or -1 with errno set. */
static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n < NPY_IO_CHUNK ? n : NPY_IO_CHUNK);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Build the version 1.0 header for a rows×cols '<f8' C-order array in h
 * (capacity >= ALS_NPY_HEADER_MAX). Returns its length (a multiple of 64). */
size_t als_npy_header(char *h, int64_t rows, int64_t cols)
{
    char dict[160];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '<f8', 'fortran_order': False, 'shape': (%lld, %lld), }",
                     (long long)rows, (long long)cols);
    char digits[32];
    int nd = snprintf(digits, sizeof digits, "%lld", (long long)rows);
    size_t growth = nd < NPY_GROWTH_DIGITS ? (size_t)(NPY_GROWTH_DIGITS - nd) : 0;
    size_t hlen = (size_t)n + growth + 1;                                  /* incl. '\n' */
    size_t pad = NPY_ALIGN - (NPY_MAGIC_LEN + 4 + hlen) % NPY_ALIGN;        /* NumPy: 1..64 */
    size_t body = hlen + pad;
    memcpy(h, NPY_MAGIC, NPY_MAGIC_LEN);
    h[6] = 1;
    h[7] = 0;
    h[8] = (char)(body & 0xff);
    h[9] = (char)(body >> 8);
    memcpy(h + 10, dict, (size_t)n);
    memset(h + 10 + n, ' ', body - (size_t)n - 1);
    h[10 + body - 1] = '\n';
    return 10 + body;
}

/* Write a rows×cols row-major float64 matrix to path as .npy v1.0. */
int als_npy_write(const char *path, const double *a, int64_t rows, int64_t cols,
                  als_err_t *err)
{
    if (!path)
        return als_err_set(err, ALS_ERR_ARG, "als_npy_write: NULL path");
    int64_t count, bytes;
    if (rows < 0 || cols < 0 || __builtin_mul_overflow(rows, cols, &count) ||
        __builtin_mul_overflow(count, (int64_t)8, &bytes))
        return als_err_set(err, ALS_ERR_ARG, "%s: invalid matrix shape (%lld, %lld)", path,
                           (long long)rows, (long long)cols);
    if (count > 0 && !a)
        return als_err_set(err, ALS_ERR_ARG, "%s: NULL data for a %lld x %lld matrix", path,
                           (long long)rows, (long long)cols);

    char h[ALS_NPY_HEADER_MAX];
    size_t hl = als_npy_header(h, rows, cols);

    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return als_err_set(err, ALS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    struct stat st;
    int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    const char *what = "cannot write";

    if (write_all(fd, h, hl) != 0)
        goto fail;
    if (als_npy_host_little_endian()) {
        if (write_all(fd, a, (size_t)bytes) != 0)
            goto fail;
    } else {
        double tmp[1024];
        for (int64_t i = 0; i < count; i += 1024) {
            size_t m = (size_t)(count - i < 1024 ? count - i : 1024);
            memcpy(tmp, a + i, m * 8);
            swap8(tmp, m);
            if (write_all(fd, tmp, m * 8) != 0)
                goto fail;
        }
    }
    /* fsync: EINVAL means the file type cannot be synced (pipe, terminal). */
    what = "cannot sync";
    if (fsync(fd) != 0 && errno != EINVAL)
        goto fail;
    what = "cannot close";
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    return ALS_OK;

fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (regular)
        unlink(path);
    return als_err_set(err, ALS_ERR_IO, "%s: %s: %s", path, what, strerror(e));
}

/* ---- reader -------------------------------------------------------------- */

/* Read up to n bytes from fd into p, retrying short reads and EINTR.
 * Returns the number of bytes read (< n only at end of file), or -1. */
static ssize_t read_full(int fd, void *p, size_t n)
{
    char *c = p;
    size_t got = 0;
    while (got < n) {
        size_t want = n - got < NPY_IO_CHUNK ? n - got : NPY_IO_CHUNK;
        ssize_t r = read(fd, c + got, want);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Copy up to n bytes of s into dst (capacity cap >= 16), escaping
 * non-printable bytes as \xHH and cutting long text with "...". */
static void quote_bytes(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 8 >= cap) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
        else
            dst[o++] = (char)c;
    }
    dst[o] = '\0';
}

/* Parsed header fields. Raw value texts point into the header copy. */
typedef struct {
    const char *descr, *fortran, *shape; /* raw value text, NULL if absent */
    size_t descr_len, fortran_len, shape_len;
} npy_hdr_t;

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Scan one Python literal value at p (string, bracketed, or bare word) and
 * return its end (the ',' or '}' that follows at depth 0, trailing blanks
 * excluded), or NULL when it is unterminated. */
static const char *scan_value(const char *p)
{
    int depth = 0;
    const char *last = p;
    while (*p) {
        char c = *p;
        if (c == '\'' || c == '"') {
            const char *q = strchr(p + 1, c);
            if (!q)
                return NULL;
            p = q + 1;
            last = p;
            continue;
        }
        if (c == '(' || c == '[' || c == '{')
            depth++;
        else if (c == ')' || c == ']' || c == '}') {
            if (depth == 0)
                return last;
            depth--;
        } else if (c == ',' && depth == 0)
            return last;
        p++;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            last = p;
    }
    return NULL;
}

/* Parse the header dict h (NUL-terminated) into *out. Returns NULL on success
 * or a static description of the syntax error. */
static const char *parse_dict(const char *h, npy_hdr_t *out)
{
    memset(out, 0, sizeof *out);
    const char *p = skip_ws(h);
    if (*p != '{')
        return "header is not a Python dict";
    p = skip_ws(p + 1);
    while (*p != '}') {
        char q = *p;
        if (q != '\'' && q != '"')
            return "expected a quoted key in the header dict";
        const char *k = p + 1, *ke = strchr(k, q);
        if (!ke)
            return "unterminated key in the header dict";
        p = skip_ws(ke + 1);
        if (*p != ':')
            return "expected ':' after a key in the header dict";
        p = skip_ws(p + 1);
        const char *v = p, *ve = scan_value(p);
        if (!ve || ve == v)
            return "malformed value in the header dict";
        size_t kl = (size_t)(ke - k), vl = (size_t)(ve - v);
        if (kl == 5 && memcmp(k, "descr", 5) == 0) {
            out->descr = v;
            out->descr_len = vl;
        } else if (kl == 13 && memcmp(k, "fortran_order", 13) == 0) {
            out->fortran = v;
            out->fortran_len = vl;
        } else if (kl == 5 && memcmp(k, "shape", 5) == 0) {
            out->shape = v;
            out->shape_len = vl;
        } else {
            return "unexpected key in the header dict (expected descr, fortran_order, shape)";
        }
        p = skip_ws(ve);
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p != '}')
            return "expected ',' or '}' in the header dict";
    }
    p = skip_ws(p + 1);
    if (*p)
        return "unexpected text after the header dict";
    return NULL;
}

/* True when the descr literal [v, v+n) names little-endian float64. */
static int descr_is_f8(const char *v, size_t n)
{
    static const char *ok[] = {"<f8", "float64", "f8", "<d", "d", NULL};
    static const char *ok_native[] = {"=f8", "=d", NULL};
    if (n < 2 || (v[0] != '\'' && v[0] != '"') || v[n - 1] != v[0])
        return 0;
    v++;
    n -= 2;
    for (int i = 0; ok[i]; i++)
        if (strlen(ok[i]) == n && memcmp(v, ok[i], n) == 0)
            return 1;
    if (als_npy_host_little_endian())
        for (int i = 0; ok_native[i]; i++)
            if (strlen(ok_native[i]) == n && memcmp(v, ok_native[i], n) == 0)
                return 1;
    return 0;
}

/* Parse a shape tuple literal [v, v+n) such as "(2, 3)" or "(5,)" into dims
 * (at most maxd). Returns the number of dimensions, or -1 if malformed. */
static int parse_shape(const char *v, size_t n, int64_t *dims, int maxd)
{
    char s[256];
    if (n >= sizeof s)
        return -1;
    memcpy(s, v, n);
    s[n] = '\0';
    const char *p = skip_ws(s);
    if (*p != '(')
        return -1;
    p = skip_ws(p + 1);
    int nd = 0;
    while (*p != ')') {
        if (*p < '0' || *p > '9' || nd == maxd)
            return -1;
        int64_t x = 0;
        while (*p >= '0' && *p <= '9') {
            if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, *p - '0', &x))
                return -1;
            p++;
        }
        if (*p == 'L') /* Python 2 long */
            p++;
        dims[nd++] = x;
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p != ')')
            return -1;
    }
    p = skip_ws(p + 1);
    return *p ? -1 : nd;
}

/* Read and check the header of a 2-D float64 .npy file open on fd (at offset
 * 0); see als_npy.h. */
int als_npy_read_header(int fd, const char *path, int64_t *rows, int64_t *cols,
                        int64_t *offset, als_err_t *err)
{
    int rc = ALS_OK;
    char *hdr = NULL;
    char pre[12], tok[96];
    ssize_t got = read_full(fd, pre, 8);
    if (got < 0)
        goto ioerr;
    if (got < NPY_MAGIC_LEN || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
        quote_bytes(tok, sizeof tok, pre, (size_t)(got < NPY_MAGIC_LEN ? got : NPY_MAGIC_LEN));
        rc = als_err_set(err, ALS_ERR_FORMAT,
                         "%s: not a .npy file (bad magic: expected '\\x93NUMPY', found '%s')",
                         path, tok);
        goto out;
    }
    if (got < 8) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: truncated header (file ends after %zd bytes)",
                         path, got);
        goto out;
    }
    int major = (unsigned char)pre[6], minor = (unsigned char)pre[7];
    size_t lenbytes;
    if (major == 1 && minor == 0)
        lenbytes = 2;
    else if ((major == 2 || major == 3) && minor == 0)
        lenbytes = 4;
    else {
        rc = als_err_set(err, ALS_ERR_FORMAT,
                         "%s: unsupported .npy format version %d.%d (expected 1.0, 2.0 or 3.0)",
                         path, major, minor);
        goto out;
    }
    got = read_full(fd, pre + 8, lenbytes);
    if (got < 0)
        goto ioerr;
    if ((size_t)got < lenbytes) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: truncated header (file ends after %zd bytes)",
                         path, 8 + got);
        goto out;
    }
    const unsigned char *L = (const unsigned char *)pre + 8;
    uint32_t hlen = lenbytes == 2 ? (uint32_t)(L[0] | L[1] << 8)
                                  : (uint32_t)L[0] | (uint32_t)L[1] << 8 |
                                        (uint32_t)L[2] << 16 | (uint32_t)L[3] << 24;
    if (hlen > NPY_MAX_HEADER) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: implausible header length %u bytes", path,
                         hlen);
        goto out;
    }
    size_t offset_b = 8 + lenbytes + hlen;
    hdr = malloc((size_t)hlen + 1);
    if (!hdr) {
        rc = als_err_set(err, ALS_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    got = read_full(fd, hdr, hlen);
    if (got < 0)
        goto ioerr;
    if ((size_t)got < hlen) {
        rc = als_err_set(err, ALS_ERR_FORMAT,
                         "%s: truncated header: expected %u bytes, found %zd", path, hlen, got);
        goto out;
    }
    hdr[hlen] = '\0';
    if (strlen(hdr) != hlen) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: NUL byte in the header", path);
        goto out;
    }

    npy_hdr_t h;
    const char *why = parse_dict(hdr, &h);
    if (!why && !h.descr)
        why = "header lacks 'descr'";
    if (!why && !h.fortran)
        why = "header lacks 'fortran_order'";
    if (!why && !h.shape)
        why = "header lacks 'shape'";
    if (why) {
        quote_bytes(tok, sizeof tok, hdr, hlen);
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: %s (header '%s')", path, why, tok);
        goto out;
    }
    if (!descr_is_f8(h.descr, h.descr_len)) {
        quote_bytes(tok, sizeof tok, h.descr, h.descr_len);
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: dtype %s, expected '<f8'", path, tok);
        goto out;
    }
    if (h.fortran_len == 4 && memcmp(h.fortran, "True", 4) == 0) {
        rc = als_err_set(err, ALS_ERR_FORMAT,
                         "%s: fortran_order is True (column-major data), expected False", path);
        goto out;
    }
    if (!(h.fortran_len == 5 && memcmp(h.fortran, "False", 5) == 0)) {
        quote_bytes(tok, sizeof tok, h.fortran, h.fortran_len);
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: fortran_order %s, expected False", path, tok);
        goto out;
    }
    int64_t dims[32];
    int nd = parse_shape(h.shape, h.shape_len, dims, 32);
    quote_bytes(tok, sizeof tok, h.shape, h.shape_len);
    if (nd < 0) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: malformed shape %s", path, tok);
        goto out;
    }
    if (nd != 2) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: shape %s is %d-D, expected a 2-D matrix",
                         path, tok, nd);
        goto out;
    }
    int64_t count, bytes;
    if (__builtin_mul_overflow(dims[0], dims[1], &count) ||
        __builtin_mul_overflow(count, (int64_t)8, &bytes)) {
        rc = als_err_set(err, ALS_ERR_FORMAT, "%s: shape %s is too large", path, tok);
        goto out;
    }
    /* Check the size before allocating, so a corrupt shape cannot ask for
     * terabytes: for a regular file the bytes present are known. */
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        int64_t present = (int64_t)st.st_size - (int64_t)offset_b;
        if (present < bytes) {
            rc = als_err_set(err, ALS_ERR_FORMAT,
                             "%s: truncated data: shape %s needs %lld bytes after the %zu-byte "
                             "header, found %lld", path, tok, (long long)bytes, offset_b,
                             (long long)(present < 0 ? 0 : present));
            goto out;
        }
    }
    *rows = dims[0];
    *cols = dims[1];
    *offset = (int64_t)offset_b;
    goto out;

ioerr:
    rc = als_err_set(err, ALS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
out:
    free(hdr);
    return rc;
}

/* Read a 2-D float64 .npy matrix (see als_npy.h). */
int als_npy_read(const char *path, double **a, int64_t *rows, int64_t *cols,
                 als_err_t *err)
{
    if (a)
        *a = NULL;
    if (rows)
        *rows = 0;
    if (cols)
        *cols = 0;
    if (!path || !a || !rows || !cols)
        return als_err_set(err, ALS_ERR_ARG, "als_npy_read: NULL argument");

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return als_err_set(err, ALS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    double *data = NULL;
    int64_t r = 0, c = 0, offset = 0;
    int rc = als_npy_read_header(fd, path, &r, &c, &offset, err);
    if (rc != ALS_OK)
        goto out;
    int64_t count = r * c, bytes = count * 8; /* checked by als_npy_read_header */
    char tok[96];
    snprintf(tok, sizeof tok, "(%lld, %lld)", (long long)r, (long long)c);
    data = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (!data) {
        rc = als_err_set(err, ALS_ERR_NOMEM, "%s: cannot allocate %lld bytes", path,
                         (long long)bytes);
        goto out;
    }
    ssize_t got = read_full(fd, data, (size_t)bytes);
    if (got < 0)
        goto ioerr;
    if (got < bytes) {
        rc = als_err_set(err, ALS_ERR_FORMAT,
                         "%s: truncated data: shape %s needs %lld bytes after the %lld-byte "
                         "header, found %zd", path, tok, (long long)bytes, (long long)offset, got);
        goto out;
    }
    char extra;
    got = read_full(fd, &extra, 1);
    if (got < 0)
        goto ioerr;
    if (got > 0) {
        rc = als_err_set(err, ALS_ERR_FORMAT,
                         "%s: trailing bytes after the %lld-byte data of shape %s", path,
                         (long long)bytes, tok);
        goto out;
    }
    if (!als_npy_host_little_endian())
        swap8(data, (size_t)count);
    *a = data;
    *rows = r;
    *cols = c;
    data = NULL;
    goto out;

ioerr:
    rc = als_err_set(err, ALS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
out:
    free(data);
    close(fd);
    return rc;
}
