// tests/data_testutil.h: small file helpers for the test suites:
// a private temporary directory per test, writing byte images into it,
// recursive removal, and building safetensors images by hand (static
// inline, below); and the loader of the PyTorch oracles' JSON fixtures
// on the real models (tests/data_testutil.c).
#ifndef CPR_TESTS_DATA_TESTUTIL_H
#define CPR_TESTS_DATA_TESTUTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/model.h"
#include "core/pool.h"
#include "data/json.h"
#include "data/tokenizer.h"
#include "methods/calib.h"
#include "tests/harness.h"

// mkdtemp under $TMPDIR (default /tmp); returns 0 on success.
static inline int dt_mkdtemp(char *out, size_t cap) {
    const char *base = getenv("TMPDIR");
    if (!base || !base[0]) base = "/tmp";
    snprintf(out, cap, "%s/cprune-test-XXXXXX", base);
    return mkdtemp(out) ? 0 : -1;
}

static inline void dt_rmtree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char p[4096];
                int n = snprintf(p, sizeof p, "%s/%s", path, e->d_name);
                if (n > 0 && (size_t)n < sizeof p) dt_rmtree(p);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

// Write bytes to dir/name; the full path goes to out (may be NULL).
static inline int dt_write(const char *dir, const char *name, const void *b,
                           size_t n, char *out, size_t cap) {
    char p[2048];
    int k = snprintf(p, sizeof p, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= sizeof p) return -1;
    FILE *f = fopen(p, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(b, 1, n, f) : 0;
    fclose(f);
    if (out && cap) {
        size_t l = strlen(p) < cap - 1 ? strlen(p) : cap - 1;
        memcpy(out, p, l);
        out[l] = 0;
    }
    return w == n ? 0 : -1;
}

// Read a whole file (malloc'd, caller frees); NULL on failure.
static inline unsigned char *dt_read(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    rewind(f);
    unsigned char *b = malloc(sz > 0 ? (size_t)sz : 1);
    if (b && sz > 0 && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = sz > 0 ? (size_t)sz : 0;
    return b;
}

// A safetensors image: 8-byte LE length of `header`, header, then
// n_data bytes (0x11 filler unless data is given). `hlen_override`
// replaces the length field when nonzero. Caller frees.
static inline unsigned char *dt_st_image(const char *header, const void *data,
                                         size_t n_data, unsigned long long hlen_override,
                                         size_t *size) {
    size_t hl = strlen(header);
    *size = 0;
    unsigned char *b = malloc(8 + hl + n_data + 1);
    if (!b) return NULL;
    unsigned long long v = hlen_override ? hlen_override : hl;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    memcpy(b + 8, header, hl);
    if (data) memcpy(b + 8 + hl, data, n_data);
    else memset(b + 8 + hl, 0x11, n_data);
    *size = 8 + hl + n_data;
    return b;
}

// ---- oracle fixtures on the real models (data_testutil.c) ----

// What the tests replaying an oracle's fixture on a real model share: the
// fixture tests/fixtures/<fixture>.json (sections "protocol" {calibration,
// eval} and "runs"), the model <data>/models/<model><file> with its
// tokenizer, and a 2-thread pool.
struct dt_oracle {
    char root[512];  // the shared data folder (cpr_test_data_path)
    char path[1024]; // the model
    char *buf;       // the fixture's text
    size_t len;
    struct cpr_json_doc doc;
    const struct cpr_json *proto, *cal, *ev, *runs; // NULL when absent
    struct cpr_model model;
    struct cpr_tokenizer tok;
    struct cpr_pool *pool; // NULL (serial) if it could not be made
};

// Open the fixture run: 0 when ready; -1 when the model is missing (the
// test is skipped) or the fixture, model or tokenizer fails to load (a
// failed check). On -1 everything is already freed; on 0 the caller frees
// with dt_oracle_close.
int dt_oracle_open(struct cpr_test_ctx *t, struct dt_oracle *o,
                   const char *model, const char *file, const char *fixture);
void dt_oracle_close(struct dt_oracle *o);

// corpus/split tokenized with the model's tokenizer into *ids (malloc'd,
// *n tokens), checked against the oracle's stream (sha256 hex want_sha):
// 0, or -1 after a failed check (a load error or another stream).
int dt_oracle_tokens(struct cpr_test_ctx *t, const struct dt_oracle *o,
                     const char *corpus, const char *split,
                     const char *want_sha, int32_t **ids, int64_t *n);

// The calibration windows of the oracles: tinystories/calib (checked
// against the fixture's protocol.calibration.sha256) cut sequentially
// into ns windows of sl tokens. 0, or -1 after a failed check.
int dt_oracle_calib(struct cpr_test_ctx *t, const struct dt_oracle *o,
                    int64_t ns, int64_t sl, struct cpr_calib_windows *w);

// ---- fixtures of the family oracles (tests/fixtures/prune_arch_*) ----

// dir/name read as little-endian int32 (malloc'd, *n values); NULL when
// unreadable.
int32_t *dt_read_i32(const char *dir, const char *name, int64_t *n);
// 1 when keep (n units; NULL = all kept) keeps exactly the indices of
// list, a JSON array in ascending order.
int dt_same_kept(const uint8_t *keep, int64_t n, const struct cpr_json *list);
// Parse the fixture at path (top-level "nsamples", "seqlen", "runs") into
// *doc: its "runs" when it has exactly want_runs of them and positive
// sizes; otherwise NULL after a failed check (doc already freed). The
// caller frees doc with cpr_json_free.
const struct cpr_json *dt_fixture_runs(struct cpr_test_ctx *t,
                                       const char *path, size_t want_runs,
                                       struct cpr_json_doc *doc, int64_t *ns,
                                       int64_t *sl);

#endif
