// core/status.c: status names and error-record helpers.
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const status_names[CPR_STATUS_COUNT] = {
    [CPR_OK] = "ok",
    [CPR_ERR_IO] = "I/O error",
    [CPR_ERR_FORMAT] = "format error",
    [CPR_ERR_SHAPE] = "shape error",
    [CPR_ERR_NOMEM] = "out of memory",
    [CPR_ERR_ARG] = "invalid argument",
    [CPR_ERR_UNSUPPORTED] = "unsupported",
    [CPR_ERR_NOTFOUND] = "not found",
    [CPR_ERR_NUMERIC] = "numerical error",
    [CPR_ERR_INTERNAL] = "internal error",
};

const char *cpr_status_str(enum cpr_status s) {
    if ((unsigned)s >= CPR_STATUS_COUNT) return "unknown status";
    return status_names[s];
}

enum cpr_status cpr_err_set(struct cpr_err *err, enum cpr_status code,
                            const char *fmt, ...) {
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void cpr_err_clear(struct cpr_err *err) {
    if (err) {
        err->code = CPR_OK;
        err->msg[0] = '\0';
    }
}
