// tests/test_data_json.c: the JSON parser (data/json.c) and writer
// (data/json_write.c): grammar, UTF-8 and \u escapes, numbers, depth, error
// positions, lookups, a writer -> parser round trip, and parse speed on a
// tokenizer-sized document.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/json.h"
#include "data/json_write.h"
#include "tests/harness.h"

static enum cpr_status parse(struct cpr_json_doc *d, const char *s,
                             struct cpr_err *e) {
    return cpr_json_parse(d, s, strlen(s), "t.json", 0, e);
}

// One malformed document: expected status and a message substring.
struct bad_case {
    const char *text;
    size_t len; // 0: strlen
    const char *needle;
};

static void test_malformed(struct cpr_test_ctx *t) {
    static const struct bad_case cases[] = {
        {"", 0, "line 1 col 1: expected a value found end of input"},
        {"   \n  ", 0, "line 2 col 3: expected a value"},
        {"{\"a\":1,}", 0, "col 8: expected '\"' starting an object key found '}'"},
        {"[1,2", 0, "expected ',' or ']' found end of input"},
        {"{\"a\":1 \"b\":2}", 0, "expected ',' or '}' found '\"'"},
        {"{\"a\" 1}", 0, "expected ':' after object key"},
        {"\"abc", 0, "unterminated string"},
        {"\"a\\qb\"", 0, "invalid escape"},
        {"\"\\u12g4\"", 0, "expected 4 hex digits"},
        {"\"\\ud83d\"", 0, "low surrogate"},
        {"\"\\ude00\"", 0, "lone low surrogate"},
        {"\"\\ud83d\\u0041\"", 0, "low surrogate"},
        {"\"\xc0\xaf\"", 0, "invalid UTF-8 in string: found byte 0xc0"},       // overlong '/'
        {"\"\xed\xa0\x80\"", 0, "invalid UTF-8"},                              // UTF-8 surrogate
        {"\"\xf4\x90\x80\x80\"", 0, "invalid UTF-8"},                          // > U+10FFFF
        {"\"\xe2\x82\"", 0, "invalid UTF-8"},                                  // truncated
        {"\"\xff\"", 0, "found byte 0xff"},
        {"\"a\tb\"", 0, "control character in string"},
        {"01", 0, "leading zero"},
        {"-", 0, "expected a digit in number"},
        {"1.", 0, "expected a digit after '.'"},
        {"1e+", 0, "expected a digit in exponent"},
        {"1e400", 0, "number too large"},
        {"[1] x", 0, "col 5: expected end of input after the value found 'x'"},
        {"tru", 0, "expected a value (true, false or null)"},
        {"NaN", 0, "found 'N'"},
        {"\xef\xbb\xbf{}", 0, "byte order mark"},
        {"{\"a\":\n  [1,\n   }", 0, "line 3 col 4: expected a value"},
        {"[1,\0]", 5, "found byte 0x00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cpr_json_doc d;
        struct cpr_err e = {0};
        size_t n = cases[i].len ? cases[i].len : strlen(cases[i].text);
        enum cpr_status s = cpr_json_parse(&d, cases[i].text, n, "t.json", 0, &e);
        CPR_CHECK_STATUS(t, s, CPR_ERR_FORMAT, &e, cases[i].needle);
        CPR_CHECK(t, d.root == NULL, "case %zu: root left set on error", i);
        CPR_CHECK(t, strncmp(e.msg, "t.json: line ", 13) == 0,
                  "case %zu: message lacks the position: %s", i, e.msg);
    }
}

static void test_depth(struct cpr_test_ctx *t) {
    char buf[2 * 200 + 1];
    for (int depth = 127; depth <= 129; depth++) {
        memset(buf, '[', (size_t)depth);
        memset(buf + depth, ']', (size_t)depth);
        struct cpr_json_doc d;
        struct cpr_err e = {0};
        enum cpr_status s = cpr_json_parse(&d, buf, 2 * (size_t)depth, "deep", 0, &e);
        if (depth <= CPR_JSON_MAX_DEPTH) CPR_CHECK_STATUS(t, s, CPR_OK, &e, NULL);
        else CPR_CHECK_STATUS(t, s, CPR_ERR_FORMAT, &e, "nesting deeper than 128");
        cpr_json_free(&d);
    }
    // A caller-chosen limit, and deep objects.
    struct cpr_json_doc d;
    struct cpr_err e = {0};
    CPR_CHECK_STATUS(t, cpr_json_parse(&d, "{\"a\":{\"b\":{}}}", 14, "x", 2, &e),
                     CPR_ERR_FORMAT, &e, "deeper than 2");
    // 100k unclosed brackets: must fail fast without deep recursion.
    size_t n = 100000;
    char *big = malloc(n);
    memset(big, '[', n);
    CPR_CHECK_STATUS(t, cpr_json_parse(&d, big, n, "big", 0, &e), CPR_ERR_FORMAT,
                     &e, "nesting");
    free(big);
}

static void test_values(struct cpr_test_ctx *t) {
    struct cpr_json_doc d;
    struct cpr_err e = {0};
    const char *s =
        " {\"s\": \"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\","
        "  \"z\": \"x\\u0000y\", \"i\": -9223372036854775808, \"j\": 9223372036854775807,"
        "  \"k\": 9223372036854775808, \"f\": 1.5e-3, \"e\": 1E3, \"n\": null,"
        "  \"t\": true, \"b\": false, \"a\": [1, [2, {}], []], \"d\": 1, \"d\": 2,"
        "  \"\xc3\xa9\": \"\xf0\x9f\x98\x80\", \"neg0\": -0 } \r\n";
    CPR_CHECK_STATUS(t, parse(&d, s, &e), CPR_OK, &e, NULL);
    if (!d.root) return;
    const struct cpr_json *r = d.root;
    CPR_CHECK(t, r->type == CPR_JSON_OBJECT && r->len == 15, "root len %zu", r->len);
    const struct cpr_json *v = cpr_json_get(r, "s");
    const char want[] = "a\"b\\c/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    CPR_CHECK(t, v && v->len == sizeof want - 1 && !memcmp(v->str, want, v->len),
              "escapes decoded wrong");
    v = cpr_json_get(r, "z");
    CPR_CHECK(t, v && v->len == 3 && v->str[1] == 0 && v->str[2] == 'y',
              "\\u0000 must keep the length");
    v = cpr_json_get(r, "i");
    CPR_CHECK(t, v && v->is_int && v->i == INT64_MIN, "INT64_MIN");
    v = cpr_json_get(r, "j");
    CPR_CHECK(t, v && v->is_int && v->i == INT64_MAX, "INT64_MAX");
    v = cpr_json_get(r, "k");
    CPR_CHECK(t, v && !v->is_int && v->num == 9223372036854775808.0, "2^63 is a double");
    CPR_CHECK(t, cpr_json_get_num(r, "f", 0) == 1.5e-3, "1.5e-3");
    CPR_CHECK(t, cpr_json_get_int(r, "e", 0) == 1000, "1E3 is integral");
    CPR_CHECK(t, cpr_json_get_int(r, "f", -7) == -7, "non-integer -> default");
    CPR_CHECK(t, cpr_json_is(cpr_json_get(r, "n"), CPR_JSON_NULL), "null");
    CPR_CHECK(t, cpr_json_get_bool(r, "t", 0) == 1 && cpr_json_get_bool(r, "b", 1) == 0,
              "bools");
    CPR_CHECK(t, cpr_json_get_int(r, "d", 0) == 2, "duplicate key: last wins");
    CPR_CHECK(t, cpr_json_str_eq(cpr_json_get(r, "\xc3\xa9"), "\xf0\x9f\x98\x80"),
              "UTF-8 key/value");
    const struct cpr_json *a = cpr_json_get(r, "a");
    CPR_CHECK(t, cpr_json_len(a) == 3 && cpr_json_at(a, 0)->i == 1 &&
                     cpr_json_len(cpr_json_at(a, 1)) == 2 &&
                     cpr_json_is(cpr_json_at(cpr_json_at(a, 1), 1), CPR_JSON_OBJECT) &&
                     cpr_json_len(cpr_json_at(a, 2)) == 0 && !cpr_json_at(a, 3),
              "nested arrays");
    // Key order is file order.
    CPR_CHECK(t, !strcmp(r->items[0]->key, "s") && !strcmp(r->items[14]->key, "neg0"),
              "key order");
    // Defaults on missing / wrong types / NULL.
    CPR_CHECK(t, !strcmp(cpr_json_get_str(r, "missing", "dflt"), "dflt"), "str default");
    CPR_CHECK(t, !strcmp(cpr_json_get_str(r, "i", "dflt"), "dflt"), "type default");
    CPR_CHECK(t, cpr_json_get(NULL, "x") == NULL && cpr_json_at(NULL, 0) == NULL &&
                     !strcmp(cpr_json_type_name(NULL), "missing"),
              "NULL-safe lookups");
    cpr_json_free(&d);
    cpr_json_free(&d); // idempotent
}

