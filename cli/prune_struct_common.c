// cli/prune_struct_common.c: the pieces the structured prune commands share
// (cli/prune_struct_common.h).
#include "cli/prune_struct_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/tokcache.h"
#include "data/corpus.h"
#include "data/fileio.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "data/tokenizer.h"
#include "eval/perplexity.h"

#define CMD "prune"

int pstruct_fail(int rc, const char *msg) {
    fprintf(stderr, "cprune prune: %s\n", msg);
    return rc;
}

int pstruct_usage(const char *name, const char *v, const char *want) {
    fprintf(stderr, "cprune prune: --%s '%s': expected %s\n", name, v, want);
    return 2;
}

void pstruct_parse_io(const struct cli_opt *O, size_t n, struct pstruct_run *r) {
    r->tok_path = cli_get(O, n, "tokenizer");
    r->out = cli_get(O, n, "out");
    r->eval = cli_get(O, n, "eval");
    r->json = cli_get(O, n, "json");
    r->force = cli_get(O, n, "force") != NULL;
    r->quiet = cli_get(O, n, "quiet") != NULL;
}

int pstruct_parse_calib(const struct cli_opt *O, size_t n,
                        struct pstruct_run *r, long long nsamples,
                        long long seqlen, long long seqlen_min) {
    const char *v;
    long long x;
    struct prune_run *c = &r->calib;
    c->calib_source = cli_get(O, n, "calib");
    c->nsamples = nsamples;
    c->seqlen = seqlen;
    if ((v = cli_get(O, n, "nsamples"))) {
        if (cli_int(CMD, "nsamples", v, 1, 1 << 20, &x)) return 2;
        c->nsamples = x;
    }
    if ((v = cli_get(O, n, "seqlen"))) {
        if (cli_int(CMD, "seqlen", v, seqlen_min, 1 << 24, &x)) return 2;
        c->seqlen = x;
    }
    if ((v = cli_get(O, n, "seed"))) {
        if (cli_int(CMD, "seed", v, 0, (1LL << 62), &x)) return 2;
        c->seed = (uint64_t)x;
    }
    if ((v = cli_get(O, n, "calib-sampling"))) {
        int smp = cpr_calib_sampling_parse(v);
        if (smp < 0) return pstruct_usage("calib-sampling", v, "random or sequential");
        c->sampling = (enum cpr_calib_sampling)smp;
    }
    c->token_cache = cli_get(O, n, "token-cache");
    return 0;
}

int pstruct_parse_run(const struct cli_opt *O, size_t n, struct pstruct_run *r) {
    const char *v;
    r->threads = (long long)cpr_cpu_count();
    if ((v = cli_get(O, n, "threads")) &&
        cli_int(CMD, "threads", v, 1, 1024, &r->threads))
        return 2;
    if ((v = cli_get(O, n, "max-chunks")) &&
        cli_int(CMD, "max-chunks", v, 0, 1LL << 40, &r->max_chunks))
        return 2;
    return 0;
}

void pstruct_print_pruned(const struct pstruct_run *r, const char *name,
                          double ratio, const struct cpr_model *m) {
    printf("pruned:    %s ratio %g: decoder-linear params %lld -> %lld "
           "(%.4f removed); total %lld -> %lld (%.2f s)\n", name, ratio,
           (long long)r->params_before, (long long)r->params_after,
           1.0 - (double)r->params_after / (double)r->params_before,
           (long long)r->total_before, (long long)r->total_after, r->sec_prune);
    for (int64_t l = 0; l < m->cfg.n_layers && !r->quiet; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        printf("  layer %lld: heads %lld, kv heads %lld, intermediate %lld\n",
               (long long)l, (long long)sh.n_heads, (long long)sh.n_kv_heads,
               (long long)sh.intermediate);
    }
}

void pstruct_plan_print(const struct pstruct_buf *b, int n) {
    double total = 0;
    for (int i = 0; i < n; i++) {
        printf("plan:      %s: %.0f bytes (%.3f GiB)\n", b[i].what, b[i].bytes,
               b[i].bytes / (1024.0 * 1024.0 * 1024.0));
        total += b[i].bytes;
    }
    printf("plan:      total of these buffers: %.0f bytes (%.3f GiB)\n", total,
           total / (1024.0 * 1024.0 * 1024.0));
}

