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
    // structured methods (cli/prune_struct.c): not pipeline methods
    printf("flap\n  FLAP: KV groups and MLP channels by input fluctuation, "
           "bias compensation; writes a smaller model\n  options: --metric "
           "ifv|wifv|wifn (wifv), --structure ul-um|al-am|ul-mm|al-mm "
           "(al-am), --no-bias-comp, --remove-heads N\n");
    printf("wanda-sp\n  structured Wanda (FLAP repository): KV groups and "
           "channels by |W| * ||x||, per layer\n");
    printf("magnitude-sp\n  structured magnitude (FLAP repository): KV "
           "groups and channels by column L2 norm\n");
    printf("cfsp\n  CFSP: MLP channels; per-layer ratios from block "
           "input/output angular distance, channels by activation norm x "
           "normalised weights; writes a smaller model\n  options: "
           "--global-metric angular|cosine|mse|mae|avg (angular), "
           "--local-metric three_w_one_wa|three_w_one_a|one_wa|one_a|"
           "wanda_base (three_w_one_wa), --cfsp-a/-b/-c X (1), "
           "--cuda-friendly\n");
    printf("llm-pruner\n  LLM-Pruner block-wise: KV groups (with their query "
           "heads) and MLP channels by Taylor importance of the dense "
           "model's loss (every family: LLaMA-like, OPT, GPT-2, GPT-NeoX); "
           "writes a smaller model\n  options: --importance "
           "taylor|l1|l2|random (taylor), --taylor param_mix|param_first|"
           "param_second|vectorize (param_mix), --group-reduction sum|mean|"
           "max, --global, --layers A:B (3:31)\n");
    prune_depth_list(); // depth methods (cli/prune_depth.h)
    return 0;
}
