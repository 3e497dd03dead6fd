// core/tensor.c: tensor views, allocation and dtype conversion.
#include "core/tensor.h"

#include <stdlib.h>
#include <string.h>

#include "core/weight.h"
#include "simd/kernels.h"

static const size_t dtype_sizes[CPR_DTYPE_COUNT] = {
    [CPR_DTYPE_F32] = 4, [CPR_DTYPE_BF16] = 2, [CPR_DTYPE_F16] = 2};
static const char *const dtype_names[CPR_DTYPE_COUNT] = {
    [CPR_DTYPE_F32] = "f32", [CPR_DTYPE_BF16] = "bf16",
    [CPR_DTYPE_F16] = "f16"};

size_t cpr_dtype_size(enum cpr_dtype dt) {
    return (unsigned)dt < CPR_DTYPE_COUNT ? dtype_sizes[dt] : 0;
}

const char *cpr_dtype_name(enum cpr_dtype dt) {
    return (unsigned)dt < CPR_DTYPE_COUNT ? dtype_names[dt] : "unknown";
}

int64_t cpr_tensor_numel(const struct cpr_tensor *t) {
    if (!t->data && t->ndim == 0) return 0;
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t cpr_tensor_nbytes(const struct cpr_tensor *t) {
    return (size_t)cpr_tensor_numel(t) * cpr_dtype_size(t->dtype);
}

int cpr_tensor_is_contiguous(const struct cpr_tensor *t) {
    int64_t expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != expect) return 0;
        expect *= t->shape[i];
    }
    return 1;
}

static void set_shape(struct cpr_tensor *t, int ndim, const int64_t *shape) {
    t->ndim = ndim;
    int64_t st = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        t->shape[i] = shape[i];
        t->stride[i] = st;
        st *= shape[i];
    }
}

enum cpr_status cpr_tensor_alloc(struct cpr_tensor *t, enum cpr_dtype dt,
                                 int ndim, const int64_t *shape,
                                 struct cpr_err *err) {
    memset(t, 0, sizeof *t);
    if (ndim < 1 || ndim > CPR_TENSOR_MAX_DIMS || (unsigned)dt >= CPR_DTYPE_COUNT)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "tensor: ndim %d or dtype %d out of range", ndim,
                           (int)dt);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && n > SIZE_MAX / 8 / (size_t)shape[i]))
            return cpr_err_set(err, CPR_ERR_ARG,
                               "tensor: dimension %d = %lld is negative or "
                               "too large", i, (long long)shape[i]);
        n *= (size_t)shape[i];
    }
    size_t bytes = n * dtype_sizes[dt];
    size_t rounded = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p)
        return cpr_err_set(err, CPR_ERR_NOMEM,
                           "tensor: cannot allocate %zu bytes", bytes);
    memset(p, 0, rounded ? rounded : 64);
    t->dtype = dt;
    set_shape(t, ndim, shape);
    t->data = p;
    t->owns_data = 1;
    return CPR_OK;
}

void cpr_tensor_wrap(struct cpr_tensor *t, enum cpr_dtype dt, void *data,
                     int ndim, const int64_t *shape, int readonly) {
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    set_shape(t, ndim, shape);
    t->data = data;
    t->readonly = readonly;
}

// Convert n contiguous elements of src (dtype dt) to f32.
static void to_f32(enum cpr_dtype dt, const void *src, size_t n, float *out) {
    const struct cpr_kernels *k = cpr_kernels_get();
    switch (dt) {
    case CPR_DTYPE_F32: memcpy(out, src, n * sizeof(float)); break;
    case CPR_DTYPE_BF16: k->bf16_to_f32(n, src, out); break;
    case CPR_DTYPE_F16: k->f16_to_f32(n, src, out); break;
    default: break;
    }
}

void cpr_tensor_row_f32(const struct cpr_tensor *t, int64_t row, float *out) {
    size_t cols = (size_t)t->shape[1];
    const char *base = (const char *)t->data +
                       (size_t)row * (size_t)t->stride[0] * cpr_dtype_size(t->dtype);
    if (t->stride[1] == 1) {
        to_f32(t->dtype, base, cols, out);
        return;
    }
    for (size_t j = 0; j < cols; j++)
        to_f32(t->dtype,
               base + j * (size_t)t->stride[1] * cpr_dtype_size(t->dtype), 1,
               out + j);
}

enum cpr_status cpr_tensor_copy_f32(struct cpr_tensor *dst,
                                    const struct cpr_tensor *src,
                                    struct cpr_err *err) {
    if (src->sparse)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "tensor: copy of a compressed weight; decompress "
                           "it first (cprune decompress)");
    if (!cpr_tensor_is_contiguous(src))
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "tensor: copy of a strided view is not supported");
    CPR_TRY(cpr_tensor_alloc(dst, CPR_DTYPE_F32, src->ndim, src->shape, err));
    to_f32(src->dtype, src->data, (size_t)cpr_tensor_numel(src), dst->data);
    return CPR_OK;
}

enum cpr_status cpr_tensor_clone(struct cpr_tensor *dst,
                                 const struct cpr_tensor *src,
                                 struct cpr_err *err) {
    if (src->sparse)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "tensor: clone of a compressed weight; decompress "
                           "it first (cprune decompress)");
    if (!cpr_tensor_is_contiguous(src))
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "tensor: clone of a strided view is not supported");
    CPR_TRY(cpr_tensor_alloc(dst, src->dtype, src->ndim, src->shape, err));
    memcpy(dst->data, src->data, cpr_tensor_nbytes(src));
    return CPR_OK;
}

void cpr_tensor_free(struct cpr_tensor *t) {
    if (t->sparse) cpr_sparse_free(t->sparse);
    else if (t->owns_data) free(t->data);
    memset(t, 0, sizeof *t);
}