// Perplexity of m on every --eval corpus into ppl[] (names into
// r->eval_name, count into r->n_eval).
static enum cpr_status eval_all(struct pstruct_run *r, const struct cpr_model *m,
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

enum cpr_status pstruct_eval(struct pstruct_run *r, const struct cpr_model *m,
                             const struct cpr_tokenizer *tok,
                             struct cpr_pool *pool, struct cpr_err *err) {
    enum cpr_status s = eval_all(r, m, tok, pool, r->ppl_mem, err);
    if (s) return s;
    for (int i = 0; i < r->n_eval; i++)
        printf("eval:      %s: ppl %.6f\n", r->eval_name[i], r->ppl_mem[i]);
    return CPR_OK;
}

void pstruct_meta_build(struct pstruct_meta *pm, const char *model_path,
                        const char *method, const char *target,
                        const struct prune_run *c) {
    // windows were taken when their sha256 is set
    prune_calib_str(c, c->calib_source && c->calib_sha[0], pm->calib,
                    sizeof pm->calib);
    const char *kv[] = {
        "cprune.version", CPRUNE_VERSION,
        "cprune.source_model", model_path,
        "cprune.method", method,
        "cprune.target", target,
        "cprune.calibration", pm->calib,
    };
    memcpy(pm->kv, kv, sizeof kv);
    pm->n = sizeof kv / sizeof *kv / 2;
}

enum cpr_status pstruct_save_reload(struct pstruct_run *r,
                                    const struct cpr_model *save,
                                    struct cpr_model *back,
                                    const struct cpr_tokenizer *tok,
                                    struct cpr_pool *pool,
                                    struct cpr_err *err) {
    enum cpr_status s;
    struct pstruct_meta pm;
    pstruct_meta_build(&pm, r->model_path,
                       r->method_name ? r->method_name : "structured",
                       r->target, &r->calib);
    struct cpr_model_save_opts so = {.meta = pm.kv, .n_meta = pm.n,
                                     .tokenizer_from = r->model_path,
                                     .tokenizer_file = r->tok_path,
                                     .replace = r->force};
    if ((s = cpr_model_save_hf(save, r->out, &so, err))) return s;
    printf("wrote:     %s\n", r->out);
    if (!r->eval) return CPR_OK;
    // every output reloads to the same perplexity
    if ((s = cpr_model_load(r->out, back, err))) return s;
    if ((s = eval_all(r, back, tok, pool, r->ppl_reload, err))) return s;
    for (int i = 0; i < r->n_eval; i++) {
        printf("reloaded:  %s: ppl %.6f\n", r->eval_name[i], r->ppl_reload[i]);
        // bit-identical from an HF source; a llama2.c source is written
        // with HF's RoPE row order, and hf-padded adds zero rows/columns
        // (other GEMM blocking), so rounding may differ
        if (fabs(r->ppl_reload[i] - r->ppl_mem[i]) > 1e-5 * r->ppl_mem[i])
            return cpr_err_set(err, CPR_ERR_FORMAT, "%s reloads to ppl %.6f, "
                               "%.6f in memory", r->out, r->ppl_reload[i],
                               r->ppl_mem[i]);
    }
    return CPR_OK;
}

enum cpr_status pstruct_json_begin(struct cpr_jw *w, const struct pstruct_run *r,
                                   struct cpr_err *err) {
    cpr_jw_init(w, 2);
    cpr_jw_begin_object(w);
    cpr_jw_key(w, "model"), cpr_jw_string(w, r->model_path);
    enum cpr_status s = prune_json_protocol(w, r->model_path, r->threads, err);
    if (s) cpr_jw_free(w);
    return s;
}

static void json_layers(struct cpr_jw *w, const struct cpr_model *m,
                        const struct cpr_struct_plan *p) {
    cpr_jw_key(w, "layers");
    cpr_jw_begin_array(w);
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        const struct cpr_struct_layer_plan *lp = &p->layers[l];
        cpr_jw_begin_object(w);
        cpr_jw_key(w, "n_heads"), cpr_jw_int(w, sh.n_heads);
        cpr_jw_key(w, "n_kv_heads"), cpr_jw_int(w, sh.n_kv_heads);
        cpr_jw_key(w, "intermediate"), cpr_jw_int(w, sh.intermediate);
        cpr_jw_key(w, "kept_kv_groups");
        cpr_jw_begin_array(w);
        // indices in the layer's widths before pruning (the plan's n_kv,
        // n_ch); no mask (or a layer outside llm-pruner's range) = every
        // unit kept
        for (int64_t i = 0; i < lp->n_kv; i++)
            if (!lp->keep_kv || lp->keep_kv[i]) cpr_jw_int(w, i);
        cpr_jw_end_array(w);
        cpr_jw_key(w, "kept_channels");
        cpr_jw_begin_array(w);
        for (int64_t i = 0; i < lp->n_ch; i++)
            if (!lp->keep_ch || lp->keep_ch[i]) cpr_jw_int(w, i);
        cpr_jw_end_array(w);
        cpr_jw_end_object(w);
    }
    cpr_jw_end_array(w);
}

