// data/taskfile.c: task file readers (one JSON object per line, RTE's TSV,
// PIQA's label list) and the harness's prompt templates. See
// data/taskfile.h.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/json.h"
#include "data/taskfile.h"

#define MAX_TASK_FILE (4ull << 30)

static const char *const kind_names[CPR_TASK_KIND_COUNT] = {
    [CPR_TASK_BOOLQ] = "boolq",          [CPR_TASK_RTE] = "rte",
    [CPR_TASK_HELLASWAG] = "hellaswag",  [CPR_TASK_WINOGRANDE] = "winogrande",
    [CPR_TASK_ARC_EASY] = "arc_easy",    [CPR_TASK_ARC_CHALLENGE] = "arc_challenge",
    [CPR_TASK_OPENBOOKQA] = "openbookqa", [CPR_TASK_PIQA] = "piqa",
    [CPR_TASK_GENERIC] = NULL,
};

enum cpr_task_kind cpr_task_kind_of(const char *name) {
    for (int k = 0; k < CPR_TASK_GENERIC; k++)
        if (strcmp(name, kind_names[k]) == 0) return (enum cpr_task_kind)k;
    return CPR_TASK_GENERIC;
}

const char *cpr_task_version(enum cpr_task_kind kind) {
    return kind == CPR_TASK_BOOLQ ? "2.0" : "1.0";
}

const char *cpr_task_template(enum cpr_task_kind kind) {
    switch (kind) {
    case CPR_TASK_BOOLQ: return "{{passage}}\nQuestion: {{question}}?\nAnswer:";
    case CPR_TASK_RTE: return "{{sentence1}}\nQuestion: {{sentence2}} True or False?\nAnswer:";
    case CPR_TASK_HELLASWAG: return "{{query}}";
    case CPR_TASK_WINOGRANDE: return "{{sentence[:idx]}}{{option}}";
    case CPR_TASK_ARC_EASY:
    case CPR_TASK_ARC_CHALLENGE: return "Question: {{question}}\nAnswer:";
    case CPR_TASK_OPENBOOKQA: return "{{question_stem}}";
    case CPR_TASK_PIQA: return "Question: {{goal}}\nAnswer:";
    default: return "{{context}}";
    }
}

void cpr_taskset_free(struct cpr_taskset *ts) {
    if (!ts) return;
    for (int64_t d = 0; ts->docs && d < ts->n_docs; d++) {
        struct cpr_task_doc *doc = &ts->docs[d];
        for (int64_t c = 0; c < doc->n_choices; c++) {
            if (doc->ctx && (c == 0 || doc->ctx[c] != doc->ctx[0])) free(doc->ctx[c]);
            if (doc->cont && (c == 0 || doc->cont[c] != doc->cont[0])) free(doc->cont[c]);
        }
        free(doc->ctx);
        free(doc->cont);
        free(doc->norm_chars);
    }
    free(ts->docs);
    memset(ts, 0, sizeof *ts);
}

// ---- small string builder ----
static char *cat(const char *const *parts, size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += strlen(parts[i]);
    char *s = malloc(len + 1), *o = s;
    if (!s) return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(parts[i]);
        memcpy(o, parts[i], l);
        o += l;
    }
    *o = 0;
    return s;
}
#define CAT(...) cat((const char *const[]){__VA_ARGS__}, \
                     sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

// Where a line came from, for messages.
struct where {
    const char *path;
    int64_t line;
};

static enum cpr_status bad(struct cpr_err *err, const struct where *w,
                           const char *field, const char *expected,
                           const struct cpr_json *found) {
    return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: field '%s': expected %s, "
                       "found %s", w->path, (long long)w->line, field, expected,
                       cpr_json_type_name(found));
}

static enum cpr_status get_str(const struct cpr_json *o, const char *key,
                               const struct where *w, const char **out,
                               struct cpr_err *err) {
    const struct cpr_json *v = cpr_json_get(o, key);
    if (!cpr_json_is(v, CPR_JSON_STRING)) return bad(err, w, key, "a string", v);
    if (strlen(v->str) != v->len)
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: field '%s' holds a NUL "
                           "character", w->path, (long long)w->line, key);
    *out = v->str;
    return CPR_OK;
}

