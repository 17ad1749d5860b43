/* als_text.c - reading ratings and social-link text files (local, one rank).
 *
 * The file is read with read(2) in blocks of ALS_TEXT_BLOCK bytes into one
 * buffer; complete lines are parsed in place and the unfinished tail is moved
 * to the front before the next read (the buffer doubles when a single line is
 * longer than it). Every line handed to the parser ends in a '\n' (a final
 * line without one gets a sentinel '\n'; a CRLF's '\r' is overwritten with
 * '\n'), so the scanners below never need an explicit end pointer: '\n' stops
 * every one of them.
 *
 * Ids are parsed by hand with overflow checks; values go through a fast path
 * that is exact (a decimal with at most 19 significant digits, mantissa
 * <= 2^53 and at most 22 fraction digits is m / 10^k, both exact doubles, so
 * the IEEE division is the correctly rounded value strtod would return) and
 * fall back to strtod otherwise.
 *
 * Every physical line is accounted for exactly once:
 *     lines == n + header + comments + self_loops
 * (for .mtx files the banner and '%' lines count as comments and the size
 * line as the header).
 */
#include "als_text.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes requested per read(2). Shrink with -DALS_TEXT_BLOCK=... to exercise
 * lines split across blocks; any value >= 1 is correct. */
#ifndef ALS_TEXT_BLOCK
#define ALS_TEXT_BLOCK ((size_t)16 << 20)
#endif

/* Parser state for one file. */
typedef struct {
    const char *path;
    als_triplets_t *t;
    als_err_t *err;
    int social;          /* ALS_TEXT_SOCIAL */
    int value_col;       /* 0-based value column (>= 2) */
    int seen_first;      /* the first non-comment line has been seen */
    int quiet;           /* no "note: ... skipped as a header" on stderr */
    /* MatrixMarket */
    int mtx;             /* the file is a .mtx file */
    int mtx_state;       /* 0: expect banner, 1: expect size line, 2: entries */
    int mtx_pattern;     /* field is "pattern": no value column */
    uint64_t mtx_rows, mtx_cols, mtx_nnz, mtx_seen;
    int64_t mtx_size_line;
} text_reader_t;

/* ---- small scanners (every line ends in '\n') ---------------------------- */

/* A blank inside a line: space or tab. */
static inline int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* True when p is at the end of a field: a blank, a comma, "::" or the end of
 * the line. Reading p[1] is safe because ':' is not the terminating '\n'. */
static inline int at_field_end(const char *p)
{
    char c = *p;
    return c == ' ' || c == '\t' || c == ',' || c == '\n' || (c == ':' && p[1] == ':');
}

/* Skip one separator after a field: blanks, at most one ',' or "::", blanks.
 * Returns the start of the next field (which is '\n' at the end of the line,
 * or another ',' when that field is empty). */
static inline const char *skip_sep(const char *p)
{
    while (is_blank(*p))
        p++;
    if (*p == ',')
        p++;
    else if (*p == ':' && p[1] == ':')
        p += 2;
    while (is_blank(*p))
        p++;
    return p;
}

/* The end of the field starting at p (see at_field_end). */
static inline const char *field_end(const char *p)
{
    while (!at_field_end(p))
        p++;
    return p;
}

/* Parse an unsigned 64-bit decimal id (digits only: no sign) that must be
 * followed by the end of the field. Returns the end of the field, or NULL when the field
 * is not such an id (id_error then says why). */
static inline const char *parse_id(const char *p, uint64_t *out)
{
    unsigned d = (unsigned)(unsigned char)*p - '0';
    if (d > 9)
        return NULL;
    uint64_t v = 0;
    do {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v))
            return NULL;
        d = (unsigned)(unsigned char)*++p - '0';
    } while (d <= 9);
    if (!at_field_end(p))
        return NULL;
    *out = v;
    return p;
}

