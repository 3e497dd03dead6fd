// cli/prune_struct.c: the structured branch of `cprune prune` (flap,
// wanda-sp, magnitude-sp): parse, check before reading weights, calibrate,
// prune (methods/structured.h), report exact parameter counts, write the
// smaller model (native HF directory: per-layer shapes in config.json when
// layers differ, o/down biases when compensated), evaluate, JSON.
#include "cli/prune_struct.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/progress.h"
#include "cli/prune.h"
#include "cli/tokcache.h"
#include "core/pool.h"
#include "core/struct_pad.h"
#include "data/corpus.h"
#include "data/fileio.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "data/tokenizer.h"
#include "eval/perplexity.h"
#include "methods/cfsp.h"
#include "methods/structured.h"

#define CMD "prune"

static const struct cli_opt opts_def[] = {
    {NULL, 0, "structured pruning (flap, wanda-sp, magnitude-sp, cfsp)", NULL},
    {"model", 1, "HF model directory or llama2.c checkpoint (required)", NULL},
    {"tokenizer", 1, "tokenizer file (default: found beside the model)", NULL},
    {"method", 1, "flap, wanda-sp, magnitude-sp or cfsp", NULL},
    {"sparsity", 1, "pruning ratio in [0, 1): the reference's pruning_ratio over heads/channels; the achieved fraction of decoder-linear parameters is reported", NULL},
    {"metric", 1, "flap: ifv, wifv (default) or wifn", NULL},
    {"structure", 1, "flap: ul-um, al-am (default), ul-mm or al-mm", NULL},
    {"remove-heads", 1, "flap ul-mm/al-mm: attention units (KV groups) removed in all (default 8, as the reference)", NULL},
    {"no-bias-comp", 0, "flap: no o/down bias compensation", NULL},
    {"global-metric", 1, "cfsp: block distance angular (default), cosine, mse, mae or avg", NULL},
    {"local-metric", 1, "cfsp: channel score three_w_one_wa (default), three_w_one_a, one_wa, one_a or wanda_base", NULL},
    {"cfsp-a", 1, "cfsp: sigmoid slope of the layer allocation (the reference's --a, default 1)", NULL},
    {"cfsp-b", 1, "cfsp: activation exponent inside the down_proj term (--b, default 1)", NULL},
    {"cfsp-c", 1, "cfsp: activation exponent of the channel score (--c, default 1)", NULL},
    {"cuda-friendly", 0, "cfsp: keep channel counts near multiples of 128 (the reference's --cuda_friendly)", NULL},
    {"calib", 1, "calibration corpus or text file (flap, wanda-sp, cfsp)", NULL},
    {"nsamples", 1, "calibration windows (default 128)", NULL},
    {"seqlen", 1, "window length (default: the model context)", NULL},
    {"seed", 1, "seed of random window sampling (default 0)", NULL},
    {"calib-sampling", 1, "sequential (default) or random", NULL},
    {"token-cache", 1, "folder caching tokenized corpora", NULL},
    {"out", 1, "write the smaller model here (a new directory)", NULL},
    {"out-format", 1, "hf (default: the smaller tensors; per-layer shapes in config.json when layers differ) or hf-padded (zero-padded back to the original uniform shapes, biases where compensated: a plain config stock transformers loads exactly)", NULL},
    {"force", 0, "replace an existing --out that is an earlier cprune output", NULL},
    {"eval", 1, "evaluate after pruning on these corpora or text files", NULL},
    {"max-chunks", 1, "evaluate at most N chunks of each --eval corpus", NULL},
    {"json", 1, "write the run record as JSON to this file", NULL},
    {"threads", 1, "threads (default: all CPUs)", NULL},
    {"quiet", 0, "less output", NULL},
};
#define N_OPTS (sizeof opts_def / sizeof opts_def[0])

int prune_struct_wanted(int argc, char **argv) {
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--method"))
            return cpr_struct_kind_parse(argv[i + 1]) >= 0;
    for (int i = 0; i < argc; i++)
        if (!strncmp(argv[i], "--method=", 9))
            return cpr_struct_kind_parse(argv[i] + 9) >= 0;
    return 0;
}

static int fail(int rc, const char *msg) {
    fprintf(stderr, "cprune prune: %s\n", msg);
    return rc;
}

