// cli/report_tasks.c: tasks.md / tasks.csv and kld.md / kld.csv of
// `cprune report` (contract in cli/report.h), written only when some cell
// recorded zero-shot tasks (`tasks`) or KL divergence (`kld`).
//
// Tasks, the papers' layout (Wanda Table 2, SparseGPT Table 3): one table
// per model and sparsity target, rows = methods (Dense first), columns =
// each task's accuracy in percent, then the mean over those columns. The
// column is plain `acc` for every task, the metric `mean_acc` averages and
// the reading of Wanda's dense HellaSwag in METHODS_REFERENCE_2.md §6;
// tasks.csv carries acc_norm as well for the tasks that have it. Tasks run
// in the papers' order (BoolQ, RTE, HellaSwag, WinoGrande, ARC-e, ARC-c,
// OBQA, then PIQA and the rest by name). A row lacking a task shows "-"
// there and no mean.
//
// KL divergence to the dense model: one table per evaluation dataset, rows
// = pruned methods, columns = models x targets, cells = mean KLD (nats per
// token) and, in parentheses, the share of positions where the pruned
// model's top-1 token equals the dense model's. Dense has no row: its KLD
// is 0 and its same-top share 100% by definition (a dense line records no
// `kld`).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"

#define MAX_NAMES 64

static const char *const paper_order[] = {
    "boolq", "rte", "hellaswag", "winogrande", "arc_easy",
    "arc_challenge", "openbookqa", "piqa"};

static size_t rank_of(const char *t) {
    for (size_t i = 0; i < sizeof paper_order / sizeof *paper_order; i++)
        if (!strcmp(t, paper_order[i])) return i;
    return sizeof paper_order / sizeof *paper_order;
}

