// tests/fuzz/fuzz_llama2c.c: libFuzzer harness for the llama2.c checkpoint
// reader (data/llama2c.c). Inputs are small, so the fuzzer mostly explores
// the header checks; to reach the carving code, a second pass treats the
// first 28 bytes as a header and sizes a zero-filled image to what that
// header implies (when it is small), then builds the model and reads every
// tensor end to end. Built and run by `make fuzz`.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "data/llama2c.h"

static void touch_all(const struct cpr_model *m) {
    volatile float sum = 0;
    const struct cpr_tensor *ts[3] = {&m->tok_embed, &m->final_norm, &m->lm_head};
    for (int i = 0; i < 3; i++)
        for (int64_t k = 0; k < cpr_tensor_numel(ts[i]); k++)
            sum += ((const float *)ts[i]->data)[k];
    for (int64_t l = 0; l < m->cfg.n_layers; l++)
        for (int w = 0; w < CPR_LINEAR_COUNT; w++) {
            const struct cpr_tensor *t =
                cpr_model_linear((struct cpr_model *)m, l, (enum cpr_linear)w);
            for (int64_t k = 0; k < cpr_tensor_numel(t); k++)
                sum += ((const float *)t->data)[k];
        }
}

static void try_build(const uint8_t *img, size_t size) {
    struct cpr_model m;
    memset(&m, 0, sizeof m);
    struct cpr_err e;
    if (cpr_llama2c_build(img, size, "fuzz", &m, &e) == CPR_OK) touch_all(&m);
    cpr_model_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // Pass 1: the input as a whole file (4-byte aligned heap copy).
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    try_build(buf, size);
    free(buf);
    // Pass 2: header from the input, body sized as it implies.
    if (size < 28) return 0;
    struct cpr_llama2c_header h;
    struct cpr_err e;
    // Ask for the expected size with a file size that cannot match.
    (void)cpr_llama2c_parse_header(data, 28, 28, "fuzz", &h, &e);
    if (h.expected_size == 0 || h.expected_size > (1u << 21)) return 0;
    size_t n = (size_t)h.expected_size;
    uint8_t *img = calloc(n, 1);
    if (!img) return 0;
    memcpy(img, data, 28);
    memcpy(img + 28, data + 28, size - 28 < n - 28 ? size - 28 : n - 28);
    try_build(img, n);
    free(img);
    return 0;
}
