// cli/cmd_sweep.c: `cprune sweep`: run every cell of a grid file (format:
// cli/grid.c) as a child process of this program and append one JSON line
// per cell to DIR/results.jsonl (cli/sweep_line.h).
//
// Each cell is `cprune prune ... --eval LIST --json TMP` (a dense cell is
// one `cprune eval ... --json TMP` per dataset), so a crash, an exit() or
// an out-of-memory kill ends that cell only: it is recorded with status
// "failed" and the sweep goes on. --shard i/n runs cells i, i+n, i+2n, ...
// of the documented order, so n shards together run each cell once;
// --resume skips cells that already have an "ok" line. Several sweeps may
// share one DIR at a time (lines are appended whole under flock).
//
// Children's stdout and stderr go to DIR/logs/<id>.log and <id>.err;
// tokenized corpora are cached in DIR/tokcache when the children support
// --token-cache. Exit status: 0 all cells ok, 1 some failed (or the sweep
// could not write), 2 usage or grid error, 130 interrupted (SIGINT),
// 143 terminated (SIGTERM); either kills the running child and records
// nothing for its cell.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/grid.h"
#include "cli/progress.h"
#include "cli/sweep_exec.h"
#include "cli/sweep_line.h"
#include "cli/sweep_results.h"
#include "data/fileio.h"
#include "data/json.h"
#include "data/jsonl.h"

#define CMD "sweep"
#define USAGE                                                                  \
    "cprune sweep --grid FILE [--out DIR] [--shard i/n] [--resume] "          \
    "[--threads N] [--dry-run]"
#define MAX_ARGS 48
#define CHILD_JSON_MAX ((size_t)256 << 20)

struct sweep {
    const struct grid *g;
    const char *dir;
    const char *threads;     // passed on, or NULL
    char self[1024];         // this program
    char cache[1100];        // DIR/tokcache, "" when children lack it
    int cache_prune, cache_eval;
    struct sweep_host host;
    size_t n_cells;
};

// ---- helpers ----

// mkdir -p. Returns 0, or -1 with errno set.
static int make_dirs(const char *path) {
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static int parse_shard(const char *v, long long *i, long long *n) {
    char tail;
    if (sscanf(v, "%lld/%lld%c", i, n, &tail) != 2 || *n < 1 || *i < 0 ||
        *i >= *n) {
        fprintf(stderr, "cprune " CMD ": --shard: expected i/n with 0 <= i "
                        "< n (e.g. 0/8), found '%s'\n", v);
        return -1;
    }
    return 0;
}

// 1 when `cprune <cmd> --help` lists option `opt`.
static int child_has_option(const char *self, const char *cmd,
                            const char *opt) {
    char buf[16384];
    char *argv[] = {(char *)self, (char *)cmd, "--help", NULL};
    struct sweep_exit ex;
    struct cpr_err err = {0};
    if (sweep_exec_capture(argv, buf, sizeof buf, &ex, &err) || ex.code)
        return 0;
    return strstr(buf, opt) != NULL;
}

// Append one argument to a shell-readable command line (single quotes
// around anything beyond [A-Za-z0-9_./:=,+-]).
static void cmd_append(char *buf, size_t cap, const char *arg) {
    size_t used = strlen(buf);
    int plain = *arg != 0;
    for (const char *p = arg; *p; p++)
        plain &= (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                 (*p >= '0' && *p <= '9') || strchr("_./:=,+-", *p);
    if (used && used + 1 < cap) buf[used++] = ' ', buf[used] = 0;
    if (plain) {
        snprintf(buf + used, cap - used, "%s", arg);
        return;
    }
    for (const char *p = "'"; used + 1 < cap && *p; p++) buf[used++] = *p;
    for (const char *p = arg; *p && used + 5 < cap; p++) {
        if (*p == '\'') { // ' -> '\''
            memcpy(buf + used, "'\\''", 4);
            used += 4;
        } else {
            buf[used++] = *p;
        }
    }
    if (used + 1 < cap) buf[used++] = '\'';
    buf[used] = 0;
}

// The child's argv, and the part worth recording (`rec`: without the
// run-local --json, --token-cache, --threads and --quiet).
struct argv_b {
    char *v[MAX_ARGS];
    int n;
    char *rec;
    size_t rec_cap;
};

static void arg(struct argv_b *a, const char *s, int record) {
    if (a->n < MAX_ARGS - 1) a->v[a->n++] = (char *)s, a->v[a->n] = NULL;
    if (record) cmd_append(a->rec, a->rec_cap, s);
}

// The last non-empty line of a child's stderr file, else `fallback`.
static void last_line(const char *path, const char *fallback, char *out,
                      size_t cap) {
    char *text = NULL;
    size_t len = 0;
    struct cpr_err e = {0};
    snprintf(out, cap, "%s", fallback);
    if (cpr_file_read_all(path, (size_t)64 << 20, &text, &len, &e)) return;
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
                   text[len - 1] == ' '))
        len--;
    size_t start = len;
    while (start && text[start - 1] != '\n' && text[start - 1] != '\r')
        start--;
    if (len > start)
        snprintf(out, cap, "%.*s", (int)(len - start), text + start);
    free(text);
}