enum cpr_status pstruct_json_end(struct cpr_jw *w, const struct pstruct_run *r,
                                 const struct cpr_model *m,
                                 const struct cpr_struct_plan *p,
                                 const double *loss, struct cpr_err *err) {
    const struct prune_run *c = &r->calib;
    cpr_jw_key(w, "calibration");
    if (c->calib_source) {
        cpr_jw_begin_object(w);
        cpr_jw_key(w, "source"), cpr_jw_string(w, c->calib_source);
        cpr_jw_key(w, "nsamples"), cpr_jw_int(w, c->nsamples);
        cpr_jw_key(w, "seqlen"), cpr_jw_int(w, c->seqlen);
        cpr_jw_key(w, "sampling"),
            cpr_jw_string(w, cpr_calib_sampling_name(c->sampling));
        cpr_jw_key(w, "seed"), cpr_jw_int(w, (int64_t)c->seed);
        cpr_jw_key(w, "sha256"), cpr_jw_string(w, c->calib_sha);
        if (loss) cpr_jw_key(w, "loss"), cpr_jw_double(w, *loss);
        cpr_jw_end_object(w);
    } else {
        cpr_jw_null(w);
    }
    cpr_jw_key(w, "linear_params_before"), cpr_jw_int(w, r->params_before);
    cpr_jw_key(w, "linear_params_after"), cpr_jw_int(w, r->params_after);
    cpr_jw_key(w, "linear_params_removed_fraction");
    cpr_jw_double(w, 1.0 - (double)r->params_after / (double)r->params_before);
    cpr_jw_key(w, "total_params_before"), cpr_jw_int(w, r->total_before);
    cpr_jw_key(w, "total_params_after"), cpr_jw_int(w, r->total_after);
    json_layers(w, m, p);
    cpr_jw_key(w, "eval");
    cpr_jw_begin_array(w);
    for (int i = 0; i < r->n_eval; i++) {
        cpr_jw_begin_object(w);
        cpr_jw_key(w, "dataset"), cpr_jw_string(w, r->eval_name[i]);
        cpr_jw_key(w, "protocol"), cpr_jw_string(w, "hf"); // windows of
        cpr_jw_key(w, "max_chunks"), cpr_jw_int(w, r->max_chunks); // ctx
        cpr_jw_key(w, "ppl"), cpr_jw_double(w, r->ppl_mem[i]);
        cpr_jw_key(w, "ppl_reloaded");
        if (r->out) cpr_jw_double(w, r->ppl_reload[i]);
        else cpr_jw_null(w);
        cpr_jw_end_object(w);
    }
    cpr_jw_end_array(w);
    cpr_jw_key(w, "seconds_prune"), cpr_jw_double(w, r->sec_prune);
    cpr_jw_end_object(w);
    enum cpr_status s = cpr_jw_finish(w, err);
    struct cpr_atomic_file af = {.fd = -1};
    if (!s) s = cpr_atomic_open(&af, r->json, err);
    if (!s) s = cpr_atomic_write(&af, w->buf, w->len, err);
    if (!s) s = cpr_atomic_write(&af, "\n", 1, err);
    if (!s) s = cpr_atomic_commit(&af, err);
    if (s) cpr_atomic_abort(&af);
    cpr_jw_free(w);
    return s;
}
