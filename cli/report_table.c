// cli/report_table.c: table.md, table.csv and table.tex of `cprune report`
// (contract in cli/report.h).
//
// The layout follows the pruning papers (Wanda Table 3, SparseGPT Table
// 1): one table per evaluation dataset, rows = methods (Dense on top),
// columns = models x sparsity target, cells = perplexity with 2 decimals,
// the best pruned result of each column in bold (ties on the printed value
// are all bold; Dense is a reference, never bold); a cell whose achieved
// sparsity is more than one point from its column's target shows it in
// parentheses (md, tex), so unequal comparisons are visible. A row or column with no
// value on a dataset is left out of that dataset's table. table.csv holds
// the same numbers with 4 decimals, every dataset in one sheet. times.md
// holds the pruning seconds of every cell in the same layout (the one
// report file that differs between runs).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"

// ---- shared ----

static void fmt_ppl(double v, int decimals, char *buf, size_t cap) {
    if (isnan(v)) snprintf(buf, cap, "nan");
    else if (isinf(v)) snprintf(buf, cap, "inf");
    else snprintf(buf, cap, "%.*f", decimals, v);
}

// Which rows / columns have a value on ds.
static int row_present(const struct report *r, size_t row, const char *ds) {
    double v;
    for (size_t j = 0; j < r->n_cols; j++)
        if (report_value(r, row, j, ds, &v)) return 1;
    return 0;
}

static int col_present(const struct report *r, size_t col, const char *ds) {
    double v;
    for (size_t i = 0; i < r->n_rows; i++)
        if (report_value(r, i, col, ds, &v)) return 1;
    return 0;
}

// The best (lowest) printed pruned value of column col on ds, in best[]
// ("" when none).
static void column_best(const struct report *r, size_t col, const char *ds,
                        char *best, size_t cap) {
    double m = INFINITY, v;
    for (size_t i = 0; i < r->n_rows; i++)
        if (!r->rows[i].dense && report_value(r, i, col, ds, &v) &&
            isfinite(v) && v < m)
            m = v;
    best[0] = 0;
    if (isfinite(m)) fmt_ppl(m, 2, best, cap);
}

// The achieved sparsity of the cell at (row, col) when it lies more than
// one percentage point from the column's target (e.g. an approximate
// threshold, or an allocation whose N:M rounding moves the mean): 1 and
// *got; 0 otherwise (dense rows, cells without a recorded sparsity).
#define OFF_TARGET 0.01
static int off_target(const struct report *r, size_t row, size_t col,
                      double *got) {
    const struct rep_cell *c = report_cell(r, row, col);
    if (!c || c->dense || r->rows[row].dense) return 0;
    const struct cpr_json *sp = cpr_json_get(c->root, "sparsity");
    if (!cpr_json_is(sp, CPR_JSON_NUMBER)) return 0;
    *got = sp->num;
    return fabs(sp->num - r->cols[col].sparsity) > OFF_TARGET;
}

// "split eval, protocol hf, seqlen 512" of ds, from the cell with the
// smallest id that has it (content-defined, not file order).
static void dataset_note(const struct report *r, const char *ds, char *buf,
                         size_t cap) {
    const struct cpr_json *best = NULL;
    const char *best_id = NULL;
    for (size_t i = 0; i < r->n_cells; i++) {
        const struct cpr_json *e =
            cpr_json_get(cpr_json_get(r->cells[i].root, "eval"), ds);
        if (e && (!best_id || strcmp(r->cells[i].id, best_id) < 0))
            best = e, best_id = r->cells[i].id;
    }
    snprintf(buf, cap, "split %s, protocol %s, seqlen %lld",
             cpr_json_get_str(best, "split", "?"),
             cpr_json_get_str(best, "protocol", "?"),
             (long long)cpr_json_get_int(best, "seqlen", 0));
}

// ---- markdown ----

static void md_escape(struct strbuf *s, const char *t) {
    for (; *t; t++) {
        if (*t == '|' || *t == '*' || *t == '_' || *t == '\\')
            strbuf_add(s, "\\", 1);
        strbuf_add(s, t, 1);
    }
}

