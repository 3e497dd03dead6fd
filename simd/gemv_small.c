// simd/gemv_small.c: the portable driver of the m <= 4 (decode) gemm path
// (contract in simd/gemv_small.h). Compiled once without ISA flags; it calls
// the ISA's leaf once per tile of 2 x rows by 4 W rows, which is noise
// against the tile's 8 * k FMAs and its 4 W rows streamed from memory.
#include "simd/gemv_small.h"

void cpr_gemv_small_drive(cpr_gemv_dots_fn *dots, enum cpr_gemm_wtype wt,
                          size_t m, size_t n, size_t k, float alpha,
                          const float *x, size_t ldx, const void *w,
                          size_t ldw, float beta, float *y, size_t ldy) {
    const size_t wrow = ldw * (wt == CPR_GEMM_W_F32 ? 4 : 2); // bytes
    float d[CPR_GEMV_XROWS][CPR_GEMV_WROWS];
    for (size_t j = 0; j < n; j += CPR_GEMV_WROWS) {
        const size_t nw = n - j < CPR_GEMV_WROWS ? n - j : CPR_GEMV_WROWS;
        const char *wj = (const char *)w + j * wrow;
        for (size_t i = 0; i < m; i += CPR_GEMV_XROWS) {
            const int mr = m - i < CPR_GEMV_XROWS ? (int)(m - i)
                                                  : CPR_GEMV_XROWS;
            dots(wt, mr, nw, k, x + i * ldx, ldx, wj, wrow, d);
            for (int r = 0; r < mr; r++)
                for (size_t q = 0; q < nw; q++) {
                    const float s = alpha * d[r][q];
                    float *yo = y + (i + (size_t)r) * ldy + j + q;
                    *yo = beta == 0.0f ? s : s + beta * *yo;
                }
        }
    }
}
