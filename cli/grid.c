// cli/grid.c: the sweep grid file (contract in cli/grid.h).
//
// ---- the grid format (version 1) ----
// A text file, one directive per line: a keyword, then values separated by
// blanks. '#' starts a comment that runs to the end of the line; blank
// lines are ignored. A keyword may repeat: its values accumulate in order.
//
//   models   NAME | LABEL=PATH ...    models/NAME under the data folder
//                                     ($CPRUNE_DATA), or an explicit path
//                                     shown in tables as LABEL
//   methods  NAME[:k=v,k=v] ...       registered methods with options, e.g.
//                                     wanda  owl:base=sparsegpt,lambda=0.1
//   targets  S | N:M ...              unstructured sparsity in [0, 1) or an
//                                     N:M pattern: 0.5 0.6 0.7 2:4
//   calib    DATASET [sampling=sequential|random] [nsamples=N] [seqlen=N]
//            [seed=N]                 ONE calibration setting per line
//                                     (defaults: sequential, 128, the model
//                                     context, 0); DATASET is a corpus name
//                                     or a text file
//   eval     DATASET ...              corpora every cell is evaluated on
//   max_chunks N                      evaluate at most N chunks of each
//                                     (a quick check; default: all)
//   dense    yes | no                 a dense (unpruned, evaluation only)
//                                     baseline cell per model; default yes
//   exclude  METHOD TARGET ...        no cells for this method (as written
//                                     on a methods line, options in any
//                                     order) at these listed targets, e.g.
//                                     exclude mixed 2:4   (a method that
//                                     refuses N:M)
//
// Required: models, methods, targets, eval; calib when a method needs
// calibration statistics. Checked while parsing (errors PATH:LINE): models
// exist and their headers fit every target (N:M dividing each linear's
// input width) and calib seqlen (the context); calib and eval corpora (or
// files) are readable; every method accepts every target it gets cells
// for. Example:
//
//   models   stories260K tinystories-656k
//   methods  magnitude wanda owl:base=sparsegpt
//   targets  0.5 0.6 2:4
//   calib    tinystories sampling=sequential nsamples=128 seqlen=512 seed=0
//   eval     tinystories wikitext2
//
// Cell order and ids: see grid_cell_at in cli/grid.h. A cell's canonical
// description is, for a pruning cell,
//   model=LABEL method=NAME opts=K=V,... target=T calib=C eval=D1,D2
// (opts sorted by key; T as "0.5" or "2:4"; C = "DATASET,SAMPLING,NSAMPLES,
// SEQLEN|ctx,SEED" or "none" for a method without calibration), and for a
// dense cell "model=LABEL method=dense eval=D1,D2"; with max_chunks both
// end in " max_chunks=N". The id is the first 12
// hex digits of its SHA-256, so it survives reordering the file, adding
// models or methods, and moving the data folder, but changes when anything
// that affects the numbers changes.
#include "cli/grid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/prune.h"
#include "data/corpus.h"
#include "data/fileio.h"
#include "data/model_load.h"
#include "data/sha256.h"
#include "methods/calib.h"
#include "methods/registry.h"

#define GRID_MAX_BYTES (1u << 20)

// The line being parsed, for messages.
struct where {
    const char *path;
    int line;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static enum cpr_status bad(struct cpr_err *err, const struct where *w,
                           const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%d: %s", w->path, w->line,
                       msg);
}

// ---- values ----

