// tests/test_forward_window.c: Mistral's sliding-window attention
// (core/arch.h sliding_window, core/attention.c) and its config.json field.
//
// The PyTorch oracle (tests/oracle/ppl_oracle.py, HF's sliding-window mask)
// gives the perplexity of a small random Mistral with sliding_window 16
// (tests/fixtures/mistral_window, made by `cprune synth` with its config
// turned into Mistral's; tests/fixtures/ppl_mistral_window16.json); every
// ISA table must match it within 1e-5, and the same model without the
// window must not (its oracle perplexity is 538.0, not 465.5). Made by
//   cprune synth --hidden 32 --intermediate 48 --layers 2 --heads 4
//       --kv-heads 2 --vocab 64 --context 256 --tied --init-std 0.4
//       --seed 13 --out DIR
// then config.json: architectures MistralForCausalLM, model_type mistral,
// "sliding_window": 16; tokens.i32: 384 ids x = (1103515245 x + 12345)
// mod 2^31 from x = 12345, id = (x >> 8) mod 64; and
//   python3 tests/oracle/ppl_oracle.py --model tests/fixtures/mistral_window
//       --tokens-i32 tests/fixtures/mistral_window/tokens.i32 --seqlen 96
//       --label lcg/window16 --out tests/fixtures/ppl_mistral_window16.json
//
// A second check is independent of the windowed code path: with one block, the
// output at position p under a window W equals the unwindowed pass over
// the W tokens ending at p (RoPE scores depend only on relative positions,
// so shifting the window to positions 0..W-1 changes them by rounding
// only). Rows whose window reaches back to position 0 take the unwindowed
// arithmetic exactly (bit-identical), a window >= seqlen changes nothing,
// and the pass stays bit-identical for any thread count.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "core/rng.h"
#include "core/synth.h"
#include "data/fileio.h"
#include "data/hf_config.h"
#include "data/json.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "eval/perplexity.h"
#include "tests/forward_testutil.h"
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
    CPR_CHECK_STATUS(t, ft_logits(&m, NULL, NULL, tok, SL, win, &err),
                     CPR_OK, &err, NULL);
    m.cfg.block.sliding_window = 0;
    CPR_CHECK_STATUS(t, ft_logits(&m, NULL, NULL, tok, SL, full, &err),
                     CPR_OK, &err, NULL);
    // rows whose window starts at key 0: the unwindowed arithmetic
    CPR_CHECK(t, memcmp(win, full, sizeof(float) * WIN * V) == 0,
              "rows 0..%d differ from the unwindowed pass", WIN - 1);
    // later rows: the window really cuts (differs from full attention) and
    // equals the pass over the last WIN tokens
    double maxe = 0, maxcut = 0;
    for (int64_t p = WIN; p < SL; p++) {
        CPR_CHECK_STATUS(t, ft_logits(&m, NULL, NULL, tok + p - WIN + 1, WIN,
                                      ref, &err),
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
    CPR_CHECK_STATUS(t, ft_logits(&m, NULL, NULL, tok, SL, a, &err),
                     CPR_OK, &err, NULL);
    m.cfg.block.sliding_window = SL;
    CPR_CHECK_STATUS(t, ft_logits(&m, NULL, NULL, tok, SL, b, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, memcmp(a, b, sizeof(float) * SL * V) == 0,
              "window == seqlen differs from no window");
    m.cfg.block.sliding_window = WIN;
    CPR_CHECK_STATUS(t, ft_logits(&m, NULL, NULL, tok, SL, a, &err),
                     CPR_OK, &err, NULL);
    struct cpr_pool *pool = NULL;
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool, 3, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, ft_logits(&m, NULL, pool, tok, SL, b, &err),
                     CPR_OK, &err, NULL);
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

static void test_oracle_ppl(struct cpr_test_ctx *t) {
    const char *dir = "tests/fixtures/mistral_window";
    struct cpr_err err = {0};
    char *js = NULL, *tk = NULL;
    size_t jn = 0, tn = 0;
    struct cpr_model m;
    struct cpr_json_doc doc;
    memset(&m, 0, sizeof m);
    memset(&doc, 0, sizeof doc);
    CPR_CHECK_STATUS(t, cpr_file_read_all("tests/fixtures/"
                                          "ppl_mistral_window16.json",
                                          1 << 20, &js, &jn, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_file_read_all("tests/fixtures/mistral_window/"
                                          "tokens.i32", 1 << 20, &tk, &tn,
                                          &err),
                     CPR_OK, &err, NULL);
    if (err.code) goto out;
    CPR_CHECK_STATUS(t, cpr_json_parse(&doc, js, jn, "fixture", 0, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &err), CPR_OK, &err, NULL);
    if (err.code) goto out;
    CPR_CHECK(t, m.cfg.block.sliding_window == 16, "window %lld",
              (long long)m.cfg.block.sliding_window);
    const double want = cpr_json_get_num(doc.root, "ppl", NAN);
    const int64_t seqlen = cpr_json_get_int(doc.root, "seqlen", 0);
    const int64_t n = (int64_t)(tn / 4);
    int32_t *ids = malloc(tn);
    memcpy(ids, tk, tn); // little-endian int32, as the oracle reads them
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_ppl_opts o = {.protocol = CPR_PPL_HF, .seqlen = seqlen};
    struct cpr_ppl_result r;
    for (size_t i = 0; i < nt; i++) {
        CPR_CHECK_STATUS(t, cpr_ppl_eval(&m, &tabs[i], NULL, ids, n, &o, &r,
                                         &err), CPR_OK, &err, NULL);
        if (err.code) break;
        CPR_CHECK(t, fabs(r.ppl - want) <= 1e-5 * want, "[%s] ppl %.8g, "
                  "oracle %.8g", cpr_isa_name(isas[i]), r.ppl, want);
        if (t->verbose)
            printf("  [%s] ppl %.8g oracle %.8g rel %.2e\n",
                   cpr_isa_name(isas[i]), r.ppl, want,
                   fabs(r.ppl - want) / want);
    }
    m.cfg.block.sliding_window = 0;
    CPR_CHECK_STATUS(t, cpr_ppl_eval(&m, NULL, NULL, ids, n, &o, &r, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, fabs(r.ppl - want) > 0.05 * want, "without the window ppl "
              "%.6g still matches the windowed oracle %.6g", r.ppl, want);
    free(ids);
out:
    cpr_json_free(&doc);
    cpr_model_free(&m);
    free(js);
    free(tk);
}

const struct cpr_test cpr_tests_forward_window[] = {
    {"oracle_ppl", test_oracle_ppl, 0},
    {"shift_equivalence", test_shift_equivalence, 0},
    {"wide_window_and_threads", test_wide_window_and_threads, 0},
    {"config_field", test_config_field, 0},
    {0},
};
