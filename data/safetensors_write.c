// data/safetensors_write.c: safetensors writer (see
// data/safetensors_write.h).
#include "data/safetensors_write.h"

#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/json_write.h"

static const char *st_dtype_name(enum cpr_dtype dt) {
    switch (dt) {
    case CPR_DTYPE_F32: return "F32";
    case CPR_DTYPE_BF16: return "BF16";
    case CPR_DTYPE_F16: return "F16";
    default: return NULL;
    }
}

static int cmp_entry(const void *a, const void *b) {
    const struct cpr_st_entry *x = a, *y = b;
    size_t sx = cpr_dtype_size(x->t->dtype), sy = cpr_dtype_size(y->t->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

enum cpr_status cpr_safetensors_write(const char *path,
                                      const struct cpr_st_entry *entries,
                                      size_t n, const char *const *meta,
                                      size_t n_meta,
                                      const struct cpr_file_id *avoid,
                                      size_t n_avoid, struct cpr_err *err) {
    uint64_t dev, ino;
    if (cpr_file_identity(path, &dev, &ino) == 0) {
        for (size_t i = 0; i < n_avoid; i++)
            if (avoid[i].dev == dev && avoid[i].ino == ino)
                return cpr_err_set(err, CPR_ERR_ARG,
                                   "%s: refusing to overwrite a file this run "
                                   "is reading from; choose another output", path);
    }
    for (size_t i = 0; i < n; i++) {
        const struct cpr_tensor *t = entries[i].t;
        const char *nm = entries[i].name;
        if (!nm || !nm[0] || strcmp(nm, "__metadata__") == 0)
            return cpr_err_set(err, CPR_ERR_ARG, "%s: tensor %zu has an invalid "
                               "name '%s'", path, i, nm ? nm : "(null)");
        if (!t || t->ndim < 1 || t->ndim > CPR_TENSOR_MAX_DIMS ||
            !st_dtype_name(t->dtype) || !cpr_tensor_is_contiguous(t) ||
            (!t->data && cpr_tensor_numel(t) > 0))
            return cpr_err_set(err, CPR_ERR_ARG, "%s: tensor '%s' is unset, "
                               "strided or of an unknown dtype", path, nm);
    }
    struct cpr_st_entry *ord = malloc((n ? n : 1) * sizeof *ord);
    if (!ord) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
    if (n) memcpy(ord, entries, n * sizeof *ord);
    qsort(ord, n, sizeof *ord, cmp_entry);
    enum cpr_status s = CPR_OK;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(ord[i - 1].name, ord[i].name) == 0) {
            s = cpr_err_set(err, CPR_ERR_ARG, "%s: duplicate tensor name '%s'",
                            path, ord[i].name);
            free(ord);
            return s;
        }
    }
    // Header JSON.
    struct cpr_jw w;
    cpr_jw_init(&w, 0);
    cpr_jw_begin_object(&w);
    if (n_meta) {
        cpr_jw_key(&w, "__metadata__");
        cpr_jw_begin_object(&w);
        for (size_t i = 0; i < n_meta; i++) {
            cpr_jw_key(&w, meta[2 * i]);
            cpr_jw_string(&w, meta[2 * i + 1]);
        }
        cpr_jw_end_object(&w);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cpr_tensor *t = ord[i].t;
        uint64_t nb = (uint64_t)cpr_tensor_nbytes(t);
        cpr_jw_key(&w, ord[i].name);
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "dtype");
        cpr_jw_string(&w, st_dtype_name(t->dtype));
        cpr_jw_key(&w, "shape");
        cpr_jw_begin_array(&w);
        for (int d = 0; d < t->ndim; d++) cpr_jw_int(&w, t->shape[d]);
        cpr_jw_end_array(&w);
        cpr_jw_key(&w, "data_offsets");
        cpr_jw_begin_array(&w);
        cpr_jw_int(&w, (int64_t)off);
        cpr_jw_int(&w, (int64_t)(off + nb));
        cpr_jw_end_array(&w);
        cpr_jw_end_object(&w);
        off += nb;
    }
    cpr_jw_end_object(&w);
    struct cpr_atomic_file af;
    af.fd = -1;
    af.tmp[0] = 0;
    if ((s = cpr_jw_finish(&w, err)) != CPR_OK) goto done;
    size_t hlen = w.len;
    // 64, not the spec's 8: weight rows then start on cache lines when the
    // row bytes allow it (a pack routine's 64-byte loads otherwise split
    // every line; see simd/gemm_driver.c prefetch_rows). Readers only see
    // more trailing spaces in the header.
    while ((8 + hlen) % 64) hlen++;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    if ((s = cpr_atomic_open(&af, path, err)) != CPR_OK) goto done;
    if ((s = cpr_atomic_write(&af, len8, 8, err)) != CPR_OK) goto done;
    if ((s = cpr_atomic_write(&af, w.buf, w.len, err)) != CPR_OK) goto done;
    char spaces[64];
    memset(spaces, ' ', sizeof spaces);
    if ((s = cpr_atomic_write(&af, spaces, hlen - w.len, err)) != CPR_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        const struct cpr_tensor *t = ord[i].t;
        if ((s = cpr_atomic_write(&af, t->data, cpr_tensor_nbytes(t), err)) !=
            CPR_OK)
            goto done;
    }
    s = cpr_atomic_commit(&af, err);
done:
    if (s != CPR_OK) cpr_atomic_abort(&af);
    cpr_jw_free(&w);
    free(ord);
    return s;
}
