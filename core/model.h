// core/model.h: an in-memory decoder-only LLM (LLaMA family) as tensor views.
//
// data/ loaders fill this struct from files (HF safetensors directories,
// llama2.c checkpoints); core/forward.c runs it; methods/ prune its linears.
// Weight tensors are usually borrowed views into read-only mmap'd files
// (owns_data = 0, readonly = 1); the mapping is released through
// `backing_free` when the model is freed. Tensors the pruning pipeline
// replaces with owned copies are freed by cpr_model_free.
//
// Layout: every linear weight is (d_out, d_in) row-major as in nn.Linear,
// so y = x W^T. Weight dtypes may be f32, bf16 or f16 (mixed is allowed);
// activations are always f32.
#ifndef CPR_CORE_MODEL_H
#define CPR_CORE_MODEL_H

#include <stdint.h>

#include "core/arch.h"
#include "core/status.h"
#include "core/tensor.h"

enum cpr_arch {
    CPR_ARCH_LLAMA = 0, // LlamaForCausalLM, llama2.c checkpoints
    CPR_ARCH_MISTRAL,   // MistralForCausalLM (same math, no sliding window)
    CPR_ARCH_QWEN2,     // Qwen2ForCausalLM (q/k/v biases)
    CPR_ARCH_OPT,       // OPTForCausalLM (pre-LN: LayerNorm, learned
                        // positions, ReLU fc1/fc2, biases everywhere)
    CPR_ARCH_QWEN3,     // Qwen3ForCausalLM (per-head q/k RMSNorm, no biases)
    CPR_ARCH_GEMMA,     // GemmaForCausalLM ((1 + w) RMSNorm, GeGLU-tanh,
                        // embeddings scaled by sqrt(hidden), tied head)
    CPR_ARCH_GPT_NEOX,  // GPTNeoXForCausalLM (Pythia: LayerNorm, fused
                        // per-head qkv, partial rotary, GELU, parallel
                        // residual, untied embed_out)
    CPR_ARCH_GPT2,      // GPT2LMHeadModel (LayerNorm, fused q|k|v Conv1D
                        // c_attn, learned positions, gelu_new, tied head)
};

enum cpr_rope_style {
    CPR_ROPE_HALF = 0,    // HF rotate_half: pairs (i, i + head_dim/2)
    CPR_ROPE_INTERLEAVED, // llama2.c / Meta: pairs (2i, 2i+1)
};

enum cpr_rope_scaling {
    CPR_ROPE_SCALING_NONE = 0,
    CPR_ROPE_SCALING_LLAMA3, // Llama-3.1 frequency-dependent scaling
};

struct cpr_model_config {
    enum cpr_arch arch;
    int64_t hidden;       // d_model
    int64_t intermediate; // MLP width
    int64_t n_layers;
    int64_t n_heads;
    int64_t n_kv_heads;   // == n_heads for MHA, 1 for MQA
    int64_t head_dim;     // usually hidden / n_heads
    int64_t vocab;
    int64_t context;      // max_position_embeddings (llama2.c: seq_len)
    float norm_eps;       // RMSNorm epsilon
    double rope_theta;    // base of the RoPE frequencies
    enum cpr_rope_style rope_style;
    enum cpr_rope_scaling rope_scaling;
    double rope_factor;            // llama3: factor
    double rope_low_freq_factor;   // llama3: low_freq_factor
    double rope_high_freq_factor;  // llama3: high_freq_factor
    int64_t rope_orig_context;     // llama3: original_max_position_embeddings
    int tied_embeddings;  // lm_head shares tok_embed's data
    int qkv_bias;         // q/k/v projections have biases (Qwen2; LLaMA
                          // attention_bias, with o_proj's bias)
    int mlp_bias;         // LLaMA mlp_bias: gate/up/down carry biases; the
                          // loader requires the gate and up biases to be
                          // zero (what `--out-format hf-padded` writes)
    int32_t bos_id;       // -1 when the model has none
    int32_t eos_id;       // -1 when the model has none
    struct cpr_block_spec block; // how a block computes (zeroed = LLaMA)
};

