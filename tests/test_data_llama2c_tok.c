// tests/test_data_llama2c_tok.c: corpora, the llama2.c tokenizer and the
// tokenizer.json BPE tokenizer against independent references:
//   - the public reference for stories260K on TinyStories eval (count,
//     first 16 ids, sha256 of the int32 LE id stream);
//   - the WikiText-2 evaluation string's published length and sha256;
//   - id streams from tests/oracle/llama2c_tokenize.py (an independent
//     Python implementation of run.c's encode), numbers pasted below;
//   - id streams of tinystories-656k's tokenizer.json from Hugging Face
//     tokenizers.js (tests/oracle/tok_oracle.mjs), numbers pasted below;
//   - malformed tokenizer files and corpus errors (status + message).
#include <stdlib.h>
#include <string.h>

#include "data/corpus.h"
#include "data/sha256.h"
#include "data/tokenizer.h"
#include "data/tokfile.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

static void hash_ids(const int32_t *ids, int64_t n, char hex[65]) {
    unsigned char d[32];
    cpr_sha256(ids, (size_t)n * sizeof(int32_t), d); // little-endian host
    cpr_sha256_hex(d, hex);
}

struct stream_case {
    const char *tokenizer; // under models/ (.json: Hugging Face BPE)
    int64_t vocab;
    const char *corpus, *split;
    int64_t ntokens;
    int32_t first[16];
    const char *sha256;
};

static const struct stream_case cases[] = {
    // public reference (issue 3)
    {"stories260K/tok512.bin", 512, "tinystories", "eval", 199225,
     {1, 291, 344, 264, 426, 13, 13, 441, 416, 331, 407, 261, 378, 432, 383, 286},
     "05efe68b5c59bb82fcb53490aaaa42031fad005f381c31a062bb2b054fe6942e"},
    // tests/oracle/llama2c_tokenize.py
    {"stories260K/tok512.bin", 512, "wikitext2", "test", 815070,
     {1, 410, 13, 13, 410, 64, 410, 461, 414, 430, 285, 413, 368, 277, 421, 413},
     "95472f82ba94a1eebf705af5578e41b34f679e3e1e742a13749a902903fdbd94"},
    {"llama2-tokenizer/tokenizer.bin", 32000, "ptb", "test", 106965,
     {1, 694, 372, 471, 302, 29915, 29873, 4628, 7398, 388, 541, 1550, 278, 716, 343, 548},
     "7eee7ec107464cd176e6f7869bb2b006cb3267d26f66dda09d88ff443d38a29c"},
    {"llama2-tokenizer/tokenizer.bin", 32000, "wikitext2", "test", 341469,
     {1, 29871, 13, 13, 353, 4755, 350, 5059, 357, 353, 29871, 13, 13, 13, 13, 13},
     "9b69cd50dbe9e29f2d40f999f103fbe4b0ff014ec4f9fdae094c687ca1af6f92"},
    {"llama2-tokenizer/tokenizer.bin", 32000, "tinystories", "eval", 104157,
     {1, 450, 1095, 29889, 13, 13, 26222, 2501, 263, 931, 29892, 727, 471, 263, 7826, 2000},
     "6484dfdaad3a2351b2a91914c1acba60cdf3a645e8642b7cf04de8da3b57cf4e"},
    // tests/oracle/tok_oracle.mjs (tokenizers.js)
    {"tinystories-656k/tokenizer.json", 2048, "tinystories", "eval", 98476,
     {1, 80, 247, 183, 122, 3, 147, 201, 282, 215, 286, 362, 1338, 1829, 361, 1829},
     "f919dcb7da40dbfef0445642c96bbf1e84115f0128c36aac8ef03e806a336b73"},
    {"tinystories-656k/tokenizer.json", 2048, "wikitext2", "test", 560212,
     {1, 80, 3, 3, 80, 0, 80, 43, 492, 91, 86, 27, 99, 64, 72, 120},
     "9f3716b94576a834624ba9b5bbbd27260dc98e2ffed47d55202dfd328bd475d7"},
    {"tinystories-656k/tokenizer.json", 2048, "ptb", "test", 167846,
     {1, 80, 1047, 478, 528, 1950, 312, 1225, 409, 269, 1732, 573, 342, 77, 117, 310},
     "25cbfb9c6904c3758112a7689ed4f1ff17bb0f8f2da7f2d090c92a01c47ea161"},
};

