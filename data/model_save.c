// data/model_save.c: Hugging Face directory writer (see data/model_save.h).
#include "data/model_save.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/arch.h"
#include "data/fileio.h"
#include "data/hf_config.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "data/safetensors.h"
#include "data/safetensors_write.h"
#include "data/tmpfiles.h"

enum cpr_status cpr_rope_rows_to_half(const struct cpr_tensor *src,
                                      int64_t n_heads, int64_t head_dim,
                                      struct cpr_tensor *dst,
                                      struct cpr_err *err) {
    memset(dst, 0, sizeof *dst);
    if (src->ndim < 1 || src->shape[0] != n_heads * head_dim || head_dim % 2 ||
        !cpr_tensor_is_contiguous(src))
        return cpr_err_set(err, CPR_ERR_SHAPE,
                           "rope permutation: %lld rows is not %lld heads x "
                           "%lld (even) or the tensor is strided",
                           (long long)(src->ndim ? src->shape[0] : 0),
                           (long long)n_heads, (long long)head_dim);
    CPR_TRY(cpr_tensor_alloc(dst, src->dtype, src->ndim, src->shape, err));
    size_t row = cpr_tensor_nbytes(src) / (size_t)src->shape[0];
    const char *s = src->data;
    char *d = dst->data;
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++)
        for (int64_t p = 0; p < 2; p++)
            for (int64_t i = 0; i < half; i++)
                memcpy(d + (size_t)(h * head_dim + p * half + i) * row,
                       s + (size_t)(h * head_dim + 2 * i + p) * row, row);
    return CPR_OK;
}

// ---- tensors ----

struct save_set {
    struct cpr_st_entry *e;
    char (*names)[96];
    struct cpr_tensor *owned; // permuted copies
    size_t n, n_owned;
};

static void add(struct save_set *s, const char *name, const struct cpr_tensor *t) {
    snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
    s->e[s->n].name = s->names[s->n];
    s->e[s->n].t = t;
    s->n++;
}

static enum cpr_status build_entries(const struct cpr_model *m,
                                     struct save_set *s, struct cpr_err *err) {
    const struct cpr_model_config *c = &m->cfg;
    const struct cpr_arch_names *an = cpr_arch_names_for(c->arch);
    size_t n_rope = 0; // permuted or transposed copies per layer, at most
    for (size_t i = 0; i < an->n_layer; i++)
        n_rope += (an->layer[i].flags &
                   (CPR_TN_ROPE_Q | CPR_TN_ROPE_K | CPR_TN_CONV1D)) != 0;
    // LLaMA mlp_bias: zero gate/up biases (no slot) written per layer
    const size_t n_zero = c->mlp_bias && c->arch == CPR_ARCH_LLAMA ? 2 : 0;
    size_t cap = 5 + (size_t)c->n_layers * (an->n_layer + n_zero);
    s->e = calloc(cap, sizeof *s->e);
    s->names = calloc(cap, sizeof *s->names);
    s->owned = calloc((size_t)c->n_layers * (n_rope + n_zero) + 1,
                      sizeof *s->owned);
    if (!s->e || !s->names || !s->owned)
        return cpr_err_set(err, CPR_ERR_NOMEM, "model save: out of memory");
    add(s, an->embed, &m->tok_embed);
    if (!c->tied_embeddings) add(s, an->lm_head, &m->lm_head);
    add(s, an->final_norm, &m->final_norm);
    if (an->final_norm_bias) add(s, an->final_norm_bias, &m->final_norm_b);
    if (an->pos_embed) add(s, an->pos_embed, &m->pos_embed);
    int perm = c->rope_style == CPR_ROPE_INTERLEAVED;
    char nm[96];
    for (int64_t l = 0; l < c->n_layers; l++) {
        struct cpr_layer *L = &m->layers[l];
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        int k = snprintf(nm, sizeof nm, an->layer_prefix, (long long)l);
        for (size_t i = 0; i < an->n_layer; i++) {
            const struct cpr_tensor_name *tn = &an->layer[i];
            const struct cpr_tensor *t = cpr_tensor_name_slot(L, tn);
            if (!t->data) continue; // absent biases
            if (perm && (tn->flags & (CPR_TN_ROPE_Q | CPR_TN_ROPE_K))) {
                int64_t heads = (tn->flags & CPR_TN_ROPE_Q) ? sh.n_heads
                                                            : sh.n_kv_heads;
                struct cpr_tensor *o = &s->owned[s->n_owned];
                CPR_TRY(cpr_rope_rows_to_half(t, heads, sh.head_dim, o, err));
                s->n_owned++;
                t = o;
            }
            if (tn->flags & CPR_TN_CONV1D) { // GPT-2: back to (in, out)
                struct cpr_tensor *o = &s->owned[s->n_owned];
                CPR_TRY(cpr_tensor_transpose2d(t, o, err));
                s->n_owned++;
                t = o;
            }
            snprintf(nm + k, sizeof nm - (size_t)k, "%s", tn->suffix);
            add(s, nm, t);
        }
        static const char *const zero_sfx[] = {"mlp.gate_proj.bias",
                                               "mlp.up_proj.bias"};
        for (size_t i = 0; i < n_zero && sh.has_mlp; i++) {
            struct cpr_tensor *o = &s->owned[s->n_owned];
            CPR_TRY(cpr_tensor_alloc(o, CPR_DTYPE_F32, 1, &sh.intermediate,
                                     err));
            memset(o->data, 0, cpr_tensor_nbytes(o));
            s->n_owned++;
            snprintf(nm + k, sizeof nm - (size_t)k, "%s", zero_sfx[i]);
            add(s, nm, o);
        }
    }
    return CPR_OK;
}

