// cli/prune_depth.c: the depth-pruning command line (cli/prune_depth.h).
#include "cli/prune_depth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/progress.h"
#include "cli/prune.h"
#include "core/model_edit.h"
#include "core/pool.h"
#include "data/json_write.h"
#include "data/fileio.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "methods/depth.h"

static const char *const depth_methods[] = {"shortgpt"};

int prune_depth_is_method(const char *name) {
    for (size_t j = 0; j < sizeof depth_methods / sizeof *depth_methods; j++)
        if (!strcmp(name, depth_methods[j])) return 1;
    return 0;
}

int prune_depth_wanted(int argc, char **argv) {
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--method") && prune_depth_is_method(argv[i + 1]))
            return 1;
    return 0;
}

void prune_depth_list(void) {
    printf("shortgpt\n  depth: remove the N layers of lowest Block Influence "
           "(1 - cos of a layer's input and output)\n  needs: calibration "
           "hidden states\n  patterns: --remove-layers N (whole layers)\n"
           "  option --angular (flag): angular distance arccos(cos)/pi\n");
}

static struct cli_opt opts[] = {
    {"model", 1, "model: HF directory or llama2.c checkpoint (required)", NULL},
    {"method", 1, "depth method: shortgpt (required)", NULL},
    {"remove-layers", 1, "number of whole layers to remove (required)", NULL},
    {"angular", 0, "shortgpt: angular distance arccos(cos)/pi instead of 1 - cos", NULL},
    {"calib", 1, "calibration corpus or text file (default: tinystories)", NULL},
    {"nsamples", 1, "calibration windows (default: 32)", NULL},
    {"seqlen", 1, "calibration window length (default: 256)", NULL},
    {"tokenizer", 1, "tokenizer file (default: found beside the model)", NULL},
    {"out", 1, "write the smaller model here (HF directory)", NULL},
    {"eval", 1, "evaluate after removal: corpus names or text files, comma list", NULL},
    {"json", 1, "write the run as JSON here", NULL},
    {"threads", 1, "worker threads (default: online CPUs)", NULL},
    {"quiet", 0, "no progress bars", NULL},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

static const char *const examples[] = {
    "cprune prune --model ../shared/models/stories260K/stories260K.bin "
    "--method shortgpt --remove-layers 1 --eval tinystories --out /tmp/short",
    NULL,
};

static int usage_error(const char *msg) {
    fprintf(stderr, "cprune prune: %s\n", msg);
    return 2;
}

static enum cpr_status write_json(const char *path, const struct prune_run *run,
                                  int angular, const double *bi, int64_t n0,
                                  const uint8_t *drop, int64_t params0,
                                  int64_t params1, int64_t lin0, int64_t lin1,
                                  int64_t layers1, struct cpr_err *err) {
    struct cpr_jw w;
    cpr_jw_init(&w, 1);
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "model"), cpr_jw_string(&w, run->model_path);
    cpr_jw_key(&w, "method"), cpr_jw_string(&w, run->method_name);
    cpr_jw_key(&w, "angular"), cpr_jw_bool(&w, angular);
    cpr_jw_key(&w, "calibration");
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "source"), cpr_jw_string(&w, run->calib_source);
    cpr_jw_key(&w, "nsamples"), cpr_jw_int(&w, run->nsamples);
    cpr_jw_key(&w, "seqlen"), cpr_jw_int(&w, run->seqlen);
    cpr_jw_key(&w, "sha256"), cpr_jw_string(&w, run->calib_sha);
    cpr_jw_end_object(&w);
    cpr_jw_key(&w, "scores");
    cpr_jw_begin_array(&w);
    for (int64_t l = 0; l < n0; l++) cpr_jw_double(&w, bi[l]);
    cpr_jw_end_array(&w);
    cpr_jw_key(&w, "removed_layers");
    cpr_jw_begin_array(&w);
    for (int64_t l = 0; l < n0; l++)
        if (drop[l]) cpr_jw_int(&w, l);
    cpr_jw_end_array(&w);
    cpr_jw_key(&w, "layers_before"), cpr_jw_int(&w, n0);
    cpr_jw_key(&w, "layers_after"), cpr_jw_int(&w, layers1);
    cpr_jw_key(&w, "params_before"), cpr_jw_int(&w, params0);
    cpr_jw_key(&w, "params_after"), cpr_jw_int(&w, params1);
    cpr_jw_key(&w, "linear_params_before"), cpr_jw_int(&w, lin0);
    cpr_jw_key(&w, "linear_params_after"), cpr_jw_int(&w, lin1);
    cpr_jw_key(&w, "out"), run->out_dir ? cpr_jw_string(&w, run->out_dir)
                                        : cpr_jw_null(&w);
    cpr_jw_key(&w, "eval");
    cpr_jw_begin_array(&w);
    for (int i = 0; i < run->n_eval; i++) {
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "dataset"), cpr_jw_string(&w, run->eval[i].dataset);
        cpr_jw_key(&w, "split"), cpr_jw_string(&w, run->eval[i].split);
        cpr_jw_key(&w, "ppl"), cpr_jw_double(&w, run->eval[i].r.ppl);
        cpr_jw_key(&w, "seqlen"), cpr_jw_int(&w, run->eval[i].r.seqlen);
        cpr_jw_key(&w, "nchunks"), cpr_jw_int(&w, run->eval[i].r.nchunks);
        cpr_jw_end_object(&w);
    }
    cpr_jw_end_array(&w);
    cpr_jw_end_object(&w);
    enum cpr_status s = cpr_jw_finish(&w, err);
    if (!s) s = cpr_file_write_atomic(path, w.buf, w.len, err);
    cpr_jw_free(&w);
    return s;
}

