// cli/cmd_methods.c: `cprune methods`: the registered pruning methods, the
// statistics each needs, and their options with defaults.
#include <stdio.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/prune_depth.h"
#include "methods/registry.h"

int cmd_methods(int argc, char **argv) {
    int rc = cli_parse(argc, argv, NULL, 0, "methods", "cprune methods");
    if (rc) return rc == 1 ? 0 : 2;
    static const char *const types[] = {"number", "integer", "bool", "choice"};
    for (size_t i = 0; i < cpr_n_methods; i++) {
        const struct cpr_method *m = cpr_methods[i];
        char needs[64];
        printf("%s\n  %s\n  needs: %s\n", m->name, m->summary,
               cpr_method_needs_str(m->needs, needs, sizeof needs));
        printf("  patterns: %s\n", cpr_method_patterns_str(m));
        if (m->n_opts == 0) printf("  options: none\n");
        for (size_t j = 0; j < m->n_opts; j++) {
            const struct cpr_method_opt *o = &m->opts[j];
            printf("  option %s=%s (%s%s%s): %s\n", o->name, o->def,
                   types[o->type], o->choices ? " " : "",
                   o->choices ? o->choices : "", o->help);
        }
    }
    prune_depth_list(); // depth methods (cli/prune_depth.h)
    return 0;
}
