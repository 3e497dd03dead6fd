// data/safetensors_set.h: the safetensors files of one Hugging Face model
// directory: either model.safetensors, or the shards listed in
// model.safetensors.index.json ("weight_map": tensor name -> shard file).
//
// Shard names must be plain file names in the same directory (no '/', no
// leading '.'); each shard is opened and validated once. A tensor is looked
// up in the shard the weight map names; a map entry whose shard lacks the
// tensor is a format error at open time.
#ifndef CPR_DATA_SAFETENSORS_SET_H
#define CPR_DATA_SAFETENSORS_SET_H

#include <stddef.h>

#include "core/status.h"
#include "core/tensor.h"
#include "data/json.h"
#include "data/safetensors.h"

struct cpr_st_set {
    char dir[1024];
    size_t n_files;
    struct cpr_safetensors *files;
    struct cpr_json_doc index;           // parsed index (sharded only)
    const struct cpr_json *weight_map;   // NULL for a single file
    size_t *map_file;                    // weight_map entry -> file index
};

// Open dir's weights. Errors: CPR_ERR_NOTFOUND (neither file present),
// CPR_ERR_FORMAT (index), any error of cpr_safetensors_open.
enum cpr_status cpr_st_set_open(struct cpr_st_set *s, const char *dir,
                                struct cpr_err *err);
// Accepts a zeroed or failed set.
void cpr_st_set_close(struct cpr_st_set *s);

// The file holding tensor `name`, or NULL.
const struct cpr_safetensors *cpr_st_set_locate(const struct cpr_st_set *s,
                                                const char *name);

// As cpr_safetensors_tensor, in whichever file holds it; NOTFOUND names
// the tensor and the directory.
enum cpr_status cpr_st_set_tensor(const struct cpr_st_set *s, const char *name,
                                  struct cpr_tensor *out, struct cpr_err *err);

#endif
