// data/model_shards.c: streaming sharded HF writer (see data/model_shards.h).
#include "data/model_shards.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/arch.h"
#include "data/fileio.h"
#include "data/json_write.h"
#include "data/safetensors_write.h"
#include "data/sha256.h"
#include "data/tmpfiles.h"

#define BLOCK_TENSORS 12

void cpr_shards_name(char *buf, size_t cap, int64_t i, int64_t n) {
    snprintf(buf, cap, "model-%05lld-of-%05lld.safetensors",
             (long long)(i + 1), (long long)n);
}

static const char *const k_suffix[BLOCK_TENSORS] = {
    "input_layernorm.weight",   "self_attn.q_proj.weight",
    "self_attn.k_proj.weight",  "self_attn.v_proj.weight",
    "self_attn.o_proj.weight",  "self_attn.q_proj.bias",
    "self_attn.k_proj.bias",    "self_attn.v_proj.bias",
    "post_attention_layernorm.weight", "mlp.gate_proj.weight",
    "mlp.up_proj.weight",       "mlp.down_proj.weight"};

// The block's tensors in k_suffix order (absent biases have no data).
static void block_tensors(struct cpr_layer *L, struct cpr_tensor *t[BLOCK_TENSORS]) {
    struct cpr_tensor *v[BLOCK_TENSORS] = {
        &L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo, &L->bq, &L->bk,
        &L->bv, &L->mlp_norm, &L->w_gate, &L->w_up, &L->w_down};
    memcpy(t, v, sizeof v);
}

// Index of the tensors whose rows are permuted for interleaved RoPE, and
// the head count they use (0: not permuted).
static int64_t perm_heads(const struct cpr_model_config *c, int i) {
    if (c->rope_style != CPR_ROPE_INTERLEAVED) return 0;
    if (i == 1 || i == 5) return c->n_heads;
    if (i == 2 || i == 6) return c->n_kv_heads;
    return 0;
}

// Inverse of cpr_rope_rows_to_half: an owned copy with rows
// old h*hd + 2i + p  <-  new h*hd + p*(hd/2) + i.
static enum cpr_status rows_to_interleaved(const struct cpr_tensor *src,
                                           int64_t heads, int64_t hd,
                                           struct cpr_tensor *dst,
                                           struct cpr_err *err) {
    memset(dst, 0, sizeof *dst);
    if (src->shape[0] != heads * hd || hd % 2)
        return cpr_err_set(err, CPR_ERR_SHAPE, "shards: %lld rows is not "
                           "%lld heads x %lld", (long long)src->shape[0],
                           (long long)heads, (long long)hd);
    CPR_TRY(cpr_tensor_alloc(dst, src->dtype, src->ndim, src->shape, err));
    const size_t row = cpr_tensor_nbytes(src) / (size_t)src->shape[0];
    const char *s = src->data;
    char *d = dst->data;
    const int64_t half = hd / 2;
    for (int64_t h = 0; h < heads; h++)
        for (int64_t p = 0; p < 2; p++)
            for (int64_t i = 0; i < half; i++)
                memcpy(d + (size_t)(h * hd + 2 * i + p) * row,
                       s + (size_t)(h * hd + p * half + i) * row, row);
    return CPR_OK;
}

static enum cpr_status shard_path(const struct cpr_shards *w, int64_t i,
                                  const char *suffix, char *out, size_t cap,
                                  struct cpr_err *err) {
    char name[96];
    cpr_shards_name(name, sizeof name, i, w->n_layers + 1);
    if (suffix) strncat(name, suffix, sizeof name - strlen(name) - 1);
    return cpr_path_join(out, cap, w->dir, name, err);
}

// 1 when block l's shard in w->dir is complete and belongs to this run
// (see model_shards.h); it is then left mapped in w->maps[l].
static int block_valid(struct cpr_shards *w, struct cpr_model *m, int64_t l) {
    char p[1200], hp[1200], hex[65];
    struct cpr_err e = {0};
    if (shard_path(w, l, NULL, p, sizeof p, &e) ||
        shard_path(w, l, ".sha256", hp, sizeof hp, &e) ||
        !cpr_path_is_file(p) || !cpr_path_is_file(hp))
        return 0;
    char *want = NULL;
    size_t wl = 0;
    if (cpr_file_read_all(hp, 256, &want, &wl, &e)) return 0;
    int ok = wl >= 64 && cpr_file_sha256(p, hex, &e) == CPR_OK &&
             !memcmp(want, hex, 64);
    free(want);
    struct cpr_safetensors *st = &w->maps[l];
    if (!ok || cpr_safetensors_open(st, p, &e)) return 0;
    char idx[32];
    snprintf(idx, sizeof idx, "%lld", (long long)l);
    const char *key = cpr_safetensors_meta(st, "cprune.run_key");
    const char *blk = cpr_safetensors_meta(st, "cprune.block");
    ok = key && blk && !strcmp(key, w->run_key) && !strcmp(blk, idx);
    struct cpr_tensor *t[BLOCK_TENSORS];
    block_tensors(&m->layers[l], t);
    for (int i = 0; i < BLOCK_TENSORS && ok; i++) {
        char nm[128];
        snprintf(nm, sizeof nm, "model.layers.%lld.%s", (long long)l,
                 k_suffix[i]);
        const struct cpr_st_tensor *r = cpr_safetensors_find(st, nm);
        if (!t[i]->data) {
            ok = r == NULL;
            continue;
        }
        ok = r && (int)r->ndim == t[i]->ndim;
        for (int d = 0; ok && d < r->ndim; d++) ok = r->shape[d] == t[i]->shape[d];
    }
    if (!ok) cpr_safetensors_close(st), memset(st, 0, sizeof *st);
    return ok;
}

