// data/gguf_write.c: GGUF v3 container writer (see gguf_write.h).
#include <stdlib.h>
#include <string.h>

#include "data/gguf_write.h"

size_t cpr_ggml_type_size(enum cpr_ggml_type t) {
    return t == CPR_GGML_F32 ? 4 : 2;
}

void cpr_gguf_writer_init(struct cpr_gguf_writer *w) {
    memset(w, 0, sizeof *w);
    w->af.fd = -1;
}

void cpr_gguf_writer_free(struct cpr_gguf_writer *w) {
    if (w->open) cpr_atomic_abort(&w->af);
    free(w->kv);
    free(w->tensors);
    cpr_gguf_writer_init(w);
}

static void put(struct cpr_gguf_writer *w, const void *p, size_t n) {
    if (w->oom) return;
    if (w->kv_len + n > w->kv_cap) {
        size_t cap = w->kv_cap ? w->kv_cap : 4096;
        while (cap < w->kv_len + n) cap *= 2;
        unsigned char *nb = realloc(w->kv, cap);
        if (!nb) {
            w->oom = CPR_ERR_NOMEM;
            return;
        }
        w->kv = nb;
        w->kv_cap = cap;
    }
    memcpy(w->kv + w->kv_len, p, n);
    w->kv_len += n;
}
static void put_u32(struct cpr_gguf_writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(struct cpr_gguf_writer *w, uint64_t v) { put(w, &v, 8); }
static void put_str(struct cpr_gguf_writer *w, const char *s, size_t n) {
    put_u64(w, n);
    put(w, s, n);
}
static void key(struct cpr_gguf_writer *w, const char *k,
                enum cpr_gguf_type t) {
    put_str(w, k, strlen(k));
    put_u32(w, (uint32_t)t);
    w->n_kv++;
}

void cpr_gguf_kv_u32(struct cpr_gguf_writer *w, const char *k, uint32_t v) {
    key(w, k, CPR_GGUF_U32);
    put_u32(w, v);
}
void cpr_gguf_kv_i32(struct cpr_gguf_writer *w, const char *k, int32_t v) {
    key(w, k, CPR_GGUF_I32);
    put(w, &v, 4);
}
void cpr_gguf_kv_f32(struct cpr_gguf_writer *w, const char *k, float v) {
    key(w, k, CPR_GGUF_F32);
    put(w, &v, 4);
}
void cpr_gguf_kv_bool(struct cpr_gguf_writer *w, const char *k, int v) {
    unsigned char b = v ? 1 : 0;
    key(w, k, CPR_GGUF_BOOL);
    put(w, &b, 1);
}
void cpr_gguf_kv_str(struct cpr_gguf_writer *w, const char *k,
                     const char *v) {
    key(w, k, CPR_GGUF_STRING);
    put_str(w, v, strlen(v));
}
void cpr_gguf_kv_arr_i32(struct cpr_gguf_writer *w, const char *k,
                         const int32_t *v, size_t n) {
    key(w, k, CPR_GGUF_ARRAY);
    put_u32(w, CPR_GGUF_I32);
    put_u64(w, n);
    put(w, v, n * 4);
}
void cpr_gguf_kv_arr_f32(struct cpr_gguf_writer *w, const char *k,
                         const float *v, size_t n) {
    key(w, k, CPR_GGUF_ARRAY);
    put_u32(w, CPR_GGUF_F32);
    put_u64(w, n);
    put(w, v, n * 4);
}
void cpr_gguf_kv_arr_str(struct cpr_gguf_writer *w, const char *k,
                         const char *const *strs, const size_t *lens,
                         size_t n) {
    key(w, k, CPR_GGUF_ARRAY);
    put_u32(w, CPR_GGUF_STRING);
    put_u64(w, n);
    for (size_t i = 0; i < n; i++) put_str(w, strs[i], lens[i]);
}

static uint64_t align_up(uint64_t x) {
    return (x + CPR_GGUF_ALIGNMENT - 1) / CPR_GGUF_ALIGNMENT *
           CPR_GGUF_ALIGNMENT;
}

enum cpr_status cpr_gguf_add_tensor(struct cpr_gguf_writer *w,
                                    const char *name, enum cpr_ggml_type type,
                                    int ndim, const int64_t *shape,
                                    struct cpr_err *err) {
    if (strlen(name) >= sizeof w->tensors[0].name)
        return cpr_err_set(err, CPR_ERR_ARG, "gguf: tensor name '%s' longer "
                           "than %zu bytes", name,
                           sizeof w->tensors[0].name - 1);
    if (ndim < 1 || ndim > 4)
        return cpr_err_set(err, CPR_ERR_ARG, "gguf: tensor '%s' has %d dims "
                           "(expected 1..4)", name, ndim);
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
        struct cpr_gguf_tensor_info *nt =
            realloc(w->tensors, cap * sizeof *nt);
        if (!nt)
            return cpr_err_set(err, CPR_ERR_NOMEM, "gguf: tensor table");
        w->tensors = nt;
        w->cap_tensors = cap;
    }
    struct cpr_gguf_tensor_info *ti = &w->tensors[w->n_tensors++];
    memset(ti, 0, sizeof *ti);
    strcpy(ti->name, name);
    ti->ndim = ndim;
    ti->type = type;
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        ti->shape[d] = shape[d];
        n *= (uint64_t)shape[d];
    }
    ti->nbytes = n * cpr_ggml_type_size(type);
    ti->offset = align_up(w->data_len);
    w->data_len = ti->offset + ti->nbytes;
    return CPR_OK;
}