static int parse_ll(const char *s, long long lo, long long hi,
                    long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static enum cpr_status add_model(struct grid *g, const char *tok,
                                 const char *data_dir, const struct where *w,
                                 struct cpr_err *err) {
    if (g->n_models == GRID_MAX_MODELS)
        return bad(err, w, "models: at most %d models", GRID_MAX_MODELS);
    struct grid_model *m = &g->models[g->n_models];
    const char *eq = strchr(tok, '=');
    int n;
    if (eq) { // LABEL=PATH
        if (eq == tok || !eq[1])
            return bad(err, w, "models: expected NAME or LABEL=PATH, found "
                       "'%s'", tok);
        n = snprintf(m->label, sizeof m->label, "%.*s", (int)(eq - tok), tok);
        if (n < 0 || (size_t)n >= sizeof m->label)
            return bad(err, w, "models: label longer than %zu bytes: '%s'",
                       sizeof m->label - 1, tok);
        n = snprintf(m->path, sizeof m->path, "%s", eq + 1);
    } else if (strchr(tok, '/')) { // a path: label = its last component
        const char *base = tok + strlen(tok);
        while (base > tok && base[-1] == '/') base--;
        const char *end = base;
        while (base > tok && base[-1] != '/') base--;
        snprintf(m->label, sizeof m->label, "%.*s", (int)(end - base), base);
        n = snprintf(m->path, sizeof m->path, "%s", tok);
    } else {
        n = snprintf(m->label, sizeof m->label, "%s", tok);
        if (n >= 0 && (size_t)n < sizeof m->label)
            n = snprintf(m->path, sizeof m->path, "%s/models/%s", data_dir,
                         tok);
    }
    if (n < 0 || (size_t)n >= sizeof m->path || !m->label[0])
        return bad(err, w, "models: expected a model name or path of at most "
                   "%zu bytes, found '%s'", sizeof m->path - 1, tok);
    for (size_t i = 0; i < g->n_models; i++)
        if (!strcmp(g->models[i].label, m->label))
            return bad(err, w, "models: '%s' listed twice (expected each "
                       "model once; use LABEL=PATH to tell two apart)",
                       m->label);
    // The model must be there now, not when its first cell runs.
    enum cpr_model_kind kind;
    char res[1024];
    struct cpr_err e2 = {0};
    if (cpr_model_resolve(m->path, &kind, res, sizeof res, &e2))
        return bad(err, w, "models: '%s': %s", tok, e2.msg);
    m->line = w->line;
    g->n_models++;
    return CPR_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// opts "b=2,a=1" -> "a=1,b=2" in out (cap bytes). -1 when too long/many.
static int canonical_opts(const char *opts, char *out, size_t cap) {
    char buf[256];
    const char *items[32];
    size_t n = 0;
    if (snprintf(buf, sizeof buf, "%s", opts) >= (int)sizeof buf) return -1;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        if (n == 32) return -1;
        items[n++] = t;
    }
    qsort(items, n, sizeof *items, cmp_str);
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(out + used, cap - used, "%s%s", i ? "," : "",
                         items[i]);
        if (k < 0 || (size_t)k >= cap - used) return -1;
        used += (size_t)k;
    }
    return 0;
}

static enum cpr_status add_method(struct grid *g, const char *tok,
                                  const struct where *w,
                                  struct cpr_err *err) {
    if (g->n_methods == GRID_MAX_METHODS)
        return bad(err, w, "methods: at most %d methods", GRID_MAX_METHODS);
    struct grid_method *gm = &g->methods[g->n_methods];
    const char *colon = strchr(tok, ':');
    size_t name_len = colon ? (size_t)(colon - tok) : strlen(tok);
    if (name_len == 0 || name_len >= sizeof gm->name)
        return bad(err, w, "methods: expected NAME[:k=v,...], found '%s'",
                   tok);
    memcpy(gm->name, tok, name_len);
    gm->name[name_len] = 0;
    const struct cpr_method *m = cpr_method_find(gm->name);
    if (!m) {
        char known[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < cpr_n_methods && used < sizeof known; i++) {
            int k = snprintf(known + used, sizeof known - used, "%s%s",
                             i ? ", " : "", cpr_methods[i]->name);
            if (k > 0) used += (size_t)k;
        }
        return bad(err, w, "methods: expected a registered method (%s), "
                   "found '%s'", known, gm->name);
    }
    if (canonical_opts(colon ? colon + 1 : "", gm->opts, sizeof gm->opts))
        return bad(err, w, "methods: options of '%s' too long (at most 255 "
                   "bytes, 32 options)", tok);
    if (colon && !gm->opts[0])
        return bad(err, w, "methods: expected k=v options after ':', found "
                   "'%s'", tok);
    // Let the method check its options now, as `cprune prune --opts` would.
    void *state = NULL;
    struct cpr_err e2 = {0};
    if (m->init(&state, &e2) || m->parse_opts(state, gm->opts, &e2)) {
        if (state) m->free(state);
        return bad(err, w, "methods: %s: %s", tok, e2.msg);
    }
    gm->needs_calib = cpr_method_calib_needs(m, state) != 0;
    gm->line = w->line;
    m->free(state);
    char label[sizeof gm->label]; // (a local: gcc's -Wrestrict cannot
                                  // tell gm's fields apart)
    snprintf(label, sizeof label, "%s%s%s", gm->name, gm->opts[0] ? ":" : "",
             gm->opts);
    memcpy(gm->label, label, sizeof label);
    for (size_t i = 0; i < g->n_methods; i++)
        if (!strcmp(g->methods[i].label, gm->label))
            return bad(err, w, "methods: '%s' listed twice", gm->label);
    g->n_methods++;
    return CPR_OK;
}

