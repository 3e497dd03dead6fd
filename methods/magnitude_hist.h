// methods/magnitude_hist.h: the global magnitude plan read straight from the
// weight tensors (mapped, any dtype), without f32 copies of the model.
#ifndef CPR_METHODS_MAGNITUDE_HIST_H
#define CPR_METHODS_MAGNITUDE_HIST_H

#include <stddef.h>

#include "core/pool.h"
#include "core/status.h"
#include "core/tensor.h"

// Same contract and same result (thresh, cap) as cpr_magnitude_global_plan
// (methods/magnitude.h) run on f32 copies of ws[0..n_mats): every ws[i] is
// a dense 2-D tensor in f32, bf16 or f16 (read-only is fine; each row is
// converted exactly as it is read). Two histogram passes over the weights
// instead of 31 counting passes over f32 copies; per-matrix tables of
// 65536 uint32 counts (256 KiB each). Thread-count independent.
// Errors: those of cpr_magnitude_global_plan; CPR_ERR_ARG for a tensor that
// is not 2-D or has more than 2^32-1 elements (names its index);
// CPR_ERR_UNSUPPORTED for a compressed tensor; CPR_ERR_NOMEM.
enum cpr_status cpr_magnitude_global_plan_tensors(
    struct cpr_pool *pool, size_t n_mats, const struct cpr_tensor *const *ws,
    double sparsity, double min_density, float *thresh, size_t *cap,
    struct cpr_err *err);

#endif
