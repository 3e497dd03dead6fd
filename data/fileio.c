// data/fileio.c: mmap, whole-file reads, atomic writes (see data/fileio.h).
// madvise(MADV_HUGEPAGE) is Linux/BSD, not POSIX: glibc declares it only
// with _DEFAULT_SOURCE (which keeps everything POSIX 2008 declares).
#undef _POSIX_C_SOURCE
#define _DEFAULT_SOURCE
#include "data/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/tmpfiles.h"

static enum cpr_status open_error(const char *path, const char *what,
                                  struct cpr_err *err) {
    int e = errno;
    return cpr_err_set(err, e == ENOENT ? CPR_ERR_NOTFOUND : CPR_ERR_IO,
                       "%s: %s failed: %s", path, what, strerror(e));
}

// Mappings at least this long are advised as huge pages (see below).
#define FILE_HUGE_MIN ((size_t)4 << 20)

enum cpr_status cpr_file_map(struct cpr_mapped_file *f, const char *path,
                             struct cpr_err *err) {
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return open_error(path, "open", err);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        enum cpr_status s = open_error(path, "fstat", err);
        close(fd);
        return s;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return cpr_err_set(err, CPR_ERR_IO, "%s: not a regular file", path);
    }
    f->dev = (uint64_t)st.st_dev;
    f->ino = (uint64_t)st.st_ino;
    f->size = (size_t)st.st_size;
    if (f->size > 0) {
        void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            enum cpr_status s = open_error(path, "mmap", err);
            close(fd);
            memset(f, 0, sizeof *f);
            return s;
        }
        f->data = p;
#if defined(MADV_HUGEPAGE)
        // Weights are streamed row by row from mappings far larger than
        // the TLB's reach (a 7B model: 13.5 GB). Advised huge, the kernel
        // fills the page cache with 2 MiB folios on this mapping's faults
        // (where the file system supports large folios) and maps them with
        // one PMD entry each instead of 512 PTEs, so GEMM packing that
        // walks across rows misses the TLB far less. Pages another reader
        // already cached stay as they are. Advice only: refused or
        // unsupported, the mapping keeps 4 KiB pages and the same bytes.
        if (f->size >= FILE_HUGE_MIN) (void)madvise(p, f->size, MADV_HUGEPAGE);
#endif
    }
    close(fd); // the mapping keeps the file alive
    return CPR_OK;
}

void cpr_file_unmap(struct cpr_mapped_file *f) {
    if (f->data) munmap((void *)f->data, f->size);
    memset(f, 0, sizeof *f);
}

enum cpr_status cpr_file_read_all(const char *path, size_t max_bytes,
                                  char **buf, size_t *len,
                                  struct cpr_err *err) {
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return open_error(path, "open", err);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cpr_err_set(err, CPR_ERR_IO, "%s: not a readable regular file",
                           path);
    }
    if ((uint64_t)st.st_size > (uint64_t)max_bytes) {
        close(fd);
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: file is %lld bytes, more than the %zu allowed",
                           path, (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    char *b = malloc(n + 1);
    if (!b) {
        close(fd);
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                           path, n + 1);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            enum cpr_status s = r < 0 ? open_error(path, "read", err)
                                      : cpr_err_set(err, CPR_ERR_IO,
                                                    "%s: file shrank while reading", path);
            free(b);
            close(fd);
            return s;
        }
        got += (size_t)r;
    }
    close(fd);
    b[n] = 0;
    *buf = b;
    *len = n;
    return CPR_OK;
}

int cpr_path_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cpr_path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cpr_file_identity(const char *path, uint64_t *dev, uint64_t *ino) {
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}

enum cpr_status cpr_path_join(char *out, size_t cap, const char *dir,
                              const char *name, struct cpr_err *err) {
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] != '/';
    int n = snprintf(out, cap, "%s%s%s", dir, slash ? "/" : "", name);
    if (n < 0 || (size_t)n >= cap)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "path too long: %s/%s (limit %zu bytes)", dir, name,
                           cap - 1);
    return CPR_OK;
}

