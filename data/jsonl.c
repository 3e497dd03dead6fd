// data/jsonl.c: whole-line appends under flock (contract in data/jsonl.h).
//
// flock() is BSD, not POSIX: glibc declares it only with _DEFAULT_SOURCE.
// It is used rather than fcntl record locks because those are per process
// and silently released when any descriptor of the file is closed.
#define _DEFAULT_SOURCE
#include "data/jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static enum cpr_status io_error(const char *path, const char *what,
                                struct cpr_err *err) {
    return cpr_err_set(err, CPR_ERR_IO, "%s: %s failed: %s", path, what,
                       strerror(errno));
}

enum cpr_status cpr_jsonl_append(const char *path, const char *line,
                                 size_t len, struct cpr_err *err) {
    if (memchr(line, '\n', len))
        return cpr_err_set(err, CPR_ERR_ARG, "%s: a JSON line must not "
                           "contain a newline", path);
    char *buf = malloc(len + 1); // line + '\n' for a single write()
    if (!buf)
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: cannot allocate %zu "
                           "bytes", path, len + 1);
    memcpy(buf, line, len);
    buf[len] = '\n';
    enum cpr_status s = CPR_OK;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0666);
    if (fd < 0) {
        s = io_error(path, "open", err);
        goto out;
    }
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            s = io_error(path, "flock", err);
            goto out;
        }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        s = io_error(path, "fstat", err);
        goto out;
    }
    ssize_t w;
    do w = write(fd, buf, len + 1);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)(len + 1)) {
        s = w < 0 ? io_error(path, "write", err)
                  : cpr_err_set(err, CPR_ERR_IO, "%s: short write (%zd of "
                                "%zu bytes; disk full?)", path, w, len + 1);
        if (w > 0 && ftruncate(fd, st.st_size) != 0) { // keep lines whole
            // nothing more to do: the message above already says why
        }
    }
out:
    if (fd >= 0) close(fd); // releases the lock
    free(buf);
    return s;
}