// tok -> *t (canonical text). kw names the keyword in messages.
static enum cpr_status parse_target(const char *tok, const char *kw,
                                    struct grid_target *t,
                                    const struct where *w,
                                    struct cpr_err *err) {
    unsigned n, m;
    char tail;
    if (strchr(tok, ':')) {
        if (sscanf(tok, "%u:%u%c", &n, &m, &tail) != 2 || n == 0 || m < 2 ||
            n >= m || m > 4096)
            return bad(err, w, "%s: expected a pattern N:M with 0 < N < "
                       "M (e.g. 2:4), found '%s'", kw, tok);
        t->n = n, t->m = m, t->sparsity = (double)n / m;
        snprintf(t->text, sizeof t->text, "%u:%u", n, m);
    } else {
        char *end;
        errno = 0;
        double s = strtod(tok, &end);
        if (errno || end == tok || *end || !(s >= 0.0 && s < 1.0))
            return bad(err, w, "%s: expected a sparsity in [0, 1) or a "
                       "pattern N:M, found '%s'", kw, tok);
        t->sparsity = s, t->n = t->m = 0;
        snprintf(t->text, sizeof t->text, "%g", s);
        // %g keeps 6 digits: refuse values it would merge with another
        if (strtod(t->text, NULL) != s)
            return bad(err, w, "%s: expected at most 6 significant "
                       "digits, found '%s'", kw, tok);
    }
    return CPR_OK;
}

static enum cpr_status add_target(struct grid *g, const char *tok,
                                  const struct where *w,
                                  struct cpr_err *err) {
    if (g->n_targets == GRID_MAX_TARGETS)
        return bad(err, w, "targets: at most %d targets", GRID_MAX_TARGETS);
    struct grid_target *t = &g->targets[g->n_targets];
    CPR_TRY(parse_target(tok, "targets", t, w, err));
    for (size_t i = 0; i < g->n_targets; i++)
        if (!strcmp(g->targets[i].text, t->text))
            return bad(err, w, "targets: '%s' listed twice", t->text);
    t->line = w->line;
    g->n_targets++;
    return CPR_OK;
}

// "exclude METHOD TARGET ..." (toks[0] is the method): recorded here,
// checked against the methods and targets lists in resolve_excludes.
static enum cpr_status add_excludes(struct grid *g, char **toks, int n_toks,
                                    const struct where *w,
                                    struct cpr_err *err) {
    if (n_toks < 2)
        return bad(err, w, "exclude: expected METHOD TARGET ..., found %d "
                   "value%s", n_toks, n_toks == 1 ? "" : "s");
    char label[320], opts[256];
    const char *colon = strchr(toks[0], ':');
    size_t name_len = colon ? (size_t)(colon - toks[0]) : strlen(toks[0]);
    if (name_len == 0 || name_len >= 32 ||
        canonical_opts(colon ? colon + 1 : "", opts, sizeof opts))
        return bad(err, w, "exclude: expected a method NAME[:k=v,...] of the "
                   "methods lines, found '%s'", toks[0]);
    snprintf(label, sizeof label, "%.*s%s%s", (int)name_len, toks[0],
             opts[0] ? ":" : "", opts);
    for (int i = 1; i < n_toks; i++) {
        if (g->n_excludes == GRID_MAX_EXCLUDES)
            return bad(err, w, "exclude: at most %d pairs",
                       GRID_MAX_EXCLUDES);
        struct grid_target t;
        CPR_TRY(parse_target(toks[i], "exclude", &t, w, err));
        struct grid_exclude *e = &g->excludes[g->n_excludes++];
        snprintf(e->method, sizeof e->method, "%s", label);
        snprintf(e->target, sizeof e->target, "%s", t.text);
        e->line = w->line;
    }
    return CPR_OK;
}

