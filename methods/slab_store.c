// methods/slab_store.c: per-layer slabs in RAM or a scratch store (see
// slab_store.h).
#include "methods/slab_store.h"

#include <stdlib.h>
#include <string.h>

size_t cpr_slabs_ram_bytes(int64_t n_layers, const size_t *len, int store) {
    size_t sum = 0, most = 0;
    for (int64_t l = 0; l < n_layers; l++) {
        sum += len[l];
        if (len[l] > most) most = len[l];
    }
    return (store ? most : sum) * sizeof(float);
}

enum cpr_status cpr_slabs_init(struct cpr_slabs *s, int64_t n_layers,
                               const size_t *len,
                               const struct cpr_scratch_io *io,
                               struct cpr_err *err) {
    memset(s, 0, sizeof *s);
    s->io = io;
    s->n_layers = n_layers;
    s->cur = -1;
    const size_t nl = (size_t)(n_layers > 0 ? n_layers : 1);
    s->len = malloc(nl * sizeof *s->len);
    s->off = calloc(nl, sizeof *s->off);
    s->stored = calloc(nl, 1);
    s->ram = calloc(nl, sizeof *s->ram);
    if (!s->len || !s->off || !s->stored || !s->ram) goto nomem;
    uint64_t off = 0;
    size_t most = 0;
    for (int64_t l = 0; l < n_layers; l++) {
        s->len[l] = len[l];
        s->off[l] = off;
        off += (uint64_t)len[l] * sizeof(float);
        if (len[l] > most) most = len[l];
        if (!io && len[l] && !(s->ram[l] = calloc(len[l], sizeof(float))))
            goto nomem;
    }
    if (io && !(s->slab = malloc((most ? most : 1) * sizeof(float))))
        goto nomem;
    return CPR_OK;
nomem:;
    const size_t bytes = cpr_slabs_ram_bytes(n_layers, len, io != NULL);
    cpr_slabs_free(s);
    return cpr_err_set(err, CPR_ERR_NOMEM, "slab store: cannot allocate "
                       "%zu bytes of per-layer accumulators%s", bytes,
                       io ? " (one layer)" : " (try --grad-scratch DIR)");
}

void cpr_slabs_free(struct cpr_slabs *s) {
    if (!s) return;
    for (int64_t l = 0; s->ram && l < s->n_layers; l++) free(s->ram[l]);
    free(s->ram);
    free(s->len);
    free(s->off);
    free(s->stored);
    free(s->slab);
    memset(s, 0, sizeof *s);
    s->cur = -1;
}

enum cpr_status cpr_slabs_get(struct cpr_slabs *s, int64_t l, int write,
                              float **out, struct cpr_err *err) {
    if (l < 0 || l >= s->n_layers || !s->len[l])
        return cpr_err_set(err, CPR_ERR_ARG, "slab store: layer %lld has no "
                           "slab (%lld layers)", (long long)l,
                           (long long)s->n_layers);
    if (!s->io) {
        *out = s->ram[l];
        return CPR_OK;
    }
    if (s->cur != l) {
        if (s->cur >= 0 && s->dirty) {
            const size_t n = s->len[s->cur] * sizeof(float);
            CPR_TRY(s->io->write(s->io->user, s->off[s->cur], s->slab, n, err));
            s->bytes_written += n;
            s->stored[s->cur] = 1;
        }
        s->cur = -1;
        s->dirty = 0;
        const size_t n = s->len[l] * sizeof(float);
        if (s->stored[l]) {
            CPR_TRY(s->io->read(s->io->user, s->off[l], s->slab, n, err));
            s->bytes_read += n;
        } else {
            memset(s->slab, 0, n);
        }
        s->cur = l;
    }
    if (write) s->dirty = 1;
    *out = s->slab;
    return CPR_OK;
}
