// data/safetensors.c: validating safetensors reader (see data/safetensors.h).
#include "data/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- dtypes ----

static const struct {
    const char *name;
    size_t size;
    int dtype; // enum cpr_dtype or -1
} dtypes[] = {
    {"F32", 4, CPR_DTYPE_F32},  {"F16", 2, CPR_DTYPE_F16},
    {"BF16", 2, CPR_DTYPE_BF16}, {"BOOL", 1, -1},
    {"U8", 1, -1},              {"I8", 1, -1},
    {"F8_E5M2", 1, -1},         {"F8_E4M3", 1, -1},
    {"F8_E8M0", 1, -1},         {"I16", 2, -1},
    {"U16", 2, -1},             {"I32", 4, -1},
    {"U32", 4, -1},             {"F64", 8, -1},
    {"I64", 8, -1},             {"U64", 8, -1},
    {"C64", 8, -1},
};

// ---- validation helpers ----

static int cmp_name(const void *a, const void *b) {
    const struct cpr_st_tensor *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c) return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int cmp_range(const void *a, const void *b) {
    const struct cpr_st_tensor *const *x = a, *const *y = b;
    if ((*x)->begin != (*y)->begin) return (*x)->begin < (*y)->begin ? -1 : 1;
    if ((*x)->end != (*y)->end) return (*x)->end < (*y)->end ? -1 : 1;
    return 0;
}

// A non-negative JSON integer.
static int get_u64(const struct cpr_json *v, uint64_t *out) {
    if (!v || v->type != CPR_JSON_NUMBER || !v->is_int || v->i < 0) return 0;
    *out = (uint64_t)v->i;
    return 1;
}

static enum cpr_status parse_tensor(struct cpr_safetensors *st,
                                    const struct cpr_json *v,
                                    struct cpr_st_tensor *t,
                                    struct cpr_err *err) {
    const char *P = st->path;
    t->name = v->key;
    t->name_len = v->key_len;
    if (v->type != CPR_JSON_OBJECT)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: tensor '%s': expected an object with dtype, "
                           "shape, data_offsets, found %s", P, t->name,
                           cpr_json_type_name(v));
    const struct cpr_json *dt = cpr_json_get(v, "dtype");
    if (!cpr_json_is(dt, CPR_JSON_STRING))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: tensor '%s': \"dtype\" must be a string, found %s",
                           P, t->name, cpr_json_type_name(dt));
    size_t k = 0, nd = sizeof dtypes / sizeof dtypes[0];
    while (k < nd && !cpr_json_str_eq(dt, dtypes[k].name)) k++;
    if (k == nd)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: tensor '%s': unknown dtype '%.32s' (expected "
                           "a safetensors dtype such as F32, F16, BF16)",
                           P, t->name, dt->str);
    t->dtype_name = dtypes[k].name;
    t->dtype = dtypes[k].dtype;
    t->elem_size = dtypes[k].size;

    const struct cpr_json *sh = cpr_json_get(v, "shape");
    if (!cpr_json_is(sh, CPR_JSON_ARRAY))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: tensor '%s': \"shape\" must be an array, found %s",
                           P, t->name, cpr_json_type_name(sh));
    if (sh->len > CPR_ST_MAX_DIMS)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "%s: tensor '%s' has %zu dims (at most %d supported)",
                           P, t->name, sh->len, CPR_ST_MAX_DIMS);
    t->ndim = (int)sh->len;
    uint64_t numel = 1;
    int overflow = 0;
    for (size_t i = 0; i < sh->len; i++) {
        uint64_t d;
        if (!get_u64(sh->items[i], &d))
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: tensor '%s': shape[%zu] must be a "
                               "non-negative integer", P, t->name, i);
        if (d > (uint64_t)INT64_MAX) overflow = 1;
        t->shape[i] = (int64_t)d;
        if (d != 0 && numel > UINT64_MAX / d) overflow = 1;
        else numel *= d;
    }
    const struct cpr_json *off = cpr_json_get(v, "data_offsets");
    if (!cpr_json_is(off, CPR_JSON_ARRAY) || off->len != 2 ||
        !get_u64(off->items[0], &t->begin) || !get_u64(off->items[1], &t->end))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: tensor '%s': \"data_offsets\" must be "
                           "[begin, end] with non-negative integers", P, t->name);
    if (t->begin > t->end)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: tensor '%s': data_offsets [%llu, %llu) has "
                           "begin > end", P, t->name,
                           (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > st->data_size)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: tensor '%s': data_offsets [%llu, %llu) out of "
                           "range: the data section has %llu bytes", P, t->name,
                           (unsigned long long)t->begin, (unsigned long long)t->end,
                           (unsigned long long)st->data_size);
    uint64_t span = t->end - t->begin;
    if (overflow || numel > UINT64_MAX / t->elem_size ||
        numel * t->elem_size != span)
        return cpr_err_set(err, CPR_ERR_SHAPE,
                           "%s: tensor '%s': shape x dtype (%s) is %s%llu bytes "
                           "but data_offsets span %llu bytes", P, t->name,
                           t->dtype_name, overflow ? "an overflowing " : "",
                           overflow ? 0ull : (unsigned long long)(numel * t->elem_size),
                           (unsigned long long)span);
    return CPR_OK;
}