// An integer label: a JSON integer, a bool, or a string of digits.
static enum cpr_status get_label(const struct cpr_json *v, const char *key,
                                 const struct where *w, int64_t *out,
                                 struct cpr_err *err) {
    if (cpr_json_is(v, CPR_JSON_NUMBER) && v->is_int) *out = v->i;
    else if (cpr_json_is(v, CPR_JSON_BOOL)) *out = v->boolean;
    else if (cpr_json_is(v, CPR_JSON_STRING) && v->len > 0 && v->len < 10 &&
             strspn(v->str, "0123456789") == v->len)
        *out = atoll(v->str);
    else return bad(err, w, key, "an integer label", v);
    return CPR_OK;
}

// Allocate a doc with n choices, each context a copy of ctx (shared
// pointer) and each continuation " " + choice[i].
static enum cpr_status doc_mc(struct cpr_task_doc *d, const char *ctx,
                              const char *const *choices, int64_t n,
                              int64_t gold, const struct where *w,
                              struct cpr_err *err) {
    if (n < 1) return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: no choices",
                                  w->path, (long long)w->line);
    if (gold < 0 || gold >= n)
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: gold answer %lld is "
                           "outside the %lld choices", w->path,
                           (long long)w->line, (long long)gold, (long long)n);
    d->n_choices = n;
    d->gold = gold;
    d->ctx = calloc((size_t)n, sizeof *d->ctx);
    d->cont = calloc((size_t)n, sizeof *d->cont);
    d->norm_chars = calloc((size_t)n, sizeof *d->norm_chars);
    if (!d->ctx || !d->cont || !d->norm_chars) goto nomem;
    d->ctx[0] = strdup(ctx);
    if (!d->ctx[0]) goto nomem;
    for (int64_t c = 0; c < n; c++) {
        d->ctx[c] = d->ctx[0];
        d->cont[c] = CAT(" ", choices[c]);
        if (!d->cont[c]) goto nomem;
        d->norm_chars[c] = cpr_task_utf8_chars(choices[c]);
    }
    return CPR_OK;
nomem:
    return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory reading %s", w->path);
}

// ---- per task ----

static enum cpr_status doc_boolq(struct cpr_task_doc *d, const struct cpr_json *o,
                                 const struct where *w, struct cpr_err *err) {
    const char *passage, *question;
    CPR_TRY(get_str(o, "passage", w, &passage, err));
    CPR_TRY(get_str(o, "question", w, &question, err));
    int64_t gold;
    const struct cpr_json *lab = cpr_json_get(o, "label");
    if (!lab) lab = cpr_json_get(o, "answer");
    CPR_TRY(get_label(lab, cpr_json_get(o, "label") ? "label"
                           : lab ? "answer" : "label or answer", w, &gold, err));
    char *ctx = CAT(passage, "\nQuestion: ", question, "?\nAnswer:");
    if (!ctx) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    enum cpr_status s = doc_mc(d, ctx, (const char *const[]){"no", "yes"}, 2, gold, w, err);
    free(ctx);
    return s;
}

static enum cpr_status rte_doc(struct cpr_task_doc *d, const char *s1, const char *s2,
                               int64_t gold, const struct where *w, struct cpr_err *err) {
    char *ctx = CAT(s1, "\nQuestion: ", s2, " True or False?\nAnswer:");
    if (!ctx) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    enum cpr_status s = doc_mc(d, ctx, (const char *const[]){"True", "False"}, 2, gold, w, err);
    free(ctx);
    return s;
}

static enum cpr_status rte_label(const char *s, int64_t *gold) {
    if (strcmp(s, "entailment") == 0 || strcmp(s, "0") == 0) *gold = 0;
    else if (strcmp(s, "not_entailment") == 0 || strcmp(s, "1") == 0) *gold = 1;
    else return CPR_ERR_FORMAT;
    return CPR_OK;
}