static const unsigned char zeros[CPR_GGUF_ALIGNMENT];

enum cpr_status cpr_gguf_begin(struct cpr_gguf_writer *w, const char *path,
                               struct cpr_err *err) {
    if (w->oom) return cpr_err_set(err, CPR_ERR_NOMEM, "gguf: metadata");
    // header + kv + tensor infos, serialized after the kv bytes
    size_t kv_end = w->kv_len;
    for (size_t i = 0; i < w->n_tensors; i++) {
        const struct cpr_gguf_tensor_info *ti = &w->tensors[i];
        put_str(w, ti->name, strlen(ti->name));
        put_u32(w, (uint32_t)ti->ndim);
        for (int d = ti->ndim - 1; d >= 0; d--) put_u64(w, (uint64_t)ti->shape[d]);
        put_u32(w, (uint32_t)ti->type);
        put_u64(w, ti->offset);
    }
    if (w->oom) return cpr_err_set(err, CPR_ERR_NOMEM, "gguf: tensor infos");
    unsigned char head[24];
    uint32_t magic = 0x46554747u, version = 3;
    uint64_t nt = w->n_tensors, nkv = w->n_kv;
    memcpy(head, &magic, 4);
    memcpy(head + 4, &version, 4);
    memcpy(head + 8, &nt, 8);
    memcpy(head + 16, &nkv, 8);
    enum cpr_status s = cpr_atomic_open(&w->af, path, err);
    if (s != CPR_OK) {
        w->kv_len = kv_end;
        return s;
    }
    w->open = 1;
    uint64_t total = 24 + w->kv_len;
    s = cpr_atomic_write(&w->af, head, 24, err);
    if (s == CPR_OK) s = cpr_atomic_write(&w->af, w->kv, w->kv_len, err);
    if (s == CPR_OK)
        s = cpr_atomic_write(&w->af, zeros, align_up(total) - total, err);
    w->kv_len = kv_end;
    w->data_len = 0;
    w->next_put = 0;
    return s;
}

enum cpr_status cpr_gguf_put_tensor(struct cpr_gguf_writer *w,
                                    const void *data, size_t nbytes,
                                    struct cpr_err *err) {
    if (!w->open || w->next_put >= w->n_tensors)
        return cpr_err_set(err, CPR_ERR_INTERNAL, "gguf: put_tensor beyond "
                           "the %zu declared tensors", w->n_tensors);
    const struct cpr_gguf_tensor_info *ti = &w->tensors[w->next_put];
    if (nbytes != ti->nbytes)
        return cpr_err_set(err, CPR_ERR_INTERNAL, "gguf: tensor '%s': %zu "
                           "bytes given, %llu declared", ti->name, nbytes,
                           (unsigned long long)ti->nbytes);
    CPR_TRY(cpr_atomic_write(&w->af, zeros, ti->offset - w->data_len, err));
    CPR_TRY(cpr_atomic_write(&w->af, data, nbytes, err));
    w->data_len = ti->offset + nbytes;
    w->next_put++;
    return CPR_OK;
}

enum cpr_status cpr_gguf_commit(struct cpr_gguf_writer *w,
                                struct cpr_err *err) {
    if (!w->open || w->next_put != w->n_tensors)
        return cpr_err_set(err, CPR_ERR_INTERNAL, "gguf: commit after %zu of "
                           "%zu tensors", w->next_put, w->n_tensors);
    enum cpr_status s = cpr_atomic_commit(&w->af, err);
    w->open = 0;
    return s;
}