static void remove_from(struct cpr_shards *w, int64_t from) {
    for (int64_t i = from; i <= w->n_layers; i++) {
        char p[1200];
        struct cpr_err e = {0};
        if (!shard_path(w, i, NULL, p, sizeof p, &e)) unlink(p);
        if (!shard_path(w, i, ".sha256", p, sizeof p, &e)) unlink(p);
    }
}

enum cpr_status cpr_shards_begin(struct cpr_shards *w,
                                 const struct cpr_model *m,
                                 const char *out_dir, const char *const *meta,
                                 size_t n_meta, const char run_key[65],
                                 int replace, int resume, int64_t *done,
                                 struct cpr_err *err) {
    memset(w, 0, sizeof *w);
    w->tmp_slot = -1;
    *done = 0;
    if (cpr_arch_names_for(m->cfg.arch) != &cpr_arch_names_llama)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "--shards: sharded "
                           "output is written for the LLaMA family's tensor "
                           "names only (family %s: write with --out)",
                           cpr_arch_names_for(m->cfg.arch)->family);
    size_t ol = strlen(out_dir);
    while (ol > 1 && out_dir[ol - 1] == '/') ol--;
    if (ol + 16 >= sizeof w->final)
        return cpr_err_set(err, CPR_ERR_ARG, "output path too long: %s",
                           out_dir);
    snprintf(w->final, sizeof w->final, "%.*s", (int)ol, out_dir);
    snprintf(w->dir, sizeof w->dir, "%s.partial", w->final);
    CPR_TRY(cpr_model_save_check_dest(w->final, replace, err));
    w->n_layers = m->cfg.n_layers;
    w->meta = meta;
    w->n_meta = n_meta;
    memcpy(w->run_key, run_key, 65);
    w->maps = calloc((size_t)w->n_layers + 1, sizeof *w->maps);
    if (!w->maps) return cpr_err_set(err, CPR_ERR_NOMEM, "shards");
    if (cpr_path_is_dir(w->dir)) {
        if (!resume)
            return cpr_err_set(err, CPR_ERR_ARG, "%s: an interrupted run left "
                               "this folder; add --resume to continue it, or "
                               "delete it", w->dir);
        DIR *d = opendir(w->dir); // temporaries of writes a kill cut short
        if (d) {
            for (struct dirent *e; (e = readdir(d));) {
                char p[1400];
                if (strstr(e->d_name, ".tmp.") &&
                    snprintf(p, sizeof p, "%s/%s", w->dir, e->d_name) <
                        (int)sizeof p)
                    unlink(p);
            }
            closedir(d);
        }
        int64_t l = 0;
        while (l < w->n_layers && block_valid(w, (struct cpr_model *)m, l)) {
            for (size_t i = 0; i < w->maps[l].n_tensors; i++)
                w->total_size += w->maps[l].tensors[i].end -
                                 w->maps[l].tensors[i].begin;
            l++;
        }
        remove_from(w, l);
        *done = l;
        return CPR_OK;
    }
    if (mkdir(w->dir, 0755) != 0)
        return cpr_err_set(err, CPR_ERR_IO, "%s: cannot create: %s", w->dir,
                           strerror(errno));
    return CPR_OK;
}

