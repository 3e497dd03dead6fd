// data/arch_gpt_neox.c: the tensor-name table of GPT-NeoX
// (GPTNeoXForCausalLM, Pythia, as transformers saves it: "gpt_neox."
// prefix, fused per-head query_key_value, untied embed_out; data/arch.h).
// The attention biases follow attention_bias (cfg.qkv_bias).
#include "data/arch.h"

#define T(suffix, field, rule, flags)                                          \
    {suffix, offsetof(struct cpr_layer, field), rule, flags}

static const struct cpr_tensor_name neox_layer[] = {
    T("input_layernorm.weight", attn_norm, CPR_SHAPE_HIDDEN, 0),
    T("input_layernorm.bias", attn_norm_b, CPR_SHAPE_HIDDEN, 0),
    T("post_attention_layernorm.weight", mlp_norm, CPR_SHAPE_HIDDEN, 0),
    T("post_attention_layernorm.bias", mlp_norm_b, CPR_SHAPE_HIDDEN, 0),
    T("attention.query_key_value.weight", wqkv, CPR_SHAPE_QKV_IN, 0),
    T("attention.query_key_value.bias", bqkv, CPR_SHAPE_QKV_VEC,
      CPR_TN_QKV_BIAS),
    T("attention.dense.weight", wo, CPR_SHAPE_O, 0),
    T("attention.dense.bias", bo, CPR_SHAPE_HIDDEN, CPR_TN_QKV_BIAS),
    T("mlp.dense_h_to_4h.weight", w_up, CPR_SHAPE_MLP_IN, 0),
    T("mlp.dense_h_to_4h.bias", b_up, CPR_SHAPE_MLP_VEC, 0),
    T("mlp.dense_4h_to_h.weight", w_down, CPR_SHAPE_MLP_OUT, 0),
    T("mlp.dense_4h_to_h.bias", b_down, CPR_SHAPE_HIDDEN, 0),
};
#undef T

const struct cpr_arch_names cpr_arch_names_gpt_neox = {
    .family = "gpt_neox",
    .embed = "gpt_neox.embed_in.weight",
    .final_norm = "gpt_neox.final_layer_norm.weight",
    .lm_head = "embed_out.weight",
    .final_norm_bias = "gpt_neox.final_layer_norm.bias",
    .layer_prefix = "gpt_neox.layers.%lld.",
    .layer = neox_layer,
    .n_layer = sizeof neox_layer / sizeof neox_layer[0],
};
