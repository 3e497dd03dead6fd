// cli/sweep_line.c: building the results.jsonl lines (see sweep_line.h).
#include "cli/sweep_line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/strbuf.h"
#include "core/pool.h"
#include "data/json.h"
#include "data/json_write.h"
#include "simd/kernels.h"

void sweep_host_get(struct sweep_host *h) {
    memset(h, 0, sizeof *h);
    if (gethostname(h->hostname, sizeof h->hostname - 1) != 0)
        snprintf(h->hostname, sizeof h->hostname, "unknown");
    snprintf(h->cpu, sizeof h->cpu, "%s", cpr_cpu_features()->brand);
    h->cpus = (long)cpr_cpu_count();
}

// ---- text pieces ----

// JSON text without the blanks between tokens (whitespace inside strings
// is kept: a string cannot hold a raw newline, only "\n" escapes).
static void add_compact(struct strbuf *s, const char *in, size_t len) {
    int in_str = 0, esc = 0;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char ch = in[i];
        if (in_str) {
            if (esc) esc = 0;
            else if (ch == '\\') esc = 1;
            else if (ch == '"') in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
            strbuf_add(s, in + start, i - start);
            start = i + 1;
        }
    }
    strbuf_add(s, in + start, len - start);
}

// Parse text as JSON and check it is an object; *doc stays for lookups.
static enum cpr_status parse_object(struct cpr_json_doc *doc, const char *text,
                                    size_t len, const char *name,
                                    struct cpr_err *err) {
    CPR_TRY(cpr_json_parse(doc, text, len, name, 0, err));
    if (!cpr_json_is(doc->root, CPR_JSON_OBJECT)) {
        cpr_json_free(doc);
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s: expected a JSON object, "
                           "found %s", name, cpr_json_type_name(doc->root));
    }
    return CPR_OK;
}

// ---- the leading members ----

static void write_grid(struct cpr_jw *w, const struct sweep_cellinfo *ci) {
    const struct grid_cell *c = ci->c;
    cpr_jw_begin_object(w);
    cpr_jw_key(w, "index"), cpr_jw_int(w, (int64_t)c->index);
    cpr_jw_key(w, "n_cells"), cpr_jw_int(w, (int64_t)ci->n_cells);
    cpr_jw_key(w, "model"), cpr_jw_string(w, c->model->label);
    cpr_jw_key(w, "model_index"), cpr_jw_int(w, (int64_t)c->model_index);
    cpr_jw_key(w, "method"), cpr_jw_string(w, c->dense ? "dense" : c->method->name);
    cpr_jw_key(w, "options"), cpr_jw_string(w, c->dense ? "" : c->method->opts);
    cpr_jw_key(w, "label"), cpr_jw_string(w, c->dense ? "dense" : c->method->label);
    cpr_jw_key(w, "method_index");
    cpr_jw_int(w, c->dense ? -1 : (int64_t)c->method_index);
    cpr_jw_key(w, "target");
    if (c->target) cpr_jw_string(w, c->target->text);
    else cpr_jw_null(w);
    cpr_jw_key(w, "calib");
    if (c->calib) {
        const struct grid_calib *k = c->calib;
        cpr_jw_begin_object(w);
        cpr_jw_key(w, "dataset"), cpr_jw_string(w, k->dataset);
        cpr_jw_key(w, "sampling"), cpr_jw_string(w, k->sampling);
        cpr_jw_key(w, "nsamples"), cpr_jw_int(w, k->nsamples);
        cpr_jw_key(w, "seqlen");
        if (k->seqlen) cpr_jw_int(w, k->seqlen);
        else cpr_jw_null(w); // the model's context
        cpr_jw_key(w, "seed"), cpr_jw_int(w, k->seed);
        cpr_jw_key(w, "text"), cpr_jw_string(w, k->text);
        cpr_jw_end_object(w);
    } else {
        cpr_jw_null(w);
    }
    cpr_jw_key(w, "eval");
    cpr_jw_begin_array(w);
    for (size_t i = 0; i < ci->g->n_evals; i++) cpr_jw_string(w, ci->g->evals[i]);
    cpr_jw_end_array(w);
    cpr_jw_key(w, "desc"), cpr_jw_string(w, c->desc);
    cpr_jw_end_object(w);
}

// Begin the line's object and write the members every line starts with.
static void write_leading(struct cpr_jw *w, const struct sweep_cellinfo *ci,
                          const char *status) {
    cpr_jw_init(w, 0);
    cpr_jw_begin_object(w);
    cpr_jw_key(w, "cell_id"), cpr_jw_string(w, ci->c->id);
    cpr_jw_key(w, "status"), cpr_jw_string(w, status);
    cpr_jw_key(w, "grid"), write_grid(w, ci);
    cpr_jw_key(w, "host");
    cpr_jw_begin_object(w);
    cpr_jw_key(w, "hostname"), cpr_jw_string(w, ci->host->hostname);
    cpr_jw_key(w, "cpu"), cpr_jw_string(w, ci->host->cpu);
    cpr_jw_key(w, "cpus"), cpr_jw_int(w, ci->host->cpus);
    cpr_jw_end_object(w);
    cpr_jw_key(w, "wall_seconds"), cpr_jw_double(w, ci->wall_seconds);
    cpr_jw_key(w, "command"), cpr_jw_string(w, ci->command);
}