int prune_depth_main(int argc, char **argv) {
    struct cli_help help = {
        .usage = "cprune prune --model M --method shortgpt --remove-layers N "
                 "[--angular] [--calib C] [--out DIR] [--eval LIST] [--json F]",
        .examples = examples,
        .notes = "ShortGPT scores each layer by its Block Influence (sum over "
                 "calibration tokens of 1 - cos(input, output), the last "
                 "layer's output after the final norm, as the official code) "
                 "and removes the N lowest-scoring layers at once.",
    };
    int rc = cli_parse_help(argc, argv, opts, N_OPTS, "prune", &help);
    if (rc) return rc == 1 ? 0 : rc;
    struct prune_run run;
    memset(&run, 0, sizeof run);
    run.model_path = cli_get(opts, N_OPTS, "model");
    run.method_name = cli_get(opts, N_OPTS, "method");
    const char *rl = cli_get(opts, N_OPTS, "remove-layers");
    if (!run.model_path) return usage_error("--model is required");
    if (!rl) return usage_error("--remove-layers N is required for shortgpt");
    long long nrem = 0, ns = 32, sl = 256, thr = 0;
    if (cli_int("prune", "remove-layers", rl, 1, 1 << 20, &nrem)) return 2;
    const char *v;
    if ((v = cli_get(opts, N_OPTS, "nsamples")) &&
        cli_int("prune", "nsamples", v, 1, 1 << 20, &ns))
        return 2;
    if ((v = cli_get(opts, N_OPTS, "seqlen")) &&
        cli_int("prune", "seqlen", v, 2, 1 << 20, &sl))
        return 2;
    if (cli_threads_parse("prune", cli_get(opts, N_OPTS, "threads"), &thr))
        return 2;
    const int angular = cli_get(opts, N_OPTS, "angular") != NULL;
    run.calib_source = cli_get(opts, N_OPTS, "calib");
    if (!run.calib_source) run.calib_source = "tinystories";
    run.nsamples = ns, run.seqlen = sl, run.sampling = CPR_CALIB_SEQUENTIAL;
    run.eval_list = cli_get(opts, N_OPTS, "eval");
    run.out_dir = cli_get(opts, N_OPTS, "out");
    run.json_path = cli_get(opts, N_OPTS, "json");
    run.quiet = cli_get(opts, N_OPTS, "quiet") != NULL;
    run.threads = (int)thr;
    run.tokenizer_path = cli_get(opts, N_OPTS, "tokenizer");

    struct cpr_err err = {0};
    struct cpr_model m;
    struct cpr_tokenizer tok;
    struct cpr_pool *pool = NULL;
    memset(&m, 0, sizeof m);
    memset(&tok, 0, sizeof tok);
    double *bi = NULL;
    uint8_t *drop = NULL;
    rc = 1;
    if (run.out_dir && cpr_model_save_check_dest(run.out_dir, 0, &err))
        goto fail;
    if (cpr_model_load(run.model_path, &m, &err) ||
        cpr_model_validate(&m, &err))
        goto fail;
    const int64_t n0 = m.cfg.n_layers;
    if (nrem >= n0) {
        fprintf(stderr, "cprune prune: --remove-layers %lld: the model has "
                "%lld layers; at most %lld can be removed\n", nrem,
                (long long)n0, (long long)(n0 - 1));
        rc = 2;
        goto done;
    }
    if (cpr_tokenizer_load_for_model(&tok, run.model_path, run.tokenizer_path,
                                     m.cfg.vocab, &err) ||
        prune_calib_windows(&run, &tok, cli_data_dir(), &err) ||
        cpr_pool_init(&pool, (size_t)run.threads, &err))
        goto fail;
    bi = malloc((size_t)n0 * sizeof *bi);
    drop = malloc((size_t)n0);
    if (!bi || !drop) {
        cpr_err_set(&err, CPR_ERR_NOMEM, "out of memory");
        goto fail;
    }
    double t0 = cli_now();
    if (cpr_shortgpt_scores(&m, pool, run.win.tokens, run.nsamples,
                            run.seqlen, angular, bi, &err))
        goto fail;
    cpr_depth_lowest(bi, n0, nrem, drop);
    const int64_t p0 = cpr_model_total_params(&m),
                  l0 = cpr_model_linear_params(&m);
    printf("method:    shortgpt%s, calibration %s %lld x %lld tokens "
           "(sha256 %.16s), %.2f s\n", angular ? " (angular)" : "",
           run.calib_source, ns, sl, run.calib_sha, cli_now() - t0);
    printf("scores:   ");
    for (int64_t l = 0; l < n0; l++) printf(" %lld:%.6g", (long long)l, bi[l]);
    printf("\nremoved:  ");
    for (int64_t l = 0; l < n0; l++)
        if (drop[l]) printf(" %lld", (long long)l);
    printf("\n");
    if (cpr_model_drop_layers(&m, drop, &err)) goto fail;
    const int64_t p1 = cpr_model_total_params(&m),
                  l1 = cpr_model_linear_params(&m);
    printf("layers:    %lld -> %lld\n", (long long)n0,
           (long long)m.cfg.n_layers);
    printf("params:    %lld -> %lld (%.4f%% removed); decoder linears %lld -> "
           "%lld\n", (long long)p0, (long long)p1,
           100.0 * (double)(p0 - p1) / (double)p0, (long long)l0,
           (long long)l1);
    fflush(stdout);
    if (run.out_dir) {
        const char *meta[] = {"cprune.method", "shortgpt"};
        struct cpr_model_save_opts so = {.meta = meta, .n_meta = 1, // pairs
                                         .tokenizer_from = run.model_path,
                                         .tokenizer_file = run.tokenizer_path};
        if (cpr_model_save_hf(&m, run.out_dir, &so, &err)) goto fail;
        printf("wrote:     %s\n", run.out_dir);
    }
    if (run.eval_list && prune_run_evals(&run, &m, &tok, pool, &err))
        goto fail;
    if (run.json_path &&
        write_json(run.json_path, &run, angular, bi, n0, drop, p0, p1, l0, l1,
                   m.cfg.n_layers, &err))
        goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "cprune prune: %s\n", err.msg);
    rc = err.code == CPR_ERR_ARG ? 2 : 1;
done:
    free(bi);
    free(drop);
    cpr_pool_free(pool);
    cpr_calib_windows_free(&run.win);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&m);
    return rc;
}