static int usage(const char *name, const char *v, const char *want) {
    fprintf(stderr, "cprune prune: --%s '%s': expected %s\n", name, v, want);
    return 2;
}

struct srun {
    struct cpr_struct_opts so;
    const char *model_path, *tok_path, *out, *eval, *json;
    int force, quiet, padded;
    long long threads, max_chunks;
    struct prune_run calib; // calibration fields only (prune_calib_windows)
    int64_t params_before, params_after, total_before, total_after;
    double ppl_mem[PRUNE_MAX_EVAL], ppl_reload[PRUNE_MAX_EVAL];
    char eval_name[PRUNE_MAX_EVAL][128];
    int n_eval;
    double sec_prune;
    struct cpr_cfsp_report cfsp;
};

static int parse(int argc, char **argv, struct cli_opt *O, struct srun *r) {
    static const struct cli_help help = {
        .usage = "cprune prune --model M --method flap|wanda-sp|magnitude-sp|cfsp "
                 "--sparsity S [--metric ifv|wifv|wifn] [--structure "
                 "ul-um|al-am|ul-mm|al-mm] [--no-bias-comp] [--global-metric G] "
                 "[--local-metric L] --calib C [--out DIR [--out-format "
                 "hf|hf-padded]] [--eval LIST] [--json F]",
        .notes = "Structured methods remove whole KV groups (with their query "
                 "heads) and MLP channels and write a smaller model.\n"};
    int rc = cli_parse_help(argc, argv, O, N_OPTS, CMD, &help);
    if (rc) return rc;
    const char *v;
    long long x;
    double d;
    r->model_path = cli_get(O, N_OPTS, "model");
    if (!r->model_path) return fail(2, "--model is required");
    r->so.kind = (enum cpr_struct_kind)cpr_struct_kind_parse(
        cli_get(O, N_OPTS, "method"));
    if (!(v = cli_get(O, N_OPTS, "sparsity")))
        return fail(2, "--sparsity is required for structured methods");
    if (cli_float(CMD, "sparsity", v, 0, 0.999999, &d)) return 2;
    r->so.ratio = d;
    r->so.metric = CPR_FLAP_WIFV;
    r->so.structure = CPR_FLAP_AL_AM;
    r->so.remove_heads = 8;
    const int flap = r->so.kind == CPR_STRUCT_FLAP;
    if ((v = cli_get(O, N_OPTS, "metric"))) {
        int k = cpr_flap_metric_parse(v);
        if (!flap) return fail(2, "--metric is a flap option");
        if (k < 0) return usage("metric", v, "ifv, wifv or wifn");
        r->so.metric = (enum cpr_flap_metric)k;
    }
    if ((v = cli_get(O, N_OPTS, "structure"))) {
        int k = cpr_flap_structure_parse(v);
        if (!flap) return fail(2, "--structure is a flap option");
        if (k < 0) return usage("structure", v, "ul-um, al-am, ul-mm or al-mm");
        r->so.structure = (enum cpr_flap_structure)k;
    }
    if ((v = cli_get(O, N_OPTS, "remove-heads"))) {
        if (cli_int(CMD, "remove-heads", v, 0, 1 << 20, &x)) return 2;
        r->so.remove_heads = x;
    }
    if (cli_get(O, N_OPTS, "no-bias-comp")) {
        if (!flap) return fail(2, "--no-bias-comp is a flap option");
        r->so.no_bias_comp = 1;
    }
    const int cfsp = r->so.kind == CPR_STRUCT_CFSP;
    static const char *const cfsp_only[] = {"global-metric", "local-metric",
                                            "cfsp-a", "cfsp-b", "cfsp-c",
                                            "cuda-friendly"};
    for (size_t i = 0; i < sizeof cfsp_only / sizeof cfsp_only[0]; i++)
        if (!cfsp && cli_get(O, N_OPTS, cfsp_only[i])) {
            fprintf(stderr, "cprune prune: --%s is a cfsp option\n",
                    cfsp_only[i]);
            return 2;
        }
    if ((v = cli_get(O, N_OPTS, "global-metric"))) {
        int k = cpr_cfsp_global_parse(v);
        if (k < 0) return usage("global-metric", v, "angular, cosine, mse, mae or avg");
        r->so.cfsp_global = k;
    }
    if ((v = cli_get(O, N_OPTS, "local-metric"))) {
        int k = cpr_cfsp_local_parse(v);
        if (k < 0) return usage("local-metric", v, "three_w_one_wa, three_w_one_a, one_wa, one_a or wanda_base");
        r->so.cfsp_local = k;
    }
    double *abc[] = {&r->so.cfsp_a, &r->so.cfsp_b, &r->so.cfsp_c};
    for (int i = 0; i < 3; i++) {
        char nm[8] = "cfsp-a";
        nm[5] = (char)('a' + i);
        *abc[i] = 1;
        if ((v = cli_get(O, N_OPTS, nm)) &&
            cli_float(CMD, nm, v, 1e-6, 1e6, abc[i]))
            return 2;
    }
    r->so.cfsp_cuda_friendly = cli_get(O, N_OPTS, "cuda-friendly") != NULL;
    if (cfsp && r->so.ratio <= 0)
        return fail(2, "cfsp: --sparsity must be in (0, 1)");
    r->tok_path = cli_get(O, N_OPTS, "tokenizer");
    r->out = cli_get(O, N_OPTS, "out");
    r->eval = cli_get(O, N_OPTS, "eval");
    r->json = cli_get(O, N_OPTS, "json");
    r->force = cli_get(O, N_OPTS, "force") != NULL;
    r->quiet = cli_get(O, N_OPTS, "quiet") != NULL;
    if ((v = cli_get(O, N_OPTS, "out-format"))) {
        if (!strcmp(v, "hf-padded")) r->padded = 1;
        else if (strcmp(v, "hf"))
            return usage("out-format", v,
                         "hf or hf-padded for structured methods");
        if (!r->out) return fail(2, "--out-format needs --out");
    }
    struct prune_run *c = &r->calib;
    c->calib_source = cli_get(O, N_OPTS, "calib");
    c->nsamples = 128;
    if ((v = cli_get(O, N_OPTS, "nsamples"))) {
        if (cli_int(CMD, "nsamples", v, 1, 1 << 20, &x)) return 2;
        c->nsamples = x;
    }
    if ((v = cli_get(O, N_OPTS, "seqlen"))) {
        if (cli_int(CMD, "seqlen", v, 1, 1 << 24, &x)) return 2;
        c->seqlen = x;
    }
    if ((v = cli_get(O, N_OPTS, "seed"))) {
        if (cli_int(CMD, "seed", v, 0, (1LL << 62), &x)) return 2;
        c->seed = (uint64_t)x;
    }
    if ((v = cli_get(O, N_OPTS, "calib-sampling"))) {
        int smp = cpr_calib_sampling_parse(v);
        if (smp < 0) return usage("calib-sampling", v, "random or sequential");
        c->sampling = (enum cpr_calib_sampling)smp;
    }
    c->token_cache = cli_get(O, N_OPTS, "token-cache");
    if (r->so.kind != CPR_STRUCT_MAGNITUDE_SP && !c->calib_source)
        return fail(2, "--calib is required for flap, wanda-sp and cfsp");
    if (r->so.kind != CPR_STRUCT_FLAP && (cli_get(O, N_OPTS, "metric") ||
                                          cli_get(O, N_OPTS, "structure")))
        return fail(2, "--metric/--structure are flap options");
    r->threads = (long long)cpr_cpu_count();
    if ((v = cli_get(O, N_OPTS, "threads")) &&
        cli_int(CMD, "threads", v, 1, 1024, &r->threads))
        return 2;
    if ((v = cli_get(O, N_OPTS, "max-chunks")) &&
        cli_int(CMD, "max-chunks", v, 0, 1LL << 40, &r->max_chunks))
        return 2;
    return 0;
}