static const double pow10_exact[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Is [p, e) a decimal number: -?digits[.digits][(e|E)[+-]digits] (at least one
 * digit in the mantissa), or a word strtod reads as inf/nan (rejected later as
 * non-finite, with that message)? No leading '+', no hexadecimal. */
static int decimal_syntax(const char *p, const char *e)
{
    if (p < e && *p == '-')
        p++;
    if (e - p >= 3 && (!strncasecmp(p, "inf", 3) || !strncasecmp(p, "nan", 3)))
        return 1;
    int nd = 0;
    while (p < e && *p >= '0' && *p <= '9')
        p++, nd++;
    if (p < e && *p == '.') {
        p++;
        while (p < e && *p >= '0' && *p <= '9')
            p++, nd++;
    }
    if (nd == 0)
        return 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        int ne = 0;
        while (p < e && *p >= '0' && *p <= '9')
            p++, ne++;
        if (ne == 0)
            return 0;
    }
    return p == e;
}

/* Parse the value field [p, e). Returns 1 and sets *out when the whole field
 * is a decimal number (finite or not), 2 when it is one whose magnitude is
 * below the smallest normal double (underflow: 1e-400), 0 otherwise. Exact
 * fast path for plain decimals, strtod for the rest (exponents, inf, nan,
 * long), after a check that the field is decimal (no hex, no '+'). */
static inline int parse_value(const char *p, const char *e, double *out)
{
    const char *q = p;
    int neg = 0;
    if (*q == '-') {
        neg = 1;
        q++;
    }
    uint64_t m = 0;
    int nd = 0, frac = 0;
    unsigned d;
    while ((d = (unsigned)(unsigned char)*q - '0') <= 9) {
        m = m * 10 + d; /* wraps only when nd > 19, which is rejected */
        nd++;
        q++;
    }
    if (*q == '.') {
        q++;
        while ((d = (unsigned)(unsigned char)*q - '0') <= 9) {
            m = m * 10 + d;
            nd++;
            frac++;
            q++;
        }
    }
    if (q == e && nd > 0 && nd <= 19 && m <= (UINT64_C(1) << 53) && frac <= 22) {
        double v = (double)m / pow10_exact[frac];
        *out = neg ? -v : v;
        return 1;
    }
    if (p == e || !decimal_syntax(p, e))
        return 0;
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (end != e)
        return 0;
    *out = v;
    if (errno == ERANGE && isfinite(v) && fabs(v) < DBL_MIN) {
        /* underflow, unless the digits are all zero (0e-400 is zero) */
        for (const char *z = p; z < e && *z != 'e' && *z != 'E'; z++)
            if (*z >= '1' && *z <= '9')
                return 2;
    }
    return 1;
}

/* True when the field at p starts like a number (used to tell a header line
 * from data): a digit, or a sign and/or '.' followed by a digit. */
static int starts_number(const char *p)
{
    if (*p == '+' || *p == '-')
        p++;
    if (*p == '.')
        p++;
    return *p >= '0' && *p <= '9';
}

/* ---- error reporting (slow path) ----------------------------------------- */

/* Copy [p, e) into dst (capacity cap >= 16) for quoting in a message:
 * non-printable bytes become \xHH and long fields are cut with "...". */