static enum cpr_status doc_rte(struct cpr_task_doc *d, const struct cpr_json *o,
                               const struct where *w, struct cpr_err *err) {
    const char *s1, *s2;
    int glue = cpr_json_get(o, "sentence1") != NULL;
    CPR_TRY(get_str(o, glue ? "sentence1" : "premise", w, &s1, err));
    CPR_TRY(get_str(o, glue ? "sentence2" : "hypothesis", w, &s2, err));
    const struct cpr_json *lab = cpr_json_get(o, "label");
    int64_t gold;
    if (cpr_json_is(lab, CPR_JSON_STRING)) {
        if (rte_label(lab->str, &gold))
            return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: field 'label': "
                               "expected entailment or not_entailment, found "
                               "'%.40s'", w->path, (long long)w->line, lab->str);
    } else {
        CPR_TRY(get_label(lab, "label", w, &gold, err));
    }
    return rte_doc(d, s1, s2, gold, w, err);
}

static enum cpr_status doc_hellaswag(struct cpr_task_doc *d, const struct cpr_json *o,
                                     const struct where *w, struct cpr_err *err) {
    const char *act, *a, *b;
    CPR_TRY(get_str(o, "activity_label", w, &act, err));
    CPR_TRY(get_str(o, "ctx_a", w, &a, err));
    CPR_TRY(get_str(o, "ctx_b", w, &b, err));
    const struct cpr_json *ends = cpr_json_get(o, "endings");
    if (!cpr_json_is(ends, CPR_JSON_ARRAY) || cpr_json_len(ends) == 0)
        return bad(err, w, "endings", "a non-empty array of strings", ends);
    int64_t gold;
    CPR_TRY(get_label(cpr_json_get(o, "label"), "label", w, &gold, err));
    // ctx_b.capitalize(): first character upper, the rest lower (ASCII).
    char *bc = strdup(b);
    if (!bc) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    for (size_t i = 0; bc[i]; i++)
        if (!((unsigned char)bc[i] & 0x80))
            bc[i] = (char)(i == 0 ? toupper((unsigned char)bc[i]) : tolower((unsigned char)bc[i]));
    char *raw = CAT(act, ": ", a, " ", bc);
    free(bc);
    char *ctx = raw ? cpr_task_hellaswag_preprocess(raw) : NULL;
    free(raw);
    size_t n = cpr_json_len(ends);
    char **ch = calloc(n, sizeof *ch);
    enum cpr_status s = CPR_OK;
    if (!ctx || !ch) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct cpr_json *e = cpr_json_at(ends, i);
        if (!cpr_json_is(e, CPR_JSON_STRING)) {
            s = bad(err, w, "endings[]", "a string", e);
            goto out;
        }
        ch[i] = cpr_task_hellaswag_preprocess(e->str);
        if (!ch[i]) {
            s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    s = doc_mc(d, ctx, (const char *const *)ch, (int64_t)n, gold, w, err);
out:
    for (size_t i = 0; ch && i < n; i++) free(ch[i]);
    free(ch);
    free(ctx);
    return s;
}

static enum cpr_status doc_winogrande(struct cpr_task_doc *d, const struct cpr_json *o,
                                      const struct where *w, struct cpr_err *err) {
    const char *sent, *o1, *o2;
    CPR_TRY(get_str(o, "sentence", w, &sent, err));
    CPR_TRY(get_str(o, "option1", w, &o1, err));
    CPR_TRY(get_str(o, "option2", w, &o2, err));
    int64_t ans;
    CPR_TRY(get_label(cpr_json_get(o, "answer"), "answer", w, &ans, err));
    const char *us = strchr(sent, '_');
    if (!us)
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: field 'sentence' has no "
                           "'_' blank", w->path, (long long)w->line);
    if (ans != 1 && ans != 2)
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: field 'answer': expected "
                           "\"1\" or \"2\", found %lld", w->path,
                           (long long)w->line, (long long)ans);
    // The rest after "_", stripped as Python's str.strip().
    const char *rest = us + 1;
    size_t rl = cpr_task_rstrip_len(rest, strlen(rest));
    char *tail = malloc(rl + 1);
    if (!tail) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    memcpy(tail, rest, rl);
    tail[rl] = 0;
    size_t lead = 0;
    while (lead < rl) { // leading whitespace (one code point at a time)
        size_t k = 0;
        for (size_t m = 1; m <= 3 && lead + m <= rl; m++)
            if (cpr_task_rstrip_len(tail + lead, m) == 0) { k = m; break; }
        if (!k) break;
        lead += k;
    }
    size_t pre = (size_t)(us - sent);
    d->n_choices = 2;
    d->gold = ans - 1;
    d->ctx = calloc(2, sizeof *d->ctx);
    d->cont = calloc(2, sizeof *d->cont);
    d->norm_chars = calloc(2, sizeof *d->norm_chars);
    enum cpr_status s = CPR_OK;
    if (!d->ctx || !d->cont || !d->norm_chars) goto nomem;
    const char *opts[2] = {o1, o2};
    d->cont[0] = CAT(" ", tail + lead);
    if (!d->cont[0]) goto nomem;
    d->cont[1] = d->cont[0];
    for (int c = 0; c < 2; c++) {
        size_t lo = strlen(opts[c]);
        d->ctx[c] = malloc(pre + lo + 1);
        if (!d->ctx[c]) goto nomem;
        memcpy(d->ctx[c], sent, pre);
        memcpy(d->ctx[c] + pre, opts[c], lo + 1);
        d->norm_chars[c] = cpr_task_utf8_chars(d->ctx[c]);
    }
    free(tail);
    return CPR_OK;
