// tests/test_forward_qwen3_gemma.c: the Qwen3 and Gemma blocks against an
// independent PyTorch oracle (tests/oracle/qwen3_gemma_oracle.py, written
// from transformers' modeling_qwen3.py / modeling_gemma.py).
//
// Fixtures: tests/fixtures/{qwen3,gemma}_tiny (small random models in
// Hugging Face layout: Qwen3 with head_dim * heads != hidden, GQA and the
// per-head q/k norms; Gemma with multi-query attention, (1 + w) norms,
// GeGLU-tanh, scaled embeddings and a tied head), their perplexity under the
// hf protocol (ppl_<family>_tiny.json) and the logits of the first chunk
// (logits0.f32). Checked on every ISA compiled in: perplexity within 1e-5
// relative, logits within 1e-4 absolute; 1 vs 3 threads bit-identical; the
// model written back in the family's layout reloads to the same pass; and
// every registered method prunes it.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "core/pool.h"
#include "data/fileio.h"
#include "data/json.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "eval/perplexity.h"
#include "methods/pipeline.h"
#include "methods/registry.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

// Logits of one sequence of T tokens.
static enum cpr_status logits_of(const struct cpr_model *m,
                                 const struct cpr_kernels *kt,
                                 struct cpr_pool *pool, const int32_t *tok,
                                 int64_t T, float *logits,
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

struct fixture {
    char *js, *tk, *lg;
    size_t jn, tn, ln;
    struct cpr_json_doc doc;
};

static void fixture_free(struct fixture *x) {
    cpr_json_free(&x->doc);
    free(x->js), free(x->tk), free(x->lg);
}

static enum cpr_status fixture_load(const char *fam, struct fixture *x,
                                    struct cpr_err *err) {
    char p[256];
    memset(x, 0, sizeof *x);
    snprintf(p, sizeof p, "tests/fixtures/ppl_%s_tiny.json", fam);
    CPR_TRY(cpr_file_read_all(p, 1 << 20, &x->js, &x->jn, err));
    snprintf(p, sizeof p, "tests/fixtures/%s_tiny/tokens.i32", fam);
    CPR_TRY(cpr_file_read_all(p, 1 << 20, &x->tk, &x->tn, err));
    snprintf(p, sizeof p, "tests/fixtures/%s_tiny/logits0.f32", fam);
    CPR_TRY(cpr_file_read_all(p, 1 << 22, &x->lg, &x->ln, err));
    return cpr_json_parse(&x->doc, x->js, x->jn, "fixture", 0, err);
}

static void check_family(struct cpr_test_ctx *t, const char *fam,
                         enum cpr_arch arch) {
    struct cpr_err err = {0};
    struct fixture x;
    struct cpr_model m, b;
    memset(&m, 0, sizeof m);
    memset(&b, 0, sizeof b);
    char dir[128];
    snprintf(dir, sizeof dir, "tests/fixtures/%s_tiny", fam);
    CPR_CHECK_STATUS(t, fixture_load(fam, &x, &err), CPR_OK, &err, NULL);
    if (!err.code)
        CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &err), CPR_OK, &err, NULL);
    if (err.code) goto out;
    const struct cpr_block_spec *bs = &m.cfg.block;
    if (arch == CPR_ARCH_QWEN3)
        CPR_CHECK(t, m.cfg.arch == arch && bs->qk_norm &&
                         bs->norm == CPR_NORM_RMS &&
                         m.cfg.head_dim * m.cfg.n_heads != m.cfg.hidden &&
                         m.layers[1].q_norm.data && !m.cfg.tied_embeddings,
                  "qwen3 config and layout");
    else
        CPR_CHECK(t, m.cfg.arch == arch && !bs->qk_norm &&
                         bs->norm == CPR_NORM_RMS_1P &&
                         bs->mlp == CPR_MLP_GEGLU_TANH &&
                         bs->embed_scale == (float)sqrt((double)m.cfg.hidden) &&
                         m.cfg.n_kv_heads == 1 &&
                         m.lm_head.data == m.tok_embed.data,
                  "gemma config and layout");
    const double want = cpr_json_get_num(x.doc.root, "ppl", NAN);
    const int64_t seqlen = cpr_json_get_int(x.doc.root, "seqlen", 0);
    const int64_t n = (int64_t)(x.tn / 4), V = m.cfg.vocab;
    CPR_CHECK(t, seqlen > 1 && n >= seqlen &&
                     x.ln == (size_t)(seqlen * V) * sizeof(float),
              "fixture sizes");
    if (t->failures) goto out;
    int32_t *ids = malloc(x.tn);
    float *ref = malloc(x.ln), *got = malloc(x.ln), *g3 = malloc(x.ln);
    memcpy(ids, x.tk, x.tn);
    memcpy(ref, x.lg, x.ln);
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_ppl_opts o = {.protocol = CPR_PPL_HF, .seqlen = seqlen};
    struct cpr_ppl_result r;
    double first = NAN;
    for (size_t i = 0; i < nt && !err.code; i++) {
        CPR_CHECK_STATUS(t, cpr_ppl_eval(&m, &tabs[i], NULL, ids, n, &o, &r,
                                         &err), CPR_OK, &err, NULL);
        if (err.code) break;
        if (i == 0) first = r.ppl;
        CPR_CHECK(t, fabs(r.ppl - want) <= 1e-5 * want, "%s [%s] ppl %.9g, "
                  "oracle %.9g", fam, cpr_isa_name(isas[i]), r.ppl, want);
        CPR_CHECK_STATUS(t, logits_of(&m, &tabs[i], NULL, ids, seqlen, got,
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
        CPR_CHECK_STATUS(t, logits_of(&m, NULL, NULL, ids, seqlen, got, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, logits_of(&m, NULL, pool, ids, seqlen, g3, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK(t, !memcmp(got, g3, x.ln), "%s: 1 vs 3 threads differ",
                  fam);
    }
    cpr_pool_free(pool);
    // written back in the family's layout, reloaded to the same pass
    char tmp[256], out[300];
    if (!err.code && !dt_mkdtemp(tmp, sizeof tmp)) {
        snprintf(out, sizeof out, "%s/m", tmp);
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&m, out, NULL, &err), CPR_OK,
                         &err, NULL);
        CPR_CHECK_STATUS(t, cpr_model_load(out, &b, &err), CPR_OK, &err,
                         NULL);
        if (!err.code) {
            CPR_CHECK(t, b.cfg.arch == arch && b.cfg.block.qk_norm == bs->qk_norm &&
                             b.cfg.block.norm == bs->norm &&
                             b.cfg.block.embed_scale == bs->embed_scale &&
                             b.cfg.tied_embeddings == m.cfg.tied_embeddings,
                      "%s: reloaded config", fam);
            CPR_CHECK_STATUS(t, cpr_ppl_eval(&b, &tabs[0], NULL, ids, n, &o,
                                             &r, &err), CPR_OK, &err, NULL);
            CPR_CHECK(t, r.ppl == first, "%s reloaded: ppl %.9g vs %.9g", fam,
                      r.ppl, first);
        }
        dt_rmtree(tmp);
    }
    free(ids), free(ref), free(got), free(g3);
out:
    cpr_model_free(&b);
    cpr_model_free(&m);
    fixture_free(&x);
}

static void test_qwen3_oracle(struct cpr_test_ctx *t) {
    check_family(t, "qwen3", CPR_ARCH_QWEN3);
}

static void test_gemma_oracle(struct cpr_test_ctx *t) {
    check_family(t, "gemma", CPR_ARCH_GEMMA);
}

// Every registered method prunes both families to about half sparsity and
// leaves a model whose loss is finite.
static void test_methods(struct cpr_test_ctx *t) {
    const char *fams[] = {"qwen3", "gemma"};
    enum { NS = 4, SL = 24 };
    for (size_t fi = 0; fi < 2; fi++) {
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
                CPR_CHECK(t, rep.per_layer == 7 && rep.sparsity > 0.3 &&
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

const struct cpr_test cpr_tests_forward_qwen3_gemma[] = {
    {"qwen3_oracle", test_qwen3_oracle, 0},
    {"gemma_oracle", test_gemma_oracle, 0},
    {"methods", test_methods, 0},
    {0},
};
