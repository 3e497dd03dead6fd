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

#include "core/status.h"
#include "core/tensor.h"

enum cpr_arch {
    CPR_ARCH_LLAMA = 0, // LlamaForCausalLM, llama2.c checkpoints
    CPR_ARCH_MISTRAL,   // MistralForCausalLM (same math, no sliding window)
    CPR_ARCH_QWEN2,     // Qwen2ForCausalLM (q/k/v biases)
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
    int qkv_bias;         // q/k/v projections have biases (Qwen2)
    int32_t bos_id;       // -1 when the model has none
    int32_t eos_id;       // -1 when the model has none
};

struct cpr_layer {
    struct cpr_tensor attn_norm; // (hidden)
    struct cpr_tensor wq;        // (n_heads * head_dim, hidden)
    struct cpr_tensor wk;        // (n_kv_heads * head_dim, hidden)
    struct cpr_tensor wv;        // (n_kv_heads * head_dim, hidden)
    struct cpr_tensor wo;        // (hidden, n_heads * head_dim)
    struct cpr_tensor bq;        // (n_heads * head_dim) or unset
    struct cpr_tensor bk;        // (n_kv_heads * head_dim) or unset
    struct cpr_tensor bv;        // (n_kv_heads * head_dim) or unset
    struct cpr_tensor mlp_norm;  // (hidden)
    struct cpr_tensor w_gate;    // (intermediate, hidden)
    struct cpr_tensor w_up;      // (intermediate, hidden)
    struct cpr_tensor w_down;    // (hidden, intermediate)
};

struct cpr_model {
    struct cpr_model_config cfg;
    struct cpr_tensor tok_embed;  // (vocab, hidden)
    struct cpr_tensor final_norm; // (hidden)
    struct cpr_tensor lm_head;    // (vocab, hidden); when tied, a borrowed
                                  // view of tok_embed's data
    struct cpr_layer *layers;     // (n_layers), malloc'd
    void *backing;                // opaque owner of borrowed bytes (mmaps)
    void (*backing_free)(void *backing);
    char source[512];             // where it was loaded from (for reports)
    char format[32];              // "hf-safetensors", "llama2c", ...
};

// The seven prunable linears of a decoder block, in pipeline order.
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

// "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
// "down_proj" (the HF names).
const char *cpr_linear_name(enum cpr_linear which);

// The weight tensor of linear `which` in block `layer`.
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
