// cli/report_data.c: results.jsonl arranged into rows and columns
// (contract in cli/report.h).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"
#include "data/fileio.h"

// ---- small helpers ----

static const char *str_or_null(const struct cpr_json *obj, const char *key) {
    const struct cpr_json *v = cpr_json_get(obj, key);
    return cpr_json_is(v, CPR_JSON_STRING) ? v->str : NULL;
}

static int str_eq_null(const char *a, const char *b) {
    return a == b || (a && b && !strcmp(a, b));
}

// NULL sorts first.
static int cmp_null(const char *a, const char *b) {
    if (!a || !b) return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static void parse_target(const char *t, struct rep_col *c) {
    unsigned n, m;
    char tail;
    c->target = t;
    c->nm_n = c->nm_m = 0;
    if (sscanf(t, "%u:%u%c", &n, &m, &tail) == 2 && m) {
        c->nm_n = n, c->nm_m = m, c->sparsity = (double)n / m;
    } else {
        c->sparsity = strtod(t, NULL);
    }
}

void report_target_text(const struct rep_col *c, char *buf, size_t cap) {
    if (c->nm_m) snprintf(buf, cap, "%u:%u", c->nm_n, c->nm_m);
    else snprintf(buf, cap, "%g%%", c->sparsity * 100.0);
}

// ---- ordering ----

// Models: first grid position seen (min model_index), then label.
struct model_key {
    const char *label;
    long long index;
};

static int cmp_model(const void *pa, const void *pb) {
    const struct model_key *a = pa, *b = pb;
    if (a->index != b->index) return a->index < b->index ? -1 : 1;
    return strcmp(a->label, b->label);
}

static size_t model_rank(const struct report *r, const char *label) {
    for (size_t i = 0; i < r->n_models; i++)
        if (!strcmp(r->models[i], label)) return i;
    return r->n_models;
}

// Columns: model order, then unstructured targets by sparsity, then N:M
// patterns by (M, N).
static int cmp_col(const void *pa, const void *pb) {
    const struct rep_col *a = pa, *b = pb;
    if (a->model_rank != b->model_rank)
        return a->model_rank < b->model_rank ? -1 : 1;
    if ((a->nm_m != 0) != (b->nm_m != 0)) return a->nm_m ? 1 : -1;
    if (a->nm_m && a->nm_m != b->nm_m) return a->nm_m < b->nm_m ? -1 : 1;
    if (a->sparsity != b->sparsity) return a->sparsity < b->sparsity ? -1 : 1;
    return strcmp(a->target, b->target);
}

// Rows: dense first, then grid method order, label, calibration.
static int cmp_row(const void *pa, const void *pb) {
    const struct rep_row *a = pa, *b = pb;
    if (a->dense != b->dense) return a->dense ? -1 : 1;
    if (a->method_index != b->method_index)
        return a->method_index < b->method_index ? -1 : 1;
    int c = strcmp(a->label, b->label);
    return c ? c : cmp_null(a->calib, b->calib);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// ---- loading ----

// Fill c from a line; 0 ok, -1 when the line lacks the grid coordinates.
static int cell_from_line(const struct sweep_result *res, struct rep_cell *c) {
    const struct cpr_json *g = cpr_json_get(res->root, "grid");
    memset(c, 0, sizeof *c);
    c->root = res->root;
    c->id = res->cell_id;
    c->model = str_or_null(g, "model");
    c->label = str_or_null(g, "label");
    c->target = str_or_null(g, "target");
    c->calib = str_or_null(cpr_json_get(g, "calib"), "text");
    c->model_index = cpr_json_get_int(g, "model_index", 0);
    c->method_index = cpr_json_get_int(g, "method_index", 0);
    c->dense = cpr_json_str_eq(cpr_json_get(g, "method"), "dense");
    if (!c->model || !c->label || (!c->dense && !c->target)) return -1;
    return 0;
}

// Grow a pointer array by one; -1 on allocation failure.
static int push(void *arr_p, size_t *n, size_t elem, const void *v) {
    char **arr = arr_p;
    char *a = realloc(*arr, (*n + 1) * elem);
    if (!a) return -1;
    memcpy(a + *n * elem, v, elem);
    *arr = a;
    (*n)++;
    return 0;
}

static enum cpr_status arrange(struct report *r, struct cpr_err *err) {
    struct model_key *mk = NULL;
    size_t n_mk = 0;
    int multi_calib = 0;
    const char *calib0 = NULL;
    for (size_t i = 0; i < r->n_cells; i++) {
        const struct rep_cell *c = &r->cells[i];
        size_t j = 0;
        while (j < n_mk && strcmp(mk[j].label, c->model)) j++;
        struct model_key k = {c->model, c->model_index};
        if (j == n_mk) {
            if (push(&mk, &n_mk, sizeof k, &k)) goto nomem;
        } else if (c->model_index < mk[j].index) {
            mk[j].index = c->model_index;
        }
        if (c->calib && !calib0) calib0 = c->calib;
        if (c->calib && strcmp(c->calib, calib0)) multi_calib = 1;
        const struct cpr_json *ev = cpr_json_get(c->root, "eval");
        for (size_t e = 0; e < cpr_json_len(ev); e++) {
            const char *ds = cpr_json_at(ev, e)->key;
            size_t q = 0;
            while (q < r->n_datasets && strcmp(r->datasets[q], ds)) q++;
            if (q == r->n_datasets &&
                push(&r->datasets, &r->n_datasets, sizeof ds, &ds))
                goto nomem;
        }
    }
    if (n_mk) qsort(mk, n_mk, sizeof *mk, cmp_model);
    for (size_t i = 0; i < n_mk; i++)
        if (push(&r->models, &r->n_models, sizeof mk[i].label, &mk[i].label))
            goto nomem;
    free(mk);
    mk = NULL;
    if (r->n_datasets)
        qsort(r->datasets, r->n_datasets, sizeof *r->datasets, cmp_str);

    for (size_t i = 0; i < r->n_cells; i++) {
        const struct rep_cell *c = &r->cells[i];
        struct rep_row row = {.label = c->dense ? "dense" : c->label,
                              .calib = multi_calib && !c->dense ? c->calib
                                                                : NULL,
                              .method_index = c->dense ? -1 : c->method_index,
                              .dense = c->dense};
        size_t j = 0;
        while (j < r->n_rows &&
               !(r->rows[j].dense == row.dense &&
                 (row.dense || (!strcmp(r->rows[j].label, row.label) &&
                                str_eq_null(r->rows[j].calib, row.calib)))))
            j++;
        if (j == r->n_rows) {
            if (row.dense) snprintf(row.name, sizeof row.name, "Dense");
            else if (row.calib)
                snprintf(row.name, sizeof row.name, "%s [%s]", row.label,
                         row.calib);
            else snprintf(row.name, sizeof row.name, "%s", row.label);
            if (push(&r->rows, &r->n_rows, sizeof row, &row)) goto nomem;
        } else if (row.method_index < r->rows[j].method_index) {
            r->rows[j].method_index = row.method_index;
        }
        if (c->dense) continue;
        struct rep_col col = {.model = c->model};
        parse_target(c->target, &col);
        j = 0;
        while (j < r->n_cols && !(!strcmp(r->cols[j].model, col.model) &&
                                  !strcmp(r->cols[j].target, col.target)))
            j++;
        if (j == r->n_cols && push(&r->cols, &r->n_cols, sizeof col, &col))
            goto nomem;
    }
    for (size_t j = 0; j < r->n_cols; j++)
        r->cols[j].model_rank = model_rank(r, r->cols[j].model);
    if (r->n_cols) qsort(r->cols, r->n_cols, sizeof *r->cols, cmp_col);
    if (r->n_rows) qsort(r->rows, r->n_rows, sizeof *r->rows, cmp_row);
    // place every cell
    for (size_t i = 0; i < r->n_cells; i++) {
        struct rep_cell *c = &r->cells[i];
        const char *calib = multi_calib && !c->dense ? c->calib : NULL;
        for (size_t j = 0; j < r->n_rows; j++)
            if (r->rows[j].dense ? c->dense
                                 : (!c->dense &&
                                    !strcmp(r->rows[j].label, c->label) &&
                                    str_eq_null(r->rows[j].calib, calib)))
                c->row = j;
        for (size_t j = 0; j < r->n_cols && !c->dense; j++)
            if (!strcmp(r->cols[j].model, c->model) &&
                !strcmp(r->cols[j].target, c->target))
                c->col = j;
    }
    return CPR_OK;
nomem:
    free(mk);
    return cpr_err_set(err, CPR_ERR_NOMEM, "report: out of memory");
}

enum cpr_status report_load(const char *results_path, struct report *r,
                            struct cpr_err *err) {
    memset(r, 0, sizeof *r);
    CPR_TRY(sweep_results_load(results_path, 0, &r->rs, err));
    const struct sweep_results *rs = &r->rs;
    // The last ok line of each id wins (a cell rerun after a code fix);
    // a failed line counts only when its id has no ok line at all.
    for (size_t i = rs->n; i-- > 0;) {
        const struct sweep_result *res = &rs->r[i];
        int seen = 0;
        for (size_t j = i + 1; j < rs->n && !seen; j++)
            seen = !strcmp(rs->r[j].cell_id, res->cell_id) &&
                   (rs->r[j].ok || !res->ok);
        if (seen) continue;
        if (res->ok) {
            struct rep_cell c;
            if (cell_from_line(res, &c)) continue;
            if (push(&r->cells, &r->n_cells, sizeof c, &c)) goto nomem;
        } else if (!sweep_results_has_ok(rs, res->cell_id)) {
            if (push(&r->failed, &r->n_failed, sizeof res, &res)) goto nomem;
        }
    }
    if (!r->n_cells && !r->n_failed) {
        report_free(r);
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s: expected sweep records "
                           "(lines with cell_id and grid), found none",
                           results_path);
    }
    enum cpr_status s = arrange(r, err);
    if (s) report_free(r);
    return s;
nomem:
    report_free(r);
    return cpr_err_set(err, CPR_ERR_NOMEM, "report: out of memory");
}

void report_free(struct report *r) {
    sweep_results_free(&r->rs);
    free(r->cells);
    free(r->failed);
    free(r->cols);
    free(r->rows);
    free(r->models);
    free(r->datasets);
    memset(r, 0, sizeof *r);
}

// ---- lookups ----

const struct rep_cell *report_cell(const struct report *r, size_t row,
                                   size_t col) {
    const int dense = r->rows[row].dense;
    for (size_t i = 0; i < r->n_cells; i++) {
        const struct rep_cell *c = &r->cells[i];
        if (c->row != row) continue;
        if (dense ? !strcmp(c->model, r->cols[col].model) : c->col == col)
            return c;
    }
    return NULL;
}

int report_value(const struct report *r, size_t row, size_t col,
                 const char *ds, double *ppl) {
    const struct rep_cell *c = report_cell(r, row, col);
    const struct cpr_json *e =
        c ? cpr_json_get(cpr_json_get(c->root, "eval"), ds) : NULL;
    const struct cpr_json *p = cpr_json_get(e, "ppl");
    if (!p) return 0;
    *ppl = cpr_json_is(p, CPR_JSON_NUMBER) ? p->num : NAN;
    return 1;
}

enum cpr_status report_write_file(const char *dir, const char *name,
                                  const struct strbuf *text,
                                  struct cpr_err *err) {
    char path[1200];
    CPR_TRY(strbuf_status(text, name, err));
    CPR_TRY(cpr_path_join(path, sizeof path, dir, name, err));
    return cpr_file_write_atomic(path, text->buf ? text->buf : "", text->len,
                                 err);
}
