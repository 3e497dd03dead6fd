// cli/strbuf.c: growing text buffer (see strbuf.h).
#include "cli/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct strbuf *s, size_t need) {
    if (s->oom) return -1;
    if (s->len + need + 1 <= s->cap) return 0;
    size_t cap = s->cap ? s->cap : 256;
    while (cap < s->len + need + 1) cap *= 2;
    char *b = realloc(s->buf, cap);
    if (!b) {
        s->oom = 1;
        return -1;
    }
    s->buf = b, s->cap = cap;
    return 0;
}

void strbuf_add(struct strbuf *s, const char *p, size_t n) {
    if (grow(s, n)) return;
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = 0;
}

void strbuf_puts(struct strbuf *s, const char *str) {
    strbuf_add(s, str, strlen(str));
}

void strbuf_printf(struct strbuf *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(s, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(s->buf + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

enum cpr_status strbuf_status(const struct strbuf *s, const char *what,
                              struct cpr_err *err) {
    if (s->oom)
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", what);
    return CPR_OK;
}

void strbuf_free(struct strbuf *s) {
    free(s->buf);
    memset(s, 0, sizeof *s);
}
