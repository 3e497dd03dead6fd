// cli/prune_json.c: the JSON record of a `cprune prune` run (schema in
// README "cprune prune --json"; contract in cli/prune.h).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/commands.h"
#include "cli/prune.h"
#include "cli/prune_extra.h"
#include "data/fileio.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "methods/calib_compute.h"
#include "simd/kernels.h"

void prune_target_str(const struct cpr_prune_target *t, char *buf,
                      size_t cap) {
    if (t->nm_m) snprintf(buf, cap, "%u:%u", t->nm_n, t->nm_m);
    else snprintf(buf, cap, "%g", t->sparsity);
}

void prune_calib_str(const struct prune_run *run, int used, char *buf,
                     size_t cap) {
    if (!used) {
        snprintf(buf, cap, "none");
        return;
    }
    snprintf(buf, cap, "%s%s%s %s seed %llu, %lld x %lld tokens, sha256 %s",
             run->calib_source, run->calib_split ? "/" : "",
             run->calib_split ? run->calib_split : "",
             cpr_calib_sampling_name(run->sampling),
             (unsigned long long)run->seed, (long long)run->nsamples,
             (long long)run->seqlen, run->calib_sha);
}

// One option's value as text.
static void opt_value(const struct cpr_method_opt *o, const void *state,
                      char *buf, size_t cap) {
    const char *p = (const char *)state + o->offset;
    switch (o->type) {
    case CPR_OPT_DOUBLE: { // shortest of %.15g / %.17g that round-trips
        const double d = *(const double *)p;
        snprintf(buf, cap, "%.15g", d);
        if (strtod(buf, NULL) != d) snprintf(buf, cap, "%.17g", d);
        break;
    }
    case CPR_OPT_SIZE: snprintf(buf, cap, "%zu", *(const size_t *)p); break;
    case CPR_OPT_BOOL: snprintf(buf, cap, "%d", *(const int *)p != 0); break;
    case CPR_OPT_ENUM: {
        // choices "a|b|c": take the index'th
        int idx = *(const int *)p;
        const char *c = o->choices ? o->choices : "";
        for (int i = 0; i < idx && c; i++) {
            c = strchr(c, '|');
            if (c) c++;
        }
        size_t n = c ? strcspn(c, "|") : 0;
        snprintf(buf, cap, "%.*s", (int)n, c ? c : "");
        break;
    }
    }
}

void prune_opts_str(const struct cpr_method *m, const void *state, char *buf,
                    size_t cap) {
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < m->n_opts && used < cap; i++) {
        char v[64];
        opt_value(&m->opts[i], state, v, sizeof v);
        int w = snprintf(buf + used, cap - used, "%s%s=%s", i ? "," : "",
                         m->opts[i].name, v);
        if (w < 0) break;
        used += (size_t)w;
    }
}

static long long peak_rss_bytes(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (long long)ru.ru_maxrss * 1024;
}

static void write_options(struct cpr_jw *w, const struct prune_run *run) {
    cpr_jw_begin_object(w);
    for (size_t i = 0; i < run->method->n_opts; i++) {
        const struct cpr_method_opt *o = &run->method->opts[i];
        const char *p = (const char *)run->method_state + o->offset;
        cpr_jw_key(w, o->name);
        char v[64];
        switch (o->type) {
        case CPR_OPT_DOUBLE: cpr_jw_double(w, *(const double *)p); break;
        case CPR_OPT_SIZE: cpr_jw_int(w, (int64_t)*(const size_t *)p); break;
        case CPR_OPT_BOOL: cpr_jw_bool(w, *(const int *)p != 0); break;
        case CPR_OPT_ENUM:
            opt_value(o, run->method_state, v, sizeof v);
            cpr_jw_string(w, v);
            break;
        }
    }
    cpr_jw_end_object(w);
}

