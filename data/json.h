// data/json.h: a small, strict JSON parser (RFC 8259) for the files cprune
// reads: config.json, tokenizer.json, tokenizer_config.json, safetensors
// headers, model.safetensors.index.json.
//
// What it is: the full grammar (objects, arrays, strings, numbers, true,
// false, null), UTF-8 validation of the whole input (overlong forms,
// surrogates encoded in UTF-8 and code points above U+10FFFF are rejected),
// \uXXXX escapes including surrogate pairs (a lone surrogate is an error,
// because the decoded strings are UTF-8), a nesting depth limit, and errors
// that carry the position: "<name>: line L col C: expected ',' or '}' found
// 'x'". Objects keep their members in file order; duplicate keys are kept
// (cpr_json_get returns the LAST one, as Python's json and JavaScript do;
// readers that must reject duplicates check themselves).
//
// What it is not: a streaming parser or a DOM you can edit. The whole tree
// lives in one document that owns all memory; nodes and strings stay valid
// until cpr_json_free. The input buffer is not referenced after parsing.
//
// Numbers: every number is kept as the nearest double (strtod, C locale)
// and, when its value is an integer that fits int64 exactly, also as
// `i` with `is_int` = 1 (integer literals are converted digit by digit, so
// values beyond 2^53 are exact; "1e3" and "2.0" count as integers too).
// Literals that overflow double (1e999) are a format error.
#ifndef CPR_DATA_JSON_H
#define CPR_DATA_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

// Default nesting limit (arrays + objects). Real files nest < 10 deep.
#define CPR_JSON_MAX_DEPTH 128

enum cpr_json_type {
    CPR_JSON_NULL = 0,
    CPR_JSON_BOOL,
    CPR_JSON_NUMBER,
    CPR_JSON_STRING,
    CPR_JSON_ARRAY,
    CPR_JSON_OBJECT,
};

struct cpr_json {
    enum cpr_json_type type;
    int boolean;             // BOOL: 0 or 1
    int is_int;              // NUMBER: value is integral and fits int64
    int64_t i;               // NUMBER with is_int
    double num;              // NUMBER: nearest double
    const char *str;         // STRING: decoded UTF-8, NUL-terminated
                             // (may hold embedded NULs from \u0000: use len)
    size_t len;              // STRING: bytes; ARRAY/OBJECT: members
    const char *key;         // member of an OBJECT: decoded key, else NULL
    size_t key_len;          // bytes of key
    struct cpr_json **items; // ARRAY/OBJECT: the len members in file order
};

// The parsed tree and the memory behind it. Zero-initialize before use;
// cpr_json_free accepts a zeroed or failed document.
struct cpr_json_doc {
    struct cpr_json *root;
    size_t n_nodes;          // values in the tree (for tests/diagnostics)
    // private
    void *blocks;            // chain of node blocks
    char *strings;           // all decoded strings, back to back
    struct cpr_json **item_pool;
};

// Parse buf[0..len) (no NUL terminator needed). `name` (e.g. the file
// path) prefixes error messages; NULL means "json". Trailing whitespace is
// allowed, anything else after the value is an error. max_depth 0 means
// CPR_JSON_MAX_DEPTH.
// Errors: CPR_ERR_FORMAT (syntax, bad UTF-8, depth, number overflow) with
// line/col, CPR_ERR_NOMEM. On error *doc is left empty.
enum cpr_status cpr_json_parse(struct cpr_json_doc *doc, const char *buf,
                               size_t len, const char *name, int max_depth,
                               struct cpr_err *err);

void cpr_json_free(struct cpr_json_doc *doc);

// ---- lookups (all accept NULL and return NULL / the default) ----

// Member `key` of an object (last one when duplicated), else NULL.
const struct cpr_json *cpr_json_get(const struct cpr_json *obj,
                                    const char *key);
// Element i of an array (or member i of an object), else NULL.
const struct cpr_json *cpr_json_at(const struct cpr_json *v, size_t i);
// Number of members of an array/object, 0 otherwise.
size_t cpr_json_len(const struct cpr_json *v);

int cpr_json_is(const struct cpr_json *v, enum cpr_json_type t);
// Type name for messages: "null", "bool", "number", "string", "array",
// "object", "missing" (v == NULL).
const char *cpr_json_type_name(const struct cpr_json *v);

// Typed getters of member `key` of obj: return `def` when obj is not an
// object, the key is missing, or the value is JSON null.
// Use cpr_json_get + the type check when a wrong type must be an error.
const char *cpr_json_get_str(const struct cpr_json *obj, const char *key,
                             const char *def);
double cpr_json_get_num(const struct cpr_json *obj, const char *key,
                        double def);
int64_t cpr_json_get_int(const struct cpr_json *obj, const char *key,
                         int64_t def); // def also when not an exact integer
int cpr_json_get_bool(const struct cpr_json *obj, const char *key, int def);

// 1 when the string value equals the NUL-terminated s (byte-exact).
int cpr_json_str_eq(const struct cpr_json *v, const char *s);

#endif
