// cli/sweep_results.c: results.jsonl reader (see sweep_results.h).
#include "cli/sweep_results.h"

#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"

// Results files of large sweeps with per-matrix records stay well below
// this; the cap only protects against reading a wrong, huge file.
#define RESULTS_MAX_BYTES ((size_t)1 << 31)

static void skip(struct sweep_results *rs, size_t line) {
    if (!rs->n_skipped) rs->first_skipped = line;
    rs->n_skipped++;
}

enum cpr_status sweep_results_load(const char *path, int missing_ok,
                                   struct sweep_results *rs,
                                   struct cpr_err *err) {
    memset(rs, 0, sizeof *rs);
    char *text = NULL;
    size_t len = 0;
    enum cpr_status s = cpr_file_read_all(path, RESULTS_MAX_BYTES, &text,
                                          &len, err);
    if (s == CPR_ERR_NOTFOUND && missing_ok) {
        cpr_err_clear(err);
        return CPR_OK;
    }
    if (s) return s;
    size_t cap = 0, line = 0;
    for (char *p = text, *end = text + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        line++;
        if (!nl) { // unterminated: a line still being written elsewhere
            skip(rs, line);
            break;
        }
        const size_t n = (size_t)(nl - p);
        char *start = p;
        p = nl + 1;
        if (n == 0) continue;
        if (rs->n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            struct sweep_result *r = realloc(rs->r, nc * sizeof *r);
            if (!r) {
                s = cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory at "
                                "line %zu", path, line);
                break;
            }
            rs->r = r, cap = nc;
        }
        struct sweep_result *r = &rs->r[rs->n];
        memset(r, 0, sizeof *r);
        struct cpr_err e2 = {0};
        if (cpr_json_parse(&r->doc, start, n, path, 0, &e2)) {
            if (e2.code == CPR_ERR_NOMEM) {
                s = cpr_err_set(err, CPR_ERR_NOMEM, "%s", e2.msg);
                break;
            }
            skip(rs, line);
            continue;
        }
        r->root = r->doc.root;
        const struct cpr_json *id = cpr_json_get(r->root, "cell_id");
        if (!cpr_json_is(id, CPR_JSON_STRING)) {
            cpr_json_free(&r->doc);
            skip(rs, line);
            continue;
        }
        r->cell_id = id->str;
        r->ok = cpr_json_str_eq(cpr_json_get(r->root, "status"), "ok");
        r->line = line;
        rs->n++;
    }
    free(text);
    if (s) sweep_results_free(rs);
    return s;
}

void sweep_results_free(struct sweep_results *rs) {
    for (size_t i = 0; i < rs->n; i++) cpr_json_free(&rs->r[i].doc);
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

int sweep_results_has_ok(const struct sweep_results *rs, const char *cell_id) {
    for (size_t i = 0; i < rs->n; i++)
        if (rs->r[i].ok && !strcmp(rs->r[i].cell_id, cell_id)) return 1;
    return 0;
}
