// tests/fuzz/fuzz_tokfile.c: libFuzzer harness for the token-file reader
// (data/tokfile.c, cpr_tokfile_parse): every input is parsed with no vocab
// limit and with a small one; accepted files must round-trip through the
// writer's layout (same count, ids re-encoded equal). Built and run by
// `make fuzz`.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct cpr_err e;
    int32_t *ids = NULL;
    int64_t n = 0;
    char sha[65];
    if (cpr_tokfile_parse(data, size, "fuzz", 0, &ids, &n, sha, &e) == CPR_OK) {
        // accepted: header consistent with the size, ids decode back
        uint32_t w = (uint32_t)data[12];
        if ((size_t)CPR_TOKFILE_HEADER + (size_t)n * w != size) abort();
        for (int64_t i = 0; i < n; i++) {
            const uint8_t *p = data + CPR_TOKFILE_HEADER + (size_t)i * w;
            uint32_t v = p[0] | (uint32_t)p[1] << 8;
            if (w == 4) v |= (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            if ((uint32_t)ids[i] != v) abort();
        }
    }
    free(ids);
    ids = NULL;
    (void)cpr_tokfile_parse(data, size, NULL, 300, &ids, &n, NULL, &e);
    free(ids);
    return 0;
}