nomem:
    free(tail);
    s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    return s;
}

// ARC / OpenBookQA: the choices and the gold index from any of the layouts.
static enum cpr_status qa_doc(struct cpr_task_doc *d, const struct cpr_json *o,
                              enum cpr_task_kind kind, const struct where *w,
                              struct cpr_err *err) {
    const struct cpr_json *q = cpr_json_get(o, "question");
    const char *stem = NULL;
    const struct cpr_json *choices = cpr_json_get(o, "choices");
    if (cpr_json_is(q, CPR_JSON_OBJECT)) { // AllenAI nested layout
        CPR_TRY(get_str(q, "stem", w, &stem, err));
        choices = cpr_json_get(q, "choices");
    } else if (kind == CPR_TASK_OPENBOOKQA && cpr_json_get(o, "question_stem")) {
        CPR_TRY(get_str(o, "question_stem", w, &stem, err));
    } else {
        CPR_TRY(get_str(o, "question", w, &stem, err));
    }
    const char *key;
    CPR_TRY(get_str(o, "answerKey", w, &key, err));
    if (kind == CPR_TASK_OPENBOOKQA) // label.index(answerKey.lstrip())
        while (*key && strchr(" \t\n\v\f\r", *key)) key++;
    size_t n = 0;
    const struct cpr_json *texts = NULL, *labels = NULL;
    int nested = cpr_json_is(choices, CPR_JSON_ARRAY);
    if (nested) {
        n = cpr_json_len(choices);
    } else if (cpr_json_is(choices, CPR_JSON_OBJECT)) {
        texts = cpr_json_get(choices, "text");
        labels = cpr_json_get(choices, "label");
        if (!cpr_json_is(texts, CPR_JSON_ARRAY) || !cpr_json_is(labels, CPR_JSON_ARRAY) ||
            cpr_json_len(texts) != cpr_json_len(labels))
            return bad(err, w, "choices", "{text: [...], label: [...]} of equal "
                       "lengths", choices);
        n = cpr_json_len(texts);
    } else {
        return bad(err, w, "choices", "an array or {text, label}", choices);
    }
    const char **ch = calloc(n ? n : 1, sizeof *ch);
    if (!ch) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    int64_t gold = -1;
    enum cpr_status s = CPR_OK;
    for (size_t i = 0; i < n; i++) {
        const struct cpr_json *t = nested ? cpr_json_get(cpr_json_at(choices, i), "text")
                                          : cpr_json_at(texts, i);
        const struct cpr_json *l = nested ? cpr_json_get(cpr_json_at(choices, i), "label")
                                          : cpr_json_at(labels, i);
        if (!cpr_json_is(t, CPR_JSON_STRING)) {
            s = bad(err, w, "choices text", "a string", t);
            goto out;
        }
        if (!cpr_json_is(l, CPR_JSON_STRING)) {
            s = bad(err, w, "choices label", "a string", l);
            goto out;
        }
        ch[i] = t->str;
        if (gold < 0 && strcmp(l->str, key) == 0) gold = (int64_t)i;
    }
    if (gold < 0) {
        s = cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: answerKey '%.20s' is not "
                        "one of the choice labels", w->path, (long long)w->line, key);
        goto out;
    }
    char *ctx = kind == CPR_TASK_OPENBOOKQA ? strdup(stem)
                                            : CAT("Question: ", stem, "\nAnswer:");
    if (!ctx) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
        goto out;
    }
    s = doc_mc(d, ctx, ch, (int64_t)n, gold, w, err);
    free(ctx);
