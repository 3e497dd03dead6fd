// tests/forward_testutil.c: the family-fixture checks shared by
// test_forward_neox_gpt2.c and test_forward_qwen3_gemma.c (contracts in
// tests/forward_testutil.h).
#include "tests/forward_testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "data/fileio.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "eval/perplexity.h"
#include "methods/pipeline.h"
#include "methods/registry.h"
#include "tests/data_testutil.h"

// ---- fixture ----

enum cpr_status ft_fixture_load(const char *fam, struct ft_fixture *x,
                                struct cpr_err *err) {
    char p[256];
    char *tk = NULL, *lg = NULL;
    size_t tn = 0, ln = 0;
    memset(x, 0, sizeof *x);
    snprintf(p, sizeof p, "tests/fixtures/ppl_%s_tiny.json", fam);
    CPR_TRY(cpr_file_read_all(p, 1 << 20, &x->js, &x->jn, err));
    snprintf(p, sizeof p, "tests/fixtures/%s_tiny/tokens.i32", fam);
    CPR_TRY(cpr_file_read_all(p, 1 << 20, &tk, &tn, err));
    x->ids = (int32_t *)(void *)tk; // malloc'd: aligned for any type
    x->n = (int64_t)(tn / 4);
    snprintf(p, sizeof p, "tests/fixtures/%s_tiny/logits0.f32", fam);
    CPR_TRY(cpr_file_read_all(p, 1 << 22, &lg, &ln, err));
    x->logits0 = (float *)(void *)lg;
    x->logits0_bytes = ln;
    return cpr_json_parse(&x->doc, x->js, x->jn, "fixture", 0, err);
}

void ft_fixture_free(struct ft_fixture *x) {
    cpr_json_free(&x->doc);
    free(x->js), free(x->ids), free(x->logits0);
    memset(x, 0, sizeof *x);
}

enum cpr_status ft_logits(const struct cpr_model *m,
                          const struct cpr_kernels *kt, struct cpr_pool *pool,
                          const int32_t *tok, int64_t T, float *logits,
                          struct cpr_err *err) {
    struct cpr_forward f;
    CPR_TRY(cpr_forward_init(&f, m, kt, pool, 1, T, err));
    enum cpr_status s = cpr_forward_embed(&f, tok, 1, T, f.hidden, err);
    for (int64_t l = 0; l < m->cfg.n_layers && !s; l++)
        s = cpr_forward_block(&f, l, f.hidden, 1, T, NULL, err);
    for (int64_t r = 0; r < T && !s; r += f.logit_rows) {
        int64_t n = T - r < f.logit_rows ? T - r : f.logit_rows;
        s = cpr_forward_logits(&f, f.hidden + r * m->cfg.hidden, n,
                               logits + r * m->cfg.vocab, err);
    }
    cpr_forward_free(&f);
    return s;
}

// ---- the pass against the oracle ----

int ft_check_oracle(struct cpr_test_ctx *t, const char *fam,
                    const struct cpr_model *m, const struct ft_fixture *x,
                    double *first) {
    struct cpr_err err = {0};
    const double want = cpr_json_get_num(x->doc.root, "ppl", NAN);
    const int64_t seqlen = cpr_json_get_int(x->doc.root, "seqlen", 0);
    const int64_t n = x->n, V = m->cfg.vocab;
    *first = NAN;
    CPR_CHECK(t, seqlen > 1 && n >= seqlen &&
                     x->logits0_bytes == (size_t)(seqlen * V) * sizeof(float),
              "fixture sizes");
    if (t->failures) return -1;
    const float *ref = x->logits0;
    float *got = malloc(x->logits0_bytes), *g3 = malloc(x->logits0_bytes);
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_ppl_opts o = {.protocol = CPR_PPL_HF, .seqlen = seqlen};
    struct cpr_ppl_result r;
    for (size_t i = 0; i < nt && !err.code; i++) {
        CPR_CHECK_STATUS(t, cpr_ppl_eval(m, &tabs[i], NULL, x->ids, n, &o, &r,
                                         &err), CPR_OK, &err, NULL);
        if (err.code) break;
        if (i == 0) *first = r.ppl;
        CPR_CHECK(t, fabs(r.ppl - want) <= 1e-5 * want, "%s [%s] ppl %.9g, "
                  "oracle %.9g", fam, cpr_isa_name(isas[i]), r.ppl, want);
        CPR_CHECK_STATUS(t, ft_logits(m, &tabs[i], NULL, x->ids, seqlen, got,
                                      &err), CPR_OK, &err, NULL);
        double maxe = 0;
        for (int64_t k = 0; k < seqlen * V; k++)
            if (fabs((double)got[k] - ref[k]) > maxe)
                maxe = fabs((double)got[k] - ref[k]);
        CPR_CHECK(t, maxe <= 1e-4, "%s [%s] max |logit - oracle| %.3g", fam,
                  cpr_isa_name(isas[i]), maxe);
    }
    // 1 vs 3 threads
    struct cpr_pool *pool = NULL;
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool, 3, &err), CPR_OK, &err, NULL);
    if (!err.code) {
        CPR_CHECK_STATUS(t, ft_logits(m, NULL, NULL, x->ids, seqlen, got,
                                      &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, ft_logits(m, NULL, pool, x->ids, seqlen, g3,
                                      &err), CPR_OK, &err, NULL);
        CPR_CHECK(t, !memcmp(got, g3, x->logits0_bytes),
                  "%s: 1 vs 3 threads differ", fam);
    }
    cpr_pool_free(pool);
    free(got), free(g3);
    return err.code ? -1 : 0;
}