static void free_entries(struct save_set *s) {
    for (size_t i = 0; i < s->n_owned; i++) cpr_tensor_free(&s->owned[i]);
    free(s->owned);
    free(s->e);
    free(s->names);
}

// ---- files ----

static enum cpr_status write_config(const struct cpr_model *m, const char *dir,
                                    struct cpr_err *err) {
    struct cpr_model_config c = m->cfg;
    c.rope_style = CPR_ROPE_HALF; // q/k were permuted if needed
    static const char *const tnames[] = {[CPR_DTYPE_F32] = "float32",
                                         [CPR_DTYPE_BF16] = "bfloat16",
                                         [CPR_DTYPE_F16] = "float16"};
    const char *td = (unsigned)m->tok_embed.dtype < CPR_DTYPE_COUNT
                         ? tnames[m->tok_embed.dtype]
                         : "float32";
    // per-layer shapes only when some layer differs from the config's
    struct cpr_layer_shape *shapes = NULL;
    for (int64_t l = 0; l < c.n_layers && !shapes; l++)
        if (m->layers[l].shape.n_heads > 0) {
            const struct cpr_layer_shape a = cpr_layer_shape_of(m, l);
            if (a.n_heads != c.n_heads || a.n_kv_heads != c.n_kv_heads ||
                a.intermediate != c.intermediate || !a.has_attn || !a.has_mlp) {
                shapes = calloc((size_t)c.n_layers, sizeof *shapes);
                if (!shapes)
                    return cpr_err_set(err, CPR_ERR_NOMEM, "model save: "
                                       "layer shapes");
                for (int64_t i = 0; i < c.n_layers; i++)
                    shapes[i] = cpr_layer_shape_of(m, i);
            }
        }
    struct cpr_jw w;
    cpr_jw_init(&w, 2);
    cpr_hf_config_write_shapes(&c, td, shapes, &w);
    free(shapes);
    enum cpr_status s = cpr_jw_finish(&w, err);
    char p[1024];
    if (s == CPR_OK) s = cpr_path_join(p, sizeof p, dir, "config.json", err);
    if (s == CPR_OK) s = cpr_file_write_atomic(p, w.buf, w.len, err);
    cpr_jw_free(&w);
    return s;
}

static enum cpr_status copy_file(const char *src, const char *dst,
                                 struct cpr_err *err) {
    uint64_t d1, i1, d2, i2;
    if (cpr_file_identity(src, &d1, &i1) == 0 &&
        cpr_file_identity(dst, &d2, &i2) == 0 && d1 == d2 && i1 == i2)
        return CPR_OK; // already there (same file)
    char *buf;
    size_t len;
    CPR_TRY(cpr_file_read_all(src, (size_t)1 << 30, &buf, &len, err));
    enum cpr_status s = cpr_file_write_atomic(dst, buf, len, err);
    free(buf);
    return s;
}

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
        "tokenizer.json",        "tokenizer_config.json",
        "special_tokens_map.json", "tokenizer.model",
        "added_tokens.json",     "generation_config.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        CPR_TRY(cpr_path_join(src, sizeof src, sdir, files[i], err));
        if (!cpr_path_is_file(src)) continue;
        CPR_TRY(cpr_path_join(dst, sizeof dst, dir, files[i], err));
        CPR_TRY(copy_file(src, dst, err));
    }
    return CPR_OK;
}

