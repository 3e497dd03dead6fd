// data/json.c: strict recursive-descent JSON parser (see data/json.h).
//
// One pass over the bytes. Nodes come from a chain of blocks (never moved,
// so pointers stay valid); decoded strings go into one buffer of len + 1
// bytes, which always suffices because every escape or quote pair decodes
// to no more bytes than it occupies. Children of a container are collected
// on a shared stack while it is parsed and copied into one item pool when
// it closes; the pool may move while it grows, so containers remember an
// offset and the pointers are fixed up once at the end.
#include "data/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- memory ----

struct node_block {
    struct node_block *next;
    size_t used, cap;
    struct cpr_json nodes[];
};

struct parser {
    const unsigned char *s;
    size_t n, pos;
    const char *name;
    int depth, max_depth;
    struct cpr_err *err;
    struct cpr_json_doc *doc;
    size_t block_cap;
    char *sp; // next free byte in doc->strings
    struct cpr_json **stack; // children of the open containers
    size_t stack_n, stack_cap;
    struct cpr_json **pool;  // children of the closed containers
    size_t pool_n, pool_cap;
};

static struct cpr_json *new_node(struct parser *p) {
    struct node_block *b = p->doc->blocks;
    if (!b || b->used == b->cap) {
        struct node_block *nb =
            malloc(sizeof *nb + p->block_cap * sizeof(struct cpr_json));
        if (!nb) return NULL;
        nb->next = b;
        nb->used = 0;
        nb->cap = p->block_cap;
        p->doc->blocks = nb;
        b = nb;
        if (p->block_cap < 65536) p->block_cap *= 2;
    }
    struct cpr_json *v = &b->nodes[b->used++];
    memset(v, 0, sizeof *v);
    p->doc->n_nodes++;
    return v;
}

static int grow(struct cpr_json ***v, size_t *cap, size_t need) {
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap * 2 : 64;
    while (nc < need) nc *= 2;
    struct cpr_json **nv = realloc(*v, nc * sizeof **v);
    if (!nv) return 0;
    *v = nv;
    *cap = nc;
    return 1;
}

// ---- errors ----