static void write_calibration(struct cpr_jw *w, const struct prune_run *run) {
    if (!run->rep.used_calibration) {
        cpr_jw_null(w);
        return;
    }
    cpr_jw_begin_object(w);
    cpr_jw_key(w, "dataset"), cpr_jw_string(w, run->calib_source);
    cpr_jw_key(w, "split");
    if (run->calib_split) cpr_jw_string(w, run->calib_split);
    else cpr_jw_null(w);
    cpr_jw_key(w, "sampling"), cpr_jw_string(w, cpr_calib_sampling_name(run->sampling));
    cpr_jw_key(w, "seed"), cpr_jw_int(w, (int64_t)run->seed);
    cpr_jw_key(w, "nsamples"), cpr_jw_int(w, run->nsamples);
    cpr_jw_key(w, "seqlen"), cpr_jw_int(w, run->seqlen);
    cpr_jw_key(w, "tokenizer"), cpr_jw_string(w, run->tokenizer_source);
    cpr_jw_key(w, "text_tokens"), cpr_jw_int(w, run->calib_text_tokens);
    cpr_jw_key(w, "documents"), cpr_jw_int(w, (int64_t)run->calib_docs);
    cpr_jw_key(w, "tokens_sha256"), cpr_jw_string(w, run->calib_sha);
    cpr_jw_key(w, "activations"), cpr_jw_string(w, run->calib_bf16 ? "bf16" : "f32");
    cpr_jw_key(w, "compute"), cpr_jw_string(w, cpr_calib_compute_name((enum cpr_calib_compute)run->calib_compute));
    cpr_jw_key(w, "activation_store"), cpr_jw_string(w, run->calib_disk ? "disk" : "ram");
    cpr_jw_key(w, "hessian"), cpr_jw_string(w, run->hessian_f64 ? "f64" : "f32");
    if (run->needs & CPR_NEED_GRAD) { // gradient methods only
        cpr_jw_key(w, "grad_dtype"), cpr_jw_string(w, run->grad_bf16 ? "bf16" : "f32");
        cpr_jw_key(w, "grad_store"), cpr_jw_string(w, run->grad_scratch ? "disk" : "ram");
    }
    // [document, start] of every window, in order
    cpr_jw_key(w, "windows");
    cpr_jw_begin_array(w);
    for (int64_t i = 0; i < run->win.nsamples; i++) {
        cpr_jw_begin_array(w);
        cpr_jw_int(w, run->win.doc[i]);
        cpr_jw_int(w, run->win.start[i]);
        cpr_jw_end_array(w);
    }
    cpr_jw_end_array(w);
    cpr_jw_end_object(w);
}