static enum cpr_status write_all(const struct cpr_model *m, const char *dir,
                                 const struct cpr_model_save_opts *o,
                                 struct cpr_err *err) {
    struct save_set s;
    memset(&s, 0, sizeof s);
    const char **meta = NULL;
    struct cpr_file_id ids[64];
    size_t n_ids = cpr_model_input_files(m, ids, 64);
    if (n_ids > 64) n_ids = 64;
    enum cpr_status st = build_entries(m, &s, err);
    size_t n_meta = 1 + (o ? o->n_meta : 0);
    if (st == CPR_OK) {
        meta = malloc(2 * n_meta * sizeof *meta);
        if (!meta) st = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    }
    char p[1024];
    if (st == CPR_OK) {
        meta[0] = "format";
        meta[1] = "pt";
        for (size_t i = 1; i < n_meta; i++) {
            meta[2 * i] = o->meta[2 * (i - 1)];
            meta[2 * i + 1] = o->meta[2 * (i - 1) + 1];
        }
        st = cpr_path_join(p, sizeof p, dir, "model.safetensors", err);
    }
    if (st == CPR_OK)
        st = cpr_safetensors_write(p, s.e, s.n, meta, n_meta, ids, n_ids, err);
    if (st == CPR_OK) st = write_config(m, dir, err);
    if (st == CPR_OK && o && o->tokenizer_file) {
        const size_t tl = strlen(o->tokenizer_file);
        const int json = tl >= 5 && !strcmp(o->tokenizer_file + tl - 5, ".json");
        st = cpr_path_join(p, sizeof p, dir,
                           json ? "tokenizer.json" : "tokenizer.bin", err);
        if (st == CPR_OK) st = copy_file(o->tokenizer_file, p, err);
    } else if (st == CPR_OK && o && o->tokenizer_from) {
        st = copy_tokenizer(o->tokenizer_from, dir, err);
    }
    free(meta);
    free_entries(&s);
    return st;
}

enum cpr_status cpr_model_save_extras(const struct cpr_model *m,
                                      const char *dir,
                                      const struct cpr_model_save_opts *o,
                                      struct cpr_err *err) {
    CPR_TRY(write_config(m, dir, err));
    char p[1024];
    if (o && o->tokenizer_file) {
        const size_t tl = strlen(o->tokenizer_file);
        const int json = tl >= 5 && !strcmp(o->tokenizer_file + tl - 5, ".json");
        CPR_TRY(cpr_path_join(p, sizeof p, dir,
                              json ? "tokenizer.json" : "tokenizer.bin", err));
        return copy_file(o->tokenizer_file, p, err);
    }
    if (o && o->tokenizer_from) return copy_tokenizer(o->tokenizer_from, dir, err);
    return CPR_OK;
}

int cpr_model_is_cprune_output(const char *dir) {
    char p[1100];
    if (snprintf(p, sizeof p, "%s/config.json", dir) >= (int)sizeof p ||
        !cpr_path_is_file(p))
        return 0;
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    if (!cpr_path_is_file(p)) { // sharded (data/model_shards.h): its
        DIR *d = opendir(dir);  // last shard carries the run's metadata
        if (!d) return 0;
        char last[300] = "";
        for (struct dirent *e; (e = readdir(d));) {
            const size_t n = strlen(e->d_name);
            if (n > 12 && !strncmp(e->d_name, "model-", 6) &&
                !strcmp(e->d_name + n - 12, ".safetensors") &&
                strcmp(e->d_name, last) > 0 && n < sizeof last)
                snprintf(last, sizeof last, "%s", e->d_name);
        }
        closedir(d);
        if (!last[0]) return 0;
        snprintf(p, sizeof p, "%s/%s", dir, last);
    }
    struct cpr_safetensors st;
    memset(&st, 0, sizeof st);
    struct cpr_err e = {0};
    if (cpr_safetensors_open(&st, p, &e) != CPR_OK) return 0;
    const int ours = cpr_safetensors_meta(&st, "cprune.version") != NULL;
    cpr_safetensors_close(&st);
    return ours;
}

