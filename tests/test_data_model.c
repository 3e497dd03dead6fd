// tests/test_data_model.c: model loading and saving against the real models
// in $CPRUNE_DATA (stories260K llama2.c, tinystories-656k HF), with weight
// values cross-checked bit for bit against an independent numpy reader
// (tests/oracle/read_weights.py; its output is the table below); config.json
// and llama2.c header hardening; save -> load round trips including the
// interleaved -> half-split RoPE permutation (checked through the forward
// pass); tokenizer discovery; SHA-256 known answers.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "data/fileio.h"
#include "data/hf_config.h"
#include "data/llama2c.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "data/safetensors.h"
#include "data/sha256.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

// ---- oracle fixtures (tests/oracle/read_weights.py) ----

struct fix {
    const char *model, *tensor;
    int n_idx;
    int64_t idx[3]; // (layer, row, col) for layer tensors, else (row, col)
    uint32_t bits;
};

static const struct fix fixtures[] = {
    {"stories260K", "tok_embed", 2, {0, 0, 0}, 0xbe96e950u}, // -0.294748783
    {"stories260K", "tok_embed", 2, {511, 63, 0}, 0xbed91acdu}, // -0.424032599
    {"stories260K", "attn_norm", 2, {4, 17, 0}, 0x3fa94421u}, // 1.32239163
    {"stories260K", "wq", 3, {0, 0, 5}, 0xbd2090f3u}, // -0.0392007343
    {"stories260K", "wq", 3, {4, 63, 63}, 0xbe418cd7u}, // -0.189013824
    {"stories260K", "wk", 3, {2, 31, 7}, 0x3b3335b8u}, // 0.00273452513
    {"stories260K", "wv", 3, {3, 1, 60}, 0xbe1baa6du}, // -0.15201731
    {"stories260K", "wo", 3, {1, 40, 9}, 0x3c336ac0u}, // 0.0109507442
    {"stories260K", "mlp_norm", 2, {0, 3, 0}, 0x3f02d44du}, // 0.511051953
    {"stories260K", "w_gate", 3, {4, 171, 63}, 0xbe130b62u}, // -0.143598109
    {"stories260K", "w_down", 3, {2, 10, 171}, 0xbd05724du}, // -0.0325797088
    {"stories260K", "w_up", 3, {0, 100, 0}, 0x3e2d9d85u}, // 0.169546202
    {"stories260K", "final_norm", 1, {63, 0, 0}, 0x3fda986fu}, // 1.7077769
    {"tinystories-656k", "tok_embed", 2, {0, 0, 0}, 0xbf2f0000u}, // -0.68359375
    {"tinystories-656k", "tok_embed", 2, {2047, 127, 0}, 0xbed80000u}, // -0.421875
    {"tinystories-656k", "attn_norm", 2, {1, 5, 0}, 0x3e740000u}, // 0.23828125
    {"tinystories-656k", "wq", 3, {0, 0, 5}, 0x3e8b0000u}, // 0.271484375
    {"tinystories-656k", "wk", 3, {1, 63, 127}, 0xbd8b0000u}, // -0.0678710938
    {"tinystories-656k", "wv", 3, {0, 12, 34}, 0xbdf10000u}, // -0.117675781
    {"tinystories-656k", "wo", 3, {1, 127, 0}, 0x3d2b0000u}, // 0.0417480469
    {"tinystories-656k", "w_gate", 3, {0, 383, 1}, 0x3f830000u}, // 1.0234375
    {"tinystories-656k", "w_up", 3, {1, 200, 100}, 0x3c440000u}, // 0.0119628906
    {"tinystories-656k", "w_down", 3, {1, 127, 383}, 0xbe0d0000u}, // -0.137695312
    {"tinystories-656k", "mlp_norm", 2, {0, 64, 0}, 0x3ccf0000u}, // 0.0252685547
    {"tinystories-656k", "final_norm", 1, {127, 0, 0}, 0x3f560000u}, // 0.8359375
};

static const struct cpr_tensor *field(const struct cpr_model *m, const char *name,
                                      int64_t layer) {
    if (!strcmp(name, "tok_embed")) return &m->tok_embed;
    if (!strcmp(name, "final_norm")) return &m->final_norm;
    const struct cpr_layer *L = &m->layers[layer];
    static const struct {
        const char *n;
        size_t off;
    } f[] = {
        {"attn_norm", offsetof(struct cpr_layer, attn_norm)},
        {"wq", offsetof(struct cpr_layer, wq)},
        {"wk", offsetof(struct cpr_layer, wk)},
        {"wv", offsetof(struct cpr_layer, wv)},
        {"wo", offsetof(struct cpr_layer, wo)},
        {"mlp_norm", offsetof(struct cpr_layer, mlp_norm)},
        {"w_gate", offsetof(struct cpr_layer, w_gate)},
        {"w_up", offsetof(struct cpr_layer, w_up)},
        {"w_down", offsetof(struct cpr_layer, w_down)},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!strcmp(f[i].n, name))
            return (const struct cpr_tensor *)((const char *)L + f[i].off);
    return NULL;
}

