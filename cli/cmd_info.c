// cli/cmd_info.c: `cprune info`: CPU features found, the ISA chosen for
// each kernel, and the thread count.
#include <stdio.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/pool.h"
#include "simd/kernels.h"

int cmd_info(int argc, char **argv) {
    struct cli_opt opts[] = {
        {"threads", 1, "threads the pool would use (default: all CPUs)", NULL},
    };
    size_t n_opts = sizeof opts / sizeof opts[0];
    int rc = cli_parse(argc, argv, opts, n_opts, "info", "cprune info [--threads N]");
    if (rc) return rc == 1 ? 0 : 2;
    long long threads = (long long)cpr_cpu_count();
    const char *tv = cli_get(opts, n_opts, "threads");
    if (tv && cli_int("info", "threads", tv, 1, 1024, &threads)) return 2;

    const struct cpr_cpu_features *f = cpr_cpu_features();
    const struct cpr_kernels *k = cpr_kernels_get();
    printf("cpu:      %s\n", f->brand[0] ? f->brand : "(unknown)");
    printf("features: avx2+fma+f16c=%s avx512(f,bw,dq,vl)=%s avx512_bf16=%s "
           "neon=%s\n", f->avx2 ? "yes" : "no", f->avx512 ? "yes" : "no",
           f->avx512bf16 ? "yes" : "no", f->neon ? "yes" : "no");
    printf("isa:      %s (best available: %s; cap with CPRUNE_ISA)\n",
           cpr_isa_name(cpr_kernels_isa()),
           cpr_isa_name(cpr_isa_best(CPR_ISA_COUNT - 1)));
    if (cpr_kernels_env_note()[0]) printf("note:     %s\n", cpr_kernels_env_note());
    printf("threads:  %lld (online CPUs: %zu)\n", threads, cpr_cpu_count());
    printf("kernels:\n");
    for (size_t s = 0; s < cpr_kernel_slot_count(); s++)
        printf("  %-22s %s\n", cpr_kernel_slot_names[s],
               cpr_isa_name(k->slot_isa[s]));
    return 0;
}
