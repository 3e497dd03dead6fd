// data/sparse_st.c: compressed weights in safetensors (see sparse_st.h).
#include "data/sparse_st.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/weight.h"
#include "data/fileio.h"
#include "data/hf_config.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "data/tmpfiles.h"

// ---- reading ----

static const char *st_dtype(enum cpr_dtype dt) {
    return dt == CPR_DTYPE_F32 ? "F32" : dt == CPR_DTYPE_BF16 ? "BF16" : "F16";
}

enum cpr_status cpr_sparse_st_take(const struct cpr_st_set *set,
                                   const char *name, int64_t d0, int64_t d1,
                                   struct cpr_tensor *out,
                                   struct cpr_err *err) {
    memset(out, 0, sizeof *out);
    char vname[256], mname[256], key[300];
    snprintf(vname, sizeof vname, "%s.values", name);
    const struct cpr_safetensors *fv = cpr_st_set_locate(set, vname);
    if (!fv)
        return cpr_err_set(err, CPR_ERR_NOTFOUND,
                           "%s: missing tensor '%s' (neither dense nor "
                           "compressed)", set->dir, name);
    snprintf(key, sizeof key, "cprune.sparse.%s", name);
    const char *desc = cpr_safetensors_meta(fv, key);
    char lay[16];
    long long rows = -1, cols = -1;
    if (!desc || sscanf(desc, "%15s %lld %lld", lay, &rows, &cols) != 3 ||
        (strcmp(lay, "bitmask") != 0 && strcmp(lay, "nm24") != 0))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: tensor '%s' has no valid __metadata__ \"%s\" "
                           "(expected \"bitmask|nm24 ROWS COLS\", found %s%s%s)",
                           fv->path, vname, key, desc ? "\"" : "",
                           desc ? desc : "none", desc ? "\"" : "");
    enum cpr_wlayout l =
        strcmp(lay, "bitmask") == 0 ? CPR_WLAYOUT_BITMASK : CPR_WLAYOUT_NM24;
    if (rows != d0 || cols != d1)
        return cpr_err_set(err, CPR_ERR_SHAPE,
                           "%s: compressed tensor '%s' is (%lld, %lld), "
                           "expected (%lld, %lld) from config.json", fv->path,
                           name, rows, cols, (long long)d0, (long long)d1);
    snprintf(mname, sizeof mname, "%s.%s", name,
             l == CPR_WLAYOUT_BITMASK ? "mask" : "idx");
    const struct cpr_safetensors *fm = cpr_st_set_locate(set, mname);
    const struct cpr_st_tensor *tv = cpr_safetensors_find(fv, vname);
    const struct cpr_st_tensor *tm = fm ? cpr_safetensors_find(fm, mname) : NULL;
    if (!tm)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: compressed tensor '%s' lacks '%s'", fv->path,
                           name, mname);
    if (tv->dtype < 0 || tv->ndim != 1)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: '%s' must be a 1-D F32/BF16/F16 tensor (found "
                           "%s, %d dims)", fv->path, vname, tv->dtype_name,
                           tv->ndim);
    if (strcmp(tm->dtype_name, "U8") != 0 || tm->ndim != 2 ||
        tm->shape[0] != d0 ||
        tm->shape[1] != cpr_sparse_meta_ld(l, d1))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: '%s' must be U8 (%lld, %lld), found %s with %d "
                           "dims", fm->path, mname, (long long)d0,
                           (long long)cpr_sparse_meta_ld(l, d1),
                           tm->dtype_name, tm->ndim);
    const void *vals = fv->data + tv->begin;
    if (((uintptr_t)vals) % tv->elem_size)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: '%s' data is not aligned to its element size",
                           fv->path, vname);
    struct cpr_sparse *s = NULL;
    CPR_TRY(cpr_sparse_view(l, (enum cpr_dtype)tv->dtype, d0, d1, vals,
                            tv->shape[0], fm->data + tm->begin,
                            (int64_t)(tm->end - tm->begin), name, &s, err));
    cpr_tensor_set_sparse(out, s);
    return CPR_OK;
}

// ---- writing ----

struct raw {
    char name[192];
    const char *dtype;  // safetensors name
    size_t esz;
    int ndim;
    int64_t shape[2];
    const void *data;
    size_t nbytes;
};

struct raw_list {
    struct raw *r;
    size_t n, cap;
};

static enum cpr_status push(struct raw_list *l, const struct raw *r,
                            struct cpr_err *err) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct raw *nr = realloc(l->r, cap * sizeof *nr);
        if (!nr) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
        l->r = nr, l->cap = cap;
    }
    l->r[l->n++] = *r;
    return CPR_OK;
}

