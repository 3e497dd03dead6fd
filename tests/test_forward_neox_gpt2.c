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

#include "data/arch_synth.h"
#include "data/fileio.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "data/safetensors.h"
#include "data/safetensors_write.h"
#include "tests/data_testutil.h"
#include "tests/forward_testutil.h"
#include "tests/harness.h"

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

// The reloaded model keeps the family's config, and GPT-2's Conv1D
// weights are written back as read.
static void reload_check(struct cpr_test_ctx *t, const char *fam,
                         const struct cpr_model *m, const struct cpr_model *b,
                         const char *dir, const char *out) {
    CPR_CHECK(t, b->cfg.arch == m->cfg.arch &&
                     !memcmp(&b->cfg.block, &m->cfg.block,
                             sizeof m->cfg.block) &&
                     b->cfg.qkv_bias == m->cfg.qkv_bias &&
                     b->cfg.norm_eps == m->cfg.norm_eps &&
                     b->cfg.intermediate == m->cfg.intermediate &&
                     b->cfg.tied_embeddings == m->cfg.tied_embeddings,
              "%s: reloaded config", fam);
    if (m->cfg.arch == CPR_ARCH_GPT2) // Conv1D orientation kept on disk
        CPR_CHECK(t, same_tensor(dir, out, "transformer.h.1.mlp.c_fc"
                                 ".weight") &&
                         same_tensor(dir, out, "transformer.h.0.attn."
                                     "c_attn.weight"),
                  "gpt2: Conv1D weights not written back as read");
}

static void check_family(struct cpr_test_ctx *t, const char *fam,
                         enum cpr_arch arch, int parallel) {
    struct cpr_err err = {0};
    struct ft_fixture x;
    struct cpr_model m;
    memset(&m, 0, sizeof m);
    char dir[128];
    snprintf(dir, sizeof dir, "tests/fixtures/%s_tiny", fam);
    CPR_CHECK_STATUS(t, ft_fixture_load(fam, &x, &err), CPR_OK, &err, NULL);
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
    double first;
    if (!ft_check_oracle(t, fam, &m, &x, &first))
        ft_check_reload(t, fam, &m, &x, first, reload_check);
out:
    cpr_model_free(&m);
    ft_fixture_free(&x);
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
    static const char *const fams[] = {"neox", "neox_seq", "gpt2"};
    ft_check_methods(t, fams, 3, 4);
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
        CPR_CHECK_STATUS(t, ft_logits(&a, NULL, NULL, tok, 16, la, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, ft_logits(&b, NULL, NULL, tok, 16, lb, &err),
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
                CPR_CHECK_STATUS(t, ft_logits(&m, NULL, NULL, tok, 20, la,
                                              &err), CPR_OK, &err, NULL);
                CPR_CHECK_STATUS(t, ft_logits(&b, NULL, NULL, tok, 20, lb,
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
