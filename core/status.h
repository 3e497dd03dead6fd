// core/status.h: status codes and the caller-owned error record.
//
// Every fallible library call returns an enum cpr_status and, on failure,
// fills a struct cpr_err owned by the caller with a message that says what
// failed, where (file / tensor / byte offset), expected vs found, and a hint.
// Library code never prints and never exits; only cli/ does.
#ifndef CPR_CORE_STATUS_H
#define CPR_CORE_STATUS_H

enum cpr_status {
    CPR_OK = 0,
    CPR_ERR_IO,          // open/read/write/mmap failed
    CPR_ERR_FORMAT,      // bytes do not follow the file format
    CPR_ERR_SHAPE,       // shapes or sizes disagree
    CPR_ERR_NOMEM,       // an allocation failed
    CPR_ERR_ARG,         // a caller-supplied option or argument is invalid
    CPR_ERR_UNSUPPORTED, // valid input we do not handle (yet)
    CPR_ERR_NOTFOUND,    // a named file, tensor or dataset does not exist
    CPR_ERR_NUMERIC,     // NaN/Inf or a failed factorization
    CPR_ERR_INTERNAL,    // a broken invariant that is not the user's fault
    CPR_STATUS_COUNT
};

struct cpr_err {
    enum cpr_status code;
    char msg[256];
};

// Short name of a status ("CPR_ERR_FORMAT" -> "format error").
const char *cpr_status_str(enum cpr_status s);

// Record an error: sets err->code and formats err->msg (printf-style,
// truncated to fit). err may be NULL. Returns code, so callers can write
// `return cpr_err_set(err, CPR_ERR_IO, "...")`.
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
enum cpr_status cpr_err_set(struct cpr_err *err, enum cpr_status code,
                            const char *fmt, ...);

// Clear an error record to CPR_OK with an empty message. err may be NULL.
void cpr_err_clear(struct cpr_err *err);

// Propagate a failing status: `CPR_TRY(cpr_x(...));` inside a function that
// returns enum cpr_status and has nothing to clean up.
#define CPR_TRY(expr)                                                          \
    do {                                                                       \
        enum cpr_status cpr_try_s_ = (expr);                                   \
        if (cpr_try_s_ != CPR_OK) return cpr_try_s_;                           \
    } while (0)

#endif
