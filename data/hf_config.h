// data/hf_config.h: Hugging Face config.json <-> struct cpr_model_config.
//
// Reads the fields transformers reads for LlamaForCausalLM,
// MistralForCausalLM and Qwen2ForCausalLM, with transformers' defaults
// per architecture when a field is absent (LlamaConfig, MistralConfig,
// Qwen2Config; e.g. num_key_value_heads defaults to num_attention_heads,
// head_dim to hidden_size / num_attention_heads, rope_theta to 10000,
// tie_word_embeddings to false, rms_norm_eps to 1e-6). The architecture
// comes from "architectures"[0], else from "model_type".
//
// Refused: unknown architectures (CPR_ERR_UNSUPPORTED naming them),
// hidden_act other than "silu", attention_bias / mlp_bias on Llama (o_proj
// and MLP biases are not in struct cpr_layer), rope_scaling types other
// than "default" and "llama3". Every numeric field is range-checked: wrong
// type, NaN, negative, zero or absurdly large values are CPR_ERR_FORMAT
// naming the field, the expected range and the value found.
#ifndef CPR_DATA_HF_CONFIG_H
#define CPR_DATA_HF_CONFIG_H

#include <stddef.h>

#include "core/model.h"
#include "core/status.h"
#include "data/json_write.h"

// Parse config.json text. `name` prefixes messages (the path).
enum cpr_status cpr_hf_config_parse(const char *json, size_t len,
                                    const char *name,
                                    struct cpr_model_config *cfg,
                                    struct cpr_err *err);

// Read and parse a config.json file (at most 16 MiB).
enum cpr_status cpr_hf_config_load(const char *path,
                                   struct cpr_model_config *cfg,
                                   struct cpr_err *err);

// Range checks shared by every loader (also used for llama2.c headers):
// sizes positive and below sane caps, heads divisible by kv heads, even
// head_dim, finite positive eps/theta, bos/eos in [-1, vocab).
// CPR_ERR_FORMAT naming the field (HF name) and the value; `name` is the
// file for messages.
enum cpr_status cpr_hf_config_check(const struct cpr_model_config *cfg,
                                    const char *name, struct cpr_err *err);

// Emit cfg as a config.json object that transformers loads (architectures,
// model_type, sizes, eps, rope, tie_word_embeddings, bos/eos,
// torch_dtype). `torch_dtype` is e.g. "float32". The model is described
// with HF's half-split RoPE: callers saving a model whose rope_style is
// interleaved must permute q/k rows (data/model_save.c does).
void cpr_hf_config_write(const struct cpr_model_config *cfg,
                         const char *torch_dtype, struct cpr_jw *w);

// cpr_hf_config_write plus, when shapes != NULL, the per-layer shapes
// (cfg->n_layers entries) as "cprune_layer_shapes": [{"heads", "kv_heads",
// "intermediate", "attn", "mlp"}, ...] (docs/design_model_shapes.md
// section 3). Callers pass NULL when every layer has the config's shape,
// so uniform models keep the plain transformers config.
void cpr_hf_config_write_shapes(const struct cpr_model_config *cfg,
                                const char *torch_dtype,
                                const struct cpr_layer_shape *shapes,
                                struct cpr_jw *w);

// Read "cprune_layer_shapes" of config.json text into shapes[0..n_layers)
// (head_dim from cfg) and set *present; absent or null: *present = 0 and
// shapes untouched. Errors: CPR_ERR_FORMAT naming the entry and field (not
// an array of n_layers objects, a size outside [1, max], heads not a
// multiple of kv_heads). Tensor shapes are checked by the loader.
enum cpr_status cpr_hf_layer_shapes_parse(const char *json, size_t len,
                                          const char *name,
                                          const struct cpr_model_config *cfg,
                                          struct cpr_layer_shape *shapes,
                                          int *present, struct cpr_err *err);

// "LlamaForCausalLM", ... for an arch.
const char *cpr_hf_arch_name(enum cpr_arch arch);

#endif
