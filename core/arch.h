// core/arch.h: the block specification, plain data saying how one decoder
// block computes (docs/design_model_shapes.md section 2). core/forward.c
// has one generic block that switches on these kinds per sub-step (norm,
// positions, attention, MLP, residual); families differ by data, not by
// code paths.
//
// Zero is the LLaMA block for every field (RMSNorm, RoPE in the config's
// rope_style over the whole head, SwiGLU, sequential residual, no sliding
// window, embeddings unscaled, a final norm), so a zeroed spec, as every
// config built before this header existed has, keeps its meaning.
//
// Only the kinds listed here exist; a family that needs another one
// adds its enum value together with the forward
// branch, kernels and oracle that implement it (issue 13).
//
// Biases are data, not kinds: every bias tensor a layer holds (q/k/v, o,
// up/fc1, down/fc2, LayerNorm) is added where Hugging Face adds it.
#ifndef CPR_CORE_ARCH_H
#define CPR_CORE_ARCH_H

#include <stdint.h>

enum cpr_norm_kind {
    CPR_NORM_RMS = 0, // x / sqrt(mean(x^2) + eps) * w
    CPR_NORM_LAYER,   // (x - mean) / sqrt(var + eps) * w + b (LayerNorm;
                      // the *_norm_b tensors hold b)
    CPR_NORM_RMS_1P,  // x / sqrt(mean(x^2) + eps) * (1 + w), 1 + w in f32
                      // (Gemma's GemmaRMSNorm; the file holds w)
};

enum cpr_pos_kind {
    CPR_POS_ROPE = 0, // rotary on q and k; pairing from cfg.rope_style
    CPR_POS_LEARNED,  // h = tok_embed[t] + pos_embed[p + pos_offset]
                      // (OPT: offset 2); no rotation
};

enum cpr_mlp_kind {
    CPR_MLP_SWIGLU = 0, // down(silu(gate x) * up x)
    CPR_MLP_RELU,       // down(relu(up x + b_up)) (OPT fc1/fc2; w_up is the
                        // FC1 role, no gate)
    CPR_MLP_GEGLU_TANH, // down(gelu_tanh(gate x) * up x) (Gemma)
    CPR_MLP_GELU,       // down(gelu(fc1 x + b)), exact erf GELU (GPT-NeoX
                        // hidden_act "gelu"); w_up is the FC1 role
    CPR_MLP_GELU_TANH,  // down(gelu_tanh(fc1 x + b)) (GPT-2 "gelu_new")
};

enum cpr_resid_kind {
    CPR_RESID_SEQUENTIAL = 0, // h += attn(norm1 h); h += mlp(norm2 h)
    CPR_RESID_PARALLEL,       // h = (mlp(norm2 h) + attn(norm1 h)) + h
                              // (GPT-NeoX use_parallel_residual, HF's order)
};

// How q, k and v are projected. Fused: one linear wqkv (role QKV) of
// 3 * n_heads * head_dim rows (multi-head attention only) and its bias
// bqkv, split after the product.
enum cpr_qkv_kind {
    CPR_QKV_SEPARATE = 0, // wq, wk, wv
    CPR_QKV_FUSED_HEADS,  // GPT-NeoX query_key_value: per head [q k v]
                          // (row h*3*hd + {0, hd, 2hd} + i)
    CPR_QKV_FUSED_CONCAT, // GPT-2 c_attn: q | k | v (rows {0, qd, 2qd} + i)
};

struct cpr_block_spec {
    enum cpr_norm_kind norm;
    enum cpr_pos_kind pos;
    enum cpr_mlp_kind mlp;
    enum cpr_resid_kind resid;
    // Causal attention sees at most this many keys per query (the query
    // itself included): key j is visible from query p when
    // p - sliding_window < j <= p (Mistral's sliding_window, as HF's
    // sliding-window causal mask). 0 = unbounded.
    int64_t sliding_window;
    int64_t pos_offset; // CPR_POS_LEARNED: row of position 0 in pos_embed
    // Qwen3: q and k pass an RMSNorm over each head (weights q_norm, k_norm
    // of head_dim, the config's eps) after their projection, before RoPE.
    int qk_norm;
    // Embeddings are multiplied by this f32 value (Gemma: sqrt(hidden)
    // rounded to the activation dtype, as HF's normalizer); 0 = 1.
    float embed_scale;
    enum cpr_qkv_kind qkv;
    // Partial rotary (GPT-NeoX rotary_pct): RoPE rotates the first
    // rotary_dim dims of each head (half-split pairs (i, i + rotary_dim/2),
    // frequencies 1 / theta^(2i / rotary_dim)); the rest pass. 0 = head_dim.
    int64_t rotary_dim;
    // Attention scores are q.k times this; 0 = 1 / sqrt(head_dim) (GPT-2
    // with scale_attn_weights false: 1).
    float attn_scale;
};

// "rms", "rope", "swiglu", "sequential" (for messages and reports).
const char *cpr_norm_kind_name(enum cpr_norm_kind k);
const char *cpr_pos_kind_name(enum cpr_pos_kind k);
const char *cpr_mlp_kind_name(enum cpr_mlp_kind k);
const char *cpr_resid_kind_name(enum cpr_resid_kind k);
// "separate", "fused-heads", "fused-concat".
const char *cpr_qkv_kind_name(enum cpr_qkv_kind k);

#endif
