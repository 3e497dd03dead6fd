// data/safetensors_set.c: single or sharded safetensors checkpoints (see
// data/safetensors_set.h).
#include "data/safetensors_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"

static enum cpr_status open_index(struct cpr_st_set *s, const char *ipath,
                                  struct cpr_err *err) {
    char *buf;
    size_t len;
    CPR_TRY(cpr_file_read_all(ipath, 64u << 20, &buf, &len, err));
    enum cpr_status st = cpr_json_parse(&s->index, buf, len, ipath, 0, err);
    free(buf);
    if (st != CPR_OK) return st;
    const struct cpr_json *wm = cpr_json_get(s->index.root, "weight_map");
    if (!cpr_json_is(wm, CPR_JSON_OBJECT) || wm->len == 0)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: expected a non-empty \"weight_map\" object, "
                           "found %s", ipath, cpr_json_type_name(wm));
    s->weight_map = wm;
    s->map_file = calloc(wm->len, sizeof *s->map_file);
    // At most one file per map entry.
    s->files = calloc(wm->len, sizeof *s->files);
    if (!s->map_file || !s->files)
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", ipath);
    for (size_t i = 0; i < wm->len; i++) {
        const struct cpr_json *f = wm->items[i];
        if (f->type != CPR_JSON_STRING || f->len == 0 || f->str[0] == '.' ||
            strchr(f->str, '/') || strlen(f->str) != f->len)
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: weight_map[\"%s\"] must be a file name in "
                               "the same directory", ipath, f->key);
        size_t k = 0;
        // Same shard as an earlier entry? (names hold no '/', so the part
        // of the opened path after the last '/' is the shard name)
        while (k < s->n_files &&
               strcmp(strrchr(s->files[k].path, '/') + 1, f->str) != 0)
            k++;
        if (k == s->n_files) {
            char p[1024];
            CPR_TRY(cpr_path_join(p, sizeof p, s->dir, f->str, err));
            CPR_TRY(cpr_safetensors_open(&s->files[k], p, err));
            s->n_files++;
        }
        s->map_file[i] = k;
        if (!cpr_safetensors_find(&s->files[k], f->key))
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: weight_map puts tensor '%s' in %s, which "
                               "has no such tensor", ipath, f->key, f->str);
    }
    return CPR_OK;
}

enum cpr_status cpr_st_set_open(struct cpr_st_set *s, const char *dir,
                                struct cpr_err *err) {
    memset(s, 0, sizeof *s);
    if (!dir[0]) dir = ".";
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    char p[1024];
    enum cpr_status st;
    CPR_TRY(cpr_path_join(p, sizeof p, dir, "model.safetensors.index.json", err));
    if (cpr_path_is_file(p)) {
        st = open_index(s, p, err);
    } else {
        CPR_TRY(cpr_path_join(p, sizeof p, dir, "model.safetensors", err));
        if (!cpr_path_is_file(p))
            return cpr_err_set(err, CPR_ERR_NOTFOUND,
                               "%s: no model.safetensors or "
                               "model.safetensors.index.json", dir);
        s->files = calloc(1, sizeof *s->files);
        if (!s->files)
            return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", dir);
        st = cpr_safetensors_open(&s->files[0], p, err);
        if (st == CPR_OK) s->n_files = 1;
    }
    if (st != CPR_OK) cpr_st_set_close(s);
    return st;
}

void cpr_st_set_close(struct cpr_st_set *s) {
    for (size_t i = 0; i < s->n_files; i++) cpr_safetensors_close(&s->files[i]);
    free(s->files);
    free(s->map_file);
    cpr_json_free(&s->index);
    memset(s, 0, sizeof *s);
}

const struct cpr_safetensors *cpr_st_set_locate(const struct cpr_st_set *s,
                                                const char *name) {
    if (!s->weight_map) {
        if (s->n_files == 1 && cpr_safetensors_find(&s->files[0], name))
            return &s->files[0];
        return NULL;
    }
    // Last matching entry, as cpr_json_get does for duplicate keys.
    size_t k = strlen(name);
    for (size_t i = s->weight_map->len; i-- > 0;) {
        const struct cpr_json *e = s->weight_map->items[i];
        if (e->key_len == k && memcmp(e->key, name, k) == 0)
            return &s->files[s->map_file[i]];
    }
    return NULL;
}

enum cpr_status cpr_st_set_tensor(const struct cpr_st_set *s, const char *name,
                                  struct cpr_tensor *out, struct cpr_err *err) {
    const struct cpr_safetensors *f = cpr_st_set_locate(s, name);
    if (!f) {
        memset(out, 0, sizeof *out);
        return cpr_err_set(err, CPR_ERR_NOTFOUND,
                           "%s: missing tensor '%s' (not in the safetensors "
                           "weights)", s->dir, name);
    }
    return cpr_safetensors_tensor(f, name, out, err);
}
