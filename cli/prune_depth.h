// cli/prune_depth.h: `cprune prune --method shortgpt`: depth pruning
// (methods/depth.h) has its own small command line: layers are scored on
// calibration windows and removed (core/model_edit.h), the achieved
// parameter counts are reported exactly, the smaller model is written and
// evaluated. cli/cmd_prune.c hands over when --method names a depth
// method.
#ifndef CPR_CLI_PRUNE_DEPTH_H
#define CPR_CLI_PRUNE_DEPTH_H

// 1 when argv's --method value is a depth method ("shortgpt").
int prune_depth_wanted(int argc, char **argv);

// 1 when name is a depth method.
int prune_depth_is_method(const char *name);

// The depth methods as `cprune methods` lists them.
void prune_depth_list(void);

// Exit status: 0, 1 (data or environment), 2 (usage).
int prune_depth_main(int argc, char **argv);

#endif