static void quote_field(char *dst, size_t cap, const char *p, const char *e)
{
    size_t o = 0;
    for (; p < e; p++) {
        unsigned char c = (unsigned char)*p;
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

/* Record "PATH:LINE: message" with the given code; returns code. */
static int line_error(text_reader_t *r, int code, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noinline, cold));
static int line_error(text_reader_t *r, int code, int64_t line, const char *fmt, ...)
{
    char msg[ALS_ERR_MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return als_err_set(r->err, code, "%s:%lld: %s", r->path, (long long)line, msg);
}

/* Explain why the field at p (column col, 0-based) is not a valid id named
 * `what` ("user id", ...). Always returns ALS_ERR_PARSE. */
static int id_error(text_reader_t *r, int64_t line, const char *what, int col, const char *p)
    __attribute__((noinline, cold));
static int id_error(text_reader_t *r, int64_t line, const char *what, int col, const char *p)
{
    const char *e = field_end(p);
    char tok[96];
    quote_field(tok, sizeof tok, p, e);
    if (p == e)
        return line_error(r, ALS_ERR_PARSE, line, "%s is missing (column %d is empty)", what,
                          col + 1);
    if (*p == '-' && starts_number(p))
        return line_error(r, ALS_ERR_PARSE, line,
                          "%s '%s' is negative (ids are unsigned 64-bit integers)", what, tok);
    if (*p == '+')
        return line_error(r, ALS_ERR_PARSE, line, "%s '%s' has a leading '+' (ids are plain "
                          "unsigned decimal integers)", what, tok);
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return line_error(r, ALS_ERR_PARSE, line, "%s '%s' is hexadecimal (ids are plain "
                          "unsigned decimal integers)", what, tok);
    /* Classify: digits only (overflow), a decimal with fraction/exponent, or junk. */
    const char *q = p;
    if (*q == '+')
        q++;
    const char *d0 = q;
    while (*q >= '0' && *q <= '9')
        q++;
    int ndig = (int)(q - d0);
    if (q == e && ndig > 0)
        return line_error(r, ALS_ERR_PARSE, line, "%s '%s' does not fit in 64 bits", what, tok);
    int fracdig = 0, decimal = 0;
    if (*q == '.') {
        decimal = 1;
        q++;
        while (*q >= '0' && *q <= '9') {
            q++;
            fracdig++;
        }
    }
    if (ndig + fracdig > 0 && (*q == 'e' || *q == 'E')) {
        const char *x = q + 1;
        if (*x == '+' || *x == '-')
            x++;
        if (*x >= '0' && *x <= '9') {
            while (*x >= '0' && *x <= '9')
                x++;
            q = x;
            decimal = 1;
        }
    }
    if (decimal && q == e && ndig + fracdig > 0)
        return line_error(r, ALS_ERR_PARSE, line,
                          "%s '%s' has a fraction or exponent (ids are unsigned 64-bit integers)",
                          what, tok);
    return line_error(r, ALS_ERR_PARSE, line, "%s '%s' is not an unsigned integer", what, tok);
}

/* The value field [p, e) named `what` did not parse as a number. */
static int value_error(text_reader_t *r, int64_t line, const char *what, int col,
                       const char *p, const char *e) __attribute__((noinline, cold));
static int value_error(text_reader_t *r, int64_t line, const char *what, int col,
                       const char *p, const char *e)
{
    char tok[96];
    if (p == e)
        return line_error(r, ALS_ERR_PARSE, line, "%s is missing (column %d is empty)", what,
                          col + 1);
    quote_field(tok, sizeof tok, p, e);
    const char *q = *p == '-' || *p == '+' ? p + 1 : p;
    if (*p == '+')
        return line_error(r, ALS_ERR_PARSE, line, "%s '%s' has a leading '+' (write plain "
                          "decimal numbers)", what, tok);
    if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
        return line_error(r, ALS_ERR_PARSE, line, "%s '%s' is hexadecimal (write decimal "
                          "numbers)", what, tok);
    return line_error(r, ALS_ERR_PARSE, line, "%s '%s' is not a number", what, tok);
}

/* The value [p, e) underflows to zero or a subnormal. */
static int underflow_error(text_reader_t *r, int64_t line, const char *what, const char *p,
                           const char *e) __attribute__((noinline, cold));
static int underflow_error(text_reader_t *r, int64_t line, const char *what, const char *p,
                           const char *e)
{
    char tok[96];
    quote_field(tok, sizeof tok, p, e);
    return line_error(r, ALS_ERR_DATA, line, "%s '%s' underflows (its magnitude is below "
                      "%.4g, the smallest normal double; write 0 for zero)", what, tok, DBL_MIN);
}

/* The value v parsed from [p, e) is not acceptable (non-finite, or a negative
 * weight). Returns ALS_ERR_DATA. */
static int bad_value(text_reader_t *r, int64_t line, const char *what, const char *p,
                     const char *e, double v) __attribute__((noinline, cold));
static int bad_value(text_reader_t *r, int64_t line, const char *what, const char *p,
                     const char *e, double v)
{
    char tok[96];
    quote_field(tok, sizeof tok, p, e);
    if (!isfinite(v))
        return line_error(r, ALS_ERR_DATA, line, "%s '%s' is not a finite number", what, tok);
    return line_error(r, ALS_ERR_DATA, line, "negative %s %s (weights must be >= 0)", what, tok);
}

/* ---- storage ------------------------------------------------------------- */

/* Grow the triplet arrays geometrically. Returns ALS_OK or ALS_ERR_NOMEM. */
static int grow(text_reader_t *r) __attribute__((noinline));
static int grow(text_reader_t *r)
{
    als_triplets_t *t = r->t;
    int64_t nc = t->cap ? t->cap * 2 : 65536;
    if (nc > INT64_MAX / 16)
        return als_err_set(r->err, ALS_ERR_NOMEM, "%s: too many entries", r->path);
    void *p;
    if (!(p = realloc(t->row, (size_t)nc * sizeof *t->row)))
        goto nomem;
    t->row = p;
    if (!(p = realloc(t->col, (size_t)nc * sizeof *t->col)))
        goto nomem;
    t->col = p;
    if (!(p = realloc(t->val, (size_t)nc * sizeof *t->val)))
        goto nomem;
    t->val = p;
    t->cap = nc;
    return ALS_OK;
nomem:
    return als_err_set(r->err, ALS_ERR_NOMEM, "%s: out of memory after %lld entries", r->path,
                       (long long)t->n);
}

/* Append one triplet, dropping (and counting) social self-links. */
static inline int push(text_reader_t *r, uint64_t i, uint64_t j, double v)
{
    als_triplets_t *t = r->t;
    if (r->social && i == j) {
        t->self_loops++;
        return ALS_OK;
    }
    if (t->n == t->cap) {
        int rc = grow(r);
        if (rc)
            return rc;
    }
    t->row[t->n] = i;
    t->col[t->n] = j;
    t->val[t->n] = v;
    t->n++;
    return ALS_OK;
}

/* ---- MatrixMarket -------------------------------------------------------- */

/* Copy the next blank-separated word at *pp into w (cut to cap-1 bytes),
 * advancing *pp past it. Returns the word length (0 at the end of the line). */
static size_t next_word(const char **pp, char *w, size_t cap)
{
    const char *p = *pp;
    while (is_blank(*p))
        p++;
    const char *s = p;
    while (*p != '\n' && !is_blank(*p))
        p++;
    size_t n = (size_t)(p - s);
    size_t c = n < cap - 1 ? n : cap - 1;
    memcpy(w, s, c);
    w[c] = '\0';
    *pp = p;
    return n;
}

/* Check the "%%MatrixMarket matrix coordinate FIELD general" banner. */
static int mtx_banner(text_reader_t *r, const char *p, const char *e, int64_t line)
{
    char w[64], tok[96];
    const char *q = p;
    next_word(&q, w, sizeof w);
    if (strcasecmp(w, "%%MatrixMarket") != 0) {
        quote_field(tok, sizeof tok, p, e);
        return line_error(r, ALS_ERR_PARSE, line,
                          "missing MatrixMarket banner '%%%%MatrixMarket matrix coordinate real "
                          "general' (found '%s')", tok);
    }
    next_word(&q, w, sizeof w);
    if (strcasecmp(w, "matrix") != 0)
        return line_error(r, ALS_ERR_PARSE, line,
                          "unsupported MatrixMarket object '%s' (expected 'matrix')", w);
    next_word(&q, w, sizeof w);
    if (strcasecmp(w, "coordinate") != 0)
        return line_error(r, ALS_ERR_PARSE, line,
                          "unsupported MatrixMarket format '%s' (only 'coordinate' is supported)",
                          w);
    next_word(&q, w, sizeof w);
    if (strcasecmp(w, "pattern") == 0) {
        if (!r->social)
            return line_error(r, ALS_ERR_DATA, line,
                              "MatrixMarket 'pattern' matrix has no values (ratings need 'real' "
                              "or 'integer')");
        r->mtx_pattern = 1;
    } else if (strcasecmp(w, "real") != 0 && strcasecmp(w, "integer") != 0) {
        return line_error(r, ALS_ERR_PARSE, line,
                          "unsupported MatrixMarket field '%s' (expected real, integer or pattern)",
                          w);
    }
    next_word(&q, w, sizeof w);
    if (strcasecmp(w, "general") != 0)
        return line_error(r, ALS_ERR_PARSE, line,
                          "unsupported MatrixMarket symmetry '%s' (only 'general' is supported)",
                          w);
    r->mtx_state = 1;
    return ALS_OK;
}

/* One line of a .mtx file (p is at its first non-blank byte, e at its '\n'). */
static int mtx_line(text_reader_t *r, const char *p, const char *e, int64_t line)
    __attribute__((noinline));
static int mtx_line(text_reader_t *r, const char *p, const char *e, int64_t line)
{
    als_triplets_t *t = r->t;
    if (r->mtx_state == 0) {
        if (*p == '\n') {
            t->comments++;
            return ALS_OK;
        }
        t->comments++;
        return mtx_banner(r, p, e, line);
    }
    if (*p == '\n' || *p == '%') {
        t->comments++;
        return ALS_OK;
    }
    char tok[96];
    const char *what_i = r->social ? "row (truster) index" : "row (user) index";
    const char *what_j = r->social ? "column (trustee) index" : "column (item) index";
    if (r->mtx_state == 1) {
        uint64_t dim[3];
        const char *q = p;
        for (int k = 0; k < 3; k++) {
            q = parse_id(q, &dim[k]);
            if (!q)
                break;
            q = skip_sep(q);
        }
        if (!q || *q != '\n') {
            quote_field(tok, sizeof tok, p, e);
            return line_error(r, ALS_ERR_PARSE, line,
                              "expected the MatrixMarket size line 'ROWS COLS ENTRIES' "
                              "(found '%s')", tok);
        }
        r->mtx_rows = dim[0];
        r->mtx_cols = dim[1];
        r->mtx_nnz = dim[2];
        r->mtx_size_line = line;
        r->mtx_state = 2;
        t->header = 1;
        return ALS_OK;
    }
    uint64_t i, j;
    double v = 1.0;
    const char *q = parse_id(p, &i);
    if (!q)
        return id_error(r, line, what_i, 0, p);
    p = skip_sep(q);
    if (*p == '\n')
        return line_error(r, ALS_ERR_PARSE, line, "expected at least %d columns (row col%s), "
                          "found 1", r->mtx_pattern ? 2 : 3, r->mtx_pattern ? "" : " value");
    q = parse_id(p, &j);
    if (!q)
        return id_error(r, line, what_j, 1, p);
    if (!r->mtx_pattern) {
        p = skip_sep(q);
        if (*p == '\n')
            return line_error(r, ALS_ERR_PARSE, line,
                              "expected at least 3 columns (row col value), found 2");
        q = field_end(p);
        int pv = parse_value(p, q, &v);
        if (pv == 2)
            return underflow_error(r, line, "value", p, q);
        if (!pv)
            return value_error(r, line, r->social ? "weight" : "rating", 2, p, q);
        if (!isfinite(v) || (r->social && v < 0))
            return bad_value(r, line, r->social ? "weight" : "rating", p, q, v);
    }
    if (i < 1 || i > r->mtx_rows)
        return line_error(r, ALS_ERR_DATA, line,
                          "%s %llu outside 1..%llu (the size line %lld declares %llu x %llu)",
                          what_i, (unsigned long long)i, (unsigned long long)r->mtx_rows,
                          (long long)r->mtx_size_line, (unsigned long long)r->mtx_rows,
                          (unsigned long long)r->mtx_cols);
    if (j < 1 || j > r->mtx_cols)
        return line_error(r, ALS_ERR_DATA, line,
                          "%s %llu outside 1..%llu (the size line %lld declares %llu x %llu)",
                          what_j, (unsigned long long)j, (unsigned long long)r->mtx_cols,
                          (long long)r->mtx_size_line, (unsigned long long)r->mtx_rows,
                          (unsigned long long)r->mtx_cols);
    if (r->mtx_seen == r->mtx_nnz)
        return line_error(r, ALS_ERR_PARSE, line,
                          "more entries than the %llu declared by the size line %lld",
                          (unsigned long long)r->mtx_nnz, (long long)r->mtx_size_line);
    r->mtx_seen++;
    return push(r, i, j, v);
}

/* Checks at the end of a .mtx file (after `lines` lines). */
static int mtx_finish(text_reader_t *r, int64_t lines)
{
    if (r->mtx_state == 1)
        return line_error(r, ALS_ERR_PARSE, lines,
                          "missing the MatrixMarket size line 'ROWS COLS ENTRIES' "
                          "(found end of file)");
    if (r->mtx_state == 2 && r->mtx_seen != r->mtx_nnz)
        return line_error(r, ALS_ERR_PARSE, lines,
                          "file ends after %llu entries, the size line %lld declares %llu",
                          (unsigned long long)r->mtx_seen, (long long)r->mtx_size_line,
                          (unsigned long long)r->mtx_nnz);
    return ALS_OK;
}

/* ---- delimited text ------------------------------------------------------ */

/* Parse one line [p, e) of a ratings or social file; *e == '\n'. */
static inline int text_line(text_reader_t *r, const char *p, const char *e, int64_t line)
{
    als_triplets_t *t = r->t;
    if (__builtin_expect(line == 1, 0) && e - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
        p += 3; /* a UTF-8 byte-order mark */
        t->bom = 1;
    }
    while (is_blank(*p))
        p++;
    if (r->mtx)
        return mtx_line(r, p, e, line);
    if (*p == '\n' || *p == '#' || *p == '%') {
        t->comments++;
        return ALS_OK;
    }
    if (__builtin_expect(!r->seen_first, 0)) {
        r->seen_first = 1;
        if (!starts_number(p)) {
            t->header = 1;
            t->header_line = line;
            quote_field(t->header_text, sizeof t->header_text, p, e);
            if (!r->quiet)
                fprintf(stderr, "note: %s:%lld skipped as a header: '%s'\n", r->path,
                        (long long)line, t->header_text);
            return ALS_OK;
        }
    }
    const int social = r->social;
    uint64_t i, j;
    const char *q = parse_id(p, &i);
    if (__builtin_expect(!q, 0))
        return id_error(r, line, social ? "truster id" : "user id", 0, p);
    p = skip_sep(q);
    if (__builtin_expect(*p == '\n', 0))
        goto short_line_1;
    q = parse_id(p, &j);
    if (__builtin_expect(!q, 0))
        return id_error(r, line, social ? "trustee id" : "item id", 1, p);
    p = skip_sep(q);
    int col = 2;
    while (col < r->value_col && *p != '\n') {
        p = skip_sep(field_end(p));
        col++;
    }
    double v = 1.0;
    if (*p == '\n') {
        if (!social)
            goto short_line;
        /* no weight column: weight 1 */
    } else {
        q = field_end(p);
        int pv = parse_value(p, q, &v);
        if (__builtin_expect(pv != 1, 0))
            return pv == 2 ? underflow_error(r, line, social ? "weight" : "rating", p, q)
                           : value_error(r, line, social ? "weight" : "rating", col, p, q);
        if (__builtin_expect(!isfinite(v) || (social && v < 0), 0))
            return bad_value(r, line, social ? "weight" : "rating", p, q, v);
    }
    return push(r, i, j, v);

short_line_1:
    col = 1;
short_line:
    if (social || r->value_col == 2)
        return line_error(r, ALS_ERR_PARSE, line,
                          "expected at least %d columns (%s), found %d", social ? 2 : 3,
                          social ? "truster trustee [weight]" : "user item rating", col);
    return line_error(r, ALS_ERR_PARSE, line,
                      "expected at least %d columns (user item ... with the rating in column "
                      "%d), found %d", r->value_col + 1, r->value_col + 1, col);
}

/* ---- file reading -------------------------------------------------------- */

/* True when path ends in ".mtx" (any case). */
static int is_mtx_path(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".mtx") == 0;
}

/* als_text_read with an explicit read size `block` (bytes per read(2), >= 1):
 * the unit tests call this with tiny blocks to split lines everywhere. */
static int text_read_block(const char *path, als_text_kind_t kind, const als_text_opts_t *opts,
                           als_triplets_t *t, als_err_t *err, size_t block)
{
    if (t)
        memset(t, 0, sizeof *t);
    if (!path || !t)
        return als_err_set(err, ALS_ERR_ARG, "als_text_read: NULL %s", path ? "triplets" : "path");
    if (kind != ALS_TEXT_RATINGS && kind != ALS_TEXT_SOCIAL)
        return als_err_set(err, ALS_ERR_ARG, "%s: invalid file kind %d", path, (int)kind);
    int vc = opts && opts->value_col ? opts->value_col : 2;
    if (vc < 2 && !is_mtx_path(path)) /* value_col is ignored for .mtx files */
        return als_err_set(err, ALS_ERR_ARG,
                           "%s: value column %d overlaps the id columns (must be >= 2, 0-based)",
                           path, vc);
    if (block < 1)
        block = 1;

    text_reader_t r = {0};
    r.path = path;
    r.t = t;
    r.err = err;
    r.social = kind == ALS_TEXT_SOCIAL;
    r.value_col = vc;
    r.mtx = is_mtx_path(path);

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return als_err_set(err, ALS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = block;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return als_err_set(err, ALS_ERR_NOMEM, "%s: cannot allocate a %zu-byte read buffer",
                           path, cap + 1);
    }
    int rc = ALS_OK;
    int64_t line = 0;
    size_t len = 0;
    for (;;) {
        size_t want = cap - len < block ? cap - len : block;
        ssize_t got = read(fd, buf + len, want);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            rc = als_err_set(err, ALS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
        len += (size_t)got;
        int eof = got == 0;
        if (eof && len > 0)
            buf[len++] = '\n'; /* sentinel for a last line without newline (cap+1 bytes) */
        char *p = buf, *end = buf + len, *nl;
        while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            line++;
            char *e = nl;
            if (e > p && e[-1] == '\r') {
                e[-1] = '\n';
                e--;
            }
            rc = text_line(&r, p, e, line);
            if (rc)
                goto done;
            p = nl + 1;
        }
        if (eof)
            break;
        len = (size_t)(end - p);
        if (p != buf && len > 0)
            memmove(buf, p, len);
        if (len == cap) { /* a line longer than the buffer */
            if (cap > SIZE_MAX / 4) {
                rc = als_err_set(err, ALS_ERR_NOMEM, "%s:%lld: line too long", path,
                                 (long long)line + 1);
                break;
            }
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                rc = als_err_set(err, ALS_ERR_NOMEM, "%s:%lld: line too long (%zu bytes)", path,
                                 (long long)line + 1, len);
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
done:
    t->lines = line;
    if (rc == ALS_OK && r.mtx)
        rc = mtx_finish(&r, line);
    free(buf);
    close(fd);
    return rc;
}

/* Read a ratings or social file into t (see als_text.h). */
int als_text_read(const char *path, als_text_kind_t kind, const als_text_opts_t *opts,
                  als_triplets_t *t, als_err_t *err)
{
    return text_read_block(path, kind, opts, t, err, ALS_TEXT_BLOCK);
}

/* Free the arrays of t and zero it (t may be NULL or already freed). */
void als_triplets_free(als_triplets_t *t)
{
    if (!t)
        return;
    free(t->row);
    free(t->col);
    free(t->val);
    memset(t, 0, sizeof *t);
}
