// cli/prune_depth.c: the depth-pruning command line (cli/prune_depth.h).
#include "cli/prune_depth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/progress.h"
#include "cli/prune.h"
#include "cli/prune_struct_common.h"
#include "core/model_edit.h"
#include "core/pool.h"
#include "data/json_write.h"
#include "data/fileio.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "methods/depth.h"
#include "methods/depth_search.h"

static const char *const depth_methods[] = {"shortgpt", "sleb",
                                            "blockpruner", "finercut"};

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
           "hidden states\n  patterns: --remove-layers N or --sparsity S "
           "(whole layers)\n  option --angular (flag): angular distance "
           "arccos(cos)/pi\n");
    printf("sleb\n  depth: greedy, each step removes the layer whose removal "
           "gives the lowest calibration NLL\n  needs: calibration forward "
           "passes (one per candidate and step)\n  patterns: --remove-layers "
           "N or --sparsity S (whole layers)\n  options --early-barrier E, "
           "--latter-barrier L (default 1, 1): first/last alive layers never "
           "removed\n");
    printf("blockpruner\n  depth: greedy over attention and MLP sub-blocks, "
           "each step removes the one giving the lowest calibration "
           "perplexity\n  needs: calibration forward passes\n  patterns: "
           "--remove-blocks N or --sparsity S (sub-blocks)\n");
    printf("finercut\n  depth: greedy over attention and MLP sub-blocks, each "
           "step removes the one whose removal changes the logits least "
           "(Jensen-Shannon)\n  needs: calibration forward passes, the dense "
           "logits of every window\n  patterns: --remove-blocks N or "
           "--sparsity S (sub-blocks)\n  option --exclude R (default 0): the "
           "first int(R*L)+1 layers wait until int(2*R*L)+1 removals\n");
}