// Every exclude pair must name a listed method and a listed target.
static enum cpr_status resolve_excludes(struct grid *g, struct cpr_err *err) {
    for (size_t i = 0; i < g->n_excludes; i++) {
        const struct grid_exclude *e = &g->excludes[i];
        const struct where w = {.path = g->path, .line = e->line};
        size_t m = 0, t = 0;
        while (m < g->n_methods && strcmp(g->methods[m].label, e->method)) m++;
        while (t < g->n_targets && strcmp(g->targets[t].text, e->target)) t++;
        if (m == g->n_methods)
            return bad(err, &w, "exclude: expected a method of the methods "
                       "lines, found '%s'", e->method);
        if (t == g->n_targets)
            return bad(err, &w, "exclude: expected a target of the targets "
                       "lines, found '%s'", e->target);
        g->excluded[m][t] = 1;
    }
    return CPR_OK;
}

// A dataset the cells will read: a corpus (its file must be in data_dir)
// or a readable text file. split NULL: the name must be a file.
static enum cpr_status check_dataset(const char *kw, const char *name,
                                     const char *split, const char *data_dir,
                                     const struct where *w,
                                     struct cpr_err *err) {
    char *text = NULL;
    size_t len = 0;
    struct cpr_err e2 = {0};
    enum cpr_status s;
    if (split) s = cpr_corpus_load(data_dir, name, split, &text, &len, &e2);
    else if (cpr_path_is_file(name))
        s = cpr_corpus_load_file(name, &text, &len, &e2);
    else
        return bad(err, w, "%s: expected a corpus (wikitext2, ptb, "
                   "tinystories, c4) or a readable text file, found '%s'",
                   kw, name);
    free(text);
    if (s) return bad(err, w, "%s: %s", kw, e2.msg);
    return CPR_OK;
}

// "calib DATASET key=value ..." (toks[0] is the dataset).
static enum cpr_status add_calib(struct grid *g, char **toks, int n_toks,
                                 const char *data_dir, const struct where *w,
                                 struct cpr_err *err) {
    if (g->n_calibs == GRID_MAX_CALIBS)
        return bad(err, w, "calib: at most %d settings", GRID_MAX_CALIBS);
    if (n_toks < 1)
        return bad(err, w, "calib: expected DATASET [sampling=...] "
                   "[nsamples=N] [seqlen=N] [seed=N], found nothing");
    struct grid_calib *c = &g->calibs[g->n_calibs];
    *c = (struct grid_calib){.sampling = "sequential", .nsamples = 128};
    if (strchr(toks[0], '=') ||
        snprintf(c->dataset, sizeof c->dataset, "%s", toks[0]) >=
            (int)sizeof c->dataset)
        return bad(err, w, "calib: expected a dataset name or file first, "
                   "found '%s'", toks[0]);
    CPR_TRY(check_dataset("calib", c->dataset, prune_calib_split(c->dataset),
                          data_dir, w, err));
    for (int i = 1; i < n_toks; i++) {
        const char *t = toks[i], *eq = strchr(t, '=');
        const char *v = eq ? eq + 1 : "";
        size_t kl = eq ? (size_t)(eq - t) : strlen(t);
        int ok;
        if (kl == 8 && !strncmp(t, "sampling", kl)) {
            ok = cpr_calib_sampling_parse(v) >= 0;
            if (ok) snprintf(c->sampling, sizeof c->sampling, "%s", v);
            if (!ok)
                return bad(err, w, "calib: sampling: expected sequential or "
                           "random, found '%s'", v);
        } else if (kl == 8 && !strncmp(t, "nsamples", kl)) {
            if (parse_ll(v, 1, 1 << 20, &c->nsamples))
                return bad(err, w, "calib: nsamples: expected an integer in "
                           "[1, 1048576], found '%s'", v);
        } else if (kl == 6 && !strncmp(t, "seqlen", kl)) {
            if (parse_ll(v, 1, 1 << 24, &c->seqlen))
                return bad(err, w, "calib: seqlen: expected an integer in "
                           "[1, 16777216], found '%s'", v);
        } else if (kl == 4 && !strncmp(t, "seed", kl)) {
            if (parse_ll(v, 0, 1LL << 62, &c->seed))
                return bad(err, w, "calib: seed: expected an integer in "
                           "[0, 2^62], found '%s'", v);
        } else {
            return bad(err, w, "calib: expected sampling=, nsamples=, "
                       "seqlen= or seed=, found '%s'", t);
        }
    }
    char sl[24] = "ctx";
    if (c->seqlen) snprintf(sl, sizeof sl, "%lld", c->seqlen);
    char text[sizeof c->text]; // a local, as in add_method
    snprintf(text, sizeof text, "%s,%s,%lld,%s,%lld", c->dataset, c->sampling,
             c->nsamples, sl, c->seed);
    memcpy(c->text, text, sizeof text);
    for (size_t i = 0; i < g->n_calibs; i++)
        if (!strcmp(g->calibs[i].text, c->text))
            return bad(err, w, "calib: setting '%s' listed twice", c->text);
    c->line = w->line;
    g->n_calibs++;
    return CPR_OK;
}

