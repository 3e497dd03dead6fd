// core/rng.h: the reproducible random generator.
//
// Algorithm (fixed forever, so seeds reproduce across versions and
// platforms): xoshiro256** 1.0 (Blackman & Vigna, 2018). The 256-bit state
// is seeded from a 64-bit seed by four successive outputs of splitmix64
// (state += 0x9e3779b97f4a7c15; z = state; z = (z ^ z>>30) *
// 0xbf58476d1ce4e5b9; z = (z ^ z>>27) * 0x94d049bb133111eb; z ^ z>>31).
// Derived draws:
//   uniform_f32: (u64 >> 40) * 2^-24, in [0, 1)
//   uniform_f64: (u64 >> 11) * 2^-53, in [0, 1)
//   below(n):    draws x until x >= 2^64 mod n, returns x mod n (unbiased)
//   normal:      Box-Muller on two uniform_f64 draws (u1 mapped to (0,1]),
//                returning the cosine branch only (one normal per 2 draws)
// State is passed explicitly; there is no global generator.
#ifndef CPR_CORE_RNG_H
#define CPR_CORE_RNG_H

#include <stdint.h>

struct cpr_rng {
    uint64_t s[4];
};

void cpr_rng_seed(struct cpr_rng *r, uint64_t seed);
uint64_t cpr_rng_u64(struct cpr_rng *r);
float cpr_rng_uniform_f32(struct cpr_rng *r);
double cpr_rng_uniform_f64(struct cpr_rng *r);
uint64_t cpr_rng_below(struct cpr_rng *r, uint64_t n); // n >= 1
double cpr_rng_normal(struct cpr_rng *r);

#endif