// One test per case (each well under the 5 s budget on a busy machine).
static void run_stream_case(struct cpr_test_ctx *t, size_t c) {
    char root[512], path[1024];
    cpr_test_data_path("", root, sizeof root);
    {
        const struct stream_case *sc = &cases[c];
        snprintf(path, sizeof path, "%s/models/%s", root, sc->tokenizer);
        struct cpr_err err = {0};
        struct cpr_tokenizer tok;
        char *text = NULL;
        size_t len = 0;
        int32_t *ids = NULL;
        int64_t n = 0;
        size_t pl = strlen(path);
        enum cpr_tokenizer_kind kind = pl > 5 && strcmp(path + pl - 5, ".json") == 0
                                           ? CPR_TOKENIZER_HF_JSON
                                           : CPR_TOKENIZER_LLAMA2C;
        if (cpr_tokenizer_load(&tok, path, kind, sc->vocab, &err)) {
            cpr_test_skip(t, err.msg);
            return;
        }
        CPR_CHECK_STATUS(t, cpr_corpus_load(root, sc->corpus, sc->split, &text,
                                            &len, &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, text, len, 1, &ids, &n,
                                                 &err), CPR_OK, &err, NULL);
        CPR_CHECK(t, n == sc->ntokens, "%s on %s/%s: %lld tokens, expected %lld",
                  sc->tokenizer, sc->corpus, sc->split, (long long)n,
                  (long long)sc->ntokens);
        for (int i = 0; i < 16 && i < n; i++)
            CPR_CHECK(t, ids[i] == sc->first[i], "%s/%s id %d: %d expected %d",
                      sc->corpus, sc->split, i, ids[i], sc->first[i]);
        char hex[65];
        hash_ids(ids, n, hex);
        CPR_CHECK(t, strcmp(hex, sc->sha256) == 0, "%s/%s sha256 %s expected %s",
                  sc->corpus, sc->split, hex, sc->sha256);
        free(ids);
        free(text);
        cpr_tokenizer_free(&tok);
    }
}

#define STREAM_TEST(i)                                                     \
    static void test_stream_##i(struct cpr_test_ctx *t) {                  \
        run_stream_case(t, i);                                             \
    }
STREAM_TEST(0)
STREAM_TEST(1)
STREAM_TEST(2)
STREAM_TEST(3)
STREAM_TEST(4)
STREAM_TEST(5)
STREAM_TEST(6)
STREAM_TEST(7)
_Static_assert(sizeof cases / sizeof cases[0] == 8, "one STREAM_TEST per case");

static void test_wikitext_string(struct cpr_test_ctx *t) {
    char root[512];
    cpr_test_data_path("", root, sizeof root);
    struct cpr_err err = {0};
    char *text;
    size_t len;
    cpr_err_clear(&err); // success leaves err as it was
    CPR_CHECK_STATUS(t, cpr_corpus_load(root, "wikitext2", "test", &text, &len,
                                        &err), CPR_OK, &err, NULL);
    if (err.code) return;
    unsigned char d[32];
    char hex[65];
    cpr_sha256(text, len, d);
    cpr_sha256_hex(d, hex);
    CPR_CHECK(t, len == 1296370, "wikitext2 test: %zu bytes, expected 1296370", len);
    CPR_CHECK(t, strcmp(hex, "696cca6b65a171b0a358a4be6732cdfdf2dd6164a32e20fd70e3c13fc4dfae83") == 0,
              "wikitext2 test sha256 %s", hex);
    free(text);
    // defaults and errors
    CPR_CHECK(t, strcmp(cpr_corpus_default_split("tinystories"), "eval") == 0, "default split");
    CPR_CHECK(t, cpr_corpus_default_split("nope") == NULL, "unknown default split");
    CPR_CHECK_STATUS(t, cpr_corpus_load(root, "wikitext3", NULL, &text, &len, &err),
                     CPR_ERR_NOTFOUND, &err, "wikitext2, ptb, tinystories, c4");
    CPR_CHECK_STATUS(t, cpr_corpus_load(root, "ptb", "dev", &text, &len, &err),
                     CPR_ERR_NOTFOUND, &err, "test, valid, train");
    CPR_CHECK_STATUS(t, cpr_corpus_load("/nonexistent", "ptb", "test", &text, &len, &err),
                     CPR_ERR_NOTFOUND, &err, "CPRUNE_DATA");
    // c4 JSON lines: 5 records
    cpr_err_clear(&err); // success leaves err as it was
    CPR_CHECK_STATUS(t, cpr_corpus_load(root, "c4", NULL, &text, &len, &err),
                     CPR_OK, &err, NULL);
    if (!err.code) {
        CPR_CHECK(t, len > 1000 && strstr(text, "\n\n") != NULL, "c4 joined text");
        free(text);
    }
}

