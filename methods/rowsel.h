// methods/rowsel.h: per-row selection shared by magnitude (group=row, N:M)
// and Wanda: score each row, prune an exact count per row or N of every M.
// Internal to methods/.
#ifndef CPR_METHODS_ROWSEL_H
#define CPR_METHODS_ROWSEL_H

#include "methods/method.h"

// For each row r of m: score[j] = |w[r][j]| * colscale[j] (one f32
// multiply, the absmul kernel; colscale == NULL means score = |w|), then
//   unstructured (t->nm_m == 0): prune exactly int(cols * t->sparsity)
//     smallest scores of the row (torch.sort(stable=True) then the first
//     int(cols*s) indices: ties go to the lower index);
//   N:M: in each group of nm_m columns prune the nm_n smallest (lower
//     index on ties; torch.topk leaves tie order unspecified).
// Pruned weights become +0; mask (rows, cols), when non-NULL, gets 1 on
// pruned entries. Rows are split over the pool; the per-row result does
// not depend on the split. The target must have passed
// cpr_prune_target_check. Errors: CPR_ERR_NOMEM.
enum cpr_status cpr_rowsel_prune(const struct cpr_matrix *m,
                                 const float *colscale,
                                 const struct cpr_prune_target *t,
                                 uint8_t *mask, struct cpr_pool *pool,
                                 const struct cpr_kernels *k,
                                 struct cpr_err *err);

// int(n * s) as Python computes it (double product, truncation), clamped
// to [0, n].
size_t cpr_count_of(size_t n, double s);

#endif
