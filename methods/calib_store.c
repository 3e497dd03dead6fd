// methods/calib_store.c: the calibration activation buffer in RAM or
// mapped from a scratch store (contract in calib_store.h).
#include "methods/calib_store.h"

#include <stdio.h>
#include <stdlib.h>

enum cpr_status cpr_calib_store_alloc(struct cpr_calib_store *s, size_t bytes,
                                      const struct cpr_scratch_io *io,
                                      struct cpr_err *err) {
    s->data = NULL;
    s->bytes = 0;
    s->io = NULL;
    if (!io) {
        s->data = malloc(bytes ? bytes : 1);
        if (!s->data)
            return cpr_err_set(err, CPR_ERR_NOMEM, "calibration "
                               "activations: %zu bytes in RAM (--calib-store "
                               "disk puts them in a scratch file)", bytes);
        s->bytes = bytes;
        return CPR_OK;
    }
    if (!io->map || !io->unmap)
        return cpr_err_set(err, CPR_ERR_ARG, "--calib-store disk: the "
                           "scratch store cannot map its bytes");
    void *p = NULL;
    const enum cpr_status st = io->map(io->user, bytes, &p, err);
    if (st) { // say what the bytes were for
        char why[sizeof err->msg] = "";
        if (err) snprintf(why, sizeof why, "%s", err->msg);
        return cpr_err_set(err, st, "--calib-store disk: calibration "
                           "activations: %s", why);
    }
    s->data = p;
    s->bytes = bytes;
    s->io = io;
    return CPR_OK;
}

void cpr_calib_store_free(struct cpr_calib_store *s) {
    if (s->io) s->io->unmap(s->io->user, s->data, s->bytes);
    else free(s->data);
    s->data = NULL;
    s->bytes = 0;
    s->io = NULL;
}
