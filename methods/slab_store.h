// methods/slab_store.h: one float array ("slab") per layer, either all in
// RAM or in a scratch store (core/scratch_io.h, e.g. data/scratch_file.h's
// unlinked temporary file) with one slab in RAM at a time, for per-weight
// accumulators too big for RAM on 7B models (LLM-Pruner's acc = sum g^2/n,
// 4 bytes per weight of the layers in range).
//
// cpr_slabs_get(l) makes layer l's slab resident: in store mode the
// resident slab is written back first if it was taken for writing, and
// layer l's is read (a slab never written reads as zeros without I/O).
// The pointer stays valid until the next cpr_slabs_get (store mode) or
// cpr_slabs_free. Visiting the layers in one order per pass (the backward
// pass goes L-1 .. 0) moves each slab once per pass.
#ifndef CPR_METHODS_SLAB_STORE_H
#define CPR_METHODS_SLAB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/scratch_io.h"
#include "core/status.h"

struct cpr_slabs {
    const struct cpr_scratch_io *io; // NULL: all in RAM
    int64_t n_layers;
    size_t *len;            // floats of layer l (0: no slab)
    uint64_t *off;          // store mode: byte offset of layer l
    float **ram;            // RAM mode: layer l's slab
    float *slab;            // store mode: the resident slab
    int64_t cur;            // resident layer, -1 none
    int dirty;              // the resident slab was taken for writing
    unsigned char *stored;  // layer l's slab is in the store
    uint64_t bytes_read, bytes_written;
};

// len[l] floats for layer l (copied). Errors: CPR_ERR_NOMEM (with bytes).
enum cpr_status cpr_slabs_init(struct cpr_slabs *s, int64_t n_layers,
                               const size_t *len,
                               const struct cpr_scratch_io *io,
                               struct cpr_err *err);
void cpr_slabs_free(struct cpr_slabs *s);

// Layer l's slab (zeros until written) in *out; write = 1 if the caller
// changes it. Errors: CPR_ERR_ARG (l, or a layer without a slab), the
// store's.
enum cpr_status cpr_slabs_get(struct cpr_slabs *s, int64_t l, int write,
                              float **out, struct cpr_err *err);

// Bytes in RAM: every slab (RAM mode) or the largest (store mode).
size_t cpr_slabs_ram_bytes(int64_t n_layers, const size_t *len, int store);

#endif