out:
    free(ch);
    return s;
}

static enum cpr_status doc_piqa(struct cpr_task_doc *d, const struct cpr_json *o,
                                int64_t gold, const struct where *w,
                                struct cpr_err *err) {
    const char *goal, *s1, *s2;
    CPR_TRY(get_str(o, "goal", w, &goal, err));
    CPR_TRY(get_str(o, "sol1", w, &s1, err));
    CPR_TRY(get_str(o, "sol2", w, &s2, err));
    char *ctx = CAT("Question: ", goal, "\nAnswer:");
    if (!ctx) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    enum cpr_status s = doc_mc(d, ctx, (const char *const[]){s1, s2}, 2, gold, w, err);
    free(ctx);
    return s;
}

static enum cpr_status doc_generic(struct cpr_task_doc *d, const struct cpr_json *o,
                                   const struct where *w, struct cpr_err *err) {
    const char *ctx;
    CPR_TRY(get_str(o, "context", w, &ctx, err));
    const struct cpr_json *ch = cpr_json_get(o, "choices");
    if (!cpr_json_is(ch, CPR_JSON_ARRAY) || cpr_json_len(ch) == 0)
        return bad(err, w, "choices", "a non-empty array of strings", ch);
    size_t n = cpr_json_len(ch);
    const char **c = calloc(n, sizeof *c);
    if (!c) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    enum cpr_status s = CPR_OK;
    for (size_t i = 0; i < n && !s; i++) {
        const struct cpr_json *e = cpr_json_at(ch, i);
        if (!cpr_json_is(e, CPR_JSON_STRING)) s = bad(err, w, "choices[]", "a string", e);
        else c[i] = e->str;
    }
    int64_t gold = 0;
    if (!s) s = get_label(cpr_json_get(o, "gold"), "gold", w, &gold, err);
    if (!s) s = doc_mc(d, ctx, c, (int64_t)n, gold, w, err);
    free(c);
    return s;
}

// ---- files ----

// Next line of buf (without '\n' / "\r\n"); returns 0 at the end.
static int next_line(char **p, char *end, char **line, size_t *len) {
    if (*p >= end) return 0;
    char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    char *e = nl ? nl : end;
    *p = nl ? nl + 1 : end;
    if (e > s && e[-1] == '\r') e--;
    *line = s;
    *len = (size_t)(e - s);
    return 1;
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i])) return 0;
    return 1;
}

static enum cpr_status grow(struct cpr_taskset *ts, int64_t *cap,
                            struct cpr_err *err) {
    if (ts->n_docs < *cap) return CPR_OK;
    int64_t nc = *cap ? *cap * 2 : 64;
    struct cpr_task_doc *nd = realloc(ts->docs, (size_t)nc * sizeof *nd);
    if (!nd) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    memset(nd + *cap, 0, (size_t)(nc - *cap) * sizeof *nd);
    ts->docs = nd;
    *cap = nc;
    return CPR_OK;
}

// PIQA's labels file: one 0/1 per line.
static enum cpr_status read_lst(const char *path, int64_t **labels, int64_t *n,
                                struct cpr_err *err) {
    char *buf = NULL;
    size_t len = 0;
    CPR_TRY(cpr_file_read_all(path, MAX_TASK_FILE, &buf, &len, err));
    int64_t cap = 0;
    *labels = NULL;
    *n = 0;
    char *p = buf, *line;
    size_t ll;
    int64_t lineno = 0;
    enum cpr_status s = CPR_OK;
    while (next_line(&p, buf + len, &line, &ll)) {
        lineno++;
        if (blank(line, ll)) continue;
        if (!(ll == 1 && (line[0] == '0' || line[0] == '1'))) {
            s = cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: expected a label 0 or "
                            "1, found '%.*s'", path, (long long)lineno,
                            (int)(ll > 20 ? 20 : ll), line);
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            int64_t *nl = realloc(*labels, (size_t)cap * sizeof *nl);
            if (!nl) {
                s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
                break;
            }
            *labels = nl;
        }
        (*labels)[(*n)++] = line[0] - '0';
    }
    free(buf);
    if (s) {
        free(*labels);
        *labels = NULL;
    }
    return s;
}

