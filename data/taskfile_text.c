// data/taskfile_text.c: the string rules of the harness (Python's strip
// whitespace set, len() in code points, HellaSwag's preprocess) and
// _encode_pair. See data/taskfile.h.
#include <stdlib.h>
#include <string.h>

#include "data/taskfile.h"

// Length in bytes of the whitespace code point ending at s[len-1], or 0.
// Python's str.isspace: \t\n\v\f\r, \x1c-\x1f, space, U+0085, U+00A0,
// U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
static size_t trailing_space(const unsigned char *s, size_t len) {
    if (len == 0) return 0;
    unsigned char c = s[len - 1];
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    if (len >= 2 && s[len - 2] == 0xc2 && (c == 0x85 || c == 0xa0)) return 2;
    if (len >= 3) {
        unsigned a = s[len - 3], b = s[len - 2];
        if (a == 0xe1 && b == 0x9a && c == 0x80) return 3;          // U+1680
        if (a == 0xe2 && b == 0x80 && ((c >= 0x80 && c <= 0x8a) ||  // 2000-200A
                                       c == 0xa8 || c == 0xa9 ||    // 2028-9
                                       c == 0xaf))                  // 202F
            return 3;
        if (a == 0xe2 && b == 0x81 && c == 0x9f) return 3;          // 205F
        if (a == 0xe3 && b == 0x80 && c == 0x80) return 3;          // 3000
    }
    return 0;
}

// Same, for the code point starting at s[0] (s has n bytes).
static size_t leading_space(const unsigned char *s, size_t n) {
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        if (trailing_space(s, k) == k) return k;
    }
    return 0;
}

size_t cpr_task_rstrip_len(const char *s, size_t len) {
    size_t k;
    while ((k = trailing_space((const unsigned char *)s, len)) > 0) len -= k;
    return len;
}

int64_t cpr_task_utf8_chars(const char *s) {
    int64_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80) n++;
    return n;
}

// Python's str.strip(): [*b, *e) of s without surrounding whitespace.
static void strip_range(const char *s, size_t *b, size_t *e) {
    size_t len = strlen(s), i = 0, k;
    len = cpr_task_rstrip_len(s, len);
    while (i < len && (k = leading_space((const unsigned char *)s + i, len - i)) > 0)
        i += k;
    *b = i;
    *e = len;
}

// Replace every non-overlapping `from` with `to` (left to right), as
// Python's str.replace. Returns a malloc'd string.
static char *replace_all(const char *s, const char *from, const char *to) {
    size_t lf = strlen(from), lt = strlen(to), n = 0;
    for (const char *p = strstr(s, from); p; p = strstr(p + lf, from)) n++;
    size_t len = strlen(s);
    char *out = malloc(len + n * (lt > lf ? lt - lf : 0) + 1);
    if (!out) return NULL;
    char *o = out;
    const char *p = s, *q;
    while ((q = strstr(p, from)) != NULL) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, lt);
        o += lt;
        p = q + lf;
    }
    strcpy(o, p);
    return out;
}

char *cpr_task_hellaswag_preprocess(const char *text) {
    size_t b, e;
    strip_range(text, &b, &e);
    char *t = malloc(e - b + 1);
    if (!t) return NULL;
    memcpy(t, text + b, e - b);
    t[e - b] = 0;
    char *u = replace_all(t, " [title]", ". ");
    free(t);
    if (!u) return NULL;
    // re.sub("\\[.*?\\]", "", u): '.' does not match a newline.
    char *o = u;
    for (const char *p = u; *p;) {
        if (*p == '[') {
            const char *q = p + 1;
            while (*q && *q != ']' && *q != '\n') q++;
            if (*q == ']') {
                p = q + 1;
                continue;
            }
        }
        *o++ = *p++;
    }
    *o = 0;
    char *v = replace_all(u, "  ", " ");
    free(u);
    return v;
}

// encode() without special tokens at the end: lm-eval encodes with
// add_special_tokens=False, so an EOS that the tokenizer appends by its own
// convention (add_eos_token) is dropped. Whether it appends one is seen
// from the empty string's encoding.
static enum cpr_status encode(const struct cpr_tokenizer *t, const char *s,
                              size_t len, int bos, int32_t **ids, int64_t *n,
                              struct cpr_err *err) {
    *ids = NULL;
    *n = 0;
    int32_t *e = NULL;
    int64_t ne = 0;
    CPR_TRY(cpr_tokenizer_encode(t, "", 0, 0, &e, &ne, err));
    int eos_added = ne > 0 && t->eos_id >= 0 && e[ne - 1] == t->eos_id;
    free(e);
    CPR_TRY(cpr_tokenizer_encode(t, s, len, bos, ids, n, err));
    if (eos_added && *n > 0 && (*ids)[*n - 1] == t->eos_id) (*n)--;
    return CPR_OK;
}

enum cpr_status cpr_task_encode_pair(const struct cpr_tokenizer *t,
                                     const char *ctx, const char *cont,
                                     int bos, int32_t **ctx_ids,
                                     int64_t *n_ctx, int32_t **cont_ids,
                                     int64_t *n_cont, struct cpr_err *err) {
    *ctx_ids = *cont_ids = NULL;
    *n_ctx = *n_cont = 0;
    size_t lc = strlen(ctx), lo = strlen(cont);
    if (lc == 0) {
        if (t->bos_id < 0)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                               "a request with an empty context needs a BOS "
                               "token as its prefix, and the tokenizer %s has "
                               "none", t->source);
        *ctx_ids = malloc(sizeof **ctx_ids);
        if (!*ctx_ids) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
        (*ctx_ids)[0] = t->bos_id;
        *n_ctx = 1;
        enum cpr_status s = encode(t, cont, lo, 0, cont_ids, n_cont, err);
        if (s) {
            free(*ctx_ids);
            *ctx_ids = NULL;
            *n_ctx = 0;
        }
        return s;
    }
    size_t keep = cpr_task_rstrip_len(ctx, lc);
    char *whole = malloc(lc + lo + 1);
    if (!whole) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    memcpy(whole, ctx, lc);
    memcpy(whole + lc, cont, lo + 1);
    int32_t *w = NULL, *c = NULL;
    int64_t nw = 0, nc = 0;
    enum cpr_status s = encode(t, whole, lc + lo, bos, &w, &nw, err);
    if (!s) s = encode(t, ctx, keep, bos, &c, &nc, err);
    free(whole);
    if (s) goto fail;
    int64_t m = nw > nc ? nw - nc : 0;
    *cont_ids = malloc((size_t)(m > 0 ? m : 1) * sizeof **cont_ids);
    if (!*cont_ids) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (m > 0) memcpy(*cont_ids, w + nc, (size_t)m * sizeof *w);
    *n_cont = m;
    *ctx_ids = c;
    *n_ctx = nc;
    free(w);
    return CPR_OK;
fail:
    free(w);
    free(c);
    return s;
}