// Finish w (a complete object) and return its text with the closing '}'
// dropped in *s, so that members can follow.
static enum cpr_status open_prefix(struct cpr_jw *w, struct strbuf *s,
                                   struct cpr_err *err) {
    enum cpr_status st = cpr_jw_finish(w, err);
    if (st == CPR_OK) strbuf_add(s, w->buf, w->len - 1);
    cpr_jw_free(w);
    return st;
}

static enum cpr_status give(struct strbuf *s, char **line, size_t *len,
                            struct cpr_err *err) {
    if (s->oom) {
        free(s->buf);
        return cpr_err_set(err, CPR_ERR_NOMEM, "results line: out of memory");
    }
    *line = s->buf, *len = s->len;
    return CPR_OK;
}

// ---- the three kinds ----

enum cpr_status sweep_line_ok(const struct sweep_cellinfo *ci,
                              const char *child, size_t child_len,
                              const char *name, char **line, size_t *len,
                              struct cpr_err *err) {
    struct cpr_json_doc doc = {0};
    CPR_TRY(parse_object(&doc, child, child_len, name, err));
    const size_t n_members = cpr_json_len(doc.root);
    cpr_json_free(&doc);
    struct cpr_jw w;
    struct strbuf s = {0};
    write_leading(&w, ci, "ok");
    cpr_jw_end_object(&w);
    CPR_TRY(open_prefix(&w, &s, err));
    if (n_members) {
        // the child's members: its compact text after the opening '{'
        struct strbuf c = {0};
        add_compact(&c, child, child_len);
        const char *brace = c.buf ? strchr(c.buf, '{') : NULL;
        strbuf_add(&s, ",", 1);
        if (brace) strbuf_add(&s, brace + 1, strlen(brace + 1));
        s.oom |= c.oom || !brace;
        free(c.buf);
    } else {
        strbuf_add(&s, "}", 1);
    }
    return give(&s, line, len, err);
}

// A standard error as the child wrote it: a number, or null.
static void num_or_null(struct cpr_jw *w, const struct cpr_json *v) {
    if (cpr_json_is(v, CPR_JSON_NUMBER)) cpr_jw_double(w, v->num);
    else cpr_jw_null(w);
}

// `cprune tasks --json` (lm-eval's results layout) rewritten as a prune
// record's `tasks` member: {TASK: {n, acc, acc_stderr[, acc_norm,
// acc_norm_stderr]}, ..., mean_acc}, tasks in grid order.
static enum cpr_status write_tasks(struct cpr_jw *w, const struct grid *g,
                                   const char *text, size_t len,
                                   struct cpr_err *err) {
    struct cpr_json_doc d = {0};
    CPR_TRY(parse_object(&d, text, len, "cprune tasks --json", err));
    const struct cpr_json *res = cpr_json_get(d.root, "results");
    const struct cpr_json *ns = cpr_json_get(d.root, "n-samples");
    for (size_t i = 0; i < g->n_tasks; i++)
        if (!cpr_json_is(cpr_json_get(cpr_json_get(res, g->tasks[i]),
                                      "acc,none"), CPR_JSON_NUMBER)) {
            cpr_json_free(&d);
            return cpr_err_set(err, CPR_ERR_FORMAT, "cprune tasks --json: "
                               "results.%s: expected an 'acc,none' number, "
                               "found none", g->tasks[i]);
        }
    cpr_jw_key(w, "tasks");
    cpr_jw_begin_object(w);
    double sum = 0;
    for (size_t i = 0; i < g->n_tasks; i++) {
        const struct cpr_json *r = cpr_json_get(res, g->tasks[i]);
        const double acc = cpr_json_get_num(r, "acc,none", 0);
        sum += acc;
        cpr_jw_key(w, g->tasks[i]);
        cpr_jw_begin_object(w);
        cpr_jw_key(w, "n");
        cpr_jw_int(w, cpr_json_get_int(cpr_json_get(ns, g->tasks[i]),
                                       "effective", 0));
        cpr_jw_key(w, "acc"), cpr_jw_double(w, acc);
        cpr_jw_key(w, "acc_stderr");
        num_or_null(w, cpr_json_get(r, "acc_stderr,none"));
        if (cpr_json_get(r, "acc_norm,none")) {
            cpr_jw_key(w, "acc_norm");
            num_or_null(w, cpr_json_get(r, "acc_norm,none"));
            cpr_jw_key(w, "acc_norm_stderr");
            num_or_null(w, cpr_json_get(r, "acc_norm_stderr,none"));
        }
        cpr_jw_end_object(w);
    }
    cpr_jw_key(w, "mean_acc"), cpr_jw_double(w, sum / (double)g->n_tasks);
    cpr_jw_end_object(w);
    cpr_json_free(&d);
    return CPR_OK;
}

