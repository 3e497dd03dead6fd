// cli/cmd_report.c: `cprune report DIR [--out DIR2]`: the tables,
// summary and plots of a sweep's DIR/results.jsonl (cli/report.h), written
// atomically into DIR2 (default DIR). Identical results give
// byte-identical files. Exit status: 0 ok, 1 failure, 2 usage error.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/report.h"
#include "data/fileio.h"

#define CMD "report"
#define USAGE "cprune report DIR [--out DIR2]"

int cmd_report(int argc, char **argv) {
    struct cli_opt opts[] = {
        {"out", 1, "write the files here (default: DIR itself)", NULL},
    };
    const size_t n_opts = sizeof opts / sizeof opts[0];
    // DIR is positional: take it out before the option parser sees it.
    const char *dir = NULL;
    char *rest[64];
    int n_rest = 0;
    for (int i = 0; i < argc; i++) {
        const int takes = !strcmp(argv[i], "--out");
        if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
            continue;
        }
        if (n_rest + 2 > 64) break;
        rest[n_rest++] = argv[i];
        if (takes && i + 1 < argc) rest[n_rest++] = argv[++i];
    }
    static const char *const examples[] = {
        "cprune report runs/seed", "cprune report runs/seed --out /tmp/tables",
        NULL};
    const struct cli_help help = {
        USAGE, examples,
        "Reads DIR/results.jsonl (written by `cprune sweep`) and writes "
        "table.md, table.csv,\ntable.tex, times.md, summary.md, SVG plots (and "
        "tasks.md/csv, kld.md/csv when the\ncells recorded zero-shot tasks "
        "or KL divergence) "
        "atomically into DIR2 (default: DIR)."};
    int rc = cli_parse_help(n_rest, rest, opts, n_opts, CMD, &help);
    if (rc) return rc == 1 ? 0 : 2;
    if (!dir) {
        fprintf(stderr, "cprune " CMD ": expected the sweep folder DIR, "
                        "found none\nusage: %s\n", USAGE);
        return 2;
    }
    const char *out = cli_get(opts, n_opts, "out");
    if (!out) out = dir;
    struct cpr_err err = {0};
    struct report r;
    char results[1100];
    size_t n_svg = 0;
    int extra = 0;
    if (cpr_path_join(results, sizeof results, dir, "results.jsonl", &err) ||
        report_load(results, &r, &err)) {
        fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
        return 1;
    }
    rc = 1;
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cprune " CMD ": %s: cannot create the folder: %s\n",
                out, strerror(errno));
        goto done;
    }
    if (report_write_tables(&r, out, &err) ||
        report_write_summary(&r, out, &err) ||
        report_write_plots(&r, out, &n_svg, &err) ||
        report_write_tasks(&r, out, &extra, &err)) {
        fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
        goto done;
    }
    if (r.rs.n_skipped)
        fprintf(stderr, "cprune " CMD ": %s: %zu line(s) are not records "
                        "(first: line %zu); ignored\n", results,
                r.rs.n_skipped, r.rs.first_skipped);
    printf("report: %zu cells (%zu failed), %zu datasets -> %s/table.md, "
           "table.csv, table.tex, times.md, summary.md%s%s, %zu SVG plot%s\n",
           r.n_cells, r.n_failed, r.n_datasets, out,
           extra & 1 ? ", tasks.md, tasks.csv" : "",
           extra & 2 ? ", kld.md, kld.csv" : "", n_svg, n_svg == 1 ? "" : "s");
    rc = 0;
done:
    report_free(&r);
    return rc;
}