static struct cli_opt opts[] = {
    {"model", 1, "model: HF directory or llama2.c checkpoint (required)", NULL},
    {"method", 1, "depth method: shortgpt, sleb, blockpruner, finercut (required)", NULL},
    {"remove-layers", 1, "shortgpt, sleb: number of whole layers to remove", NULL},
    {"remove-blocks", 1, "blockpruner, finercut: number of attention/MLP sub-blocks to remove", NULL},
    {"sparsity", 1, "instead of a count: remove (in the method's order) until at least this fraction of the decoder-linear parameters is gone", NULL},
    {"angular", 0, "shortgpt: angular distance arccos(cos)/pi instead of 1 - cos", NULL},
    {"early-barrier", 1, "sleb: the first E alive layers are never removed (default 1)", NULL},
    {"latter-barrier", 1, "sleb: the last L alive layers are never removed (default 1)", NULL},
    {"exclude", 1, "finercut: withhold the first layers' sub-blocks at first (the official -x rate; default 0)", NULL},
    {"calib", 1, "calibration corpus or text file (default: tinystories)", NULL},
    {"nsamples", 1, "calibration windows (default: 32)", NULL},
    {"seqlen", 1, "calibration window length (default: 256)", NULL},
    {"tokenizer", 1, "tokenizer file (default: found beside the model)", NULL},
    {"out", 1, "write the smaller model here (HF directory)", NULL},
    {"eval", 1, "evaluate after removal: corpus names or text files, comma list", NULL},
    {"max-chunks", 1, "evaluate at most N chunks of each --eval corpus (default: all)", NULL},
    {"json", 1, "write the run as JSON here", NULL},
    {"threads", 1, "worker threads (default: online CPUs)", NULL},
    {"quiet", 0, "no progress bars", NULL},
    {"plan", 0, "print the method's large buffers with their bytes, then stop (before tokenizer and calibration)", NULL},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

static const char *const examples[] = {
    "cprune prune --model ../shared/models/stories260K/stories260K.bin "
    "--method shortgpt --remove-layers 1 --eval tinystories --out /tmp/short",
    "cprune prune --model ../shared/models/stories260K/stories260K.bin "
    "--method sleb --remove-layers 2 --eval tinystories",
    "cprune prune --model ../shared/models/stories260K/stories260K.bin "
    "--method finercut --sparsity 0.25 --eval tinystories",
    NULL,
};

// What a run decided and achieved (for the text lines and the JSON).
struct depth_result {
    int angular, early, latter, layer_method;
    double exclude, sparsity;      // sparsity 0 when a count was given
    int64_t count;                 // --remove-layers / --remove-blocks
    const double *bi;              // shortgpt scores, or NULL
    int64_t n0, layers1;
    const struct cpr_depth_step *steps;
    int64_t n_steps;
    int64_t p0, p1, l0, l1;
    int64_t attn0, attn1, mlp0, mlp1;
};

static enum cpr_status write_json(const char *path, const struct prune_run *run,
                                  const struct depth_result *d,
                                  struct cpr_err *err) {
    struct cpr_jw w;
    cpr_jw_init(&w, 1);
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "model"), cpr_jw_string(&w, run->model_path);
    {
        enum cpr_status ps = prune_json_protocol(&w, run->model_path,
                                                 run->threads, err);
        if (ps) {
            cpr_jw_free(&w);
            return ps;
        }
    }
    cpr_jw_key(&w, "method"), cpr_jw_string(&w, run->method_name);
    cpr_jw_key(&w, "angular"), cpr_jw_bool(&w, d->angular);
    if (!strcmp(run->method_name, "sleb")) {
        cpr_jw_key(&w, "early_barrier"), cpr_jw_int(&w, d->early);
        cpr_jw_key(&w, "latter_barrier"), cpr_jw_int(&w, d->latter);
    }
    if (!strcmp(run->method_name, "finercut"))
        cpr_jw_key(&w, "exclude"), cpr_jw_double(&w, d->exclude);
    cpr_jw_key(&w, "target");
    cpr_jw_begin_object(&w);
    if (d->sparsity > 0) cpr_jw_key(&w, "sparsity"), cpr_jw_double(&w, d->sparsity);
    else cpr_jw_key(&w, d->layer_method ? "remove_layers" : "remove_blocks"),
        cpr_jw_int(&w, d->count);
    cpr_jw_end_object(&w);
    cpr_jw_key(&w, "calibration");
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "source"), cpr_jw_string(&w, run->calib_source);
    cpr_jw_key(&w, "nsamples"), cpr_jw_int(&w, run->nsamples);
    cpr_jw_key(&w, "seqlen"), cpr_jw_int(&w, run->seqlen);
    cpr_jw_key(&w, "sha256"), cpr_jw_string(&w, run->calib_sha);
    cpr_jw_end_object(&w);
    if (d->bi) {
        cpr_jw_key(&w, "scores");
        cpr_jw_begin_array(&w);
        for (int64_t l = 0; l < d->n0; l++) cpr_jw_double(&w, d->bi[l]);
        cpr_jw_end_array(&w);
    }
    cpr_jw_key(&w, "steps"); // removal order (one-shot for shortgpt)
    cpr_jw_begin_array(&w);
    for (int64_t i = 0; i < d->n_steps; i++) {
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "layer"), cpr_jw_int(&w, d->steps[i].layer);
        cpr_jw_key(&w, "kind"),
            cpr_jw_string(&w, cpr_depth_kind_name(d->steps[i].kind));
        cpr_jw_key(&w, "score"), cpr_jw_double(&w, d->steps[i].score);
        cpr_jw_end_object(&w);
    }
    cpr_jw_end_array(&w);
    if (d->layer_method) {
        cpr_jw_key(&w, "removed_layers");
        cpr_jw_begin_array(&w);
        for (int64_t l = 0; l < d->n0; l++)
            for (int64_t i = 0; i < d->n_steps; i++)
                if (d->steps[i].layer == l) cpr_jw_int(&w, l);
        cpr_jw_end_array(&w);
    } else {
        cpr_jw_key(&w, "attn_blocks_before"), cpr_jw_int(&w, d->attn0);
        cpr_jw_key(&w, "attn_blocks_after"), cpr_jw_int(&w, d->attn1);
        cpr_jw_key(&w, "mlp_blocks_before"), cpr_jw_int(&w, d->mlp0);
        cpr_jw_key(&w, "mlp_blocks_after"), cpr_jw_int(&w, d->mlp1);
    }
    cpr_jw_key(&w, "layers_before"), cpr_jw_int(&w, d->n0);
    cpr_jw_key(&w, "layers_after"), cpr_jw_int(&w, d->layers1);
    cpr_jw_key(&w, "params_before"), cpr_jw_int(&w, d->p0);
    cpr_jw_key(&w, "params_after"), cpr_jw_int(&w, d->p1);
    cpr_jw_key(&w, "linear_params_before"), cpr_jw_int(&w, d->l0);
    cpr_jw_key(&w, "linear_params_after"), cpr_jw_int(&w, d->l1);
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

