// cli/prune_struct.c: the structured branch of `cprune prune` (flap,
// wanda-sp, magnitude-sp): parse, check before reading weights, calibrate,
// prune (methods/structured.h), report exact parameter counts, write the
// smaller model (native HF directory: per-layer shapes in config.json when
// layers differ, o/down biases when compensated), evaluate, JSON.
#include "cli/prune_struct.h"

#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/progress.h"
#include "cli/prune.h"
#include "cli/prune_struct_common.h"
#include "core/pool.h"
#include "core/struct_pad.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "data/tokenizer.h"
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
    {"plan", 0, "print the method's large buffers with their bytes, then stop (before tokenizer and calibration)", NULL},
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

struct srun {
    struct pstruct_run c; // options, counts, evaluations (common)
    struct cpr_struct_opts so;
    int padded;
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
    r->c.model_path = cli_get(O, N_OPTS, "model");
    if (!r->c.model_path) return pstruct_fail(2, "--model is required");
    r->so.kind = (enum cpr_struct_kind)cpr_struct_kind_parse(
        cli_get(O, N_OPTS, "method"));
    if (!(v = cli_get(O, N_OPTS, "sparsity")))
        return pstruct_fail(2, "--sparsity is required for structured methods");
    if (cli_float(CMD, "sparsity", v, 0, 0.999999, &d)) return 2;
    r->so.ratio = d;
    r->so.metric = CPR_FLAP_WIFV;
    r->so.structure = CPR_FLAP_AL_AM;
    r->so.remove_heads = 8;
    const int flap = r->so.kind == CPR_STRUCT_FLAP;
    if ((v = cli_get(O, N_OPTS, "metric"))) {
        int k = cpr_flap_metric_parse(v);
        if (!flap) return pstruct_fail(2, "--metric is a flap option");
        if (k < 0) return pstruct_usage("metric", v, "ifv, wifv or wifn");
        r->so.metric = (enum cpr_flap_metric)k;
    }
    if ((v = cli_get(O, N_OPTS, "structure"))) {
        int k = cpr_flap_structure_parse(v);
        if (!flap) return pstruct_fail(2, "--structure is a flap option");
        if (k < 0) return pstruct_usage("structure", v, "ul-um, al-am, ul-mm or al-mm");
        r->so.structure = (enum cpr_flap_structure)k;
    }
    if ((v = cli_get(O, N_OPTS, "remove-heads"))) {
        if (cli_int(CMD, "remove-heads", v, 0, 1 << 20, &x)) return 2;
        r->so.remove_heads = x;
    }
    if (cli_get(O, N_OPTS, "no-bias-comp")) {
        if (!flap) return pstruct_fail(2, "--no-bias-comp is a flap option");
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
        if (k < 0) return pstruct_usage("global-metric", v, "angular, cosine, mse, mae or avg");
        r->so.cfsp_global = k;
    }
    if ((v = cli_get(O, N_OPTS, "local-metric"))) {
        int k = cpr_cfsp_local_parse(v);
        if (k < 0) return pstruct_usage("local-metric", v, "three_w_one_wa, three_w_one_a, one_wa, one_a or wanda_base");
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
        return pstruct_fail(2, "cfsp: --sparsity must be in (0, 1)");
    pstruct_parse_io(O, N_OPTS, &r->c);
    if ((v = cli_get(O, N_OPTS, "out-format"))) {
        if (!strcmp(v, "hf-padded")) r->padded = 1;
        else if (strcmp(v, "hf"))
            return pstruct_usage("out-format", v,
                         "hf or hf-padded for structured methods");
        if (!r->c.out) return pstruct_fail(2, "--out-format needs --out");
    }
    if (pstruct_parse_calib(O, N_OPTS, &r->c, 128, 0, 1)) return 2;
    if (r->so.kind != CPR_STRUCT_MAGNITUDE_SP && !r->c.calib.calib_source)
        return pstruct_fail(2, "--calib is required for flap, wanda-sp and cfsp");
    if (r->so.kind != CPR_STRUCT_FLAP && (cli_get(O, N_OPTS, "metric") ||
                                          cli_get(O, N_OPTS, "structure")))
        return pstruct_fail(2, "--metric/--structure are flap options");
    return pstruct_parse_run(O, N_OPTS, &r->c);
}

static enum cpr_status write_json(const struct srun *r,
                                  const struct cpr_model *m,
                                  const struct cpr_struct_plan *p,
                                  struct cpr_err *err) {
    struct cpr_jw w;
    enum cpr_status s = pstruct_json_begin(&w, &r->c, err);
    if (s) return s;
    cpr_jw_key(&w, "method"), cpr_jw_string(&w, cpr_struct_kind_name(r->so.kind));
    cpr_jw_key(&w, "ratio"), cpr_jw_double(&w, r->so.ratio);
    cpr_jw_key(&w, "out_format");
    if (r->c.out) cpr_jw_string(&w, r->padded ? "hf-padded" : "hf");
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
    return pstruct_json_end(&w, &r->c, m, p, NULL, err);
}

// The large buffers of the run (methods/structured.c, methods/cfsp.c):
// the calibration activations of every token at a block's input (and
// wanda-sp's / cfsp's second copy), plus cfsp's channel scores; the
// per-channel statistics of one layer and the forward state of up to 8
// windows are small beside them. magnitude-sp reads no data.
static void print_plan(const struct srun *r, const struct cpr_model *m) {
    const double T = (double)r->c.calib.nsamples * (double)r->c.calib.seqlen;
    const double H = (double)m->cfg.hidden, L = (double)m->cfg.n_layers;
    const double I = (double)m->cfg.intermediate;
    const double hb = T * H * 4;
    if (r->so.kind == CPR_STRUCT_CFSP) {
        const struct pstruct_buf b[] = {
            {"cfsp block input and output activations (2 x tokens x hidden "
             "x 4)", 2 * hb},
            {"cfsp channel scores (layers x intermediate x 8)", L * I * 8}};
        pstruct_plan_print(b, 2);
    } else if (r->so.kind == CPR_STRUCT_WANDA_SP) {
        const struct pstruct_buf b[] = {
            {"wanda-sp block activations and their copy (2 x tokens x hidden "
             "x 4)", 2 * hb}};
        pstruct_plan_print(b, 1);
    } else if (r->so.kind == CPR_STRUCT_FLAP) {
        const struct pstruct_buf b[] = {
            {"flap block activations (tokens x hidden x 4)", hb}};
        pstruct_plan_print(b, 1);
    } else {
        pstruct_plan_print(NULL, 0);
    }
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
    if (r.c.out && cpr_model_save_check_dest(r.c.out, r.c.force, &err)) {
        rc = 2;
        goto fail;
    }
    if (cpr_model_load(r.c.model_path, &m, &err)) goto fail;
    // what the model alone rules out, before tokenizer and calibration
    if ((r.so.kind == CPR_STRUCT_CFSP && cpr_cfsp_check_model(&m, &err)) ||
        (r.padded && cpr_struct_pad_check_source(&m, &err))) {
        rc = 2;
        goto fail;
    }
    if (!r.c.calib.seqlen) r.c.calib.seqlen = m.cfg.context;
    if (cli_get(O, N_OPTS, "plan")) {
        print_plan(&r, &m);
        rc = 0;
        goto done;
    }
    const int need_tok = r.c.calib.calib_source || r.c.eval;
    if (need_tok && cpr_tokenizer_load_for_model(&tok, r.c.model_path,
                                                 r.c.tok_path, m.cfg.vocab,
                                                 &err))
        goto fail;
    if (r.c.calib.seqlen > m.cfg.context) {
        fprintf(stderr, "cprune prune: --seqlen %lld is over the model "
                "context %lld\n", (long long)r.c.calib.seqlen,
                (long long)m.cfg.context);
        rc = 2;
        goto done;
    }
    if (r.c.calib.calib_source && r.so.kind != CPR_STRUCT_MAGNITUDE_SP &&
        prune_calib_windows(&r.c.calib, &tok, cli_data_dir(), &err))
        goto fail;
    if (cpr_pool_init(&pool, (size_t)r.c.threads, &err)) goto fail;
    r.c.params_before = cpr_model_linear_params(&m);
    r.c.total_before = cpr_model_total_params(&m);
    double t0 = cli_now();
    if (r.so.kind == CPR_STRUCT_CFSP
            ? cpr_cfsp_prune(&m, r.c.calib.win.tokens, r.c.calib.win.nsamples,
                             r.c.calib.seqlen, &r.so, pool, &plan, &r.cfsp,
                             &err)
            : cpr_struct_prune(&m, r.c.calib.win.tokens, r.c.calib.win.nsamples,
                               r.c.calib.seqlen, &r.so, pool, &plan, &err))
        goto fail;
    r.c.sec_prune = cli_now() - t0;
    r.c.params_after = cpr_model_linear_params(&m);
    r.c.total_after = cpr_model_total_params(&m);
    pstruct_print_pruned(&r.c, cpr_struct_kind_name(r.so.kind), r.so.ratio,
                         &m);
    if (pstruct_eval(&r.c, &m, &tok, pool, &err)) goto fail;
    if (r.c.out) {
        r.c.method_name = cpr_struct_kind_name(r.so.kind);
        snprintf(r.c.target, sizeof r.c.target, "ratio %g%s", r.so.ratio,
                 r.padded ? " (hf-padded)" : "");
        if (r.padded && cpr_struct_pad(&plan, &m, &pad, &err)) goto fail;
        if (pstruct_save_reload(&r.c, r.padded ? &pad : &m, &back, &tok, pool,
                                &err))
            goto fail;
    }
    if (r.c.json && write_json(&r, &m, &plan, &err)) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "cprune prune: %s\n", err.msg);
done:
    cpr_struct_plan_free(&plan);
    cpr_cfsp_report_free(&r.cfsp);
    cpr_pool_free(pool);
    cpr_calib_windows_free(&r.c.calib.win);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&back);
    cpr_model_free(&pad);
    cpr_model_free(&m);
    return rc;
}
