// simd/spmv_common.h: what every spmv_<isa>.c shares (included by them
// only, as select_common.h is): the value-type tag, the byte popcount
// table, and the six per-dtype kernel slots, which differ only in the tag
// they pass to the file's own kernels.
//
// A file that includes this defines, before CPR_SPMV_DTYPE_SLOTS():
//   static (inline) void bitmask(enum vt, size_t n_rows, size_t k,
//       const uint8_t *meta, size_t ldm, const void *vals, const float *x,
//       float beta, float *y);
//   static (inline) void nm24(enum vt, ...same...);
// and calls CPR_SPMV_FILL_DTYPE_SLOTS(k) in its cpr_fill_spmv_<isa>.
#ifndef CPR_SIMD_SPMV_COMMON_H
#define CPR_SIMD_SPMV_COMMON_H

#include <stddef.h>
#include <stdint.h>

enum vt { VT_F32, VT_BF16, VT_F16 };

// popcount of a byte, without depending on -mpopcnt.
static const uint8_t popc8[256] = {
    0,1,1,2,1,2,2,3,1,2,2,3,2,3,3,4,1,2,2,3,2,3,3,4,2,3,3,4,3,4,4,5,
    1,2,2,3,2,3,3,4,2,3,3,4,3,4,4,5,2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,
    1,2,2,3,2,3,3,4,2,3,3,4,3,4,4,5,2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,
    2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,3,4,4,5,4,5,5,6,4,5,5,6,5,6,6,7,
    1,2,2,3,2,3,3,4,2,3,3,4,3,4,4,5,2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,
    2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,3,4,4,5,4,5,5,6,4,5,5,6,5,6,6,7,
    2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,3,4,4,5,4,5,5,6,4,5,5,6,5,6,6,7,
    3,4,4,5,4,5,5,6,4,5,5,6,5,6,6,7,4,5,5,6,5,6,6,7,5,6,6,7,6,7,7,8};

#define CPR_SPMV_SLOT_(name, fn, tag)                                          \
    static void name(size_t n, size_t k, const uint8_t *m, size_t ldm,         \
                     const void *v, const float *x, float b, float *y) {       \
        fn(tag, n, k, m, ldm, v, x, b, y);                                     \
    }

// The six kernel-slot functions of the file.
#define CPR_SPMV_DTYPE_SLOTS()                                                 \
    CPR_SPMV_SLOT_(bitmask_f32, bitmask, VT_F32)                               \
    CPR_SPMV_SLOT_(bitmask_bf16, bitmask, VT_BF16)                             \
    CPR_SPMV_SLOT_(bitmask_f16, bitmask, VT_F16)                               \
    CPR_SPMV_SLOT_(nm24_f32, nm24, VT_F32)                                     \
    CPR_SPMV_SLOT_(nm24_bf16, nm24, VT_BF16)                                   \
    CPR_SPMV_SLOT_(nm24_f16, nm24, VT_F16)

// Put them into kernel table k.
#define CPR_SPMV_FILL_DTYPE_SLOTS(k)                                           \
    do {                                                                       \
        (k)->spmv_bitmask_f32 = bitmask_f32;                                   \
        (k)->spmv_bitmask_bf16 = bitmask_bf16;                                 \
        (k)->spmv_bitmask_f16 = bitmask_f16;                                   \
        (k)->spmv_nm24_f32 = nm24_f32;                                         \
        (k)->spmv_nm24_bf16 = nm24_bf16;                                       \
        (k)->spmv_nm24_f16 = nm24_f16;                                         \
    } while (0)

#endif
