// cli/prune_struct.h: `cprune prune --method flap|wanda-sp|magnitude-sp`,
// width-structured pruning that writes a physically smaller model
// (methods/structured.h). cmd_prune hands such runs here.
#ifndef CPR_CLI_PRUNE_STRUCT_H
#define CPR_CLI_PRUNE_STRUCT_H

// 1 when argv names a structured method (--method flap ...).
int prune_struct_wanted(int argc, char **argv);
// The whole command. Exit status: 0, 1 data, 2 usage.
int prune_struct_main(int argc, char **argv);

#endif