// ---- atomic writes ----

enum cpr_status cpr_atomic_open(struct cpr_atomic_file *af, const char *path,
                                struct cpr_err *err) {
    memset(af, 0, sizeof *af);
    af->fd = -1;
    int n = snprintf(af->path, sizeof af->path, "%s", path);
    if (n < 0 || (size_t)n >= sizeof af->path)
        return cpr_err_set(err, CPR_ERR_ARG, "output path too long: %s", path);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp.XXXXXX", path);
    af->fd = mkstemp(af->tmp);
    if (af->fd < 0) {
        af->tmp[0] = 0;
        return cpr_err_set(err, CPR_ERR_IO,
                           "%s: cannot create a temporary file beside it: %s",
                           path, strerror(errno));
    }
    af->reg = cpr_tmp_register(af->tmp, 0) + 1;
    // mkstemp creates 0600; outputs are ordinary files.
    (void)fchmod(af->fd, 0644);
    return CPR_OK;
}

enum cpr_status cpr_atomic_write(struct cpr_atomic_file *af, const void *data,
                                 size_t len, struct cpr_err *err) {
    const char *p = data;
    while (len > 0) {
        size_t chunk = len > ((size_t)1 << 30) ? (size_t)1 << 30 : len;
        ssize_t w = write(af->fd, p, chunk);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return cpr_err_set(err, CPR_ERR_IO, "%s: write failed: %s",
                               af->tmp, w < 0 ? strerror(errno) : "no progress");
        p += w;
        len -= (size_t)w;
    }
    return CPR_OK;
}

static void fsync_parent(const char *path) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = 0;
    else if (slash) *slash = 0;
    else strcpy(dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd); // best effort: some file systems refuse it
        close(fd);
    }
}

// CPRUNE_TEST_COMMIT_DELAY_MS (tests only): sleep this long before each
// commit, so a test can interrupt a write while its temporary file exists.
static void test_delay(void) {
    const char *v = getenv("CPRUNE_TEST_COMMIT_DELAY_MS");
    long ms = v ? strtol(v, NULL, 10) : 0;
    if (ms > 0 && ms < 600000) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    }
}

enum cpr_status cpr_atomic_commit(struct cpr_atomic_file *af,
                                  struct cpr_err *err) {
    enum cpr_status s = CPR_OK;
    test_delay();
    if (fsync(af->fd) != 0)
        s = cpr_err_set(err, CPR_ERR_IO, "%s: fsync failed: %s", af->tmp,
                        strerror(errno));
    if (close(af->fd) != 0 && s == CPR_OK)
        s = cpr_err_set(err, CPR_ERR_IO, "%s: close failed: %s", af->tmp,
                        strerror(errno));
    af->fd = -1;
    if (s == CPR_OK && rename(af->tmp, af->path) != 0)
        s = cpr_err_set(err, CPR_ERR_IO, "rename %s -> %s failed: %s", af->tmp,
                        af->path, strerror(errno));
    if (s != CPR_OK) unlink(af->tmp);
    cpr_tmp_unregister(af->reg - 1);
    af->reg = 0;
    af->tmp[0] = 0;
    if (s != CPR_OK) return s;
    fsync_parent(af->path);
    return CPR_OK;
}

void cpr_atomic_abort(struct cpr_atomic_file *af) {
    if (af->fd > 0) close(af->fd);
    af->fd = -1;
    if (af->tmp[0]) unlink(af->tmp);
    cpr_tmp_unregister(af->reg - 1);
    af->reg = 0;
    af->tmp[0] = 0;
}

enum cpr_status cpr_file_write_atomic(const char *path, const void *data,
                                      size_t len, struct cpr_err *err) {
    struct cpr_atomic_file af;
    enum cpr_status s = cpr_atomic_open(&af, path, err);
    if (s != CPR_OK) return s;
    s = cpr_atomic_write(&af, data, len, err);
    if (s == CPR_OK) return cpr_atomic_commit(&af, err);
    cpr_atomic_abort(&af);
    return s;
}