enum cpr_status prune_write_json(const char *path, const struct prune_run *run,
                                 const struct cpr_model *m,
                                 struct cpr_err *err) {
    struct cpr_jw w;
    cpr_jw_init(&w, 2);
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "model"), cpr_jw_string(&w, run->model_path);
    cpr_jw_key(&w, "model_sha256"), cpr_jw_string(&w, run->model_sha);
    cpr_jw_key(&w, "method"), cpr_jw_string(&w, run->method->name);
    cpr_jw_key(&w, "options"), write_options(&w, run);
    cpr_jw_key(&w, "pattern");
    if (run->block_patterns) { // N:M allocated per block (OWL)
        char t[32];
        prune_target_str(&run->target, t, sizeof t);
        cpr_jw_string(&w, "mixed N:M (see per-block patterns)");
        cpr_jw_key(&w, "pattern_requested"), cpr_jw_string(&w, t);
        cpr_jw_key(&w, "block_patterns"), cpr_jw_string(&w, run->block_patterns);
    } else if (run->target.nm_m) {
        char t[32];
        prune_target_str(&run->target, t, sizeof t);
        cpr_jw_string(&w, t);
    } else {
        cpr_jw_string(&w, "unstructured");
    }
    cpr_jw_key(&w, "target_sparsity");
    cpr_jw_double(&w, run->target.nm_m ? (double)run->target.nm_n /
                                             run->target.nm_m
                                       : run->target.sparsity);
    cpr_jw_key(&w, "calibration"), write_calibration(&w, run);
    cpr_jw_key(&w, "sparsity"), cpr_jw_double(&w, run->rep.sparsity);
    cpr_jw_key(&w, "zeros"), cpr_jw_int(&w, run->rep.zeros_total);
    cpr_jw_key(&w, "params_decoder_linears"), cpr_jw_int(&w, run->rep.numel_total);
    cpr_jw_key(&w, "per_matrix");
    cpr_jw_begin_array(&w);
    for (int64_t l = 0; l < run->rep.n_layers; l++)
        for (int j = 0; j < run->rep.per_layer; j++) {
            const int64_t i = l * run->rep.per_layer + j;
            char name[64];
            snprintf(name, sizeof name, "layers.%lld.%s", (long long)l,
                     run->rep.lin_name[j]);
            cpr_jw_begin_object(&w);
            cpr_jw_key(&w, "name"), cpr_jw_string(&w, name);
            cpr_jw_key(&w, "zeros"), cpr_jw_int(&w, run->rep.zeros[i]);
            cpr_jw_key(&w, "numel"), cpr_jw_int(&w, run->rep.numel[i]);
            cpr_jw_key(&w, "sparsity");
            cpr_jw_double(&w, run->rep.numel[i] ? (double)run->rep.zeros[i] /
                                                      run->rep.numel[i]
                                                : 0.0);
            if (run->rep.score_q && isfinite(run->rep.score_q[5 * i])) {
                cpr_jw_key(&w, "score_min_q1_median_q3_max");
                cpr_jw_begin_array(&w);
                for (int q = 0; q < 5; q++)
                    cpr_jw_double(&w, run->rep.score_q[5 * i + q]);
                cpr_jw_end_array(&w);
            }
            if (run->rep.row_dev_mean && isfinite(run->rep.row_dev_mean[i])) {
                cpr_jw_key(&w, "row_sparsity_dev_mean");
                cpr_jw_double(&w, run->rep.row_dev_mean[i]);
                cpr_jw_key(&w, "row_sparsity_dev_max");
                cpr_jw_double(&w, run->rep.row_dev_max[i]);
            }
            if (run->rep.recon_err) {
                cpr_jw_key(&w, "recon_err");
                if (isfinite(run->rep.recon_err[i]))
                    cpr_jw_double(&w, run->rep.recon_err[i]);
                else
                    cpr_jw_null(&w);
            }
            if (run->rep.alloc) { // layer allocation: the target it chose
                const struct cpr_prune_target *a = &run->rep.alloc[i];
                cpr_jw_key(&w, "target_sparsity"), cpr_jw_double(&w, a->sparsity);
                if (a->nm_m) {
                    char nm[32];
                    prune_target_str(a, nm, sizeof nm);
                    cpr_jw_key(&w, "target_pattern"), cpr_jw_string(&w, nm);
                }
            }
            cpr_jw_end_object(&w);
        }
    cpr_jw_end_array(&w);
    if (run->rep.recon_err) { // recon_err's sample (methods/pipe_diag.h)
        cpr_jw_key(&w, "diagnostics_tokens");
        cpr_jw_int(&w, run->rep.diag_tokens);
    }
    cpr_jw_key(&w, "seconds");
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "tokenize"), cpr_jw_double(&w, run->sec_tokenize);
    cpr_jw_key(&w, "calibration_forward"), cpr_jw_double(&w, run->rep.sec_forward);
    cpr_jw_key(&w, "statistics"), cpr_jw_double(&w, run->rep.sec_stats);
    cpr_jw_key(&w, "pruning"), cpr_jw_double(&w, run->rep.sec_prune);
    cpr_jw_key(&w, "writing_blocks"), cpr_jw_double(&w, run->rep.sec_write);
    cpr_jw_key(&w, "allocation_scan"), cpr_jw_double(&w, run->rep.sec_scan);
    cpr_jw_key(&w, "diagnostics"), cpr_jw_double(&w, run->rep.sec_diag);
    cpr_jw_key(&w, "gradient_prepass"), cpr_jw_double(&w, run->rep.sec_grad);
    double ev = 0;
    for (int i = 0; i < run->n_eval; i++) ev += run->eval[i].seconds;
    cpr_jw_key(&w, "evaluation"), cpr_jw_double(&w, ev);
    cpr_jw_key(&w, "total"), cpr_jw_double(&w, run->sec_total);
    cpr_jw_end_object(&w);
    if (run->rep.block_sec) { // one object per block (pipeline.h)
        cpr_jw_key(&w, "seconds_per_block");
        cpr_jw_begin_array(&w);
        for (int64_t l = 0; l < run->rep.n_layers; l++) {
            const struct cpr_pipe_block_sec *b = &run->rep.block_sec[l];
            cpr_jw_begin_object(&w);
            cpr_jw_key(&w, "block"), cpr_jw_int(&w, l);
            cpr_jw_key(&w, "forward"), cpr_jw_double(&w, b->forward);
            cpr_jw_key(&w, "statistics"), cpr_jw_double(&w, b->stats);
            cpr_jw_key(&w, "pruning"), cpr_jw_double(&w, b->prune);
            cpr_jw_key(&w, "diagnostics"), cpr_jw_double(&w, b->diag);
            cpr_jw_key(&w, "writing"), cpr_jw_double(&w, b->write);
            cpr_jw_key(&w, "total"),
                cpr_jw_double(&w, b->forward + b->stats + b->prune +
                                      b->diag + b->write);
            cpr_jw_end_object(&w);
        }
        cpr_jw_end_array(&w);
    }
    cpr_jw_key(&w, "memory");
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "peak_rss_bytes"), cpr_jw_int(&w, peak_rss_bytes());
    cpr_jw_key(&w, "activation_bytes"), cpr_jw_int(&w, (int64_t)run->rep.activation_bytes);
    cpr_jw_key(&w, "statistics_bytes"), cpr_jw_int(&w, (int64_t)run->rep.stats_bytes);
    cpr_jw_end_object(&w);
    cpr_jw_key(&w, "eval");
    cpr_jw_begin_object(&w);
    for (int i = 0; i < run->n_eval; i++) {
        const struct prune_eval *e = &run->eval[i];
        cpr_jw_key(&w, e->dataset);
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "split"), cpr_jw_string(&w, e->split);
        cpr_jw_key(&w, "protocol"), cpr_jw_string(&w, cpr_ppl_protocol_name(e->r.protocol));
        cpr_jw_key(&w, "seqlen"), cpr_jw_int(&w, e->r.seqlen);
        cpr_jw_key(&w, "nchunks"), cpr_jw_int(&w, e->r.nchunks);
        cpr_jw_key(&w, "ntokens"), cpr_jw_int(&w, e->r.ntokens);
        cpr_jw_key(&w, "ntokens_scored"), cpr_jw_int(&w, e->r.ntokens_scored);
        cpr_jw_key(&w, "nll"), cpr_jw_double(&w, e->r.nll);
        cpr_jw_key(&w, "ppl"), cpr_jw_double(&w, e->r.ppl);
        cpr_jw_key(&w, "seconds"), cpr_jw_double(&w, e->seconds);
        cpr_jw_end_object(&w);
    }
    cpr_jw_end_object(&w);
    if (run->extra) prune_extra_json(&w, run->extra);
    cpr_jw_key(&w, "out");
    if (run->out_dir) cpr_jw_string(&w, run->out_dir);
    else cpr_jw_null(&w);
    cpr_jw_key(&w, "out_format");
    if (run->out_dir) cpr_jw_string(&w, run->out_format);
    else cpr_jw_null(&w);
    cpr_jw_key(&w, "model_layers"), cpr_jw_int(&w, m->cfg.n_layers);
    cpr_jw_key(&w, "isa"), cpr_jw_string(&w, cpr_isa_name(cpr_kernels_isa()));
    cpr_jw_key(&w, "threads"), cpr_jw_int(&w, run->threads);
    cpr_jw_key(&w, "version"), cpr_jw_string(&w, CPRUNE_VERSION);
    cpr_jw_end_object(&w);
    enum cpr_status s = cpr_jw_finish(&w, err);
    if (s == CPR_OK) s = cpr_file_write_atomic(path, w.buf, w.len, err);
    cpr_jw_free(&w);
    return s;
}

enum cpr_status prune_json_protocol(struct cpr_jw *w, const char *model_path,
                                    long long threads, struct cpr_err *err) {
    char sha[65];
    CPR_TRY(cpr_model_sha256(model_path, sha, err));
    cpr_jw_key(w, "model_sha256"), cpr_jw_string(w, sha);
    cpr_jw_key(w, "isa"), cpr_jw_string(w, cpr_isa_name(cpr_kernels_isa()));
    cpr_jw_key(w, "threads"), cpr_jw_int(w, (int64_t)threads);
    cpr_jw_key(w, "version"), cpr_jw_string(w, CPRUNE_VERSION);
    return CPR_OK;
}
