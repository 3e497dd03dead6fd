// methods/calib_compute.c: the calibration forward's arithmetic, auto /
// f32 / bf16 (contract in calib_compute.h).
#include "methods/calib_compute.h"

#include <stdlib.h>
#include <string.h>

int cpr_calib_compute_parse(const char *name) {
    if (!strcmp(name, "auto")) return CPR_CALIB_COMPUTE_AUTO;
    if (!strcmp(name, "f32")) return CPR_CALIB_COMPUTE_F32;
    if (!strcmp(name, "bf16")) return CPR_CALIB_COMPUTE_BF16;
    return -1;
}

const char *cpr_calib_compute_name(enum cpr_calib_compute mode) {
    switch (mode) {
    case CPR_CALIB_COMPUTE_F32: return "f32";
    case CPR_CALIB_COMPUTE_BF16: return "bf16";
    case CPR_CALIB_COMPUTE_AUTO: break;
    }
    return "auto";
}

static int slot_index(const char *name) {
    for (int i = 0; cpr_kernel_slot_names[i]; i++)
        if (!strcmp(cpr_kernel_slot_names[i], name)) return i;
    return -1;
}

enum cpr_status cpr_calib_compute_init(struct cpr_calib_compute_state *s,
                                       enum cpr_calib_compute mode,
                                       const struct cpr_model *m,
                                       const struct cpr_kernels *k,
                                       struct cpr_err *err) {
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->src = m;
    if (mode == CPR_CALIB_COMPUTE_F32) {
        s->kern = *k;
        const int i = slot_index("gemm_bf16w");
        if (i >= 0 && k->slot_isa[i] == CPR_ISA_AVX512BF16) {
            struct cpr_kernels exact; // best level below vdpbf16ps
            cpr_kernels_build(&exact, CPR_ISA_AVX512);
            s->kern.gemm_bf16w = exact.gemm_bf16w;
            s->kern.slot_isa[i] = exact.slot_isa[i];
        }
    } else if (mode == CPR_CALIB_COMPUTE_BF16) {
        s->view = *m; // shallow: nothing of it is ever freed through view
        s->view.backing = NULL;
        s->view.backing_free = NULL;
        const size_t n = (size_t)m->cfg.n_layers;
        s->view.layers = malloc((n ? n : 1) * sizeof *s->view.layers);
        if (!s->view.layers)
            return cpr_err_set(err, CPR_ERR_NOMEM, "--calib-compute bf16: "
                               "%zu layer views", n);
        memcpy(s->view.layers, m->layers, n * sizeof *s->view.layers);
    }
    return CPR_OK;
}

const struct cpr_model *cpr_calib_compute_model(
    const struct cpr_calib_compute_state *s) {
    return s->mode == CPR_CALIB_COMPUTE_BF16 ? &s->view : s->src;
}

const struct cpr_kernels *cpr_calib_compute_kernels(
    const struct cpr_calib_compute_state *s, const struct cpr_kernels *k) {
    return s->mode == CPR_CALIB_COMPUTE_F32 ? &s->kern : k;
}

// *dst <- a bf16 contiguous (rows, cols) tensor with src's values rounded
// to nearest even, in scratch buffer j.
static enum cpr_status to_bf16(struct cpr_calib_compute_state *s, int j,
                               const struct cpr_tensor *src,
                               struct cpr_tensor *dst,
                               const struct cpr_kernels *k,
                               struct cpr_err *err) {
    const int64_t R = src->shape[0], C = src->shape[1];
    const size_t n = (size_t)(R * C);
    if (n > s->cap[j]) {
        free(s->buf[j]);
        s->buf[j] = malloc(n * sizeof *s->buf[j]);
        s->cap[j] = s->buf[j] ? n : 0;
        if (!s->buf[j])
            return cpr_err_set(err, CPR_ERR_NOMEM, "--calib-compute bf16: "
                               "%zu weights", n);
    }
    if (src->dtype == CPR_DTYPE_F32 && cpr_tensor_is_contiguous(src)) {
        k->f32_to_bf16(n, src->data, s->buf[j]);
    } else {
        float *row = malloc((size_t)C * sizeof *row);
        if (!row)
            return cpr_err_set(err, CPR_ERR_NOMEM, "--calib-compute bf16: "
                               "a row of %lld", (long long)C);
        for (int64_t r = 0; r < R; r++) {
            cpr_tensor_row_f32(src, r, row);
            k->f32_to_bf16((size_t)C, row, s->buf[j] + r * C);
        }
        free(row);
    }
    const int64_t shape[2] = {R, C};
    cpr_tensor_wrap(dst, CPR_DTYPE_BF16, s->buf[j], 2, shape, 1);
    return CPR_OK;
}

enum cpr_status cpr_calib_compute_block(struct cpr_calib_compute_state *s,
                                        int64_t l,
                                        const struct cpr_kernels *k,
                                        struct cpr_err *err) {
    if (s->mode != CPR_CALIB_COMPUTE_BF16) return CPR_OK;
    s->view.layers[l] = s->src->layers[l]; // current weights, then swap
    struct cpr_linear_ref r[CPR_MAX_LINEARS];
    const int nl = cpr_layer_linears(&s->view, l, r, CPR_MAX_LINEARS);
    for (int j = 0; j < nl; j++) {
        const struct cpr_tensor *w = r[j].w;
        if (w->sparse || w->ndim != 2) continue; // left as it is
        if (w->dtype == CPR_DTYPE_BF16 && cpr_tensor_is_contiguous(w))
            continue; // used as stored
        struct cpr_tensor t;
        CPR_TRY(to_bf16(s, j, w, &t, k, err));
        *r[j].w = t; // in the view's copy of the layer only
    }
    return CPR_OK;
}

void cpr_calib_compute_free(struct cpr_calib_compute_state *s) {
    if (s->mode == CPR_CALIB_COMPUTE_BF16) free(s->view.layers);
    for (int j = 0; j < CPR_MAX_LINEARS; j++) free(s->buf[j]);
    memset(s, 0, sizeof *s);
}
