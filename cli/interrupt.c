// cli/interrupt.c: SIGINT/SIGTERM -> remove registered temporary paths,
// report, _exit(128 + signal) (contract in cli/interrupt.h). The handler
// uses only async-signal-safe calls: write, unlink, rmdir, _exit.
#include "cli/interrupt.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "data/tmpfiles.h"

static const char *cmd_name = "";
static const char *volatile phase = NULL;

void cli_interrupt_phase(const char *what) { phase = what; }

static void put(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void on_signal(int sig) {
    const char *first = cpr_tmp_first();
    put("\ncprune ");
    put(cmd_name);
    put(sig == SIGINT ? ": interrupted (SIGINT)" : ": terminated (SIGTERM)");
    if (first) {
        put(" while writing ");
        put(first);
        put("; temporary files removed, the output was not written\n");
    } else {
        const char *p = phase;
        if (p) {
            put(" while ");
            put(p);
        }
        put("; no output was being written\n");
    }
    cpr_tmp_remove_all();
    _exit(128 + sig);
}

void cli_interrupt_install(const char *cmd) {
    cmd_name = cmd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
