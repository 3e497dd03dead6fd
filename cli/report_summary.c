// cli/report_summary.c: summary.md of `cprune report`: what the numbers
// of the tables depend on (contract in cli/report.h): toolkit version,
// ISA, threads, machines, model hashes, calibration settings and their
// token hashes, evaluation protocols, failed cells.
//
// Every list is a tally: the distinct values, sorted as text, each with
// the number of cells that had it, so a sweep that mixed machines or
// versions shows it at once.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"

#define KEY_CAP 640

struct key {
    char s[KEY_CAP];
};

// Writes the k-th value of cell c into buf (fields separated by '\t');
// returns 0 when c has no k-th value.
typedef int (*key_fn)(const struct rep_cell *c, size_t k, char *buf,
                      size_t cap);

static int cmp_key(const void *a, const void *b) {
    return strcmp(((const struct key *)a)->s, ((const struct key *)b)->s);
}

// Collect, sort and count the values of fn over all cells. *keys is
// malloc'd; returns the number of values, or (size_t)-1 on NOMEM.
static size_t collect(const struct report *r, key_fn fn, struct key **keys) {
    size_t n = 0, cap = 0;
    *keys = NULL;
    for (size_t i = 0; i < r->n_cells; i++)
        for (size_t k = 0;; k++) {
            char buf[KEY_CAP];
            if (!fn(&r->cells[i], k, buf, sizeof buf)) break;
            if (n == cap) {
                cap = cap ? 2 * cap : 32;
                struct key *nk = realloc(*keys, cap * sizeof *nk);
                if (!nk) {
                    free(*keys);
                    *keys = NULL;
                    return (size_t)-1;
                }
                *keys = nk;
            }
            memcpy((*keys)[n++].s, buf, sizeof buf);
        }
    if (n) qsort(*keys, n, sizeof **keys, cmp_key);
    return n;
}

static void md_cell(struct strbuf *s, const char *t, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '|') strbuf_add(s, "\\", 1);
        strbuf_add(s, t + i, 1);
    }
}

// "- title: v1 (3 cells), v2 (1 cell)"
static void tally_line(const struct report *r, struct strbuf *s,
                       const char *title, key_fn fn) {
    struct key *keys;
    size_t n = collect(r, fn, &keys);
    if (n == (size_t)-1) {
        s->oom = 1;
        return;
    }
    strbuf_printf(s, "- %s:", title);
    if (!n) strbuf_puts(s, " none");
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !strcmp(keys[j].s, keys[i].s)) j++;
        strbuf_printf(s, "%s %s (%zu cell%s)", i ? "," : "", keys[i].s, j - i,
                      j - i == 1 ? "" : "s");
        i = j;
    }
    strbuf_puts(s, "\n");
    free(keys);
}

// A markdown table of the distinct values, one column per '\t' field, and
// a last column with the cell count.
static void tally_table(const struct report *r, struct strbuf *s,
                        const char *title, const char *header, key_fn fn) {
    struct key *keys;
    size_t n = collect(r, fn, &keys);
    if (n == (size_t)-1) {
        s->oom = 1;
        return;
    }
    if (!n) return;
    strbuf_printf(s, "\n## %s\n\n| %s | cells |\n|", title, header);
    for (const char *p = header; p; p = strchr(p + 1, '|'))
        strbuf_puts(s, "---|");
    strbuf_puts(s, "---|\n");
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !strcmp(keys[j].s, keys[i].s)) j++;
        strbuf_puts(s, "|");
        for (const char *f = keys[i].s;;) {
            const char *tab = strchr(f, '\t');
            size_t len = tab ? (size_t)(tab - f) : strlen(f);
            strbuf_puts(s, " ");
            md_cell(s, f, len);
            strbuf_puts(s, " |");
            if (!tab) break;
            f = tab + 1;
        }
        strbuf_printf(s, " %zu |\n", j - i);
        i = j;
    }
    free(keys);
}

// ---- the values ----

static const char *gs(const struct cpr_json *o, const char *key) {
    return cpr_json_get_str(o, key, "?");
}

static int k_version(const struct rep_cell *c, size_t k, char *b, size_t n) {
    return !k && snprintf(b, n, "%s", gs(c->root, "version")) >= 0;
}

static int k_isa(const struct rep_cell *c, size_t k, char *b, size_t n) {
    return !k && snprintf(b, n, "%s", gs(c->root, "isa")) >= 0;
}

static int k_threads(const struct rep_cell *c, size_t k, char *b, size_t n) {
    return !k && snprintf(b, n, "%lld", (long long)cpr_json_get_int(
                                            c->root, "threads", 0)) >= 0;
}

static int k_host(const struct rep_cell *c, size_t k, char *b, size_t n) {
    const struct cpr_json *h = cpr_json_get(c->root, "host");
    return !k && snprintf(b, n, "%s: %s, %lld CPUs", gs(h, "hostname"),
                          gs(h, "cpu"),
                          (long long)cpr_json_get_int(h, "cpus", 0)) >= 0;
}