// The shape of one decoder block. head_dim is model-wide; heads and the
// MLP width may differ per layer (structured pruning only ever shrinks a
// layer). has_attn / has_mlp = 0: that sub-block is removed and the
// residual passes through. A zeroed shape (n_heads == 0) means "the
// config's uniform shape": read it through cpr_layer_shape_of, never
// directly.
struct cpr_layer_shape {
    int64_t n_heads, n_kv_heads, head_dim;
    int64_t intermediate;
    int has_attn, has_mlp;
};

struct cpr_layer {
    struct cpr_layer_shape shape; // zeroed = uniform (cpr_layer_shape_of)
    struct cpr_tensor attn_norm; // (hidden)
    struct cpr_tensor wq;        // (n_heads * head_dim, hidden)
    struct cpr_tensor wk;        // (n_kv_heads * head_dim, hidden)
    struct cpr_tensor wv;        // (n_kv_heads * head_dim, hidden)
    struct cpr_tensor wo;        // (hidden, n_heads * head_dim)
    struct cpr_tensor bq;        // (n_heads * head_dim) or unset
    struct cpr_tensor bk;        // (n_kv_heads * head_dim) or unset
    struct cpr_tensor bv;        // (n_kv_heads * head_dim) or unset
    struct cpr_tensor mlp_norm;  // (hidden)
    struct cpr_tensor w_gate;    // (intermediate, hidden); unset without a gate
    struct cpr_tensor w_up;      // (intermediate, hidden) (OPT fc1)
    struct cpr_tensor w_down;    // (hidden, intermediate) (OPT fc2)
    // Optional biases (unset = none; core/arch.h): LayerNorm biases with
    // CPR_NORM_LAYER, output biases of o / up / down (OPT).
    struct cpr_tensor attn_norm_b; // (hidden)
    struct cpr_tensor mlp_norm_b;  // (hidden)
    struct cpr_tensor bo;          // (hidden)
    struct cpr_tensor b_up;        // (intermediate)
    struct cpr_tensor b_down;      // (hidden)
    // Qwen3's per-head q/k RMSNorm weights (block.qk_norm), else unset.
    struct cpr_tensor q_norm;      // (head_dim)
    struct cpr_tensor k_norm;      // (head_dim)
    // Fused q/k/v (block.qkv != CPR_QKV_SEPARATE; wq/wk/wv/bq/bk/bv unset):
    // rows in the family's order (core/arch.h).
    struct cpr_tensor wqkv;        // (3 * n_heads * head_dim, hidden)
    struct cpr_tensor bqkv;        // (3 * n_heads * head_dim) or unset
};

struct cpr_model {
    struct cpr_model_config cfg;
    struct cpr_tensor tok_embed;  // (vocab, hidden)
    struct cpr_tensor final_norm; // (hidden)
    struct cpr_tensor final_norm_b; // (hidden) with CPR_NORM_LAYER, else unset
    struct cpr_tensor pos_embed;  // (context + pos_offset, hidden) with
                                  // CPR_POS_LEARNED, else unset
    struct cpr_tensor lm_head;    // (vocab, hidden); when tied, a borrowed
                                  // view of tok_embed's data
    struct cpr_layer *layers;     // (n_layers), malloc'd
    void *backing;                // opaque owner of borrowed bytes (mmaps)
    void (*backing_free)(void *backing);
    char source[512];             // where it was loaded from (for reports)
    char format[32];              // "hf-safetensors", "llama2c", ...
};

// ---- the linear table ----
// Every prunable matrix of a block, with what it does (role), what feeds it
// (capture site), its weight and bias. The pipeline, diagnostics, per-
// matrix reports and the methods that group matrices (OWL blocks, DSnoT's
// attention/MLP split, mixed sparsity) iterate this table; nothing else
// names linears. Weights are always (rows = outputs, cols = inputs) in
// memory, whatever the file layout.

