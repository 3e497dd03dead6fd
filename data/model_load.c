// data/model_load.c: model path resolution and loading (see
// data/model_load.h).
#include "data/model_load.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/model_edit.h"
#include "data/arch.h"
#include "data/fileio.h"
#include "data/hf_config.h"
#include "data/llama2c.h"
#include "data/safetensors_set.h"
#include "data/sha256.h"
#include "data/sparse_st.h"

// ---- backing: what keeps the borrowed bytes alive ----

struct backing {
    enum cpr_model_kind kind;
    struct cpr_st_set set;       // HF
    struct cpr_mapped_file map;  // llama2.c
};

static void backing_free(void *p) {
    struct backing *b = p;
    if (!b) return;
    cpr_st_set_close(&b->set);
    cpr_file_unmap(&b->map);
    free(b);
}

size_t cpr_model_input_files(const struct cpr_model *m,
                             struct cpr_file_id *ids, size_t cap) {
    if (m->backing_free != backing_free || !m->backing) return 0;
    const struct backing *b = m->backing;
    size_t n = 0;
    if (b->kind == CPR_MODEL_KIND_LLAMA2C) {
        if (cap > 0) ids[0].dev = b->map.dev, ids[0].ino = b->map.ino;
        return 1;
    }
    for (size_t i = 0; i < b->set.n_files; i++, n++)
        if (n < cap)
            ids[n].dev = b->set.files[i].map.dev,
            ids[n].ino = b->set.files[i].map.ino;
    return n;
}

// ---- path helpers ----

static void dirname_of(const char *path, char *out, size_t cap) {
    snprintf(out, cap, "%s", path);
    char *s = strrchr(out, '/');
    if (!s) snprintf(out, cap, ".");
    else if (s == out) out[1] = 0;
    else *s = 0;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

// 1 when path starts with the GGUF magic "GGUF" (llama.cpp's format).
static int is_gguf_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char magic[4];
    int ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "GGUF", 4) == 0;
    fclose(f);
    return ok;
}

// 1 when path holds a valid llama2.c checkpoint header for its size.
static int is_llama2c_checkpoint(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char hdr[28];
    size_t got = fread(hdr, 1, sizeof hdr, f);
    int ok = 0;
    if (got == sizeof hdr && fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        struct cpr_llama2c_header h;
        // Validate against the real size without reading the weights: the
        // header check only needs the first 28 bytes and the size.
        ok = size > 0 && cpr_llama2c_parse_header(hdr, sizeof hdr, (uint64_t)size,
                                                  path, &h, NULL) == CPR_OK;
    }
    fclose(f);
    return ok;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Regular files in dir ending with `suffix`, sorted; *names is a malloc'd
// array of malloc'd strings (free with free_names).
static enum cpr_status list_dir(const char *dir, const char *suffix,
                                char ***names, size_t *n, struct cpr_err *err) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return cpr_err_set(err, CPR_ERR_IO, "%s: cannot list directory", dir);
    size_t cap = 0;
    struct dirent *e;
    enum cpr_status s = CPR_OK;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, suffix)) continue;
        char p[1024];
        if (cpr_path_join(p, sizeof p, dir, e->d_name, NULL) != CPR_OK ||
            !cpr_path_is_file(p))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            char **nn = realloc(*names, cap * sizeof *nn);
            if (!nn) {
                s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
                break;
            }
            *names = nn;
        }
        (*names)[*n] = malloc(strlen(p) + 1);
        if (!(*names)[*n]) {
            s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
            break;
        }
        strcpy((*names)[(*n)++], p);
    }
    closedir(d);
    if (*n) qsort(*names, *n, sizeof **names, cmp_str);
    return s;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

// ---- resolution ----

