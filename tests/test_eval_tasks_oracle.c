// tests/test_eval_tasks_oracle.c: zero-shot task scoring of both real tiny
// models against the independent PyTorch oracle (tests/oracle/
// tasks_oracle.py; fixtures tests/fixtures/tasks_oracle_<model>.json,
// written from lm-eval's source): for every hand-written task file
// (tests/fixtures/tasks, .../alt) the same context and continuation token
// ids per request, the same greedy flags, the same per-document acc and
// acc_norm, log-likelihoods within LL_ATOL (oracle in float64), the same
// task means; bit-identical log-likelihoods for 1 and 2 threads, and the
// same to rounding (1e-5 relative) when every sequence runs alone.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "data/fileio.h"
#include "data/json.h"
#include "data/model_load.h"
#include "data/taskfile.h"
#include "data/tokenizer.h"
#include "eval/tasks.h"
#include "tests/harness.h"

#define LL_ATOL 1e-4

static int ids_equal(const struct cpr_json *a, const int32_t *ids, int64_t n) {
    if ((int64_t)cpr_json_len(a) != n) return 0;
    for (int64_t i = 0; i < n; i++) {
        const struct cpr_json *v = cpr_json_at(a, (size_t)i);
        if (!v || !v->is_int || v->i != ids[i]) return 0;
    }
    return 1;
}

