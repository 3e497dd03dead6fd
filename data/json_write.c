// data/json_write.c: JSON writer (see data/json_write.h).
#include "data/json_write.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct cpr_jw *w, const char *s, size_t n) {
    if (w->failed) return;
    if (w->len + n + 1 > w->cap) {
        size_t nc = w->cap ? w->cap : 256;
        while (nc < w->len + n + 1) nc *= 2;
        char *nb = realloc(w->buf, nc);
        if (!nb) {
            w->failed = CPR_ERR_NOMEM;
            return;
        }
        w->buf = nb;
        w->cap = nc;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

static void puts_(struct cpr_jw *w, const char *s) { put(w, s, strlen(s)); }

static void misuse(struct cpr_jw *w, const char *why) {
    if (!w->failed) {
        w->failed = CPR_ERR_INTERNAL;
        w->why = why;
    }
}

static void newline_indent(struct cpr_jw *w) {
    if (!w->indent) return;
    put(w, "\n", 1);
    for (int i = 0; i < w->depth * w->indent; i++) put(w, " ", 1);
}

// Separator before a value (or before a key inside an object).
static void before_value(struct cpr_jw *w) {
    if (w->depth == 0) {
        if (w->len > 0) misuse(w, "a second top-level value");
        return;
    }
    if (w->is_obj[w->depth - 1]) {
        if (!w->key_pending) misuse(w, "a value inside an object without a key");
        w->key_pending = 0;
        return;
    }
    if (w->n_items[w->depth - 1]) put(w, ",", 1);
    w->n_items[w->depth - 1] = 1;
    newline_indent(w);
}

void cpr_jw_init(struct cpr_jw *w, int indent) {
    memset(w, 0, sizeof *w);
    w->indent = indent;
}

void cpr_jw_free(struct cpr_jw *w) {
    free(w->buf);
    memset(w, 0, sizeof *w);
}

static void begin(struct cpr_jw *w, int obj) {
    before_value(w);
    if (w->depth >= CPR_JW_MAX_DEPTH) {
        misuse(w, "nesting deeper than CPR_JW_MAX_DEPTH");
        return;
    }
    put(w, obj ? "{" : "[", 1);
    w->is_obj[w->depth] = (unsigned char)obj;
    w->n_items[w->depth] = 0;
    w->depth++;
}

static void end(struct cpr_jw *w, int obj) {
    if (w->depth == 0 || w->is_obj[w->depth - 1] != obj || w->key_pending) {
        misuse(w, "unbalanced end of object/array");
        return;
    }
    int had = w->n_items[w->depth - 1];
    w->depth--;
    if (had) newline_indent(w);
    put(w, obj ? "}" : "]", 1);
}

void cpr_jw_begin_object(struct cpr_jw *w) { begin(w, 1); }
void cpr_jw_end_object(struct cpr_jw *w) { end(w, 1); }
void cpr_jw_begin_array(struct cpr_jw *w) { begin(w, 0); }
void cpr_jw_end_array(struct cpr_jw *w) { end(w, 0); }

void cpr_jw_key(struct cpr_jw *w, const char *key) {
    if (w->depth == 0 || !w->is_obj[w->depth - 1] || w->key_pending) {
        misuse(w, "a key outside an object or two keys in a row");
        return;
    }
    if (w->n_items[w->depth - 1]) put(w, ",", 1);
    w->n_items[w->depth - 1] = 1;
    newline_indent(w);
    cpr_jw_append_escaped(w, key, strlen(key));
    put(w, w->indent ? ": " : ":", w->indent ? 2 : 1);
    w->key_pending = 1;
}

// Length of a valid UTF-8 sequence at s (first byte >= 0x80), 0 if invalid.
static size_t utf8_len(const unsigned char *s, size_t avail) {
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else return 0;
    if (avail < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return len;
}

void cpr_jw_append_escaped(struct cpr_jw *w, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    put(w, "\"", 1);
    size_t run = 0; // start of a run of bytes copied verbatim
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        const char *esc = NULL;
        char hex[8];
        size_t adv = 1;
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\t') esc = "\\t";
        else if (c == '\r') esc = "\\r";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c < 0x20) {
            snprintf(hex, sizeof hex, "\\u%04x", c);
            esc = hex;
        } else if (c >= 0x80) {
            adv = utf8_len(u + i, n - i);
            if (!adv) {
                esc = "\\ufffd";
                adv = 1;
            }
        }
        if (esc) {
            put(w, s + run, i - run);
            puts_(w, esc);
            run = i + adv;
        }
        i += adv;
    }
    put(w, s + run, n - run);
    put(w, "\"", 1);
}

void cpr_jw_string_n(struct cpr_jw *w, const char *s, size_t n) {
    before_value(w);
    cpr_jw_append_escaped(w, s, n);
}

void cpr_jw_string(struct cpr_jw *w, const char *s) {
    if (!s) {
        cpr_jw_null(w);
        return;
    }
    cpr_jw_string_n(w, s, strlen(s));
}

void cpr_jw_int(struct cpr_jw *w, int64_t v) {
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    before_value(w);
    puts_(w, b);
}

void cpr_jw_format_double(double v, char out[32]) {
    if (!isfinite(v)) {
        strcpy(out, "null");
        return;
    }
    // Shortest digit count that reads back exactly, then Python's repr
    // layout: fixed notation for decimal exponents in [-4, 16), else
    // scientific ("1e-06", "1e+16").
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(out, 32, "%.*e", prec - 1, v);
        if (strtod(out, NULL) == v) break;
    }
    snprintf(out, 32, "%.*e", prec - 1, v);
    int exp10 = atoi(strchr(out, 'e') + 1);
    if (exp10 >= -4 && exp10 < 16) {
        int decimals = prec - 1 - exp10;
        snprintf(out, 32, "%.*f", decimals > 0 ? decimals : 0, v);
        if (!strchr(out, '.')) strcat(out, ".0");
    }
}

void cpr_jw_double(struct cpr_jw *w, double v) {
    char b[32];
    cpr_jw_format_double(v, b);
    before_value(w);
    puts_(w, b);
}

void cpr_jw_bool(struct cpr_jw *w, int v) {
    before_value(w);
    puts_(w, v ? "true" : "false");
}

void cpr_jw_null(struct cpr_jw *w) {
    before_value(w);
    puts_(w, "null");
}

enum cpr_status cpr_jw_finish(struct cpr_jw *w, struct cpr_err *err) {
    if (!w->failed && (w->depth != 0 || w->key_pending || w->len == 0))
        misuse(w, "incomplete document (open object/array or pending key)");
    if (w->failed == CPR_ERR_NOMEM)
        return cpr_err_set(err, CPR_ERR_NOMEM,
                           "JSON writer: out of memory at %zu bytes", w->len);
    if (w->failed)
        return cpr_err_set(err, CPR_ERR_INTERNAL, "JSON writer misuse: %s",
                           w->why ? w->why : "?");
    if (w->indent) put(w, "\n", 1);
    if (w->failed)
        return cpr_err_set(err, CPR_ERR_NOMEM, "JSON writer: out of memory");
    return CPR_OK;
}