static enum cpr_status check_metadata(struct cpr_safetensors *st,
                                      const struct cpr_json *m,
                                      struct cpr_err *err) {
    if (m->type != CPR_JSON_OBJECT)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: \"__metadata__\" must be an object of strings, "
                           "found %s", st->path, cpr_json_type_name(m));
    for (size_t i = 0; i < m->len; i++)
        if (m->items[i]->type != CPR_JSON_STRING)
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: \"__metadata__\".\"%s\" must be a string, "
                               "found %s", st->path, m->items[i]->key,
                               cpr_json_type_name(m->items[i]));
    st->meta = m;
    st->n_meta = m->len;
    return CPR_OK;
}

// Sorted by range, the tensors must tile [0, data_size) exactly.
static enum cpr_status check_tiling(struct cpr_safetensors *st,
                                    struct cpr_err *err) {
    const char *P = st->path;
    if (st->n_tensors == 0) {
        if (st->data_size != 0)
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: no tensors but %llu trailing data bytes",
                               P, (unsigned long long)st->data_size);
        return CPR_OK;
    }
    const struct cpr_st_tensor **by = malloc(st->n_tensors * sizeof *by);
    if (!by) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", P);
    for (size_t i = 0; i < st->n_tensors; i++) by[i] = &st->tensors[i];
    qsort(by, st->n_tensors, sizeof *by, cmp_range);
    enum cpr_status s = CPR_OK;
    uint64_t pos = 0;
    const struct cpr_st_tensor *prev = NULL;
    for (size_t i = 0; i < st->n_tensors && s == CPR_OK; i++) {
        const struct cpr_st_tensor *t = by[i];
        if (t->begin < pos)
            s = cpr_err_set(err, CPR_ERR_FORMAT,
                            "%s: tensors '%s' [%llu, %llu) and '%s' [%llu, "
                            "%llu) overlap", P, prev->name,
                            (unsigned long long)prev->begin,
                            (unsigned long long)prev->end, t->name,
                            (unsigned long long)t->begin,
                            (unsigned long long)t->end);
        else if (t->begin > pos)
            s = cpr_err_set(err, CPR_ERR_FORMAT,
                            "%s: gap of %llu bytes before tensor '%s' at data "
                            "offset %llu (tensors must be contiguous)", P,
                            (unsigned long long)(t->begin - pos), t->name,
                            (unsigned long long)pos);
        pos = t->end;
        prev = t;
    }
    if (s == CPR_OK && pos != st->data_size)
        s = cpr_err_set(err, CPR_ERR_FORMAT,
                        "%s: tensors cover %llu bytes but the data section "
                        "has %llu (file size != computed size)", P,
                        (unsigned long long)pos,
                        (unsigned long long)st->data_size);
    free(by);
    return s;
}

// ---- public ----

