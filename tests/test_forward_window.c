// tests/test_forward_window.c: Mistral's sliding-window attention
// (core/arch.h sliding_window, core/attention.c) and its config.json field.
//
// The check is independent of the windowed code path: with one block, the
// output at position p under a window W equals the unwindowed pass over
// the W tokens ending at p (RoPE scores depend only on relative positions,
// so shifting the window to positions 0..W-1 changes them by rounding
// only). Rows whose window reaches back to position 0 take the unwindowed
// arithmetic exactly (bit-identical), a window >= seqlen changes nothing,
// and the pass stays bit-identical for any thread count.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "core/rng.h"
#include "core/synth.h"
#include "data/hf_config.h"
#include "data/json_write.h"
#include "tests/harness.h"

enum { SL = 150, WIN = 20 }; // three query blocks (CPR_ATTN_QB 64)

static struct cpr_synth_spec spec(int64_t n_layers) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_MISTRAL, .hidden = 48, .intermediate = 64,
        .n_layers = n_layers, .n_heads = 4, .n_kv_heads = 2, .head_dim = 12,
        .vocab = 89, .context = 256, .dtype = CPR_DTYPE_F32, .seed = 5,
        .init_std = 0.2, .norm_jitter = 0.2, .rope_theta = 10000,
        .norm_eps = 1e-5f, .bos_id = 1, .eos_id = 2,
    };
    return s;
}

// logits (n, vocab) of tokens tok[0..n) (one sequence), whole pass.
static enum cpr_status logits_of(const struct cpr_model *m,
                                 struct cpr_pool *pool, const int32_t *tok,
                                 int64_t n, float *out, struct cpr_err *err) {
    struct cpr_forward f;
    CPR_TRY(cpr_forward_init(&f, m, NULL, pool, 1, n, err));
    enum cpr_status s = cpr_forward_embed(&f, tok, 1, n, f.hidden, err);
    for (int64_t l = 0; l < m->cfg.n_layers && !s; l++)
        s = cpr_forward_block(&f, l, f.hidden, 1, n, NULL, err);
    for (int64_t r0 = 0; r0 < n && !s; r0 += f.logit_rows) {
        int64_t nr = n - r0 < f.logit_rows ? n - r0 : f.logit_rows;
        s = cpr_forward_logits(&f, f.hidden + r0 * m->cfg.hidden, nr,
                               out + r0 * m->cfg.vocab, err);
    }
    cpr_forward_free(&f);
    return s;
}

static void make_tokens(int32_t *tok, int64_t n, int64_t vocab) {
    struct cpr_rng r;
    cpr_rng_seed(&r, 17);
    for (int64_t i = 0; i < n; i++)
        tok[i] = (int32_t)cpr_rng_below(&r, (uint64_t)vocab);
}

static void test_shift_equivalence(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec(1);
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    const int64_t V = s.vocab;
    int32_t tok[SL];
    make_tokens(tok, SL, V);
    float *win = malloc(sizeof(float) * SL * V);
    float *full = malloc(sizeof(float) * SL * V);
    float *ref = malloc(sizeof(float) * WIN * V);
    m.cfg.block.sliding_window = WIN;
    CPR_CHECK_STATUS(t, logits_of(&m, NULL, tok, SL, win, &err), CPR_OK, &err,
                     NULL);
    m.cfg.block.sliding_window = 0;
    CPR_CHECK_STATUS(t, logits_of(&m, NULL, tok, SL, full, &err), CPR_OK,
                     &err, NULL);
    // rows whose window starts at key 0: the unwindowed arithmetic
    CPR_CHECK(t, memcmp(win, full, sizeof(float) * WIN * V) == 0,
              "rows 0..%d differ from the unwindowed pass", WIN - 1);
    // later rows: the window really cuts (differs from full attention) and
    // equals the pass over the last WIN tokens
    double maxe = 0, maxcut = 0;
    for (int64_t p = WIN; p < SL; p++) {
        CPR_CHECK_STATUS(t, logits_of(&m, NULL, tok + p - WIN + 1, WIN, ref,
                                      &err),
                         CPR_OK, &err, NULL);
        if (err.code) break;
        for (int64_t v = 0; v < V; v++) {
            double e = fabs((double)win[p * V + v] - ref[(WIN - 1) * V + v]);
            double c = fabs((double)win[p * V + v] - full[p * V + v]);
            if (e > maxe) maxe = e;
            if (c > maxcut) maxcut = c;
        }
    }
    CPR_CHECK(t, maxe < 1e-4, "window vs shifted pass: max |logit diff| %.3g",
              maxe);
    CPR_CHECK(t, maxcut > 1e-3, "the window changed nothing (max diff %.3g)",
              maxcut);
    free(win), free(full), free(ref);
    cpr_model_free(&m);
}