// ShortGPT's one-shot choice as steps: the lowest-BI layers (ties: lower
// index), either k of them or as many as reach min_linear.
static int64_t shortgpt_steps(const struct cpr_model *m, const double *bi,
                              const struct cpr_depth_target *tg,
                              struct cpr_depth_step *steps) {
    const int64_t L = m->cfg.n_layers;
    uint8_t *taken = calloc((size_t)L, 1);
    int64_t n = 0, removed = 0;
    if (!taken) return -1;
    while (n < L - 1 && (tg->count > 0 ? n < tg->count
                                       : removed < tg->min_linear)) {
        int64_t b = -1;
        for (int64_t l = 0; l < L; l++)
            if (!taken[l] && (b < 0 || bi[l] < bi[b])) b = l;
        taken[b] = 1;
        steps[n++] = (struct cpr_depth_step){b, CPR_DEPTH_LAYER, bi[b]};
        removed += cpr_depth_sub_linear(m, b, CPR_DEPTH_LAYER);
    }
    free(taken);
    return n;
}

// The large buffers of the run (methods/depth.c, methods/depth_search.c):
// the greedy searches keep every layer's input of one window, the work
// row block and one window's logits; finercut also the dense logits of
// every window (its reference distribution).
static void print_plan(const struct cpr_model *m, const char *meth,
                       long long ns, long long sl) {
    const double L = (double)m->cfg.n_layers, H = (double)m->cfg.hidden;
    const double V = (double)m->cfg.vocab, T = (double)sl;
    if (!strcmp(meth, "shortgpt")) {
        const struct pstruct_buf b[] = {
            {"shortgpt hidden states of one window and the previous "
             "layer's (2 x seqlen x hidden x 4)", 2 * T * H * 4}};
        pstruct_plan_print(b, 1);
        return;
    }
    struct pstruct_buf b[3] = {
        {"layer inputs of one window ((layers + 1) x seqlen x hidden x 4)",
         (L + 1) * T * H * 4},
        {"logits of one window (seqlen x vocab x 4)", T * V * 4},
        {"finercut dense logits of every window (nsamples x seqlen x vocab "
         "x 4)", (double)ns * T * V * 4}};
    pstruct_plan_print(b, strcmp(meth, "finercut") ? 2 : 3);
}

