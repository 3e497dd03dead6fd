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

#include "data/model_load.h"
#include "tests/forward_testutil.h"
#include "tests/harness.h"

// The reloaded model keeps the family's config.
static void reload_check(struct cpr_test_ctx *t, const char *fam,
                         const struct cpr_model *m, const struct cpr_model *b,
                         const char *dir, const char *out) {
    (void)dir, (void)out;
    const struct cpr_block_spec *bs = &m->cfg.block;
    CPR_CHECK(t, b->cfg.arch == m->cfg.arch &&
                     b->cfg.block.qk_norm == bs->qk_norm &&
                     b->cfg.block.norm == bs->norm &&
                     b->cfg.block.embed_scale == bs->embed_scale &&
                     b->cfg.tied_embeddings == m->cfg.tied_embeddings,
              "%s: reloaded config", fam);
}

static void check_family(struct cpr_test_ctx *t, const char *fam,
                         enum cpr_arch arch) {
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
    double first;
    if (!ft_check_oracle(t, fam, &m, &x, &first))
        ft_check_reload(t, fam, &m, &x, first, reload_check);
out:
    cpr_model_free(&m);
    ft_fixture_free(&x);
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
    static const char *const fams[] = {"qwen3", "gemma"};
    ft_check_methods(t, fams, 2, 7);
}

const struct cpr_test cpr_tests_forward_qwen3_gemma[] = {
    {"qwen3_oracle", test_qwen3_oracle, 0},
    {"gemma_oracle", test_gemma_oracle, 0},
    {"methods", test_methods, 0},
    {0},
};