static enum cpr_status add_eval(struct grid *g, const char *tok,
                                const char *data_dir, const struct where *w,
                                struct cpr_err *err) {
    if (!cpr_corpus_default_split(tok))
        return bad(err, w, "eval: expected a corpus (wikitext2, ptb, "
                   "tinystories, c4), found '%s'", tok);
    CPR_TRY(check_dataset("eval", tok, cpr_corpus_default_split(tok),
                          data_dir, w, err));
    if (g->n_evals == GRID_MAX_EVALS)
        return bad(err, w, "eval: at most %d datasets", GRID_MAX_EVALS);
    for (size_t i = 0; i < g->n_evals; i++)
        if (!strcmp(g->evals[i], tok))
            return bad(err, w, "eval: '%s' listed twice", tok);
    snprintf(g->evals[g->n_evals++], sizeof g->evals[0], "%s", tok);
    return CPR_OK;
}

static enum cpr_status add_task(struct grid *g, const char *tok,
                                const struct where *w, struct cpr_err *err) {
    size_t len = strlen(tok);
    int plain = len > 0 && len < sizeof g->tasks[0];
    for (const char *p = tok; *p; p++)
        plain &= (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                 (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
                 (*p == '.' && p != tok);
    if (!plain)
        return bad(err, w, "tasks: expected a task name ([A-Za-z0-9_.-], "
                   "under %zu bytes), found '%s'", sizeof g->tasks[0], tok);
    if (g->n_tasks == GRID_MAX_TASKS)
        return bad(err, w, "tasks: at most %d tasks", GRID_MAX_TASKS);
    for (size_t i = 0; i < g->n_tasks; i++)
        if (!strcmp(g->tasks[i], tok))
            return bad(err, w, "tasks: '%s' listed twice", tok);
    g->task_lines[g->n_tasks] = w->line;
    snprintf(g->tasks[g->n_tasks++], sizeof g->tasks[0], "%s", tok);
    return CPR_OK;
}

// tasks, task_data and task_limit go together; each task needs its file
// TASK_DATA/NAME.jsonl, checked now rather than in the first cell.
static enum cpr_status check_tasks(struct grid *g, struct cpr_err *err) {
    if (!g->n_tasks && (g->task_data[0] || g->task_limit))
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%d: %s: expected a "
                           "'tasks NAME...' line too, found none", g->path,
                           g->task_data[0] ? g->task_data_line
                                           : g->task_limit_line,
                           g->task_data[0] ? "task_data" : "task_limit");
    if (g->n_tasks && !g->task_data[0])
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%d: tasks: expected a "
                           "'task_data DIR' line too, found none", g->path,
                           g->task_lines[0]);
    size_t used = 0;
    for (size_t i = 0; i < g->n_tasks; i++) {
        char file[1200];
        struct stat st;
        snprintf(file, sizeof file, "%s/%s.jsonl", g->task_data, g->tasks[i]);
        if (!strcmp(g->tasks[i], "rte") && stat(file, &st) != 0)
            snprintf(file, sizeof file, "%s/rte.tsv", g->task_data);
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
            return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%d: tasks: '%s': "
                               "expected the file %s, found %s", g->path,
                               g->task_lines[i], g->tasks[i], file,
                               stat(file, &st) != 0 ? strerror(errno)
                                                    : "no regular file");
        used += (size_t)snprintf(g->task_list + used,
                                 sizeof g->task_list - used, "%s%s",
                                 i ? "," : "", g->tasks[i]);
    }
    return CPR_OK;
}

