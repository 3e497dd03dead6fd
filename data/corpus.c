// data/corpus.c: the evaluation strings of the shared corpora (corpus.h).
#include "data/corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/json.h"

#define MAX_CORPUS_BYTES ((size_t)4 << 30)

size_t cpr_utf8_check(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t n;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
        else return i;
        if (i + n > len) return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return i;
        i += n;
    }
    return len;
}

static enum cpr_status check_utf8(const char *path, const char *s, size_t len,
                                  struct cpr_err *err) {
    size_t bad = cpr_utf8_check(s, len);
    if (bad != len)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: byte %zu (0x%02x) is not valid UTF-8; expected "
                           "a UTF-8 text file", path, bad,
                           (unsigned)(unsigned char)s[bad]);
    return CPR_OK;
}

enum cpr_status cpr_corpus_load_file(const char *path, char **text,
                                     size_t *len, struct cpr_err *err) {
    *text = NULL;
    *len = 0;
    CPR_TRY(cpr_file_read_all(path, MAX_CORPUS_BYTES, text, len, err));
    enum cpr_status s = check_utf8(path, *text, *len, err);
    if (s) {
        free(*text);
        *text = NULL;
        *len = 0;
    }
    return s;
}

// ---- corpus table ----
struct corpus {
    const char *name;
    const char *splits[4]; // NULL-terminated; [0] is the default
    const char *pattern;   // file under data/, %s = split
};

static const struct corpus corpora[] = {
    {"wikitext2", {"test", "valid", NULL}, "wikitext-2-raw/wiki.%s.raw"},
    {"ptb", {"test", "valid", "train", NULL}, "ptb/ptb.%s.txt"},
    {"tinystories", {"eval", "calib", NULL}, "tinystories/%s.txt"},
    {"c4", {"train", NULL}, "c4/c4-train.00000-of-01024.head5.json"},
};
#define N_CORPORA (sizeof corpora / sizeof corpora[0])

static const struct corpus *find_corpus(const char *name) {
    for (size_t i = 0; i < N_CORPORA; i++)
        if (strcmp(corpora[i].name, name) == 0) return &corpora[i];
    return NULL;
}

const char *cpr_corpus_default_split(const char *name) {
    const struct corpus *c = name ? find_corpus(name) : NULL;
    return c ? c->splits[0] : NULL;
}

// ---- builders: in-place transforms of the file bytes ----
// WikiText-2: rows = lines (with "\n"); " \n" rows become ""; "\n\n" joins.
int cpr_corpus_has_split(const char *name, const char *split, char *list,
                         size_t cap) {
    const struct corpus *c = find_corpus(name);
    if (list && cap) list[0] = 0;
    if (!c) return 0;
    size_t used = 0;
    for (int i = 0; c->splits[i]; i++) {
        if (split && strcmp(c->splits[i], split) == 0) return 1;
        if (list && cap > used)
            used += (size_t)snprintf(list + used, cap - used, "%s%s",
                                     i ? ", " : "", c->splits[i]);
    }
    return 0;
}

static enum cpr_status build_wikitext(char *src, size_t n, char **out,
                                      size_t *out_len, struct cpr_err *err) {
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) lines += src[i] == '\n';
    char *dst = malloc(n + 2 * (lines + 1) + 1);
    if (!dst) return cpr_err_set(err, CPR_ERR_NOMEM, "wikitext2: out of memory");
    size_t o = 0, i = 0;
    int first = 1;
    while (i < n) {
        size_t e = i;
        while (e < n && src[e] != '\n') e++;
        size_t row_end = e < n ? e + 1 : e; // keep the newline
        if (!first) {
            dst[o++] = '\n';
            dst[o++] = '\n';
        }
        first = 0;
        int blank = row_end - i == 2 && src[i] == ' ' && src[i + 1] == '\n';
        if (!blank) {
            memcpy(dst + o, src + i, row_end - i);
            o += row_end - i;
        }
        i = row_end;
    }
    dst[o] = '\0';
    *out = dst;
    *out_len = o;
    return CPR_OK;
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

// PTB: each line stripped, joined with " ".
static enum cpr_status build_ptb(char *src, size_t n, char **out,
                                 size_t *out_len, struct cpr_err *err) {
    char *dst = malloc(n + 2);
    if (!dst) return cpr_err_set(err, CPR_ERR_NOMEM, "ptb: out of memory");
    size_t o = 0, i = 0;
    int first = 1;
    while (i < n) {
        size_t e = i;
        while (e < n && src[e] != '\n') e++;
        size_t a = i, b = e;
        while (a < b && is_space(src[a])) a++;
        while (b > a && is_space(src[b - 1])) b--;
        if (!first) dst[o++] = ' ';
        first = 0;
        memcpy(dst + o, src + a, b - a);
        o += b - a;
        i = e < n ? e + 1 : e;
    }
    dst[o] = '\0';
    *out = dst;
    *out_len = o;
    return CPR_OK;
}

