// data/json_write.h: a small JSON writer for cprune's output files
// (config.json of saved models, --json result files, safetensors headers).
//
// Values are appended to a growing buffer; commas, colons and (optional)
// indentation are inserted automatically. Strings are escaped per RFC 8259:
// '"', '\\' and control characters are escaped (\n \t \r \b \f or \u00XX),
// valid UTF-8 is copied as is, and each byte of invalid UTF-8 becomes
// \ufffd so the output is always valid JSON. Doubles are written with the
// fewest digits that read back to the same double ("1e-06", "10000.0");
// NaN and +-Inf, which JSON cannot express, are written as null.
//
// Errors are sticky: allocation failure or misuse (a value where a key is
// due, unbalanced end calls, nesting deeper than CPR_JW_MAX_DEPTH) is
// recorded and reported by cpr_jw_finish, so call sites need no checks.
#ifndef CPR_DATA_JSON_WRITE_H
#define CPR_DATA_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define CPR_JW_MAX_DEPTH 64

struct cpr_jw {
    char *buf;       // NUL-terminated text (malloc'd), valid after finish
    size_t len, cap;
    int indent;      // spaces per level; 0 = compact one line
    int depth;
    unsigned char n_items[CPR_JW_MAX_DEPTH]; // members written (capped at 1)
    unsigned char is_obj[CPR_JW_MAX_DEPTH];
    int key_pending; // a key was written, its value is due
    int failed;      // 0, or a cpr_status
    const char *why; // misuse description
};

void cpr_jw_init(struct cpr_jw *w, int indent);
void cpr_jw_free(struct cpr_jw *w);

void cpr_jw_begin_object(struct cpr_jw *w);
void cpr_jw_end_object(struct cpr_jw *w);
void cpr_jw_begin_array(struct cpr_jw *w);
void cpr_jw_end_array(struct cpr_jw *w);
// Member name inside an object; the next value call supplies its value.
void cpr_jw_key(struct cpr_jw *w, const char *key);

void cpr_jw_string(struct cpr_jw *w, const char *s);
void cpr_jw_string_n(struct cpr_jw *w, const char *s, size_t n);
void cpr_jw_int(struct cpr_jw *w, int64_t v);
void cpr_jw_double(struct cpr_jw *w, double v);
void cpr_jw_bool(struct cpr_jw *w, int v);
void cpr_jw_null(struct cpr_jw *w);

// Check the document is complete (depth 0, no pending key) and nothing
// failed; appends a final newline when indent > 0. Afterwards w->buf /
// w->len hold the text. Errors: CPR_ERR_NOMEM, CPR_ERR_INTERNAL (misuse).
enum cpr_status cpr_jw_finish(struct cpr_jw *w, struct cpr_err *err);

// Escape s[0..n) as a JSON string literal (with quotes) appended to w's
// buffer without any separator logic (for callers building text by hand).
void cpr_jw_append_escaped(struct cpr_jw *w, const char *s, size_t n);

// Shortest decimal text that parses back to v (at most 17 significant
// digits), laid out as Python's repr: fixed notation with at least one
// decimal ("10000.0", "0.1") for exponents in [-4, 16), else scientific
// ("1e-06"). out needs 32 bytes. Non-finite v gives "null".
void cpr_jw_format_double(double v, char out[32]);

#endif