// Score one task (dir/name) and compare it with the oracle's entry.
static void check_task(struct cpr_test_ctx *t, const struct cpr_model *m,
                       const struct cpr_tokenizer *tok, struct cpr_pool *pool,
                       const char *dir, const char *name,
                       const struct cpr_json *want, const char *label) {
    struct cpr_err err = {0};
    struct cpr_taskset ts;
    if (cpr_taskset_read(&ts, dir, name, 0, &err)) {
        CPR_CHECK(t, 0, "%s: %s", label, err.msg);
        return;
    }
    int64_t n_req = 0;
    for (int64_t d = 0; d < ts.n_docs; d++) n_req += ts.docs[d].n_choices;
    struct cpr_ll_request *rq = calloc((size_t)n_req, sizeof *rq);
    struct cpr_ll_result *rs = calloc((size_t)n_req, sizeof *rs);
    struct cpr_ll_result *rs1 = calloc((size_t)n_req, sizeof *rs1);
    enum cpr_status s = CPR_OK;
    int64_t r = 0;
    for (int64_t d = 0; d < ts.n_docs && !s; d++)
        for (int64_t c = 0; c < ts.docs[d].n_choices && !s; c++, r++) {
            int32_t *ci = NULL, *xi = NULL;
            s = cpr_task_encode_pair(tok, ts.docs[d].ctx[c], ts.docs[d].cont[c], 0,
                                     &ci, &rq[r].n_ctx, &xi, &rq[r].n_cont, &err);
            rq[r].ctx = ci;
            rq[r].cont = xi;
        }
    CPR_CHECK(t, s == CPR_OK, "%s: encode: %s", label, err.msg);
    struct cpr_ll_stats st;
    if (!s) s = cpr_ll_score(m, NULL, pool, rq, n_req, NULL, rs, &st, &err);
    CPR_CHECK(t, s == CPR_OK, "%s: score: %s", label, err.msg);
    // The same batches on 1 thread: bit-identical. Batches of one sequence
    // (other padding, other gemm row blocks): the same to rounding.
    if (!s) s = cpr_ll_score(m, NULL, NULL, rq, n_req, NULL, rs1, NULL, &err);
    CPR_CHECK(t, s == CPR_OK, "%s: score (1 thread): %s", label, err.msg);
    struct cpr_ll_result *rs2 = calloc((size_t)n_req, sizeof *rs2);
    struct cpr_ll_opts small = {.batch_tokens = 1};
    if (!s) s = cpr_ll_score(m, NULL, pool, rq, n_req, &small, rs2, NULL, &err);
    CPR_CHECK(t, s == CPR_OK, "%s: score (batches of 1): %s", label, err.msg);
    for (int64_t i = 0; !s && i < n_req; i++)
        CPR_CHECK(t, fabs(rs2[i].loglik - rs[i].loglik) <= 1e-5 * (1 + fabs(rs[i].loglik)) &&
                         rs2[i].greedy == rs[i].greedy,
                  "%s request %lld: %.10g in batches of 1 vs %.10g", label,
                  (long long)i, rs2[i].loglik, rs[i].loglik);
    // Shared contexts off (batch path only): the same to the KV path's
    // rounding, and the KV path must have run fewer forward tokens.
    struct cpr_ll_opts off = {.no_kv_share = 1};
    struct cpr_ll_stats st_off;
    if (!s) s = cpr_ll_score(m, NULL, pool, rq, n_req, &off, rs2, &st_off, &err);
    CPR_CHECK(t, s == CPR_OK, "%s: score (no KV sharing): %s", label, err.msg);
    for (int64_t i = 0; !s && i < n_req; i++)
        CPR_CHECK(t, fabs(rs2[i].loglik - rs[i].loglik) <= 1e-5 * (1 + fabs(rs[i].loglik)) &&
                         rs2[i].greedy == rs[i].greedy,
                  "%s request %lld: %.10g without KV sharing vs %.10g", label,
                  (long long)i, rs2[i].loglik, rs[i].loglik);
    CPR_CHECK(t, s || st.kv_contexts == 0 || st.tokens < st_off.tokens,
              "%s: %lld forward tokens with %lld shared contexts, %lld without", label,
              (long long)st.tokens, (long long)st.kv_contexts, (long long)st_off.tokens);
    free(rs2);
    const struct cpr_json *docs = cpr_json_get(want, "docs");
    CPR_CHECK(t, (int64_t)cpr_json_len(docs) == ts.n_docs, "%s: %lld docs, oracle %zu",
              label, (long long)ts.n_docs, cpr_json_len(docs));
    double acc_sum = 0, norm_sum = 0;
    r = 0;
    for (int64_t d = 0; !s && d < ts.n_docs && d < (int64_t)cpr_json_len(docs); d++) {
        const struct cpr_task_doc *doc = &ts.docs[d];
        const struct cpr_json *o = cpr_json_at(docs, (size_t)d);
        const struct cpr_json *oc = cpr_json_get(o, "ctx_ids"), *ox = cpr_json_get(o, "cont_ids");
        const struct cpr_json *ol = cpr_json_get(o, "lls"), *og = cpr_json_get(o, "greedy");
        double ll[64];
        for (int64_t c = 0; c < doc->n_choices && c < 64; c++) {
            const struct cpr_ll_request *q = &rq[r + c];
            CPR_CHECK(t, ids_equal(cpr_json_at(oc, (size_t)c), q->ctx, q->n_ctx) &&
                             ids_equal(cpr_json_at(ox, (size_t)c), q->cont, q->n_cont),
                      "%s doc %lld choice %lld: token ids differ from the oracle",
                      label, (long long)d, (long long)c);
            double want_ll = cpr_json_at(ol, (size_t)c) ? cpr_json_at(ol, (size_t)c)->num : NAN;
            ll[c] = rs[r + c].loglik;
            CPR_CHECK(t, fabs(ll[c] - want_ll) <= LL_ATOL,
                      "%s doc %lld choice %lld: loglik %.8f, oracle %.8f", label,
                      (long long)d, (long long)c, ll[c], want_ll);
            CPR_CHECK(t, rs[r + c].greedy == cpr_json_at(og, (size_t)c)->boolean,
                      "%s doc %lld choice %lld: greedy %d", label, (long long)d,
                      (long long)c, rs[r + c].greedy);
            CPR_CHECK(t, memcmp(&rs[r + c].loglik, &rs1[r + c].loglik, sizeof(double)) == 0,
                      "%s doc %lld choice %lld: %.17g (2 threads) vs %.17g (1 thread)", label, (long long)d, (long long)c,
                      rs[r + c].loglik, rs1[r + c].loglik);
        }
        int a, an;
        cpr_mc_score(ll, doc->norm_chars, doc->n_choices, doc->gold, &a, &an);
        CPR_CHECK(t, a == cpr_json_get_int(o, "acc", -1) &&
                         an == cpr_json_get_int(o, "acc_norm", -1),
                  "%s doc %lld: acc %d acc_norm %d, oracle %lld %lld", label,
                  (long long)d, a, an, (long long)cpr_json_get_int(o, "acc", -1),
                  (long long)cpr_json_get_int(o, "acc_norm", -1));
        acc_sum += a;
        norm_sum += an;
        r += doc->n_choices;
    }
    CPR_CHECK(t, fabs(acc_sum / (double)ts.n_docs - cpr_json_get_num(want, "acc", -1)) < 1e-12,
              "%s: acc mean", label);
    if (cpr_json_get(want, "acc_norm"))
        CPR_CHECK(t, fabs(norm_sum / (double)ts.n_docs -
                          cpr_json_get_num(want, "acc_norm", -1)) < 1e-12,
                  "%s: acc_norm mean", label);
    for (int64_t i = 0; i < n_req; i++) {
        free((void *)rq[i].ctx);
        free((void *)rq[i].cont);
    }
    free(rq);
    free(rs);
    free(rs1);
    cpr_taskset_free(&ts);
}

