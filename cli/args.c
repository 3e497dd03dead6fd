// cli/args.c: option parsing for the subcommands (see args.h).
#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct cli_opt *find(struct cli_opt *opts, size_t n, const char *name,
                            size_t len) {
    for (size_t i = 0; i < n; i++)
        if (opts[i].name && strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static void print_help(const struct cli_opt *opts, size_t n,
                       const struct cli_help *h) {
    printf("usage: %s\n", h->usage);
    int headed = n > 0 && opts[0].name == NULL;
    if (n && !headed) printf("\noptions:\n");
    for (size_t i = 0; i < n; i++) {
        if (!opts[i].name) {
            printf("\n%s\n", opts[i].help ? opts[i].help : "");
            continue;
        }
        char left[64];
        snprintf(left, sizeof left, "--%s%s", opts[i].name,
                 opts[i].takes_value ? " V" : "");
        if (strlen(left) > 22) // a long name: help on its own line
            printf("  %s\n  %-22s %s\n", left, "",
                   opts[i].help ? opts[i].help : "");
        else
            printf("  %-22s %s\n", left, opts[i].help ? opts[i].help : "");
    }
    if (h->notes) printf("\n%s\n", h->notes);
    if (h->examples && h->examples[0]) {
        printf("\nexamples:\n");
        for (size_t i = 0; h->examples[i]; i++)
            printf("  %s\n", h->examples[i]);
    }
}

int cli_parse(int argc, char **argv, struct cli_opt *opts, size_t n_opts,
              const char *cmd, const char *usage) {
    const struct cli_help h = {usage, NULL, NULL};
    return cli_parse_help(argc, argv, opts, n_opts, cmd, &h);
}

int cli_parse_help(int argc, char **argv, struct cli_opt *opts,
                   size_t n_opts, const char *cmd,
                   const struct cli_help *help) {
    const char *usage = help->usage;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(opts, n_opts, help);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "cprune %s: unexpected argument '%s'\nusage: %s\n",
                    cmd, a, usage);
            return 2;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        struct cli_opt *o = find(opts, n_opts, name, len);
        if (!o) {
            fprintf(stderr, "cprune %s: unknown option '--%.*s' (see 'cprune %s "
                            "--help')\n", cmd, (int)len, name, cmd);
            return 2;
        }
        if (o->takes_value) {
            if (eq) o->value = eq + 1;
            else if (i + 1 < argc) o->value = argv[++i];
            else {
                fprintf(stderr, "cprune %s: option '--%s' needs a value\n", cmd,
                        o->name);
                return 2;
            }
        } else {
            if (eq) {
                fprintf(stderr, "cprune %s: option '--%s' takes no value\n", cmd,
                        o->name);
                return 2;
            }
            o->value = "1";
        }
    }
    return 0;
}

const char *cli_get(const struct cli_opt *opts, size_t n_opts, const char *name) {
    for (size_t i = 0; i < n_opts; i++)
        if (opts[i].name && strcmp(opts[i].name, name) == 0)
            return opts[i].value;
    return NULL;
}

int cli_int(const char *cmd, const char *name, const char *s, long long lo,
            long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "cprune %s: --%s: expected an integer in [%lld, %lld], "
                        "found '%s'\n", cmd, name, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_float(const char *cmd, const char *name, const char *s, double lo,
              double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "cprune %s: --%s: expected a number in [%g, %g], "
                        "found '%s'\n", cmd, name, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_threads_warn(const char *cmd, long long threads) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1 || threads <= cpus) return 0;
    fprintf(stderr, "cprune %s: warning: --threads %lld is more than the %ld "
                    "online CPUs; extra threads only contend (expect a "
                    "slowdown; --threads %ld or less is faster)\n", cmd,
            threads, cpus, cpus);
    return 1;
}

int cli_threads_parse(const char *cmd, const char *value, long long *threads) {
    if (!value) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        *threads = cpus < 1 ? 1 : cpus > 1024 ? 1024 : cpus;
        return 0;
    }
    if (cli_int(cmd, "threads", value, 1, 1024, threads)) return -1;
    cli_threads_warn(cmd, *threads);
    return 0;
}

const char *cli_data_dir(void) {
    const char *d = getenv("CPRUNE_DATA");
    return d && *d ? d : "../shared";
}
