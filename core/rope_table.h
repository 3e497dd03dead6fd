// core/rope_table.h: RoPE cos/sin tables, built once per (model, seqlen).
#ifndef CPR_CORE_ROPE_TABLE_H
#define CPR_CORE_ROPE_TABLE_H

#include <stdint.h>

#include "core/model.h"
#include "core/status.h"

// inv_freq (head_dim / 2) as Hugging Face computes it in float32:
//   inv_freq[i] = 1 / theta^(float(2i) / float(head_dim))      (powf)
// then, for CPR_ROPE_SCALING_LLAMA3, HF's _compute_llama3_parameters
// (wavelengths above orig_context / low_freq_factor divided by factor,
// those below orig_context / high_freq_factor kept, smooth blend between),
// every step in float32 as torch does with a float32 tensor and Python
// scalars. Errors: CPR_ERR_FORMAT for non-finite or non-positive scaling
// parameters.
enum cpr_status cpr_rope_inv_freq(const struct cpr_model_config *c,
                                  float *inv_freq, struct cpr_err *err);

// cos/sin (seqlen, head_dim / 2): angle = float(p) * inv_freq[i] rounded to
// float32 (HF: position_ids.float() @ inv_freq in float32; llama2.c:
// pos * freq), then cosf/sinf of that float. Both RoPE styles use the same
// table: the style only decides which pairs rotate (see simd/kernels.h).
enum cpr_status cpr_rope_table_build(const struct cpr_model_config *c,
                                     int64_t seqlen, float *cos_out,
                                     float *sin_out, struct cpr_err *err);

#endif