static void test_utf8(struct cpr_test_ctx *t) {
    CPR_CHECK(t, cpr_utf8_check("abc\xc3\xa9", 5) == 5, "valid 2-byte");
    CPR_CHECK(t, cpr_utf8_check("ab\xc0\xaf", 4) == 2, "overlong");
    CPR_CHECK(t, cpr_utf8_check("a\xed\xa0\x80", 4) == 1, "surrogate");
    CPR_CHECK(t, cpr_utf8_check("\xf4\x90\x80\x80", 4) == 0, "> U+10FFFF");
    CPR_CHECK(t, cpr_utf8_check("ab\xe2\x82", 4) == 2, "truncated");
    char dir[256], path[512];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    dt_write(dir, "bad.txt", "hello\xff world", 12, path, sizeof path);
    struct cpr_err err = {0};
    char *text;
    size_t len;
    CPR_CHECK_STATUS(t, cpr_corpus_load_file(path, &text, &len, &err),
                     CPR_ERR_FORMAT, &err, "byte 5 (0xff)");
    dt_rmtree(dir);
}

// A hand-built vocabulary: ids 0..2 special, 3..258 bytes, then pieces.
struct tb {
    unsigned char buf[8192];
    size_t n;
};

static void tb_add(struct tb *b, float score, const char *s, int32_t len) {
    memcpy(b->buf + b->n, &score, 4);
    memcpy(b->buf + b->n + 4, &len, 4);
    memcpy(b->buf + b->n + 8, s, (size_t)(len > 0 ? len : 0));
    b->n += 8 + (size_t)(len > 0 ? len : 0);
}

static int32_t build_vocab(struct tb *b) {
    int32_t maxlen = 8;
    b->n = 0;
    memcpy(b->buf, &maxlen, 4);
    b->n = 4;
    tb_add(b, 0, "<unk>", 5);
    tb_add(b, 0, "\n<s>\n", 5);
    tb_add(b, 0, "\n</s>\n", 6);
    for (int c = 0; c < 256; c++) {
        char piece[8];
        snprintf(piece, sizeof piece, "<0x%02X>", c);
        tb_add(b, 0, piece, 6);
    }
    // 259 " ", 260 "a", 261 "b", 262 "ab", 263 " a", 264 "ba", 265 "aba"
    tb_add(b, -1, " ", 1);
    tb_add(b, -1, "a", 1);
    tb_add(b, -1, "b", 1);
    tb_add(b, -2, "ab", 2);
    tb_add(b, -3, " a", 2);
    tb_add(b, -2, "ba", 2);
    tb_add(b, -1, "aba", 3);
    return 266;
}