// GLUE RTE .tsv: header "index\tsentence1\tsentence2\tlabel".
static enum cpr_status read_rte_tsv(struct cpr_taskset *ts, char *buf, size_t len,
                                    int64_t limit, struct cpr_err *err) {
    char *p = buf, *line;
    size_t ll;
    int64_t cap = 0, lineno = 0;
    struct where w = {ts->source, 0};
    while (next_line(&p, buf + len, &line, &ll)) {
        lineno++;
        w.line = lineno;
        if (blank(line, ll)) continue;
        line[ll] = 0; // the line ends at '\n' or '\r', or at the buffer's NUL
        char *f[4];
        int nf = 0;
        for (char *s = line; nf < 4; nf++) {
            f[nf] = s;
            char *t = strchr(s, '\t');
            if (!t) {
                nf++;
                break;
            }
            *t = 0;
            s = t + 1;
        }
        if (lineno == 1) {
            if (nf < 4 || strcmp(f[1], "sentence1") || strcmp(f[3], "label"))
                return cpr_err_set(err, CPR_ERR_FORMAT, "%s:1: expected the GLUE "
                                   "header index, sentence1, sentence2, label",
                                   ts->source);
            continue;
        }
        if (nf < 4)
            return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: expected 4 "
                               "tab-separated fields, found %d", ts->source,
                               (long long)lineno, nf);
        int64_t gold;
        if (rte_label(f[3], &gold))
            return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: label: expected "
                               "entailment or not_entailment, found '%.40s'",
                               ts->source, (long long)lineno, f[3]);
        ts->n_docs_file++;
        if (limit > 0 && ts->n_docs >= limit) continue;
        CPR_TRY(grow(ts, &cap, err));
        CPR_TRY(rte_doc(&ts->docs[ts->n_docs], f[1], f[2], gold, &w, err));
        ts->n_docs++;
    }
    return CPR_OK;
}

