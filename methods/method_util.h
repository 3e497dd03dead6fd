// methods/method_util.h: small helpers shared by the method files, so each
// lives once: the opening checks of prune_matrix, torch's pow(tensor,
// scalar), and a stable merge sort of indices. Internal to methods/.
#ifndef CPR_METHODS_METHOD_UTIL_H
#define CPR_METHODS_METHOD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "methods/method.h"

// The name of m for messages ("matrix" when m or its name is NULL).
const char *cpr_matrix_label(const struct cpr_matrix *m);

// The checks every prune_matrix opens with, in this order:
//   1. m is a usable view (non-NULL, w set, ld >= cols): else CPR_ERR_ARG
//      "METHOD: bad matrix view";
//   2. the target fits the width (cpr_prune_target_check);
//   3. stats holds what `needs` asks for (COLSUMSQ: scaler_row; HESSIAN:
//      hessian; COLMEANVAR: col_mean and col_var): else CPR_ERR_ARG
//      naming the missing arrays and the need ("needs colsumsq");
//      needs == 0 accepts stats == NULL;
//   4. stats->n_cols == m->cols (when needs != 0): else CPR_ERR_SHAPE
//      "statistics have N columns, weight has C";
//   5. the dense target (unstructured, sparsity 0: the reference skips
//      pruning then): *dense = 1 and mask (when non-NULL) is zeroed over
//      rows * cols; the caller returns CPR_OK without touching W.
// On an error *dense is 0. method names the method in messages.
enum cpr_status cpr_prune_open(const char *method, const struct cpr_matrix *m,
                               const struct cpr_linear_stats *stats,
                               unsigned needs,
                               const struct cpr_prune_target *t,
                               uint8_t *mask, int *dense, struct cpr_err *err);

// x ** p as torch's pow(tensor, scalar) computes it in f32: its fast
// paths for p in {1, 0.5, 2, 3, -0.5, -1, -2} (exact or one rounding),
// powf otherwise.
float cpr_pow_torch(float x, double p);

// a ranks before b in an ascending float order with NaN last (torch.sort,
// torch.topk); NaN never ranks before anything. Inline: it sits in the
// inner loops of RIA's and DSnoT's selections.
static inline int cpr_flt_before(float a, float b) {
    if (a != a) return 0; // isnan(a), without <math.h> in a header
    return b != b || a < b;
}

// Strict order on indices: 1 when a must come before b.
typedef int (*cpr_before_fn)(const void *ctx, uint32_t a, uint32_t b);

// Stable bottom-up merge sort of idx[0..n) by `before` (equal items keep
// their input order, so ties go to the lower index when idx starts
// sorted). tmp holds n entries. No allocation.
void cpr_sort_stable(uint32_t *idx, size_t n, uint32_t *tmp,
                     cpr_before_fn before, const void *ctx);

// ctx = const float *key: key[a] before key[b] by cpr_flt_before.
int cpr_before_by_key(const void *ctx, uint32_t a, uint32_t b);

#endif