static void md_table(const struct report *r, const char *ds,
                     struct strbuf *s) {
    char note[200], tt[32], v_s[40], best[40];
    int any_off = 0;
    dataset_note(r, ds, note, sizeof note);
    strbuf_printf(s, "\n## %s (%s)\n\n| Method |", ds, note);
    for (size_t j = 0; j < r->n_cols; j++) {
        if (!col_present(r, j, ds)) continue;
        report_target_text(&r->cols[j], tt, sizeof tt);
        strbuf_puts(s, " ");
        md_escape(s, r->cols[j].model);
        strbuf_printf(s, " %s |", tt);
    }
    strbuf_puts(s, "\n|:---|");
    for (size_t j = 0; j < r->n_cols; j++)
        if (col_present(r, j, ds)) strbuf_puts(s, "---:|");
    strbuf_puts(s, "\n");
    for (size_t i = 0; i < r->n_rows; i++) {
        if (!row_present(r, i, ds)) continue;
        strbuf_puts(s, "| ");
        md_escape(s, r->rows[i].name);
        strbuf_puts(s, " |");
        for (size_t j = 0; j < r->n_cols; j++) {
            if (!col_present(r, j, ds)) continue;
            double v;
            if (!report_value(r, i, j, ds, &v)) {
                strbuf_puts(s, " - |");
                continue;
            }
            fmt_ppl(v, 2, v_s, sizeof v_s);
            column_best(r, j, ds, best, sizeof best);
            const int bold = !r->rows[i].dense && !strcmp(v_s, best);
            double got;
            strbuf_printf(s, " %s%s%s", bold ? "**" : "", v_s,
                          bold ? "**" : "");
            if (off_target(r, i, j, &got)) {
                strbuf_printf(s, " (%.1f%%)", got * 100.0);
                any_off = 1;
            }
            strbuf_puts(s, " |");
        }
        strbuf_puts(s, "\n");
    }
    if (any_off)
        strbuf_printf(s, "\n(x%%): the run's achieved sparsity over the "
                      "decoder linears, shown where it is more than %g "
                      "point%s from the column's target.\n",
                      OFF_TARGET * 100, OFF_TARGET * 100 == 1 ? "" : "s");
}

static void write_md(const struct report *r, struct strbuf *s) {
    strbuf_printf(s, "# Perplexity after pruning\n\n"
                  "Perplexity (lower is better) of each pruning method (rows; "
                  "options after `:`) for each model and sparsity target "
                  "(columns: unstructured sparsity, or N:M semi-structured). "
                  "Dense is the unpruned model; bold is the best pruned result "
                  "of each column. %zu cells; written by `cprune report` from "
                  "the results of `cprune sweep`.\n", r->n_cells);
    for (size_t d = 0; d < r->n_datasets; d++) md_table(r, r->datasets[d], s);
}

// ---- times.md ----

// Seconds a cell spent pruning: calibration forward + statistics +
// allocation scan + pruning (not tokenizing, diagnostics or evaluation).
// 1 and *sec, or 0 when the cell recorded none (dense cells).
static int prune_seconds(const struct rep_cell *c, double *sec) {
    static const char *const parts[] = {"calibration_forward", "statistics",
                                        "allocation_scan", "pruning"};
    const struct cpr_json *t = cpr_json_get(c->root, "seconds");
    if (!t || c->dense || !cpr_json_is(cpr_json_get(t, "pruning"),
                                       CPR_JSON_NUMBER))
        return 0;
    *sec = 0;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        *sec += cpr_json_get_num(t, parts[i], 0);
    return 1;
}