// "<name>: line L col C: <what> found <thing at pos>". Line and column are
// 1-based; the column counts bytes.
static enum cpr_status fail_at(struct parser *p, size_t pos, const char *what) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < p->n; i++) {
        if (p->s[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char found[32];
    if (pos >= p->n) {
        strcpy(found, "end of input");
    } else {
        unsigned c = p->s[pos];
        if (c >= 0x20 && c < 0x7f && c != '\'')
            found[0] = '\'', found[1] = (char)c, found[2] = '\'', found[3] = 0;
        else {
            static const char hex[] = "0123456789abcdef";
            memcpy(found, "byte 0x", 7);
            found[7] = hex[c >> 4];
            found[8] = hex[c & 15];
            found[9] = 0;
        }
    }
    return cpr_err_set(p->err, CPR_ERR_FORMAT, "%s: line %zu col %zu: %s found %s",
                       p->name, line, col, what, found);
}

static enum cpr_status fail_nomem(struct parser *p) {
    return cpr_err_set(p->err, CPR_ERR_NOMEM,
                       "%s: out of memory while parsing JSON (%zu bytes)",
                       p->name, p->n);
}

// ---- lexing helpers ----

static void skip_ws(struct parser *p) {
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int hex_val(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Four hex digits at p->pos into *cp.
static enum cpr_status read_hex4(struct parser *p, unsigned *cp) {
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = p->pos < p->n ? hex_val(p->s[p->pos]) : -1;
        if (h < 0) return fail_at(p, p->pos, "expected 4 hex digits after \\u");
        v = v * 16 + (unsigned)h;
        p->pos++;
    }
    *cp = v;
    return CPR_OK;
}

static char *put_utf8(char *d, unsigned cp) {
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xC0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xE0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *d++ = (char)(0xF0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    return d;
}

// Length of the valid UTF-8 sequence starting at s[0] (a byte >= 0x80),
// or 0 when it is invalid (RFC 3629 table: no overlongs, no surrogates,
// nothing above U+10FFFF).
static size_t utf8_seq(const unsigned char *s, size_t avail) {
    unsigned c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else return 0;
    if (avail < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return len;
}

// ---- values ----

// String starting at the opening quote; decoded into p->sp.
static enum cpr_status parse_string(struct parser *p, const char **out,
                                    size_t *out_len) {
    p->pos++; // opening quote
    char *start = p->sp, *d = p->sp;
    for (;;) {
        if (p->pos >= p->n)
            return fail_at(p, p->pos, "unterminated string: expected '\"'");
        unsigned char c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20)
            return fail_at(p, p->pos,
                           "control character in string (must be escaped)");
        if (c < 0x80 && c != '\\') {
            *d++ = (char)c;
            p->pos++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq(p->s + p->pos, p->n - p->pos);
            if (!k) return fail_at(p, p->pos, "invalid UTF-8 in string:");
            memcpy(d, p->s + p->pos, k);
            d += k;
            p->pos += k;
            continue;
        }
        // backslash escape
        size_t esc = p->pos;
        p->pos++;
        if (p->pos >= p->n)
            return fail_at(p, p->pos, "unterminated escape sequence:");
        c = p->s[p->pos++];
        switch (c) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '/': *d++ = '/'; break;
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            unsigned cp;
            CPR_TRY(read_hex4(p, &cp));
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail_at(p, esc, "lone low surrogate \\u escape (UTF-16 "
                                       "pairs start with \\uD800-\\uDBFF)");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (p->pos + 1 >= p->n || p->s[p->pos] != '\\' ||
                    p->s[p->pos + 1] != 'u')
                    return fail_at(p, p->pos, "expected a low surrogate "
                                              "\\uDC00-\\uDFFF after a high one");
                p->pos += 2;
                CPR_TRY(read_hex4(p, &lo));
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail_at(p, p->pos - 6, "expected a low surrogate "
                                                  "\\uDC00-\\uDFFF after a high one");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            d = put_utf8(d, cp);
            break;
        }
        default:
            return fail_at(p, p->pos - 1, "invalid escape: expected one of "
                                          "\"\\/bfnrtu after '\\'");
        }
    }
    *d++ = 0;
    p->sp = d;
    *out = start;
    *out_len = (size_t)(d - start - 1);
    return CPR_OK;
}

static enum cpr_status parse_number(struct parser *p, struct cpr_json *v) {
    size_t start = p->pos;
    int neg = 0, integral = 1;
    if (p->s[p->pos] == '-') {
        neg = 1;
        p->pos++;
    }
    if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9')
        return fail_at(p, p->pos, "expected a digit in number");
    if (p->s[p->pos] == '0') {
        p->pos++;
        if (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
            return fail_at(p, p->pos, "leading zero in number:");
    } else {
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
            p->pos++;
    }
    size_t int_end = p->pos;
    if (p->pos < p->n && p->s[p->pos] == '.') {
        integral = 0;
        p->pos++;
        if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            return fail_at(p, p->pos, "expected a digit after '.'");
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
            p->pos++;
    }
    if (p->pos < p->n && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        integral = 0;
        p->pos++;
        if (p->pos < p->n && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            return fail_at(p, p->pos, "expected a digit in exponent");
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
            p->pos++;
    }
    // strtod needs a NUL-terminated copy.
    size_t len = p->pos - start;
    char small[64], *buf = small;
    if (len >= sizeof small) {
        buf = malloc(len + 1);
        if (!buf) return fail_nomem(p);
    }
    memcpy(buf, p->s + start, len);
    buf[len] = 0;
    double d = strtod(buf, NULL);
    if (buf != small) free(buf);
    if (isinf(d)) return fail_at(p, start, "number too large for a double:");
    v->type = CPR_JSON_NUMBER;
    v->num = d;
    if (integral) {
        // Exact digit-by-digit conversion; magnitude up to 2^63 (negative).
        uint64_t acc = 0, lim = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
        int ok = 1;
        for (size_t i = start + (size_t)neg; i < int_end; i++) {
            unsigned dg = p->s[i] - '0';
            if (acc > (lim - dg) / 10) {
                ok = 0;
                break;
            }
            acc = acc * 10 + dg;
        }
        if (ok) {
            v->is_int = 1;
            v->i = neg ? (acc == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)acc)
                       : (int64_t)acc;
        }
    } else if (d == floor(d) && d >= -9223372036854775808.0 &&
               d < 9223372036854775808.0) {
        v->is_int = 1;
        v->i = (int64_t)d;
    }
    return CPR_OK;
}

static enum cpr_status parse_value(struct parser *p, struct cpr_json *v);

// Children pushed on the stack since `base` become v's items.
static enum cpr_status close_container(struct parser *p, struct cpr_json *v,
                                       size_t base) {
    size_t k = p->stack_n - base;
    if (!grow(&p->pool, &p->pool_cap, p->pool_n + k)) return fail_nomem(p);
    if (k) memcpy(p->pool + p->pool_n, p->stack + base, k * sizeof *p->pool);
    v->i = (int64_t)p->pool_n; // offset, fixed up at the end
    v->len = k;
    p->pool_n += k;
    p->stack_n = base;
    p->depth--;
    return CPR_OK;
}

static enum cpr_status push_child(struct parser *p, struct cpr_json **child) {
    if (!grow(&p->stack, &p->stack_cap, p->stack_n + 1)) return fail_nomem(p);
    *child = new_node(p);
    if (!*child) return fail_nomem(p);
    p->stack[p->stack_n++] = *child;
    return CPR_OK;
}

static enum cpr_status enter(struct parser *p) {
    if (++p->depth > p->max_depth) {
        char what[80];
        snprintf(what, sizeof what, "nesting deeper than %d levels:",
                 p->max_depth);
        return fail_at(p, p->pos, what);
    }
    return CPR_OK;
}

static enum cpr_status parse_array(struct parser *p, struct cpr_json *v) {
    CPR_TRY(enter(p));
    v->type = CPR_JSON_ARRAY;
    size_t base = p->stack_n;
    p->pos++; // '['
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
        return close_container(p, v, base);
    }
    for (;;) {
        struct cpr_json *c;
        CPR_TRY(push_child(p, &c));
        CPR_TRY(parse_value(p, c));
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == ']') {
            p->pos++;
            return close_container(p, v, base);
        }
        return fail_at(p, p->pos, "expected ',' or ']'");
    }
}

static enum cpr_status parse_object(struct parser *p, struct cpr_json *v) {
    CPR_TRY(enter(p));
    v->type = CPR_JSON_OBJECT;
    size_t base = p->stack_n;
    p->pos++; // '{'
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
        return close_container(p, v, base);
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != '"')
            return fail_at(p, p->pos, "expected '\"' starting an object key");
        struct cpr_json *c;
        CPR_TRY(push_child(p, &c));
        const char *key;
        size_t key_len;
        CPR_TRY(parse_string(p, &key, &key_len));
        skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != ':')
            return fail_at(p, p->pos, "expected ':' after object key");
        p->pos++;
        CPR_TRY(parse_value(p, c));
        c->key = key;
        c->key_len = key_len;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == '}') {
            p->pos++;
            return close_container(p, v, base);
        }
        return fail_at(p, p->pos, "expected ',' or '}'");
    }
}