static int cmp_task(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t rx = rank_of(x), ry = rank_of(y);
    if (rx != ry) return rx < ry ? -1 : 1;
    return strcmp(x, y);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// The member names of every cell's `member` object (less `skip`), unique.
static size_t collect(const struct report *r, const char *member,
                      const char *skip, const char **out) {
    size_t n = 0;
    for (size_t i = 0; i < r->n_cells; i++) {
        const struct cpr_json *o = cpr_json_get(r->cells[i].root, member);
        if (!cpr_json_is(o, CPR_JSON_OBJECT)) continue;
        for (size_t k = 0; k < cpr_json_len(o); k++) {
            const struct cpr_json *v = cpr_json_at(o, k);
            if (!cpr_json_is(v, CPR_JSON_OBJECT) || !v->key) continue;
            if (skip && !strcmp(v->key, skip)) continue;
            size_t j = 0;
            while (j < n && strcmp(out[j], v->key)) j++;
            if (j == n && n < MAX_NAMES) out[n++] = v->key;
        }
    }
    return n;
}

static void md_escape(struct strbuf *s, const char *t) {
    for (; *t; t++) {
        if (*t == '|' || *t == '*' || *t == '_' || *t == '\\')
            strbuf_add(s, "\\", 1);
        strbuf_add(s, t, 1);
    }
}

static void csv_field(struct strbuf *s, const char *t) {
    if (!strpbrk(t, ",\"\n\r")) {
        strbuf_puts(s, t);
        return;
    }
    strbuf_puts(s, "\"");
    for (; *t; t++) {
        if (*t == '"') strbuf_puts(s, "\"\"");
        else strbuf_add(s, t, 1);
    }
    strbuf_puts(s, "\"");
}

static void csv_num(struct strbuf *s, const struct cpr_json *o,
                    const char *key) {
    const struct cpr_json *v = cpr_json_get(o, key);
    strbuf_puts(s, ",");
    if (cpr_json_is(v, CPR_JSON_NUMBER)) strbuf_printf(s, "%.6f", v->num);
}

// The cell's record of `task` (an object), else NULL.
static const struct cpr_json *task_of(const struct rep_cell *c,
                                      const char *task) {
    const struct cpr_json *t =
        c ? cpr_json_get(cpr_json_get(c->root, "tasks"), task) : NULL;
    return cpr_json_is(cpr_json_get(t, "acc"), CPR_JSON_NUMBER) ? t : NULL;
}

// ---- tasks ----

static void tasks_md(const struct report *r, const char **tasks, size_t nt,
                     struct strbuf *s) {
    char tt[32];
    strbuf_puts(s, "# Zero-shot accuracy (%)\n\nWritten by `cprune report`. "
                   "Plain acc for every task (acc_norm is in tasks.csv); "
                   "Mean averages the columns shown.\n");
    for (size_t j = 0; j < r->n_cols; j++) {
        int any = 0;
        for (size_t i = 0; i < r->n_rows && !any; i++)
            for (size_t k = 0; k < nt && !any; k++)
                any = task_of(report_cell(r, i, j), tasks[k]) != NULL;
        if (!any) continue;
        report_target_text(&r->cols[j], tt, sizeof tt);
        strbuf_puts(s, "\n## ");
        md_escape(s, r->cols[j].model);
        strbuf_printf(s, " %s\n\n| Method |", tt);
        for (size_t k = 0; k < nt; k++) {
            strbuf_puts(s, " ");
            md_escape(s, tasks[k]);
            strbuf_puts(s, " |");
        }
        strbuf_puts(s, " Mean |\n|:---|");
        for (size_t k = 0; k <= nt; k++) strbuf_puts(s, "---:|");
        strbuf_puts(s, "\n");
        for (size_t i = 0; i < r->n_rows; i++) {
            const struct rep_cell *c = report_cell(r, i, j);
            int have = 0;
            for (size_t k = 0; k < nt; k++) have += task_of(c, tasks[k]) != NULL;
            if (!have) continue;
            strbuf_puts(s, "| ");
            md_escape(s, r->rows[i].name);
            strbuf_puts(s, " |");
            double sum = 0;
            for (size_t k = 0; k < nt; k++) {
                const struct cpr_json *t = task_of(c, tasks[k]);
                if (!t) {
                    strbuf_puts(s, " - |");
                    continue;
                }
                const double a = cpr_json_get_num(t, "acc", 0);
                sum += a;
                strbuf_printf(s, " %.2f |", 100 * a);
            }
            if ((size_t)have == nt) strbuf_printf(s, " %.2f |\n", 100 * sum / (double)nt);
            else strbuf_puts(s, " - |\n");
        }
    }
}

static void tasks_csv(const struct report *r, const char **tasks, size_t nt,
                      struct strbuf *s) {
    char tt[32];
    strbuf_puts(s, "model,target,method,task,n,acc,acc_stderr,acc_norm,"
                   "acc_norm_stderr\n");
    for (size_t j = 0; j < r->n_cols; j++) {
        report_target_text(&r->cols[j], tt, sizeof tt);
        for (size_t i = 0; i < r->n_rows; i++)
            for (size_t k = 0; k < nt; k++) {
                const struct cpr_json *t =
                    task_of(report_cell(r, i, j), tasks[k]);
                if (!t) continue;
                csv_field(s, r->cols[j].model);
                strbuf_puts(s, ",");
                csv_field(s, tt);
                strbuf_puts(s, ",");
                csv_field(s, r->rows[i].name);
                strbuf_puts(s, ",");
                csv_field(s, tasks[k]);
                strbuf_printf(s, ",%lld",
                              (long long)cpr_json_get_int(t, "n", 0));
                csv_num(s, t, "acc");
                csv_num(s, t, "acc_stderr");
                csv_num(s, t, "acc_norm");
                csv_num(s, t, "acc_norm_stderr");
                strbuf_puts(s, "\n");
            }
    }
}

// ---- KL divergence ----

static const struct cpr_json *kld_of(const struct report *r, size_t row,
                                     size_t col, const char *ds) {
    if (r->rows[row].dense) return NULL;
    const struct rep_cell *c = report_cell(r, row, col);
    const struct cpr_json *k =
        c ? cpr_json_get(cpr_json_get(c->root, "kld"), ds) : NULL;
    return cpr_json_is(cpr_json_get(k, "mean"), CPR_JSON_NUMBER) ? k : NULL;
}

static void kld_md(const struct report *r, const char **ds, size_t nd,
                   struct strbuf *s) {
    char tt[32];
    strbuf_puts(s, "# KL divergence to the dense model\n\nWritten by "
                   "`cprune report`. Mean KLD (nats per token), in "
                   "parentheses the positions (%) whose top-1 token equals "
                   "the dense model's. Dense: 0 and 100% by definition.\n");
    for (size_t d = 0; d < nd; d++) {
        strbuf_puts(s, "\n## ");
        md_escape(s, ds[d]);
        strbuf_puts(s, "\n\n| Method |");
        size_t shown = 0;
        for (size_t j = 0; j < r->n_cols; j++) {
            int any = 0;
            for (size_t i = 0; i < r->n_rows && !any; i++)
                any = kld_of(r, i, j, ds[d]) != NULL;
            if (!any) continue;
            report_target_text(&r->cols[j], tt, sizeof tt);
            strbuf_puts(s, " ");
            md_escape(s, r->cols[j].model);
            strbuf_printf(s, " %s |", tt);
            shown++;
        }
        strbuf_puts(s, "\n|:---|");
        for (size_t j = 0; j < shown; j++) strbuf_puts(s, "---:|");
        strbuf_puts(s, "\n");
        for (size_t i = 0; i < r->n_rows; i++) {
            int any = 0;
            for (size_t j = 0; j < r->n_cols && !any; j++)
                any = kld_of(r, i, j, ds[d]) != NULL;
            if (!any) continue;
            strbuf_puts(s, "| ");
            md_escape(s, r->rows[i].name);
            strbuf_puts(s, " |");
            for (size_t j = 0; j < r->n_cols; j++) {
                int col_any = 0;
                for (size_t i2 = 0; i2 < r->n_rows && !col_any; i2++)
                    col_any = kld_of(r, i2, j, ds[d]) != NULL;
                if (!col_any) continue;
                const struct cpr_json *k = kld_of(r, i, j, ds[d]);
                if (!k) strbuf_puts(s, " |");
                else
                    strbuf_printf(s, " %.4f (%.1f%%) |",
                                  cpr_json_get_num(k, "mean", 0),
                                  100 * cpr_json_get_num(k, "same_top", 0));
            }
            strbuf_puts(s, "\n");
        }
    }
}

static void kld_csv(const struct report *r, const char **ds, size_t nd,
                    struct strbuf *s) {
    char tt[32];
    strbuf_puts(s, "dataset,model,target,method,mean,mean_stderr,same_top,"
                   "same_top_stderr,ppl,reference_ppl\n");
    for (size_t d = 0; d < nd; d++)
        for (size_t j = 0; j < r->n_cols; j++) {
            report_target_text(&r->cols[j], tt, sizeof tt);
            for (size_t i = 0; i < r->n_rows; i++) {
                const struct cpr_json *k = kld_of(r, i, j, ds[d]);
                if (!k) continue;
                csv_field(s, ds[d]);
                strbuf_puts(s, ",");
                csv_field(s, r->cols[j].model);
                strbuf_puts(s, ",");
                csv_field(s, tt);
                strbuf_puts(s, ",");
                csv_field(s, r->rows[i].name);
                csv_num(s, k, "mean");
                csv_num(s, k, "mean_stderr");
                csv_num(s, k, "same_top");
                csv_num(s, k, "same_top_stderr");
                csv_num(s, k, "ppl");
                csv_num(s, k, "reference_ppl");
                strbuf_puts(s, "\n");
            }
        }
}

enum cpr_status report_write_tasks(const struct report *r, const char *dir,
                                   int *n_written, struct cpr_err *err) {
    const char *tasks[MAX_NAMES], *ds[MAX_NAMES];
    const size_t nt = collect(r, "tasks", NULL, tasks);
    const size_t nd = collect(r, "kld", NULL, ds);
    qsort(tasks, nt, sizeof *tasks, cmp_task);
    qsort(ds, nd, sizeof *ds, cmp_name);
    enum cpr_status s = CPR_OK;
    *n_written = 0;
    if (nt) {
        struct strbuf md = {0}, csv = {0};
        tasks_md(r, tasks, nt, &md);
        tasks_csv(r, tasks, nt, &csv);
        s = report_write_file(dir, "tasks.md", &md, err);
        if (!s) s = report_write_file(dir, "tasks.csv", &csv, err);
        strbuf_free(&md);
        strbuf_free(&csv);
        if (!s) *n_written |= 1;
    }
    if (nd && !s) {
        struct strbuf md = {0}, csv = {0};
        kld_md(r, ds, nd, &md);
        kld_csv(r, ds, nd, &csv);
        s = report_write_file(dir, "kld.md", &md, err);
        if (!s) s = report_write_file(dir, "kld.csv", &csv, err);
        strbuf_free(&md);
        strbuf_free(&csv);
        if (!s) *n_written |= 2;
    }
    return s;
}