// C4 JSON lines: the "text" fields joined with "\n\n" (docs == NULL), or
// each NUL-terminated, back to back, with their offsets and lengths
// recorded in docs (docs->off / docs->len have room for one per line).
static enum cpr_status build_c4(const char *path, char *src, size_t n,
                                char **out, size_t *out_len,
                                struct cpr_corpus_docs *docs,
                                struct cpr_err *err) {
    char *dst = malloc(n + 1);
    if (!dst) return cpr_err_set(err, CPR_ERR_NOMEM, "c4: out of memory");
    size_t o = 0, i = 0, line = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && src[e] != '\n') e++;
        line++;
        if (e > i) {
            struct cpr_json_doc doc;
            char name[1200];
            snprintf(name, sizeof name, "%s line %zu", path, line);
            enum cpr_status s = cpr_json_parse(&doc, src + i, e - i, name, 0, err);
            if (s) {
                free(dst);
                return s;
            }
            const struct cpr_json *t = cpr_json_get(doc.root, "text");
            if (!t || t->type != CPR_JSON_STRING) {
                cpr_json_free(&doc);
                free(dst);
                return cpr_err_set(err, CPR_ERR_FORMAT,
                                   "%s: expected an object with a string "
                                   "\"text\" field", name);
            }
            if (docs) {
                docs->off[docs->n] = o;
                docs->len[docs->n++] = t->len;
            } else if (o) {
                dst[o++] = '\n';
                dst[o++] = '\n';
            }
            // fits in n + 1: a line holding a document is >= 11 bytes
            // ({"text":""}) and adds its text plus at most 2 bytes
            memcpy(dst + o, t->str, t->len);
            o += t->len;
            if (docs) dst[o++] = '\0';
            cpr_json_free(&doc);
        }
        i = e < n ? e + 1 : e;
    }
    dst[o] = '\0';
    *out = dst;
    *out_len = o;
    return CPR_OK;
}

enum cpr_status cpr_corpus_load(const char *data_dir, const char *name,
                                const char *split, char **text, size_t *len,
                                struct cpr_err *err) {
    *text = NULL;
    *len = 0;
    const struct corpus *c = name ? find_corpus(name) : NULL;
    if (!c)
        return cpr_err_set(err, CPR_ERR_NOTFOUND,
                           "unknown dataset '%s'; expected one of wikitext2, "
                           "ptb, tinystories, c4 (or --text FILE)",
                           name ? name : "(null)");
    if (!split) split = c->splits[0];
    int ok = 0;
    for (int i = 0; c->splits[i]; i++) ok |= strcmp(c->splits[i], split) == 0;
    if (!ok) {
        char list[64] = "";
        for (int i = 0; c->splits[i]; i++) {
            strcat(list, i ? ", " : "");
            strcat(list, c->splits[i]);
        }
        return cpr_err_set(err, CPR_ERR_NOTFOUND,
                           "dataset %s has no split '%s'; expected one of %s",
                           name, split, list);
    }
    char rel[128], path[1024];
    snprintf(rel, sizeof rel, c->pattern, split);
    snprintf(path, sizeof path, "%s/data/%s", data_dir, rel);
    if (!cpr_path_is_file(path))
        return cpr_err_set(err, CPR_ERR_NOTFOUND,
                           "dataset %s/%s: %s not found (set CPRUNE_DATA to "
                           "the folder holding data/)", name, split, path);
    char *raw;
    size_t n;
    CPR_TRY(cpr_corpus_load_file(path, &raw, &n, err));
    enum cpr_status s = CPR_OK;
    if (strcmp(c->name, "wikitext2") == 0) s = build_wikitext(raw, n, text, len, err);
    else if (strcmp(c->name, "ptb") == 0) s = build_ptb(raw, n, text, len, err);
    else if (strcmp(c->name, "c4") == 0) s = build_c4(path, raw, n, text, len, NULL, err);
    else {
        *text = raw;
        *len = n;
        return CPR_OK;
    }
    free(raw);
    return s;
}

void cpr_corpus_free(char *text) { free(text); }

enum cpr_status cpr_corpus_load_docs(const char *data_dir, const char *name,
                                     const char *split,
                                     struct cpr_corpus_docs *docs,
                                     struct cpr_err *err) {
    memset(docs, 0, sizeof *docs);
    char *text;
    size_t len;
    if (!name || strcmp(name, "c4") != 0) {
        CPR_TRY(cpr_corpus_load(data_dir, name, split, &text, &len, err));
        docs->off = malloc(sizeof *docs->off);
        docs->len = malloc(sizeof *docs->len);
        if (!docs->off || !docs->len) {
            free(text);
            cpr_corpus_docs_free(docs);
            return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", name);
        }
        docs->buf = text;
        docs->n = 1;
        docs->off[0] = 0;
        docs->len[0] = len;
        return CPR_OK;
    }
    // c4: validate name/split/path through the common loader's checks
    const struct corpus *c = find_corpus(name);
    if (!split) split = c->splits[0];
    if (strcmp(split, c->splits[0]) != 0)
        return cpr_err_set(err, CPR_ERR_NOTFOUND,
                           "dataset c4 has no split '%s'; expected one of %s",
                           split, c->splits[0]);
    char path[1024];
    snprintf(path, sizeof path, "%s/data/%s", data_dir, c->pattern);
    if (!cpr_path_is_file(path))
        return cpr_err_set(err, CPR_ERR_NOTFOUND,
                           "dataset c4/%s: %s not found (set CPRUNE_DATA to "
                           "the folder holding data/)", split, path);
    char *raw;
    size_t n;
    CPR_TRY(cpr_corpus_load_file(path, &raw, &n, err));
    size_t lines = 1;
    for (size_t i = 0; i < n; i++) lines += raw[i] == '\n';
    docs->off = malloc(lines * sizeof *docs->off);
    docs->len = malloc(lines * sizeof *docs->len);
    enum cpr_status s = CPR_OK;
    if (!docs->off || !docs->len)
        s = cpr_err_set(err, CPR_ERR_NOMEM, "c4: out of memory");
    else
        s = build_c4(path, raw, n, &docs->buf, &len, docs, err);
    free(raw);
    if (s) cpr_corpus_docs_free(docs);
    return s;
}

void cpr_corpus_docs_free(struct cpr_corpus_docs *docs) {
    free(docs->buf);
    free(docs->off);
    free(docs->len);
    memset(docs, 0, sizeof *docs);
}
