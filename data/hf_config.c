// data/hf_config.c: config.json reader/writer (see data/hf_config.h).
#include "data/hf_config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/json.h"

// Caps far above any released model, low enough that products of them
// cannot overflow int64 and absurd headers are caught early.
#define MAX_HIDDEN (1 << 20)
#define MAX_INTER (1 << 22)
#define MAX_LAYERS 4096
#define MAX_HEADS 4096
#define MAX_HEAD_DIM 8192
#define MAX_VOCAB (1 << 24)
#define MAX_CONTEXT (1 << 26)

static const struct {
    const char *arch_name, *model_type;
    enum cpr_arch arch;
} archs[] = {
    {"LlamaForCausalLM", "llama", CPR_ARCH_LLAMA},
    {"MistralForCausalLM", "mistral", CPR_ARCH_MISTRAL},
    {"Qwen2ForCausalLM", "qwen2", CPR_ARCH_QWEN2},
    {"OPTForCausalLM", "opt", CPR_ARCH_OPT},
    {"Qwen3ForCausalLM", "qwen3", CPR_ARCH_QWEN3},
    {"GemmaForCausalLM", "gemma", CPR_ARCH_GEMMA},
    {"GPTNeoXForCausalLM", "gpt_neox", CPR_ARCH_GPT_NEOX},
    {"GPT2LMHeadModel", "gpt2", CPR_ARCH_GPT2},
};

const char *cpr_hf_arch_name(enum cpr_arch arch) {
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (archs[i].arch == arch) return archs[i].arch_name;
    return "?";
}

// The config.json key for per-layer shapes (docs/design_model_shapes.md).
#define SHAPES_KEY "cprune_layer_shapes"

// ---- field readers ----

static enum cpr_status get_int(const struct cpr_json *root, const char *key,
                               int64_t lo, int64_t hi, int64_t *out,
                               const char *name, struct cpr_err *err);
static enum cpr_status get_bool(const struct cpr_json *root, const char *key,
                                int *out, const char *name,
                                struct cpr_err *err);

// Mistral: "sliding_window" (HF MistralConfig's default 4096 when absent;
// null = full causal attention). Qwen2: a window only applies with
// use_sliding_window, to layers from max_window_layers on, which this
// forward does not implement: refused rather than ignored. LLaMA has none.
static enum cpr_status parse_sliding_window(const struct cpr_json *r,
                                            struct cpr_model_config *c,
                                            const char *name,
                                            struct cpr_err *err) {
    c->block.sliding_window = 0;
    if (c->arch == CPR_ARCH_MISTRAL) {
        const struct cpr_json *v = cpr_json_get(r, "sliding_window");
        if (!v) c->block.sliding_window = 4096;
        else if (v->type != CPR_JSON_NULL)
            CPR_TRY(get_int(r, "sliding_window", 1, MAX_CONTEXT,
                            &c->block.sliding_window, name, err));
    } else if (c->arch == CPR_ARCH_QWEN2 || c->arch == CPR_ARCH_QWEN3) {
        int use = 0;
        CPR_TRY(get_bool(r, "use_sliding_window", &use, name, err));
        if (use)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: "
                               "use_sliding_window is true; Qwen2/Qwen3's "
                               "per-layer sliding window is not supported",
                               name);
    }
    return CPR_OK;
}

// Integer field in [lo, hi]; absent or null keeps *out (the default).
static enum cpr_status get_int(const struct cpr_json *root, const char *key,
                               int64_t lo, int64_t hi, int64_t *out,
                               const char *name, struct cpr_err *err) {
    const struct cpr_json *v = cpr_json_get(root, key);
    if (!v || v->type == CPR_JSON_NULL) return CPR_OK;
    if (v->type != CPR_JSON_NUMBER || !v->is_int)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: \"%s\" must be an integer in [%lld, %lld], "
                           "found %s%s", name, key, (long long)lo, (long long)hi,
                           v->type == CPR_JSON_NUMBER ? "a non-integer number "
                                                      : "",
                           v->type == CPR_JSON_NUMBER ? "" : cpr_json_type_name(v));
    if (v->i < lo || v->i > hi)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: \"%s\" must be in [%lld, %lld], found %lld",
                           name, key, (long long)lo, (long long)hi,
                           (long long)v->i);
    *out = v->i;
    return CPR_OK;
}

// Finite number field in (lo, hi]; absent or null keeps *out.
static enum cpr_status get_num(const struct cpr_json *root, const char *key,
                               double lo, double hi, double *out,
                               const char *name, struct cpr_err *err) {
    const struct cpr_json *v = cpr_json_get(root, key);
    if (!v || v->type == CPR_JSON_NULL) return CPR_OK;
    if (v->type != CPR_JSON_NUMBER)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: \"%s\" must be a number in (%g, %g], found %s",
                           name, key, lo, hi, cpr_json_type_name(v));
    if (!(v->num > lo && v->num <= hi))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: \"%s\" must be in (%g, %g], found %g", name, key,
                           lo, hi, v->num);
    *out = v->num;
    return CPR_OK;
}

static enum cpr_status get_bool(const struct cpr_json *root, const char *key,
                                int *out, const char *name,
                                struct cpr_err *err) {
    const struct cpr_json *v = cpr_json_get(root, key);
    if (!v || v->type == CPR_JSON_NULL) return CPR_OK;
    if (v->type != CPR_JSON_BOOL)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: \"%s\" must be true or false, found %s", name,
                           key, cpr_json_type_name(v));
    *out = v->boolean;
    return CPR_OK;
}

// bos/eos: an integer, null, or (eos in Llama 3) a list whose first entry
// is used.
static enum cpr_status get_token_id(const struct cpr_json *root,
                                    const char *key, int32_t *out,
                                    const char *name, struct cpr_err *err) {
    const struct cpr_json *v = cpr_json_get(root, key);
    if (!v) return CPR_OK;
    if (v->type == CPR_JSON_NULL) {
        *out = -1;
        return CPR_OK;
    }
    if (v->type == CPR_JSON_ARRAY && v->len > 0) v = v->items[0];
    if (v->type != CPR_JSON_NUMBER || !v->is_int || v->i < 0 ||
        v->i >= MAX_VOCAB)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: \"%s\" must be a token id (integer >= 0) or "
                           "null, found %s", name, key, cpr_json_type_name(v));
    *out = (int32_t)v->i;
    return CPR_OK;
}

