// cli/sweep_exec.c: child processes for the sweep (see sweep_exec.h).
#include "cli/sweep_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t caught = 0;
static volatile sig_atomic_t child_pid = 0; // the sweep_exec child, else 0

static void on_signal(int sig) {
    if (!caught) caught = sig;
    const pid_t pid = (pid_t)child_pid;
    if (pid > 0) kill(pid, sig);
}

void sweep_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int sweep_signal_caught(void) { return (int)caught; }

void sweep_self_path(char *buf, size_t cap) {
    // Not the path readlink() gives: exec of /proc/self/exe runs the very
    // file this process runs, even after a rebuild replaced it on disk, so
    // a long sweep never mixes two versions of the program.
    snprintf(buf, cap, "%s", access("/proc/self/exe", X_OK) == 0
                                 ? "/proc/self/exe"
                                 : "cprune");
}

// In the child: put fd `from` (opened from path, or /dev/null) on `to`.
static void redirect(const char *path, int flags, int to) {
    int fd = open(path ? path : "/dev/null", flags, 0666);
    if (fd < 0) fd = open("/dev/null", flags);
    if (fd >= 0 && fd != to) {
        dup2(fd, to);
        close(fd);
    }
}

static void child_exec(char *const argv[]) {
    if (strchr(argv[0], '/')) execv(argv[0], argv);
    else execvp(argv[0], argv);
    fprintf(stderr, "cprune sweep: cannot run %s: %s\n", argv[0],
            strerror(errno));
    _exit(127);
}

static enum cpr_status reap(pid_t pid, struct sweep_exit *ex,
                            struct cpr_err *err) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return cpr_err_set(err, CPR_ERR_IO, "waitpid failed: %s",
                               strerror(errno));
    if (WIFEXITED(st)) *ex = (struct sweep_exit){WEXITSTATUS(st), 0};
    else *ex = (struct sweep_exit){-1, WIFSIGNALED(st) ? WTERMSIG(st) : 0};
    return CPR_OK;
}

enum cpr_status sweep_exec(char *const argv[], const char *out_path,
                           const char *err_path, struct sweep_exit *ex,
                           struct cpr_err *err) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return cpr_err_set(err, CPR_ERR_IO, "fork failed: %s",
                           strerror(errno));
    if (pid == 0) {
        struct sigaction dfl; // the child takes the usual dispositions
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(SIGINT, &dfl, NULL);
        sigaction(SIGTERM, &dfl, NULL);
        redirect(NULL, O_RDONLY, 0);
        redirect(out_path, O_WRONLY | O_CREAT | O_APPEND, 1);
        redirect(err_path, O_WRONLY | O_CREAT | O_APPEND, 2);
        child_exec(argv);
    }
    child_pid = (sig_atomic_t)pid;
    if (caught) kill(pid, (int)caught); // came between fork and here
    enum cpr_status s = reap(pid, ex, err);
    child_pid = 0;
    return s;
}

enum cpr_status sweep_exec_capture(char *const argv[], char *buf, size_t cap,
                                   struct sweep_exit *ex,
                                   struct cpr_err *err) {
    int p[2];
    if (pipe(p) != 0)
        return cpr_err_set(err, CPR_ERR_IO, "pipe failed: %s",
                           strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return cpr_err_set(err, CPR_ERR_IO, "fork failed: %s",
                           strerror(errno));
    }
    if (pid == 0) {
        close(p[0]);
        redirect(NULL, O_RDONLY, 0);
        dup2(p[1], 1);
        close(p[1]);
        redirect(NULL, O_WRONLY, 2);
        child_exec(argv);
    }
    close(p[1]);
    size_t used = 0;
    char sink[512];
    for (;;) { // read to EOF so the child never blocks on a full pipe
        char *dst = used + 1 < cap ? buf + used : sink;
        size_t room = used + 1 < cap ? cap - 1 - used : sizeof sink;
        ssize_t r = read(p[0], dst, room);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (dst != sink) used += (size_t)r;
    }
    close(p[0]);
    if (cap) buf[used] = 0;
    return reap(pid, ex, err);
}