static enum cpr_status add_tensor(struct raw_list *l, const char *name,
                                  const struct cpr_tensor *t,
                                  struct cpr_err *err) {
    struct raw r = {0};
    if (!t->sparse) {
        if (!cpr_tensor_is_contiguous(t) || t->ndim < 1 || t->ndim > 2)
            return cpr_err_set(err, CPR_ERR_ARG,
                               "save: tensor %s is not a contiguous 1-D/2-D "
                               "tensor", name);
        snprintf(r.name, sizeof r.name, "%s", name);
        r.dtype = st_dtype(t->dtype), r.esz = cpr_dtype_size(t->dtype);
        r.ndim = t->ndim;
        for (int i = 0; i < t->ndim; i++) r.shape[i] = t->shape[i];
        r.data = t->data, r.nbytes = cpr_tensor_nbytes(t);
        return push(l, &r, err);
    }
    const struct cpr_sparse *s = t->sparse;
    snprintf(r.name, sizeof r.name, "%s.values", name);
    r.dtype = st_dtype(s->dtype), r.esz = cpr_dtype_size(s->dtype);
    r.ndim = 1, r.shape[0] = s->nnz + CPR_SPARSE_PAD;
    r.data = s->values, r.nbytes = (size_t)r.shape[0] * r.esz;
    CPR_TRY(push(l, &r, err));
    snprintf(r.name, sizeof r.name, "%s.%s", name,
             s->layout == CPR_WLAYOUT_BITMASK ? "mask" : "idx");
    r.dtype = "U8", r.esz = 1, r.ndim = 2;
    r.shape[0] = s->n_rows, r.shape[1] = s->meta_ld;
    r.data = s->meta, r.nbytes = (size_t)(s->n_rows * s->meta_ld);
    return push(l, &r, err);
}

// Larger elements first, then by name: every data offset is a multiple of
// its element size (the data section starts 8-aligned).
static int cmp_raw(const void *a, const void *b) {
    const struct raw *x = a, *y = b;
    if (x->esz != y->esz) return x->esz > y->esz ? -1 : 1;
    return strcmp(x->name, y->name);
}

static enum cpr_status write_st(const char *path, struct raw_list *l,
                                const char *const *meta, size_t n_meta,
                                struct cpr_err *err) {
    qsort(l->r, l->n, sizeof *l->r, cmp_raw);
    struct cpr_jw w;
    cpr_jw_init(&w, 0);
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "__metadata__");
    cpr_jw_begin_object(&w);
    for (size_t i = 0; i < n_meta; i++) {
        cpr_jw_key(&w, meta[2 * i]);
        cpr_jw_string(&w, meta[2 * i + 1]);
    }
    cpr_jw_end_object(&w);
    uint64_t off = 0;
    for (size_t i = 0; i < l->n; i++) {
        cpr_jw_key(&w, l->r[i].name);
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "dtype"), cpr_jw_string(&w, l->r[i].dtype);
        cpr_jw_key(&w, "shape");
        cpr_jw_begin_array(&w);
        for (int d = 0; d < l->r[i].ndim; d++) cpr_jw_int(&w, l->r[i].shape[d]);
        cpr_jw_end_array(&w);
        cpr_jw_key(&w, "data_offsets");
        cpr_jw_begin_array(&w);
        cpr_jw_int(&w, (int64_t)off);
        cpr_jw_int(&w, (int64_t)(off + l->r[i].nbytes));
        cpr_jw_end_array(&w);
        cpr_jw_end_object(&w);
        off += l->r[i].nbytes;
    }
    cpr_jw_end_object(&w);
    struct cpr_atomic_file af;
    af.fd = -1;
    af.tmp[0] = 0;
    enum cpr_status s = cpr_jw_finish(&w, err);
    if (s != CPR_OK) goto done;
    size_t hlen = w.len;
    while ((8 + hlen) % 8) hlen++;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    if ((s = cpr_atomic_open(&af, path, err)) != CPR_OK) goto done;
    if ((s = cpr_atomic_write(&af, len8, 8, err)) != CPR_OK) goto done;
    if ((s = cpr_atomic_write(&af, w.buf, w.len, err)) != CPR_OK) goto done;
    if ((s = cpr_atomic_write(&af, "        ", hlen - w.len, err)) != CPR_OK)
        goto done;
    for (size_t i = 0; i < l->n; i++)
        if ((s = cpr_atomic_write(&af, l->r[i].data, l->r[i].nbytes, err)) !=
            CPR_OK)
            goto done;
    s = cpr_atomic_commit(&af, err);
done:
    if (s != CPR_OK) cpr_atomic_abort(&af);
    cpr_jw_free(&w);
    return s;
}

