// cli/report.h: `cprune report`: the sweep results (DIR/results.jsonl)
// arranged as the papers' tables, and the writers of its files:
//   table.md, table.csv, table.tex, times.md  (cli/report_table.c)
//   summary.md                      (cli/report_summary.c)
//   tasks.md, tasks.csv, kld.md, kld.csv  (cli/report_tasks.c; only when
//                                   the results hold tasks / kld)
//   ppl_vs_sparsity_<model>_<dataset>.svg, layer_sparsity_<model>.svg
//                                   (cli/report_plots.c)
//
// Determinism: every list below is sorted by content (never by file or
// completion order, which differ between shards), numbers are printed with
// fixed formats, and nothing about the machine running the report or the
// time it runs is written. Identical results give byte-identical files.
#ifndef CPR_CLI_REPORT_H
#define CPR_CLI_REPORT_H

#include <stddef.h>

#include "cli/strbuf.h"
#include "cli/sweep_results.h"
#include "core/status.h"
#include "data/json.h"

// One successful cell: the last "ok" line of its cell id.
struct rep_cell {
    const struct cpr_json *root; // the line
    const char *id;
    const char *model;           // grid.model (label)
    const char *label;           // grid.label: "wanda", "owl:base=sparsegpt",
                                 // "dense"
    const char *target;          // grid.target ("0.5", "2:4"); NULL dense
    const char *calib;           // grid.calib.text; NULL: none
    long long model_index, method_index; // grid order (method -1: dense)
    int dense;
    size_t row, col;             // table position (col unused for dense)
};

// A column: one model at one target.
struct rep_col {
    const char *model;
    const char *target;
    double sparsity;             // unstructured value, or n/m
    unsigned nm_n, nm_m;         // pattern; nm_m == 0 unstructured
    size_t model_rank;           // position of model in report.models
};

// A row: a method label (with its calibration when the results hold more
// than one calibration setting); row 0 is "Dense" when there is one.
struct rep_row {
    const char *label;
    const char *calib;           // NULL: none
    long long method_index;
    int dense;
    char name[512];              // shown in tables and legends
};

struct report {
    struct sweep_results rs;
    struct rep_cell *cells;      // sorted by (model, row, column)
    size_t n_cells;
    const struct sweep_result **failed; // failed lines of ids with no ok line
    size_t n_failed;
    struct rep_col *cols;
    size_t n_cols;
    struct rep_row *rows;
    size_t n_rows;
    const char **models;         // model labels in column order
    size_t n_models;
    const char **datasets;       // evaluation datasets, sorted by name
    size_t n_datasets;
};

// Read results_path and arrange it. Errors: CPR_ERR_NOTFOUND / CPR_ERR_IO
// (the file), CPR_ERR_FORMAT when it holds no record at all,
// CPR_ERR_NOMEM.
enum cpr_status report_load(const char *results_path, struct report *r,
                            struct cpr_err *err);
void report_free(struct report *r);

// The perplexity of `row` at column `col` on dataset ds: 1 and *ppl (NaN
// when the run recorded null, i.e. a non-finite perplexity), or 0 when no
// cell has it. A dense row reads the model's dense cell in every column.
int report_value(const struct report *r, size_t row, size_t col,
                 const char *ds, double *ppl);

// The cell at (row, col), or NULL (dense rows: the model's dense cell).
const struct rep_cell *report_cell(const struct report *r, size_t row,
                                   size_t col);

// Column header text of a target: "50%" or "2:4".
void report_target_text(const struct rep_col *c, char *buf, size_t cap);

// Write text to dir/name atomically. Errors: CPR_ERR_IO, CPR_ERR_NOMEM.
enum cpr_status report_write_file(const char *dir, const char *name,
                                  const struct strbuf *text,
                                  struct cpr_err *err);

// The writers (each calls report_write_file for its files).
enum cpr_status report_write_tables(const struct report *r, const char *dir,
                                    struct cpr_err *err);
enum cpr_status report_write_summary(const struct report *r, const char *dir,
                                     struct cpr_err *err);
// *n_written: bit 0 set when tasks.md/csv were written, bit 1 kld.md/csv.
enum cpr_status report_write_tasks(const struct report *r, const char *dir,
                                   int *n_written, struct cpr_err *err);
// *n_written receives the number of SVG files.
enum cpr_status report_write_plots(const struct report *r, const char *dir,
                                   size_t *n_written, struct cpr_err *err);

#endif
