// core/rng.c: xoshiro256** + splitmix64 seeding (algorithm in rng.h).
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void cpr_rng_seed(struct cpr_rng *r, uint64_t seed) {
    uint64_t st = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&st);
}

uint64_t cpr_rng_u64(struct cpr_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float cpr_rng_uniform_f32(struct cpr_rng *r) {
    return (float)(cpr_rng_u64(r) >> 40) * 0x1.0p-24f;
}

double cpr_rng_uniform_f64(struct cpr_rng *r) {
    return (double)(cpr_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t cpr_rng_below(struct cpr_rng *r, uint64_t n) {
    // Reject the 2^64 mod n lowest draws, then reduce: unbiased (the
    // arc4random_uniform construction). Expected draws < 2.
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = cpr_rng_u64(r);
        if (x >= threshold) return x % n;
    }
}

double cpr_rng_normal(struct cpr_rng *r) {
    double u1 = 1.0 - cpr_rng_uniform_f64(r); // (0, 1]
    double u2 = cpr_rng_uniform_f64(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}