static enum cpr_status copy_file(const char *src, const char *dst,
                                 struct cpr_err *err) {
    char *buf;
    size_t len;
    CPR_TRY(cpr_file_read_all(src, (size_t)1 << 30, &buf, &len, err));
    enum cpr_status s = cpr_file_write_atomic(dst, buf, len, err);
    free(buf);
    return s;
}

// The tokenizer files of model `from` into dir (as data/model_save.c).
static enum cpr_status copy_tokenizer(const char *from, const char *dir,
                                      struct cpr_err *err) {
    char tok[1024], dst[1024], src[1024], sdir[1024];
    enum cpr_tokenizer_kind kind;
    CPR_TRY(cpr_model_find_tokenizer(from, tok, sizeof tok, &kind, err));
    if (kind == CPR_TOKENIZER_LLAMA2C) {
        CPR_TRY(cpr_path_join(dst, sizeof dst, dir, "tokenizer.bin", err));
        return copy_file(tok, dst, err);
    }
    snprintf(sdir, sizeof sdir, "%s", tok);
    char *slash = strrchr(sdir, '/');
    if (slash) *slash = 0;
    else snprintf(sdir, sizeof sdir, ".");
    static const char *const files[] = {
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "tokenizer.model", "added_tokens.json", "generation_config.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        CPR_TRY(cpr_path_join(src, sizeof src, sdir, files[i], err));
        if (!cpr_path_is_file(src)) continue;
        CPR_TRY(cpr_path_join(dst, sizeof dst, dir, files[i], err));
        CPR_TRY(copy_file(src, dst, err));
    }
    return CPR_OK;
}

static enum cpr_status write_config(const struct cpr_model *m, const char *dir,
                                    struct cpr_err *err) {
    struct cpr_model_config c = m->cfg;
    c.rope_style = CPR_ROPE_HALF;
    const char *td = m->tok_embed.dtype == CPR_DTYPE_BF16  ? "bfloat16"
                     : m->tok_embed.dtype == CPR_DTYPE_F16 ? "float16"
                                                           : "float32";
    struct cpr_jw w;
    cpr_jw_init(&w, 2);
    cpr_hf_config_write(&c, td, &w);
    enum cpr_status s = cpr_jw_finish(&w, err);
    char p[1024];
    if (s == CPR_OK) s = cpr_path_join(p, sizeof p, dir, "config.json", err);
    if (s == CPR_OK) s = cpr_file_write_atomic(p, w.buf, w.len, err);
    cpr_jw_free(&w);
    return s;
}

// Write everything into out_dir, an existing empty directory.
static enum cpr_status write_dir(const struct cpr_model *m,
                                 const char *out_dir,
                                 const char *const *meta, size_t n_meta,
                                 const char *tokenizer_from,
                                 struct cpr_err *err) {
    const struct cpr_model_config *c = &m->cfg;
    struct raw_list l = {0};
    size_t nm = 2 + n_meta;
    // Metadata: format, version, one entry per compressed tensor, caller's.
    const char **mv = calloc(2 * (nm + (size_t)c->n_layers * CPR_LINEAR_COUNT),
                             sizeof *mv);
    char (*descs)[2][224] = calloc((size_t)c->n_layers * CPR_LINEAR_COUNT,
                                   sizeof *descs);
    enum cpr_status s = CPR_OK;
    if (!mv || !descs) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
        goto done;
    }
    mv[0] = "format", mv[1] = "pt", mv[2] = "cprune.sparse", mv[3] = "1";
    size_t k = 2;
    s = add_tensor(&l, "model.embed_tokens.weight", &m->tok_embed, err);
    if (s == CPR_OK) s = add_tensor(&l, "model.norm.weight", &m->final_norm, err);
    if (s == CPR_OK && !c->tied_embeddings)
        s = add_tensor(&l, "lm_head.weight", &m->lm_head, err);
    static const char *const lin[CPR_LINEAR_COUNT] = {
        "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
        "self_attn.o_proj", "mlp.gate_proj",   "mlp.up_proj",
        "mlp.down_proj"};
    char name[192];
    for (int64_t i = 0; s == CPR_OK && i < c->n_layers; i++) {
        const struct cpr_layer *L = &m->layers[i];
        snprintf(name, sizeof name, "model.layers.%lld.input_layernorm.weight",
                 (long long)i);
        s = add_tensor(&l, name, &L->attn_norm, err);
        snprintf(name, sizeof name,
                 "model.layers.%lld.post_attention_layernorm.weight",
                 (long long)i);
        if (s == CPR_OK) s = add_tensor(&l, name, &L->mlp_norm, err);
        for (int j = 0; s == CPR_OK && j < CPR_LINEAR_COUNT; j++) {
            const struct cpr_tensor *t =
                cpr_model_linear((struct cpr_model *)m, i, (enum cpr_linear)j);
            snprintf(name, sizeof name, "model.layers.%lld.%s.weight",
                     (long long)i, lin[j]);
            s = add_tensor(&l, name, t, err);
            if (s == CPR_OK && t->sparse) {
                char (*d)[224] = descs[i * CPR_LINEAR_COUNT + j];
                snprintf(d[0], 224, "cprune.sparse.%s", name);
                snprintf(d[1], 224, "%s %lld %lld",
                         t->sparse->layout == CPR_WLAYOUT_BITMASK ? "bitmask"
                                                                  : "nm24",
                         (long long)t->sparse->n_rows,
                         (long long)t->sparse->n_cols);
                mv[2 * k] = d[0], mv[2 * k + 1] = d[1], k++;
            }
        }
        if (s == CPR_OK && c->qkv_bias) {
            const struct cpr_tensor *b[3] = {&L->bq, &L->bk, &L->bv};
            for (int j = 0; s == CPR_OK && j < 3; j++) {
                snprintf(name, sizeof name, "model.layers.%lld.%s.bias",
                         (long long)i, lin[j]);
                s = add_tensor(&l, name, b[j], err);
            }
        }
    }
    for (size_t i = 0; i < n_meta; i++, k++)
        mv[2 * k] = meta[2 * i], mv[2 * k + 1] = meta[2 * i + 1];
    char p[1024];
    if (s == CPR_OK) s = cpr_path_join(p, sizeof p, out_dir, "model.safetensors", err);
    if (s == CPR_OK) s = write_st(p, &l, mv, k, err);
    if (s == CPR_OK) s = write_config(m, out_dir, err);
    if (s == CPR_OK && tokenizer_from) s = copy_tokenizer(tokenizer_from, out_dir, err);