static enum cpr_status parse_rope_scaling(const struct cpr_json *root,
                                          struct cpr_model_config *c,
                                          const char *name,
                                          struct cpr_err *err) {
    const struct cpr_json *rs = cpr_json_get(root, "rope_scaling");
    c->rope_scaling = CPR_ROPE_SCALING_NONE;
    if (!rs || rs->type == CPR_JSON_NULL) return CPR_OK;
    if (rs->type != CPR_JSON_OBJECT)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: \"rope_scaling\" must be an object or null, "
                           "found %s", name, cpr_json_type_name(rs));
    // transformers accepts "rope_type" and the older "type".
    const struct cpr_json *ty = cpr_json_get(rs, "rope_type");
    if (!ty) ty = cpr_json_get(rs, "type");
    if (!cpr_json_is(ty, CPR_JSON_STRING))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: \"rope_scaling\" needs a string \"rope_type\"",
                           name);
    if (cpr_json_str_eq(ty, "default")) return CPR_OK;
    if (!cpr_json_str_eq(ty, "llama3"))
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "%s: rope_scaling type '%.40s' is not supported "
                           "(supported: default, llama3)", name, ty->str);
    c->rope_scaling = CPR_ROPE_SCALING_LLAMA3;
    c->rope_factor = NAN;
    c->rope_low_freq_factor = NAN;
    c->rope_high_freq_factor = NAN;
    c->rope_orig_context = -1;
    CPR_TRY(get_num(rs, "factor", 0, 1e6, &c->rope_factor, name, err));
    CPR_TRY(get_num(rs, "low_freq_factor", 0, 1e6, &c->rope_low_freq_factor,
                    name, err));
    CPR_TRY(get_num(rs, "high_freq_factor", 0, 1e6, &c->rope_high_freq_factor,
                    name, err));
    CPR_TRY(get_int(rs, "original_max_position_embeddings", 1, MAX_CONTEXT,
                    &c->rope_orig_context, name, err));
    if (isnan(c->rope_factor) || isnan(c->rope_low_freq_factor) ||
        isnan(c->rope_high_freq_factor) || c->rope_orig_context < 0)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: llama3 rope_scaling needs factor, "
                           "low_freq_factor, high_freq_factor and "
                           "original_max_position_embeddings", name);
    if (c->rope_high_freq_factor <= c->rope_low_freq_factor)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: rope_scaling high_freq_factor %g must exceed "
                           "low_freq_factor %g", name, c->rope_high_freq_factor,
                           c->rope_low_freq_factor);
    return CPR_OK;
}

static void set_defaults(struct cpr_model_config *c, enum cpr_arch arch) {
    memset(c, 0, sizeof *c);
    c->arch = arch;
    c->rope_style = CPR_ROPE_HALF;
    c->rope_theta = 10000.0;
    c->norm_eps = 1e-6f;
    c->n_layers = 32;
    c->n_heads = 32;
    c->hidden = 4096;
    switch (arch) {
    case CPR_ARCH_LLAMA:
        c->vocab = 32000, c->intermediate = 11008, c->context = 2048;
        c->bos_id = 1, c->eos_id = 2;
        break;
    case CPR_ARCH_MISTRAL:
        c->vocab = 32000, c->intermediate = 14336, c->context = 4096 * 32;
        c->n_kv_heads = 8, c->bos_id = 1, c->eos_id = 2;
        break;
    case CPR_ARCH_QWEN2:
        c->vocab = 151936, c->intermediate = 22016, c->context = 32768;
        c->n_kv_heads = 32, c->bos_id = -1, c->eos_id = -1, c->qkv_bias = 1;
        break;
    case CPR_ARCH_QWEN3: // Qwen3Config's defaults
        c->vocab = 151936, c->intermediate = 22016, c->context = 32768;
        c->n_kv_heads = 32, c->head_dim = 128, c->bos_id = -1;
        c->eos_id = -1, c->block.qk_norm = 1;
        break;
    case CPR_ARCH_GEMMA: // GemmaConfig's defaults (Gemma-7B)
        c->vocab = 256000, c->hidden = 3072, c->intermediate = 24576;
        c->n_layers = 28, c->n_heads = 16, c->n_kv_heads = 16;
        c->head_dim = 256, c->context = 8192, c->bos_id = 2, c->eos_id = 1;
        c->tied_embeddings = 1;
        c->block.norm = CPR_NORM_RMS_1P, c->block.mlp = CPR_MLP_GEGLU_TANH;
        break;
    case CPR_ARCH_OPT: // OPTConfig's defaults (OPT-125M)
        c->vocab = 50272, c->hidden = 768, c->n_layers = 12, c->n_heads = 12;
        c->intermediate = 3072, c->context = 2048, c->bos_id = 2;
        c->eos_id = 2, c->qkv_bias = 1, c->tied_embeddings = 1;
        c->norm_eps = 1e-5f; // nn.LayerNorm's default
        c->block = (struct cpr_block_spec){
            .norm = CPR_NORM_LAYER, .pos = CPR_POS_LEARNED,
            .mlp = CPR_MLP_RELU, .pos_offset = 2};
        break;
    case CPR_ARCH_GPT_NEOX: // GPTNeoXConfig's defaults (GPT-NeoX-20B)
        c->vocab = 50432, c->hidden = 6144, c->n_layers = 44, c->n_heads = 64;
        c->intermediate = 24576, c->context = 2048, c->bos_id = 0;
        c->eos_id = 2, c->qkv_bias = 1, c->norm_eps = 1e-5f;
        c->block = (struct cpr_block_spec){
            .norm = CPR_NORM_LAYER, .mlp = CPR_MLP_GELU,
            .resid = CPR_RESID_PARALLEL, .qkv = CPR_QKV_FUSED_HEADS};
        break;
    case CPR_ARCH_GPT2: // GPT2Config's defaults (GPT-2 124M)
        c->vocab = 50257, c->hidden = 768, c->n_layers = 12, c->n_heads = 12;
        c->intermediate = 0 /* n_inner: 4 * n_embd */, c->context = 1024;
        c->bos_id = 50256, c->eos_id = 50256, c->qkv_bias = 1;
        c->tied_embeddings = 1, c->norm_eps = 1e-5f;
        c->block = (struct cpr_block_spec){
            .norm = CPR_NORM_LAYER, .pos = CPR_POS_LEARNED,
            .mlp = CPR_MLP_GELU_TANH, .qkv = CPR_QKV_FUSED_CONCAT};
        break;
    }
}