static void run_model(struct cpr_test_ctx *t, const char *model) {
    char root[512], path[1024], fx[256];
    cpr_test_data_path("", root, sizeof root);
    snprintf(path, sizeof path, "%s/models/%s", root, model);
    if (!cpr_path_is_dir(path)) {
        cpr_test_skip(t, "model not found (set CPRUNE_DATA)");
        return;
    }
    snprintf(fx, sizeof fx, "tests/fixtures/tasks_oracle_%s.json", model);
    struct cpr_err err = {0};
    struct cpr_model m = {0};
    struct cpr_tokenizer tok = {0};
    struct cpr_json_doc doc = {0};
    struct cpr_pool *pool = NULL;
    char *buf = NULL;
    size_t len;
    enum cpr_status s = cpr_file_read_all(fx, 1 << 26, &buf, &len, &err);
    if (!s) s = cpr_json_parse(&doc, buf, len, fx, 0, &err);
    if (!s) s = cpr_model_load(path, &m, &err);
    if (!s) s = cpr_tokenizer_load_for_model(&tok, path, NULL, m.cfg.vocab, &err);
    if (!s) s = cpr_pool_init(&pool, 2, &err);
    CPR_CHECK(t, s == CPR_OK, "%s: %s", model, err.msg);
    const struct cpr_json *tasks = cpr_json_get(doc.root, "tasks");
    CPR_CHECK(t, s || cpr_json_len(tasks) >= 12, "%s: oracle has %zu tasks", model,
              cpr_json_len(tasks));
    for (size_t i = 0; !s && i < cpr_json_len(tasks); i++) {
        const struct cpr_json *e = cpr_json_at(tasks, i);
        const char *key = e->key, *slash = strchr(key, '/');
        char dir[256], label[256];
        if (slash)
            snprintf(dir, sizeof dir, "tests/fixtures/tasks/%.*s", (int)(slash - key), key);
        else
            snprintf(dir, sizeof dir, "tests/fixtures/tasks");
        snprintf(label, sizeof label, "%s %s", model, key);
        check_task(t, &m, &tok, pool, dir, slash ? slash + 1 : key, e, label);
    }
    cpr_pool_free(pool);
    cpr_json_free(&doc);
    free(buf);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&m);
}

static void test_stories260k(struct cpr_test_ctx *t) { run_model(t, "stories260K"); }
static void test_tinystories656k(struct cpr_test_ctx *t) { run_model(t, "tinystories-656k"); }

const struct cpr_test cpr_tests_eval_tasks_oracle[] = {
    {"oracle_stories260K", test_stories260k, 0},
    {"oracle_tinystories656k", test_tinystories656k, 0},
    {0},
};
