// tests/data_testutil.c: the loader the oracle-fixture tests on the real
// models share (test_methods_depth, _depth_search, _gblm, _prune_real):
// fixture JSON, model, tokenizer, pool, token streams checked against the
// oracle's sha256 and the sequential calibration windows. What each test
// compares stays in the test.
#include "tests/data_testutil.h"

#include "data/corpus.h"
#include "data/fileio.h"
#include "data/model_load.h"
#include "data/sha256.h"

int dt_oracle_open(struct cpr_test_ctx *t, struct dt_oracle *o,
                   const char *model, const char *file, const char *fixture) {
    memset(o, 0, sizeof *o);
    cpr_test_data_path("", o->root, sizeof o->root);
    snprintf(o->path, sizeof o->path, "%s/models/%s%s", o->root, model, file);
    if (!cpr_path_is_file(o->path) && !cpr_path_is_dir(o->path)) {
        cpr_test_skip(t, "model not found (set CPRUNE_DATA)");
        return -1;
    }
    char fx[256];
    snprintf(fx, sizeof fx, "tests/fixtures/%s.json", fixture);
    struct cpr_err err = {0};
    if (cpr_file_read_all(fx, 1 << 22, &o->buf, &o->len, &err) ||
        cpr_json_parse(&o->doc, o->buf, o->len, fx, 0, &err)) {
        CPR_CHECK(t, 0, "fixture: %s", err.msg);
        dt_oracle_close(o);
        return -1;
    }
    o->proto = cpr_json_get(o->doc.root, "protocol");
    o->cal = cpr_json_get(o->proto, "calibration");
    o->ev = cpr_json_get(o->proto, "eval");
    o->runs = cpr_json_get(o->doc.root, "runs");
    cpr_pool_init(&o->pool, 2, &err); // no pool: serial, same results
    if (cpr_model_load(o->path, &o->model, &err) ||
        cpr_tokenizer_load_for_model(&o->tok, o->path, NULL,
                                     o->model.cfg.vocab, &err)) {
        CPR_CHECK(t, 0, "load: %s", err.msg);
        dt_oracle_close(o);
        return -1;
    }
    return 0;
}

void dt_oracle_close(struct dt_oracle *o) {
    cpr_pool_free(o->pool);
    cpr_tokenizer_free(&o->tok);
    cpr_model_free(&o->model);
    cpr_json_free(&o->doc);
    free(o->buf);
    memset(o, 0, sizeof *o);
}

int dt_oracle_tokens(struct cpr_test_ctx *t, const struct dt_oracle *o,
                     const char *corpus, const char *split,
                     const char *want_sha, int32_t **ids, int64_t *n) {
    char *text = NULL;
    size_t len = 0;
    struct cpr_err err = {0};
    enum cpr_status st =
        cpr_corpus_load(o->root, corpus, split, &text, &len, &err);
    if (!st) st = cpr_tokenizer_encode(&o->tok, text, len, 1, ids, n, &err);
    free(text);
    CPR_CHECK(t, st == CPR_OK, "%s/%s: %s", corpus, split, err.msg);
    if (st) return -1;
    unsigned char d[32];
    char hex[65];
    cpr_sha256(*ids, (size_t)*n * 4, d);
    cpr_sha256_hex(d, hex);
    CPR_CHECK(t, !strcmp(hex, want_sha), "%s/%s: token stream differs from "
              "the oracle's", corpus, split);
    return strcmp(hex, want_sha) ? -1 : 0;
}

int dt_oracle_calib(struct cpr_test_ctx *t, const struct dt_oracle *o,
                    int64_t ns, int64_t sl, struct cpr_calib_windows *w) {
    int32_t *ids = NULL;
    int64_t n = 0;
    if (dt_oracle_tokens(t, o, "tinystories", "calib",
                         cpr_json_get_str(o->cal, "sha256", ""), &ids, &n)) {
        free(ids);
        return -1;
    }
    struct cpr_calib_doc cd = {ids, n};
    struct cpr_err err = {0};
    enum cpr_status st =
        cpr_calib_select(&cd, 1, ns, sl, CPR_CALIB_SEQUENTIAL, 0, w, &err);
    free(ids);
    CPR_CHECK(t, st == CPR_OK, "windows: %s", err.msg);
    return st ? -1 : 0;
}

int32_t *dt_read_i32(const char *dir, const char *name, int64_t *n) {
    char p[1024];
    size_t nb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unsigned char *b = dt_read(p, &nb);
    if (!b) return NULL;
    int32_t *v = malloc(nb ? nb : 1);
    if (v) memcpy(v, b, nb); // little-endian int32 (x86, arm64)
    free(b);
    *n = (int64_t)(nb / 4);
    return v;
}

int dt_same_kept(const uint8_t *keep, int64_t n, const struct cpr_json *list) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (keep && !keep[i]) continue;
        const struct cpr_json *v = cpr_json_at(list, (size_t)k++);
        if (!v || v->type != CPR_JSON_NUMBER || v->i != i) return 0;
    }
    return (size_t)k == cpr_json_len(list);
}

const struct cpr_json *dt_fixture_runs(struct cpr_test_ctx *t,
                                       const char *path, size_t want_runs,
                                       struct cpr_json_doc *doc, int64_t *ns,
                                       int64_t *sl) {
    size_t n;
    unsigned char *b = dt_read(path, &n);
    CPR_CHECK(t, b != NULL, "fixture %s missing", path);
    if (!b) return NULL;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_json_parse(doc, (const char *)b, n, NULL, 0, &err),
                     CPR_OK, &err, NULL);
    free(b);
    if (err.code) return NULL;
    const struct cpr_json *runs = cpr_json_get(doc->root, "runs");
    *ns = cpr_json_get_int(doc->root, "nsamples", 0);
    *sl = cpr_json_get_int(doc->root, "seqlen", 0);
    const int ok = cpr_json_len(runs) == want_runs && *ns > 1 && *sl > 0;
    CPR_CHECK(t, ok, "%s: %zu runs (want %zu), nsamples %lld, seqlen %lld",
              path, cpr_json_len(runs), want_runs, (long long)*ns,
              (long long)*sl);
    if (!ok) {
        cpr_json_free(doc);
        return NULL;
    }
    return runs;
}
