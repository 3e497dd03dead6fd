// cli/sweep_line.h: the one-line JSON records of `cprune sweep` (one per
// cell in DIR/results.jsonl; schema in README "Sweeps and tables").
//
// A successful pruning cell is the child's `cprune prune --json` object,
// compacted to one line, with the sweep's members put first:
//   cell_id, status ("ok"), grid {coordinates}, host {hostname, cpu, cpus},
//   wall_seconds, command
// A dense cell has the same leading members, then members shaped like a
// prune record (model, model_sha256, method "dense", pattern "dense",
// target_sparsity 0, eval {dataset: the `cprune eval --json` object}, ...).
// A failed cell has the leading members with status "failed", then error
// (the child's last stderr line or what went wrong), exit_code and signal.
// The child's text is kept byte for byte apart from whitespace, so numbers
// read back exactly as the child wrote them.
#ifndef CPR_CLI_SWEEP_LINE_H
#define CPR_CLI_SWEEP_LINE_H

#include <stddef.h>

#include "cli/grid.h"
#include "cli/sweep_exec.h"
#include "core/status.h"

struct sweep_host {
    char hostname[128];
    char cpu[64];  // brand string, "" if unknown
    long cpus;     // online CPUs
};

void sweep_host_get(struct sweep_host *h);

// What every line of one cell shares.
struct sweep_cellinfo {
    const struct grid *g;
    const struct grid_cell *c;
    size_t n_cells;
    const struct sweep_host *host;
    double wall_seconds;  // the child process(es), start to reaped
    const char *command;  // the child's command line, for reproduction
};

// Each builds a malloc'd, NUL-terminated line without a newline in *line
// (*len bytes). Errors: CPR_ERR_FORMAT when a child's JSON text does not
// parse or is not an object (the message names `name`, the file it came
// from), CPR_ERR_NOMEM.
enum cpr_status sweep_line_ok(const struct sweep_cellinfo *ci,
                              const char *child, size_t child_len,
                              const char *name, char **line, size_t *len,
                              struct cpr_err *err);
// texts[i] / lens[i] / names[i]: the eval JSON of dataset ci->g->evals[i].
// tasks_text (NULL: none): the `cprune tasks --json` text of the grid's
// tasks, recorded as `tasks` in a prune record's shape (n, acc,
// acc_stderr, acc_norm, acc_norm_stderr per task, mean_acc). A dense line
// has no `kld` member: the dense model's KL divergence to itself is 0.
enum cpr_status sweep_line_dense(const struct sweep_cellinfo *ci,
                                 char *const *texts, const size_t *lens,
                                 const char *const *names,
                                 const char *tasks_text, size_t tasks_len,
                                 char **line, size_t *len,
                                 struct cpr_err *err);
enum cpr_status sweep_line_failed(const struct sweep_cellinfo *ci,
                                  const char *error,
                                  const struct sweep_exit *ex, char **line,
                                  size_t *len, struct cpr_err *err);

#endif
