// cli/sweep_exec.h: running one sweep cell as a child process of the same
// program, so that a crash (or an exit()) in one cell cannot take the
// sweep down. Plain fork + exec + waitpid; no shell is involved, so paths
// with blanks or quotes pass through unchanged.
#ifndef CPR_CLI_SWEEP_EXEC_H
#define CPR_CLI_SWEEP_EXEC_H

#include <stddef.h>

#include "core/status.h"

// The program to exec for a cell: "/proc/self/exe" (the running binary
// itself, even if the file was replaced since) where /proc exists, else
// "cprune" (then found through PATH). Writes at most cap bytes.
void sweep_self_path(char *buf, size_t cap);

// How a child ended.
struct sweep_exit {
    int code;   // exit status (0..255), or -1 when killed by a signal
    int signal; // the signal that killed it, else 0
};

// Run argv (argv[0] = program, NULL-terminated) with stdin from /dev/null,
// stdout appended to out_path and stderr to err_path (NULL: /dev/null).
// Waits for it. Returns CPR_OK when the child was started and reaped,
// whatever its exit (see *ex); CPR_ERR_IO when fork/waitpid failed. A
// failing exec shows up as exit code 127 with a message in err_path.
enum cpr_status sweep_exec(char *const argv[], const char *out_path,
                           const char *err_path, struct sweep_exit *ex,
                           struct cpr_err *err);

// Run argv and capture its stdout (at most cap-1 bytes, NUL-terminated;
// the rest is read and dropped). stderr goes to /dev/null.
enum cpr_status sweep_exec_capture(char *const argv[], char *buf, size_t cap,
                                   struct sweep_exit *ex,
                                   struct cpr_err *err);

// SIGINT / SIGTERM for the sweep: the handler records the signal and
// passes it on to the child running now (sweep_exec), which is then
// reaped as usual; the caller asks sweep_signal_caught() after each child
// and between cells, records nothing for the interrupted cell and exits
// 128 + the signal. Unlike cli/interrupt.h (which _exits at once), the
// sweep must outlive the signal long enough to reap its child.
void sweep_signals_install(void);

// The signal caught since sweep_signals_install (SIGINT or SIGTERM; the
// first one wins), else 0.
int sweep_signal_caught(void);

#endif