static void check_fixtures(struct cpr_test_ctx *t, const struct cpr_model *m,
                           const char *model) {
    int n = 0;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        const struct fix *x = &fixtures[i];
        if (strcmp(x->model, model)) continue;
        int is_layer = strcmp(x->tensor, "tok_embed") && strcmp(x->tensor, "final_norm");
        const struct cpr_tensor *tt = field(m, x->tensor, is_layer ? x->idx[0] : 0);
        const int64_t *ix = x->idx + is_layer;
        int nd = x->n_idx - is_layer;
        int64_t flat = nd == 2 ? ix[0] * tt->shape[1] + ix[1] : ix[0];
        float got = 0;
        if (tt->dtype == CPR_DTYPE_F32) got = ((const float *)tt->data)[flat];
        else if (tt->dtype == CPR_DTYPE_BF16) {
            uint32_t u = (uint32_t)((const uint16_t *)tt->data)[flat] << 16;
            memcpy(&got, &u, 4);
        }
        uint32_t gb;
        memcpy(&gb, &got, 4);
        CPR_CHECK(t, gb == x->bits, "%s %s[%lld,%lld,%lld]: got 0x%08x (%g) want 0x%08x",
                  model, x->tensor, (long long)x->idx[0], (long long)x->idx[1],
                  (long long)x->idx[2], gb, got, x->bits);
        n++;
    }
    CPR_CHECK(t, n >= 12, "only %d fixtures for %s", n, model);
}

static int load_shared(struct cpr_test_ctx *t, const char *rel, struct cpr_model *m) {
    char p[1024];
    cpr_test_data_path(rel, p, sizeof p);
    if (!cpr_path_is_dir(p) && !cpr_path_is_file(p)) {
        cpr_test_skip(t, "shared models not present");
        return 0;
    }
    struct cpr_err e = {0};
    enum cpr_status s = cpr_model_load(p, m, &e);
    CPR_CHECK_STATUS(t, s, CPR_OK, &e, NULL);
    return s == CPR_OK;
}

static void test_load_stories260k(struct cpr_test_ctx *t) {
    struct cpr_model m;
    if (!load_shared(t, "models/stories260K", &m)) return;
    const struct cpr_model_config *c = &m.cfg;
    CPR_CHECK(t, c->hidden == 64 && c->intermediate == 172 && c->n_layers == 5 &&
                     c->n_heads == 8 && c->n_kv_heads == 4 && c->head_dim == 8 &&
                     c->vocab == 512 && c->context == 512,
              "stories260K sizes");
    CPR_CHECK(t, c->norm_eps == 1e-5f && c->rope_theta == 10000.0 &&
                     c->rope_style == CPR_ROPE_INTERLEAVED && c->tied_embeddings &&
                     c->bos_id == 1 && c->eos_id == 2 && !c->qkv_bias,
              "stories260K conventions");
    CPR_CHECK(t, !strcmp(m.format, "llama2c") && m.lm_head.data == m.tok_embed.data &&
                     m.tok_embed.readonly && !m.tok_embed.owns_data &&
                     m.layers[4].w_down.shape[0] == 64 && m.layers[4].w_down.shape[1] == 172,
              "views");
    CPR_CHECK(t, cpr_model_total_params(&m) == 260032, "params %lld",
              (long long)cpr_model_total_params(&m));
    check_fixtures(t, &m, "stories260K");
    cpr_model_free(&m);
    // The checkpoint file itself loads the same.
    if (!load_shared(t, "models/stories260K/stories260K.bin", &m)) return;
    check_fixtures(t, &m, "stories260K");
    cpr_model_free(&m);
}

static void test_load_tinystories656k(struct cpr_test_ctx *t) {
    struct cpr_model m;
    if (!load_shared(t, "models/tinystories-656k", &m)) return;
    const struct cpr_model_config *c = &m.cfg;
    CPR_CHECK(t, c->arch == CPR_ARCH_LLAMA && c->hidden == 128 && c->intermediate == 384 &&
                     c->n_layers == 2 && c->n_heads == 8 && c->n_kv_heads == 4 &&
                     c->head_dim == 16 && c->vocab == 2048 && c->context == 512,
              "656k sizes");
    CPR_CHECK(t, c->norm_eps == 1e-6f && c->rope_theta == 10000.0 &&
                     c->rope_style == CPR_ROPE_HALF && c->tied_embeddings &&
                     c->bos_id == 1 && c->eos_id == 2,
              "656k conventions");
    // Only lm_head.weight is stored: it serves as the embedding too.
    CPR_CHECK(t, m.lm_head.data == m.tok_embed.data && !strcmp(m.format, "hf-safetensors"),
              "tied via lm_head.weight");
    check_fixtures(t, &m, "tinystories-656k");
    cpr_model_free(&m);
}

