// cli/cmd_tasks.c: `cprune tasks`: zero-shot multiple-choice accuracy as
// lm-evaluation-harness scores it (data/taskfile.h reads the task files
// and builds the prompts, eval/tasks.h scores them).
//
// Prints one line per task as it finishes, then a markdown table (one
// column per task plus the mean, the papers' layout); --json writes the
// harness's results layout, --samples one JSON line per document (the
// token ids of every request, its log-likelihood and the metrics).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/strbuf.h"
#include "cli/tasks_run.h"
#include "core/model.h"
#include "core/pool.h"
#include "data/fileio.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "data/taskfile.h"
#include "data/tokenizer.h"
#include "eval/tasks.h"
#include "simd/kernels.h"

#define CMD "tasks"
#define MAX_TASKS 32

static void jw_num_or_na(struct cpr_jw *w, double v) {
    if (isnan(v)) cpr_jw_string(w, "N/A");
    else cpr_jw_double(w, v);
}

static enum cpr_status write_results(const char *path, const char *model_path,
                                     const struct cli_task_out *t, int nt,
                                     int64_t limit, int bos, int threads,
                                     double seconds, struct cpr_err *err) {
    struct cpr_jw w;
    cpr_jw_init(&w, 2);
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "results");
    cpr_jw_begin_object(&w);
    for (int i = 0; i < nt; i++) {
        cpr_jw_key(&w, t[i].name);
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "alias"), cpr_jw_string(&w, t[i].name);
        cpr_jw_key(&w, "acc,none"), cpr_jw_double(&w, t[i].acc);
        cpr_jw_key(&w, "acc_stderr,none"), jw_num_or_na(&w, t[i].acc_se);
        if (t[i].has_norm) {
            cpr_jw_key(&w, "acc_norm,none"), cpr_jw_double(&w, t[i].norm);
            cpr_jw_key(&w, "acc_norm_stderr,none"), jw_num_or_na(&w, t[i].norm_se);
        }
        cpr_jw_end_object(&w);
    }
    cpr_jw_end_object(&w);
    cpr_jw_key(&w, "group_subtasks");
    cpr_jw_begin_object(&w);
    for (int i = 0; i < nt; i++) {
        cpr_jw_key(&w, t[i].name);
        cpr_jw_begin_array(&w);
        cpr_jw_end_array(&w);
    }
    cpr_jw_end_object(&w);
    cpr_jw_key(&w, "configs");
    cpr_jw_begin_object(&w);
    for (int i = 0; i < nt; i++) {
        cpr_jw_key(&w, t[i].name);
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "task"), cpr_jw_string(&w, t[i].name);
        cpr_jw_key(&w, "output_type"), cpr_jw_string(&w, "multiple_choice");
        cpr_jw_key(&w, "doc_to_text"), cpr_jw_string(&w, cpr_task_template(t[i].kind));
        cpr_jw_key(&w, "target_delimiter"), cpr_jw_string(&w, " ");
        cpr_jw_key(&w, "num_fewshot"), cpr_jw_int(&w, 0);
        cpr_jw_end_object(&w);
    }
    cpr_jw_end_object(&w);
    const char *sect[] = {"versions", "n-shot", "higher_is_better", "n-samples"};
    for (int k = 0; k < 4; k++) {
        cpr_jw_key(&w, sect[k]);
        cpr_jw_begin_object(&w);
        for (int i = 0; i < nt; i++) {
            cpr_jw_key(&w, t[i].name);
            if (k == 0) {
                cpr_jw_double(&w, atof(cpr_task_version(t[i].kind)));
            } else if (k == 1) {
                cpr_jw_int(&w, 0);
            } else if (k == 2) {
                cpr_jw_begin_object(&w);
                cpr_jw_key(&w, "acc"), cpr_jw_bool(&w, 1);
                if (t[i].has_norm) cpr_jw_key(&w, "acc_norm"), cpr_jw_bool(&w, 1);
                cpr_jw_end_object(&w);
            } else {
                cpr_jw_begin_object(&w);
                cpr_jw_key(&w, "original"), cpr_jw_int(&w, t[i].n_file);
                cpr_jw_key(&w, "effective"), cpr_jw_int(&w, t[i].n_docs);
                cpr_jw_end_object(&w);
            }
        }
        cpr_jw_end_object(&w);
    }
    char margs[1200];
    snprintf(margs, sizeof margs, "pretrained=%s,add_bos_token=%s", model_path,
             bos ? "True" : "False");
    cpr_jw_key(&w, "config");
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "model"), cpr_jw_string(&w, "cprune");
    cpr_jw_key(&w, "model_args"), cpr_jw_string(&w, margs);
    cpr_jw_key(&w, "batch_size"), cpr_jw_string(&w, "auto");
    cpr_jw_key(&w, "batch_sizes"), cpr_jw_begin_array(&w), cpr_jw_end_array(&w);
    cpr_jw_key(&w, "device"), cpr_jw_string(&w, "cpu");
    cpr_jw_key(&w, "use_cache"), cpr_jw_null(&w);
    cpr_jw_key(&w, "limit");
    if (limit > 0) cpr_jw_int(&w, limit);
    else cpr_jw_null(&w);
    cpr_jw_key(&w, "bootstrap_iters"), cpr_jw_int(&w, 0);
    cpr_jw_key(&w, "gen_kwargs"), cpr_jw_null(&w);
    cpr_jw_key(&w, "random_seed"), cpr_jw_int(&w, 0);
    cpr_jw_key(&w, "numpy_seed"), cpr_jw_int(&w, 1234);
    cpr_jw_key(&w, "torch_seed"), cpr_jw_int(&w, 1234);
    cpr_jw_key(&w, "fewshot_seed"), cpr_jw_int(&w, 1234);
    cpr_jw_end_object(&w);
    cpr_jw_key(&w, "git_hash"), cpr_jw_null(&w);
    cpr_jw_key(&w, "date"), cpr_jw_double(&w, (double)time(NULL));
    cpr_jw_key(&w, "cprune_version"), cpr_jw_string(&w, CPRUNE_VERSION);
    cpr_jw_key(&w, "total_evaluation_time_seconds");
    char sec[32];
    snprintf(sec, sizeof sec, "%.3f", seconds);
    cpr_jw_string(&w, sec);
    // cprune's own fields: the throughput and the machine.
    int64_t tokens = 0;
    double busy = 0;
    for (int i = 0; i < nt; i++) tokens += t[i].tokens, busy += t[i].seconds;
    cpr_jw_key(&w, "cprune");
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "forward_tokens"), cpr_jw_int(&w, tokens);
    cpr_jw_key(&w, "tokens_per_second"), cpr_jw_double(&w, busy > 0 ? (double)tokens / busy : 0);
    cpr_jw_key(&w, "isa"), cpr_jw_string(&w, cpr_isa_name(cpr_kernels_isa()));
    cpr_jw_key(&w, "threads"), cpr_jw_int(&w, threads);
    cpr_jw_end_object(&w);
    cpr_jw_end_object(&w);
    enum cpr_status s = cpr_jw_finish(&w, err);
    if (s == CPR_OK) s = cpr_file_write_atomic(path, w.buf, w.len, err);
    cpr_jw_free(&w);
    return s;
}

