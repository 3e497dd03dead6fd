// cli/grid.h: the sweep grid of `cprune sweep`: a small text file listing
// models x methods x targets x calibration settings x evaluation datasets,
// and the cells it expands to, each with a stable id. The format is
// documented at the top of cli/grid.c and in README "Sweeps and tables".
//
// What it is not: a general configuration language. Values are checked as
// far as the command line would check them (method names and options
// against the registry, targets, calibration keys), so a typo fails before
// any cell runs, not an hour into the sweep.
#ifndef CPR_CLI_GRID_H
#define CPR_CLI_GRID_H

#include <stddef.h>

#include "core/status.h"

#define GRID_MAX_MODELS 32
#define GRID_MAX_METHODS 64
#define GRID_MAX_TARGETS 32
#define GRID_MAX_CALIBS 16
#define GRID_MAX_EVALS 8
#define GRID_MAX_TASKS 16

struct grid_model {
    char label[64];   // name in tables and in the cell id
    char path[1024];  // what --model receives
    int line;         // where it was written, for messages
};

struct grid_method {
    char name[32];    // registered method name
    char opts[256];   // canonical "k=v,..." (sorted by key), may be ""
    char label[320];  // name, or name:opts
    int needs_calib;  // the method (with these options) uses statistics
    int line;         // where it was written, for messages
};

struct grid_target {
    double sparsity;  // unstructured fraction, or n/m for a pattern
    unsigned n, m;    // pattern N:M; m == 0 for unstructured
    char text[32];    // canonical: "0.5" (%g) or "2:4"
    int line;         // where it was written, for messages
};

struct grid_calib {
    char dataset[256];  // corpus name or text file
    char sampling[16];  // "sequential" (default) or "random"
    long long nsamples; // default 128
    long long seqlen;   // 0: the model's context (the prune default)
    long long seed;     // default 0
    char text[400];     // canonical "tinystories,sequential,128,ctx,0"
    int line;           // where it was written, for messages
};

#define GRID_MAX_EXCLUDES 64

// An "exclude METHOD TARGET" pair, resolved against the lists once the
// whole file is read.
struct grid_exclude {
    char method[320]; // method label, canonical (options sorted)
    char target[32];  // canonical target text
    int line;         // where it was written, for messages
};

struct grid {
    char path[512];                     // the file, for messages
    struct grid_model models[GRID_MAX_MODELS];
    struct grid_method methods[GRID_MAX_METHODS];
    struct grid_target targets[GRID_MAX_TARGETS];
    struct grid_calib calibs[GRID_MAX_CALIBS];
    char evals[GRID_MAX_EVALS][32];     // corpus names
    size_t n_models, n_methods, n_targets, n_calibs, n_evals;
    char eval_list[GRID_MAX_EVALS * 33]; // "tinystories,wikitext2"
    int dense;                          // dense baseline per model (default 1)
    long long max_chunks;               // eval chunks per corpus, 0 = all
    // Zero-shot tasks (`tasks`, `task_data`, `task_limit`) and KL divergence
    // against the dense model (`kld`); each enters the cell ids only when
    // set, so ids of grids without them stay put.
    char tasks[GRID_MAX_TASKS][64];     // task names, file order
    int task_lines[GRID_MAX_TASKS];     // where each was written
    size_t n_tasks;
    int task_data_line, task_limit_line, kld_line;
    char task_list[GRID_MAX_TASKS * 65]; // "boolq,piqa"
    char task_data[1024];               // folder of NAME.jsonl files
    long long task_limit;               // documents per task, 0 = all
    int kld;                            // 1: prune cells pass --kld
    struct grid_exclude excludes[GRID_MAX_EXCLUDES];
    size_t n_excludes;
    // excluded[m][t]: method m at target t makes no cell
    unsigned char excluded[GRID_MAX_METHODS][GRID_MAX_TARGETS];
};

// One run of the sweep. Pointers point into the grid it came from.
struct grid_cell {
    size_t index;                     // position in the documented order
    int dense;                        // 1: evaluation only (method == NULL)
    size_t model_index, method_index; // method_index 0 for dense
    const struct grid_model *model;
    const struct grid_method *method; // NULL for dense
    const struct grid_target *target; // NULL for dense
    const struct grid_calib *calib;   // NULL for dense and for methods
                                      // that use no calibration
    char desc[1240];                  // canonical description (hashed)
    char id[13];                      // first 12 hex digits of its sha256
};

// Parse the grid file at `path`. Model names without a path resolve to
// data_dir/models/NAME. Errors: CPR_ERR_NOTFOUND / CPR_ERR_IO (the file),
// CPR_ERR_FORMAT with "PATH:LINE: what: expected X, found 'Y'" for any
// bad line or a missing required keyword.
enum cpr_status grid_parse(const char *path, const char *data_dir,
                           struct grid *g, struct cpr_err *err);

// The number of cells grid_cell_at enumerates.
size_t grid_n_cells(const struct grid *g);

// Fill cell i (0 <= i < grid_n_cells) of the documented order:
//   for each model (file order): its dense cell (when dense is on), then
//   for each calib setting, for each method, for each target (file order)
//   a pruning cell (except the pairs an `exclude` line names, which are
//   left out without moving the ids of the others); a method that needs
//   no calibration gets its cells only
//   under the first calib setting (with calib NULL), since every setting
//   would give the same result.
void grid_cell_at(const struct grid *g, size_t i, struct grid_cell *c);

#endif