// Write entries to shard i with meta + extra pairs; record its sha256.
static enum cpr_status write_shard(struct cpr_shards *w, int64_t i,
                                   const struct cpr_st_entry *e, size_t n,
                                   const char *const *extra, size_t n_extra,
                                   struct cpr_err *err) {
    char p[1200], hp[1200], hex[65];
    const size_t nm = 1 + w->n_meta + n_extra;
    const char **meta = malloc(2 * nm * sizeof *meta);
    if (!meta) return cpr_err_set(err, CPR_ERR_NOMEM, "shards: metadata");
    meta[0] = "format";
    meta[1] = "pt";
    for (size_t j = 0; j < w->n_meta; j++) {
        meta[2 + 2 * j] = w->meta[2 * j];
        meta[3 + 2 * j] = w->meta[2 * j + 1];
    }
    for (size_t j = 0; j < n_extra; j++) {
        meta[2 + 2 * (w->n_meta + j)] = extra[2 * j];
        meta[3 + 2 * (w->n_meta + j)] = extra[2 * j + 1];
    }
    enum cpr_status s = shard_path(w, i, NULL, p, sizeof p, err);
    if (!s) s = cpr_safetensors_write(p, e, n, meta, nm, NULL, 0, err);
    free(meta);
    for (size_t j = 0; j < n; j++)
        w->total_size += (uint64_t)cpr_tensor_nbytes(e[j].t);
    if (!s) s = cpr_file_sha256(p, hex, err);
    if (!s) s = shard_path(w, i, ".sha256", hp, sizeof hp, err);
    if (!s) {
        hex[64] = '\n';
        s = cpr_file_write_atomic(hp, hex, 65, err);
        hex[64] = 0;
    }
    return s;
}

enum cpr_status cpr_shards_write_block(struct cpr_shards *w,
                                       struct cpr_model *m, int64_t l,
                                       struct cpr_err *err) {
    struct cpr_tensor *t[BLOCK_TENSORS], perm[BLOCK_TENSORS];
    memset(perm, 0, sizeof perm);
    struct cpr_st_entry e[BLOCK_TENSORS];
    char names[BLOCK_TENSORS][128];
    size_t n = 0;
    enum cpr_status s = CPR_OK;
    block_tensors(&m->layers[l], t);
    for (int i = 0; i < BLOCK_TENSORS && !s; i++) {
        if (!t[i]->data) continue;
        const struct cpr_tensor *src = t[i];
        const int64_t heads = perm_heads(&m->cfg, i);
        if (heads) {
            s = cpr_rope_rows_to_half(t[i], heads, m->cfg.head_dim, &perm[i],
                                      err);
            src = &perm[i];
        }
        snprintf(names[n], sizeof names[n], "model.layers.%lld.%s",
                 (long long)l, k_suffix[i]);
        e[n].name = names[n];
        e[n].t = src;
        n++;
    }
    char blk[32];
    snprintf(blk, sizeof blk, "%lld", (long long)l);
    const char *extra[] = {"cprune.block", blk, "cprune.run_key", w->run_key};
    if (!s) s = write_shard(w, l, e, n, extra, 2, err);
    for (int i = 0; i < BLOCK_TENSORS; i++) cpr_tensor_free(&perm[i]);
    if (s) return s;
    // Map it and release the owned copies (views hold the same values).
    char p[1200];
    CPR_TRY(shard_path(w, l, NULL, p, sizeof p, err));
    CPR_TRY(cpr_safetensors_open(&w->maps[l], p, err));
    for (int i = 0; i < BLOCK_TENSORS; i++) {
        if (!t[i]->data || !t[i]->owns_data || perm_heads(&m->cfg, i))
            continue;
        struct cpr_tensor v;
        char nm[128];
        snprintf(nm, sizeof nm, "model.layers.%lld.%s", (long long)l,
                 k_suffix[i]);
        CPR_TRY(cpr_safetensors_tensor(&w->maps[l], nm, &v, err));
        cpr_tensor_free(t[i]);
        *t[i] = v;
    }
    return CPR_OK;
}

enum cpr_status cpr_shards_load_block(struct cpr_shards *w,
                                      struct cpr_model *m, int64_t l,
                                      struct cpr_err *err) {
    if (!w->maps[l].tensors)
        return cpr_err_set(err, CPR_ERR_ARG, "shards: block %lld is not on "
                           "disk", (long long)l);
    struct cpr_tensor *t[BLOCK_TENSORS];
    block_tensors(&m->layers[l], t);
    for (int i = 0; i < BLOCK_TENSORS; i++) {
        if (!t[i]->data) continue;
        char nm[128];
        snprintf(nm, sizeof nm, "model.layers.%lld.%s", (long long)l,
                 k_suffix[i]);
        struct cpr_tensor v;
        CPR_TRY(cpr_safetensors_tensor(&w->maps[l], nm, &v, err));
        const int64_t heads = perm_heads(&m->cfg, i);
        if (heads) {
            struct cpr_tensor o;
            enum cpr_status s =
                rows_to_interleaved(&v, heads, m->cfg.head_dim, &o, err);
            cpr_tensor_free(&v);
            if (s) return s;
            v = o;
        }
        cpr_tensor_free(t[i]);
        *t[i] = v;
    }
    return CPR_OK;
}

