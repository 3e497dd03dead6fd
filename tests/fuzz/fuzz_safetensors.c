// tests/fuzz/fuzz_safetensors.c: libFuzzer harness for the safetensors
// reader (data/safetensors.c): header length, JSON header, dtypes, shapes,
// offsets and tiling. Every tensor the reader accepts is turned into a
// view and read end to end, so an accepted range outside the buffer is an
// ASan report. Built and run by `make fuzz`.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // An exact-size heap copy, 8-aligned, so reads past the end are caught.
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    struct cpr_safetensors st;
    struct cpr_err e;
    if (cpr_safetensors_parse(&st, buf, size, "fuzz", &e) == CPR_OK) {
        volatile unsigned sum = 0;
        for (size_t i = 0; i < st.n_tensors; i++) {
            struct cpr_tensor t;
            const struct cpr_st_tensor *r = &st.tensors[i];
            if (r->end > st.data_size || r->begin > r->end) __builtin_trap();
            if (cpr_safetensors_tensor(&st, r->name, &t, &e) == CPR_OK) {
                const uint8_t *p = t.data;
                size_t n = (size_t)(r->end - r->begin);
                for (size_t k = 0; k < n; k++) sum += p[k];
                cpr_tensor_free(&t);
            }
        }
        (void)cpr_safetensors_meta(&st, "format");
        cpr_safetensors_close(&st);
    }
    free(buf);
    return 0;
}