// A GELU-family activation name: "gelu" is exact (erf), "gelu_new",
// "gelu_pytorch_tanh" and "gelu_fast" the tanh approximation, "relu" ReLU.
static int parse_gelu_name(const char *act, enum cpr_mlp_kind *out) {
    if (!strcmp(act, "gelu")) *out = CPR_MLP_GELU;
    else if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh") ||
             !strcmp(act, "gelu_fast"))
        *out = CPR_MLP_GELU_TANH;
    else if (!strcmp(act, "relu")) *out = CPR_MLP_RELU;
    else return 0;
    return 1;
}

static enum cpr_status heads_divide(const struct cpr_model_config *c,
                                    const char *name, const char *hkey,
                                    const char *nkey, struct cpr_err *err) {
    if (c->hidden % c->n_heads != 0)
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s: %s %lld is not a "
                           "multiple of %s %lld", name, hkey,
                           (long long)c->hidden, nkey, (long long)c->n_heads);
    return CPR_OK;
}

// GPTNeoXConfig (Pythia): fused per-head qkv, partial rotary (rotary_pct
// or partial_rotary_factor; rotary_emb_base or rope_theta), parallel or
// sequential residual, attention_bias; rope_scaling is refused.
static enum cpr_status parse_gpt_neox(const struct cpr_json *r,
                                      struct cpr_model_config *c,
                                      const char *name, struct cpr_err *err) {
    double eps = c->norm_eps, pct = 0.25;
    int par = 1;
    CPR_TRY(get_int(r, "hidden_size", 1, MAX_HIDDEN, &c->hidden, name, err));
    CPR_TRY(get_int(r, "intermediate_size", 1, MAX_INTER, &c->intermediate,
                    name, err));
    CPR_TRY(get_int(r, "num_hidden_layers", 1, MAX_LAYERS, &c->n_layers, name,
                    err));
    CPR_TRY(get_int(r, "num_attention_heads", 1, MAX_HEADS, &c->n_heads, name,
                    err));
    CPR_TRY(get_int(r, "vocab_size", 1, MAX_VOCAB, &c->vocab, name, err));
    CPR_TRY(get_int(r, "max_position_embeddings", 1, MAX_CONTEXT, &c->context,
                    name, err));
    CPR_TRY(get_num(r, "rotary_pct", 0, 1, &pct, name, err));
    // newer transformers name it partial_rotary_factor
    CPR_TRY(get_num(r, "partial_rotary_factor", 0, 1, &pct, name, err));
    CPR_TRY(get_num(r, "rope_theta", 0, 1e12, &c->rope_theta, name, err));
    CPR_TRY(get_num(r, "rotary_emb_base", 0, 1e12, &c->rope_theta, name, err));
    CPR_TRY(get_num(r, "layer_norm_eps", 0, 1, &eps, name, err));
    CPR_TRY(get_bool(r, "use_parallel_residual", &par, name, err));
    CPR_TRY(get_bool(r, "attention_bias", &c->qkv_bias, name, err));
    CPR_TRY(get_bool(r, "tie_word_embeddings", &c->tied_embeddings, name, err));
    CPR_TRY(get_token_id(r, "bos_token_id", &c->bos_id, name, err));
    CPR_TRY(get_token_id(r, "eos_token_id", &c->eos_id, name, err));
    const char *act = cpr_json_get_str(r, "hidden_act", "gelu");
    if (!parse_gelu_name(act, &c->block.mlp))
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: hidden_act '%.40s' "
                           "is not supported for gpt_neox (expected gelu, "
                           "gelu_new, gelu_pytorch_tanh, gelu_fast or relu)",
                           name, act);
    const struct cpr_json *rs = cpr_json_get(r, "rope_scaling");
    if (rs && rs->type != CPR_JSON_NULL)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: gpt_neox "
                           "rope_scaling is not supported (expected null)",
                           name);
    CPR_TRY(heads_divide(c, name, "hidden_size", "num_attention_heads", err));
    c->n_kv_heads = c->n_heads;
    c->head_dim = c->hidden / c->n_heads;
    c->norm_eps = (float)eps;
    c->block.resid = par ? CPR_RESID_PARALLEL : CPR_RESID_SEQUENTIAL;
    // HF: rotary_ndims = int(head_size * rotary_pct)
    c->block.rotary_dim = (int64_t)((double)c->head_dim * pct);
    if (c->block.rotary_dim < 2 || c->block.rotary_dim % 2)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: rotary_pct %g gives "
                           "%lld rotary dims of head_dim %lld (need an even "
                           "number >= 2)", name, pct,
                           (long long)c->block.rotary_dim,
                           (long long)c->head_dim);
    if (c->block.rotary_dim == c->head_dim) c->block.rotary_dim = 0;
    return CPR_OK;
}

// GPT2Config: Conv1D weights, learned positions (no offset), n_inner null
// = 4 * n_embd; scale_attn_by_inverse_layer_idx and cross-attention are
// refused, scale_attn_weights false means unscaled scores.
static enum cpr_status parse_gpt2(const struct cpr_json *r,
                                  struct cpr_model_config *c,
                                  const char *name, struct cpr_err *err) {
    double eps = c->norm_eps;
    int scale = 1, by_layer = 0, cross = 0;
    CPR_TRY(get_int(r, "n_embd", 1, MAX_HIDDEN, &c->hidden, name, err));
    CPR_TRY(get_int(r, "n_inner", 1, MAX_INTER, &c->intermediate, name, err));
    CPR_TRY(get_int(r, "n_layer", 1, MAX_LAYERS, &c->n_layers, name, err));
    CPR_TRY(get_int(r, "n_head", 1, MAX_HEADS, &c->n_heads, name, err));
    CPR_TRY(get_int(r, "vocab_size", 1, MAX_VOCAB, &c->vocab, name, err));
    CPR_TRY(get_int(r, "n_positions", 1, MAX_CONTEXT, &c->context, name, err));
    CPR_TRY(get_num(r, "layer_norm_epsilon", 0, 1, &eps, name, err));
    CPR_TRY(get_bool(r, "scale_attn_weights", &scale, name, err));
    CPR_TRY(get_bool(r, "scale_attn_by_inverse_layer_idx", &by_layer, name,
                     err));
    CPR_TRY(get_bool(r, "add_cross_attention", &cross, name, err));
    CPR_TRY(get_bool(r, "tie_word_embeddings", &c->tied_embeddings, name, err));
    CPR_TRY(get_token_id(r, "bos_token_id", &c->bos_id, name, err));
    CPR_TRY(get_token_id(r, "eos_token_id", &c->eos_id, name, err));
    const char *act = cpr_json_get_str(r, "activation_function", "gelu_new");
    if (!parse_gelu_name(act, &c->block.mlp))
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: activation_function "
                           "'%.40s' is not supported for gpt2 (expected "
                           "gelu_new, gelu, gelu_pytorch_tanh, gelu_fast or "
                           "relu)", name, act);
    if (by_layer || cross)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: GPT-2 variant not "
                           "supported: %s is true", name,
                           by_layer ? "scale_attn_by_inverse_layer_idx"
                                    : "add_cross_attention");
    CPR_TRY(heads_divide(c, name, "n_embd", "n_head", err));
    if (c->intermediate == 0) c->intermediate = 4 * c->hidden;
    c->n_kv_heads = c->n_heads;
    c->head_dim = c->hidden / c->n_heads;
    c->norm_eps = (float)eps;
    c->block.attn_scale = scale ? 0.0f : 1.0f;
    return CPR_OK;
}

