// data/tmpfiles.h: the temporary paths a writer has on disk right now, so
// that a signal handler can remove them (an interrupted `cprune prune
// --out` leaves no OUT.tmp.* directory or *.tmp.* file behind).
//
// The writers of data/ register each temporary file (cpr_atomic_open) and
// each temporary output directory (cpr_model_save_hf) and unregister it
// once it is renamed into place or removed. The registry is a fixed static
// array: registering never allocates, and cpr_tmp_remove_all uses only
// unlink and rmdir, so it may be called from a signal handler.
//
// This is global mutable state, against HOUSE_STYLE C.9, on purpose: a
// signal handler cannot be passed a context, so the paths it must remove
// have to be reachable from a static. Nothing else reads it.
//
// Not thread-safe for concurrent registration: the writers run on the
// thread that called them, one at a time (the CLI writes sequentially).
#ifndef CPR_DATA_TMPFILES_H
#define CPR_DATA_TMPFILES_H

#include <stddef.h>

#define CPR_TMP_MAX 32
#define CPR_TMP_PATH_MAX 1100

// Register a temporary file (is_dir 0) or directory (is_dir 1). Returns the
// slot (>= 0), or -1 when the path is too long or all slots are used (the
// write still works; only the cleanup on a signal misses that path).
int cpr_tmp_register(const char *path, int is_dir);

// Forget slot (no-op for -1). The path itself is left alone.
void cpr_tmp_unregister(int slot);

// Remove a temporary output directory: the files a cprune writer puts in
// one (model.safetensors, config.json, tokenizer files), then the directory
// itself. Async-signal-safe. Returns 0 when the directory is gone.
int cpr_tmp_remove_dir(const char *dir);

// Remove every registered path (files first, then directories) and clear
// the registry. Async-signal-safe. Returns how many paths were registered.
int cpr_tmp_remove_all(void);

// The registered path of the oldest slot in use, or NULL (for messages;
// valid until the slot is unregistered).
const char *cpr_tmp_first(void);

#endif
