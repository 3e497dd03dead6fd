// cli/eval_kld.c: the --reference part of `cprune eval`. See
// cli/eval_kld.h.
#include <math.h>
#include <stdio.h>

#include "cli/eval_kld.h"
#include "cli/progress.h"
#include "data/model_load.h"

struct kld_progress {
    struct cli_progress bar;
    int64_t seqlen;
};

static void on_progress(void *user, const struct cpr_ppl_progress *p) {
    struct kld_progress *e = user;
    cli_progress_update(&e->bar, p->chunks_done, p->nchunks, (double)p->tokens_done,
                        (double)(p->nchunks * e->seqlen), "kld");
}

enum cpr_status cli_eval_kld(const char *ref_path, const struct cpr_model *m,
                             struct cpr_pool *pool, const int32_t *ids,
                             int64_t n_ids, const struct cpr_ppl_opts *po,
                             int quiet, struct cpr_kld_result *out,
                             struct cpr_err *err) {
    struct cpr_model ref = {0};
    enum cpr_status s = cpr_model_load(ref_path, &ref, err);
    if (s) return s;
    struct cpr_ppl_opts o = *po;
    struct kld_progress kp = {.seqlen = 0};
    struct cpr_ppl_result plan;
    if (cpr_ppl_plan(&m->cfg, n_ids, &o, &plan, err) == CPR_OK) kp.seqlen = plan.seqlen;
    cli_progress_init(&kp.bar, "tok", quiet);
    o.progress = on_progress;
    o.progress_user = &kp;
    double t0 = cli_now();
    s = cpr_kld_eval(m, &ref, NULL, pool, ids, n_ids, &o, out, err);
    cli_progress_end(&kp.bar);
    cpr_model_free(&ref);
    if (s) return s;
    printf("reference: %s, ppl %.4f +/- %.4f; delta ppl %.4f +/- %.4f (%.2f s)\n",
           ref_path, out->reference_ppl, out->reference_ppl_stderr, out->delta_ppl,
           out->delta_ppl_stderr, cli_now() - t0);
    printf("kld:       mean %.6f +/- %.6f, median %.6f, p90 %.6f, p99 %.6f, "
           "p99.9 %.6f, max %.6f over %lld tokens\n", out->mean, out->mean_stderr,
           out->median, out->p90, out->p99, out->p999, out->max, (long long)out->n);
    printf("top/dp:    same top %.3f +/- %.3f %%, RMS dp %.3f +/- %.3f %%\n",
           100 * out->same_top, 100 * out->same_top_stderr, 100 * out->rms_dp,
           100 * out->rms_dp_stderr);
    return CPR_OK;
}

void cli_eval_kld_json(struct cpr_jw *w, const char *ref_path,
                       const struct cpr_kld_result *r) {
    cpr_jw_key(w, "kld");
    cli_eval_kld_object(w, ref_path, r);
}

void cli_eval_kld_object(struct cpr_jw *w, const char *ref_path,
                         const struct cpr_kld_result *r) {
    cpr_jw_begin_object(w);
    cpr_jw_key(w, "reference"), cpr_jw_string(w, ref_path);
    cpr_jw_key(w, "n"), cpr_jw_int(w, r->n);
    cpr_jw_key(w, "mean"), cpr_jw_double(w, r->mean);
    cpr_jw_key(w, "mean_stderr"), cpr_jw_double(w, r->mean_stderr);
    cpr_jw_key(w, "median"), cpr_jw_double(w, r->median);
    cpr_jw_key(w, "p90"), cpr_jw_double(w, r->p90);
    cpr_jw_key(w, "p99"), cpr_jw_double(w, r->p99);
    cpr_jw_key(w, "p999"), cpr_jw_double(w, r->p999);
    cpr_jw_key(w, "max"), cpr_jw_double(w, r->max);
    cpr_jw_key(w, "min"), cpr_jw_double(w, r->min);
    cpr_jw_key(w, "same_top"), cpr_jw_double(w, r->same_top);
    cpr_jw_key(w, "same_top_stderr"), cpr_jw_double(w, r->same_top_stderr);
    cpr_jw_key(w, "rms_dp"), cpr_jw_double(w, r->rms_dp);
    cpr_jw_key(w, "rms_dp_stderr"), cpr_jw_double(w, r->rms_dp_stderr);
    cpr_jw_key(w, "mean_dp"), cpr_jw_double(w, r->mean_dp);
    cpr_jw_key(w, "mean_dp_stderr"), cpr_jw_double(w, r->mean_dp_stderr);
    cpr_jw_key(w, "ppl"), cpr_jw_double(w, r->ppl);
    cpr_jw_key(w, "reference_ppl"), cpr_jw_double(w, r->reference_ppl);
    cpr_jw_key(w, "reference_ppl_stderr"), cpr_jw_double(w, r->reference_ppl_stderr);
    cpr_jw_key(w, "delta_ppl"), cpr_jw_double(w, r->delta_ppl);
    cpr_jw_key(w, "delta_ppl_stderr"), cpr_jw_double(w, r->delta_ppl_stderr);
    cpr_jw_key(w, "ln_ppl_ratio"), cpr_jw_double(w, r->ln_ppl_ratio);
    cpr_jw_key(w, "ln_ppl_ratio_stderr"), cpr_jw_double(w, r->ln_ppl_ratio_stderr);
    cpr_jw_end_object(w);
}