// ---- one cell ----

struct cell_outcome {
    int ok;
    int interrupted;
    char *line;
    size_t len;
    char why[600]; // the error of a failed cell
};

// Why a child's run did not give a record; fills error text.
static int child_failed(const struct sweep_exit *ex, const char *err_path,
                        char *why, size_t cap) {
    if (ex->code == 0) return 0;
    char fb[64];
    if (ex->signal)
        snprintf(fb, sizeof fb, "killed by signal %d (%s)", ex->signal,
                 ex->signal == SIGKILL ? "out of memory?" : "crash?");
    else
        snprintf(fb, sizeof fb, "exit status %d", ex->code);
    last_line(err_path, fb, why, cap);
    if (ex->signal && strcmp(why, fb)) { // the line may predate the crash
        size_t u = strlen(why);
        snprintf(why + u, cap - u, " [%s]", fb);
    }
    return 1;
}

static enum cpr_status run_cell(const struct sweep *sw,
                                const struct grid_cell *c,
                                struct cell_outcome *out,
                                struct cpr_err *err) {
    const struct grid *g = sw->g;
    char log_path[1200], err_path[1200], tmp[GRID_MAX_EVALS + 1][1200];
    char record[4096] = "";
    char *why = out->why;
    const size_t why_cap = sizeof out->why;
    snprintf(log_path, sizeof log_path, "%s/logs/%s.log", sw->dir, c->id);
    snprintf(err_path, sizeof err_path, "%s/logs/%s.err", sw->dir, c->id);
    unlink(log_path);
    unlink(err_path);
    // A dense cell: one eval child per dataset, then (with tasks) one
    // `cprune tasks` child, whose JSON is run k == n_evals.
    const size_t n_runs = c->dense ? g->n_evals + (g->n_tasks ? 1 : 0) : 1;
    for (size_t k = 0; k < n_runs; k++)
        snprintf(tmp[k], sizeof tmp[k], "%s/tmp/%s.%ld.%zu.json", sw->dir,
                 c->id, (long)getpid(), k);
    struct sweep_exit ex = {0};
    struct child_texts { // each child's --json text
        char *text[GRID_MAX_EVALS + 1];
        size_t len[GRID_MAX_EVALS + 1];
    } t = {{0}, {0}};
    enum cpr_status s = CPR_OK;
    const double t0 = cli_now();
    int failed = 0;
    for (size_t k = 0; k < n_runs && !failed; k++) {
        struct argv_b a = {.rec = record, .rec_cap = sizeof record};
        if (k) cmd_append(record, sizeof record, "&&");
        cmd_append(record, sizeof record, "cprune");
        arg(&a, sw->self, 0);
        char nsamples[24], seqlen[24], seed[24], task_limit[24];
        const int tasks_run = c->dense && k == g->n_evals;
        snprintf(task_limit, sizeof task_limit, "%lld", g->task_limit);
        if (tasks_run) {
            arg(&a, "tasks", 1);
            arg(&a, "--model", 1), arg(&a, c->model->path, 1);
            arg(&a, "--tasks", 1), arg(&a, g->task_list, 1);
            arg(&a, "--task-data", 1), arg(&a, g->task_data, 1);
            if (g->task_limit) arg(&a, "--limit", 1), arg(&a, task_limit, 1);
        } else if (c->dense) {
            arg(&a, "eval", 1);
            arg(&a, "--model", 1), arg(&a, c->model->path, 1);
            arg(&a, "--dataset", 1), arg(&a, g->evals[k], 1);
        } else {
            arg(&a, "prune", 1);
            arg(&a, "--model", 1), arg(&a, c->model->path, 1);
            arg(&a, "--method", 1), arg(&a, c->method->name, 1);
            if (c->method->opts[0]) arg(&a, "--opts", 1), arg(&a, c->method->opts, 1);
            arg(&a, c->target->m ? "--pattern" : "--sparsity", 1);
            arg(&a, c->target->text, 1);
        }
        if (!c->dense && c->calib) {
            snprintf(nsamples, sizeof nsamples, "%lld", c->calib->nsamples);
            snprintf(seqlen, sizeof seqlen, "%lld", c->calib->seqlen);
            snprintf(seed, sizeof seed, "%lld", c->calib->seed);
            arg(&a, "--calib", 1), arg(&a, c->calib->dataset, 1);
            arg(&a, "--calib-sampling", 1), arg(&a, c->calib->sampling, 1);
            arg(&a, "--nsamples", 1), arg(&a, nsamples, 1);
            if (c->calib->seqlen) arg(&a, "--seqlen", 1), arg(&a, seqlen, 1);
            arg(&a, "--seed", 1), arg(&a, seed, 1);
        }
        if (!c->dense) arg(&a, "--eval", 1), arg(&a, g->eval_list, 1);
        if (!c->dense && g->n_tasks) {
            arg(&a, "--tasks", 1), arg(&a, g->task_list, 1);
            arg(&a, "--task-data", 1), arg(&a, g->task_data, 1);
            if (g->task_limit)
                arg(&a, "--task-limit", 1), arg(&a, task_limit, 1);
        }
        if (!c->dense && g->kld) arg(&a, "--kld", 1);
        char max_chunks[24];
        if (g->max_chunks && !tasks_run) {
            snprintf(max_chunks, sizeof max_chunks, "%lld", g->max_chunks);
            arg(&a, "--max-chunks", 1), arg(&a, max_chunks, 1);
        }
        arg(&a, "--json", 0), arg(&a, tmp[k], 0);
        arg(&a, "--quiet", 0);
        if (sw->threads) arg(&a, "--threads", 0), arg(&a, sw->threads, 0);
        if (sw->cache[0] && !tasks_run &&
            (c->dense ? sw->cache_eval : sw->cache_prune))
            arg(&a, "--token-cache", 0), arg(&a, sw->cache, 0);
        unlink(tmp[k]);
        s = sweep_exec(a.v, log_path, err_path, &ex, err);
        if (s) break;
        if (ex.signal == SIGINT || sweep_signal_caught()) {
            out->interrupted = 1;
            unlink(tmp[k]);
            break;
        }
        failed = child_failed(&ex, err_path, why, why_cap);
        if (!failed) {
            struct cpr_err e2 = {0};
            if (cpr_file_read_all(tmp[k], CHILD_JSON_MAX, &t.text[k],
                                  &t.len[k], &e2)) {
                snprintf(why, why_cap, "the child exited 0 but its JSON "
                         "is unreadable: %s", e2.msg);
                failed = 1;
            }
        }
        unlink(tmp[k]);
    }
    const struct sweep_cellinfo ci = {
        .g = g, .c = c, .n_cells = sw->n_cells, .host = &sw->host,
        .wall_seconds = cli_now() - t0, .command = record};
    if (s == CPR_OK && !out->interrupted && !failed) {
        struct cpr_err e2 = {0};
        const char *names[GRID_MAX_EVALS + 1];
        for (size_t k = 0; k < n_runs; k++) names[k] = tmp[k];
        enum cpr_status b =
            c->dense ? sweep_line_dense(&ci, t.text, t.len, names,
                                        g->n_tasks ? t.text[g->n_evals] : NULL,
                                        g->n_tasks ? t.len[g->n_evals] : 0,
                                        &out->line, &out->len, &e2)
                     : sweep_line_ok(&ci, t.text[0], t.len[0], tmp[0],
                                     &out->line, &out->len, &e2);
        if (b == CPR_ERR_NOMEM) s = cpr_err_set(err, b, "%s", e2.msg);
        else if (b) snprintf(why, why_cap, "%s", e2.msg), failed = 1;
        else out->ok = 1;
    }
    if (s == CPR_OK && !out->interrupted && failed)
        s = sweep_line_failed(&ci, why, &ex, &out->line, &out->len, err);
    for (size_t k = 0; k < n_runs; k++) free(t.text[k]);
    return s;
}

