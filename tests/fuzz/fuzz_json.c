// tests/fuzz/fuzz_json.c: libFuzzer harness for the JSON parser
// (data/json.c), the config.json reader on top of it, and the writer's
// escaping (every parsed string is re-escaped and must parse back equal).
// Built and run by `make fuzz`.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "data/hf_config.h"
#include "data/json.h"
#include "data/json_write.h"

static void walk(const struct cpr_json *v, int depth) {
    if (depth > CPR_JSON_MAX_DEPTH + 1) __builtin_trap();
    for (size_t i = 0; i < cpr_json_len(v); i++) {
        const struct cpr_json *c = cpr_json_at(v, i);
        if (!c) __builtin_trap();
        if (v->type == CPR_JSON_OBJECT && cpr_json_get(v, c->key) == NULL &&
            strlen(c->key) == c->key_len)
            __builtin_trap();
        walk(c, depth + 1);
    }
    if (v->type == CPR_JSON_STRING) {
        // Escape and re-parse: must give the same bytes (valid UTF-8 in,
        // so the writer never substitutes U+FFFD).
        struct cpr_jw w;
        cpr_jw_init(&w, 0);
        cpr_jw_string_n(&w, v->str, v->len);
        struct cpr_err e;
        if (cpr_jw_finish(&w, &e) == CPR_OK) {
            struct cpr_json_doc d;
            if (cpr_json_parse(&d, w.buf, w.len, "rt", 0, &e) != CPR_OK ||
                d.root->len != v->len || memcmp(d.root->str, v->str, v->len))
                __builtin_trap();
            cpr_json_free(&d);
        }
        cpr_jw_free(&w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct cpr_json_doc d;
    struct cpr_err e;
    if (cpr_json_parse(&d, (const char *)data, size, "fuzz", 0, &e) == CPR_OK) {
        walk(d.root, 0);
        cpr_json_free(&d);
    } else if (e.code != CPR_ERR_FORMAT || d.root) {
        __builtin_trap();
    }
    struct cpr_model_config c;
    (void)cpr_hf_config_parse((const char *)data, size, "config.json", &c, &e);
    return 0;
}
