// cli/tasks_run.c: one zero-shot task end to end. See cli/tasks_run.h.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "cli/tasks_run.h"
#include "data/json_write.h"
#include "eval/tasks.h"

struct tasks_progress {
    struct cli_progress bar;
    const char *name;
};

static void on_progress(void *user, const struct cpr_ll_progress *p) {
    struct tasks_progress *t = user;
    cli_progress_update(&t->bar, p->done, p->total, (double)p->tokens_done,
                        (double)p->tokens_total, t->name);
}

// One document's line of --samples.
static void sample_line(struct strbuf *sb, const char *task, int64_t doc_id,
                        const struct cpr_task_doc *d,
                        const struct cpr_ll_request *rq,
                        const struct cpr_ll_result *rs, int acc, int acc_norm) {
    struct cpr_jw jw, *w = &jw;
    cpr_jw_init(w, 0);
    cpr_jw_begin_object(w);
    cpr_jw_key(w, "task"), cpr_jw_string(w, task);
    cpr_jw_key(w, "doc_id"), cpr_jw_int(w, doc_id);
    cpr_jw_key(w, "target"), cpr_jw_int(w, d->gold);
    cpr_jw_key(w, "arguments");
    cpr_jw_begin_array(w);
    for (int64_t c = 0; c < d->n_choices; c++) {
        cpr_jw_begin_array(w);
        cpr_jw_string(w, d->ctx[c]);
        cpr_jw_string(w, d->cont[c]);
        cpr_jw_end_array(w);
    }
    cpr_jw_end_array(w);
    cpr_jw_key(w, "resps");
    cpr_jw_begin_array(w);
    for (int64_t c = 0; c < d->n_choices; c++) {
        cpr_jw_begin_array(w);
        cpr_jw_double(w, rs[c].loglik);
        cpr_jw_bool(w, rs[c].greedy);
        cpr_jw_end_array(w);
    }
    cpr_jw_end_array(w);
    cpr_jw_key(w, "ctx_ids");
    cpr_jw_begin_array(w);
    for (int64_t c = 0; c < d->n_choices; c++) {
        cpr_jw_begin_array(w);
        for (int64_t i = 0; i < rq[c].n_ctx; i++) cpr_jw_int(w, rq[c].ctx[i]);
        cpr_jw_end_array(w);
    }
    cpr_jw_end_array(w);
    cpr_jw_key(w, "cont_ids");
    cpr_jw_begin_array(w);
    for (int64_t c = 0; c < d->n_choices; c++) {
        cpr_jw_begin_array(w);
        for (int64_t i = 0; i < rq[c].n_cont; i++) cpr_jw_int(w, rq[c].cont[i]);
        cpr_jw_end_array(w);
    }
    cpr_jw_end_array(w);
    cpr_jw_key(w, "acc"), cpr_jw_int(w, acc);
    cpr_jw_key(w, "acc_norm"), cpr_jw_int(w, acc_norm);
    cpr_jw_end_object(w);
    if (cpr_jw_finish(w, NULL) == CPR_OK) {
        strbuf_add(sb, w->buf, w->len);
        strbuf_add(sb, "\n", 1);
    } else {
        sb->oom = 1; // reported by strbuf_status
    }
    cpr_jw_free(w);
}

enum cpr_status cli_task_run(const struct cpr_model *m,
                             const struct cpr_tokenizer *tok,
                             struct cpr_pool *pool, const char *dir,
                             const char *name, int64_t limit, int bos,
                             int quiet, struct strbuf *samples,
                             struct cli_task_out *to, struct cpr_err *err) {
    struct cpr_taskset ts;
    CPR_TRY(cpr_taskset_read(&ts, dir, name, limit, err));
    int64_t n_req = 0;
    for (int64_t d = 0; d < ts.n_docs; d++) n_req += ts.docs[d].n_choices;
    struct cpr_ll_request *rq = calloc((size_t)n_req, sizeof *rq);
    struct cpr_ll_result *rs = calloc((size_t)n_req, sizeof *rs);
    double *acc = calloc((size_t)ts.n_docs, sizeof *acc);
    double *norm = calloc((size_t)ts.n_docs, sizeof *norm);
    double *ll = NULL;
    enum cpr_status s = CPR_OK;
    if (!rq || !rs || !acc || !norm) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory for task %s", name);
        goto out;
    }
    double t0 = cli_now();
    int64_t r = 0;
    for (int64_t d = 0; d < ts.n_docs && !s; d++) {
        const struct cpr_task_doc *doc = &ts.docs[d];
        for (int64_t c = 0; c < doc->n_choices && !s; c++, r++) {
            int32_t *ci, *xi;
            s = cpr_task_encode_pair(tok, doc->ctx[c], doc->cont[c], bos, &ci,
                                     &rq[r].n_ctx, &xi, &rq[r].n_cont, err);
            rq[r].ctx = ci;
            rq[r].cont = xi;
        }
    }
    if (s) goto out;
    struct tasks_progress tp = {.name = name};
    cli_progress_init(&tp.bar, "tok", quiet);
    struct cpr_ll_opts lo = {.progress = on_progress, .progress_user = &tp};
    struct cpr_ll_stats st;
    s = cpr_ll_score(m, NULL, pool, rq, n_req, &lo, rs, &st, err);
    cli_progress_end(&tp.bar);
    if (s) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        cpr_err_set(err, s, "task %s: %s", name, msg);
        goto out;
    }
    to->seconds = cli_now() - t0;
    to->tokens = st.tokens;
    r = 0;
    for (int64_t d = 0; d < ts.n_docs; d++) {
        const struct cpr_task_doc *doc = &ts.docs[d];
        double *l = realloc(ll, (size_t)doc->n_choices * sizeof *l);
        if (!l) {
            s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
            goto out;
        }
        ll = l;
        for (int64_t c = 0; c < doc->n_choices; c++) ll[c] = rs[r + c].loglik;
        int a, an;
        cpr_mc_score(ll, doc->norm_chars, doc->n_choices, doc->gold, &a, &an);
        acc[d] = a;
        norm[d] = an;
        if (samples) sample_line(samples, name, d, doc, rq + r, rs + r, a, an);
        r += doc->n_choices;
    }
    snprintf(to->name, sizeof to->name, "%.63s", name);
    to->kind = ts.kind;
    to->has_norm = ts.has_acc_norm;
    to->n_file = ts.n_docs_file;
    to->n_docs = ts.n_docs;
    cpr_mean_stderr(acc, ts.n_docs, &to->acc, &to->acc_se);
    cpr_mean_stderr(norm, ts.n_docs, &to->norm, &to->norm_se);
out:
    for (int64_t i = 0; rq && i < n_req; i++) {
        free((void *)rq[i].ctx);
        free((void *)rq[i].cont);
    }
    free(rq);
    free(rs);
    free(acc);
    free(norm);
    free(ll);
    cpr_taskset_free(&ts);
    return s;
}