// OPTConfig: the pre-LN variant with biases and a ReLU MLP is supported
// (OPT-125M ... 66B); OPT-350M's post-LN block and its project_in/out
// (word_embed_proj_dim != hidden_size) are refused, naming the field.
static enum cpr_status parse_opt(const struct cpr_json *r,
                                 struct cpr_model_config *c, const char *name,
                                 struct cpr_err *err) {
    int before = 1, bias = 1, affine = 1, remove_final = 0;
    int64_t proj = -1;
    CPR_TRY(get_int(r, "hidden_size", 1, MAX_HIDDEN, &c->hidden, name, err));
    CPR_TRY(get_int(r, "ffn_dim", 1, MAX_INTER, &c->intermediate, name, err));
    CPR_TRY(get_int(r, "num_hidden_layers", 1, MAX_LAYERS, &c->n_layers, name,
                    err));
    CPR_TRY(get_int(r, "num_attention_heads", 1, MAX_HEADS, &c->n_heads, name,
                    err));
    CPR_TRY(get_int(r, "vocab_size", 1, MAX_VOCAB, &c->vocab, name, err));
    CPR_TRY(get_int(r, "max_position_embeddings", 1, MAX_CONTEXT, &c->context,
                    name, err));
    CPR_TRY(get_int(r, "word_embed_proj_dim", 1, MAX_HIDDEN, &proj, name, err));
    CPR_TRY(get_bool(r, "do_layer_norm_before", &before, name, err));
    CPR_TRY(get_bool(r, "enable_bias", &bias, name, err));
    CPR_TRY(get_bool(r, "layer_norm_elementwise_affine", &affine, name, err));
    CPR_TRY(get_bool(r, "_remove_final_layer_norm", &remove_final, name, err));
    CPR_TRY(get_bool(r, "tie_word_embeddings", &c->tied_embeddings, name, err));
    CPR_TRY(get_token_id(r, "bos_token_id", &c->bos_id, name, err));
    CPR_TRY(get_token_id(r, "eos_token_id", &c->eos_id, name, err));
    const char *act = cpr_json_get_str(r, "activation_function", "relu");
    const char *why = NULL;
    if (strcmp(act, "relu") != 0) why = "activation_function is not relu";
    else if (!before) why = "do_layer_norm_before is false (post-LN, OPT-350M)";
    else if (proj >= 0 && proj != c->hidden)
        why = "word_embed_proj_dim differs from hidden_size (project_in/out)";
    else if (!bias) why = "enable_bias is false";
    else if (!affine) why = "layer_norm_elementwise_affine is false";
    else if (remove_final) why = "_remove_final_layer_norm is true";
    if (why)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: OPT variant not "
                           "supported: %s", name, why);
    if (c->hidden % c->n_heads != 0)
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s: hidden_size %lld is not "
                           "a multiple of num_attention_heads %lld", name,
                           (long long)c->hidden, (long long)c->n_heads);
    c->n_kv_heads = c->n_heads;
    c->head_dim = c->hidden / c->n_heads;
    return CPR_OK;
}

// The MLP activation: SiLU for the LLaMA family; Gemma's GeGLU uses
// hidden_activation when set, else (as GemmaMLP did for checkpoints that
// only say hidden_act "gelu") the tanh approximation.
static enum cpr_status parse_act(const struct cpr_json *r,
                                 struct cpr_model_config *c, const char *name,
                                 struct cpr_err *err) {
    if (c->arch == CPR_ARCH_GEMMA) {
        const struct cpr_json *ha = cpr_json_get(r, "hidden_activation");
        const char *key = "hidden_activation";
        if (!cpr_json_is(ha, CPR_JSON_STRING)) {
            ha = cpr_json_get(r, "hidden_act"), key = "hidden_act";
            if (cpr_json_is(ha, CPR_JSON_STRING) && cpr_json_str_eq(ha, "gelu"))
                return CPR_OK; // legacy: tanh approximation
        }
        if (!ha || ha->type == CPR_JSON_NULL) return CPR_OK;
        if (cpr_json_str_eq(ha, "gelu_pytorch_tanh") ||
            cpr_json_str_eq(ha, "gelu_new"))
            return CPR_OK;
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: %s '%.40s' is not "
                           "supported for gemma (expected gelu_pytorch_tanh)",
                           name, key, cpr_json_is(ha, CPR_JSON_STRING)
                                          ? ha->str : cpr_json_type_name(ha));
    }
    const char *act = cpr_json_get_str(r, "hidden_act", "silu");
    if (strcmp(act, "silu") != 0)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: hidden_act '%.40s' "
                           "is not supported (expected silu)", name, act);
    return CPR_OK;
}

// ---- public ----

