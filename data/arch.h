// data/arch.h: per-family tensor-name tables (docs/design_model_shapes.md
// section 5). One table per family names every tensor of a Hugging Face
// checkpoint, the model slot it fills, its shape rule and its transform;
// the loader (data/model_load.c), the writer (data/model_save.c) and
// `cprune synth` (cli/cmd_synth.c) all walk the same table, so a tensor name
// exists once.
//
// One table serves the LLaMA family (LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM, Qwen3ForCausalLM and GemmaForCausalLM share their
// tensor names; Qwen2 adds the q/k/v biases, Qwen3 the q/k norms), one OPT (data/arch_opt.c). New families (issue 13) add a table
// in data/arch_<family>.c and an entry in cpr_arch_names_for.
#ifndef CPR_DATA_ARCH_H
#define CPR_DATA_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

// The shape a tensor must have, from the config and its layer's shape.
enum cpr_shape_rule {
    CPR_SHAPE_HIDDEN = 0, // (hidden)
    CPR_SHAPE_Q_IN,       // (n_heads * head_dim, hidden)
    CPR_SHAPE_KV_IN,      // (n_kv_heads * head_dim, hidden)
    CPR_SHAPE_O,          // (hidden, n_heads * head_dim)
    CPR_SHAPE_Q_VEC,      // (n_heads * head_dim)
    CPR_SHAPE_KV_VEC,     // (n_kv_heads * head_dim)
    CPR_SHAPE_MLP_IN,     // (intermediate, hidden)
    CPR_SHAPE_MLP_OUT,    // (hidden, intermediate)
    CPR_SHAPE_MLP_VEC,    // (intermediate)
    CPR_SHAPE_HEAD_DIM,   // (head_dim)
    CPR_SHAPE_QKV_IN,     // (3 * n_heads * head_dim, hidden): fused q/k/v
    CPR_SHAPE_QKV_VEC,    // (3 * n_heads * head_dim)
};

enum {
    // present only when the config says the q/k/v projections have biases
    CPR_TN_QKV_BIAS = 1u << 0,
    // rows are RoPE q (or k) rows: a model held with interleaved RoPE
    // (llama2.c) is written with HF's half-split order
    // (cpr_rope_rows_to_half) with n_heads (or n_kv_heads) heads
    CPR_TN_ROPE_Q = 1u << 1,
    CPR_TN_ROPE_K = 1u << 2,
    // optional: loaded when the checkpoint has it, written when set (the
    // o_proj / down_proj biases of a FLAP-compensated LLaMA, issue 14)
    CPR_TN_OPTIONAL = 1u << 3,
    // present only with per-head q/k norms (block.qk_norm: Qwen3)
    CPR_TN_QK_NORM = 1u << 4,
    // GPT-2 Conv1D: the file holds the weight transposed, (inputs,
    // outputs); it is transposed on load (memory keeps rows = outputs) and
    // back on save (cpr_tensor_transpose2d)
    CPR_TN_CONV1D = 1u << 5,
};

// One per-layer tensor: "<layer prefix><suffix>", e.g.
// "model.layers.3.self_attn.q_proj.weight".
struct cpr_tensor_name {
    const char *suffix;
    size_t offset; // of its struct cpr_tensor in struct cpr_layer
    enum cpr_shape_rule rule;
    unsigned flags; // CPR_TN_*
};

struct cpr_arch_names {
    const char *family;       // "llama"
    const char *embed;        // "model.embed_tokens.weight"
    const char *final_norm;   // "model.norm.weight"
    const char *lm_head;      // "lm_head.weight" (absent when tied)
    const char *final_norm_bias; // LayerNorm families, else NULL
    const char *pos_embed;    // learned positions (context + pos_offset,
                              // hidden), else NULL
    const char *layer_prefix; // printf format with one %lld: the layer
    // A prefix checkpoints may lack (GPT-2 hub files saved from GPT2Model
    // name "h.0.attn..." where transformers writes "transformer.h.0..."):
    // the loader retries every name without it; NULL = none.
    const char *optional_prefix;
    const struct cpr_tensor_name *layer; // in file order
    size_t n_layer;
};

// Family tables (data/arch_<family>.c).
extern const struct cpr_arch_names cpr_arch_names_llama;
extern const struct cpr_arch_names cpr_arch_names_opt;
extern const struct cpr_arch_names cpr_arch_names_gpt_neox;
extern const struct cpr_arch_names cpr_arch_names_gpt2;

// The table of an architecture (never NULL for a valid enum cpr_arch).
const struct cpr_arch_names *cpr_arch_names_for(enum cpr_arch arch);

// The slot of entry tn in layer L.
struct cpr_tensor *cpr_tensor_name_slot(struct cpr_layer *L,
                                        const struct cpr_tensor_name *tn);

// The expected shape of tn in a layer of shape sh: d1 = -1 for a vector.
void cpr_tensor_name_dims(const struct cpr_tensor_name *tn,
                          const struct cpr_model_config *cfg,
                          const struct cpr_layer_shape *sh, int64_t *d0,
                          int64_t *d1);

// dst = an owned copy of the 2-D dense tensor src transposed (same dtype):
// dst[j][i] = src[i][j]. CPR_ERR_UNSUPPORTED for a compressed (sparse)
// tensor, CPR_ERR_NOMEM.
enum cpr_status cpr_tensor_transpose2d(const struct cpr_tensor *src,
                                       struct cpr_tensor *dst,
                                       struct cpr_err *err);

// Whether tn exists in a checkpoint of this config (biases by qkv_bias,
// q/k norms by block.qk_norm).
int cpr_tensor_name_present(const struct cpr_tensor_name *tn,
                            const struct cpr_model_config *cfg);

#endif
