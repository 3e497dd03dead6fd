// cli/interrupt.h: SIGINT/SIGTERM handling for commands that write files.
// The handler removes every temporary path the writers registered
// (data/tmpfiles.h), says on stderr what was interrupted and what was
// removed, and exits 130 (SIGINT) or 143 (SIGTERM), the shell's 128 + N.
#ifndef CPR_CLI_INTERRUPT_H
#define CPR_CLI_INTERRUPT_H

// Install the handlers; `cmd` ("prune") names the command in the message
// and must outlive the process (a string literal).
void cli_interrupt_install(const char *cmd);

// What the command is doing now ("pruning", "evaluating"), named in the
// message when no file is being written; NULL = nothing said. `what` must
// stay valid until replaced (a string literal).
void cli_interrupt_phase(const char *what);

#endif
