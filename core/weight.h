// core/weight.h: compressed sparse weight layouts for the decoder linears.
//
// A pruned weight W (n_rows, n_cols) stores zeros densely; on a CPU the
// batch-1 decode reads every weight byte once per token, so storing only
// the nonzeros (plus a little metadata) makes decoding faster in
// proportion to the bytes saved. Two layouts, both keeping the values in
// W's own dtype (f32, bf16 or f16; never re-rounded):
//
//   BITMASK  one bit per weight, row-major, least significant bit first:
//            bit j of row r is (meta[r * meta_ld + j / 8] >> (j % 8)) & 1,
//            meta_ld = ceil(n_cols / 8); bits past n_cols are 0. The kept
//            values follow each other row by row, in column order.
//            Bytes: n_rows*n_cols/8 + nnz * dtype size.
//   NM24     2:4: every group of 4 columns (4g .. 4g+3; the last group of a
//            row may be shorter) stores exactly 2 values and their 2-bit
//            in-group column indices, in increasing column order. A group
//            with fewer than 2 kept weights is padded with +0 values at its
//            lowest unused indices. Indices of a row are packed 4 per byte,
//            least significant pair first: index s of group g is
//            (meta[r * meta_ld + (2g+s) / 4] >> (2 * ((2g+s) % 4))) & 3,
//            meta_ld = ceil(groups * 2 / 4) with groups = ceil(n_cols / 4):
//            4 bits per group. Bytes: n_rows*n_cols/8 + n_rows*n_cols/2
//            * dtype size.
//
// "Kept" means: the weight's bit pattern is not +0. So a -0 is kept, and
// decompressing reproduces the dense tensor bit for bit. The values array
// is followed by CPR_SPARSE_PAD zero elements so SIMD kernels may load a
// whole vector past the last kept value of a row.
//
// A compressed tensor is a struct cpr_tensor with ->sparse set (see
// core/tensor.h): shape (n_rows, n_cols), dtype of the values, data = the
// values. core/matmul.h's cpr_matmul dispatches on it (weight_matmul.h).
#ifndef CPR_CORE_WEIGHT_H
#define CPR_CORE_WEIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"

#define CPR_SPARSE_PAD 64 // zero elements after the last value

enum cpr_wlayout {
    CPR_WLAYOUT_DENSE = 0,
    CPR_WLAYOUT_BITMASK,
    CPR_WLAYOUT_NM24,
    CPR_WLAYOUT_AUTO, // compress: the smallest layout that fits
};

struct cpr_sparse {
    enum cpr_wlayout layout;  // BITMASK or NM24
    enum cpr_dtype dtype;     // of the values
    int64_t n_rows, n_cols;
    int64_t nnz;              // stored values (NM24: padding included)
    const void *values;       // (nnz + CPR_SPARSE_PAD) elements of dtype
    const uint8_t *meta;      // (n_rows, meta_ld): mask bits or indices
    int64_t meta_ld;          // bytes per row of meta
    int64_t *row_off;         // (n_rows + 1): first value of each row
    void *owned;              // values + meta when allocated here, or NULL
                              // when borrowed (a mapped file)
};

// "dense", "bitmask", "nm" (NM24), "auto"; parse the same (-1: unknown).
const char *cpr_wlayout_name(enum cpr_wlayout l);
int cpr_wlayout_parse(const char *s);

// Bytes of meta per row for a layout and column count.
int64_t cpr_sparse_meta_ld(enum cpr_wlayout l, int64_t n_cols);

// Compress the dense 2-D row-major weight w (f32/bf16/f16, stride[1] == 1)
// into out, an owned compressed tensor (out->sparse set). `name` is used in
// messages. layout AUTO picks NM24 when every group fits it and it is
// not larger than BITMASK (at exactly 2:4 both take 1 bit per weight),
// else BITMASK; when neither is smaller than dense,
// out is a borrowed view of w itself (out->sparse NULL, owns_data 0).
// Errors: CPR_ERR_ARG (DENSE asked, w compressed already or not 2-D),
// CPR_ERR_FORMAT (NM24: "tensor NAME row R group G holds 3 nonzeros; 2:4
// keeps at most 2"), CPR_ERR_NOMEM.
enum cpr_status cpr_sparse_compress(const struct cpr_tensor *w,
                                    enum cpr_wlayout layout, const char *name,
                                    struct cpr_tensor *out,
                                    struct cpr_err *err);

// Build a compressed layout over borrowed bytes (a mapped file), checking
// every byte that matters: meta and values sizes, the mask's popcount
// against nnz, no mask bits past n_cols, NM24 indices increasing within a
// group and inside a short last group. *out is malloc'd (free with
// cpr_sparse_free); the bytes must outlive it.
// Errors: CPR_ERR_FORMAT (naming `name`, the row and what is wrong),
// CPR_ERR_NOMEM.
enum cpr_status cpr_sparse_view(enum cpr_wlayout layout, enum cpr_dtype dt,
                                int64_t n_rows, int64_t n_cols,
                                const void *values, int64_t n_values,
                                const uint8_t *meta, int64_t meta_bytes,
                                const char *name, struct cpr_sparse **out,
                                struct cpr_err *err);

// Make t a compressed tensor owning s (see core/tensor.h).
void cpr_tensor_set_sparse(struct cpr_tensor *t, struct cpr_sparse *s);

// Rows [r0, r1) as dense values of s->dtype into dst (row stride ld
// elements, ld >= n_cols). Exact (bit patterns are copied).
void cpr_sparse_decompress_rows(const struct cpr_sparse *s, int64_t r0,
                                int64_t r1, void *dst, size_t ld);

// Owned dense contiguous copy of a compressed tensor (a clone of a dense
// one). Errors: CPR_ERR_NOMEM.
enum cpr_status cpr_sparse_decompress(const struct cpr_tensor *w,
                                      struct cpr_tensor *out,
                                      struct cpr_err *err);

// Bytes a product streams: values + meta (the dense size for dense
// tensors).
size_t cpr_weight_bytes(const struct cpr_tensor *w);

// Accepts NULL.
void cpr_sparse_free(struct cpr_sparse *s);

#endif
