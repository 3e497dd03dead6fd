// data/arch_llama.c: the tensor-name table of the LLaMA family (LLaMA,
// Mistral, Qwen2, Qwen3, Gemma; data/arch.h).
#include "data/arch.h"

#define T(suffix, field, rule, flags)                                          \
    {suffix, offsetof(struct cpr_layer, field), rule, flags}

// Per-layer tensors in the order transformers' state dict lists them (and
// the order our writers emit them).
static const struct cpr_tensor_name llama_layer[] = {
    T("input_layernorm.weight", attn_norm, CPR_SHAPE_HIDDEN, 0),
    T("self_attn.q_proj.weight", wq, CPR_SHAPE_Q_IN, CPR_TN_ROPE_Q),
    T("self_attn.k_proj.weight", wk, CPR_SHAPE_KV_IN, CPR_TN_ROPE_K),
    T("self_attn.v_proj.weight", wv, CPR_SHAPE_KV_IN, 0),
    T("self_attn.o_proj.weight", wo, CPR_SHAPE_O, 0),
    T("self_attn.o_proj.bias", bo, CPR_SHAPE_HIDDEN, CPR_TN_OPTIONAL),
    T("self_attn.q_proj.bias", bq, CPR_SHAPE_Q_VEC,
      CPR_TN_QKV_BIAS | CPR_TN_ROPE_Q),
    T("self_attn.k_proj.bias", bk, CPR_SHAPE_KV_VEC,
      CPR_TN_QKV_BIAS | CPR_TN_ROPE_K),
    T("self_attn.v_proj.bias", bv, CPR_SHAPE_KV_VEC, CPR_TN_QKV_BIAS),
    T("self_attn.q_norm.weight", q_norm, CPR_SHAPE_HEAD_DIM, CPR_TN_QK_NORM),
    T("self_attn.k_norm.weight", k_norm, CPR_SHAPE_HEAD_DIM, CPR_TN_QK_NORM),
    T("post_attention_layernorm.weight", mlp_norm, CPR_SHAPE_HIDDEN, 0),
    T("mlp.gate_proj.weight", w_gate, CPR_SHAPE_MLP_IN, 0),
    T("mlp.up_proj.weight", w_up, CPR_SHAPE_MLP_IN, 0),
    T("mlp.down_proj.weight", w_down, CPR_SHAPE_MLP_OUT, 0),
    T("mlp.down_proj.bias", b_down, CPR_SHAPE_HIDDEN, CPR_TN_OPTIONAL),
};
#undef T

const struct cpr_arch_names cpr_arch_names_llama = {
    .family = "llama",
    .embed = "model.embed_tokens.weight",
    .final_norm = "model.norm.weight",
    .lm_head = "lm_head.weight",
    .layer_prefix = "model.layers.%lld.",
    .layer = llama_layer,
    .n_layer = sizeof llama_layer / sizeof llama_layer[0],
};

