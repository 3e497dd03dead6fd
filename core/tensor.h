// core/tensor.h: dtypes and tensor views.
//
// A tensor is a view: dtype, up to 4 dims, strides in elements, a data
// pointer and two flags. `owns_data` says whether cpr_tensor_free releases
// the memory (weights mmap'd by data/ are borrowed: owns_data = 0);
// `readonly` says the bytes must never be written (mmap'd files are mapped
// read-only and writing would crash). Pruning writes only to tensors it
// owns: copy a readonly weight first (cpr_tensor_copy_f32 or _clone).
#ifndef CPR_CORE_TENSOR_H
#define CPR_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

enum cpr_dtype {
    CPR_DTYPE_F32 = 0,
    CPR_DTYPE_BF16,
    CPR_DTYPE_F16,
    CPR_DTYPE_COUNT
};

#define CPR_TENSOR_MAX_DIMS 4

// A compressed weight layout (core/weight.h); NULL in a dense tensor.
struct cpr_sparse;

struct cpr_tensor {
    enum cpr_dtype dtype;
    int ndim;                            // 0..4 (0 = empty/unset)
    int64_t shape[CPR_TENSOR_MAX_DIMS];  // outermost first
    int64_t stride[CPR_TENSOR_MAX_DIMS]; // in elements
    void *data;                          // NULL for an unset tensor
    int owns_data;                       // 1: freed by cpr_tensor_free
    int readonly;                        // 1: must not be written
    // Compressed 2-D weights only (core/weight.h): the layout, owned by the
    // tensor (freed by cpr_tensor_free). Then shape/stride/dtype describe
    // the logical dense (rows, cols) matrix, `data` points at the packed
    // values (never a dense matrix: read rows through core/weight.h), and
    // owns_data = 0, readonly = 1. NULL for every dense tensor.
    struct cpr_sparse *sparse;
};

size_t cpr_dtype_size(enum cpr_dtype dt);
const char *cpr_dtype_name(enum cpr_dtype dt); // "f32", "bf16", "f16"

// Number of elements (1 for ndim 0 with data, 0 for an unset tensor).
int64_t cpr_tensor_numel(const struct cpr_tensor *t);
size_t cpr_tensor_nbytes(const struct cpr_tensor *t);
int cpr_tensor_is_contiguous(const struct cpr_tensor *t);

// Allocate an owned, zeroed, 64-byte aligned, contiguous tensor.
// Errors: CPR_ERR_ARG (ndim/shape), CPR_ERR_NOMEM (with byte count).
enum cpr_status cpr_tensor_alloc(struct cpr_tensor *t, enum cpr_dtype dt,
                                 int ndim, const int64_t *shape,
                                 struct cpr_err *err);

// Wrap borrowed contiguous memory (owns_data = 0). No allocation.
void cpr_tensor_wrap(struct cpr_tensor *t, enum cpr_dtype dt, void *data,
                     int ndim, const int64_t *shape, int readonly);

// Owned contiguous f32 copy of src (any dtype, converted exactly).
// Compressed tensors (src->sparse) are refused with CPR_ERR_UNSUPPORTED
// (decompress them first, core/weight.h); so is cpr_tensor_clone.
enum cpr_status cpr_tensor_copy_f32(struct cpr_tensor *dst,
                                    const struct cpr_tensor *src,
                                    struct cpr_err *err);

// Owned contiguous copy of src in its own dtype.
enum cpr_status cpr_tensor_clone(struct cpr_tensor *dst,
                                 const struct cpr_tensor *src,
                                 struct cpr_err *err);

// Row `row` of a 2-D tensor converted to f32 into out[shape[1]].
void cpr_tensor_row_f32(const struct cpr_tensor *t, int64_t row, float *out);

// Release owned memory; resets the view. Accepts zeroed tensors.
void cpr_tensor_free(struct cpr_tensor *t);

#endif