int prune_depth_main(int argc, char **argv) {
    struct cli_help help = {
        .usage = "cprune prune --model M --method shortgpt|sleb "
                 "--remove-layers N | --method blockpruner|finercut "
                 "--remove-blocks N | --sparsity S  [--calib C] [--out DIR] "
                 "[--eval LIST] [--json F]",
        .examples = examples,
        .notes = "ShortGPT scores each layer by its Block Influence (sum over "
                 "calibration tokens of 1 - cos(input, output), the last "
                 "layer's output after the final norm, as the official code) "
                 "and removes the N lowest-scoring layers at once. SLEB "
                 "removes layers greedily by calibration NLL (first and last "
                 "alive layers protected); BlockPruner removes attention/MLP "
                 "sub-blocks greedily by calibration perplexity; FinerCut "
                 "removes sub-blocks greedily by the Jensen-Shannon distance "
                 "of the logits to the dense model's. --sparsity S removes "
                 "units in the method's order until the removed decoder-"
                 "linear parameters reach ceil(S x the dense count); the "
                 "achieved counts are printed exactly. A layer left without "
                 "both sub-blocks is dropped.",
    };
    int rc = cli_parse_help(argc, argv, opts, N_OPTS, "prune", &help);
    if (rc) return rc == 1 ? 0 : rc;
    struct prune_run run;
    memset(&run, 0, sizeof run);
    run.model_path = cli_get(opts, N_OPTS, "model");
    run.method_name = cli_get(opts, N_OPTS, "method");
    const char *meth = run.method_name;
    const int is_short = !strcmp(meth, "shortgpt"),
              is_sleb = !strcmp(meth, "sleb"),
              is_fc = !strcmp(meth, "finercut");
    struct depth_result d;
    memset(&d, 0, sizeof d);
    d.layer_method = is_short || is_sleb;
    const char *rl = cli_get(opts, N_OPTS, "remove-layers"),
               *rb = cli_get(opts, N_OPTS, "remove-blocks"),
               *sp = cli_get(opts, N_OPTS, "sparsity");
    char msg[256];
    if (!run.model_path) return pstruct_fail(2, "--model is required");
    if (d.layer_method && rb) {
        snprintf(msg, sizeof msg, "--remove-blocks is for the sub-block "
                 "methods (blockpruner, finercut); %s removes whole layers: "
                 "use --remove-layers N", meth);
        return pstruct_fail(2, msg);
    }
    if (!d.layer_method && rl) {
        snprintf(msg, sizeof msg, "--remove-layers is for the layer methods "
                 "(shortgpt, sleb); %s removes sub-blocks: use "
                 "--remove-blocks N", meth);
        return pstruct_fail(2, msg);
    }
    const char *cnt = d.layer_method ? rl : rb;
    if (!cnt == !sp) {
        snprintf(msg, sizeof msg, "%s needs exactly one of %s N and "
                 "--sparsity S", meth,
                 d.layer_method ? "--remove-layers" : "--remove-blocks");
        return pstruct_fail(2, msg);
    }
    if (cli_get(opts, N_OPTS, "angular") && !is_short)
        return pstruct_fail(2, "--angular is a shortgpt option");
    if ((cli_get(opts, N_OPTS, "early-barrier") ||
         cli_get(opts, N_OPTS, "latter-barrier")) && !is_sleb)
        return pstruct_fail(2, "--early-barrier / --latter-barrier are sleb "
                           "options");
    if (cli_get(opts, N_OPTS, "exclude") && !is_fc)
        return pstruct_fail(2, "--exclude is a finercut option");
    long long count = 0, ns = 32, sl = 256, thr = 0, eb = 1, lb = 1;
    double sparsity = 0, excl = 0;
    if (cnt && cli_int("prune", d.layer_method ? "remove-layers"
                                               : "remove-blocks",
                       cnt, 1, 1 << 20, &count))
        return 2;
    if (sp && cli_float("prune", "sparsity", sp, 1e-9, 0.999999, &sparsity))
        return 2;
    const char *v;
    if ((v = cli_get(opts, N_OPTS, "nsamples")) &&
        cli_int("prune", "nsamples", v, 1, 1 << 20, &ns))
        return 2;
    if ((v = cli_get(opts, N_OPTS, "seqlen")) &&
        cli_int("prune", "seqlen", v, 2, 1 << 20, &sl))
        return 2;
    if ((v = cli_get(opts, N_OPTS, "early-barrier")) &&
        cli_int("prune", "early-barrier", v, 0, 1 << 20, &eb))
        return 2;
    if ((v = cli_get(opts, N_OPTS, "latter-barrier")) &&
        cli_int("prune", "latter-barrier", v, 0, 1 << 20, &lb))
        return 2;
    if ((v = cli_get(opts, N_OPTS, "exclude")) &&
        cli_float("prune", "exclude", v, 0, 0.999999, &excl))
        return 2;
    long long mc = 0;
    if ((v = cli_get(opts, N_OPTS, "max-chunks")) &&
        cli_int("prune", "max-chunks", v, 1, 1LL << 40, &mc))
        return 2;
    if (cli_threads_parse("prune", cli_get(opts, N_OPTS, "threads"), &thr))
        return 2;
    run.max_chunks = mc;
    d.angular = cli_get(opts, N_OPTS, "angular") != NULL;
    d.early = (int)eb, d.latter = (int)lb, d.exclude = excl;
    d.sparsity = sparsity, d.count = count;
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
    struct cpr_depth_step *steps = NULL;
    rc = 1;
    if (run.out_dir && cpr_model_save_check_dest(run.out_dir, 0, &err))
        goto fail;
    if (cpr_model_load(run.model_path, &m, &err) ||
        cpr_model_validate(&m, &err))
        goto fail;
    const int64_t n0 = m.cfg.n_layers;
    d.n0 = n0;
    d.attn0 = cpr_model_count_subs(&m, CPR_GROUP_ATTN);
    d.mlp0 = cpr_model_count_subs(&m, CPR_GROUP_MLP);
    if (d.layer_method && count >= n0) {
        fprintf(stderr, "cprune prune: --remove-layers %lld: the model has "
                "%lld layers; at most %lld can be removed\n", count,
                (long long)n0, (long long)(n0 - 1));
        rc = 2;
        goto done;
    }
    if (is_sleb && count > n0 - eb - lb) {
        fprintf(stderr, "cprune prune: --remove-layers %lld: sleb protects the "
                "first %lld and last %lld alive layers; the model has %lld "
                "layers, so at most %lld can be removed\n", count, eb, lb,
                (long long)n0, (long long)(n0 - eb - lb > 0 ? n0 - eb - lb
                                                            : 0));
        rc = 2;
        goto done;
    }
    if (!d.layer_method && count >= d.attn0 + d.mlp0) {
        fprintf(stderr, "cprune prune: --remove-blocks %lld: the model has "
                "%lld attention and %lld MLP sub-blocks; at most %lld can be "
                "removed (one must stay)\n", count, (long long)d.attn0,
                (long long)d.mlp0, (long long)(d.attn0 + d.mlp0 - 1));
        rc = 2;
        goto done;
    }
    d.p0 = cpr_model_total_params(&m), d.l0 = cpr_model_linear_params(&m);
    struct cpr_depth_target tg = {.count = count};
    if (sparsity > 0) {
        tg.min_linear = (int64_t)ceil(sparsity * (double)d.l0);
        if (tg.min_linear < 1) tg.min_linear = 1;
    }
    if (sparsity > 0) { // reachable at all? (before any calibration work)
        int64_t most = 0, least = -1;
        for (int64_t l = 0; l < n0; l++) {
            if (is_sleb && (l < eb || l >= n0 - lb)) continue; // protected
            for (int k = d.layer_method ? 0 : 1; k <= (d.layer_method ? 0 : 2);
                 k++) {
                const int64_t c =
                    cpr_depth_sub_linear(&m, l, (enum cpr_depth_kind)k);
                most += c;
                if (c > 0 && (least < 0 || c < least)) least = c;
            }
        }
        if (!is_sleb && least > 0) most -= least; // one unit must stay
        if (tg.min_linear > most) {
            fprintf(stderr, "cprune prune: --sparsity %g: %s can remove at "
                    "most %lld of the %lld decoder-linear parameters (%.4f)"
                    "\n", sparsity, meth, (long long)most, (long long)d.l0,
                    (double)most / (double)d.l0);
            rc = 2;
            goto done;
        }
    }
    if (cli_get(opts, N_OPTS, "plan")) {
        print_plan(&m, meth, ns, sl);
        rc = 0;
        goto done;
    }
    if (cpr_tokenizer_load_for_model(&tok, run.model_path, run.tokenizer_path,
                                     m.cfg.vocab, &err) ||
        prune_calib_windows(&run, &tok, cli_data_dir(), &err) ||
        cpr_pool_init(&pool, (size_t)run.threads, &err))
        goto fail;
    bi = malloc((size_t)n0 * sizeof *bi);
    steps = malloc(2 * (size_t)n0 * sizeof *steps);
    if (!bi || !steps) {
        cpr_err_set(&err, CPR_ERR_NOMEM, "out of memory");
        goto fail;
    }
    double t0 = cli_now();
    const struct cpr_depth_search_opts so = {(int)eb, (int)lb, excl};
    if (is_short) {
        if (cpr_shortgpt_scores(&m, pool, run.win.tokens, run.nsamples,
                                run.seqlen, d.angular, bi, &err))
            goto fail;
        d.bi = bi;
        d.n_steps = shortgpt_steps(&m, bi, &tg, steps);
        if (d.n_steps < 0) {
            cpr_err_set(&err, CPR_ERR_NOMEM, "out of memory");
            goto fail;
        }
    } else if (is_sleb) {
        if (cpr_sleb_search(&m, pool, run.win.tokens, run.nsamples, run.seqlen,
                            &tg, &so, steps, &d.n_steps, &err))
            goto fail;
    } else if (is_fc) {
        if (cpr_finercut_search(&m, pool, run.win.tokens, run.nsamples,
                                run.seqlen, &tg, &so, steps, &d.n_steps, &err))
            goto fail;
    } else if (cpr_blockpruner_search(&m, pool, run.win.tokens, run.nsamples,
                                      run.seqlen, &tg, steps, &d.n_steps,
                                      &err)) {
        goto fail;
    }
    d.steps = steps;
    printf("method:    %s%s, calibration %s %lld x %lld tokens "
           "(sha256 %.16s), %.2f s\n", meth, d.angular ? " (angular)" : "",
           run.calib_source, ns, sl, run.calib_sha, cli_now() - t0);
    if (is_short) {
        printf("scores:   ");
        for (int64_t l = 0; l < n0; l++)
            printf(" %lld:%.6g", (long long)l, bi[l]);
        printf("\n");
    }
    printf("removed:  "); // in removal order, with the score after each step
    for (int64_t i = 0; i < d.n_steps; i++)
        if (d.layer_method) printf(" %lld", (long long)steps[i].layer);
        else printf(" %s.%lld", cpr_depth_kind_name(steps[i].kind),
                    (long long)steps[i].layer);
    printf("\n");
    if (!is_short) {
        printf("scores:   ");
        for (int64_t i = 0; i < d.n_steps; i++)
            printf(" %.9g", steps[i].score);
        printf("   (%s after each step)\n",
               is_sleb ? "calibration NLL sum"
               : is_fc ? "Jensen-Shannon to the dense logits"
                       : "calibration perplexity");
    }
    if (cpr_depth_apply(&m, steps, d.n_steps, &err)) goto fail;
    d.p1 = cpr_model_total_params(&m), d.l1 = cpr_model_linear_params(&m);
    d.layers1 = m.cfg.n_layers;
    d.attn1 = cpr_model_count_subs(&m, CPR_GROUP_ATTN);
    d.mlp1 = cpr_model_count_subs(&m, CPR_GROUP_MLP);
    printf("layers:    %lld -> %lld\n", (long long)n0, (long long)d.layers1);
    if (!d.layer_method)
        printf("blocks:    attention %lld -> %lld, MLP %lld -> %lld\n",
               (long long)d.attn0, (long long)d.attn1, (long long)d.mlp0,
               (long long)d.mlp1);
    printf("params:    %lld -> %lld (%.4f%% removed); decoder linears %lld -> "
           "%lld (%.4f%% removed)\n", (long long)d.p0, (long long)d.p1,
           100.0 * (double)(d.p0 - d.p1) / (double)d.p0, (long long)d.l0,
           (long long)d.l1, 100.0 * (double)(d.l0 - d.l1) / (double)d.l0);
    fflush(stdout);
    if (run.out_dir) {
        char target[64];
        if (d.count)
            snprintf(target, sizeof target, "%s %lld", d.layer_method
                     ? "remove-layers" : "remove-blocks", (long long)d.count);
        else
            snprintf(target, sizeof target, "sparsity %g", d.sparsity);
        struct pstruct_meta pm;
        pstruct_meta_build(&pm, run.model_path, meth, target, &run);
        struct cpr_model_save_opts sv = {.meta = pm.kv, .n_meta = pm.n,
                                         .tokenizer_from = run.model_path,
                                         .tokenizer_file = run.tokenizer_path};
        if (cpr_model_save_hf(&m, run.out_dir, &sv, &err)) goto fail;
        printf("wrote:     %s\n", run.out_dir);
    }
    if (run.eval_list && prune_run_evals(&run, &m, &tok, pool, &err))
        goto fail;
    if (run.json_path && write_json(run.json_path, &run, &d, &err)) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "cprune prune: %s\n", err.msg);
    rc = err.code == CPR_ERR_ARG ? 2 : 1;
done:
    free(bi);
    free(steps);
    cpr_pool_free(pool);
    cpr_calib_windows_free(&run.win);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&m);
    return rc;
}
