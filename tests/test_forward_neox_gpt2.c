// tests/test_forward_neox_gpt2.c: the GPT-NeoX (Pythia) and GPT-2 blocks
// against an independent PyTorch oracle (tests/oracle/neox_gpt2_oracle.py,
// written from transformers' modeling_gpt_neox.py / modeling_gpt2.py).
//
// Fixtures: tests/fixtures/{neox,neox_seq,gpt2}_tiny (small random models in
// Hugging Face layout: NeoX with the parallel residual, partial rotary
// (rotary_pct 0.25), fused per-head query_key_value with biases and an
// untied embed_out; NeoX with the sequential residual, rotary_pct 0.5 and
// no attention biases; GPT-2 with Conv1D weights stored (in, out), learned
// positions, gelu_new and a tied head), their perplexity under the hf
// protocol (ppl_<family>_tiny.json) and the logits of the first chunk
// (logits0.f32). Checked on every ISA compiled in: perplexity within 1e-5
// relative, logits within 1e-4 absolute; 1 vs 3 threads bit-identical; the
// model written back in the family's layout reloads to the same pass (and
// GPT-2's Conv1D weights are written back byte-identical); every registered
// method prunes it.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "core/pool.h"
#include "data/fileio.h"
#include "data/arch_synth.h"
#include "data/json.h"
#include "data/safetensors.h"
#include "data/safetensors_write.h"
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