// Each model's header against the targets and calibration lengths: an N:M
// pattern must divide every linear's input width, a calib seqlen must fit
// the context. Only the header and config are read (the weights are
// mmaps that are not touched).
static enum cpr_status check_models(const struct grid *g,
                                    struct cpr_err *err) {
    for (size_t i = 0; i < g->n_models; i++) {
        const struct grid_model *gm = &g->models[i];
        struct cpr_model m;
        struct cpr_err e2 = {0};
        memset(&m, 0, sizeof m);
        if (cpr_model_load(gm->path, &m, &e2))
            return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%d: models: '%s': %s",
                               g->path, gm->line, gm->label, e2.msg);
        enum cpr_status s = CPR_OK;
        for (size_t t = 0; t < g->n_targets && !s; t++) {
            const struct grid_target *gt = &g->targets[t];
            const struct cpr_prune_target pt = {gt->sparsity, gt->n, gt->m};
            for (int64_t l = 0; l < m.cfg.n_layers && !s; l++) {
                struct cpr_linear_ref r[CPR_MAX_LINEARS];
                const int nl = cpr_layer_linears(&m, l, r, CPR_MAX_LINEARS);
                for (int j = 0; j < nl && !s; j++) {
                    const struct cpr_tensor *w = r[j].w;
                    if (cpr_prune_target_check(&pt, (size_t)w->shape[1], &e2))
                        s = cpr_err_set(err, CPR_ERR_FORMAT, "%s:%d: targets: "
                                        "%s on model %s: layers.%lld.%s: %s",
                                        g->path, gt->line, gt->text, gm->label,
                                        (long long)l, r[j].name, e2.msg);
                }
            }
        }
        for (size_t c = 0; c < g->n_calibs && !s; c++)
            if (g->calibs[c].seqlen > m.cfg.context)
                s = cpr_err_set(err, CPR_ERR_FORMAT, "%s:%d: calib: seqlen "
                                "%lld exceeds the context %lld of model %s",
                                g->path, g->calibs[c].line,
                                g->calibs[c].seqlen, (long long)m.cfg.context,
                                gm->label);
        cpr_model_free(&m);
        if (s) return s;
    }
    return CPR_OK;
}

// ---- lines ----

#define MAX_TOKS 64

static enum cpr_status parse_line(struct grid *g, char *line,
                                  const char *data_dir, const struct where *w,
                                  struct cpr_err *err) {
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *toks[MAX_TOKS];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, " \t\r\f\v", &save); t;
         t = strtok_r(NULL, " \t\r\f\v", &save)) {
        if (n == MAX_TOKS)
            return bad(err, w, "expected at most %d values on a line",
                       MAX_TOKS - 1);
        toks[n++] = t;
    }
    if (n == 0) return CPR_OK;
    const char *kw = toks[0];
    if (strcmp(kw, "calib") && strcmp(kw, "dense") && n < 2)
        return bad(err, w, "%s: expected at least one value, found none", kw);
    if (!strcmp(kw, "models")) {
        for (int i = 1; i < n; i++)
            CPR_TRY(add_model(g, toks[i], data_dir, w, err));
    } else if (!strcmp(kw, "methods")) {
        for (int i = 1; i < n; i++) CPR_TRY(add_method(g, toks[i], w, err));
    } else if (!strcmp(kw, "targets")) {
        for (int i = 1; i < n; i++) CPR_TRY(add_target(g, toks[i], w, err));
    } else if (!strcmp(kw, "calib")) {
        CPR_TRY(add_calib(g, toks + 1, n - 1, data_dir, w, err));
    } else if (!strcmp(kw, "eval")) {
        for (int i = 1; i < n; i++)
            CPR_TRY(add_eval(g, toks[i], data_dir, w, err));
    } else if (!strcmp(kw, "max_chunks")) {
        long long x;
        if (n != 2 || parse_ll(toks[1], 1, 1LL << 40, &x))
            return bad(err, w, "max_chunks: expected an integer in [1, "
                       "2^40], found '%s'", n > 1 ? toks[1] : "");
        g->max_chunks = x;
    } else if (!strcmp(kw, "tasks")) {
        for (int i = 1; i < n; i++) CPR_TRY(add_task(g, toks[i], w, err));
    } else if (!strcmp(kw, "task_data")) {
        struct stat st;
        if (n != 2)
            return bad(err, w, "task_data: expected one folder, found %d "
                       "values", n - 1);
        if (stat(toks[1], &st) != 0 || !S_ISDIR(st.st_mode))
            return bad(err, w, "task_data: expected a folder of task files, "
                       "found '%s' (%s)", toks[1],
                       stat(toks[1], &st) != 0 ? strerror(errno)
                                                : "not a folder");
        if (strlen(toks[1]) >= sizeof g->task_data)
            return bad(err, w, "task_data: expected a path under %zu bytes, "
                       "found '%s'", sizeof g->task_data, toks[1]);
        snprintf(g->task_data, sizeof g->task_data, "%s", toks[1]);
        g->task_data_line = w->line;
    } else if (!strcmp(kw, "task_limit")) {
        long long x;
        if (n != 2 || parse_ll(toks[1], 1, 1LL << 40, &x))
            return bad(err, w, "task_limit: expected an integer in [1, "
                       "2^40], found '%s'", n > 1 ? toks[1] : "");
        g->task_limit = x;
        g->task_limit_line = w->line;
    } else if (!strcmp(kw, "kld")) {
        if (n != 2 || (strcmp(toks[1], "yes") && strcmp(toks[1], "no")))
            return bad(err, w, "kld: expected yes or no, found '%s'",
                       n > 1 ? toks[1] : "");
        g->kld = !strcmp(toks[1], "yes");
        g->kld_line = w->line;
    } else if (!strcmp(kw, "exclude")) {
        CPR_TRY(add_excludes(g, toks + 1, n - 1, w, err));
    } else if (!strcmp(kw, "dense")) {
        if (n != 2 || (strcmp(toks[1], "yes") && strcmp(toks[1], "no")))
            return bad(err, w, "dense: expected yes or no, found '%s'",
                       n > 1 ? toks[1] : "");
        g->dense = !strcmp(toks[1], "yes");
    } else {
        return bad(err, w, "expected a keyword (models, methods, targets, "
                   "calib, eval, max_chunks, dense, exclude, tasks, task_data, "
                   "task_limit, kld), found '%s'",
                   kw);
    }
    return CPR_OK;
}