static enum cpr_status eval_all(struct srun *r, const struct cpr_model *m,
                                const struct cpr_tokenizer *tok,
                                struct cpr_pool *pool, double *ppl,
                                struct cpr_err *err) {
    if (!r->eval) return CPR_OK;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", r->eval);
    int n = 0;
    for (char *sv = NULL, *name = strtok_r(buf, ",", &sv);
         name && n < PRUNE_MAX_EVAL; name = strtok_r(NULL, ",", &sv), n++) {
        const char *split = prune_eval_split(name);
        char *text = NULL;
        size_t len = 0;
        int32_t *ids = NULL;
        int64_t nt = 0;
        enum cpr_status s =
            split ? cpr_corpus_load(cli_data_dir(), name, split, &text, &len,
                                    err)
                  : cpr_corpus_load_file(name, &text, &len, err);
        if (!s) s = cli_tokenize_cached(r->calib.token_cache, tok, text, len,
                                        tok->add_bos, &ids, &nt, NULL, err);
        free(text);
        struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF,
                                  .max_chunks = r->max_chunks};
        struct cpr_ppl_result res;
        if (!s) s = cpr_ppl_eval(m, NULL, pool, ids, nt, &po, &res, err);
        free(ids);
        if (s) return s;
        snprintf(r->eval_name[n], sizeof r->eval_name[n], "%s", name);
        ppl[n] = res.ppl;
    }
    r->n_eval = n;
    return CPR_OK;
}

