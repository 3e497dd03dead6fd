// tests/fixture_bin.h: reader of the oracle fixtures "CPRMFIX1" written by
// tests/oracle/methods_oracle.py and tests/oracle/ria_dsnot_oracle.py
// (format in their docstrings: magic, record count, then per record a
// 32-byte name, dtype (0 f32, 1 u8), rows, cols and the data).
// Header-only (static functions) so it adds no object file to the suite.
#ifndef CPR_TESTS_FIXTURE_BIN_H
#define CPR_TESTS_FIXTURE_BIN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec {
    char name[33];
    uint32_t dtype, rows, cols;
    void *data;
};

struct fixture {
    size_t n;
    struct rec *r;
};

// Read the fixture at path into *f: 0, or -1 when it is missing or
// malformed (the records read so far stay in *f; unload frees them).
static inline int load(struct fixture *f, const char *path) {
    FILE *fp = fopen(path, "rb");
    f->n = 0;
    f->r = NULL;
    if (!fp) return -1;
    char magic[8];
    uint32_t n;
    int ok = fread(magic, 1, 8, fp) == 8 && !memcmp(magic, "CPRMFIX1", 8) &&
             fread(&n, 4, 1, fp) == 1 && n < 1000;
    f->r = ok ? calloc(n, sizeof *f->r) : NULL;
    for (uint32_t i = 0; ok && f->r && i < n; i++) {
        struct rec *r = &f->r[i];
        uint32_t hdr[3];
        ok = fread(r->name, 1, 32, fp) == 32 && fread(hdr, 4, 3, fp) == 3 &&
             hdr[0] <= 1 && hdr[1] <= 4096 && hdr[2] <= 4096;
        if (!ok) break;
        r->dtype = hdr[0];
        r->rows = hdr[1];
        r->cols = hdr[2];
        size_t bytes = (size_t)r->rows * r->cols * (r->dtype ? 1 : 4);
        r->data = malloc(bytes ? bytes : 1);
        ok = r->data && fread(r->data, 1, bytes, fp) == bytes;
        f->n++;
    }
    fclose(fp);
    return ok ? 0 : -1;
}

static inline void unload(struct fixture *f) {
    for (size_t i = 0; i < f->n; i++) free(f->r[i].data);
    free(f->r);
}

// The record called name, or NULL.
static inline const struct rec *get(struct fixture *f, const char *name) {
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->r[i].name, name)) return &f->r[i];
    return NULL;
}

#endif