static void test_writer_roundtrip(struct cpr_test_ctx *t) {
    struct cpr_jw w;
    cpr_jw_init(&w, 2);
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "q\"uote\n");
    cpr_jw_string(&w, "ctl\x01\x1f tab\t \xe2\x82\xac bad\xff end");
    cpr_jw_key(&w, "nums");
    cpr_jw_begin_array(&w);
    cpr_jw_double(&w, 1e-6);
    cpr_jw_double(&w, 0.1);
    cpr_jw_double(&w, 10000.0);
    cpr_jw_double(&w, NAN);
    cpr_jw_int(&w, INT64_MIN);
    cpr_jw_end_array(&w);
    cpr_jw_key(&w, "empty");
    cpr_jw_begin_object(&w);
    cpr_jw_end_object(&w);
    cpr_jw_key(&w, "b");
    cpr_jw_bool(&w, 1);
    cpr_jw_end_object(&w);
    struct cpr_err e = {0};
    CPR_CHECK_STATUS(t, cpr_jw_finish(&w, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, strstr(w.buf, "\"ctl\\u0001\\u001f tab\\t \xe2\x82\xac bad\\ufffd end\"") != NULL,
              "escaping: %s", w.buf);
    CPR_CHECK(t, strstr(w.buf, "1e-06") && strstr(w.buf, "0.1,") &&
                     strstr(w.buf, "10000.0") && strstr(w.buf, "null"),
              "number formatting: %s", w.buf);
    struct cpr_json_doc d;
    CPR_CHECK_STATUS(t, cpr_json_parse(&d, w.buf, w.len, "w", 0, &e), CPR_OK, &e, NULL);
    const struct cpr_json *nums = cpr_json_get(d.root, "nums");
    CPR_CHECK(t, cpr_json_len(nums) == 5 && cpr_json_at(nums, 0)->num == 1e-6 &&
                     cpr_json_at(nums, 1)->num == 0.1 && cpr_json_at(nums, 4)->i == INT64_MIN,
              "numbers read back exactly");
    CPR_CHECK(t, cpr_json_get(d.root, "q\"uote\n") != NULL, "escaped key reads back");
    cpr_json_free(&d);
    cpr_jw_free(&w);
    // Every double prints to text that reads back bit-exactly.
    double vals[] = {5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                     1.0 / 3, -123456.789, 1e21, 1e-5f};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char b[32];
        cpr_jw_format_double(vals[i], b);
        CPR_CHECK(t, strtod(b, NULL) == vals[i], "%.17g printed as %s", vals[i], b);
    }
    // Misuse is reported, not a crash.
    cpr_jw_init(&w, 0);
    cpr_jw_begin_object(&w);
    cpr_jw_int(&w, 1); // value without a key
    CPR_CHECK_STATUS(t, cpr_jw_finish(&w, &e), CPR_ERR_INTERNAL, &e, "without a key");
    cpr_jw_free(&w);
    cpr_jw_init(&w, 0);
    cpr_jw_begin_array(&w);
    CPR_CHECK_STATUS(t, cpr_jw_finish(&w, &e), CPR_ERR_INTERNAL, &e, "incomplete");
    cpr_jw_free(&w);
}