static void test_hand_merges(struct cpr_test_ctx *t) {
    char dir[256], path[512];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    struct tb b;
    int32_t vs = build_vocab(&b);
    dt_write(dir, "tok.bin", b.buf, b.n, path, sizeof path);
    struct cpr_err err = {0};
    struct cpr_tokenizer tok;
    cpr_err_clear(&err); // success leaves err as it was
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, vs,
                                           &err), CPR_OK, &err, NULL);
    if (err.code) return;
    int32_t *ids;
    int64_t n;
    // "bab": tokens [BOS, ' ', b, a, b]. Candidate merges: ' b' (absent),
    // 'ba' (-2 at pos 2), 'ab' (-2 at pos 3): equal scores, leftmost wins
    // -> [' ', 'ba', 'b'] -> 'bab' absent, ' ba' absent: stop.
    CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, "bab", 3, 1, &ids, &n, &err),
                     CPR_OK, &err, NULL);
    int32_t want1[] = {1, 259, 264, 261};
    CPR_CHECK(t, n == 4 && memcmp(ids, want1, sizeof want1) == 0,
              "bab -> %lld ids [%d %d %d %d]", (long long)n, ids[0],
              n > 1 ? ids[1] : -1, n > 2 ? ids[2] : -1, n > 3 ? ids[3] : -1);
    free(ids);
    // "aba": [' ', a, b, a] -> ' a' (-3), 'ab' (-2), 'ba' (-2): 'ab' wins
    // (higher score, leftmost of the -2 pair) -> [' ', 'ab', 'a'] -> 'aba'
    // absent as a pair of ('ab','a')? "ab"+"a" = "aba" (-1) -> [' ', 'aba'].
    CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, "aba", 3, 0, &ids, &n, &err),
                     CPR_OK, &err, NULL);
    int32_t want2[] = {259, 265};
    CPR_CHECK(t, n == 2 && memcmp(ids, want2, sizeof want2) == 0,
              "aba -> %lld ids [%d %d]", (long long)n, ids[0], n > 1 ? ids[1] : -1);
    free(ids);
    // byte fallback: "\xc3\xa9" is not in the vocab -> two byte tokens
    CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, "\xc3\xa9", 2, 0, &ids, &n, &err),
                     CPR_OK, &err, NULL);
    int32_t want3[] = {259, 0xc3 + 3, 0xa9 + 3};
    CPR_CHECK(t, n == 3 && memcmp(ids, want3, sizeof want3) == 0, "byte fallback");
    free(ids);
    // empty text: BOS only, no dummy prefix
    CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, "", 0, 1, &ids, &n, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, n == 1 && ids[0] == 1, "empty text -> [BOS]");
    free(ids);
    cpr_tokenizer_free(&tok);
    dt_rmtree(dir);
}

static void test_malformed(struct cpr_test_ctx *t) {
    char dir[256], path[512];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    struct tb b;
    int32_t vs = build_vocab(&b);
    struct cpr_err err = {0};
    struct cpr_tokenizer tok;
    // zero-length file
    dt_write(dir, "empty.bin", "", 0, path, sizeof path);
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, vs, &err),
                     CPR_ERR_FORMAT, &err, "max_token_length");
    // truncated in the middle of the entries
    dt_write(dir, "trunc.bin", b.buf, b.n / 2, path, sizeof path);
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, vs, &err),
                     CPR_ERR_FORMAT, &err, "truncated");
    // vocab size larger than the file's entries
    dt_write(dir, "ok.bin", b.buf, b.n, path, sizeof path);
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, vs + 5, &err),
                     CPR_ERR_FORMAT, &err, "truncated");
    // vocab size smaller: bytes left over
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, vs - 1, &err),
                     CPR_ERR_FORMAT, &err, "disagree");
    // unknown vocab size
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, 0, &err),
                     CPR_ERR_ARG, &err, "vocab size");
    // negative piece length
    struct tb bad = b;
    int32_t neg = -7;
    memcpy(bad.buf + 4 + 4, &neg, 4); // entry 0's length
    dt_write(dir, "neg.bin", bad.buf, bad.n, path, sizeof path);
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, vs, &err),
                     CPR_ERR_FORMAT, &err, "entry 0 has length -7");
    // absurd max_token_length
    bad = b;
    int32_t ml = -1;
    memcpy(bad.buf, &ml, 4);
    dt_write(dir, "ml.bin", bad.buf, bad.n, path, sizeof path);
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, vs, &err),
                     CPR_ERR_FORMAT, &err, "max_token_length -1");
    // missing file
    snprintf(path, sizeof path, "%s/none.bin", dir);
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, vs, &err),
                     CPR_ERR_NOTFOUND, &err, "none.bin");
    // byte fallback beyond a tiny vocabulary
    struct tb tiny;
    int32_t m8 = 8;
    memcpy(tiny.buf, &m8, 4);
    tiny.n = 4;
    tb_add(&tiny, 0, "<unk>", 5);
    tb_add(&tiny, 0, "<s>", 3);
    tb_add(&tiny, 0, "</s>", 4);
    tb_add(&tiny, 0, " ", 1);
    dt_write(dir, "tiny.bin", tiny.buf, tiny.n, path, sizeof path);
    cpr_err_clear(&err); // success leaves err as it was
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_LLAMA2C, 4, &err),
                     CPR_OK, &err, NULL);
    if (!err.code) {
        int32_t *ids;
        int64_t n;
        CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, "x", 1, 1, &ids, &n, &err),
                         CPR_ERR_FORMAT, &err, "beyond the vocab size");
        cpr_tokenizer_free(&tok);
    }
    dt_rmtree(dir);
}

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