// ---- written back and reloaded ----

void ft_check_reload(struct cpr_test_ctx *t, const char *fam,
                     const struct cpr_model *m, const struct ft_fixture *x,
                     double first, ft_reload_check *check) {
    struct cpr_err err = {0};
    struct cpr_model b;
    memset(&b, 0, sizeof b);
    char dir[128], tmp[256], out[300];
    snprintf(dir, sizeof dir, "tests/fixtures/%s_tiny", fam);
    if (dt_mkdtemp(tmp, sizeof tmp)) return;
    snprintf(out, sizeof out, "%s/m", tmp);
    CPR_CHECK_STATUS(t, cpr_model_save_hf(m, out, NULL, &err), CPR_OK, &err,
                     NULL);
    CPR_CHECK_STATUS(t, cpr_model_load(out, &b, &err), CPR_OK, &err, NULL);
    if (!err.code) {
        if (check) check(t, fam, m, &b, dir, out);
        struct cpr_kernels tabs[CPR_ISA_COUNT];
        enum cpr_isa isas[CPR_ISA_COUNT];
        cpr_test_tables(tabs, isas); // tabs[0]: scalar, as `first`
        struct cpr_ppl_opts o = {
            .protocol = CPR_PPL_HF,
            .seqlen = cpr_json_get_int(x->doc.root, "seqlen", 0)};
        struct cpr_ppl_result r;
        CPR_CHECK_STATUS(t, cpr_ppl_eval(&b, &tabs[0], NULL, x->ids, x->n, &o,
                                         &r, &err), CPR_OK, &err, NULL);
        CPR_CHECK(t, r.ppl == first, "%s reloaded: ppl %.9g vs %.9g", fam,
                  r.ppl, first);
    }
    dt_rmtree(tmp);
    cpr_model_free(&b);
}

// ---- every method prunes the family ----

void ft_check_methods(struct cpr_test_ctx *t, const char *const *fams,
                      size_t n_fams, int per_layer) {
    enum { NS = 4, SL = 24 };
    for (size_t fi = 0; fi < n_fams; fi++) {
        char dir[128];
        snprintf(dir, sizeof dir, "tests/fixtures/%s_tiny", fams[fi]);
        for (size_t mi = 0; mi < cpr_n_methods; mi++) {
            const struct cpr_method *md = cpr_methods[mi];
            struct cpr_err err = {0};
            struct cpr_model m;
            CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &err), CPR_OK, &err,
                             NULL);
            if (err.code) return;
            int32_t win[NS * SL];
            for (int i = 0; i < NS * SL; i++)
                win[i] = (int32_t)((i * 31 + 7) % m.cfg.vocab);
            void *st = NULL;
            CPR_CHECK_STATUS(t, md->init(&st, &err), CPR_OK, &err, NULL);
            struct cpr_pipe_opts o = {.method = md, .method_state = st,
                                      .target = {.sparsity = 0.5}};
            struct cpr_pipe_report rep;
            enum cpr_status ps = cpr_prune_model(&m, win, NS, SL, &o, NULL,
                                                 NULL, &rep, &err);
            // the gradient methods refuse what the backward pass lacks
            const int refused = ps == CPR_ERR_UNSUPPORTED &&
                                (md->needs & CPR_NEED_GRAD);
            CPR_CHECK(t, ps == CPR_OK || refused, "%s %s: %s", fams[fi],
                      md->name, err.msg);
            if (ps == CPR_OK) {
                CPR_CHECK(t, rep.per_layer == per_layer && rep.sparsity > 0.3 &&
                                 rep.sparsity < 0.7,
                          "%s %s: %d linears, sparsity %.3f", fams[fi],
                          md->name, rep.per_layer, rep.sparsity);
                struct cpr_forward f;
                double nll[SL - 1];
                CPR_CHECK_STATUS(t, cpr_forward_init(&f, &m, NULL, NULL, 1,
                                                     SL, &err),
                                 CPR_OK, &err, NULL);
                if (!err.code) {
                    CPR_CHECK_STATUS(t, cpr_forward_chunk_nll(&f, win, 1, SL,
                                                              0, nll, &err),
                                     CPR_OK, &err, NULL);
                    CPR_CHECK(t, isfinite(nll[0]) && isfinite(nll[SL - 2]),
                              "%s %s: pruned nll", fams[fi], md->name);
                    cpr_forward_free(&f);
                }
            }
            cpr_pipe_report_free(&rep); // filled even on error (pipeline.h)
            md->free(st);
            cpr_model_free(&m);
        }
    }
}
