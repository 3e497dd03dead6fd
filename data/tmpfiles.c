// data/tmpfiles.c: registry of temporary paths (contract in
// data/tmpfiles.h). Only unlink/rmdir and plain loops over static arrays,
// so the removal may run inside a signal handler.
#include "data/tmpfiles.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static char paths[CPR_TMP_MAX][CPR_TMP_PATH_MAX];
static volatile sig_atomic_t used[CPR_TMP_MAX]; // 0 free, 1 file, 2 dir
static volatile sig_atomic_t order[CPR_TMP_MAX];
static volatile sig_atomic_t next_order = 1;

// The files a cprune writer puts in an output directory.
static const char *const dir_files[] = {
    "model.safetensors", "config.json",           "tokenizer.bin",
    "tokenizer.json",    "tokenizer_config.json", "special_tokens_map.json",
    "tokenizer.model",   "added_tokens.json",     "generation_config.json"};

int cpr_tmp_register(const char *path, int is_dir) {
    const size_t n = strlen(path);
    if (n >= CPR_TMP_PATH_MAX) return -1;
    for (int i = 0; i < CPR_TMP_MAX; i++)
        if (!used[i]) {
            memcpy(paths[i], path, n + 1);
            order[i] = next_order++;
            used[i] = is_dir ? 2 : 1; // last: the path is complete
            return i;
        }
    return -1;
}

void cpr_tmp_unregister(int slot) {
    if (slot >= 0 && slot < CPR_TMP_MAX) used[slot] = 0;
}

int cpr_tmp_remove_dir(const char *dir) {
    char p[CPR_TMP_PATH_MAX + 32];
    size_t n = 0;
    while (dir[n] && n < CPR_TMP_PATH_MAX) n++;
    if (n >= CPR_TMP_PATH_MAX) return -1;
    for (size_t i = 0; i < sizeof dir_files / sizeof dir_files[0]; i++) {
        const size_t f = strlen(dir_files[i]);
        memcpy(p, dir, n);
        p[n] = '/';
        memcpy(p + n + 1, dir_files[i], f + 1);
        unlink(p);
    }
    return rmdir(dir);
}

int cpr_tmp_remove_all(void) {
    int count = 0;
    for (int pass = 1; pass <= 2; pass++) // files, then directories
        for (int i = 0; i < CPR_TMP_MAX; i++) {
            if (used[i] != pass) continue;
            if (pass == 1) unlink(paths[i]);
            else cpr_tmp_remove_dir(paths[i]);
            used[i] = 0;
            count++;
        }
    return count;
}

const char *cpr_tmp_first(void) {
    int best = -1;
    for (int i = 0; i < CPR_TMP_MAX; i++)
        if (used[i] && (best < 0 || order[i] < order[best])) best = i;
    return best < 0 ? NULL : paths[best];
}
