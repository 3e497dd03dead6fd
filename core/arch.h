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
// (GPT-NeoX's parallel residual and partial rotary, GPT-2's GELU-tanh)
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
};

enum cpr_resid_kind {
    CPR_RESID_SEQUENTIAL = 0, // h += attn(norm1 h); h += mlp(norm2 h)
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
};

// "rms", "rope", "swiglu", "sequential" (for messages and reports).
const char *cpr_norm_kind_name(enum cpr_norm_kind k);
const char *cpr_pos_kind_name(enum cpr_pos_kind k);
const char *cpr_mlp_kind_name(enum cpr_mlp_kind k);
const char *cpr_resid_kind_name(enum cpr_resid_kind k);

#endif
