// tests/test_methods_calib_store.c: the calibration activation store
// (methods/calib_store.h) in RAM and mapped from data/scratch_file.h's
// unlinked file: the mapping holds what was written through it (read back
// through the store's read op), nothing is left in the directory, a store
// without a map op and a missing directory are refused with a status.
#include <stdint.h>
#include <string.h>

#include "data/scratch_file.h"
#include "methods/calib_store.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

static int dir_empty(const char *path) {
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return d && n == 0;
}

static void test_ram_and_disk(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    char tmp[256];
    if (dt_mkdtemp(tmp, sizeof tmp)) {
        CPR_CHECK(t, 0, "mkdtemp");
        return;
    }
    enum { N = 3 * 4096 + 5 };
    struct cpr_scratch_file f;
    CPR_CHECK_STATUS(t, cpr_scratch_file_open(&f, tmp, &err), CPR_OK, &err,
                     NULL);
    for (int disk = 0; disk < 2 && !err.code; disk++) {
        struct cpr_calib_store s;
        CPR_CHECK_STATUS(t, cpr_calib_store_alloc(&s, N, disk ? &f.io : NULL,
                                                  &err), CPR_OK, &err, NULL);
        if (err.code) break;
        CPR_CHECK(t, s.data && s.bytes == N, "store %d: %zu bytes", disk,
                  s.bytes);
        unsigned char *p = s.data;
        for (size_t i = 0; i < N; i++) p[i] = (unsigned char)(i * 7 + disk);
        if (disk) { // the file holds the bytes written through the mapping
            unsigned char back[N];
            CPR_CHECK_STATUS(t, f.io.read(f.io.user, 0, back, N, &err),
                             CPR_OK, &err, NULL);
            CPR_CHECK(t, !memcmp(back, p, N), "mapped bytes differ from the "
                      "file's");
        }
        cpr_calib_store_free(&s);
        CPR_CHECK(t, !s.data && !s.bytes, "store %d: not emptied", disk);
        cpr_calib_store_free(&s); // twice is fine
    }
    CPR_CHECK(t, dir_empty(tmp), "scratch file left in %s", tmp);
    cpr_scratch_file_close(&f);
    dt_rmtree(tmp);
    struct cpr_calib_store z;
    memset(&z, 0, sizeof z);
    cpr_calib_store_free(&z); // zeroed: a no-op
}

static void test_refused(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    struct cpr_calib_store s;
    const struct cpr_scratch_io no_map = {0}; // read/write only
    CPR_CHECK_STATUS(t, cpr_calib_store_alloc(&s, 64, &no_map, &err),
                     CPR_ERR_ARG, &err, "cannot map");
    CPR_CHECK(t, !s.data && !s.io, "refused store not empty");
    struct cpr_scratch_file f;
    CPR_CHECK_STATUS(t, cpr_scratch_file_open(&f, "/nonexistent-cprune-dir",
                                              &err),
                     CPR_ERR_IO, &err, "/nonexistent-cprune-dir");
    cpr_scratch_file_close(&f);
}

const struct cpr_test cpr_tests_methods_calib_store[] = {
    {"ram_and_disk", test_ram_and_disk, 0},
    {"refused", test_refused, 0},
    {0},
};
