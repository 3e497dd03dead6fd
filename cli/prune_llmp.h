// cli/prune_llmp.h: `cprune prune --method llm-pruner`, LLM-Pruner's
// block-wise structured pruning (methods/llmpruner.h) writing a smaller
// model. cmd_prune hands such runs here.
#ifndef CPR_CLI_PRUNE_LLMP_H
#define CPR_CLI_PRUNE_LLMP_H

// 1 when argv names --method llm-pruner.
int prune_llmp_wanted(int argc, char **argv);
// The whole command. Exit status: 0, 1 data, 2 usage.
int prune_llmp_main(int argc, char **argv);

#endif