// "ppl tinystories 20.70, wikitext2 1234.56" from a finished line.
static void ppl_summary(const struct grid *g, const char *line, size_t len,
                        char *out, size_t cap) {
    struct cpr_json_doc d = {0};
    struct cpr_err e = {0};
    snprintf(out, cap, "ppl");
    if (cpr_json_parse(&d, line, len, "line", 0, &e)) return;
    const struct cpr_json *ev = cpr_json_get(d.root, "eval");
    for (size_t i = 0; i < g->n_evals; i++) {
        size_t u = strlen(out);
        double p = cpr_json_get_num(cpr_json_get(ev, g->evals[i]), "ppl", -1);
        snprintf(out + u, cap - u, "%s %s %.2f", i ? "," : "", g->evals[i],
                 p);
    }
    cpr_json_free(&d);
}

static void describe(const struct grid_cell *c, char *out, size_t cap) {
    if (c->dense)
        snprintf(out, cap, "%s dense", c->model->label);
    else
        snprintf(out, cap, "%s %s %s%s%s", c->model->label, c->method->label,
                 c->target->text, c->calib ? " calib " : "",
                 c->calib ? c->calib->text : "");
}

// ---- the command ----

static void print_help(const struct cli_opt *opts, size_t n) {
    printf("usage: %s\n\noptions:\n", USAGE);
    for (size_t i = 0; i < n; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s", opts[i].name,
                 opts[i].takes_value ? " V" : "");
        printf("  %-16s %s\n", left, opts[i].help);
    }
    printf("\ngrid file keywords (one per line; README \"Sweeps and "
           "tables\"):\n"
           "  models NAME|LABEL=PATH ...   methods NAME[:k=v,...] ...   "
           "targets S|N:M ...\n"
           "  calib DATASET [sampling=sequential|random] [nsamples=128] "
           "[seqlen=ctx] [seed=0]\n"
           "  eval DATASET ...   max_chunks N (default: all)   dense yes|no "
           "(default yes)   exclude METHOD TARGET ...\n"
           "  models, corpora and method x target pairs are checked when the "
           "grid is read (errors FILE:LINE), also with --dry-run\n"
           "\nexit status: 0 all cells ok, 1 some cell failed or the sweep "
           "could not write, 2 usage or grid error, 130/143 after SIGINT/SIGTERM\n"
           "\nexamples:\n"
           "  cprune sweep --grid seeds.grid --dry-run\n"
           "  cprune sweep --grid seeds.grid --out runs --shard 0/2 &  "
           "cprune sweep --grid seeds.grid --out runs --shard 1/2\n"
           "  cprune sweep --grid seeds.grid --out runs --resume --dry-run   "
           "(what is left to run)\n");
}

