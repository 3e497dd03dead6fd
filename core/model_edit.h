// core/model_edit.h: depth edits of a loaded model (issue 14): remove a
// block's attention or MLP sub-block (the residual passes through), drop
// whole layers (the rest are renumbered, n_layers shrinks).
//
// A removed sub-block's tensors are released and left unset; its shape
// fields stay filled (every field of struct cpr_layer_shape is written, so
// a per-layer shape counts as "set"), with has_attn / has_mlp = 0. Forward,
// decode, validation, the loader and the HF writer skip it.
#ifndef CPR_CORE_MODEL_EDIT_H
#define CPR_CORE_MODEL_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

// Which sub-block a struct cpr_layer tensor belongs to: CPR_GROUP_ATTN for
// the attention norm, q/k/v/o and their biases, CPR_GROUP_MLP otherwise.
// `offset` is the tensor's offsetof in struct cpr_layer.
enum cpr_role_group cpr_layer_field_group(size_t offset);

// 1 when the tensor at `offset` belongs to a sub-block the shape keeps.
int cpr_layer_field_kept(const struct cpr_layer_shape *sh, size_t offset);

// Remove the attention (CPR_GROUP_ATTN) or MLP (CPR_GROUP_MLP) sub-block of
// `layer`. Removing an already removed sub-block is an error (CPR_ERR_ARG).
enum cpr_status cpr_model_remove_sub(struct cpr_model *m, int64_t layer,
                                     enum cpr_role_group which,
                                     struct cpr_err *err);

// Drop the layers with drop[l] != 0 (n_layers entries); the others keep
// their order. At least one layer must stay (CPR_ERR_ARG); nothing changes
// on error.
enum cpr_status cpr_model_drop_layers(struct cpr_model *m,
                                      const uint8_t *drop,
                                      struct cpr_err *err);

// Drop the layers that have both sub-blocks removed (keeping one when all
// have: such a model is still a valid, if useless, model).
enum cpr_status cpr_model_drop_empty_layers(struct cpr_model *m,
                                            struct cpr_err *err);

// Number of attention / MLP sub-blocks the model still has.
int64_t cpr_model_count_subs(const struct cpr_model *m,
                             enum cpr_role_group which);

#endif
