// core/rope_table.c: RoPE frequency and cos/sin tables (see rope_table.h).
#include "core/rope_table.h"

#include <math.h>

enum cpr_status cpr_rope_inv_freq(const struct cpr_model_config *c,
                                  float *inv_freq, struct cpr_err *err) {
    // partial rotary (GPT-NeoX): frequencies over the rotated dims only
    const int64_t rd = c->block.rotary_dim > 0 ? c->block.rotary_dim
                                               : c->head_dim;
    int64_t half = rd / 2;
    float base = (float)c->rope_theta;
    float dim = (float)rd;
    for (int64_t i = 0; i < half; i++)
        inv_freq[i] = 1.0f / powf(base, (float)(2 * i) / dim);
    if (c->rope_scaling != CPR_ROPE_SCALING_LLAMA3) return CPR_OK;

    double factor = c->rope_factor, lff = c->rope_low_freq_factor;
    double hff = c->rope_high_freq_factor, old = (double)c->rope_orig_context;
    if (!(factor > 0) || !(lff > 0) || !(hff > lff) || !(old > 0) ||
        !isfinite(factor) || !isfinite(hff))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "rope_scaling llama3: need factor > 0, "
                           "high_freq_factor > low_freq_factor > 0 and "
                           "original_max_position_embeddings > 0 (found "
                           "%g, %g, %g, %g)", factor, hff, lff, old);
    // HF (modeling_rope_utils._compute_llama3_parameters), in float32:
    //   wavelen = 2*pi / inv_freq        (torch: reciprocal(inv) * 2pi)
    //   inv_l = where(wavelen > low_wl, inv / factor, inv)
    //   smooth = (old / wavelen - lff) / (hff - lff)
    //   smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    //   medium = !(wavelen < high_wl) && !(wavelen > low_wl)
    //   inv = where(medium, smoothed, inv_l)
    float low_wl = (float)(old / lff), high_wl = (float)(old / hff);
    float f_factor = (float)factor, f_lff = (float)lff;
    float f_span = (float)(hff - lff), f_old = (float)old;
    float two_pi = (float)(2.0 * 3.14159265358979323846);
    for (int64_t i = 0; i < half; i++) {
        float inv = inv_freq[i];
        float wavelen = (1.0f / inv) * two_pi;
        float inv_l = wavelen > low_wl ? inv / f_factor : inv;
        float smooth = ((1.0f / wavelen) * f_old - f_lff) / f_span;
        float smoothed = (1.0f - smooth) * inv_l / f_factor + smooth * inv_l;
        int medium = !(wavelen < high_wl) && !(wavelen > low_wl);
        inv_freq[i] = medium ? smoothed : inv_l;
    }
    return CPR_OK;
}

enum cpr_status cpr_rope_table_build(const struct cpr_model_config *c,
                                     int64_t seqlen, float *cos_out,
                                     float *sin_out, struct cpr_err *err) {
    int64_t half = (c->block.rotary_dim > 0 ? c->block.rotary_dim
                                            : c->head_dim) / 2;
    // The first row of cos_out holds inv_freq while it is needed (p = 0
    // is written last).
    float *inv = cos_out;
    CPR_TRY(cpr_rope_inv_freq(c, inv, err));
    for (int64_t p = seqlen - 1; p >= 0; p--) {
        for (int64_t i = 0; i < half; i++) {
            float angle = (float)p * inv[i];
            cos_out[p * half + i] = cosf(angle);
            sin_out[p * half + i] = sinf(angle);
        }
    }
    return CPR_OK;
}