static enum cpr_status write_json(const struct srun *r,
                                  const struct cpr_model *m,
                                  const struct cpr_struct_plan *p,
                                  struct cpr_err *err) {
    struct cpr_jw w;
    cpr_jw_init(&w, 2);
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "model"), cpr_jw_string(&w, r->model_path);
    {
        enum cpr_status ps = prune_json_protocol(&w, r->model_path,
                                                 r->threads, err);
        if (ps) {
            cpr_jw_free(&w);
            return ps;
        }
    }
    cpr_jw_key(&w, "method"), cpr_jw_string(&w, cpr_struct_kind_name(r->so.kind));
    cpr_jw_key(&w, "ratio"), cpr_jw_double(&w, r->so.ratio);
    cpr_jw_key(&w, "out_format");
    if (r->out) cpr_jw_string(&w, r->padded ? "hf-padded" : "hf");
    else cpr_jw_null(&w);
    if (r->so.kind == CPR_STRUCT_FLAP) {
        cpr_jw_key(&w, "metric");
        cpr_jw_string(&w, cpr_flap_metric_name(r->so.metric));
        cpr_jw_key(&w, "structure");
        cpr_jw_string(&w, cpr_flap_structure_name(r->so.structure));
        cpr_jw_key(&w, "bias_compensation"), cpr_jw_bool(&w, !r->so.no_bias_comp);
    }
    if (r->so.kind == CPR_STRUCT_CFSP) {
        cpr_jw_key(&w, "global_metric");
        cpr_jw_string(&w, cpr_cfsp_global_name(r->so.cfsp_global));
        cpr_jw_key(&w, "local_metric");
        cpr_jw_string(&w, cpr_cfsp_local_name(r->so.cfsp_local));
        cpr_jw_key(&w, "a"), cpr_jw_double(&w, r->so.cfsp_a);
        cpr_jw_key(&w, "b"), cpr_jw_double(&w, r->so.cfsp_b);
        cpr_jw_key(&w, "c"), cpr_jw_double(&w, r->so.cfsp_c);
        cpr_jw_key(&w, "cuda_friendly"), cpr_jw_bool(&w, r->so.cfsp_cuda_friendly);
        cpr_jw_key(&w, "block_importance");
        cpr_jw_begin_array(&w);
        for (int64_t l = 0; l < r->cfsp.n_layers; l++)
            cpr_jw_double(&w, r->cfsp.importance[l]);
        cpr_jw_end_array(&w);
        cpr_jw_key(&w, "keep_fraction");
        cpr_jw_begin_array(&w);
        for (int64_t l = 0; l < r->cfsp.n_layers; l++)
            cpr_jw_double(&w, r->cfsp.keep[l]);
        cpr_jw_end_array(&w);
    }
    cpr_jw_key(&w, "calibration");
    if (r->calib.calib_source) {
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "source"), cpr_jw_string(&w, r->calib.calib_source);
        cpr_jw_key(&w, "nsamples"), cpr_jw_int(&w, r->calib.nsamples);
        cpr_jw_key(&w, "seqlen"), cpr_jw_int(&w, r->calib.seqlen);
        cpr_jw_key(&w, "sampling"),
            cpr_jw_string(&w, cpr_calib_sampling_name(r->calib.sampling));
        cpr_jw_key(&w, "seed"), cpr_jw_int(&w, (int64_t)r->calib.seed);
        cpr_jw_key(&w, "sha256"), cpr_jw_string(&w, r->calib.calib_sha);
        cpr_jw_end_object(&w);
    } else {
        cpr_jw_null(&w);
    }
    cpr_jw_key(&w, "linear_params_before"), cpr_jw_int(&w, r->params_before);
    cpr_jw_key(&w, "linear_params_after"), cpr_jw_int(&w, r->params_after);
    cpr_jw_key(&w, "linear_params_removed_fraction");
    cpr_jw_double(&w, 1.0 - (double)r->params_after / (double)r->params_before);
    cpr_jw_key(&w, "total_params_before"), cpr_jw_int(&w, r->total_before);
    cpr_jw_key(&w, "total_params_after"), cpr_jw_int(&w, r->total_after);
    cpr_jw_key(&w, "layers");
    cpr_jw_begin_array(&w);
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        const struct cpr_struct_layer_plan *lp = &p->layers[l];
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "n_heads"), cpr_jw_int(&w, sh.n_heads);
        cpr_jw_key(&w, "n_kv_heads"), cpr_jw_int(&w, sh.n_kv_heads);
        cpr_jw_key(&w, "intermediate"), cpr_jw_int(&w, sh.intermediate);
        cpr_jw_key(&w, "kept_kv_groups");
        cpr_jw_begin_array(&w);
        // indices in the layer's widths before pruning (the plan's n_kv,
        // n_ch); no mask = every unit kept
        for (int64_t i = 0; i < lp->n_kv; i++)
            if (!lp->keep_kv || lp->keep_kv[i]) cpr_jw_int(&w, i);
        cpr_jw_end_array(&w);
        cpr_jw_key(&w, "kept_channels");
        cpr_jw_begin_array(&w);
        for (int64_t i = 0; i < lp->n_ch; i++)
            if (!lp->keep_ch || lp->keep_ch[i]) cpr_jw_int(&w, i);
        cpr_jw_end_array(&w);
        cpr_jw_end_object(&w);
    }
    cpr_jw_end_array(&w);
    cpr_jw_key(&w, "eval");
    cpr_jw_begin_array(&w);
    for (int i = 0; i < r->n_eval; i++) {
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "dataset"), cpr_jw_string(&w, r->eval_name[i]);
        cpr_jw_key(&w, "protocol"), cpr_jw_string(&w, "hf"); // windows of
        cpr_jw_key(&w, "max_chunks"), cpr_jw_int(&w, r->max_chunks); // ctx
        cpr_jw_key(&w, "ppl"), cpr_jw_double(&w, r->ppl_mem[i]);
        cpr_jw_key(&w, "ppl_reloaded");
        if (r->out) cpr_jw_double(&w, r->ppl_reload[i]);
        else cpr_jw_null(&w);
        cpr_jw_end_object(&w);
    }
    cpr_jw_end_array(&w);
    cpr_jw_key(&w, "seconds_prune"), cpr_jw_double(&w, r->sec_prune);
    cpr_jw_end_object(&w);
    enum cpr_status s = cpr_jw_finish(&w, err);
    struct cpr_atomic_file af = {.fd = -1};
    if (!s) s = cpr_atomic_open(&af, r->json, err);
    if (!s) s = cpr_atomic_write(&af, w.buf, w.len, err);
    if (!s) s = cpr_atomic_write(&af, "\n", 1, err);
    if (!s) s = cpr_atomic_commit(&af, err);
    if (s) cpr_atomic_abort(&af);
    cpr_jw_free(&w);
    return s;
}