// 1 when tensor `name` has the same shape and bytes in both files.
static int same_tensor(const char *dir_a, const char *dir_b,
                       const char *name) {
    struct cpr_safetensors a, b;
    struct cpr_err e = {0};
    char pa[256], pb[400];
    snprintf(pa, sizeof pa, "%s/model.safetensors", dir_a);
    snprintf(pb, sizeof pb, "%s/model.safetensors", dir_b);
    memset(&a, 0, sizeof a), memset(&b, 0, sizeof b);
    int ok = cpr_safetensors_open(&a, pa, &e) == CPR_OK &&
             cpr_safetensors_open(&b, pb, &e) == CPR_OK;
    struct cpr_tensor ta, tb;
    memset(&ta, 0, sizeof ta), memset(&tb, 0, sizeof tb);
    ok = ok && cpr_safetensors_tensor(&a, name, &ta, &e) == CPR_OK &&
         cpr_safetensors_tensor(&b, name, &tb, &e) == CPR_OK &&
         ta.ndim == 2 && tb.ndim == 2 && ta.shape[0] == tb.shape[0] &&
         ta.shape[1] == tb.shape[1] && ta.dtype == tb.dtype &&
         !memcmp(ta.data, tb.data, cpr_tensor_nbytes(&ta));
    cpr_safetensors_close(&a);
    cpr_safetensors_close(&b);
    return ok;
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
                         enum cpr_arch arch, int parallel) {
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
    if (arch == CPR_ARCH_GPT2)
        CPR_CHECK(t, m.cfg.arch == arch && bs->norm == CPR_NORM_LAYER &&
                         bs->pos == CPR_POS_LEARNED && bs->pos_offset == 0 &&
                         bs->mlp == CPR_MLP_GELU_TANH &&
                         bs->qkv == CPR_QKV_FUSED_CONCAT &&
                         m.lm_head.data == m.tok_embed.data &&
                         m.layers[1].wqkv.shape[0] == 3 * m.cfg.hidden &&
                         m.layers[1].w_up.shape[1] == m.cfg.hidden,
                  "gpt2 config and layout");
    else
        CPR_CHECK(t, m.cfg.arch == arch && bs->norm == CPR_NORM_LAYER &&
                         bs->pos == CPR_POS_ROPE && bs->mlp == CPR_MLP_GELU &&
                         bs->qkv == CPR_QKV_FUSED_HEADS &&
                         bs->rotary_dim == (parallel ? 4 : 8) &&
                         bs->resid == (parallel ? CPR_RESID_PARALLEL
                                                : CPR_RESID_SEQUENTIAL) &&
                         (m.layers[0].bqkv.data != NULL) == parallel &&
                         !m.cfg.tied_embeddings,
                  "%s config and layout", fam);
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
            CPR_CHECK(t, b.cfg.arch == arch &&
                             !memcmp(&b.cfg.block, bs, sizeof *bs) &&
                             b.cfg.qkv_bias == m.cfg.qkv_bias &&
                             b.cfg.norm_eps == m.cfg.norm_eps &&
                             b.cfg.intermediate == m.cfg.intermediate &&
                             b.cfg.tied_embeddings == m.cfg.tied_embeddings,
                      "%s: reloaded config", fam);
            if (arch == CPR_ARCH_GPT2) // Conv1D orientation kept on disk
                CPR_CHECK(t, same_tensor(dir, out, "transformer.h.1.mlp.c_fc"
                                         ".weight") &&
                                 same_tensor(dir, out, "transformer.h.0.attn."
                                             "c_attn.weight"),
                          "gpt2: Conv1D weights not written back as read");
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

static void test_neox_oracle(struct cpr_test_ctx *t) {
    check_family(t, "neox", CPR_ARCH_GPT_NEOX, 1);
}

static void test_neox_seq_oracle(struct cpr_test_ctx *t) {
    check_family(t, "neox_seq", CPR_ARCH_GPT_NEOX, 0);
}

static void test_gpt2_oracle(struct cpr_test_ctx *t) {
    check_family(t, "gpt2", CPR_ARCH_GPT2, 0);
}

// Every registered method prunes each family to about half sparsity (the
// fused q/k/v as one matrix: 4 linears per block) and leaves a model whose
// loss is finite.
static void test_methods(struct cpr_test_ctx *t) {
    const char *fams[] = {"neox", "neox_seq", "gpt2"};
    enum { NS = 4, SL = 24 };
    for (size_t fi = 0; fi < 3; fi++) {
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
                CPR_CHECK(t, rep.per_layer == 4 && rep.sparsity > 0.3 &&
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

// GPT-2 as the hub's "gpt2" files name it (saved from GPT2Model: "h.0.",
// "wte.weight", no "transformer." prefix) loads to the same model.
static void test_gpt2_hub_names(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    struct cpr_safetensors st;
    memset(&st, 0, sizeof st);
    char tmp[256], p[400];
    CPR_CHECK(t, !dt_mkdtemp(tmp, sizeof tmp), "mkdtemp");
    CPR_CHECK_STATUS(t, cpr_safetensors_open(&st, "tests/fixtures/gpt2_tiny/"
                                             "model.safetensors", &err),
                     CPR_OK, &err, NULL);
    if (t->failures) return;
    struct cpr_st_entry *e = calloc(st.n_tensors, sizeof *e);
    struct cpr_tensor *ts = calloc(st.n_tensors, sizeof *ts);
    for (size_t i = 0; i < st.n_tensors && !err.code; i++) {
        const char *nm = st.tensors[i].name;
        CPR_CHECK_STATUS(t, cpr_safetensors_tensor(&st, nm, &ts[i], &err),
                         CPR_OK, &err, NULL);
        e[i].name = strncmp(nm, "transformer.", 12) ? nm : nm + 12;
        e[i].t = &ts[i];
    }
    snprintf(p, sizeof p, "%s/model.safetensors", tmp);
    if (!err.code)
        CPR_CHECK_STATUS(t, cpr_safetensors_write(p, e, st.n_tensors, NULL, 0,
                                                  NULL, 0, &err),
                         CPR_OK, &err, NULL);
    char *cfg = NULL;
    size_t cn = 0;
    if (!err.code)
        CPR_CHECK_STATUS(t, cpr_file_read_all("tests/fixtures/gpt2_tiny/"
                                              "config.json", 1 << 20, &cfg,
                                              &cn, &err), CPR_OK, &err, NULL);
    if (!err.code)
        CPR_CHECK(t, !dt_write(tmp, "config.json", cfg, cn, NULL, 0),
                  "write config");
    struct cpr_model a, b;
    memset(&a, 0, sizeof a), memset(&b, 0, sizeof b);
    if (!t->failures) {
        CPR_CHECK_STATUS(t, cpr_model_load("tests/fixtures/gpt2_tiny", &a,
                                           &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_model_load(tmp, &b, &err), CPR_OK, &err,
                         NULL);
    }
    if (!t->failures) {
        int32_t tok[16];
        for (int i = 0; i < 16; i++) tok[i] = (i * 13 + 5) % 64;
        float *la = malloc(16 * 64 * sizeof *la), *lb = malloc(16 * 64 * sizeof *lb);
        CPR_CHECK_STATUS(t, logits_of(&a, NULL, NULL, tok, 16, la, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, logits_of(&b, NULL, NULL, tok, 16, lb, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK(t, !memcmp(la, lb, 16 * 64 * sizeof *la),
                  "hub-named GPT-2 differs from the transformers-named one");
        free(la), free(lb);
    }
    cpr_model_free(&a), cpr_model_free(&b);
    free(cfg), free(e), free(ts);
    cpr_safetensors_close(&st);
    dt_rmtree(tmp);
}

// `synth` for the table-built families: the in-memory model, written in
// the family's layout and read back, runs the same pass; its config says
// what the family's config class says.
static void test_synth_roundtrip(struct cpr_test_ctx *t) {
    const enum cpr_arch archs[] = {CPR_ARCH_OPT, CPR_ARCH_GPT2,
                                   CPR_ARCH_GPT_NEOX};
    for (size_t i = 0; i < 3; i++) {
        struct cpr_synth_spec sp = {
            .arch = archs[i], .hidden = 48, .intermediate = 96, .n_layers = 2,
            .n_heads = 3, .vocab = 90, .context = 32, .dtype = CPR_DTYPE_F32,
            .seed = 7, .init_std = 0.1, .bias_std = 0.05, .bos_id = 0,
            .eos_id = 0};
        struct cpr_err err = {0};
        struct cpr_model m, b;
        memset(&b, 0, sizeof b);
        CPR_CHECK_STATUS(t, cpr_arch_synth_model(&m, &sp, &err), CPR_OK, &err,
                         NULL);
        if (err.code) return;
        const struct cpr_block_spec *bs = &m.cfg.block;
        CPR_CHECK(t, m.cfg.arch == archs[i] && m.cfg.hidden == 48 &&
                         m.cfg.intermediate == 96 && m.cfg.n_heads == 3 &&
                         (archs[i] != CPR_ARCH_GPT_NEOX ||
                          (bs->rotary_dim == 4 &&
                           bs->resid == CPR_RESID_PARALLEL &&
                           !m.cfg.tied_embeddings)) &&
                         (archs[i] == CPR_ARCH_GPT_NEOX || m.cfg.tied_embeddings),
                  "synth %d config", (int)i);
        char tmp[256], out[300];
        int32_t tok[20];
        for (int k = 0; k < 20; k++) tok[k] = (k * 7 + 3) % 90;
        float la[20 * 90], lb[20 * 90];
        if (!dt_mkdtemp(tmp, sizeof tmp)) {
            snprintf(out, sizeof out, "%s/m", tmp);
            CPR_CHECK_STATUS(t, cpr_model_save_hf(&m, out, NULL, &err),
                             CPR_OK, &err, NULL);
            if (!err.code)
                CPR_CHECK_STATUS(t, cpr_model_load(out, &b, &err), CPR_OK,
                                 &err, NULL);
            if (!err.code) {
                CPR_CHECK_STATUS(t, logits_of(&m, NULL, NULL, tok, 20, la,
                                              &err), CPR_OK, &err, NULL);
                CPR_CHECK_STATUS(t, logits_of(&b, NULL, NULL, tok, 20, lb,
                                              &err), CPR_OK, &err, NULL);
                CPR_CHECK(t, !memcmp(la, lb, sizeof la) && isfinite(la[5]),
                          "synth %d: reloaded pass differs", (int)i);
            }
            dt_rmtree(tmp);
        }
        cpr_model_free(&b);
        cpr_model_free(&m);
    }
}

const struct cpr_test cpr_tests_forward_neox_gpt2[] = {
    {"gpt2_hub_names", test_gpt2_hub_names, 0},
    {"synth_roundtrip", test_synth_roundtrip, 0},
    {"neox_oracle", test_neox_oracle, 0},
    {"neox_seq_oracle", test_neox_seq_oracle, 0},
    {"gpt2_oracle", test_gpt2_oracle, 0},
    {"methods", test_methods, 0},
    {0},
};