enum cpr_status cpr_safetensors_parse(struct cpr_safetensors *st,
                                      const void *bytes, size_t size,
                                      const char *name, struct cpr_err *err) {
    memset(st, 0, sizeof *st);
    snprintf(st->path, sizeof st->path, "%s", name ? name : "safetensors");
    const char *P = st->path;
    const unsigned char *b = bytes;
    if (size < 8)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: file is %zu bytes, too short for the 8-byte "
                           "header length (truncated or not safetensors)", P, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | b[i];
    if (n > CPR_ST_MAX_HEADER)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: header length %llu exceeds the %llu-byte limit "
                           "(corrupt or not safetensors)", P,
                           (unsigned long long)n, CPR_ST_MAX_HEADER);
    if (n > size - 8)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: header length %llu runs past the end of the file "
                           "(%zu bytes; truncated?)", P, (unsigned long long)n,
                           size);
    if (n < 2 || b[8] != '{')
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: header must be a JSON object starting with '{' "
                           "(header length %llu)", P, (unsigned long long)n);
    st->header_len = n;
    st->data = b + 8 + n;
    st->data_size = size - 8 - n;
    char jname[1100];
    snprintf(jname, sizeof jname, "%s header", P);
    enum cpr_status s =
        cpr_json_parse(&st->doc, (const char *)b + 8, (size_t)n, jname, 0, err);
    if (s != CPR_OK) goto fail;
    const struct cpr_json *root = st->doc.root;
    if (root->type != CPR_JSON_OBJECT) {
        s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: header is a JSON %s, expected "
                        "an object", P, cpr_json_type_name(root));
        goto fail;
    }
    st->tensors = calloc(root->len ? root->len : 1, sizeof *st->tensors);
    if (!st->tensors) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", P);
        goto fail;
    }
    int seen_meta = 0;
    for (size_t i = 0; i < root->len; i++) {
        const struct cpr_json *v = root->items[i];
        if (v->key_len == 12 && memcmp(v->key, "__metadata__", 12) == 0) {
            if (seen_meta++) {
                s = cpr_err_set(err, CPR_ERR_FORMAT,
                                "%s: duplicate \"__metadata__\"", P);
                goto fail;
            }
            if ((s = check_metadata(st, v, err)) != CPR_OK) goto fail;
            continue;
        }
        s = parse_tensor(st, v, &st->tensors[st->n_tensors], err);
        if (s != CPR_OK) goto fail;
        st->n_tensors++;
    }
    qsort(st->tensors, st->n_tensors, sizeof *st->tensors, cmp_name);
    for (size_t i = 1; i < st->n_tensors; i++) {
        if (cmp_name(&st->tensors[i - 1], &st->tensors[i]) == 0) {
            s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: duplicate tensor name '%s'",
                            P, st->tensors[i].name);
            goto fail;
        }
    }
    if ((s = check_tiling(st, err)) != CPR_OK) goto fail;
    return CPR_OK;
fail:
    cpr_safetensors_close(st);
    return s;
}

enum cpr_status cpr_safetensors_open(struct cpr_safetensors *st,
                                     const char *path, struct cpr_err *err) {
    struct cpr_mapped_file map;
    memset(st, 0, sizeof *st);
    CPR_TRY(cpr_file_map(&map, path, err));
    enum cpr_status s = cpr_safetensors_parse(st, map.data, map.size, path, err);
    if (s != CPR_OK) {
        cpr_file_unmap(&map);
        return s;
    }
    st->map = map;
    return CPR_OK;
}

void cpr_safetensors_close(struct cpr_safetensors *st) {
    free(st->tensors);
    cpr_json_free(&st->doc);
    cpr_file_unmap(&st->map);
    memset(st, 0, sizeof *st);
}

const struct cpr_st_tensor *cpr_safetensors_find(const struct cpr_safetensors *st,
                                                 const char *name) {
    struct cpr_st_tensor key;
    memset(&key, 0, sizeof key);
    key.name = name;
    key.name_len = strlen(name);
    if (!st->n_tensors) return NULL;
    return bsearch(&key, st->tensors, st->n_tensors, sizeof key, cmp_name);
}

enum cpr_status cpr_safetensors_tensor(const struct cpr_safetensors *st,
                                       const char *name,
                                       struct cpr_tensor *out,
                                       struct cpr_err *err) {
    memset(out, 0, sizeof *out);
    const struct cpr_st_tensor *t = cpr_safetensors_find(st, name);
    if (!t)
        return cpr_err_set(err, CPR_ERR_NOTFOUND, "%s: no tensor named '%s'",
                           st->path, name);
    if (t->dtype < 0)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "%s: tensor '%s' has dtype %s (supported: F32, F16, "
                           "BF16)", st->path, name, t->dtype_name);
    if (t->ndim > CPR_TENSOR_MAX_DIMS)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "%s: tensor '%s' has %d dims (at most %d supported)",
                           st->path, name, t->ndim, CPR_TENSOR_MAX_DIMS);
    const unsigned char *p = st->data + t->begin;
    if ((uintptr_t)p % t->elem_size == 0) {
        cpr_tensor_wrap(out, (enum cpr_dtype)t->dtype, (void *)p, t->ndim,
                        t->shape, 1);
        return CPR_OK;
    }
    // Misaligned: an owned aligned copy (a 0-dim scalar is one element).
    int64_t one = 1;
    CPR_TRY(cpr_tensor_alloc(out, (enum cpr_dtype)t->dtype,
                             t->ndim ? t->ndim : 1, t->ndim ? t->shape : &one,
                             err));
    memcpy(out->data, p, (size_t)(t->end - t->begin));
    return CPR_OK;
}

const char *cpr_safetensors_meta(const struct cpr_safetensors *st,
                                 const char *key) {
    return cpr_json_get_str(st->meta, key, NULL);
}