enum cpr_status cpr_hf_config_parse(const char *json, size_t len,
                                    const char *name,
                                    struct cpr_model_config *cfg,
                                    struct cpr_err *err) {
    struct cpr_json_doc doc;
    CPR_TRY(cpr_json_parse(&doc, json, len, name, 0, err));
    enum cpr_status s = CPR_OK;
    const struct cpr_json *r = doc.root;
    if (r->type != CPR_JSON_OBJECT) {
        s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: expected a JSON object, found "
                        "%s", name, cpr_json_type_name(r));
        goto done;
    }
    const struct cpr_json *ar = cpr_json_at(cpr_json_get(r, "architectures"), 0);
    const struct cpr_json *mt = cpr_json_get(r, "model_type");
    size_t k, na = sizeof archs / sizeof archs[0];
    for (k = 0; k < na; k++) {
        if (ar ? cpr_json_str_eq(ar, archs[k].arch_name)
               : cpr_json_str_eq(mt, archs[k].model_type))
            break;
    }
    if (k == na) {
        const struct cpr_json *what = ar ? ar : mt;
        char list[256];
        size_t o = 0;
        for (size_t i = 0; i < na && o < sizeof list; i++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s",
                                  i ? ", " : "", archs[i].model_type);
        s = cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                        "%s: unknown architecture '%.60s'%s%.40s%s "
                        "(supported model_types: %s)", name,
                        cpr_json_is(what, CPR_JSON_STRING) ? what->str
                                                           : "(none given)",
                        ar && cpr_json_is(mt, CPR_JSON_STRING)
                            ? ", model_type '" : "",
                        ar && cpr_json_is(mt, CPR_JSON_STRING) ? mt->str : "",
                        ar && cpr_json_is(mt, CPR_JSON_STRING) ? "'" : "",
                        list);
        goto done;
    }
    struct cpr_model_config c;
    set_defaults(&c, archs[k].arch);
    if (c.arch == CPR_ARCH_GPT_NEOX || c.arch == CPR_ARCH_GPT2) {
        if ((s = c.arch == CPR_ARCH_GPT2 ? parse_gpt2(r, &c, name, err)
                                         : parse_gpt_neox(r, &c, name, err)) ||
            (s = cpr_hf_config_check(&c, name, err)))
            goto done;
        *cfg = c;
        goto done;
    }
    if (c.arch == CPR_ARCH_OPT) {
        if ((s = parse_opt(r, &c, name, err)) ||
            (s = cpr_hf_config_check(&c, name, err)))
            goto done;
        *cfg = c;
        goto done;
    }
    if ((s = parse_act(r, &c, name, err))) goto done;
    int attn_bias = 0, mlp_bias = 0;
    double eps = c.norm_eps;
    const int64_t def_kv = c.n_kv_heads, def_hd = c.head_dim;
    c.n_kv_heads = -1;
    c.head_dim = -1;
    if ((s = get_int(r, "hidden_size", 1, MAX_HIDDEN, &c.hidden, name, err)) ||
        (s = get_int(r, "intermediate_size", 1, MAX_INTER, &c.intermediate, name, err)) ||
        (s = get_int(r, "num_hidden_layers", 1, MAX_LAYERS, &c.n_layers, name, err)) ||
        (s = get_int(r, "num_attention_heads", 1, MAX_HEADS, &c.n_heads, name, err)) ||
        (s = get_int(r, "num_key_value_heads", 1, MAX_HEADS, &c.n_kv_heads, name, err)) ||
        (s = get_int(r, "head_dim", 1, MAX_HEAD_DIM, &c.head_dim, name, err)) ||
        (s = get_int(r, "vocab_size", 1, MAX_VOCAB, &c.vocab, name, err)) ||
        (s = get_int(r, "max_position_embeddings", 1, MAX_CONTEXT, &c.context, name, err)) ||
        (s = get_num(r, "rms_norm_eps", 0, 1, &eps, name, err)) ||
        (s = get_num(r, "rope_theta", 0, 1e12, &c.rope_theta, name, err)) ||
        (s = get_bool(r, "tie_word_embeddings", &c.tied_embeddings, name, err)) ||
        (s = get_bool(r, "attention_bias", &attn_bias, name, err)) ||
        (s = get_bool(r, "mlp_bias", &mlp_bias, name, err)) ||
        (s = get_token_id(r, "bos_token_id", &c.bos_id, name, err)) ||
        (s = get_token_id(r, "eos_token_id", &c.eos_id, name, err)) ||
        (s = parse_rope_scaling(r, &c, name, err)))
        goto done;
    if (c.arch == CPR_ARCH_MISTRAL && cpr_json_get(r, "num_key_value_heads") == NULL)
        c.n_kv_heads = 8;
    if (c.n_kv_heads < 0)
        c.n_kv_heads = (c.arch == CPR_ARCH_GEMMA ||
                        c.arch == CPR_ARCH_QWEN3) ? def_kv : c.n_heads;
    if (c.head_dim < 0)
        c.head_dim = def_hd > 0 ? def_hd : c.hidden / c.n_heads;
    if (c.arch == CPR_ARCH_GEMMA) // HF: torch.tensor(hidden**0.5, dtype)
        c.block.embed_scale = (float)sqrt((double)c.hidden);
    if ((s = parse_sliding_window(r, &c, name, err))) goto done;
    c.norm_eps = (float)eps;
    if (c.arch == CPR_ARCH_QWEN3 && attn_bias) {
        s = cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: attention_bias is "
                        "true; Qwen3 with q/k/v/o biases is not supported",
                        name);
        goto done;
    }
    if (c.arch == CPR_ARCH_LLAMA) { // LlamaAttention / LlamaMLP bias=...
        c.qkv_bias = attn_bias;
        c.mlp_bias = mlp_bias;
    } else if (c.arch != CPR_ARCH_QWEN2 && (attn_bias || mlp_bias)) {
        s = cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: %s is true; biases on "
                        "o_proj / MLP linears are not supported", name,
                        attn_bias ? "attention_bias" : "mlp_bias");
        goto done;
    }
    if ((s = cpr_hf_config_check(&c, name, err)) != CPR_OK) goto done;
    *cfg = c;
done:
    cpr_json_free(&doc);
    return s;
}

enum cpr_status cpr_hf_config_load(const char *path,
                                   struct cpr_model_config *cfg,
                                   struct cpr_err *err) {
    char *buf;
    size_t len;
    CPR_TRY(cpr_file_read_all(path, 16u << 20, &buf, &len, err));
    enum cpr_status s = cpr_hf_config_parse(buf, len, path, cfg, err);
    free(buf);
    return s;
}