enum cpr_status cpr_taskset_read(struct cpr_taskset *ts, const char *dir,
                                 const char *name, int64_t limit,
                                 struct cpr_err *err) {
    memset(ts, 0, sizeof *ts);
    size_t nl = strlen(name);
    if (nl == 0 || nl >= sizeof ts->name || strspn(name,
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != nl ||
        name[0] == '.')
        return cpr_err_set(err, CPR_ERR_ARG, "task name '%.80s': expected letters, "
                           "digits, '_', '-' or '.'", name);
    snprintf(ts->name, sizeof ts->name, "%s", name);
    ts->kind = cpr_task_kind_of(name);
    ts->has_acc_norm = ts->kind == CPR_TASK_HELLASWAG || ts->kind == CPR_TASK_ARC_EASY ||
                       ts->kind == CPR_TASK_ARC_CHALLENGE ||
                       ts->kind == CPR_TASK_OPENBOOKQA || ts->kind == CPR_TASK_PIQA ||
                       ts->kind == CPR_TASK_GENERIC;
    int tsv = 0;
    snprintf(ts->source, sizeof ts->source, "%s/%s.jsonl", dir, name);
    if (!cpr_path_is_file(ts->source) && ts->kind == CPR_TASK_RTE) {
        snprintf(ts->source, sizeof ts->source, "%s/rte.tsv", dir);
        tsv = 1;
    }
    if (!cpr_path_is_file(ts->source))
        return cpr_err_set(err, CPR_ERR_NOTFOUND, "task '%s': no file %s/%s.jsonl%s "
                           "(see README: zero-shot tasks, for where to get the "
                           "data)", name, dir, name,
                           ts->kind == CPR_TASK_RTE ? " or rte.tsv" : "");
    char *buf = NULL;
    size_t len = 0;
    CPR_TRY(cpr_file_read_all(ts->source, MAX_TASK_FILE, &buf, &len, err));
    enum cpr_status s = CPR_OK;
    int64_t *labels = NULL, n_labels = -1;
    if (tsv) {
        s = read_rte_tsv(ts, buf, len, limit, err);
        goto done;
    }
    char *p = buf, *line;
    size_t ll;
    int64_t cap = 0, lineno = 0, idx = 0;
    struct where w = {ts->source, 0};
    char lst[1100];
    while (!s && next_line(&p, buf + len, &line, &ll)) {
        lineno++;
        w.line = lineno;
        if (blank(line, ll)) continue;
        struct cpr_json_doc jd = {0};
        char nm[1200];
        snprintf(nm, sizeof nm, "%s:%lld", ts->source, (long long)lineno);
        s = cpr_json_parse(&jd, line, ll, nm, 0, err);
        if (s) break;
        if (!cpr_json_is(jd.root, CPR_JSON_OBJECT)) {
            s = cpr_err_set(err, CPR_ERR_FORMAT, "%s:%lld: expected a JSON object "
                            "per line, found %s", ts->source, (long long)lineno,
                            cpr_json_type_name(jd.root));
            cpr_json_free(&jd);
            break;
        }
        int64_t this_idx = idx++;
        ts->n_docs_file++;
        if (limit > 0 && ts->n_docs >= limit) {
            cpr_json_free(&jd);
            continue;
        }
        s = grow(ts, &cap, err);
        struct cpr_task_doc *d = s ? NULL : &ts->docs[ts->n_docs];
        if (!s) {
            switch (ts->kind) {
            case CPR_TASK_BOOLQ: s = doc_boolq(d, jd.root, &w, err); break;
            case CPR_TASK_RTE: s = doc_rte(d, jd.root, &w, err); break;
            case CPR_TASK_HELLASWAG: s = doc_hellaswag(d, jd.root, &w, err); break;
            case CPR_TASK_WINOGRANDE: s = doc_winogrande(d, jd.root, &w, err); break;
            case CPR_TASK_ARC_EASY:
            case CPR_TASK_ARC_CHALLENGE:
            case CPR_TASK_OPENBOOKQA: s = qa_doc(d, jd.root, ts->kind, &w, err); break;
            case CPR_TASK_PIQA: {
                int64_t gold = 0;
                const struct cpr_json *lab = cpr_json_get(jd.root, "label");
                if (lab) {
                    s = get_label(lab, "label", &w, &gold, err);
                } else {
                    if (n_labels < 0) {
                        snprintf(lst, sizeof lst, "%s/%s.lst", dir, name);
                        if (!cpr_path_is_file(lst)) {
                            s = cpr_err_set(err, CPR_ERR_NOTFOUND, "%s:%lld: no "
                                            "'label' field and no labels file %s",
                                            ts->source, (long long)lineno, lst);
                            break;
                        }
                        s = read_lst(lst, &labels, &n_labels, err);
                        if (s) break;
                    }
                    if (this_idx >= n_labels) {
                        s = cpr_err_set(err, CPR_ERR_FORMAT, "%s has %lld labels, "
                                        "fewer than the documents of %s", lst,
                                        (long long)n_labels, ts->source);
                        break;
                    }
                    gold = labels[this_idx];
                }
                if (!s) s = doc_piqa(d, jd.root, gold, &w, err);
                break;
            }
            default: s = doc_generic(d, jd.root, &w, err); break;
            }
        }
        if (d) ts->n_docs++; // counted even on failure, so free sees it
        cpr_json_free(&jd);
    }
    if (!s && n_labels >= 0 && n_labels != ts->n_docs_file)
        s = cpr_err_set(err, CPR_ERR_FORMAT, "%s has %lld labels but %s has %lld "
                        "documents", lst, (long long)n_labels, ts->source,
                        (long long)ts->n_docs_file);
done:
    if (!s && ts->n_docs == 0)
        s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: no documents", ts->source);
    free(labels);
    free(buf);
    if (s) cpr_taskset_free(ts);
    return s;
}