enum cpr_status cpr_model_resolve(const char *path, enum cpr_model_kind *kind,
                                  char *resolved, size_t cap,
                                  struct cpr_err *err) {
    char p[1024];
    if (cpr_path_is_file(path)) {
        if (ends_with(path, "config.json") || ends_with(path, ".safetensors") ||
            ends_with(path, ".safetensors.index.json")) {
            *kind = CPR_MODEL_KIND_HF;
            dirname_of(path, resolved, cap);
            return CPR_OK;
        }
        if (is_gguf_file(path))
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                               "%s is a GGUF file (llama.cpp's format): cprune "
                               "writes GGUF (--out-format gguf) but reads only "
                               "Hugging Face directories (config.json + "
                               "*.safetensors) and llama2.c checkpoints", path);
        *kind = CPR_MODEL_KIND_LLAMA2C;
        snprintf(resolved, cap, "%s", path);
        return CPR_OK;
    }
    if (!cpr_path_is_dir(path))
        return cpr_err_set(err, CPR_ERR_NOTFOUND, "model path %s does not exist",
                           path);
    CPR_TRY(cpr_path_join(p, sizeof p, path, "config.json", err));
    if (cpr_path_is_file(p)) {
        *kind = CPR_MODEL_KIND_HF;
        snprintf(resolved, cap, "%s", path);
        return CPR_OK;
    }
    char **names;
    size_t n;
    CPR_TRY(list_dir(path, ".bin", &names, &n, err));
    size_t n_ckpt = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (is_llama2c_checkpoint(names[i]) && n_ckpt++ == 0) first = i;
    enum cpr_status s = CPR_OK;
    if (n_ckpt == 1) {
        *kind = CPR_MODEL_KIND_LLAMA2C;
        snprintf(resolved, cap, "%s", names[first]);
    } else if (n_ckpt > 1) {
        s = cpr_err_set(err, CPR_ERR_ARG,
                        "%s holds %zu llama2.c checkpoints; pass the file "
                        "itself (--model %s)", path, n_ckpt, names[first]);
    } else {
        s = cpr_err_set(err, CPR_ERR_NOTFOUND,
                        "%s: no config.json (Hugging Face model) and none of "
                        "its %zu .bin files is a valid llama2.c checkpoint",
                        path, n);
    }
    free_names(names, n);
    return s;
}

// ---- Hugging Face ----

// Fetch `name` and check its shape is (d0) or (d0, d1).
static enum cpr_status take(const struct cpr_st_set *set, const char *name,
                            int64_t d0, int64_t d1, struct cpr_tensor *out,
                            struct cpr_err *err) {
    // A 2-D weight stored compressed (data/sparse_st.h) instead of dense.
    if (d1 >= 0 && !cpr_st_set_locate(set, name)) {
        enum cpr_status s = cpr_sparse_st_take(set, name, d0, d1, out, err);
        if (s != CPR_ERR_NOTFOUND) return s;
    }
    CPR_TRY(cpr_st_set_tensor(set, name, out, err));
    int nd = d1 < 0 ? 1 : 2;
    if (out->ndim != nd || out->shape[0] != d0 || (nd == 2 && out->shape[1] != d1)) {
        char got[96];
        int k = snprintf(got, sizeof got, "(");
        for (int i = 0; i < out->ndim && k < 80; i++)
            k += snprintf(got + k, sizeof got - (size_t)k, "%s%lld",
                          i ? ", " : "", (long long)out->shape[i]);
        snprintf(got + k, sizeof got - (size_t)k, ")");
        cpr_tensor_free(out);
        if (nd == 1)
            return cpr_err_set(err, CPR_ERR_SHAPE, "%s: tensor '%s' has shape "
                               "%s, expected (%lld) from config.json", set->dir,
                               name, got, (long long)d0);
        return cpr_err_set(err, CPR_ERR_SHAPE, "%s: tensor '%s' has shape %s, "
                           "expected (%lld, %lld) from config.json", set->dir,
                           name, got, (long long)d0, (long long)d1);
    }
    return CPR_OK;
}

// The checkpoint's name for `name`: itself, or without the family's
// optional prefix when the checkpoint lacks it (`strip`).
static const char *file_name(const struct cpr_arch_names *an, int strip,
                             const char *name) {
    const size_t n = an->optional_prefix ? strlen(an->optional_prefix) : 0;
    if (strip && n && !strncmp(name, an->optional_prefix, n)) return name + n;
    return name;
}

// A layer tensor: taken at (d0, d1), or for a Conv1D entry (GPT-2) taken
// at the file's (d1, d0) and transposed into an owned copy.
static enum cpr_status take_entry(const struct cpr_st_set *set,
                                  const struct cpr_tensor_name *tn,
                                  const char *name, int64_t d0, int64_t d1,
                                  struct cpr_tensor *out,
                                  struct cpr_err *err) {
    if (!(tn->flags & CPR_TN_CONV1D) || d1 < 0)
        return take(set, name, d0, d1, out, err);
    struct cpr_tensor file;
    CPR_TRY(take(set, name, d1, d0, &file, err));
    enum cpr_status s = cpr_tensor_transpose2d(&file, out, err);
    cpr_tensor_free(&file);
    if (s != CPR_OK)
        cpr_err_set(err, s, "%s: tensor '%s': %s", set->dir, name, err->msg);
    return s;
}