enum cpr_status cpr_hf_config_check(const struct cpr_model_config *c,
                                    const char *name, struct cpr_err *err) {
    static const struct {
        const char *field;
        size_t off;
        int64_t hi;
    } ints[] = {
        {"hidden_size", offsetof(struct cpr_model_config, hidden), MAX_HIDDEN},
        {"intermediate_size", offsetof(struct cpr_model_config, intermediate), MAX_INTER},
        {"num_hidden_layers", offsetof(struct cpr_model_config, n_layers), MAX_LAYERS},
        {"num_attention_heads", offsetof(struct cpr_model_config, n_heads), MAX_HEADS},
        {"num_key_value_heads", offsetof(struct cpr_model_config, n_kv_heads), MAX_HEADS},
        {"head_dim", offsetof(struct cpr_model_config, head_dim), MAX_HEAD_DIM},
        {"vocab_size", offsetof(struct cpr_model_config, vocab), MAX_VOCAB},
        {"max_position_embeddings", offsetof(struct cpr_model_config, context), MAX_CONTEXT},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t v;
        memcpy(&v, (const char *)c + ints[i].off, sizeof v);
        if (v < 1 || v > ints[i].hi)
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: %s must be in [1, %lld], found %lld", name,
                               ints[i].field, (long long)ints[i].hi,
                               (long long)v);
    }
    if (c->n_heads % c->n_kv_heads != 0)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: num_attention_heads %lld is not a multiple of "
                           "num_key_value_heads %lld", name,
                           (long long)c->n_heads, (long long)c->n_kv_heads);
    if (c->head_dim % 2 != 0)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: head_dim %lld must be even (RoPE rotates pairs)",
                           name, (long long)c->head_dim);
    if (!(c->norm_eps > 0) || !(c->norm_eps <= 1))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: rms_norm_eps must be in (0, 1], found %g", name,
                           (double)c->norm_eps);
    if (!(c->rope_theta > 0) || !(c->rope_theta <= 1e12))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: rope_theta must be in (0, 1e12], found %g", name,
                           c->rope_theta);
    if (c->bos_id < -1 || c->bos_id >= c->vocab || c->eos_id < -1 ||
        c->eos_id >= c->vocab)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: bos_token_id %d / eos_token_id %d must be "
                           "token ids below vocab_size %lld", name,
                           (int)c->bos_id, (int)c->eos_id, (long long)c->vocab);
    return CPR_OK;
}

// A float as the shortest decimal that reads back to it (1e-05, not
// 9.99999974737875e-06).
static void jw_float_short(struct cpr_jw *w, float f) {
    char b[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, (double)f);
        if (strtof(b, NULL) == f) break;
    }
    cpr_jw_double(w, strtod(b, NULL));
}

static void jw_token(struct cpr_jw *w, const char *key, int32_t id) {
    cpr_jw_key(w, key);
    if (id >= 0) cpr_jw_int(w, id);
    else cpr_jw_null(w);
}

static const char *act_name(const struct cpr_model_config *c) {
    switch (c->block.mlp) {
    case CPR_MLP_GELU: return "gelu";
    case CPR_MLP_RELU: return "relu";
    default: return "gelu_new";
    }
}

// GPTNeoXConfig's keys (as save_pretrained writes them).
static void write_gpt_neox(const struct cpr_model_config *c,
                           struct cpr_jw *w) {
    const int64_t rd = c->block.rotary_dim > 0 ? c->block.rotary_dim
                                               : c->head_dim;
    cpr_jw_key(w, "vocab_size"), cpr_jw_int(w, c->vocab);
    cpr_jw_key(w, "hidden_size"), cpr_jw_int(w, c->hidden);
    cpr_jw_key(w, "num_hidden_layers"), cpr_jw_int(w, c->n_layers);
    cpr_jw_key(w, "num_attention_heads"), cpr_jw_int(w, c->n_heads);
    cpr_jw_key(w, "intermediate_size"), cpr_jw_int(w, c->intermediate);
    cpr_jw_key(w, "hidden_act"), cpr_jw_string(w, act_name(c));
    cpr_jw_key(w, "rotary_pct"), cpr_jw_double(w, (double)rd / (double)c->head_dim);
    cpr_jw_key(w, "rotary_emb_base"), cpr_jw_double(w, c->rope_theta);
    cpr_jw_key(w, "attention_dropout"), cpr_jw_double(w, 0);
    cpr_jw_key(w, "hidden_dropout"), cpr_jw_double(w, 0);
    cpr_jw_key(w, "classifier_dropout"), cpr_jw_double(w, 0.1);
    cpr_jw_key(w, "max_position_embeddings"), cpr_jw_int(w, c->context);
    cpr_jw_key(w, "initializer_range"), cpr_jw_double(w, 0.02);
    cpr_jw_key(w, "layer_norm_eps"), jw_float_short(w, c->norm_eps);
    cpr_jw_key(w, "use_parallel_residual");
    cpr_jw_bool(w, c->block.resid == CPR_RESID_PARALLEL);
    cpr_jw_key(w, "rope_scaling"), cpr_jw_null(w);
    cpr_jw_key(w, "attention_bias"), cpr_jw_bool(w, c->qkv_bias);
    cpr_jw_key(w, "tie_word_embeddings"), cpr_jw_bool(w, c->tied_embeddings);
}

// GPT2Config's keys.
static void write_gpt2(const struct cpr_model_config *c, struct cpr_jw *w) {
    cpr_jw_key(w, "vocab_size"), cpr_jw_int(w, c->vocab);
    cpr_jw_key(w, "n_positions"), cpr_jw_int(w, c->context);
    cpr_jw_key(w, "n_embd"), cpr_jw_int(w, c->hidden);
    cpr_jw_key(w, "n_layer"), cpr_jw_int(w, c->n_layers);
    cpr_jw_key(w, "n_head"), cpr_jw_int(w, c->n_heads);
    cpr_jw_key(w, "n_inner");
    if (c->intermediate == 4 * c->hidden) cpr_jw_null(w);
    else cpr_jw_int(w, c->intermediate);
    cpr_jw_key(w, "activation_function"), cpr_jw_string(w, act_name(c));
    cpr_jw_key(w, "resid_pdrop"), cpr_jw_double(w, 0.1);
    cpr_jw_key(w, "embd_pdrop"), cpr_jw_double(w, 0.1);
    cpr_jw_key(w, "attn_pdrop"), cpr_jw_double(w, 0.1);
    cpr_jw_key(w, "layer_norm_epsilon"), jw_float_short(w, c->norm_eps);
    cpr_jw_key(w, "initializer_range"), cpr_jw_double(w, 0.02);
    cpr_jw_key(w, "summary_type"), cpr_jw_string(w, "cls_index");
    cpr_jw_key(w, "summary_use_proj"), cpr_jw_bool(w, 1);
    cpr_jw_key(w, "summary_activation"), cpr_jw_null(w);
    cpr_jw_key(w, "summary_proj_to_labels"), cpr_jw_bool(w, 1);
    cpr_jw_key(w, "summary_first_dropout"), cpr_jw_double(w, 0.1);
    cpr_jw_key(w, "scale_attn_weights"), cpr_jw_bool(w, c->block.attn_scale == 0);
    cpr_jw_key(w, "scale_attn_by_inverse_layer_idx"), cpr_jw_bool(w, 0);
    cpr_jw_key(w, "reorder_and_upcast_attn"), cpr_jw_bool(w, 0);
    cpr_jw_key(w, "tie_word_embeddings"), cpr_jw_bool(w, c->tied_embeddings);
}

