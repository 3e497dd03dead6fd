// cli/strbuf.h: a growing text buffer for the files the report and the
// sweep build in memory (tables, SVG, JSON lines) before writing them in
// one piece. Allocation failure is sticky: later appends do nothing and
// strbuf_status reports it once, so call sites need no checks.
#ifndef CPR_CLI_STRBUF_H
#define CPR_CLI_STRBUF_H

#include <stddef.h>

#include "core/status.h"

struct strbuf {
    char *buf;   // NUL-terminated text (NULL until the first append)
    size_t len, cap;
    int oom;     // an allocation failed
};

void strbuf_add(struct strbuf *s, const char *p, size_t n);
void strbuf_puts(struct strbuf *s, const char *str);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void strbuf_printf(struct strbuf *s, const char *fmt, ...);
// CPR_ERR_NOMEM (naming `what`) after a failed allocation, else CPR_OK.
enum cpr_status strbuf_status(const struct strbuf *s, const char *what,
                              struct cpr_err *err);
void strbuf_free(struct strbuf *s);

#endif