// Per-layer shapes from config.json's "cprune_layer_shapes" (when present)
// into m->layers[*].shape; the tensors are then taken at those shapes.
static enum cpr_status load_layer_shapes(const char *path, struct cpr_model *m,
                                         struct cpr_err *err) {
    char *buf;
    size_t len;
    CPR_TRY(cpr_file_read_all(path, 16u << 20, &buf, &len, err));
    struct cpr_layer_shape *sh = calloc((size_t)m->cfg.n_layers, sizeof *sh);
    int present = 0;
    enum cpr_status s = sh ? CPR_OK
                           : cpr_err_set(err, CPR_ERR_NOMEM, "%s: layer "
                                         "shapes", path);
    if (!s) s = cpr_hf_layer_shapes_parse(buf, len, path, &m->cfg, sh,
                                          &present, err);
    for (int64_t l = 0; !s && present && l < m->cfg.n_layers; l++)
        m->layers[l].shape = sh[l];
    free(sh);
    free(buf);
    return s;
}

// LLaMA mlp_bias: the gate and up biases have no slot (the SwiGLU forward
// adds none), so they must be absent or zero; nonzero ones are refused
// rather than dropped. name holds the layer prefix up to k.
static enum cpr_status check_zero_mlp_biases(const struct cpr_st_set *set,
                                             char *name, size_t cap, int k,
                                             int64_t inter,
                                             struct cpr_err *err) {
    static const char *const sfx[] = {"mlp.gate_proj.bias", "mlp.up_proj.bias"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(name + k, cap - (size_t)k, "%s", sfx[i]);
        if (!cpr_st_set_locate(set, name)) continue;
        struct cpr_tensor t, f;
        CPR_TRY(take(set, name, inter, -1, &t, err));
        enum cpr_status s = cpr_tensor_copy_f32(&f, &t, err);
        cpr_tensor_free(&t);
        if (s) return s;
        const float *v = f.data;
        int64_t nz = -1;
        for (int64_t j = 0; j < inter && nz < 0; j++)
            if (v[j] != 0.0f) nz = j;
        cpr_tensor_free(&f);
        if (nz >= 0)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: tensor '%s' is "
                               "nonzero at %lld; nonzero gate/up biases are "
                               "not supported (zero ones, as hf-padded "
                               "outputs hold, are)", set->dir, name,
                               (long long)nz);
    }
    return CPR_OK;
}