// 1 when dir is a directory with no entries besides . and ..
static int dir_is_empty(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int empty = 1;
    for (struct dirent *e; empty && (e = readdir(d));)
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

// out_dir without trailing slashes, into buf. CPR_ERR_ARG when too long.
static enum cpr_status trim_dir(const char *out_dir, char *buf, size_t cap,
                                struct cpr_err *err) {
    size_t ol = strlen(out_dir);
    while (ol > 1 && out_dir[ol - 1] == '/') ol--;
    if (ol + 16 >= cap)
        return cpr_err_set(err, CPR_ERR_ARG, "output path too long: %s",
                           out_dir);
    snprintf(buf, cap, "%.*s", (int)ol, out_dir);
    return CPR_OK;
}

enum cpr_status cpr_model_save_check_dest(const char *out_dir, int replace,
                                          struct cpr_err *err) {
    char final[1100], parent[1100];
    CPR_TRY(trim_dir(out_dir, final, sizeof final, err));
    if (cpr_path_is_dir(final)) {
        if (dir_is_empty(final)) return CPR_OK;
        if (!replace)
            return cpr_err_set(err, CPR_ERR_ARG, "%s: exists and is not empty "
                               "(cprune never writes into an existing "
                               "directory; --force replaces an earlier cprune "
                               "output)", final);
        if (!cpr_model_is_cprune_output(final))
            return cpr_err_set(err, CPR_ERR_ARG, "%s: not replaced: it is not "
                               "a cprune output (config.json + "
                               "model.safetensors written by cprune)", final);
    } else if (access(final, F_OK) == 0) {
        return cpr_err_set(err, CPR_ERR_ARG, "%s: exists and is not a "
                           "directory", final);
    }
    // The temporary directory goes beside it: the parent must be writable.
    snprintf(parent, sizeof parent, "%s", final);
    char *slash = strrchr(parent, '/');
    if (slash == parent) parent[1] = 0;
    else if (slash) *slash = 0;
    else snprintf(parent, sizeof parent, ".");
    if (!cpr_path_is_dir(parent))
        return cpr_err_set(err, CPR_ERR_NOTFOUND, "%s: the folder %s does not "
                           "exist", final, parent);
    if (access(parent, W_OK | X_OK) != 0)
        return cpr_err_set(err, CPR_ERR_IO, "%s: cannot write in %s: %s",
                           final, parent, strerror(errno));
    return CPR_OK;
}

enum cpr_status cpr_model_save_hf(const struct cpr_model *m,
                                  const char *out_dir,
                                  const struct cpr_model_save_opts *opts,
                                  struct cpr_err *err) {
    CPR_TRY(cpr_model_validate(m, err));
    char final[1100], tmp[1120], old[1120] = "";
    CPR_TRY(trim_dir(out_dir, final, sizeof final, err));
    if (cpr_path_is_dir(final)) {
        // Refuse the model's own directory: config.json and the weights
        // there are what this model was read from.
        enum cpr_model_kind kind;
        char res[1024];
        uint64_t d1, i1, d2, i2;
        if (m->source[0] &&
            cpr_model_resolve(m->source, &kind, res, sizeof res, NULL) == CPR_OK &&
            kind == CPR_MODEL_KIND_HF && cpr_file_identity(res, &d1, &i1) == 0 &&
            cpr_file_identity(final, &d2, &i2) == 0 && d1 == d2 && i1 == i2)
            return cpr_err_set(err, CPR_ERR_ARG,
                               "%s: refusing to write into the directory the "
                               "model was loaded from; choose another output",
                               final);
    }
    CPR_TRY(cpr_model_save_check_dest(final, opts && opts->replace, err));
    const int swap = cpr_path_is_dir(final) && !dir_is_empty(final);
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", final);
    if (!mkdtemp(tmp))
        return cpr_err_set(err, CPR_ERR_IO, "%s: cannot create a temporary "
                           "directory beside it: %s", final, strerror(errno));
    const int reg = cpr_tmp_register(tmp, 1);
    enum cpr_status s = write_all(m, tmp, opts, err);
    if (s == CPR_OK && chmod(tmp, 0755) != 0)
        s = cpr_err_set(err, CPR_ERR_IO, "%s: chmod failed: %s", tmp,
                        strerror(errno));
    if (s == CPR_OK && swap) {
        // Replace an earlier cprune output: move it aside (onto an empty
        // placeholder directory), move the new one in, delete the old one.
        snprintf(old, sizeof old, "%s.old.XXXXXX", final);
        if (!mkdtemp(old) || rename(final, old) != 0)
            s = cpr_err_set(err, CPR_ERR_IO, "%s: cannot move the earlier "
                            "output aside: %s", final, strerror(errno));
        if (s == CPR_OK && rename(tmp, final) != 0) {
            s = cpr_err_set(err, CPR_ERR_IO, "rename %s -> %s failed: %s", tmp,
                            final, strerror(errno));
            (void)rename(old, final); // put the earlier output back
        }
        if (s == CPR_OK) cpr_tmp_remove_dir(old);
        else if (old[0]) rmdir(old);
    } else if (s == CPR_OK && rename(tmp, final) != 0) { // new or empty dir
        s = cpr_err_set(err, CPR_ERR_IO, "rename %s -> %s failed: %s", tmp,
                        final, strerror(errno));
    }
    if (s != CPR_OK) cpr_tmp_remove_dir(tmp);
    cpr_tmp_unregister(reg);
    return s;
}