static void write_shapes_key(const struct cpr_model_config *c,
                             const struct cpr_layer_shape *shapes,
                             struct cpr_jw *w);

void cpr_hf_config_write(const struct cpr_model_config *c,
                         const char *torch_dtype, struct cpr_jw *w) {
    cpr_hf_config_write_shapes(c, torch_dtype, NULL, w);
}

void cpr_hf_config_write_shapes(const struct cpr_model_config *c,
                                const char *torch_dtype,
                                const struct cpr_layer_shape *shapes,
                                struct cpr_jw *w) {
    size_t k = 0;
    while (k < sizeof archs / sizeof archs[0] - 1 && archs[k].arch != c->arch) k++;
    cpr_jw_begin_object(w);
    cpr_jw_key(w, "architectures");
    cpr_jw_begin_array(w);
    cpr_jw_string(w, archs[k].arch_name);
    cpr_jw_end_array(w);
    cpr_jw_key(w, "model_type");
    cpr_jw_string(w, archs[k].model_type);
    if (c->arch == CPR_ARCH_GPT_NEOX || c->arch == CPR_ARCH_GPT2) {
        if (c->arch == CPR_ARCH_GPT2) write_gpt2(c, w);
        else write_gpt_neox(c, w);
        jw_token(w, "bos_token_id", c->bos_id);
        jw_token(w, "eos_token_id", c->eos_id);
        cpr_jw_key(w, "torch_dtype");
        cpr_jw_string(w, torch_dtype ? torch_dtype : "float32");
        cpr_jw_key(w, "use_cache"), cpr_jw_bool(w, 1);
        write_shapes_key(c, shapes, w);
        cpr_jw_end_object(w);
        return;
    }
    if (c->arch == CPR_ARCH_OPT) { // OPTConfig's keys (pre-LN, biases)
        cpr_jw_key(w, "hidden_size"), cpr_jw_int(w, c->hidden);
        cpr_jw_key(w, "ffn_dim"), cpr_jw_int(w, c->intermediate);
        cpr_jw_key(w, "num_hidden_layers"), cpr_jw_int(w, c->n_layers);
        cpr_jw_key(w, "num_attention_heads"), cpr_jw_int(w, c->n_heads);
        cpr_jw_key(w, "vocab_size"), cpr_jw_int(w, c->vocab);
        cpr_jw_key(w, "max_position_embeddings"), cpr_jw_int(w, c->context);
        cpr_jw_key(w, "word_embed_proj_dim"), cpr_jw_int(w, c->hidden);
        cpr_jw_key(w, "activation_function"), cpr_jw_string(w, "relu");
        cpr_jw_key(w, "do_layer_norm_before"), cpr_jw_bool(w, 1);
        cpr_jw_key(w, "enable_bias"), cpr_jw_bool(w, 1);
        cpr_jw_key(w, "layer_norm_elementwise_affine"), cpr_jw_bool(w, 1);
        cpr_jw_key(w, "tie_word_embeddings"), cpr_jw_bool(w, c->tied_embeddings);
        cpr_jw_key(w, "bos_token_id");
        if (c->bos_id >= 0) cpr_jw_int(w, c->bos_id);
        else cpr_jw_null(w);
        cpr_jw_key(w, "eos_token_id");
        if (c->eos_id >= 0) cpr_jw_int(w, c->eos_id);
        else cpr_jw_null(w);
        cpr_jw_key(w, "torch_dtype");
        cpr_jw_string(w, torch_dtype ? torch_dtype : "float32");
        cpr_jw_key(w, "use_cache"), cpr_jw_bool(w, 1);
        write_shapes_key(c, shapes, w);
        cpr_jw_end_object(w);
        return;
    }
    if (c->arch == CPR_ARCH_LLAMA) {
        cpr_jw_key(w, "attention_bias");
        cpr_jw_bool(w, c->qkv_bias);
        cpr_jw_key(w, "mlp_bias");
        cpr_jw_bool(w, c->mlp_bias);
    }
    if (c->arch == CPR_ARCH_QWEN3 || c->arch == CPR_ARCH_GEMMA) {
        cpr_jw_key(w, "attention_bias");
        cpr_jw_bool(w, 0);
    }
    cpr_jw_key(w, "hidden_act");
    cpr_jw_string(w, c->arch == CPR_ARCH_GEMMA ? "gelu_pytorch_tanh" : "silu");
    if (c->arch == CPR_ARCH_GEMMA) {
        cpr_jw_key(w, "hidden_activation");
        cpr_jw_string(w, "gelu_pytorch_tanh");
    }
    cpr_jw_key(w, "hidden_size");
    cpr_jw_int(w, c->hidden);
    cpr_jw_key(w, "intermediate_size");
    cpr_jw_int(w, c->intermediate);
    cpr_jw_key(w, "num_hidden_layers");
    cpr_jw_int(w, c->n_layers);
    cpr_jw_key(w, "num_attention_heads");
    cpr_jw_int(w, c->n_heads);
    cpr_jw_key(w, "num_key_value_heads");
    cpr_jw_int(w, c->n_kv_heads);
    cpr_jw_key(w, "head_dim");
    cpr_jw_int(w, c->head_dim);
    cpr_jw_key(w, "vocab_size");
    cpr_jw_int(w, c->vocab);
    cpr_jw_key(w, "max_position_embeddings");
    cpr_jw_int(w, c->context);
    cpr_jw_key(w, "rms_norm_eps");
    // The float eps printed as the shortest decimal of the float, so 1e-5
    // reads back as 1e-05 rather than 9.99999974737875e-06.
    char b[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, (double)c->norm_eps);
        if (strtof(b, NULL) == c->norm_eps) break;
    }
    cpr_jw_double(w, strtod(b, NULL));
    cpr_jw_key(w, "rope_theta");
    cpr_jw_double(w, c->rope_theta);
    cpr_jw_key(w, "rope_scaling");
    if (c->rope_scaling == CPR_ROPE_SCALING_LLAMA3) {
        cpr_jw_begin_object(w);
        cpr_jw_key(w, "rope_type");
        cpr_jw_string(w, "llama3");
        cpr_jw_key(w, "factor");
        cpr_jw_double(w, c->rope_factor);
        cpr_jw_key(w, "low_freq_factor");
        cpr_jw_double(w, c->rope_low_freq_factor);
        cpr_jw_key(w, "high_freq_factor");
        cpr_jw_double(w, c->rope_high_freq_factor);
        cpr_jw_key(w, "original_max_position_embeddings");
        cpr_jw_int(w, c->rope_orig_context);
        cpr_jw_end_object(w);
    } else {
        cpr_jw_null(w);
    }
    cpr_jw_key(w, "tie_word_embeddings");
    cpr_jw_bool(w, c->tied_embeddings);
    cpr_jw_key(w, "bos_token_id");
    if (c->bos_id >= 0) cpr_jw_int(w, c->bos_id);
    else cpr_jw_null(w);
    cpr_jw_key(w, "eos_token_id");
    if (c->eos_id >= 0) cpr_jw_int(w, c->eos_id);
    else cpr_jw_null(w);
    if (c->arch != CPR_ARCH_LLAMA && c->arch != CPR_ARCH_GEMMA) {
        cpr_jw_key(w, "use_sliding_window");
        cpr_jw_bool(w, 0);
        cpr_jw_key(w, "sliding_window");
        if (c->block.sliding_window > 0) cpr_jw_int(w, c->block.sliding_window);
        else cpr_jw_null(w);
    }
    cpr_jw_key(w, "torch_dtype");
    cpr_jw_string(w, torch_dtype ? torch_dtype : "float32");
    cpr_jw_key(w, "use_cache");
    cpr_jw_bool(w, 1);
    write_shapes_key(c, shapes, w);
    cpr_jw_end_object(w);
}