// model.safetensors.index.json: metadata.total_size and the weight map.
static enum cpr_status write_index(struct cpr_shards *w,
                                   const struct cpr_model *m,
                                   const char *head_names[3], size_t n_head,
                                   struct cpr_err *err) {
    struct cpr_jw j;
    cpr_jw_init(&j, 2);
    cpr_jw_begin_object(&j);
    cpr_jw_key(&j, "metadata");
    cpr_jw_begin_object(&j);
    cpr_jw_key(&j, "total_size");
    cpr_jw_int(&j, (int64_t)w->total_size);
    cpr_jw_end_object(&j);
    cpr_jw_key(&j, "weight_map");
    cpr_jw_begin_object(&j);
    char file[96], nm[128];
    cpr_shards_name(file, sizeof file, w->n_layers, w->n_layers + 1);
    for (size_t i = 0; i < n_head; i++) {
        cpr_jw_key(&j, head_names[i]);
        cpr_jw_string(&j, file);
    }
    for (int64_t l = 0; l < w->n_layers; l++) {
        struct cpr_tensor *t[BLOCK_TENSORS];
        block_tensors(&m->layers[l], t);
        cpr_shards_name(file, sizeof file, l, w->n_layers + 1);
        for (int i = 0; i < BLOCK_TENSORS; i++) {
            if (!t[i]->data) continue;
            snprintf(nm, sizeof nm, "model.layers.%lld.%s", (long long)l,
                     k_suffix[i]);
            cpr_jw_key(&j, nm);
            cpr_jw_string(&j, file);
        }
    }
    cpr_jw_end_object(&j);
    cpr_jw_end_object(&j);
    enum cpr_status s = cpr_jw_finish(&j, err);
    char p[1200];
    if (!s) s = cpr_path_join(p, sizeof p, w->dir,
                              "model.safetensors.index.json", err);
    if (!s) s = cpr_file_write_atomic(p, j.buf, j.len, err);
    cpr_jw_free(&j);
    return s;
}

enum cpr_status cpr_shards_finish(struct cpr_shards *w,
                                  const struct cpr_model *m,
                                  const char *const *extra_meta,
                                  size_t n_extra,
                                  const struct cpr_model_save_opts *opts,
                                  struct cpr_err *err) {
    struct cpr_st_entry e[3];
    const char *names[3];
    size_t n = 0;
    names[n] = "model.embed_tokens.weight";
    e[n].name = names[n], e[n].t = &m->tok_embed, n++;
    if (!m->cfg.tied_embeddings) {
        names[n] = "lm_head.weight";
        e[n].name = names[n], e[n].t = &m->lm_head, n++;
    }
    names[n] = "model.norm.weight";
    e[n].name = names[n], e[n].t = &m->final_norm, n++;
    CPR_TRY(write_shard(w, w->n_layers, e, n, extra_meta, n_extra, err));
    CPR_TRY(write_index(w, m, names, n, err));
    struct cpr_model_save_opts o = {0};
    if (opts) {
        o.tokenizer_from = opts->tokenizer_from;
        o.tokenizer_file = opts->tokenizer_file;
    }
    CPR_TRY(cpr_model_save_extras(m, w->dir, &o, err));
    for (int64_t i = 0; i <= w->n_layers; i++) { // digests were for resume
        char p[1200];
        if (!shard_path(w, i, ".sha256", p, sizeof p, err)) unlink(p);
    }
    // Into place; an earlier cprune output (replace) is moved aside first.
    char old[1200] = "";
    if (cpr_path_is_dir(w->final)) {
        if (rmdir(w->final) != 0) { // not empty: a checked earlier output
            snprintf(old, sizeof old, "%s.old.XXXXXX", w->final);
            if (!mkdtemp(old) || rename(w->final, old) != 0)
                return cpr_err_set(err, CPR_ERR_IO, "%s: cannot move the "
                                   "earlier output aside: %s", w->final,
                                   strerror(errno));
        }
    }
    if (rename(w->dir, w->final) != 0) {
        enum cpr_status s = cpr_err_set(err, CPR_ERR_IO, "rename %s -> %s "
                                        "failed: %s", w->dir, w->final,
                                        strerror(errno));
        if (old[0]) (void)rename(old, w->final);
        return s;
    }
    if (old[0]) cpr_tmp_remove_dir(old);
    return CPR_OK;
}

void cpr_shards_close(struct cpr_shards *w) {
    if (w->maps)
        for (int64_t i = 0; i <= w->n_layers; i++)
            cpr_safetensors_close(&w->maps[i]);
    free(w->maps);
    w->maps = NULL;
}
