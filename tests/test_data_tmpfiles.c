// tests/test_data_tmpfiles.c: the temporary-path registry
// (data/tmpfiles.h): atomic writes register their temporary file while it
// exists and not after commit or abort; cpr_tmp_remove_all removes
// registered files and directories (with a writer's files inside) and
// clears the registry.
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/fileio.h"
#include "data/tmpfiles.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

static int exists(const char *p) { return access(p, F_OK) == 0; }

static void test_atomic_registers(struct cpr_test_ctx *t) {
    char dir[256], path[400];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    snprintf(path, sizeof path, "%s/a.txt", dir);
    struct cpr_atomic_file af;
    struct cpr_err e = {0};
    CPR_CHECK_STATUS(t, cpr_atomic_open(&af, path, &e), CPR_OK, &e, NULL);
    const char *first = cpr_tmp_first();
    CPR_CHECK(t, first && !strcmp(first, af.tmp), "open registers %s (found %s)",
              af.tmp, first ? first : "none");
    CPR_CHECK_STATUS(t, cpr_atomic_write(&af, "x", 1, &e), CPR_OK, &e, NULL);
    CPR_CHECK_STATUS(t, cpr_atomic_commit(&af, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, cpr_tmp_first() == NULL, "commit unregisters");
    CPR_CHECK_STATUS(t, cpr_atomic_open(&af, path, &e), CPR_OK, &e, NULL);
    cpr_atomic_abort(&af);
    CPR_CHECK(t, cpr_tmp_first() == NULL, "abort unregisters");
    unlink(path);
    rmdir(dir);
}

static void test_remove_all(struct cpr_test_ctx *t) {
    char dir[256], sub[400], f1[500], f2[500];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    snprintf(sub, sizeof sub, "%s/out.tmp.x", dir);
    snprintf(f1, sizeof f1, "%s/model.safetensors", sub);
    snprintf(f2, sizeof f2, "%s/c.tmp.y", dir);
    CPR_CHECK(t, mkdir(sub, 0755) == 0, "mkdir");
    FILE *f = fopen(f1, "w");
    if (f) fclose(f);
    f = fopen(f2, "w");
    if (f) fclose(f);
    int a = cpr_tmp_register(sub, 1), b = cpr_tmp_register(f2, 0);
    CPR_CHECK(t, a >= 0 && b >= 0 && a != b, "slots %d %d", a, b);
    CPR_CHECK(t, !strcmp(cpr_tmp_first(), sub), "oldest first");
    CPR_CHECK(t, cpr_tmp_remove_all() == 2, "two removed");
    CPR_CHECK(t, !exists(f2) && !exists(f1) && !exists(sub), "paths gone");
    CPR_CHECK(t, cpr_tmp_first() == NULL, "registry empty");
    char longp[CPR_TMP_PATH_MAX + 8];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    CPR_CHECK(t, cpr_tmp_register(longp, 0) == -1, "too long refused");
    rmdir(dir);
}

const struct cpr_test cpr_tests_data_tmpfiles[] = {
    {"tmp_atomic_registers", test_atomic_registers, 0},
    {"tmp_remove_all", test_remove_all, 0},
    {0},
};