enum cpr_status grid_parse(const char *path, const char *data_dir,
                           struct grid *g, struct cpr_err *err) {
    memset(g, 0, sizeof *g);
    g->dense = 1;
    snprintf(g->path, sizeof g->path, "%s", path);
    char *text = NULL;
    size_t len = 0;
    enum cpr_status s = cpr_file_read_all(path, GRID_MAX_BYTES, &text, &len,
                                          err);
    if (s) return s;
    struct where w = {.path = path, .line = 0};
    char *p = text, *end = text + len;
    while (p < end && s == CPR_OK) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = 0;
        w.line++;
        if (strlen(p) != (size_t)(stop - p))
            s = bad(err, &w, "expected text, found a NUL byte");
        else
            s = parse_line(g, p, data_dir, &w, err);
        p = stop + 1;
    }
    free(text);
    if (s) return s;
    w.line = w.line ? w.line : 1;
    const char *missing = !g->n_models    ? "models"
                          : !g->n_methods ? "methods"
                          : !g->n_targets ? "targets"
                          : !g->n_evals   ? "eval"
                                          : NULL;
    if (missing)
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s: expected a '%s' line "
                           "(required keywords: models, methods, targets, "
                           "eval), found none", path, missing);
    for (size_t i = 0; i < g->n_methods; i++)
        if (g->methods[i].needs_calib && !g->n_calibs)
            return cpr_err_set(err, CPR_ERR_FORMAT, "%s: method %s needs "
                               "calibration: expected a 'calib DATASET ...' "
                               "line, found none", path,
                               g->methods[i].label);
    CPR_TRY(resolve_excludes(g, err));
    CPR_TRY(check_tasks(g, err));
    // Every method x target pair that makes cells must be one the method
    // accepts (else: an exclude line).
    for (size_t i = 0; i < g->n_methods; i++) {
        const struct cpr_method *m = cpr_method_find(g->methods[i].name);
        void *state = NULL;
        struct cpr_err e2 = {0};
        if (m->init(&state, &e2) ||
            m->parse_opts(state, g->methods[i].opts, &e2)) {
            if (state) m->free(state);
            return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%d: methods: %s: %s",
                               path, g->methods[i].line, g->methods[i].label,
                               e2.msg); // (add_method parsed them already)
        }
        for (size_t t = 0; t < g->n_targets; t++) {
            const struct grid_target *gt = &g->targets[t];
            const struct cpr_prune_target pt = {gt->sparsity, gt->n, gt->m};
            if (g->excluded[i][t] || !cpr_method_accepts(m, state, &pt, &e2))
                continue;
            m->free(state);
            return cpr_err_set(err, CPR_ERR_FORMAT, "%s:%d: methods: %s at "
                               "target %s: %s (add 'exclude %s %s')", path,
                               g->methods[i].line, g->methods[i].label,
                               gt->text, e2.msg, g->methods[i].label,
                               gt->text);
        }
        m->free(state);
    }
    CPR_TRY(check_models(g, err));
    size_t used = 0;
    for (size_t i = 0; i < g->n_evals; i++)
        used += (size_t)snprintf(g->eval_list + used,
                                 sizeof g->eval_list - used, "%s%s",
                                 i ? "," : "", g->evals[i]);
    return CPR_OK;
}