static void test_tokenizer_and_sha(struct cpr_test_ctx *t) {
    char p[1024], tok[1024], hex[65];
    struct cpr_err e = {0};
    enum cpr_tokenizer_kind k;
    cpr_test_data_path("models/stories260K", p, sizeof p);
    if (!cpr_path_is_dir(p)) {
        cpr_test_skip(t, "shared models not present");
        return;
    }
    CPR_CHECK_STATUS(t, cpr_model_find_tokenizer(p, tok, sizeof tok, &k, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, k == CPR_TOKENIZER_LLAMA2C && strstr(tok, "tok512.bin"), "got %s", tok);
    CPR_CHECK_STATUS(t, cpr_model_sha256(p, hex, &e), CPR_OK, &e, NULL);
    // = `sha256sum stories260K.bin` (also listed in shared/SHA256SUMS)
    CPR_CHECK(t, !strcmp(hex, "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696"),
              "sha %s", hex);
    cpr_test_data_path("models/tinystories-656k", p, sizeof p);
    CPR_CHECK_STATUS(t, cpr_model_find_tokenizer(p, tok, sizeof tok, &k, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, k == CPR_TOKENIZER_HF_JSON && strstr(tok, "tinystories-656k/tokenizer.json"),
              "got %s", tok);
    CPR_CHECK_STATUS(t, cpr_model_sha256(p, hex, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, !strcmp(hex, "187d0d5e8360d9625e40e0b35ec57d1ef0eea1a60ddcf09412246bed3484852f"),
              "sha %s", hex);
    // The same digests through the loaded models' own mappings (what
    // `cprune eval` records, hashing before its timer), llama2.c and HF.
    static const char *const loaded[][2] = {
        {"models/stories260K", "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696"},
        {"models/tinystories-656k", "187d0d5e8360d9625e40e0b35ec57d1ef0eea1a60ddcf09412246bed3484852f"},
    };
    for (int i = 0; i < 2; i++) {
        struct cpr_model m;
        cpr_test_data_path(loaded[i][0], p, sizeof p);
        CPR_CHECK_STATUS(t, cpr_model_load(p, &m, &e), CPR_OK, &e, NULL);
        char h2[65] = "";
        // eval's touch without a hash (one load per page) reads the same
        // mappings and leaves them as they were: the digest after it agrees
        CPR_CHECK_STATUS(t, cpr_model_touch_loaded(&m, &e), CPR_OK, &e, NULL);
        CPR_CHECK_STATUS(t, cpr_model_sha256_loaded(&m, h2, &e), CPR_OK, &e, NULL);
        CPR_CHECK(t, !strcmp(h2, loaded[i][1]), "%s loaded sha %s", loaded[i][0], h2);
        cpr_model_free(&m);
    }
    {   // a model not from cpr_model_load has no mappings to hash or touch
        struct cpr_model m = {0};
        CPR_CHECK_STATUS(t, cpr_model_sha256_loaded(&m, hex, &e), CPR_ERR_ARG, &e,
                         "not loaded by cpr_model_load");
        CPR_CHECK_STATUS(t, cpr_model_touch_loaded(&m, &e), CPR_ERR_ARG, &e,
                         "not loaded by cpr_model_load");
    }
    // FIPS 180-4 known answers, incl. a multi-block streamed message.
    unsigned char d[32];
    cpr_sha256("abc", 3, d);
    cpr_sha256_hex(d, hex);
    CPR_CHECK(t, !strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "abc");
    cpr_sha256("", 0, d);
    cpr_sha256_hex(d, hex);
    CPR_CHECK(t, !strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "empty");
    struct cpr_sha256 s;
    cpr_sha256_init(&s);
    char a[1001];
    memset(a, 'a', sizeof a);
    for (int i = 0; i < 1000; i++) cpr_sha256_update(&s, a, (size_t)(i % 2 ? 999 : 1001));
    cpr_sha256_final(&s, d);
    cpr_sha256_hex(d, hex);
    CPR_CHECK(t, !strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
              "million a: %s", hex);
}

// ---- config.json hardening ----

#define BASE "\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64," \
             "\"intermediate_size\":128,\"num_hidden_layers\":2,"           \
             "\"num_attention_heads\":4,\"vocab_size\":100"

static void test_config(struct cpr_test_ctx *t) {
    static const struct {
        const char *json;
        enum cpr_status want;
        const char *needle;
    } cases[] = {
        {"{\"architectures\":[\"BloomForCausalLM\"]}", CPR_ERR_UNSUPPORTED, "unknown architecture 'BloomForCausalLM'"},
        {"{\"model_type\":\"bert\"}", CPR_ERR_UNSUPPORTED, "unknown architecture 'bert'"},
        {"{\"architectures\":[\"BloomForCausalLM\"],\"model_type\":\"bloom\"}", CPR_ERR_UNSUPPORTED,
         "'BloomForCausalLM', model_type 'bloom' (supported model_types: llama, mistral, "
         "qwen2, opt, qwen3, gemma, gpt_neox, gpt2)"},
        {"{\"model_type\":\"gpt2\",\"scale_attn_by_inverse_layer_idx\":true}", CPR_ERR_UNSUPPORTED,
         "GPT-2 variant not supported: scale_attn_by_inverse_layer_idx is true"},
        {"{\"model_type\":\"gpt2\",\"activation_function\":\"silu\"}", CPR_ERR_UNSUPPORTED,
         "activation_function 'silu' is not supported for gpt2"},
        {"{\"model_type\":\"gpt_neox\",\"rope_scaling\":{\"type\":\"linear\"}}", CPR_ERR_UNSUPPORTED,
         "gpt_neox rope_scaling is not supported"},
        {"{\"model_type\":\"gpt_neox\",\"rotary_pct\":0.01,\"hidden_size\":64,"
         "\"num_attention_heads\":4}", CPR_ERR_UNSUPPORTED, "rotary_pct 0.01 gives 0 rotary dims"},
        {"{\"model_type\":\"gpt_neox\",\"hidden_size\":65,\"num_attention_heads\":4}",
         CPR_ERR_FORMAT, "hidden_size 65 is not a multiple of num_attention_heads 4"},
        {"{\"model_type\":\"gemma\",\"hidden_activation\":\"gelu\"}", CPR_ERR_UNSUPPORTED,
         "hidden_activation 'gelu' is not supported for gemma"},
        {"{\"model_type\":\"qwen3\",\"attention_bias\":true}", CPR_ERR_UNSUPPORTED,
         "Qwen3 with q/k/v/o biases is not supported"},
        {"{\"model_type\":\"qwen3\",\"use_sliding_window\":true}", CPR_ERR_UNSUPPORTED,
         "use_sliding_window is true"},
        {"{\"model_type\":\"opt\",\"activation_function\":\"gelu\"}", CPR_ERR_UNSUPPORTED,
         "OPT variant not supported: activation_function is not relu"},
        {"{\"model_type\":\"opt\",\"do_layer_norm_before\":false}", CPR_ERR_UNSUPPORTED,
         "do_layer_norm_before is false"},
        {"{\"model_type\":\"opt\",\"word_embed_proj_dim\":512}", CPR_ERR_UNSUPPORTED,
         "word_embed_proj_dim differs"},
        {"{" BASE ",\"hidden_size\":-64}", CPR_ERR_FORMAT, "\"hidden_size\" must be in [1, 1048576], found -64"},
        {"{" BASE ",\"hidden_size\":\"64\"}", CPR_ERR_FORMAT, "\"hidden_size\" must be an integer in [1, 1048576], found string"},
        {"{" BASE ",\"num_hidden_layers\":2.5}", CPR_ERR_FORMAT, "\"num_hidden_layers\" must be an integer in [1, 4096], found a non-integer number"},
        {"{" BASE ",\"vocab_size\":1000000000000}", CPR_ERR_FORMAT, "\"vocab_size\" must be in [1, 16777216], found 1000000000000"},
        {"{" BASE ",\"rms_norm_eps\":NaN}", CPR_ERR_FORMAT, "line 1 col"},
        {"{" BASE ",\"rms_norm_eps\":0}", CPR_ERR_FORMAT, "\"rms_norm_eps\" must be in (0, 1], found 0"},
        {"{" BASE ",\"rms_norm_eps\":-1e-5}", CPR_ERR_FORMAT, "rms_norm_eps"},
        {"{" BASE ",\"rope_theta\":1e300}", CPR_ERR_FORMAT, "\"rope_theta\" must be in (0, 1e+12], found 1e+300"},
        {"{" BASE ",\"rope_theta\":1e999}", CPR_ERR_FORMAT, "number too large"},
        {"{" BASE ",\"num_key_value_heads\":3}", CPR_ERR_FORMAT, "num_attention_heads 4 is not a multiple of num_key_value_heads 3"},
        {"{" BASE ",\"head_dim\":15}", CPR_ERR_FORMAT, "head_dim 15 must be even"},
        {"{" BASE ",\"hidden_act\":\"gelu\"}", CPR_ERR_UNSUPPORTED, "hidden_act 'gelu'"},
        {"{" BASE ",\"tie_word_embeddings\":1}", CPR_ERR_FORMAT, "\"tie_word_embeddings\" must be true or false"},
        // LLaMA's attention_bias / mlp_bias load (hf-padded outputs); other
        // LLaMA-like families without those switches refuse them
        {"{\"architectures\":[\"MistralForCausalLM\"],\"hidden_size\":64,"
         "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
         "\"vocab_size\":100,\"attention_bias\":true}", CPR_ERR_UNSUPPORTED, "attention_bias"},
        {"{" BASE ",\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}}", CPR_ERR_UNSUPPORTED, "rope_scaling type 'yarn'"},
        {"{" BASE ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8}}", CPR_ERR_FORMAT, "llama3 rope_scaling needs"},
        {"{" BASE ",\"bos_token_id\":100}", CPR_ERR_FORMAT, "below vocab_size 100"},
        {"{" BASE ",\"eos_token_id\":-5}", CPR_ERR_FORMAT, "\"eos_token_id\" must be a token id"},
        {"[1]", CPR_ERR_FORMAT, "expected a JSON object"},
        {"{" BASE "", CPR_ERR_FORMAT, "expected ',' or '}' found end of input"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cpr_model_config c;
        struct cpr_err e = {0};
        enum cpr_status s = cpr_hf_config_parse(cases[i].json, strlen(cases[i].json),
                                                "config.json", &c, &e);
        if (s != cases[i].want || !strstr(e.msg, cases[i].needle) ||
            strncmp(e.msg, "config.json", 11))
            CPR_CHECK(t, 0, "case %zu: got %s '%s', want %s '%s'", i, cpr_status_str(s),
                      e.msg, cpr_status_str(cases[i].want), cases[i].needle);
    }
    // Defaults per architecture, llama3 rope scaling, eos lists.
    struct cpr_model_config c;
    struct cpr_err e = {0};
    {
        const char *lb = "{" BASE ",\"attention_bias\":true,\"mlp_bias\":true}";
        enum cpr_status s = cpr_hf_config_parse(lb, strlen(lb), "config.json", &c, &e);
        CPR_CHECK(t, s == CPR_OK && c.qkv_bias == 1 && c.mlp_bias == 1,
                  "llama attention_bias/mlp_bias: %s %s", cpr_status_str(s), e.msg);
    }
    const char *q = "{\"architectures\":[\"Qwen2ForCausalLM\"],\"hidden_size\":64,"
                    "\"num_attention_heads\":4,\"num_hidden_layers\":1,"
                    "\"intermediate_size\":8,\"vocab_size\":1000,\"eos_token_id\":[7,8]}";
    CPR_CHECK_STATUS(t, cpr_hf_config_parse(q, strlen(q), "q", &c, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, c.arch == CPR_ARCH_QWEN2 && c.qkv_bias && c.n_kv_heads == 4 &&
                     c.head_dim == 16 && c.bos_id == -1 && c.eos_id == 7 &&
                     c.context == 32768 && !c.tied_embeddings && c.norm_eps == 1e-6f,
              "qwen2 defaults");
    const char *l3 = "{" BASE ",\"rope_theta\":500000.0,\"rope_scaling\":{\"rope_type\":\"llama3\","
                     "\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
                     "\"original_max_position_embeddings\":8192},\"num_key_value_heads\":2}";
    CPR_CHECK_STATUS(t, cpr_hf_config_parse(l3, strlen(l3), "l3", &c, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, c.rope_scaling == CPR_ROPE_SCALING_LLAMA3 && c.rope_factor == 8.0 &&
                     c.rope_high_freq_factor == 4.0 && c.rope_orig_context == 8192 &&
                     c.rope_theta == 500000.0 && c.n_kv_heads == 2 && c.context == 2048 &&
                     c.bos_id == 1 && c.eos_id == 2,
              "llama3 + llama defaults");
    const char *mi = "{\"architectures\":[\"MistralForCausalLM\"],\"hidden_size\":64,"
                     "\"num_attention_heads\":16,\"vocab_size\":100}";
    CPR_CHECK_STATUS(t, cpr_hf_config_parse(mi, strlen(mi), "m", &c, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, c.arch == CPR_ARCH_MISTRAL && c.n_kv_heads == 8 && c.head_dim == 4,
              "mistral defaults");
    // Writer -> parser round trip.
    struct cpr_jw w;
    cpr_jw_init(&w, 2);
    struct cpr_model_config c2;
    cpr_hf_config_parse(l3, strlen(l3), "l3", &c, &e);
    cpr_hf_config_write(&c, "bfloat16", &w);
    CPR_CHECK_STATUS(t, cpr_jw_finish(&w, &e), CPR_OK, &e, NULL);
    CPR_CHECK_STATUS(t, cpr_hf_config_parse(w.buf, w.len, "w", &c2, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, !memcmp(&c, &c2, sizeof c), "config round trip");
    cpr_jw_free(&w);
}

// ---- llama2.c hardening ----

// A small valid checkpoint image (dim 8, hidden 16, 2 layers, 2 heads, 1
// kv head, vocab v (negative: untied), seq 4) with weights w[i] = i.
static unsigned char *make_ckpt(int32_t vocab, size_t *size) {
    int32_t h[7] = {8, 16, 2, 2, 1, vocab, 4};
    int64_t V = vocab < 0 ? -vocab : vocab, d = 8, hd = 16, L = 2, kv = 4;
    int64_t nf = V * d + L * d + L * d * d + 2 * L * kv * d + L * d * d + L * d +
                 3 * L * d * hd + d + 2 * (4 * 4 / 2) + (vocab < 0 ? V * d : 0);
    *size = 28 + 4 * (size_t)nf;
    unsigned char *b = malloc(*size);
    memcpy(b, h, 28);
    for (int64_t i = 0; i < nf; i++) {
        float f = (float)i;
        memcpy(b + 28 + 4 * i, &f, 4);
    }
    return b;
}

static void test_llama2c(struct cpr_test_ctx *t) {
    char dir[256], p[600];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    size_t n;
    unsigned char *good = make_ckpt(-10, &n);
    struct cpr_model m;
    struct cpr_err e = {0};
    // Untied: lm_head is the trailing wcls block after freq_cis.
    dt_write(dir, "u.bin", good, n, p, sizeof p);
    CPR_CHECK_STATUS(t, cpr_model_load(p, &m, &e), CPR_OK, &e, NULL);
    if (m.layers) {
        const float *lm = m.lm_head.data, *emb = m.tok_embed.data;
        int64_t wcls = (int64_t)(n - 28) / 4 - 80;
        CPR_CHECK(t, !m.cfg.tied_embeddings && lm != emb && emb[0] == 0.0f &&
                         lm[0] == (float)wcls && lm[79] == (float)(wcls + 79),
                  "untied classifier position");
        CPR_CHECK(t, ((const float *)m.layers[1].wq.data)[0] == 80 + 16 + 64,
                  "layer 1 wq follows layer 0");
        cpr_model_free(&m);
    }
    struct {
        const char *what;
        int field;     // header field to overwrite (-1: none)
        int32_t value;
        long delta;    // change of file size
        enum cpr_status want;
        const char *needle;
    } cases[] = {
        {"truncated by 4 bytes", -1, 0, -4, CPR_ERR_FORMAT, "implies"},
        {"one extra byte", -1, 0, 1, CPR_ERR_FORMAT, "implies"},
        {"dim 0", 0, 0, 0, CPR_ERR_FORMAT, "dim = 0 is out of range"},
        {"negative layers", 2, -2, 0, CPR_ERR_FORMAT, "n_layers = -2"},
        {"huge hidden", 1, 0x7fffffff, 0, CPR_ERR_FORMAT, "hidden_dim = 2147483647"},
        {"vocab 0", 5, 0, 0, CPR_ERR_FORMAT, "vocab_size = 0"},
        {"vocab INT32_MIN", 5, INT32_MIN, 0, CPR_ERR_FORMAT, "vocab_size"},
        {"heads not dividing dim", 3, 3, 0, CPR_ERR_FORMAT, "multiple of n_heads 3"},
        {"odd head size", 3, 8, 0, CPR_ERR_FORMAT, "even head size"},
        {"kv not dividing heads", 4, 3, 0, CPR_ERR_FORMAT, "not a multiple of n_kv_heads 3"},
        {"seq_len negative", 6, -1, 0, CPR_ERR_FORMAT, "seq_len = -1"},
        {"version-1 magic", 0, 0x616b3432, 0, CPR_ERR_UNSUPPORTED, "magic \"ak42\""},
        {"27 bytes", -1, 0, -(long)n + 27, CPR_ERR_FORMAT, "too short for the 28-byte"},
        {"zero-length", -1, 0, -(long)n, CPR_ERR_FORMAT, "0 bytes is too short"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t sz = (size_t)((long)n + cases[i].delta);
        unsigned char *b = calloc(sz + 1, 1);
        memcpy(b, good, sz < n ? sz : n);
        if (cases[i].field >= 0) memcpy(b + 4 * cases[i].field, &cases[i].value, 4);
        dt_write(dir, "bad.bin", b, sz, p, sizeof p);
        enum cpr_status s = cpr_model_load(p, &m, &e);
        if (s != cases[i].want || !strstr(e.msg, cases[i].needle) || !strstr(e.msg, "bad.bin"))
            CPR_CHECK(t, 0, "%s: got %s '%s'", cases[i].what, cpr_status_str(s), e.msg);
        CPR_CHECK(t, m.layers == NULL && m.backing == NULL, "%s: model left allocated",
                  cases[i].what);
        free(b);
    }
    // Directory resolution: two checkpoints -> ARG; none -> NOTFOUND.
    char sub[600];
    snprintf(sub, sizeof sub, "%s/two", dir);
    mkdir(sub, 0755);
    dt_write(sub, "a.bin", good, n, NULL, 0);
    dt_write(sub, "b.bin", good, n, NULL, 0);
    CPR_CHECK_STATUS(t, cpr_model_load(sub, &m, &e), CPR_ERR_ARG, &e, "holds 2 llama2.c checkpoints");
    snprintf(sub, sizeof sub, "%s/none", dir);
    mkdir(sub, 0755);
    dt_write(sub, "tok.bin", "\x07\0\0\0", 4, NULL, 0);
    CPR_CHECK_STATUS(t, cpr_model_load(sub, &m, &e), CPR_ERR_NOTFOUND, &e,
                     "none of its 1 .bin files is a valid llama2.c checkpoint");
    // Checkpoint + tokenizer: the .bin that is not a checkpoint is the tokenizer.
    dt_write(sub, "model.bin", good, n, NULL, 0);
    CPR_CHECK_STATUS(t, cpr_model_load(sub, &m, &e), CPR_OK, &e, NULL);
    cpr_model_free(&m);
    char tok[1024];
    enum cpr_tokenizer_kind k;
    CPR_CHECK_STATUS(t, cpr_model_find_tokenizer(sub, tok, sizeof tok, &k, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, strstr(tok, "/none/tok.bin") && k == CPR_TOKENIZER_LLAMA2C, "tokenizer %s", tok);
    snprintf(p, sizeof p, "%s/nope", dir);
    CPR_CHECK_STATUS(t, cpr_model_load(p, &m, &e), CPR_ERR_NOTFOUND, &e, "does not exist");
    free(good);
    dt_rmtree(dir);
}

// ---- HF directories with broken contents ----

static void test_hf_broken(struct cpr_test_ctx *t) {
    char src[1024], dir[256], p[600];
    cpr_test_data_path("models/tinystories-656k/config.json", src, sizeof src);
    size_t clen;
    unsigned char *cfg = dt_read(src, &clen);
    if (!cfg) {
        cpr_test_skip(t, "shared models not present");
        return;
    }
    if (dt_mkdtemp(dir, sizeof dir)) return;
    struct cpr_model m;
    struct cpr_err e = {0};
    dt_write(dir, "config.json", cfg, clen, NULL, 0);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &e), CPR_ERR_NOTFOUND, &e,
                     "no model.safetensors");
    // Weights missing model.norm.weight.
    struct cpr_tensor a;
    int64_t sh[2] = {2048, 128};
    cpr_tensor_alloc(&a, CPR_DTYPE_F32, 2, sh, &e);
    struct cpr_st_entry ent = {"lm_head.weight", &a};
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    cpr_safetensors_write(p, &ent, 1, NULL, 0, NULL, 0, &e);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &e), CPR_ERR_NOTFOUND, &e,
                     "missing tensor 'model.norm.weight'");
    // Wrong embedding shape.
    sh[0] = 2047;
    cpr_tensor_free(&a);
    cpr_tensor_alloc(&a, CPR_DTYPE_F32, 2, sh, &e);
    cpr_safetensors_write(p, &ent, 1, NULL, 0, NULL, 0, &e);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &e), CPR_ERR_SHAPE, &e,
                     "'lm_head.weight' has shape (2047, 128), expected (2048, 128)");
    // Untied config: lm_head alone is not enough.
    char c2[4096];
    const char *tie = strstr((const char *)cfg, "\"tie_word_embeddings\": true");
    CPR_CHECK(t, tie != NULL && clen < 4000, "config.json layout changed");
    if (tie)
        snprintf(c2, sizeof c2, "%.*s\"tie_word_embeddings\": false%.*s",
                 (int)(tie - (const char *)cfg), (const char *)cfg,
                 (int)(clen - (size_t)(tie - (const char *)cfg) - 27), tie + 27);
    dt_write(dir, "config.json", c2, strlen(c2), NULL, 0);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &e), CPR_ERR_NOTFOUND, &e,
                     "missing tensor 'model.embed_tokens.weight'");
    // Unknown architecture in config.json.
    const char *bad = "{\"architectures\":[\"FalconForCausalLM\"]}";
    dt_write(dir, "config.json", bad, strlen(bad), NULL, 0);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &e), CPR_ERR_UNSUPPORTED, &e,
                     "FalconForCausalLM");
    dt_write(dir, "config.json", "", 0, NULL, 0);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &e), CPR_ERR_FORMAT, &e,
                     "config.json: line 1 col 1");
    cpr_tensor_free(&a);
    free(cfg);
    dt_rmtree(dir);
}

