// cli/sweep_results.h: reading DIR/results.jsonl back, for `cprune sweep
// --resume` and `cprune report`.
//
// Lines are parsed one by one. A line that is not a JSON object with a
// string cell_id (a hand-edited file, a line from a foreign tool, an
// unterminated last line of a file copied while a sweep was writing) is
// skipped and counted, never fatal: one bad line must not hide a day of
// results.
#ifndef CPR_CLI_SWEEP_RESULTS_H
#define CPR_CLI_SWEEP_RESULTS_H

#include <stddef.h>

#include "core/status.h"
#include "data/json.h"

struct sweep_result {
    struct cpr_json_doc doc;     // owns the parsed line
    const struct cpr_json *root; // the line's object
    const char *cell_id;
    int ok;                      // status == "ok"
    size_t line;                 // 1-based line number
};

struct sweep_results {
    struct sweep_result *r;      // in file order
    size_t n;
    size_t n_skipped;            // lines that were not records
    size_t first_skipped;        // line number of the first one (0: none)
};

// Load path into *rs (zeroed first). A missing file gives an empty set
// when missing_ok, else CPR_ERR_NOTFOUND. Errors: CPR_ERR_IO, CPR_ERR_NOMEM.
enum cpr_status sweep_results_load(const char *path, int missing_ok,
                                   struct sweep_results *rs,
                                   struct cpr_err *err);
void sweep_results_free(struct sweep_results *rs);

// 1 when some line records cell_id with status "ok".
int sweep_results_has_ok(const struct sweep_results *rs, const char *cell_id);

#endif
