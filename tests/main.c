// tests/main.c: the test runner.
//
// usage: cprune_tests [--slow] [--list] [-v] [FILTER...]
// Runs every registered test whose "suite/name" contains one of the
// FILTERs (all when none), slow ones only with --slow, and ends with the
// line "N passed, N failed, N skipped". Exit status 1 when any failed.
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/harness.h"
#include "test_suites.h" // generated: cpr_suites[] and cpr_suite_names[]

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int slow = 0, list = 0, verbose = 0;
    const char *filters[64];
    int n_filters = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--slow") == 0) slow = 1;
        else if (strcmp(argv[i], "--list") == 0) list = 1;
        else if (strcmp(argv[i], "-v") == 0) verbose = 1;
        else if (n_filters < 64) filters[n_filters++] = argv[i];
    }
    int passed = 0, failed = 0, skipped = 0;
    char full[256];
    for (size_t s = 0; cpr_suites[s]; s++) {
        for (const struct cpr_test *t = cpr_suites[s]; t->name; t++) {
            snprintf(full, sizeof full, "%s/%s", cpr_suite_names[s], t->name);
            int match = n_filters == 0;
            for (int f = 0; f < n_filters && !match; f++)
                match = strstr(full, filters[f]) != NULL;
            if (!match || (t->slow && !slow)) continue;
            if (list) {
                printf("%s%s\n", full, t->slow ? " (slow)" : "");
                continue;
            }
            struct cpr_test_ctx ctx = {.name = full, .verbose = verbose};
            double t0 = now_s();
            t->fn(&ctx);
            double dt = now_s() - t0;
            if (ctx.failures) {
                failed++;
                printf("FAIL %s (%d checks, %.2f s)\n", full, ctx.failures, dt);
            } else if (ctx.skipped) {
                skipped++;
                printf("SKIP %s\n", full);
            } else {
                passed++;
                printf("ok   %s (%.2f s)\n", full, dt);
            }
            fflush(stdout);
        }
    }
    if (!list) printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
