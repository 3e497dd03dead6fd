// tests/test_data_safetensors.c: the safetensors reader against malformed
// images (each asserting a status and a message), the writer (layout per
// spec, alignment, metadata, refusing to overwrite its input) and a
// write -> read round trip with mixed dtypes; sharded directories.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/safetensors.h"
#include "data/safetensors_set.h"
#include "data/safetensors_write.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

struct st_case {
    const char *what;
    const char *header;
    size_t n_data;
    unsigned long long hlen; // override of the length field (0 = real)
    enum cpr_status want;
    const char *needle;
};

#define T1(dt, shape, b, e) "{\"w\":{\"dtype\":\"" dt "\",\"shape\":" shape \
                            ",\"data_offsets\":[" #b "," #e "]}}"

static void test_malformed_images(struct cpr_test_ctx *t) {
    static const struct st_case cases[] = {
        {"header length past EOF", "{}", 0, 1000, CPR_ERR_FORMAT, "runs past the end of the file"},
        {"header length huge", "{}", 0, 1ull << 40, CPR_ERR_FORMAT, "exceeds the 100000000-byte limit"},
        {"header length 2^64-1", "{}", 0, ~0ull, CPR_ERR_FORMAT, "exceeds"},
        {"header not an object", "[1,2]", 0, 0, CPR_ERR_FORMAT, "must be a JSON object"},
        {"header length 0", "", 0, 0, CPR_ERR_FORMAT, "header length 0"},
        {"truncated JSON", "{\"w\":{\"dtype\":", 0, 0, CPR_ERR_FORMAT, "header: line 1 col 15: expected a value"},
        {"non-UTF-8 name", "{\"w\xff\":{}}", 0, 0, CPR_ERR_FORMAT, "invalid UTF-8"},
        {"tensor not an object", "{\"w\":[1]}", 0, 0, CPR_ERR_FORMAT, "tensor 'w': expected an object"},
        {"unknown dtype", T1("F33", "[2]", 0, 8), 8, 0, CPR_ERR_FORMAT, "unknown dtype 'F33'"},
        {"dtype not a string", "{\"w\":{\"dtype\":4,\"shape\":[],\"data_offsets\":[0,4]}}", 4, 0, CPR_ERR_FORMAT, "\"dtype\" must be a string"},
        {"shape x dtype != span", T1("F32", "[2,3]", 0, 20), 20, 0, CPR_ERR_SHAPE, "is 24 bytes but data_offsets span 20"},
        {"shape overflow", T1("F32", "[4611686018427387904,8]", 0, 8), 8, 0, CPR_ERR_SHAPE, "overflowing"},
        {"negative dim", T1("F32", "[-2]", 0, 8), 8, 0, CPR_ERR_FORMAT, "shape[0] must be a non-negative integer"},
        {"fractional dim", T1("F32", "[2.5]", 0, 8), 8, 0, CPR_ERR_FORMAT, "shape[0]"},
        {"shape missing", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, 0, CPR_ERR_FORMAT, "\"shape\" must be an array, found missing"},
        {"9 dims", T1("F32", "[1,1,1,1,1,1,1,1,1]", 0, 4), 4, 0, CPR_ERR_UNSUPPORTED, "9 dims"},
        {"offsets wrong arity", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, 0, CPR_ERR_FORMAT, "\"data_offsets\" must be [begin, end]"},
        {"begin > end", T1("F32", "[0]", 8, 4), 8, 0, CPR_ERR_FORMAT, "begin > end"},
        {"end beyond data", T1("F32", "[4]", 0, 16), 8, 0, CPR_ERR_FORMAT, "out of range: the data section has 8 bytes"},
        {"trailing bytes", T1("F32", "[2]", 0, 8), 12, 0, CPR_ERR_FORMAT, "tensors cover 8 bytes but the data section has 12"},
        {"overlap",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, 0,
         CPR_ERR_FORMAT, "tensors 'a' [0, 8) and 'b' [4, 12) overlap"},
        {"gap",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, 0,
         CPR_ERR_FORMAT, "gap of 4 bytes before tensor 'b'"},
        {"duplicate names",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 0,
         CPR_ERR_FORMAT, "duplicate tensor name 'a'"},
        {"metadata not strings", "{\"__metadata__\":{\"k\":1}}", 0, 0, CPR_ERR_FORMAT, "\"__metadata__\".\"k\" must be a string"},
        {"metadata not an object", "{\"__metadata__\":[]}", 0, 0, CPR_ERR_FORMAT, "must be an object of strings"},
        {"no tensors but data", "{}", 4, 0, CPR_ERR_FORMAT, "no tensors but 4 trailing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t size = 0;
        unsigned char *img = dt_st_image(cases[i].header, NULL, cases[i].n_data,
                                         cases[i].hlen, &size);
        struct cpr_safetensors st;
        struct cpr_err e = {0};
        enum cpr_status s = cpr_safetensors_parse(&st, img, size, "m.safetensors", &e);
        if (s != cases[i].want || !strstr(e.msg, cases[i].needle))
            CPR_CHECK(t, 0, "%s: got %s '%s'", cases[i].what, cpr_status_str(s), e.msg);
        CPR_CHECK(t, strncmp(e.msg, "m.safetensors", 13) == 0, "%s: message must name the file", cases[i].what);
        cpr_safetensors_close(&st);
        free(img);
    }
    // Short files.
    for (size_t n = 0; n < 8; n++) {
        unsigned char b[8] = {2, 0, 0, 0, 0, 0, 0, 0};
        struct cpr_safetensors st;
        struct cpr_err e = {0};
        CPR_CHECK_STATUS(t, cpr_safetensors_parse(&st, b, n, "short", &e), CPR_ERR_FORMAT,
                         &e, "too short for the 8-byte header length");
    }
}

// Valid images: lookups, views, metadata, the spec's other dtypes.
static void test_valid_image(struct cpr_test_ctx *t) {
    const char *hdr =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[12,20]},"
        "\"z\":{\"dtype\":\"F16\",\"shape\":[0,3],\"data_offsets\":[20,20]},"
        "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[20,24]}}";
    // Pad the header so the data section starts 8-aligned in the image.
    char padded[512];
    size_t hl = strlen(hdr), pl = hl;
    while ((8 + pl) % 8) pl++;
    memcpy(padded, hdr, hl);
    memset(padded + hl, ' ', pl - hl);
    padded[pl] = 0;
    float a[2] = {1.5f, -2.0f};
    unsigned char data[24];
    memcpy(data, a, 8);
    data[8] = 0x80, data[9] = 0x3f, data[10] = 0x00, data[11] = 0xc0; // bf16 1, -2
    memset(data + 12, 0, 8);
    float sc = 7.0f;
    memcpy(data + 20, &sc, 4);
    size_t size = 0;
    unsigned char *img = dt_st_image(padded, data, sizeof data, 0, &size);
    // Copy into 8-aligned memory (malloc is).
    struct cpr_safetensors st;
    struct cpr_err e = {0};
    CPR_CHECK_STATUS(t, cpr_safetensors_parse(&st, img, size, "ok", &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, st.n_tensors == 5 && !strcmp(st.tensors[0].name, "a") &&
                     !strcmp(st.tensors[4].name, "z"), "sorted names");
    CPR_CHECK(t, cpr_safetensors_meta(&st, "format") &&
                     !strcmp(cpr_safetensors_meta(&st, "format"), "pt"), "metadata");
    struct cpr_tensor ta;
    CPR_CHECK_STATUS(t, cpr_safetensors_tensor(&st, "a", &ta, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, ta.dtype == CPR_DTYPE_F32 && ta.ndim == 1 && ta.shape[0] == 2 &&
                     ta.readonly == 1 && ta.owns_data == 0 &&
                     ((float *)ta.data)[1] == -2.0f, "f32 view");
    struct cpr_tensor tb;
    CPR_CHECK_STATUS(t, cpr_safetensors_tensor(&st, "b", &tb, &e), CPR_OK, &e, NULL);
    float row[2];
    cpr_tensor_row_f32(&(struct cpr_tensor){.dtype = CPR_DTYPE_BF16, .ndim = 2,
                                            .shape = {1, 2}, .stride = {2, 1},
                                            .data = tb.data}, 0, row);
    CPR_CHECK(t, tb.dtype == CPR_DTYPE_BF16 && row[0] == 1.0f && row[1] == -2.0f, "bf16 view");
    struct cpr_tensor ti;
    CPR_CHECK_STATUS(t, cpr_safetensors_tensor(&st, "i", &ti, &e), CPR_ERR_UNSUPPORTED,
                     &e, "tensor 'i' has dtype I64");
    CPR_CHECK_STATUS(t, cpr_safetensors_tensor(&st, "nope", &ti, &e), CPR_ERR_NOTFOUND,
                     &e, "no tensor named 'nope'");
    struct cpr_tensor ts;
    CPR_CHECK_STATUS(t, cpr_safetensors_tensor(&st, "s", &ts, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, ts.ndim == 0 && ts.data && *(float *)ts.data == 7.0f, "scalar");
    cpr_safetensors_close(&st);

    // The same image shifted by 2 bytes: f32 tensors are misaligned and
    // must come back as owned aligned copies with the same values.
    unsigned char *shifted = malloc(size + 2);
    memcpy(shifted + 2, img, size);
    CPR_CHECK_STATUS(t, cpr_safetensors_parse(&st, shifted + 2, size, "shifted", &e),
                     CPR_OK, &e, NULL);
    CPR_CHECK_STATUS(t, cpr_safetensors_tensor(&st, "a", &ta, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, ta.owns_data == 1 && (uintptr_t)ta.data % 4 == 0 &&
                     ((float *)ta.data)[0] == 1.5f, "misaligned -> aligned copy");
    cpr_tensor_free(&ta);
    cpr_safetensors_close(&st);
    free(shifted);
    free(img);
}

static void fill_tensor(struct cpr_tensor *x, enum cpr_dtype dt, int64_t r,
                        int64_t c, unsigned seed) {
    int64_t sh[2] = {r, c};
    struct cpr_err e;
    cpr_tensor_alloc(x, dt, c ? 2 : 1, sh, &e);
    unsigned char *p = x->data;
    for (size_t i = 0; i < cpr_tensor_nbytes(x); i++)
        p[i] = (unsigned char)(seed * 31 + i * 7 + (i >> 8));
}

static void test_write_roundtrip(struct cpr_test_ctx *t) {
    char dir[256];
    if (dt_mkdtemp(dir, sizeof dir)) {
        CPR_CHECK(t, 0, "mkdtemp failed");
        return;
    }
    struct cpr_tensor x[4];
    fill_tensor(&x[0], CPR_DTYPE_BF16, 3, 5, 1);  // 30 bytes: odd multiple of 2
    fill_tensor(&x[1], CPR_DTYPE_F32, 4, 3, 2);
    fill_tensor(&x[2], CPR_DTYPE_F16, 7, 0, 3);   // 14 bytes
    fill_tensor(&x[3], CPR_DTYPE_F32, 5, 0, 4);
    struct cpr_st_entry ent[4] = {{"zeta.bf16", &x[0]}, {"b.f32", &x[1]},
                                  {"a.f16", &x[2]}, {"a.f32", &x[3]}};
    const char *meta[] = {"format", "pt", "cprune.method", "wanda \"50%\""};
    char path[512];
    snprintf(path, sizeof path, "%s/out.safetensors", dir);
    struct cpr_err e = {0};
    CPR_CHECK_STATUS(t, cpr_safetensors_write(path, ent, 4, meta, 2, NULL, 0, &e),
                     CPR_OK, &e, NULL);
    size_t n;
    unsigned char *raw = dt_read(path, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0 && raw; i--) hl = hl << 8 | raw[i];
    CPR_CHECK(t, raw && (8 + hl) % 64 == 0 && raw[8] == '{' && raw[8 + hl - 1] == ' ',
              "header padded with spaces to 64 bytes (data on a cache line)");
    // Order: f32 (sorted), then 2-byte dtypes (sorted): all aligned.
    const char *h = (const char *)raw + 8;
    const char *pa = strstr(h, "\"a.f32\""), *pb = strstr(h, "\"b.f32\""),
               *pc = strstr(h, "\"a.f16\""), *pd = strstr(h, "\"zeta.bf16\""),
               *pm = strstr(h, "\"__metadata__\"");
    CPR_CHECK(t, pm && pa && pb && pc && pd && pm < pa && pa < pb && pb < pc && pc < pd,
              "member order: metadata, f32 sorted, 2-byte sorted");
    CPR_CHECK(t, strstr(h, "\"a.f32\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[0,20]}") != NULL,
              "first tensor at offset 0");
    free(raw);
    struct cpr_safetensors st;
    CPR_CHECK_STATUS(t, cpr_safetensors_open(&st, path, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, !strcmp(cpr_safetensors_meta(&st, "cprune.method") ? cpr_safetensors_meta(&st, "cprune.method") : "", "wanda \"50%\""),
              "metadata round trip");
    for (int i = 0; i < 4; i++) {
        struct cpr_tensor y;
        CPR_CHECK_STATUS(t, cpr_safetensors_tensor(&st, ent[i].name, &y, &e), CPR_OK, &e, NULL);
        CPR_CHECK(t, y.dtype == x[i].dtype && y.ndim == x[i].ndim &&
                         y.shape[0] == x[i].shape[0] && y.owns_data == 0 &&
                         (uintptr_t)y.data % cpr_dtype_size(y.dtype) == 0 &&
                         !memcmp(y.data, x[i].data, cpr_tensor_nbytes(&x[i])),
                  "tensor %s round trip", ent[i].name);
    }
    // Refuse to overwrite a file being read (same device + inode).
    struct cpr_file_id id = {st.map.dev, st.map.ino};
    CPR_CHECK_STATUS(t, cpr_safetensors_write(path, ent, 4, NULL, 0, &id, 1, &e),
                     CPR_ERR_ARG, &e, "refusing to overwrite");
    cpr_safetensors_close(&st);
    // Writer argument errors.
    struct cpr_st_entry dup[2] = {{"x", &x[1]}, {"x", &x[3]}};
    CPR_CHECK_STATUS(t, cpr_safetensors_write(path, dup, 2, NULL, 0, NULL, 0, &e),
                     CPR_ERR_ARG, &e, "duplicate tensor name 'x'");
    struct cpr_tensor unset = {0};
    struct cpr_st_entry bad[1] = {{"u", &unset}};
    CPR_CHECK_STATUS(t, cpr_safetensors_write(path, bad, 1, NULL, 0, NULL, 0, &e),
                     CPR_ERR_ARG, &e, "unset");
    // No temporary files left behind.
    char **dummy = NULL;
    (void)dummy;
    DIR *d = opendir(dir);
    int n_files = 0, n_tmp = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        n_files++;
        if (strstr(de->d_name, ".tmp.")) n_tmp++;
    }
    if (d) closedir(d);
    CPR_CHECK(t, n_files == 1 && n_tmp == 0, "%d files, %d temporaries left", n_files, n_tmp);
    // Unwritable destination: an IO error naming the path.
    char bad_path[600];
    snprintf(bad_path, sizeof bad_path, "%s/no/such/dir/x.safetensors", dir);
    CPR_CHECK_STATUS(t, cpr_safetensors_write(bad_path, ent, 4, NULL, 0, NULL, 0, &e),
                     CPR_ERR_IO, &e, "no/such/dir");
    for (int i = 0; i < 4; i++) cpr_tensor_free(&x[i]);
    dt_rmtree(dir);
}

// Files on disk: zero-length, directories, sharded sets.
static void test_files_and_shards(struct cpr_test_ctx *t) {
    char dir[256], p[600];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    struct cpr_safetensors st;
    struct cpr_err e = {0};
    dt_write(dir, "empty.safetensors", "", 0, p, sizeof p);
    CPR_CHECK_STATUS(t, cpr_safetensors_open(&st, p, &e), CPR_ERR_FORMAT, &e,
                     "0 bytes, too short");
    snprintf(p, sizeof p, "%s/missing.safetensors", dir);
    CPR_CHECK_STATUS(t, cpr_safetensors_open(&st, p, &e), CPR_ERR_NOTFOUND, &e,
                     "missing.safetensors");
    CPR_CHECK_STATUS(t, cpr_safetensors_open(&st, dir, &e), CPR_ERR_IO, &e,
                     "not a regular file");
    struct cpr_st_set set;
    CPR_CHECK_STATUS(t, cpr_st_set_open(&set, dir, &e), CPR_ERR_NOTFOUND, &e,
                     "no model.safetensors or model.safetensors.index.json");
    // Two shards + index.
    struct cpr_tensor a, b;
    fill_tensor(&a, CPR_DTYPE_F32, 2, 2, 5);
    fill_tensor(&b, CPR_DTYPE_F32, 3, 0, 6);
    struct cpr_st_entry ea = {"ta", &a}, eb = {"tb", &b};
    snprintf(p, sizeof p, "%s/s-1.safetensors", dir);
    cpr_safetensors_write(p, &ea, 1, NULL, 0, NULL, 0, &e);
    snprintf(p, sizeof p, "%s/s-2.safetensors", dir);
    cpr_safetensors_write(p, &eb, 1, NULL, 0, NULL, 0, &e);
    const char *idx = "{\"metadata\":{},\"weight_map\":{\"ta\":\"s-1.safetensors\","
                      "\"tb\":\"s-2.safetensors\"}}";
    dt_write(dir, "model.safetensors.index.json", idx, strlen(idx), NULL, 0);
    CPR_CHECK_STATUS(t, cpr_st_set_open(&set, dir, &e), CPR_OK, &e, NULL);
    struct cpr_tensor y;
    CPR_CHECK(t, set.n_files == 2, "2 shards opened, got %zu", set.n_files);
    CPR_CHECK_STATUS(t, cpr_st_set_tensor(&set, "tb", &y, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, y.data && !memcmp(y.data, b.data, 12), "tb from shard 2");
    CPR_CHECK_STATUS(t, cpr_st_set_tensor(&set, "tc", &y, &e), CPR_ERR_NOTFOUND, &e,
                     "missing tensor 'tc'");
    cpr_st_set_close(&set);
    // Broken indexes.
    static const struct {
        const char *json;
        enum cpr_status want;
        const char *needle;
    } bad[] = {
        {"{\"weight_map\":{\"ta\":\"../s-1.safetensors\"}}", CPR_ERR_FORMAT, "must be a file name"},
        {"{\"weight_map\":{\"ta\":\"s-9.safetensors\"}}", CPR_ERR_NOTFOUND, "s-9.safetensors"},
        {"{\"weight_map\":{\"tb\":\"s-1.safetensors\"}}", CPR_ERR_FORMAT, "puts tensor 'tb' in s-1.safetensors"},
        {"{\"weight_map\":[]}", CPR_ERR_FORMAT, "non-empty \"weight_map\""},
        {"{\"weight_map\":{\"ta\":", CPR_ERR_FORMAT, "index.json: line 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dt_write(dir, "model.safetensors.index.json", bad[i].json, strlen(bad[i].json), NULL, 0);
        CPR_CHECK_STATUS(t, cpr_st_set_open(&set, dir, &e), bad[i].want, &e, bad[i].needle);
    }
    cpr_tensor_free(&a);
    cpr_tensor_free(&b);
    dt_rmtree(dir);
}

const struct cpr_test cpr_tests_data_safetensors[] = {
    {"st_malformed_images", test_malformed_images, 0},
    {"st_valid_image", test_valid_image, 0},
    {"st_write_roundtrip", test_write_roundtrip, 0},
    {"st_files_and_shards", test_files_and_shards, 0},
    {0},
};
