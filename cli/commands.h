// cli/commands.h: the subcommands of the cprune program. Each takes the
// arguments after its name and returns the process exit status
// (0 ok, 1 failure, 2 usage error).
#ifndef CPR_CLI_COMMANDS_H
#define CPR_CLI_COMMANDS_H

// The toolkit version, recorded in every result file.
#define CPRUNE_VERSION "0.1.0"

int cmd_info(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_methods(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_tasks(int argc, char **argv);
int cmd_compress(int argc, char **argv);
int cmd_decompress(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_convert(int argc, char **argv);

#endif