static enum cpr_status load_hf(const char *dir, struct cpr_model *m,
                               struct backing *b, struct cpr_err *err) {
    char p[1024];
    CPR_TRY(cpr_path_join(p, sizeof p, dir, "config.json", err));
    CPR_TRY(cpr_hf_config_load(p, &m->cfg, err));
    CPR_TRY(cpr_st_set_open(&b->set, dir, err));
    const struct cpr_model_config *c = &m->cfg;
    const struct cpr_st_set *set = &b->set;
    const int64_t h = c->hidden, V = c->vocab;
    const struct cpr_arch_names *an = cpr_arch_names_for(c->arch);
    // GPT-2 files saved from GPT2Model lack "transformer."
    const int strip = an->optional_prefix &&
                      !cpr_st_set_locate(set, an->embed) &&
                      cpr_st_set_locate(set, file_name(an, 1, an->embed));
    int has_emb = cpr_st_set_locate(set, file_name(an, strip, an->embed)) != NULL;
    int has_head = cpr_st_set_locate(set, an->lm_head) != NULL;
    if (c->tied_embeddings && (has_emb || has_head)) {
        const char *src = has_emb ? file_name(an, strip, an->embed)
                                  : an->lm_head;
        CPR_TRY(take(set, src, V, h, &m->tok_embed, err));
        m->lm_head = m->tok_embed;
        m->lm_head.owns_data = 0;
    } else {
        CPR_TRY(take(set, file_name(an, strip, an->embed), V, h,
                     &m->tok_embed, err));
        CPR_TRY(take(set, an->lm_head, V, h, &m->lm_head, err));
    }
    CPR_TRY(take(set, file_name(an, strip, an->final_norm), h, -1,
                 &m->final_norm, err));
    if (an->final_norm_bias)
        CPR_TRY(take(set, file_name(an, strip, an->final_norm_bias), h, -1,
                     &m->final_norm_b, err));
    if (an->pos_embed)
        CPR_TRY(take(set, file_name(an, strip, an->pos_embed),
                     c->context + c->block.pos_offset, h, &m->pos_embed,
                     err));
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers)
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", dir);
    CPR_TRY(load_layer_shapes(p, m, err));
    for (int64_t l = 0; l < c->n_layers; l++) {
        struct cpr_layer *L = &m->layers[l];
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        char name[160];
        int k = snprintf(name, sizeof name,
                         file_name(an, strip, an->layer_prefix), (long long)l);
        for (size_t i = 0; i < an->n_layer; i++) {
            const struct cpr_tensor_name *tn = &an->layer[i];
            if (!cpr_tensor_name_present(tn, c)) continue;
            if (!cpr_layer_field_kept(&sh, tn->offset)) continue; // removed
            int64_t d0, d1;
            cpr_tensor_name_dims(tn, c, &sh, &d0, &d1);
            snprintf(name + k, sizeof name - (size_t)k, "%s", tn->suffix);
            if ((tn->flags & CPR_TN_OPTIONAL) && !cpr_st_set_locate(set, name))
                continue;
            CPR_TRY(take_entry(set, tn, name, d0, d1,
                               cpr_tensor_name_slot(L, tn), err));
        }
        if (c->mlp_bias && sh.has_mlp)
            CPR_TRY(check_zero_mlp_biases(set, name, sizeof name, k,
                                          sh.intermediate, err));
    }
    snprintf(m->format, sizeof m->format, "hf-safetensors");
    return CPR_OK;
}

// ---- public ----

enum cpr_status cpr_model_load(const char *path, struct cpr_model *m,
                               struct cpr_err *err) {
    memset(m, 0, sizeof *m);
    enum cpr_model_kind kind;
    char res[1024];
    CPR_TRY(cpr_model_resolve(path, &kind, res, sizeof res, err));
    struct backing *b = calloc(1, sizeof *b);
    if (!b) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    b->kind = kind;
    m->backing = b;
    m->backing_free = backing_free;
    enum cpr_status s;
    if (kind == CPR_MODEL_KIND_HF) {
        s = load_hf(res, m, b, err);
    } else {
        s = cpr_file_map(&b->map, res, err);
        if (s == CPR_OK) s = cpr_llama2c_build(b->map.data, b->map.size, res, m, err);
    }
    if (s == CPR_OK) s = cpr_model_validate(m, err);
    if (s != CPR_OK) {
        cpr_model_free(m);
        return s;
    }
    snprintf(m->source, sizeof m->source, "%s", path);
    return CPR_OK;
}

enum cpr_status cpr_model_find_tokenizer(const char *path, char *out,
                                         size_t cap,
                                         enum cpr_tokenizer_kind *kind,
                                         struct cpr_err *err) {
    enum cpr_model_kind mk;
    char res[1024], p[1024];
    CPR_TRY(cpr_model_resolve(path, &mk, res, sizeof res, err));
    if (mk == CPR_MODEL_KIND_HF) {
        CPR_TRY(cpr_path_join(p, sizeof p, res, "tokenizer.json", err));
        *kind = CPR_TOKENIZER_HF_JSON;
        if (!cpr_path_is_file(p)) {
            CPR_TRY(cpr_path_join(p, sizeof p, res, "tokenizer.bin", err));
            *kind = CPR_TOKENIZER_LLAMA2C;
        }
        if (!cpr_path_is_file(p))
            return cpr_err_set(err, CPR_ERR_NOTFOUND,
                               "%s: no tokenizer.json; pass --tokenizer FILE",
                               res);
        snprintf(out, cap, "%s", p);
        return CPR_OK;
    }
    *kind = CPR_TOKENIZER_LLAMA2C;
    char dir[1024];
    dirname_of(res, dir, sizeof dir);
    CPR_TRY(cpr_path_join(p, sizeof p, dir, "tokenizer.bin", err));
    uint64_t d1, i1, d2, i2;
    if (cpr_path_is_file(p) &&
        !(cpr_file_identity(p, &d1, &i1) == 0 &&
          cpr_file_identity(res, &d2, &i2) == 0 && d1 == d2 && i1 == i2)) {
        snprintf(out, cap, "%s", p);
        return CPR_OK;
    }
    char **names;
    size_t n, found = 0, idx = 0;
    CPR_TRY(list_dir(dir, ".bin", &names, &n, err));
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], res) == 0 || is_llama2c_checkpoint(names[i])) continue;
        if (found++ == 0) idx = i;
    }
    enum cpr_status s = CPR_OK;
    if (found == 1)
        snprintf(out, cap, "%s", names[idx]);
    else if (found == 0)
        s = cpr_err_set(err, CPR_ERR_NOTFOUND,
                        "%s: no tokenizer .bin beside the checkpoint; pass "
                        "--tokenizer FILE", dir);
    else
        s = cpr_err_set(err, CPR_ERR_ARG,
                        "%s: %zu candidate tokenizer .bin files beside the "
                        "checkpoint; pass --tokenizer FILE", dir, found);
    free_names(names, n);
    return s;
}