// ---- cells ----

// Pruning cells of one model, in order.
static size_t cells_per_model(const struct grid *g) {
    size_t n = 0;
    for (size_t c = 0; c < (g->n_calibs ? g->n_calibs : 1); c++)
        for (size_t m = 0; m < g->n_methods; m++)
            if (g->methods[m].needs_calib || c == 0)
                for (size_t t = 0; t < g->n_targets; t++)
                    n += !g->excluded[m][t];
    return n;
}

size_t grid_n_cells(const struct grid *g) {
    return g->n_models * ((g->dense ? 1 : 0) + cells_per_model(g));
}

static void finish_cell(const struct grid *g, struct grid_cell *c) {
    if (c->dense)
        snprintf(c->desc, sizeof c->desc, "model=%s method=dense eval=%s",
                 c->model->label, g->eval_list);
    else
        snprintf(c->desc, sizeof c->desc,
                 "model=%s method=%s opts=%s target=%s calib=%s eval=%s",
                 c->model->label, c->method->name, c->method->opts,
                 c->target->text, c->calib ? c->calib->text : "none",
                 g->eval_list);
    if (g->max_chunks) { // only then, so ids of full evaluations stay put
        size_t u = strlen(c->desc);
        snprintf(c->desc + u, sizeof c->desc - u, " max_chunks=%lld",
                 g->max_chunks);
    }
    // Only when set, like max_chunks, so existing ids stay put.
    if (g->n_tasks) {
        size_t u = strlen(c->desc);
        snprintf(c->desc + u, sizeof c->desc - u, " tasks=%s",
                 g->task_list);
        if (g->task_limit) {
            u = strlen(c->desc);
            snprintf(c->desc + u, sizeof c->desc - u, " task_limit=%lld",
                     g->task_limit);
        }
    }
    if (g->kld && !c->dense) {
        size_t u = strlen(c->desc);
        snprintf(c->desc + u, sizeof c->desc - u, " kld=yes");
    }
    unsigned char d[32];
    char hex[65];
    cpr_sha256(c->desc, strlen(c->desc), d);
    cpr_sha256_hex(d, hex);
    memcpy(c->id, hex, 12);
    c->id[12] = 0;
}

void grid_cell_at(const struct grid *g, size_t i, struct grid_cell *c) {
    memset(c, 0, sizeof *c);
    c->index = i;
    const size_t per = (g->dense ? 1 : 0) + cells_per_model(g);
    c->model_index = i / per;
    c->model = &g->models[c->model_index];
    size_t r = i % per;
    if (g->dense) {
        if (r == 0) {
            c->dense = 1;
            finish_cell(g, c);
            return;
        }
        r--;
    }
    for (size_t k = 0; k < (g->n_calibs ? g->n_calibs : 1); k++)
        for (size_t m = 0; m < g->n_methods; m++) {
            const struct grid_method *gm = &g->methods[m];
            if (!gm->needs_calib && k != 0) continue;
            for (size_t t = 0; t < g->n_targets; t++) {
                if (g->excluded[m][t]) continue;
                if (r--) continue;
                c->method_index = m;
                c->method = gm;
                c->target = &g->targets[t];
                c->calib = gm->needs_calib ? &g->calibs[k] : NULL;
                finish_cell(g, c);
                return;
            }
        }
}