// The papers' table: one column per task plus the mean; a row of acc and,
// for the tasks the harness gives it, a row of acc_norm.
static void print_table(const struct cli_task_out *t, int nt) {
    printf("\n| metric |");
    for (int i = 0; i < nt; i++) printf(" %s |", t[i].name);
    printf(" mean |\n|---|");
    for (int i = 0; i <= nt; i++) printf("---:|");
    double sum = 0;
    printf("\n| acc |");
    for (int i = 0; i < nt; i++) printf(" %.2f |", 100 * t[i].acc), sum += t[i].acc;
    printf(" %.2f |\n", 100 * sum / nt);
    int any = 0;
    for (int i = 0; i < nt; i++) any |= t[i].has_norm;
    if (any) {
        printf("| acc_norm |");
        for (int i = 0; i < nt; i++) {
            if (t[i].has_norm) printf(" %.2f |", 100 * t[i].norm);
            else printf(" - |");
        }
        printf(" |\n");
    }
}

int cmd_tasks(int argc, char **argv) {
    struct cli_opt opts[] = {
        {"model", 1, "HF model directory, llama2.c checkpoint, or a directory "
                     "holding one", NULL},
        {"tasks", 1, "comma-separated: boolq, rte, hellaswag, winogrande, "
                     "arc_easy, arc_challenge, openbookqa, piqa, or a generic "
                     "task's file name", NULL},
        {"task-data", 1, "folder with <task>.jsonl (rte.tsv, piqa.lst)", NULL},
        {"limit", 1, "score at most N documents per task", NULL},
        {"bos", 0, "put BOS before every request (lm-eval add_bos_token)", NULL},
        {"tokenizer", 1, "tokenizer file (default: found beside the model)", NULL},
        {"threads", 1, "threads (default: all CPUs)", NULL},
        {"json", 1, "write lm-eval's results JSON layout to this file", NULL},
        {"samples", 1, "write one JSON line per document (ids, log-likelihoods)", NULL},
        {"quiet", 0, "no progress bar", NULL},
    };
    const size_t n_opts = sizeof opts / sizeof opts[0];
    int rc = cli_parse(argc, argv, opts, n_opts, CMD,
                       "cprune tasks --model M --tasks boolq,piqa,... --task-data "
                       "DIR [--limit N] [--bos] [--json FILE] [--samples FILE]");
    if (rc) return rc == 1 ? 0 : 2;
    const char *model_path = cli_get(opts, n_opts, "model");
    const char *list = cli_get(opts, n_opts, "tasks");
    const char *dir = cli_get(opts, n_opts, "task-data");
    const char *json_path = cli_get(opts, n_opts, "json");
    const char *samples_path = cli_get(opts, n_opts, "samples");
    const char *v;
    if (!model_path || !list || !dir) {
        fprintf(stderr, "cprune " CMD ": --model, --tasks and --task-data are "
                        "required\n");
        return 2;
    }
    long long limit = 0, threads = (long long)cpr_cpu_count();
    if ((v = cli_get(opts, n_opts, "limit")) && cli_int(CMD, "limit", v, 1, 1LL << 40, &limit))
        return 2;
    if ((v = cli_get(opts, n_opts, "threads")) &&
        cli_int(CMD, "threads", v, 1, 1024, &threads))
        return 2;
    int bos = cli_get(opts, n_opts, "bos") != NULL;
    int quiet = cli_get(opts, n_opts, "quiet") != NULL;
    char names[MAX_TASKS][64];
    int nt = 0;
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, ",");
        if (l == 0 || l >= sizeof names[0] || nt == MAX_TASKS) {
            fprintf(stderr, "cprune " CMD ": --tasks: expected up to %d "
                            "comma-separated names, found '%s'\n", MAX_TASKS, list);
            return 2;
        }
        memcpy(names[nt], p, l);
        names[nt][l] = 0;
        for (int i = 0; i < nt; i++)
            if (strcmp(names[i], names[nt]) == 0) {
                fprintf(stderr, "cprune " CMD ": --tasks: '%s' is listed twice\n",
                        names[nt]);
                return 2;
            }
        nt++;
        p += l;
        if (*p == ',') p++;
    }
    if (!cpr_path_is_dir(dir)) {
        fprintf(stderr, "cprune " CMD ": --task-data: no folder %s\n", dir);
        return 1;
    }

    struct cpr_err err = {0};
    struct cpr_model model = {0};
    struct cpr_tokenizer tok = {0};
    struct cpr_pool *pool = NULL;
    struct cli_task_out out[MAX_TASKS];
    struct strbuf sw = {0};
    rc = 1;
    if (cpr_model_load(model_path, &model, &err)) goto fail;
    if (cpr_tokenizer_load_for_model(&tok, model_path, cli_get(opts, n_opts, "tokenizer"),
                                     model.cfg.vocab, &err))
        goto fail;
    if (cpr_pool_init(&pool, (size_t)threads, &err)) goto fail;
    printf("model:     %s (%s, context %lld)\n", model.source, model.format,
           (long long)model.cfg.context);
    printf("protocol:  lm-eval v0.4 zero-shot log-likelihood, %s, context "
           "window %lld (left truncation)\n", bos ? "BOS first" : "no BOS",
           (long long)model.cfg.context);
    printf("isa:       %s, threads %lld\n", cpr_isa_name(cpr_kernels_isa()), threads);
    fflush(stdout);
    double t0 = cli_now();
    for (int i = 0; i < nt; i++) {
        memset(&out[i], 0, sizeof out[i]);
        if (cli_task_run(&model, &tok, pool, dir, names[i], limit, bos, quiet,
                     samples_path ? &sw : NULL, &out[i], &err))
            goto fail;
        printf("%-14s n=%-6lld acc %.4f +/- %.4f", names[i], (long long)out[i].n_docs,
               out[i].acc, isnan(out[i].acc_se) ? 0 : out[i].acc_se);
        if (out[i].has_norm)
            printf("  acc_norm %.4f +/- %.4f", out[i].norm,
                   isnan(out[i].norm_se) ? 0 : out[i].norm_se);
        printf("  (%.2f s, %.0f tok/s)\n", out[i].seconds,
               out[i].seconds > 0 ? (double)out[i].tokens / out[i].seconds : 0);
        fflush(stdout);
    }
    double secs = cli_now() - t0;
    print_table(out, nt);
    if (json_path && write_results(json_path, model_path, out, nt, limit, bos,
                                   (int)threads, secs, &err))
        goto fail;
    if (samples_path) {
        enum cpr_status s = strbuf_status(&sw, "the samples", &err);
        if (!s) s = cpr_file_write_atomic(samples_path, sw.buf ? sw.buf : "", sw.len, &err);
        if (s) goto fail;
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
done:
    strbuf_free(&sw);
    cpr_pool_free(pool);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&model);
    return rc;
}