static enum cpr_status parse_literal(struct parser *p, const char *word,
                                     struct cpr_json *v, enum cpr_json_type t,
                                     int b) {
    size_t k = strlen(word);
    if (p->n - p->pos < k || memcmp(p->s + p->pos, word, k) != 0)
        return fail_at(p, p->pos, "expected a value (true, false or null)");
    p->pos += k;
    v->type = t;
    v->boolean = b;
    return CPR_OK;
}

static enum cpr_status parse_value(struct parser *p, struct cpr_json *v) {
    skip_ws(p);
    if (p->pos >= p->n)
        return fail_at(p, p->pos, "expected a value");
    unsigned char c = p->s[p->pos];
    switch (c) {
    case '{': return parse_object(p, v);
    case '[': return parse_array(p, v);
    case '"':
        v->type = CPR_JSON_STRING;
        return parse_string(p, &v->str, &v->len);
    case 't': return parse_literal(p, "true", v, CPR_JSON_BOOL, 1);
    case 'f': return parse_literal(p, "false", v, CPR_JSON_BOOL, 0);
    case 'n': return parse_literal(p, "null", v, CPR_JSON_NULL, 0);
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
        return fail_at(p, p->pos, "expected a value (object, array, string, "
                                  "number, true, false or null)");
    }
}

// ---- public ----

void cpr_json_free(struct cpr_json_doc *doc) {
    if (!doc) return;
    struct node_block *b = doc->blocks;
    while (b) {
        struct node_block *nx = b->next;
        free(b);
        b = nx;
    }
    free(doc->strings);
    free(doc->item_pool);
    memset(doc, 0, sizeof *doc);
}