done:
    free(l.r);
    free(mv);
    free(descs);
    return s;
}

enum cpr_status cpr_sparse_save_hf(const struct cpr_model *m,
                                   const char *out_dir,
                                   const char *const *meta, size_t n_meta,
                                   const char *tokenizer_from,
                                   struct cpr_err *err) {
    if (m->cfg.rope_style != CPR_ROPE_HALF)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "save: permute q/k to half-split RoPE first");
    if (m->cfg.arch == CPR_ARCH_OPT || m->cfg.arch == CPR_ARCH_QWEN3 ||
        m->cfg.arch == CPR_ARCH_GEMMA ||
        cpr_model_linears_per_layer(m) != CPR_LINEAR_COUNT)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "save: the sparse "
                           "layout is written for the LLaMA family only");
    char final[1100], tmp[1120];
    size_t n = strlen(out_dir);
    while (n > 1 && out_dir[n - 1] == '/') n--;
    if (n == 0 || n >= sizeof final)
        return cpr_err_set(err, CPR_ERR_ARG, "output path: expected 1..%zu "
                           "characters, found %zu", sizeof final - 1, n);
    memcpy(final, out_dir, n), final[n] = 0;
    // The input model's own directory is never an output (it is not empty,
    // so cpr_model_save_check_dest refuses it too; this names the reason).
    enum cpr_model_kind kind;
    char res[1024];
    uint64_t d1, i1, d2, i2;
    if (m->source[0] &&
        cpr_model_resolve(m->source, &kind, res, sizeof res, NULL) == CPR_OK &&
        kind == CPR_MODEL_KIND_HF && cpr_file_identity(res, &d1, &i1) == 0 &&
        cpr_file_identity(final, &d2, &i2) == 0 && d1 == d2 && i1 == i2)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "%s: refusing to write into the directory the model "
                           "was loaded from; choose another output", final);
    // Never into a non-empty directory: built beside it, then renamed.
    CPR_TRY(cpr_model_save_check_dest(final, 0, err));
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", final);
    if (!mkdtemp(tmp))
        return cpr_err_set(err, CPR_ERR_IO, "%s: cannot create a temporary "
                           "directory beside it: %s", final, strerror(errno));
    const int reg = cpr_tmp_register(tmp, 1);
    enum cpr_status s = write_dir(m, tmp, meta, n_meta, tokenizer_from, err);
    if (s == CPR_OK && chmod(tmp, 0755) != 0)
        s = cpr_err_set(err, CPR_ERR_IO, "%s: chmod failed: %s", tmp,
                        strerror(errno));
    if (s == CPR_OK && rename(tmp, final) != 0)
        s = cpr_err_set(err, CPR_ERR_IO, "rename %s -> %s failed: %s", tmp,
                        final, strerror(errno));
    if (s != CPR_OK) cpr_tmp_remove_dir(tmp);
    cpr_tmp_unregister(reg);
    return s;
}