// Token files: round trip in both id widths, header fields written as the
// documented layout says (checked byte by byte), malformed files refused.
static void test_tokfile(struct cpr_test_ctx *t) {
    char dir[256], path[512], hex[65];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    struct cpr_err err = {0};
    int32_t small[5] = {1, 2, 65535, 0, 7}, big[3] = {1, 70000, 3};
    const char *sha = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    snprintf(path, sizeof path, "%s/a.tok", dir);
    CPR_CHECK_STATUS(t, cpr_tokfile_write(path, small, 5, sha, &err), CPR_OK, &err, NULL);
    FILE *f = fopen(path, "rb");
    unsigned char raw[128] = {0};
    size_t got = f ? fread(raw, 1, sizeof raw, f) : 0;
    if (f) fclose(f);
    CPR_CHECK(t, got == 64 + 5 * 2, "uint16 file size %zu", got);
    CPR_CHECK(t, memcmp(raw, "CPRTOK1", 8) == 0 && raw[8] == 1 && raw[12] == 2 &&
                 raw[16] == 5 && raw[24] == 0x00 && raw[25] == 0x11 &&
                 raw[64 + 4] == 0xff && raw[64 + 5] == 0xff,
              "header layout");
    int32_t *ids;
    int64_t n;
    cpr_err_clear(&err); // success leaves err as it was
    CPR_CHECK_STATUS(t, cpr_tokfile_read(path, 65536, &ids, &n, hex, &err), CPR_OK, &err, NULL);
    if (!err.code) {
        CPR_CHECK(t, n == 5 && memcmp(ids, small, sizeof small) == 0, "uint16 round trip");
        CPR_CHECK(t, strcmp(hex, sha) == 0, "tokenizer hash round trip");
        free(ids);
    }
    CPR_CHECK_STATUS(t, cpr_tokfile_read(path, 1000, &ids, &n, NULL, &err),
                     CPR_ERR_FORMAT, &err, "id 65535 at position 2");
    snprintf(path, sizeof path, "%s/b.tok", dir);
    CPR_CHECK_STATUS(t, cpr_tokfile_write(path, big, 3, NULL, &err), CPR_OK, &err, NULL);
    cpr_err_clear(&err); // success leaves err as it was
    CPR_CHECK_STATUS(t, cpr_tokfile_read(path, 0, &ids, &n, hex, &err), CPR_OK, &err, NULL);
    if (!err.code) {
        CPR_CHECK(t, n == 3 && memcmp(ids, big, sizeof big) == 0 && hex[0] == 0,
                  "uint32 round trip, no hash");
        free(ids);
    }
    int32_t negative = -1;
    CPR_CHECK_STATUS(t, cpr_tokfile_write(path, &negative, 1, NULL, &err),
                     CPR_ERR_ARG, &err, "negative");
    // malformed images
    unsigned char img[80];
    memset(img, 0, sizeof img);
    memcpy(img, "CPRTOK1", 8);
    put32(img + 8, 1);
    put32(img + 12, 2);
    put32(img + 16, 8); // 8 ids of 2 bytes = 16 bytes after the header
    dt_write(dir, "ok.tok", img, 80, path, sizeof path);
    cpr_err_clear(&err); // success leaves err as it was
    CPR_CHECK_STATUS(t, cpr_tokfile_read(path, 0, &ids, &n, NULL, &err), CPR_OK, &err, NULL);
    if (!err.code) free(ids);
    dt_write(dir, "short.tok", img, 70, path, sizeof path);
    CPR_CHECK_STATUS(t, cpr_tokfile_read(path, 0, &ids, &n, NULL, &err),
                     CPR_ERR_FORMAT, &err, "header says 8 ids");
    dt_write(dir, "tiny.tok", img, 10, path, sizeof path);
    CPR_CHECK_STATUS(t, cpr_tokfile_read(path, 0, &ids, &n, NULL, &err),
                     CPR_ERR_FORMAT, &err, "64-byte header");
    put32(img + 12, 3);
    dt_write(dir, "width.tok", img, 80, path, sizeof path);
    CPR_CHECK_STATUS(t, cpr_tokfile_read(path, 0, &ids, &n, NULL, &err),
                     CPR_ERR_FORMAT, &err, "bytes_per_id is 3");
    put32(img + 12, 2);
    put32(img + 8, 9);
    dt_write(dir, "version.tok", img, 80, path, sizeof path);
    CPR_CHECK_STATUS(t, cpr_tokfile_read(path, 0, &ids, &n, NULL, &err),
                     CPR_ERR_FORMAT, &err, "version 9");
    put32(img + 8, 1);
    img[0] = 'X';
    dt_write(dir, "magic.tok", img, 80, path, sizeof path);
    CPR_CHECK_STATUS(t, cpr_tokfile_read(path, 0, &ids, &n, NULL, &err),
                     CPR_ERR_FORMAT, &err, "magic");
    img[0] = 'C';
    put32(img + 16, 0xffffffffu);
    put32(img + 20, 0xffffffffu); // count 2^64-1: must not overflow
    dt_write(dir, "huge.tok", img, 80, path, sizeof path);
    CPR_CHECK_STATUS(t, cpr_tokfile_read(path, 0, &ids, &n, NULL, &err),
                     CPR_ERR_FORMAT, &err, "header says");
    snprintf(path, sizeof path, "%s/missing.tok", dir);
    CPR_CHECK_STATUS(t, cpr_tokfile_read(path, 0, &ids, &n, NULL, &err),
                     CPR_ERR_NOTFOUND, &err, "missing.tok");
    // in memory (cpr_tokfile_parse): a uint32 id above INT32_MAX is refused
    unsigned char img4[64 + 8];
    memset(img4, 0, sizeof img4);
    memcpy(img4, "CPRTOK1", 8);
    put32(img4 + 8, 1);
    put32(img4 + 12, 4);
    put32(img4 + 16, 2);
    put32(img4 + 64, 5);
    put32(img4 + 68, 0x80000000u);
    CPR_CHECK_STATUS(t, cpr_tokfile_parse(img4, sizeof img4, "mem.tok", 0, &ids, &n,
                                          NULL, &err),
                     CPR_ERR_FORMAT, &err, "mem.tok: id 2147483648 at position 1");
    put32(img4 + 68, 7);
    cpr_err_clear(&err);
    CPR_CHECK_STATUS(t, cpr_tokfile_parse(img4, sizeof img4, NULL, 8, &ids, &n,
                                          NULL, &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, !err.code && n == 2 && ids[0] == 5 && ids[1] == 7,
              "in-memory parse");
    if (!err.code) free(ids);
    dt_rmtree(dir);
}

// tokenizers.js on short strings around the <unk> added token: it is
// matched by its normalized content "\u2581<unk>", so "x<unk>" stays text.
static void test_hf_added_tokens(struct cpr_test_ctx *t) {
    char root[512], path[1024];
    cpr_test_data_path("", root, sizeof root);
    snprintf(path, sizeof path, "%s/models/tinystories-656k/tokenizer.json", root);
    struct cpr_err err = {0};
    struct cpr_tokenizer tok;
    if (cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_HF_JSON, 0, &err)) {
        cpr_test_skip(t, err.msg);
        return;
    }
    static const struct {
        const char *text;
        int n;
        int32_t ids[8];
    } cases[] = {
        {"a <unk> b", 5, {1, 85, 0, 80, 54}},
        {"the <unk> cat", 6, {1, 80, 131, 0, 80, 476}},
        {"<unk>x", 3, {1, 0, 76}},
        {"x<unk>", 7, {1, 80, 76, 23, 148, 63, 24}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int32_t *ids;
        int64_t n;
        cpr_err_clear(&err); // success leaves err as it was
        CPR_CHECK_STATUS(t, cpr_tokenizer_encode(&tok, cases[c].text,
                                                 strlen(cases[c].text), 1,
                                                 &ids, &n, &err), CPR_OK, &err, NULL);
        if (err.code) continue;
        CPR_CHECK(t, n == cases[c].n &&
                         memcmp(ids, cases[c].ids, (size_t)n * 4) == 0,
                  "\"%s\": %lld ids, first %d %d", cases[c].text, (long long)n,
                  ids[0], n > 1 ? ids[1] : -1);
        free(ids);
    }
    CPR_CHECK(t, tok.bos_id == 1 && tok.vocab_size == 2048, "bos %d vocab %lld",
              tok.bos_id, (long long)tok.vocab_size);
    cpr_tokenizer_free(&tok);
}

// Malformed tokenizer.json files: refused with a status naming the field.
static void test_hf_malformed(struct cpr_test_ctx *t) {
    char dir[256], path[512];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    static const struct {
        const char *json;
        enum cpr_status want;
        const char *needle;
    } cases[] = {
        {"{\"model\": {\"type\": \"BPE\"", CPR_ERR_FORMAT, "line 1"},
        {"{\"normalizer\": {\"type\": \"NFKC\"}, \"model\": {\"type\": \"BPE\", "
         "\"vocab\": {}, \"merges\": []}}", CPR_ERR_UNSUPPORTED, "normalizer NFKC"},
        {"{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": "
         "\"Prepend\", \"prepend\": \"\u2581\"}, {\"type\": \"Replace\", "
         "\"pattern\": {\"String\": \" \"}, \"content\": \"\u2581\"}]}, "
         "\"model\": {\"type\": \"Unigram\"}}", CPR_ERR_UNSUPPORTED, "BPE"},
        {"{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": "
         "\"Prepend\", \"prepend\": \"\u2581\"}, {\"type\": \"Replace\", "
         "\"pattern\": {\"String\": \" \"}, \"content\": \"\u2581\"}]}, "
         "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -3}, \"merges\": []}}",
         CPR_ERR_FORMAT, "model.vocab"},
        {"{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": "
         "\"Prepend\", \"prepend\": \"\u2581\"}, {\"type\": \"Replace\", "
         "\"pattern\": {\"String\": \" \"}, \"content\": \"\u2581\"}]}, "
         "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, "
         "\"merges\": [\"a b\"]}}", CPR_ERR_FORMAT, "model.merges[0]"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dt_write(dir, "tokenizer.json", cases[c].json, strlen(cases[c].json),
                 path, sizeof path);
        struct cpr_err err = {0};
        struct cpr_tokenizer tok;
        CPR_CHECK_STATUS(t, cpr_tokenizer_load(&tok, path, CPR_TOKENIZER_HF_JSON, 0,
                                               &err), cases[c].want, &err,
                         cases[c].needle);
    }
    dt_rmtree(dir);
}

const struct cpr_test cpr_tests_data_llama2c_tok[] = {
    {"hf_added_tokens", test_hf_added_tokens, 0},
    {"hf_malformed", test_hf_malformed, 0},
    {"tokfile", test_tokfile, 0},
    {"stream_tok512_tinystories_public", test_stream_0, 0},
    {"stream_tok512_wikitext2_pyoracle", test_stream_1, 0},
    {"stream_llama2_ptb_pyoracle", test_stream_2, 0},
    {"stream_llama2_wikitext2_pyoracle", test_stream_3, 0},
    {"stream_llama2_tinystories_pyoracle", test_stream_4, 0},
    {"stream_hf656k_tinystories_tokenizersjs", test_stream_5, 0},
    {"stream_hf656k_wikitext2_tokenizersjs", test_stream_6, 0},
    {"stream_hf656k_ptb_tokenizersjs", test_stream_7, 0},
    {"wikitext_string_and_errors", test_wikitext_string, 0},
    {"utf8", test_utf8, 0},
    {"hand_merges", test_hand_merges, 0},
    {"malformed", test_malformed, 0},
    {0},
};