static void write_shapes_key(const struct cpr_model_config *c,
                             const struct cpr_layer_shape *shapes,
                             struct cpr_jw *w) {
    if (shapes) {
        cpr_jw_key(w, SHAPES_KEY);
        cpr_jw_begin_array(w);
        for (int64_t l = 0; l < c->n_layers; l++) {
            cpr_jw_begin_object(w);
            cpr_jw_key(w, "heads"), cpr_jw_int(w, shapes[l].n_heads);
            cpr_jw_key(w, "kv_heads"), cpr_jw_int(w, shapes[l].n_kv_heads);
            cpr_jw_key(w, "intermediate"), cpr_jw_int(w, shapes[l].intermediate);
            cpr_jw_key(w, "attn"), cpr_jw_bool(w, shapes[l].has_attn);
            cpr_jw_key(w, "mlp"), cpr_jw_bool(w, shapes[l].has_mlp);
            cpr_jw_end_object(w);
        }
        cpr_jw_end_array(w);
    }
}

// ---- per-layer shapes ----

// One integer member of a shape entry, in [1, hi].
static enum cpr_status shape_int(const struct cpr_json *e, const char *key,
                                 int64_t hi, int64_t l, int64_t *out,
                                 const char *name, struct cpr_err *err) {
    const struct cpr_json *v = cpr_json_get(e, key);
    if (!v || v->type != CPR_JSON_NUMBER || !v->is_int || v->i < 1 ||
        v->i > hi)
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s: %s[%lld].%s must be an "
                           "integer in [1, %lld]", name, SHAPES_KEY,
                           (long long)l, key, (long long)hi);
    *out = v->i;
    return CPR_OK;
}

enum cpr_status cpr_hf_layer_shapes_parse(const char *json, size_t len,
                                          const char *name,
                                          const struct cpr_model_config *cfg,
                                          struct cpr_layer_shape *shapes,
                                          int *present, struct cpr_err *err) {
    *present = 0;
    struct cpr_json_doc doc;
    CPR_TRY(cpr_json_parse(&doc, json, len, name, 0, err));
    enum cpr_status s = CPR_OK;
    const struct cpr_json *a = cpr_json_get(doc.root, SHAPES_KEY);
    if (!a || a->type == CPR_JSON_NULL) goto done;
    if (a->type != CPR_JSON_ARRAY || (int64_t)cpr_json_len(a) != cfg->n_layers) {
        s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: %s must be an array of "
                        "num_hidden_layers = %lld entries, found %s of %zu",
                        name, SHAPES_KEY, (long long)cfg->n_layers,
                        cpr_json_type_name(a), cpr_json_len(a));
        goto done;
    }
    for (int64_t l = 0; l < cfg->n_layers && !s; l++) {
        const struct cpr_json *e = cpr_json_at(a, (size_t)l);
        struct cpr_layer_shape sh = {.head_dim = cfg->head_dim};
        int attn = 1, mlp = 1;
        if (!cpr_json_is(e, CPR_JSON_OBJECT))
            s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: %s[%lld] must be an "
                            "object", name, SHAPES_KEY, (long long)l);
        if (!s) s = shape_int(e, "heads", MAX_HEADS, l, &sh.n_heads, name, err);
        if (!s) s = shape_int(e, "kv_heads", MAX_HEADS, l, &sh.n_kv_heads, name,
                              err);
        if (!s) s = shape_int(e, "intermediate", MAX_INTER, l,
                              &sh.intermediate, name, err);
        if (!s) s = get_bool(e, "attn", &attn, name, err);
        if (!s) s = get_bool(e, "mlp", &mlp, name, err);
        if (!s && sh.n_heads % sh.n_kv_heads != 0)
            s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: %s[%lld]: heads %lld is "
                            "not a multiple of kv_heads %lld", name,
                            SHAPES_KEY, (long long)l, (long long)sh.n_heads,
                            (long long)sh.n_kv_heads);
        sh.has_attn = attn, sh.has_mlp = mlp;
        shapes[l] = sh;
    }
    if (!s) *present = 1;
done:
    cpr_json_free(&doc);
    return s;
}