enum cpr_status cpr_json_parse(struct cpr_json_doc *doc, const char *buf,
                               size_t len, const char *name, int max_depth,
                               struct cpr_err *err) {
    memset(doc, 0, sizeof *doc);
    struct parser p;
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)buf;
    p.n = buf ? len : 0;
    p.name = name ? name : "json";
    p.max_depth = max_depth > 0 ? max_depth : CPR_JSON_MAX_DEPTH;
    p.err = err;
    p.doc = doc;
    // Every value takes at least one input byte, so small inputs get a
    // small first block.
    p.block_cap = p.n < 256 ? p.n + 1 : 256;
    enum cpr_status st;
    doc->strings = malloc(p.n + 1);
    if (!doc->strings) {
        st = fail_nomem(&p);
        goto fail;
    }
    p.sp = doc->strings;
    if (p.n >= 3 && p.s[0] == 0xEF && p.s[1] == 0xBB && p.s[2] == 0xBF) {
        st = fail_at(&p, 0, "UTF-8 byte order mark is not allowed in JSON:");
        goto fail;
    }
    doc->root = new_node(&p);
    if (!doc->root) {
        st = fail_nomem(&p);
        goto fail;
    }
    st = parse_value(&p, doc->root);
    if (st != CPR_OK) goto fail;
    skip_ws(&p);
    if (p.pos < p.n) {
        st = fail_at(&p, p.pos, "expected end of input after the value");
        goto fail;
    }
    // Fix up container item pointers (offsets into the final pool).
    doc->item_pool = p.pool;
    p.pool = NULL;
    for (struct node_block *b = doc->blocks; b; b = b->next) {
        for (size_t i = 0; i < b->used; i++) {
            struct cpr_json *v = &b->nodes[i];
            if (v->type == CPR_JSON_ARRAY || v->type == CPR_JSON_OBJECT) {
                v->items = v->len ? doc->item_pool + v->i : NULL;
                v->i = 0;
            }
        }
    }
    free(p.stack);
    return CPR_OK;
fail:
    free(p.stack);
    free(p.pool);
    cpr_json_free(doc);
    return st;
}

const struct cpr_json *cpr_json_get(const struct cpr_json *obj,
                                    const char *key) {
    if (!obj || obj->type != CPR_JSON_OBJECT || !key) return NULL;
    size_t k = strlen(key);
    for (size_t i = obj->len; i-- > 0;) {
        const struct cpr_json *c = obj->items[i];
        if (c->key_len == k && memcmp(c->key, key, k) == 0) return c;
    }
    return NULL;
}

const struct cpr_json *cpr_json_at(const struct cpr_json *v, size_t i) {
    if (!v || (v->type != CPR_JSON_ARRAY && v->type != CPR_JSON_OBJECT))
        return NULL;
    return i < v->len ? v->items[i] : NULL;
}

size_t cpr_json_len(const struct cpr_json *v) {
    if (!v || (v->type != CPR_JSON_ARRAY && v->type != CPR_JSON_OBJECT))
        return 0;
    return v->len;
}

int cpr_json_is(const struct cpr_json *v, enum cpr_json_type t) {
    return v && v->type == t;
}

const char *cpr_json_type_name(const struct cpr_json *v) {
    static const char *const names[] = {
        [CPR_JSON_NULL] = "null",     [CPR_JSON_BOOL] = "bool",
        [CPR_JSON_NUMBER] = "number", [CPR_JSON_STRING] = "string",
        [CPR_JSON_ARRAY] = "array",   [CPR_JSON_OBJECT] = "object",
    };
    return v ? names[v->type] : "missing";
}

const char *cpr_json_get_str(const struct cpr_json *obj, const char *key,
                             const char *def) {
    const struct cpr_json *v = cpr_json_get(obj, key);
    return v && v->type == CPR_JSON_STRING ? v->str : def;
}

double cpr_json_get_num(const struct cpr_json *obj, const char *key,
                        double def) {
    const struct cpr_json *v = cpr_json_get(obj, key);
    return v && v->type == CPR_JSON_NUMBER ? v->num : def;
}

int64_t cpr_json_get_int(const struct cpr_json *obj, const char *key,
                         int64_t def) {
    const struct cpr_json *v = cpr_json_get(obj, key);
    return v && v->type == CPR_JSON_NUMBER && v->is_int ? v->i : def;
}

int cpr_json_get_bool(const struct cpr_json *obj, const char *key, int def) {
    const struct cpr_json *v = cpr_json_get(obj, key);
    return v && v->type == CPR_JSON_BOOL ? v->boolean : def;
}

int cpr_json_str_eq(const struct cpr_json *v, const char *s) {
    if (!v || v->type != CPR_JSON_STRING || !s) return 0;
    size_t k = strlen(s);
    return v->len == k && memcmp(v->str, s, k) == 0;
}