// A tokenizer.json-like document of ~3 MB (100k vocab entries, 100k merges)
// parses in well under a second.
static void test_speed(struct cpr_test_ctx *t) {
    size_t cap = 8u << 20, n = 0;
    char *b = malloc(cap);
    n += (size_t)snprintf(b + n, cap - n, "{\"model\":{\"type\":\"BPE\",\"vocab\":{");
    for (int i = 0; i < 100000; i++)
        n += (size_t)snprintf(b + n, cap - n, "%s\"tok\\u0120%d\\u00e9\":%d",
                              i ? "," : "", i, i);
    n += (size_t)snprintf(b + n, cap - n, "},\"merges\":[");
    for (int i = 0; i < 100000; i++)
        n += (size_t)snprintf(b + n, cap - n, "%s\"a%d b%d\"", i ? "," : "", i, i);
    n += (size_t)snprintf(b + n, cap - n, "]}}");
    struct cpr_json_doc d;
    struct cpr_err e = {0};
    clock_t c0 = clock();
    enum cpr_status s = cpr_json_parse(&d, b, n, "big.json", 0, &e);
    double sec = (double)(clock() - c0) / CLOCKS_PER_SEC;
    CPR_CHECK_STATUS(t, s, CPR_OK, &e, NULL);
    const struct cpr_json *m = cpr_json_get(d.root, "model");
    const struct cpr_json *voc = cpr_json_get(m, "vocab");
    CPR_CHECK(t, cpr_json_len(voc) == 100000 &&
                     cpr_json_len(cpr_json_get(m, "merges")) == 100000,
              "sizes");
    CPR_CHECK(t, voc && voc->items[99999]->i == 99999 &&
                     !strcmp(voc->items[5]->key, "tok\xc4\xa0" "5\xc3\xa9"),
              "entries");
    CPR_CHECK(t, sec < 1.0, "%.1f MB took %.3f s", n / 1e6, sec);
    if (t->verbose) printf("    %.1f MB parsed in %.3f s\n", n / 1e6, sec);
    cpr_json_free(&d);
    free(b);
}

const struct cpr_test cpr_tests_data_json[] = {
    {"json_malformed", test_malformed, 0},
    {"json_depth", test_depth, 0},
    {"json_values", test_values, 0},
    {"json_writer_roundtrip", test_writer_roundtrip, 0},
    {"json_speed", test_speed, 0},
    {0},
};
