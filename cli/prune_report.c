// cli/prune_report.c: what `cprune prune` prints about a run on stdout
// (contract in cli/prune.h). Numbers come from struct prune_run; nothing
// here computes results.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/prune.h"
#include "methods/calib_compute.h"
#include "simd/kernels.h"

void prune_print_start(const struct prune_run *run, const struct cpr_model *m) {
    char opts_text[512], target_text[32];
    prune_opts_str(run->method, run->method_state, opts_text, sizeof opts_text);
    prune_target_str(&run->target, target_text, sizeof target_text);
    printf("model:     %s (%s, %lld layers, hidden %lld, %lld decoder-linear "
           "params)\n", m->source, m->format, (long long)m->cfg.n_layers,
           (long long)m->cfg.hidden,
           (long long)cpr_model_linear_params(m));
    printf("method:    %s, %s %s, options %s\n", run->method->name,
           run->target.nm_m ? "pattern" : "sparsity", target_text,
           opts_text[0] ? opts_text : "(none)");
    if (run->needs) {
        printf("calib:     %s%s%s, %s, seed %llu, %lld x %lld tokens (text "
               "%lld tokens, %zu document%s), windows sha256 %.16s..., "
               "activations %s, Hessian %s%s%s\n", run->calib_source,
               run->calib_split ? " / " : "",
               run->calib_split ? run->calib_split : "",
               cpr_calib_sampling_name(run->sampling),
               (unsigned long long)run->seed, (long long)run->nsamples,
               (long long)run->seqlen, (long long)run->calib_text_tokens,
               run->calib_docs, run->calib_docs == 1 ? "" : "s",
               run->calib_sha, run->calib_bf16 ? "bf16" : "f32",
               run->hessian_f64 ? "f64" : "f32",
               run->calib_compute ? ", compute " : "",
               run->calib_compute
                   ? cpr_calib_compute_name(
                         (enum cpr_calib_compute)run->calib_compute)
                   : "");
        printf("windows:   ");
        for (int64_t i = 0; i < run->win.nsamples; i++) {
            if (i == 8 && run->win.nsamples > 10) {
                printf(" ... (%lld more; all in --json)",
                       (long long)(run->win.nsamples - 8));
                break;
            }
            printf("%s%lld@%lld", i ? " " : "", (long long)run->win.doc[i],
                   (long long)run->win.start[i]);
        }
        printf("  (document@offset)\n");
    } else {
        printf("calib:     none (%s needs no statistics)\n", run->method->name);
    }
    printf("isa:       %s, threads %d\n", cpr_isa_name(cpr_kernels_isa()),
           run->threads);
    fflush(stdout);
}

void prune_print_pruned(const struct prune_run *run, const struct cpr_model *m) {
    const struct cpr_pipe_report *rep = &run->rep;
    printf("pruned:    sparsity %.6f over the decoder linears (%lld of %lld "
           "weights are zero); forward %.2f s, statistics %.2f s, pruning "
           "%.2f s\n", rep->sparsity, (long long)rep->zeros_total,
           (long long)rep->numel_total, rep->sec_forward, rep->sec_stats,
           rep->sec_prune);
    if (rep->sec_grad > 0 && cpr_method_allocates(run->method))
        printf("gradients: Hessian-trace pre-pass on the dense model (2 "
               "backward passes per probe and window) %.2f s\n",
               rep->sec_grad);
    else if (rep->sec_grad > 0)
        printf("gradients: dense gradient pre-pass (one backward pass per "
               "calibration window) %.2f s\n", rep->sec_grad);
    const int64_t pl = rep->per_layer, n_lin = rep->n_layers * pl;
    { // how far rows land from the per-row count int(cols * s)
        double sum = 0, mx = 0, n = 0;
        for (int64_t i = 0; i < n_lin; i++)
            if (rep->row_dev_mean && isfinite(rep->row_dev_mean[i])) {
                sum += rep->row_dev_mean[i] * (double)rep->numel[i];
                n += (double)rep->numel[i];
                if (rep->row_dev_max[i] > mx) mx = rep->row_dev_max[i];
            }
        if (n > 0)
            printf("rows:      per-row sparsity vs int(cols*s): mean |dev| "
                   "%.6f, max |dev| %.6f\n", sum / n, mx);
    }
    if (run->verbose)
        for (int64_t i = 0; i < n_lin; i++) {
            char re[32] = "n/a", sq[96] = "";
            if (rep->recon_err)
                snprintf(re, sizeof re, "%.6f", rep->recon_err[i]);
            if (rep->score_q && isfinite(rep->score_q[5 * i]))
                snprintf(sq, sizeof sq, "  score min/q1/med/q3/max %.3g %.3g "
                         "%.3g %.3g %.3g", rep->score_q[5 * i],
                         rep->score_q[5 * i + 1], rep->score_q[5 * i + 2],
                         rep->score_q[5 * i + 3], rep->score_q[5 * i + 4]);
            fprintf(stderr, "  layers.%lld.%-9s sparsity %.6f  recon_err %s%s\n",
                    (long long)(i / pl), rep->lin_name[i % pl],
                    rep->numel[i] ? (double)rep->zeros[i] / rep->numel[i] : 0.0,
                    re, sq);
        }
    if (rep->alloc) { // layer allocation: one target per block
        printf("allocation: dense scan %.2f s; targets (%s of each block; "
               "all in --json)", rep->sec_scan, rep->lin_name[0]);
        for (int64_t l = 0; l < m->cfg.n_layers; l++) {
            char tg[32];
            prune_target_str(&rep->alloc[l * pl], tg, sizeof tg);
            printf(" %s", tg);
        }
        printf("\n");
    }
    fflush(stdout);
}

int prune_block_patterns(const struct prune_run *run,
                         const struct cpr_model *m, char *buf, size_t cap) {
    const struct cpr_prune_target *a = run->rep.alloc;
    if (!a || !run->target.nm_m || !cap) return 0;
    int mixed = 0;
    const int64_t pl = run->rep.per_layer, n = m->cfg.n_layers * pl;
    for (int64_t i = 0; i < n; i++)
        mixed |= a[i].nm_n != run->target.nm_n || a[i].nm_m != run->target.nm_m;
    if (!mixed) return 0;
    size_t u = 0;
    buf[0] = 0;
    for (int64_t l = 0; l < m->cfg.n_layers && u < cap; l++) {
        char tg[32];
        const struct cpr_prune_target *t = &a[l * pl];
        if (t->nm_m) prune_target_str(t, tg, sizeof tg);
        else snprintf(tg, sizeof tg, "dense");
        int w = snprintf(buf + u, cap - u, "%s%s", l ? "," : "", tg);
        if (w < 0) break;
        u += (size_t)w;
    }
    return 1;
}