// The pruning seconds of every cell in the layout of the tables. Timings
// differ from run to run: they are kept out of table.md so that it stays
// byte-identical between runs.
static void write_times(const struct report *r, struct strbuf *s) {
    const struct rep_cell *first = NULL;
    int mixed_threads = 0, mixed_cpu = 0;
    for (size_t i = 0; i < r->n_cells; i++) {
        const struct rep_cell *c = &r->cells[i];
        if (c->dense) continue;
        if (!first) {
            first = c;
            continue;
        }
        mixed_threads |= cpr_json_get_int(c->root, "threads", 0) !=
                         cpr_json_get_int(first->root, "threads", 0);
        mixed_cpu |= strcmp(
            cpr_json_get_str(cpr_json_get(c->root, "host"), "cpu", "?"),
            cpr_json_get_str(cpr_json_get(first->root, "host"), "cpu", "?"));
    }
    strbuf_puts(s, "\n## Pruning seconds\n\nWall seconds of each pruning "
                "run: calibration forward, statistics, allocation scan and "
                "pruning (tokenizing, diagnostics and evaluation excluded). "
                "Timings vary from run to run");
    if (first)
        strbuf_printf(s, "; measured with %s%lld threads on %s%s",
                      mixed_threads ? "(varies) " : "",
                      (long long)cpr_json_get_int(first->root, "threads", 0),
                      cpr_json_get_str(cpr_json_get(first->root, "host"),
                                       "cpu", "?"),
                      mixed_cpu ? " (and other CPUs)" : "");
    strbuf_puts(s, ".\n\n| Method |");
    char tt[32];
    double v;
    char *col_has = calloc(r->n_cols + 1, 1);
    if (!col_has) {
        s->oom = 1;
        return;
    }
    for (size_t j = 0; j < r->n_cols; j++) {
        for (size_t i = 0; i < r->n_rows && !col_has[j]; i++) {
            const struct rep_cell *c = report_cell(r, i, j);
            col_has[j] = c && prune_seconds(c, &v);
        }
        if (!col_has[j]) continue;
        report_target_text(&r->cols[j], tt, sizeof tt);
        strbuf_puts(s, " ");
        md_escape(s, r->cols[j].model);
        strbuf_printf(s, " %s |", tt);
    }
    strbuf_puts(s, "\n|:---|");
    for (size_t j = 0; j < r->n_cols; j++)
        if (col_has[j]) strbuf_puts(s, "---:|");
    strbuf_puts(s, "\n");
    for (size_t i = 0; i < r->n_rows; i++) {
        if (r->rows[i].dense) continue;
        strbuf_puts(s, "| ");
        md_escape(s, r->rows[i].name);
        strbuf_puts(s, " |");
        for (size_t j = 0; j < r->n_cols; j++) {
            if (!col_has[j]) continue;
            const struct rep_cell *c = report_cell(r, i, j);
            if (c && prune_seconds(c, &v)) strbuf_printf(s, " %.2f |", v);
            else strbuf_puts(s, " - |");
        }
        strbuf_puts(s, "\n");
    }
    free(col_has);
}

// ---- CSV ----

static void csv_field(struct strbuf *s, const char *t) {
    if (!strpbrk(t, ",\"\n\r")) {
        strbuf_puts(s, t);
        return;
    }
    strbuf_puts(s, "\"");
    for (; *t; t++) {
        if (*t == '"') strbuf_puts(s, "\"\""); // a quote is doubled
        else strbuf_add(s, t, 1);
    }
    strbuf_puts(s, "\"");
}

static void write_csv(const struct report *r, struct strbuf *s) {
    char tt[32], head[600], v_s[40];
    strbuf_puts(s, "dataset,method");
    for (size_t j = 0; j < r->n_cols; j++) {
        report_target_text(&r->cols[j], tt, sizeof tt);
        snprintf(head, sizeof head, "%s %s", r->cols[j].model, tt);
        strbuf_puts(s, ",");
        csv_field(s, head);
    }
    strbuf_puts(s, "\n");
    for (size_t d = 0; d < r->n_datasets; d++)
        for (size_t i = 0; i < r->n_rows; i++) {
            const char *ds = r->datasets[d];
            if (!row_present(r, i, ds)) continue;
            csv_field(s, ds);
            strbuf_puts(s, ",");
            csv_field(s, r->rows[i].name);
            for (size_t j = 0; j < r->n_cols; j++) {
                double v;
                strbuf_puts(s, ",");
                if (report_value(r, i, j, ds, &v)) {
                    fmt_ppl(v, 4, v_s, sizeof v_s);
                    strbuf_puts(s, v_s);
                }
            }
            strbuf_puts(s, "\n");
        }
}

// ---- LaTeX ----

static void tex_escape(struct strbuf *s, const char *t) {
    for (; *t; t++) {
        switch (*t) {
        case '\\': strbuf_puts(s, "\\textbackslash{}"); break;
        case '~': strbuf_puts(s, "\\textasciitilde{}"); break;
        case '^': strbuf_puts(s, "\\textasciicircum{}"); break;
        case '&': case '%': case '$': case '#': case '_': case '{': case '}':
            strbuf_add(s, "\\", 1);
            strbuf_add(s, t, 1);
            break;
        default: strbuf_add(s, t, 1);
        }
    }
}