enum cpr_status sweep_line_dense(const struct sweep_cellinfo *ci,
                                 char *const *texts, const size_t *lens,
                                 const char *const *names,
                                 const char *tasks_text, size_t tasks_len,
                                 char **line, size_t *len,
                                 struct cpr_err *err) {
    const size_t n = ci->g->n_evals;
    // Everything but `eval` comes from the evaluations' own records.
    double seconds = 0;
    int64_t rss = 0;
    struct cpr_json_doc first = {0};
    for (size_t i = 0; i < n; i++) {
        struct cpr_json_doc d = {0};
        CPR_TRY(parse_object(&d, texts[i], lens[i], names[i], err));
        seconds += cpr_json_get_num(d.root, "seconds", 0);
        int64_t r = cpr_json_get_int(d.root, "peak_rss_bytes", 0);
        rss = r > rss ? r : rss;
        if (i == 0) first = d;
        else cpr_json_free(&d);
    }
    const struct cpr_json *f = first.root;
    struct cpr_jw w;
    struct strbuf s = {0};
    write_leading(&w, ci, "ok");
    cpr_jw_key(&w, "model"), cpr_jw_string(&w, cpr_json_get_str(f, "model", ""));
    cpr_jw_key(&w, "model_sha256");
    cpr_jw_string(&w, cpr_json_get_str(f, "model_sha256", ""));
    cpr_jw_key(&w, "method"), cpr_jw_string(&w, "dense");
    cpr_jw_key(&w, "options"), cpr_jw_begin_object(&w), cpr_jw_end_object(&w);
    cpr_jw_key(&w, "pattern"), cpr_jw_string(&w, "dense");
    cpr_jw_key(&w, "target_sparsity"), cpr_jw_double(&w, 0.0);
    cpr_jw_key(&w, "calibration"), cpr_jw_null(&w);
    cpr_jw_key(&w, "tokenizer");
    cpr_jw_string(&w, cpr_json_get_str(f, "tokenizer", ""));
    cpr_jw_key(&w, "seconds");
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "evaluation"), cpr_jw_double(&w, seconds);
    cpr_jw_key(&w, "total"), cpr_jw_double(&w, seconds);
    cpr_jw_end_object(&w);
    cpr_jw_key(&w, "memory");
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "peak_rss_bytes"), cpr_jw_int(&w, rss);
    cpr_jw_end_object(&w);
    cpr_jw_key(&w, "isa"), cpr_jw_string(&w, cpr_json_get_str(f, "isa", ""));
    cpr_jw_key(&w, "threads"), cpr_jw_int(&w, cpr_json_get_int(f, "threads", 0));
    cpr_jw_key(&w, "version");
    cpr_jw_string(&w, cpr_json_get_str(f, "version", ""));
    cpr_json_free(&first);
    if (tasks_text) {
        enum cpr_status st = write_tasks(&w, ci->g, tasks_text, tasks_len, err);
        if (st) {
            cpr_jw_free(&w);
            return st;
        }
    }
    cpr_jw_end_object(&w);
    CPR_TRY(open_prefix(&w, &s, err));
    // "eval":{"<dataset>":<its record>,...}
    strbuf_add(&s, ",\"eval\":{", 9);
    for (size_t i = 0; i < n; i++) {
        struct cpr_jw k;
        cpr_jw_init(&k, 0);
        cpr_jw_append_escaped(&k, ci->g->evals[i], strlen(ci->g->evals[i]));
        if (i) strbuf_add(&s, ",", 1);
        if (k.buf) strbuf_add(&s, k.buf, k.len);
        else s.oom = 1;
        cpr_jw_free(&k);
        strbuf_add(&s, ":", 1);
        add_compact(&s, texts[i], lens[i]);
    }
    strbuf_add(&s, "}}", 2);
    return give(&s, line, len, err);
}

enum cpr_status sweep_line_failed(const struct sweep_cellinfo *ci,
                                  const char *error,
                                  const struct sweep_exit *ex, char **line,
                                  size_t *len, struct cpr_err *err) {
    struct cpr_jw w;
    write_leading(&w, ci, "failed");
    cpr_jw_key(&w, "error"), cpr_jw_string(&w, error);
    cpr_jw_key(&w, "exit_code"), cpr_jw_int(&w, ex ? ex->code : -1);
    cpr_jw_key(&w, "signal"), cpr_jw_int(&w, ex ? ex->signal : 0);
    cpr_jw_end_object(&w);
    enum cpr_status s = cpr_jw_finish(&w, err);
    if (s) {
        cpr_jw_free(&w);
        return s;
    }
    *line = w.buf, *len = w.len; // ownership passes to the caller
    return CPR_OK;
}