// The four places in a block where a linear reads its input. q/k/v share
// one input, gate/up share one, o and down have their own.
enum cpr_capture_site {
    CPR_CAPTURE_ATTN_IN = 0, // input of q_proj, k_proj, v_proj: (rows, hidden)
    CPR_CAPTURE_O_IN,        // input of o_proj: (rows, n_heads * head_dim)
    CPR_CAPTURE_MLP_IN,      // input of gate_proj, up_proj: (rows, hidden)
    CPR_CAPTURE_DOWN_IN,     // input of down_proj: (rows, intermediate)
    CPR_CAPTURE_SITE_COUNT
};

enum cpr_linear_role {
    CPR_ROLE_Q = 0, CPR_ROLE_K, CPR_ROLE_V,
    CPR_ROLE_QKV,   // fused q/k/v (GPT-NeoX query_key_value, GPT-2 c_attn)
    CPR_ROLE_O,
    CPR_ROLE_GATE, CPR_ROLE_UP,
    CPR_ROLE_FC1,   // non-gated MLP input (OPT fc1, GPT-2 c_fc)
    CPR_ROLE_DOWN,  // MLP output (down_proj, fc2, c_proj)
    CPR_ROLE_COUNT
};
enum cpr_role_group { CPR_GROUP_ATTN = 0, CPR_GROUP_MLP };

enum cpr_role_group cpr_role_group_of(enum cpr_linear_role role);
// "q", "k", "v", "qkv", "o", "gate", "up", "fc1", "down".
const char *cpr_role_name(enum cpr_linear_role role);

// At most this many linears per block (any family).
#define CPR_MAX_LINEARS 8

struct cpr_linear_ref {
    enum cpr_linear_role role;
    enum cpr_capture_site site;
    struct cpr_tensor *w;    // (outputs, inputs)
    struct cpr_tensor *bias; // (outputs), or NULL when the family has none
                             // (an unset tensor when it may have one)
    const char *name;        // short label: "q_proj" ... (messages, JSON)
    const char *hf_name;     // "self_attn.q_proj" (Hugging Face module)
};

// Fill out[0..n) with block `layer`'s linears in pipeline order (inputs
// before the matrices they feed) and return n (<= CPR_MAX_LINEARS); at most
// cap entries are written. Every block of a model has the same table (a
// removed sub-block keeps its entries, with empty weights), so
// cpr_model_linears_per_layer(m) entries per layer index flat per-linear
// arrays: [layer * per_layer + j].
int cpr_layer_linears(struct cpr_model *m, int64_t layer,
                      struct cpr_linear_ref *out, int cap);
int cpr_model_linears_per_layer(const struct cpr_model *m);

// Layer `layer`'s shape: its own, or the config's uniform one when unset.
struct cpr_layer_shape cpr_layer_shape_of(const struct cpr_model *m,
                                          int64_t layer);
// The per-layer maxima (what buffers must hold).
struct cpr_layer_shape cpr_model_max_shape(const struct cpr_model *m);

// Compatibility names for the LLaMA table (tests, benches): entry `which`
// of the layer's table, and its short name.
enum cpr_linear {
    CPR_LINEAR_Q = 0,
    CPR_LINEAR_K,
    CPR_LINEAR_V,
    CPR_LINEAR_O,
    CPR_LINEAR_GATE,
    CPR_LINEAR_UP,
    CPR_LINEAR_DOWN,
    CPR_LINEAR_COUNT
};
const char *cpr_linear_name(enum cpr_linear which);
struct cpr_tensor *cpr_model_linear(struct cpr_model *m, int64_t layer,
                                    enum cpr_linear which);

// Check that every tensor is present with the shape the config implies and
// that the config is sane (positive sizes, heads divide, even head_dim,
// finite eps/theta). Errors name the tensor ("layers.3.wk"), expected vs
// found. CPR_ERR_SHAPE / CPR_ERR_FORMAT.
enum cpr_status cpr_model_validate(const struct cpr_model *m,
                                   struct cpr_err *err);

// Number of parameters in the decoder linears (what sparsity counts) and
// in the whole model (embeddings and head counted once when tied).
int64_t cpr_model_linear_params(const struct cpr_model *m);
int64_t cpr_model_total_params(const struct cpr_model *m);

// Free owned tensors, the layer array, and the backing. Accepts a zeroed or
// partly built model.
void cpr_model_free(struct cpr_model *m);

#endif