static void test_wide_window_and_threads(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec(3);
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    const int64_t V = s.vocab;
    int32_t tok[SL];
    make_tokens(tok, SL, V);
    float *a = malloc(sizeof(float) * SL * V), *b = malloc(sizeof(float) * SL * V);
    CPR_CHECK_STATUS(t, logits_of(&m, NULL, tok, SL, a, &err), CPR_OK, &err,
                     NULL);
    m.cfg.block.sliding_window = SL;
    CPR_CHECK_STATUS(t, logits_of(&m, NULL, tok, SL, b, &err), CPR_OK, &err,
                     NULL);
    CPR_CHECK(t, memcmp(a, b, sizeof(float) * SL * V) == 0,
              "window == seqlen differs from no window");
    m.cfg.block.sliding_window = WIN;
    CPR_CHECK_STATUS(t, logits_of(&m, NULL, tok, SL, a, &err), CPR_OK, &err,
                     NULL);
    struct cpr_pool *pool = NULL;
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool, 3, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, logits_of(&m, pool, tok, SL, b, &err), CPR_OK, &err,
                     NULL);
    CPR_CHECK(t, memcmp(a, b, sizeof(float) * SL * V) == 0,
              "windowed pass differs between 1 and 3 threads");
    cpr_pool_free(pool);
    m.cfg.block.sliding_window = -1;
    struct cpr_forward f;
    CPR_CHECK_STATUS(t, cpr_forward_init(&f, &m, NULL, NULL, 1, 8, &err),
                     CPR_ERR_ARG, &err, "sliding_window");
    free(a), free(b);
    cpr_model_free(&m);
}

static enum cpr_status parse(const char *json, struct cpr_model_config *c,
                             struct cpr_err *err) {
    return cpr_hf_config_parse(json, strlen(json), "config.json", c, err);
}

#define CFG_HEAD                                                               \
    "\"hidden_size\": 48, \"intermediate_size\": 64, "                        \
    "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, "                  \
    "\"num_key_value_heads\": 2, \"vocab_size\": 89, "                        \
    "\"max_position_embeddings\": 256"

static void test_config_field(struct cpr_test_ctx *t) {
    struct cpr_model_config c;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, parse("{\"model_type\": \"mistral\", " CFG_HEAD "}",
                              &c, &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, c.block.sliding_window == 4096,
              "absent: MistralConfig's default 4096, got %lld",
              (long long)c.block.sliding_window);
    CPR_CHECK_STATUS(t, parse("{\"model_type\": \"mistral\", " CFG_HEAD
                              ", \"sliding_window\": null}", &c, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, c.block.sliding_window == 0, "null: no window");
    CPR_CHECK_STATUS(t, parse("{\"model_type\": \"mistral\", " CFG_HEAD
                              ", \"sliding_window\": 16}", &c, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, c.block.sliding_window == 16, "16");
    // written back as read
    struct cpr_jw w;
    cpr_jw_init(&w, 0);
    cpr_hf_config_write(&c, "float32", &w);
    CPR_CHECK(t, w.buf && strstr(w.buf, "\"sliding_window\":16"),
              "written config: %s", w.buf ? w.buf : "(none)");
    cpr_jw_free(&w);
    CPR_CHECK_STATUS(t, parse("{\"model_type\": \"mistral\", " CFG_HEAD
                              ", \"sliding_window\": 0}", &c, &err),
                     CPR_ERR_FORMAT, &err, "sliding_window");
    CPR_CHECK_STATUS(t, parse("{\"model_type\": \"qwen2\", " CFG_HEAD
                              ", \"use_sliding_window\": true}", &c, &err),
                     CPR_ERR_UNSUPPORTED, &err, "use_sliding_window");
    CPR_CHECK_STATUS(t, parse("{\"model_type\": \"qwen2\", " CFG_HEAD
                              ", \"use_sliding_window\": false, "
                              "\"sliding_window\": 32768}", &c, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, c.block.sliding_window == 0, "qwen2 without the flag");
    CPR_CHECK_STATUS(t, parse("{\"model_type\": \"llama\", " CFG_HEAD "}", &c,
                              &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, c.block.sliding_window == 0, "llama: none");
}

const struct cpr_test cpr_tests_forward_window[] = {
    {"shift_equivalence", test_shift_equivalence, 0},
    {"wide_window_and_threads", test_wide_window_and_threads, 0},
    {"config_field", test_config_field, 0},
    {0},
};
