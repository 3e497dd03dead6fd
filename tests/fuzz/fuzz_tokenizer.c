// tests/fuzz/fuzz_tokenizer.c: libFuzzer harness for the tokenizer readers
// and encoders. An input starting with '{' (after spaces) is a
// tokenizer.json (data/tok_hfbpe.c); anything else a llama2.c tokenizer
// .bin (data/tok_llama2c.c), loaded with the vocab size its complete
// entries imply (so real files such as tok512.bin work as seeds) and with
// that size + 1 (the truncation path). When a load succeeds, a fixed
// sample and the input itself (arbitrary bytes, invalid UTF-8 included)
// are encoded and every id is checked to be inside the vocabulary.
// Built and run by `make fuzz`.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"

static const char SAMPLE[] =
    "Once upon a time, <unk> there was a \xc3\xa9l\xc3\xa8ve  \n\n"
    "\xe2\x96\x81 caf\xc3\xa9 \xf0\x9f\x98\x80 x";

static void encode_all(struct cpr_tokenizer *t, const uint8_t *data,
                       size_t size) {
    const char *texts[2] = {SAMPLE, (const char *)data};
    size_t lens[2] = {sizeof SAMPLE - 1, size < 4096 ? size : 4096};
    for (int k = 0; k < 2; k++) {
        int32_t *ids = NULL;
        int64_t n = 0;
        struct cpr_err e;
        if (cpr_tokenizer_encode(t, texts[k], lens[k], k == 0, &ids, &n, &e) ==
            CPR_OK) {
            for (int64_t i = 0; i < n; i++) {
                size_t pl;
                if (ids[i] < 0 || ids[i] >= t->vocab_size ||
                    !cpr_tokenizer_piece(t, ids[i], &pl))
                    abort();
            }
        }
        free(ids);
    }
}

// Complete {score, len, bytes} entries after the 4-byte header (<= 65536).
static int64_t count_entries(const uint8_t *d, size_t size) {
    size_t off = 4;
    int64_t n = 0;
    while (n < 65536 && size >= 8 && off <= size - 8) {
        int32_t l;
        memcpy(&l, d + off + 4, 4);
        if (l < 0 || (size_t)l > size - off - 8) break;
        off += 8 + (size_t)l;
        n++;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t i = 0;
    while (i < size && (data[i] == ' ' || data[i] == '\n')) i++;
    struct cpr_tokenizer t;
    struct cpr_err e;
    memset(&t, 0, sizeof t);
    if (i < size && data[i] == '{') {
        t.kind = CPR_TOKENIZER_HF_JSON;
        t.bos_id = t.eos_id = -1;
        strcpy(t.source, "fuzz.json");
        // the first line of the input doubles as a tokenizer_config.json
        if (cpr_tok_hfbpe_load(&t, (const char *)data, size, "{\"add_bos_token\": true}",
                               23, &e) == CPR_OK) {
            t.vocab_size = t.vocab_size > 0 ? t.vocab_size : 1;
            encode_all(&t, data, size);
        }
        cpr_tok_hfbpe_free(&t);
        return 0;
    }
    if (size < 4) return 0;
    int64_t n = count_entries(data, size);
    for (int extra = 0; extra < 2; extra++) {
        memset(&t, 0, sizeof t);
        t.kind = CPR_TOKENIZER_LLAMA2C;
        t.vocab_size = n + extra;
        t.bos_id = t.eos_id = -1;
        strcpy(t.source, "fuzz.bin");
        if (cpr_tok_llama2c_load(&t, (const char *)data, size, &e) == CPR_OK)
            encode_all(&t, data, size);
        cpr_tok_llama2c_free(&t);
    }
    return 0;
}
