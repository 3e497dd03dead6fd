// data/tokfile.c: token file reader and writer (layout in tokfile.h).
#include "data/tokfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/sha256.h"

static const char MAGIC[8] = {'C', 'P', 'R', 'T', 'O', 'K', '1', '\0'};

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

enum cpr_status cpr_tokfile_write(const char *path, const int32_t *ids,
                                  int64_t n, const char *tokenizer_sha256,
                                  struct cpr_err *err) {
    if (n < 0 || (uint64_t)n > ((uint64_t)1 << 40))
        return cpr_err_set(err, CPR_ERR_ARG, "%s: %lld ids out of range", path,
                           (long long)n);
    int32_t max = 0;
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0)
            return cpr_err_set(err, CPR_ERR_ARG, "%s: id %d at %lld is negative",
                               path, ids[i], (long long)i);
        if (ids[i] > max) max = ids[i];
    }
    uint32_t w = max < 65536 ? 2 : 4;
    size_t bytes = CPR_TOKFILE_HEADER + (size_t)n * w;
    unsigned char *buf = calloc(1, bytes);
    if (!buf) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
    memcpy(buf, MAGIC, 8);
    put_u32(buf + 8, 1);
    put_u32(buf + 12, w);
    put_u64(buf + 16, (uint64_t)n);
    if (tokenizer_sha256 && strlen(tokenizer_sha256) == 64)
        for (int i = 0; i < 32; i++) {
            int hi = hexval(tokenizer_sha256[2 * i]);
            int lo = hexval(tokenizer_sha256[2 * i + 1]);
            buf[24 + i] = (unsigned char)((hi < 0 || lo < 0) ? 0 : hi * 16 + lo);
        }
    unsigned char *p = buf + CPR_TOKFILE_HEADER;
    for (int64_t i = 0; i < n; i++, p += w) {
        if (w == 2) {
            p[0] = (unsigned char)ids[i];
            p[1] = (unsigned char)(ids[i] >> 8);
        } else {
            put_u32(p, (uint32_t)ids[i]);
        }
    }
    enum cpr_status s = cpr_file_write_atomic(path, buf, bytes, err);
    free(buf);
    return s;
}

enum cpr_status cpr_tokfile_read(const char *path, int64_t vocab,
                                 int32_t **ids, int64_t *n,
                                 char *tokenizer_sha256, struct cpr_err *err) {
    *ids = NULL;
    *n = 0;
    if (tokenizer_sha256) tokenizer_sha256[0] = '\0';
    if (!cpr_path_is_file(path))
        return cpr_err_set(err, CPR_ERR_NOTFOUND, "token file %s not found", path);
    char *raw;
    size_t len;
    CPR_TRY(cpr_file_read_all(path, (size_t)1 << 40, &raw, &len, err));
    enum cpr_status s = cpr_tokfile_parse(raw, len, path, vocab, ids, n,
                                          tokenizer_sha256, err);
    free(raw);
    return s;
}

enum cpr_status cpr_tokfile_parse(const void *data, size_t len,
                                  const char *path, int64_t vocab,
                                  int32_t **ids, int64_t *n,
                                  char *tokenizer_sha256, struct cpr_err *err) {
    *ids = NULL;
    *n = 0;
    if (tokenizer_sha256) tokenizer_sha256[0] = '\0';
    if (!path) path = "token file";
    const unsigned char *b = data;
    enum cpr_status s = CPR_OK;
    if (len < CPR_TOKFILE_HEADER) {
        s = cpr_err_set(err, CPR_ERR_FORMAT,
                        "%s: %zu bytes; a token file has a 64-byte header",
                        path, len);
        goto out;
    }
    if (memcmp(b, MAGIC, 8) != 0) {
        s = cpr_err_set(err, CPR_ERR_FORMAT,
                        "%s: magic is not \"CPRTOK1\"; not a cprune token file "
                        "(write one with cprune tokenize --out)", path);
        goto out;
    }
    uint32_t version = get_u32(b + 8), w = get_u32(b + 12);
    uint64_t count = get_u64(b + 16);
    if (version != 1) {
        s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: version %u; expected 1", path,
                        version);
        goto out;
    }
    if (w != 2 && w != 4) {
        s = cpr_err_set(err, CPR_ERR_FORMAT,
                        "%s: field bytes_per_id is %u; expected 2 or 4", path, w);
        goto out;
    }
    if (count > (len - CPR_TOKFILE_HEADER) / w ||
        CPR_TOKFILE_HEADER + count * w != len) {
        s = cpr_err_set(err, CPR_ERR_FORMAT,
                        "%s: header says %llu ids of %u bytes (%llu bytes of "
                        "ids) but the file holds %zu bytes after the header",
                        path, (unsigned long long)count, w,
                        (unsigned long long)count * w, len - CPR_TOKFILE_HEADER);
        goto out;
    }
    int32_t *out = malloc((count ? count : 1) * sizeof(int32_t));
    if (!out) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    const unsigned char *p = b + CPR_TOKFILE_HEADER;
    for (uint64_t i = 0; i < count; i++, p += w) {
        uint32_t v = w == 2 ? (uint32_t)(p[0] | (p[1] << 8)) : get_u32(p);
        if (v > INT32_MAX || (vocab > 0 && (int64_t)v >= vocab)) {
            s = cpr_err_set(err, CPR_ERR_FORMAT,
                            "%s: id %u at position %llu is outside the model's "
                            "vocabulary (size %lld)", path, v,
                            (unsigned long long)i, (long long)vocab);
            free(out);
            goto out;
        }
        out[i] = (int32_t)v;
    }
    if (tokenizer_sha256) {
        int zero = 1;
        for (int i = 0; i < 32; i++) zero &= b[24 + i] == 0;
        if (!zero) cpr_sha256_hex(b + 24, tokenizer_sha256);
    }
    *ids = out;
    *n = (int64_t)count;
out:
    return s;
}