int prune_struct_main(int argc, char **argv) {
    struct cli_opt O[N_OPTS];
    memcpy(O, opts_def, sizeof O);
    struct srun r;
    memset(&r, 0, sizeof r);
    int rc = parse(argc, argv, O, &r);
    if (rc == 1) return 0; // --help
    if (rc) return rc;
    struct cpr_err err = {0};
    struct cpr_model m, back, pad;
    struct cpr_tokenizer tok;
    struct cpr_pool *pool = NULL;
    struct cpr_struct_plan plan = {0};
    memset(&m, 0, sizeof m), memset(&back, 0, sizeof back);
    memset(&pad, 0, sizeof pad);
    memset(&tok, 0, sizeof tok);
    rc = 1;
    if (r.out && cpr_model_save_check_dest(r.out, r.force, &err)) {
        rc = 2;
        goto fail;
    }
    if (cpr_model_load(r.model_path, &m, &err)) goto fail;
    const int need_tok = r.calib.calib_source || r.eval;
    if (need_tok && cpr_tokenizer_load_for_model(&tok, r.model_path,
                                                 r.tok_path, m.cfg.vocab,
                                                 &err))
        goto fail;
    if (!r.calib.seqlen) r.calib.seqlen = m.cfg.context;
    if (r.calib.seqlen > m.cfg.context) {
        fprintf(stderr, "cprune prune: --seqlen %lld is over the model "
                "context %lld\n", (long long)r.calib.seqlen,
                (long long)m.cfg.context);
        rc = 2;
        goto done;
    }
    if (r.calib.calib_source && r.so.kind != CPR_STRUCT_MAGNITUDE_SP &&
        prune_calib_windows(&r.calib, &tok, cli_data_dir(), &err))
        goto fail;
    if (cpr_pool_init(&pool, (size_t)r.threads, &err)) goto fail;
    r.params_before = cpr_model_linear_params(&m);
    r.total_before = cpr_model_total_params(&m);
    double t0 = cli_now();
    if (r.so.kind == CPR_STRUCT_CFSP
            ? cpr_cfsp_prune(&m, r.calib.win.tokens, r.calib.win.nsamples,
                             r.calib.seqlen, &r.so, pool, &plan, &r.cfsp,
                             &err)
            : cpr_struct_prune(&m, r.calib.win.tokens, r.calib.win.nsamples,
                               r.calib.seqlen, &r.so, pool, &plan, &err))
        goto fail;
    r.sec_prune = cli_now() - t0;
    r.params_after = cpr_model_linear_params(&m);
    r.total_after = cpr_model_total_params(&m);
    printf("pruned:    %s ratio %g: decoder-linear params %lld -> %lld "
           "(%.4f removed); total %lld -> %lld (%.2f s)\n",
           cpr_struct_kind_name(r.so.kind), r.so.ratio,
           (long long)r.params_before, (long long)r.params_after,
           1.0 - (double)r.params_after / (double)r.params_before,
           (long long)r.total_before, (long long)r.total_after, r.sec_prune);
    for (int64_t l = 0; l < m.cfg.n_layers && !r.quiet; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(&m, l);
        printf("  layer %lld: heads %lld, kv heads %lld, intermediate %lld\n",
               (long long)l, (long long)sh.n_heads, (long long)sh.n_kv_heads,
               (long long)sh.intermediate);
    }
    if (eval_all(&r, &m, &tok, pool, r.ppl_mem, &err)) goto fail;
    for (int i = 0; i < r.n_eval; i++)
        printf("eval:      %s: ppl %.6f\n", r.eval_name[i], r.ppl_mem[i]);
    if (r.out) {
        struct cpr_model_save_opts so = {.tokenizer_from = r.model_path,
                                         .tokenizer_file = r.tok_path,
                                         .replace = r.force};
        if (r.padded && cpr_struct_pad(&plan, &m, &pad, &err)) goto fail;
        if (cpr_model_save_hf(r.padded ? &pad : &m, r.out, &so, &err))
            goto fail;
        printf("wrote:     %s\n", r.out);
        if (r.eval) { // every output reloads to the same perplexity
            if (cpr_model_load(r.out, &back, &err)) goto fail;
            if (eval_all(&r, &back, &tok, pool, r.ppl_reload, &err))
                goto fail;
            for (int i = 0; i < r.n_eval; i++) {
                printf("reloaded:  %s: ppl %.6f\n", r.eval_name[i],
                       r.ppl_reload[i]);
                // bit-identical from an HF source; a llama2.c source is
                // written with HF's RoPE row order, and hf-padded adds
                // zero rows/columns (other GEMM blocking), so rounding
                // may differ
                if (fabs(r.ppl_reload[i] - r.ppl_mem[i]) >
                    1e-5 * r.ppl_mem[i]) {
                    fprintf(stderr, "cprune prune: %s reloads to ppl %.6f, "
                            "%.6f in memory\n", r.out, r.ppl_reload[i],
                            r.ppl_mem[i]);
                    goto done;
                }
            }
        }
    }
    if (r.json && write_json(&r, &m, &plan, &err)) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "cprune prune: %s\n", err.msg);
done:
    cpr_struct_plan_free(&plan);
    cpr_cfsp_report_free(&r.cfsp);
    cpr_pool_free(pool);
    cpr_calib_windows_free(&r.calib.win);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&back);
    cpr_model_free(&pad);
    cpr_model_free(&m);
    return rc;
}
