// cli/cmd_explain.c: `cprune explain METHOD`: the method's algorithm in
// plain words and formulas, the statistics it needs, its options with
// defaults (from the descriptor), the paper and the reference code.
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/explain.h"
#include "cli/prune_depth.h"
#include "methods/registry.h"
#include "methods/structured.h"

int cmd_explain(int argc, char **argv) {
    if (argc == 1 && argv[0][0] != '-') {
        const struct cpr_method *m = cpr_method_find(argv[0]);
        const struct explain_entry *se = explain_find(argv[0]);
        if (!m && se && (cpr_struct_kind_parse(argv[0]) >= 0 ||
                         !strcmp(argv[0], "llm-pruner"))) {
            printf("%s (structured: writes a smaller model)\n\n%s\n\n"
                   "usage: %s\npaper: %s\ncode:  %s\n", argv[0],
                   se->algorithm, "cprune prune --method NAME --sparsity S "
                   "[--calib C] (see cprune prune --method NAME --help)",
                   se->paper, se->code);
            return 0;
        }
        if (!m && prune_depth_is_method(argv[0])) { // cli/prune_depth.h
            const struct explain_entry *e = explain_find(argv[0]);
            printf("%s\n\n%s\n\npaper: %s\ncode:  %s\n", argv[0],
                   e->algorithm, e->paper, e->code);
            return 0;
        }
        if (!m) {
            fprintf(stderr, "cprune explain: unknown method '%s'; known:",
                    argv[0]);
            for (size_t i = 0; i < cpr_n_methods; i++)
                fprintf(stderr, " %s", cpr_methods[i]->name);
            fprintf(stderr, "\n");
            return 2;
        }
        const struct explain_entry *e = explain_find(m->name);
        char needs[96];
        printf("%s: %s\n\n", m->name, m->summary);
        if (e) printf("%s\n\n", e->algorithm);
        printf("statistics: %s%s\n", cpr_method_needs_str(m->needs, needs,
                                                           sizeof needs),
               cpr_method_allocates(m) ? " (plus a dense allocation scan)" : "");
        printf("patterns:   --sparsity S (unstructured) | --pattern N:M\n");
        printf("options:%s\n", m->n_opts ? "" : " none");
        for (size_t j = 0; j < m->n_opts; j++)
            printf("  %-14s default %-8s %s%s%s\n", m->opts[j].name,
                   m->opts[j].def, m->opts[j].help,
                   m->opts[j].choices ? "; one of " : "",
                   m->opts[j].choices ? m->opts[j].choices : "");
        if (e) printf("\npaper: %s\ncode:  %s\n", e->paper, e->code);
        return 0;
    }
    // Only --help (or a usage error) is left: list the methods in it.
    char notes[2048];
    size_t o = (size_t)snprintf(notes, sizeof notes, "methods:");
    for (size_t i = 0; i < cpr_n_methods && o < sizeof notes; i++)
        o += (size_t)snprintf(notes + o, sizeof notes - o, " %s",
                              cpr_methods[i]->name);
    if (o < sizeof notes)
        snprintf(notes + o, sizeof notes - o,
                 "\n\nPrints the method's algorithm (words and formulas), "
                 "the statistics it needs,\nits options with defaults, the "
                 "paper and the reference code it follows.\n"
                 "`cprune methods` lists them with their options.");
    static const char *const examples[] = {
        "cprune explain wanda", "cprune explain sparsegpt", NULL};
    const struct cli_help help = {"cprune explain METHOD", examples, notes};
    int rc = cli_parse_help(argc, argv, NULL, 0, "explain", &help);
    if (rc) return rc == 1 ? 0 : 2;
    fprintf(stderr, "cprune explain: give one method name (see `cprune "
                    "explain --help`)\nusage: cprune explain METHOD\n");
    return 2;
}