static void tex_table(const struct report *r, const char *ds,
                      struct strbuf *s) {
    char note[200], tt[32], v_s[40], best[40];
    dataset_note(r, ds, note, sizeof note);
    strbuf_printf(s, "\n%% %s (%s): perplexity, best pruned result per "
                  "column in bold\n\\begin{tabular}{l", ds, note);
    const char *prev = NULL;
    for (size_t j = 0; j < r->n_cols; j++) {
        if (!col_present(r, j, ds)) continue;
        if (prev && strcmp(prev, r->cols[j].model)) strbuf_puts(s, "|");
        strbuf_puts(s, "r");
        prev = r->cols[j].model;
    }
    strbuf_puts(s, "}\n\\toprule\n\\textit{");
    tex_escape(s, ds);
    strbuf_puts(s, "}");
    // model header: one \multicolumn per run of columns of a model
    size_t first_col = 2;
    struct strbuf rules = {0};
    for (size_t j = 0; j < r->n_cols;) {
        size_t span = 0, k = j;
        for (; k < r->n_cols && !strcmp(r->cols[k].model, r->cols[j].model);
             k++)
            span += (size_t)col_present(r, k, ds);
        if (span) {
            strbuf_printf(s, " & \\multicolumn{%zu}{c}{", span);
            tex_escape(s, r->cols[j].model);
            strbuf_puts(s, "}");
            strbuf_printf(&rules, " \\cmidrule(lr){%zu-%zu}", first_col,
                          first_col + span - 1);
            first_col += span;
        }
        j = k;
    }
    strbuf_puts(s, " \\\\\n");
    if (rules.buf) strbuf_printf(s, "%s\n", rules.buf + 1);
    s->oom |= rules.oom;
    strbuf_free(&rules);
    strbuf_puts(s, "Method");
    for (size_t j = 0; j < r->n_cols; j++) {
        if (!col_present(r, j, ds)) continue;
        report_target_text(&r->cols[j], tt, sizeof tt);
        strbuf_puts(s, " & ");
        tex_escape(s, tt);
    }
    strbuf_puts(s, " \\\\\n\\midrule\n");
    for (size_t i = 0; i < r->n_rows; i++) {
        if (!row_present(r, i, ds)) continue;
        tex_escape(s, r->rows[i].name);
        for (size_t j = 0; j < r->n_cols; j++) {
            if (!col_present(r, j, ds)) continue;
            double v;
            if (!report_value(r, i, j, ds, &v)) {
                strbuf_puts(s, " & --");
                continue;
            }
            fmt_ppl(v, 2, v_s, sizeof v_s);
            column_best(r, j, ds, best, sizeof best);
            if (!r->rows[i].dense && !strcmp(v_s, best))
                strbuf_printf(s, " & \\textbf{%s}", v_s);
            else
                strbuf_printf(s, " & %s", v_s);
            double got;
            if (off_target(r, i, j, &got))
                strbuf_printf(s, " {\\scriptsize(%.1f\\%%)}", got * 100.0);
        }
        strbuf_puts(s, " \\\\\n");
        if (r->rows[i].dense) strbuf_puts(s, "\\midrule\n");
    }
    strbuf_puts(s, "\\bottomrule\n\\end{tabular}\n");
}

static void write_tex(const struct report *r, struct strbuf *s) {
    strbuf_puts(s, "% Perplexity after pruning, written by `cprune report`.\n"
                   "% Needs \\usepackage{booktabs}.\n");
    for (size_t d = 0; d < r->n_datasets; d++)
        tex_table(r, r->datasets[d], s);
}

enum cpr_status report_write_tables(const struct report *r, const char *dir,
                                    struct cpr_err *err) {
    struct strbuf md = {0}, csv = {0}, tex = {0}, times = {0};
    write_md(r, &md);
    write_csv(r, &csv);
    write_tex(r, &tex);
    write_times(r, &times);
    enum cpr_status s = report_write_file(dir, "table.md", &md, err);
    if (!s) s = report_write_file(dir, "table.csv", &csv, err);
    if (!s) s = report_write_file(dir, "table.tex", &tex, err);
    if (!s) s = report_write_file(dir, "times.md", &times, err);
    strbuf_free(&times);
    strbuf_free(&md);
    strbuf_free(&csv);
    strbuf_free(&tex);
    return s;
}