// The sha256 of a set's files' bytes, shards in file-name order (their
// paths share the directory prefix), read through the set's mappings.
static enum cpr_status set_sha256(const struct cpr_st_set *set, char hex[65],
                                  struct cpr_err *err) {
    const char **paths = malloc(set->n_files * sizeof *paths);
    if (!paths) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < set->n_files; i++) paths[i] = set->files[i].path;
    qsort(paths, set->n_files, sizeof *paths, cmp_str);
    struct cpr_sha256 h;
    cpr_sha256_init(&h);
    for (size_t i = 0; i < set->n_files; i++) {
        for (size_t k = 0; k < set->n_files; k++) {
            if (set->files[k].path != paths[i]) continue;
            cpr_sha256_update(&h, set->files[k].map.data, set->files[k].map.size);
        }
    }
    unsigned char d[32];
    cpr_sha256_final(&h, d);
    cpr_sha256_hex(d, hex);
    free(paths);
    return CPR_OK;
}

enum cpr_status cpr_model_sha256(const char *path, char hex[65],
                                 struct cpr_err *err) {
    enum cpr_model_kind kind;
    char res[1024];
    CPR_TRY(cpr_model_resolve(path, &kind, res, sizeof res, err));
    if (kind == CPR_MODEL_KIND_LLAMA2C) return cpr_file_sha256(res, hex, err);
    struct cpr_st_set set;
    CPR_TRY(cpr_st_set_open(&set, res, err));
    enum cpr_status s = set_sha256(&set, hex, err);
    cpr_st_set_close(&set);
    return s;
}

// One load per page of a mapping; the volatile sum keeps the loads.
static unsigned touch_pages(const unsigned char *p, size_t n, size_t page) {
    volatile unsigned char sink = 0;
    for (size_t o = 0; o < n; o += page) sink += p[o];
    if (n) sink += p[n - 1];
    return sink;
}

enum cpr_status cpr_model_touch_loaded(const struct cpr_model *m,
                                       struct cpr_err *err) {
    if (m->backing_free != backing_free || !m->backing)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "model touch: the model was not loaded by "
                           "cpr_model_load (no mapped files)");
    const struct backing *b = m->backing;
    long ps = sysconf(_SC_PAGESIZE);
    size_t page = ps > 0 ? (size_t)ps : 4096;
    if (b->kind == CPR_MODEL_KIND_HF) {
        for (size_t i = 0; i < b->set.n_files; i++)
            (void)touch_pages(b->set.files[i].map.data,
                              b->set.files[i].map.size, page);
    } else {
        (void)touch_pages(b->map.data, b->map.size, page);
    }
    return CPR_OK;
}

enum cpr_status cpr_model_sha256_loaded(const struct cpr_model *m,
                                        char hex[65], struct cpr_err *err) {
    if (m->backing_free != backing_free || !m->backing)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "model sha256: the model was not loaded by "
                           "cpr_model_load (no mapped files to hash); hash "
                           "its path with cpr_model_sha256");
    const struct backing *b = m->backing;
    if (b->kind == CPR_MODEL_KIND_HF) return set_sha256(&b->set, hex, err);
    unsigned char d[32];
    cpr_sha256(b->map.data, b->map.size, d);
    cpr_sha256_hex(d, hex);
    return CPR_OK;
}