int cmd_sweep(int argc, char **argv) {
    struct cli_opt opts[] = {
        {"grid", 1, "the grid file (required)", NULL},
        {"out", 1, "results folder (default: sweep-out)", NULL},
        {"shard", 1, "run cells i, i+n, i+2n, ... of the grid, 0 <= i < n (default 0/1)", NULL},
        {"resume", 0, "skip cells that already have an ok line in the results folder", NULL},
        {"threads", 1, "threads of each cell, in [1, 1024] (default: all CPUs)", NULL},
        {"dry-run", 0, "list the cells that would run, with their ids; run nothing", NULL},
    };
    const size_t n_opts = sizeof opts / sizeof opts[0];
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(opts, n_opts);
            return 0;
        }
    int rc = cli_parse(argc, argv, opts, n_opts, CMD, USAGE);
    if (rc) return rc == 1 ? 0 : 2;
    const char *grid_path = cli_get(opts, n_opts, "grid");
    const char *v;
    long long shard_i = 0, shard_n = 1, x;
    if (!grid_path) {
        fprintf(stderr, "cprune " CMD ": --grid is required\nusage: %s\n",
                USAGE);
        return 2;
    }
    if ((v = cli_get(opts, n_opts, "shard")) &&
        parse_shard(v, &shard_i, &shard_n))
        return 2;
    if ((v = cli_get(opts, n_opts, "threads")) &&
        cli_int(CMD, "threads", v, 1, 1024, &x))
        return 2;
    if (v) cli_threads_warn(CMD, x);
    const int resume = cli_get(opts, n_opts, "resume") != NULL;
    const int dry = cli_get(opts, n_opts, "dry-run") != NULL;

    struct grid *g = malloc(sizeof *g);
    struct sweep sw = {.dir = cli_get(opts, n_opts, "out"),
                       .threads = cli_get(opts, n_opts, "threads")};
    struct sweep_results done = {0};
    struct cpr_err err = {0};
    char results[1100], path[1100];
    if (!g) {
        fprintf(stderr, "cprune " CMD ": out of memory\n");
        return 1;
    }
    if (!sw.dir) sw.dir = "sweep-out";
    rc = 2;
    if (grid_parse(grid_path, cli_data_dir(), g, &err)) goto fail;
    sw.g = g;
    sw.n_cells = grid_n_cells(g);
    snprintf(results, sizeof results, "%s/results.jsonl", sw.dir);
    rc = 1;
    if (resume && sweep_results_load(results, 1, &done, &err)) goto fail;
    if (done.n_skipped)
        fprintf(stderr, "cprune " CMD ": %s: %zu line(s) are not records "
                        "(first: line %zu); ignored\n", results,
                done.n_skipped, done.first_skipped);
    sweep_self_path(sw.self, sizeof sw.self);

    size_t n_sel = 0, n_skip = 0;
    for (size_t i = (size_t)shard_i; i < sw.n_cells; i += (size_t)shard_n)
        n_sel++;
    if (dry) { // the cells this command would run, nothing else
        size_t n_run = 0;
        for (size_t i = (size_t)shard_i; i < sw.n_cells; i += (size_t)shard_n) {
            struct grid_cell c;
            grid_cell_at(g, i, &c);
            if (resume && sweep_results_has_ok(&done, c.id)) {
                n_skip++;
                continue;
            }
            n_run++;
            printf("cell %zu/%zu %s %s\n", i + 1, sw.n_cells, c.id, c.desc);
        }
        printf("%zu of %zu cells would run (%zu in this shard", n_run,
               sw.n_cells, n_sel);
        if (resume) printf(", %zu done before", n_skip);
        printf(")\n");
        rc = 0;
        goto out;
    }
    snprintf(path, sizeof path, "%s/logs", sw.dir);
    if (make_dirs(path) != 0) goto dir_fail;
    snprintf(path, sizeof path, "%s/tmp", sw.dir);
    if (make_dirs(path) != 0) goto dir_fail;
    snprintf(sw.cache, sizeof sw.cache, "%s/tokcache", sw.dir);
    sw.cache_prune = child_has_option(sw.self, "prune", "--token-cache");
    sw.cache_eval = child_has_option(sw.self, "eval", "--token-cache");
    sweep_host_get(&sw.host);
    sweep_signals_install();
    fprintf(stderr, "[sweep] %s: %zu cells, shard %lld/%lld runs %zu -> %s\n",
            grid_path, sw.n_cells, shard_i, shard_n, n_sel, results);

    size_t n_ok = 0, n_failed = 0, k = 0;
    for (size_t i = (size_t)shard_i; i < sw.n_cells; i += (size_t)shard_n) {
        struct grid_cell c;
        char desc[1600], ppl[200];
        grid_cell_at(g, i, &c);
        describe(&c, desc, sizeof desc);
        k++;
        if (resume && sweep_results_has_ok(&done, c.id)) {
            n_skip++;
            fprintf(stderr, "[sweep] cell %zu/%zu [%zu/%zu] %s %s: done "
                            "before, skipped\n", i + 1, sw.n_cells, k, n_sel,
                    c.id, desc);
            continue;
        }
        fprintf(stderr, "[sweep] cell %zu/%zu [%zu/%zu] %s %s ...\n", i + 1,
                sw.n_cells, k, n_sel, c.id, desc);
        struct cell_outcome o = {0};
        const double t0 = cli_now();
        if (run_cell(&sw, &c, &o, &err)) goto fail;
        if (o.interrupted || sweep_signal_caught()) {
            const int sig = sweep_signal_caught();
            free(o.line);
            fprintf(stderr, "[sweep] %s in cell %zu (%s); nothing recorded "
                            "for it\n", sig == SIGTERM ? "terminated (SIGTERM)"
                                                       : "interrupted",
                    i + 1, c.id);
            rc = sig == SIGTERM ? 143 : 130;
            goto out;
        }
        enum cpr_status s = cpr_jsonl_append(results, o.line, o.len, &err);
        if (o.ok) ppl_summary(g, o.line, o.len, ppl, sizeof ppl);
        free(o.line);
        if (s) goto fail;
        if (o.ok) {
            n_ok++;
            fprintf(stderr, "[sweep] cell %zu/%zu %s %s: %s (%.1f s)\n",
                    i + 1, sw.n_cells, c.id, desc, ppl, cli_now() - t0);
        } else {
            n_failed++;
            fprintf(stderr, "[sweep] cell %zu/%zu %s %s: FAILED (%.1f s; log "
                            "%s/logs/%s.err): %s\n", i + 1, sw.n_cells, c.id,
                    desc, cli_now() - t0, sw.dir, c.id, o.why);
        }
    }
    fprintf(stderr, "[sweep] done: %zu ok, %zu failed, %zu skipped -> %s\n",
            n_ok, n_failed, n_skip, results);
    rc = n_failed ? 1 : 0;
    goto out;
dir_fail:
    cpr_err_set(&err, CPR_ERR_IO, "%s: cannot create the folder: %s", path,
                strerror(errno));
fail:
    fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
out:
    sweep_results_free(&done);
    free(g);
    return rc;
}