// ---- save -> load ----

static int same_tensor(const struct cpr_tensor *a, const struct cpr_tensor *b) {
    return a->dtype == b->dtype && a->ndim == b->ndim &&
           !memcmp(a->shape, b->shape, sizeof a->shape) &&
           !memcmp(a->data, b->data, cpr_tensor_nbytes(a));
}

// NLL of a fixed token sequence (skips when the forward is unavailable).
static int nll_of(const struct cpr_model *m, double *nll, int64_t T) {
    struct cpr_forward f;
    struct cpr_err e = {0};
    if (cpr_forward_init(&f, m, NULL, NULL, 1, T, &e) != CPR_OK) return 0;
    int32_t tok[64];
    for (int64_t i = 0; i < T; i++) tok[i] = (int32_t)((i * 37 + 1) % m->cfg.vocab);
    enum cpr_status s = cpr_forward_chunk_nll(&f, tok, 1, T, 0, nll, &e);
    cpr_forward_free(&f);
    return s == CPR_OK;
}

static void test_save_roundtrip(struct cpr_test_ctx *t) {
    char dir[256], out[600];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    struct cpr_model a, b;
    struct cpr_err e = {0};
    const char *meta[] = {"cprune.method", "magnitude", "cprune.sparsity", "0.5"};
    struct cpr_model_save_opts o = {.meta = meta, .n_meta = 2};
    // HF -> HF: every tensor identical, config identical.
    if (load_shared(t, "models/tinystories-656k", &a)) {
        o.tokenizer_from = a.source;
        snprintf(out, sizeof out, "%s/ts", dir);
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&a, out, &o, &e), CPR_OK, &e, NULL);
        CPR_CHECK_STATUS(t, cpr_model_load(out, &b, &e), CPR_OK, &e, NULL);
        if (b.layers) {
            CPR_CHECK(t, !memcmp(&a.cfg, &b.cfg, sizeof a.cfg), "config round trip");
            CPR_CHECK(t, same_tensor(&a.tok_embed, &b.tok_embed) &&
                             same_tensor(&a.final_norm, &b.final_norm) &&
                             b.lm_head.data == b.tok_embed.data, "embeddings");
            for (int64_t l = 0; l < a.cfg.n_layers; l++)
                for (int w = 0; w < CPR_LINEAR_COUNT; w++)
                    CPR_CHECK(t, same_tensor(cpr_model_linear(&a, l, w), cpr_model_linear(&b, l, w)),
                              "layer %lld %s", (long long)l, cpr_linear_name(w));
            char tok[1024];
            enum cpr_tokenizer_kind k;
            CPR_CHECK_STATUS(t, cpr_model_find_tokenizer(out, tok, sizeof tok, &k, &e), CPR_OK, &e, NULL);
            char tp[700];
            snprintf(tp, sizeof tp, "%s/tokenizer_config.json", out);
            CPR_CHECK(t, cpr_path_is_file(tp), "tokenizer_config.json copied");
            struct cpr_safetensors st;
            snprintf(tp, sizeof tp, "%s/model.safetensors", out);
            CPR_CHECK_STATUS(t, cpr_safetensors_open(&st, tp, &e), CPR_OK, &e, NULL);
            const char *fm = cpr_safetensors_meta(&st, "format");
            const char *mm = cpr_safetensors_meta(&st, "cprune.method");
            CPR_CHECK(t, fm && !strcmp(fm, "pt") && mm && !strcmp(mm, "magnitude"),
                      "__metadata__");
            cpr_safetensors_close(&st);
            // Writing into the directory a model was loaded from is refused.
            CPR_CHECK_STATUS(t, cpr_model_save_hf(&b, out, &o, &e), CPR_ERR_ARG, &e,
                             "directory the model was loaded from");
            cpr_model_free(&b);
        }
        // An existing non-empty directory is never merged into; replace
        // swaps only a cprune output (marker: cprune.version).
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&a, dir, &(struct cpr_model_save_opts){0},
                                              &e), CPR_ERR_ARG, &e, "exists and is not empty");
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&a, dir, &(struct cpr_model_save_opts){.replace = 1},
                                              &e), CPR_ERR_ARG, &e, "not a cprune output");
        const char *vmeta[] = {"cprune.version", "test", "cprune.sparsity", "0.5"};
        struct cpr_model_save_opts vo = {.meta = vmeta, .n_meta = 2};
        snprintf(out, sizeof out, "%s/v", dir);
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&a, out, &vo, &e), CPR_OK, &e, NULL);
        CPR_CHECK(t, cpr_model_is_cprune_output(out), "marker written");
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&a, out, &vo, &e), CPR_ERR_ARG, &e,
                         "--force replaces");
        vmeta[3] = "0.6";
        vo.replace = 1;
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&a, out, &vo, &e), CPR_OK, &e, NULL);
        {
            struct cpr_safetensors st;
            char tp[700];
            snprintf(tp, sizeof tp, "%s/model.safetensors", out);
            CPR_CHECK_STATUS(t, cpr_safetensors_open(&st, tp, &e), CPR_OK, &e, NULL);
            const char *sp = cpr_safetensors_meta(&st, "cprune.sparsity");
            CPR_CHECK(t, sp && !strcmp(sp, "0.6"), "replaced (found %s)", sp ? sp : "none");
            cpr_safetensors_close(&st);
        }
        cpr_model_free(&a);
    }
    // llama2.c -> HF: q/k rows permuted to half-split RoPE; the forward
    // pass of the saved model (HF convention) matches the original
    // (interleaved convention).
    if (load_shared(t, "models/stories260K", &a)) {
        o.tokenizer_from = a.source;
        snprintf(out, sizeof out, "%s/s260", dir);
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&a, out, &o, &e), CPR_OK, &e, NULL);
        CPR_CHECK_STATUS(t, cpr_model_load(out, &b, &e), CPR_OK, &e, NULL);
        if (b.layers) {
            struct cpr_model_config ca = a.cfg;
            ca.rope_style = CPR_ROPE_HALF;
            CPR_CHECK(t, !memcmp(&ca, &b.cfg, sizeof ca), "config (eps %g)",
                      (double)b.cfg.norm_eps);
            int64_t hd = a.cfg.head_dim, D = a.cfg.hidden;
            int bad = 0;
            for (int64_t l = 0; l < a.cfg.n_layers; l++) {
                const float *qa = a.layers[l].wq.data, *qb = b.layers[l].wq.data;
                for (int64_t h = 0; h < a.cfg.n_heads; h++)
                    for (int64_t i = 0; i < hd / 2; i++)
                        for (int p = 0; p < 2; p++)
                            bad += memcmp(qb + (h * hd + p * hd / 2 + i) * D,
                                          qa + (h * hd + 2 * i + p) * D, (size_t)D * 4) != 0;
                CPR_CHECK(t, same_tensor(&a.layers[l].wv, &b.layers[l].wv) &&
                                 same_tensor(&a.layers[l].w_down, &b.layers[l].w_down),
                          "unpermuted tensors identical");
            }
            CPR_CHECK(t, bad == 0, "%d permuted q rows wrong", bad);
            char tp[700];
            snprintf(tp, sizeof tp, "%s/tokenizer.bin", out);
            CPR_CHECK(t, cpr_path_is_file(tp), "tokenizer.bin copied");
            double na[31], nb[31];
            if (nll_of(&a, na, 32) && nll_of(&b, nb, 32)) {
                double maxd = 0;
                for (int i = 0; i < 31; i++)
                    if (fabs(na[i] - nb[i]) > maxd) maxd = fabs(na[i] - nb[i]);
                CPR_CHECK(t, maxd < 1e-4, "forward differs after save: max |dNLL| %g", maxd);
                if (t->verbose) printf("    stories260K saved as HF: max |dNLL| %.3g\n", maxd);
                // Control: the permuted weights under the wrong (interleaved)
                // convention must give a different function.
                b.cfg.rope_style = CPR_ROPE_INTERLEAVED;
                double ctl = 0;
                if (nll_of(&b, nb, 32))
                    for (int i = 0; i < 31; i++)
                        if (fabs(na[i] - nb[i]) > ctl) ctl = fabs(na[i] - nb[i]);
                CPR_CHECK(t, ctl > 1e-3, "control: wrong RoPE convention gave |dNLL| %g", ctl);
            } else {
                if (t->verbose) printf("    forward unavailable: NLL check skipped\n");
            }
            cpr_model_free(&b);
        }
        cpr_model_free(&a);
    }
    dt_rmtree(dir);
}

const struct cpr_test cpr_tests_data_model[] = {
    {"load_stories260k", test_load_stories260k, 0},
    {"load_tinystories656k", test_load_tinystories656k, 0},
    {"tokenizer_and_sha", test_tokenizer_and_sha, 0},
    {"config_hardening", test_config, 0},
    {"llama2c_hardening", test_llama2c, 0},
    {"hf_broken_dirs", test_hf_broken, 0},
    {"save_roundtrip", test_save_roundtrip, 0},
    {0},
};