static int k_seed(const struct rep_cell *c, size_t k, char *b, size_t n) {
    const struct cpr_json *cal = cpr_json_get(c->root, "calibration");
    if (k || !cpr_json_is(cal, CPR_JSON_OBJECT)) return 0;
    return snprintf(b, n, "%lld", (long long)cpr_json_get_int(cal, "seed",
                                                               -1)) >= 0;
}

static int k_model(const struct rep_cell *c, size_t k, char *b, size_t n) {
    return !k && snprintf(b, n, "%s\t%s\t%s", c->model,
                          gs(c->root, "model_sha256"),
                          gs(c->root, "model")) >= 0;
}

static int k_calib(const struct rep_cell *c, size_t k, char *b, size_t n) {
    const struct cpr_json *cal = cpr_json_get(c->root, "calibration");
    if (k || !cpr_json_is(cal, CPR_JSON_OBJECT)) return 0;
    return snprintf(b, n, "%s\t%s\t%s\t%s\t%lld\t%lld\t%lld\t%s",
                    c->model, gs(cal, "dataset"), gs(cal, "split"), gs(cal, "sampling"),
                    (long long)cpr_json_get_int(cal, "nsamples", 0),
                    (long long)cpr_json_get_int(cal, "seqlen", 0),
                    (long long)cpr_json_get_int(cal, "seed", 0),
                    gs(cal, "tokens_sha256")) >= 0;
}

static int k_eval(const struct rep_cell *c, size_t k, char *b, size_t n) {
    const struct cpr_json *ev = cpr_json_get(c->root, "eval");
    const struct cpr_json *e = cpr_json_at(ev, k);
    if (!e) return 0;
    return snprintf(b, n, "%s\t%s\t%s\t%s\t%lld\t%lld\t%lld", c->model,
                    e->key,
                    gs(e, "split"), gs(e, "protocol"),
                    (long long)cpr_json_get_int(e, "seqlen", 0),
                    (long long)cpr_json_get_int(e, "nchunks", 0),
                    (long long)cpr_json_get_int(e, "ntokens_scored", 0)) >= 0;
}

// ---- the file ----

static int cmp_failed(const void *a, const void *b) {
    const struct sweep_result *x = *(const struct sweep_result *const *)a;
    const struct sweep_result *y = *(const struct sweep_result *const *)b;
    return strcmp(x->cell_id, y->cell_id);
}

static void failed_table(const struct report *r, struct strbuf *s) {
    if (!r->n_failed) return;
    const struct sweep_result **f = malloc(r->n_failed * sizeof *f);
    if (!f) {
        s->oom = 1;
        return;
    }
    memcpy(f, r->failed, r->n_failed * sizeof *f);
    qsort(f, r->n_failed, sizeof *f, cmp_failed);
    strbuf_puts(s, "\n## Failed cells\n\n| cell | model | method | target | "
                   "error |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < r->n_failed; i++) {
        const struct cpr_json *g = cpr_json_get(f[i]->root, "grid");
        const char *fields[] = {f[i]->cell_id, gs(g, "model"), gs(g, "label"),
                                cpr_json_get_str(g, "target", "-"),
                                gs(f[i]->root, "error")};
        strbuf_puts(s, "|");
        for (size_t k = 0; k < sizeof fields / sizeof *fields; k++) {
            strbuf_puts(s, " ");
            md_cell(s, fields[k], strlen(fields[k]));
            strbuf_puts(s, " |");
        }
        strbuf_puts(s, "\n");
    }
    free(f);
}

enum cpr_status report_write_summary(const struct report *r, const char *dir,
                                     struct cpr_err *err) {
    struct strbuf s = {0};
    double wall = 0;
    for (size_t i = 0; i < r->n_cells; i++)
        wall += cpr_json_get_num(r->cells[i].root, "wall_seconds", 0);
    strbuf_printf(&s, "# Sweep summary\n\nWhat the tables depend on, from "
                  "the sweep results (written by `cprune report`).\n\n"
                  "- cells: %zu ok, %zu failed\n", r->n_cells, r->n_failed);
    if (r->rs.n_skipped)
        strbuf_printf(&s, "- lines ignored (not records): %zu\n",
                      r->rs.n_skipped);
    strbuf_printf(&s, "- compute: %.1f s (sum of the cells' wall_seconds)\n",
                  wall);
    tally_line(r, &s, "cprune version", k_version);
    tally_line(r, &s, "ISA", k_isa);
    tally_line(r, &s, "threads", k_threads);
    tally_line(r, &s, "machines", k_host);
    tally_line(r, &s, "calibration seeds", k_seed);
    tally_table(r, &s, "Models", "model | sha256 | path", k_model);
    tally_table(r, &s, "Calibration",
                "model | dataset | split | sampling | windows | seqlen | seed "
                "| windows sha256", k_calib);
    tally_table(r, &s, "Evaluation",
                "model | dataset | split | protocol | seqlen | chunks | scored "
                "tokens", k_eval);
    failed_table(r, &s);
    enum cpr_status st = report_write_file(dir, "summary.md", &s, err);
    strbuf_free(&s);
    return st;
}
