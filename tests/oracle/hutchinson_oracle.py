#!/usr/bin/python3
"""tests/oracle/hutchinson_oracle.py: exact Hessian traces and exact
Hutchinson samples of the full-model cross-entropy on stories260K, for
methods/hutchinson.c (mixed --sensitivity hutchinson).

Written from the semantics of talkking/MixGPT Myhessian.py (Hessian.trace,
after PyHessian: Rademacher v over the parameters, Hv by double backward
(torch.autograd.grad of the gradient with grad_outputs = v), per parameter
sample sum(v * Hv), result |mean| / numel) and dataloader_hv_product (one
HVP per window, averaged over windows), not from the C code. The model is
ppl_oracle.forward (HF LLaMA semantics) in float64 on the f32 weights.

Probes: the C side draws v from a counter-based hash (splitmix64 finalizer
of (seed, probe, linear, element / 64), bit element % 64: 1 = -1); this
file reproduces it, so sample i of probe p is the same quantity on both
sides, exact here and by central finite differences of f32 gradients in C.

Windows: NWIN windows of SEQ tokens (BOS then uniform ids, numpy seed
2026). Parameters probed: the 35 decoder linears (5 layers x q, k, v, o,
gate, up, down, the C linear table's order); embeddings and norms are not.

Writes tests/fixtures/hutchinson_oracle.bin (CPRMFIX1, as grad_oracle.py):
  tokens (NWIN, SEQ) as floats; meta (1, 4) = seed, probes, n_lin, stop
  (the probe count after which the official tol = 1e-3 rule stops, over
  these exact samples); samples (probes, n_lin) = v_i . (H v)_i exact;
  exact_trace (1, 1) = Tr H of L0.k, the sum of e_i . H e_i over its
  2048 unit vectors (batched double-backward HVPs).
Run by hand (about a minute): python3 tests/oracle/hutchinson_oracle.py
"""
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppl_oracle  # noqa: E402

NWIN, SEQ, SEED, PROBES, TOL = 2, 16, 7, 64, 1e-3
KEYS = ["wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down"]
M64 = (1 << 64) - 1


def mix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def probe(seed, it, lin, shape):
    """The C probe (methods/hutchinson.c cpr_hutch_sign) as a float64 tensor."""
    key = mix64((mix64((mix64(seed) + it) & M64) + lin) & M64)
    n = int(np.prod(shape))
    words = [mix64((key + w) & M64) for w in range((n + 63) // 64)]
    bits = np.unpackbits(np.array(words, dtype="<u8").view(np.uint8),
                         bitorder="little")[:n]
    return torch.tensor(1.0 - 2.0 * bits.astype(np.float64)).reshape(shape)


def main():
    torch.set_num_threads(2)
    root = os.environ.get("CPRUNE_DATA", "/work/shared")
    cfg, W = ppl_oracle.load_llama2c(
        os.path.join(root, "models/stories260K/stories260K.bin"))
    rng = np.random.default_rng(2026)
    toks = rng.integers(0, cfg["vocab"], size=(NWIN, SEQ))
    toks[:, 0] = cfg["bos"]
    toks = torch.tensor(toks)
    params = []
    for L in W["layers"]:
        for k in KEYS:
            L[k] = L[k].double().requires_grad_(True)
            params.append(L[k])

    def loss_fn():
        tot = 0.0
        for w in range(NWIN):  # mean of the per-window mean losses
            logits = ppl_oracle.forward(cfg, W, toks[w], torch.float64)
            tot = tot + torch.nn.functional.cross_entropy(logits[:-1], toks[w, 1:])
        return tot / NWIN

    t0 = time.time()
    loss = loss_fn()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    print(f"loss {loss.item():.9f}", flush=True)

    def hvp(vs):
        return torch.autograd.grad(grads, params, grad_outputs=vs, retain_graph=True)

    n_lin = len(params)
    samples = np.zeros((PROBES, n_lin))
    for it in range(PROBES):
        vs = [probe(SEED, it, i, p.shape) for i, p in enumerate(params)]
        hv = hvp(vs)
        samples[it] = [float((a * b).sum()) for a, b in zip(hv, vs)]
    # official stopping rule (intent): pooled running mean, relative change
    stop, old = PROBES, 0.0
    for it in range(PROBES):
        new = samples[:it + 1].mean()
        if abs(new - old) / (abs(old) + 1e-6) < TOL:
            stop = it + 1
            break
        old = new
    print(f"{PROBES} probes in {time.time() - t0:.1f} s; tol stop after {stop}", flush=True)

    exact = []
    for (l, k) in [(0, "wk")]:
        i = l * 7 + KEYS.index(k)
        p = params[i]
        tr, n, B = 0.0, p.numel(), 512
        for e0 in range(0, n, B):  # B unit vectors per batched HVP
            b = min(B, n - e0)
            eye = torch.zeros(b, n, dtype=torch.float64)
            eye[torch.arange(b), e0 + torch.arange(b)] = 1.0
            vs = [torch.zeros((b,) + q.shape, dtype=torch.float64) for q in params]
            vs[i] = eye.view((b,) + p.shape)
            hv = torch.autograd.grad(grads, params, grad_outputs=vs,
                                     retain_graph=True, is_grads_batched=True)
            tr += float(hv[i].reshape(b, n)[torch.arange(b), e0 + torch.arange(b)].sum())
            print(f"  L{l}.{k}: {e0 + b} of {n} unit vectors, {time.time() - t0:.0f} s", flush=True)
        est = samples[:, i]
        print(f"L{l}.{k}: exact Tr H {tr:.6e}; Hutchinson over {PROBES} "
              f"probes {est.mean():.6e} +- {est.std(ddof=1) / PROBES ** 0.5:.2e}")
        exact.append(tr)

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "fixtures", "hutchinson_oracle.bin")
    rec = [("tokens", toks.double().numpy()),
           ("meta", np.array([[SEED, PROBES, n_lin, stop]], dtype=np.float64)),
           ("samples", samples), ("exact_trace", np.array([exact]))]
    with open(out, "wb") as f:
        f.write(b"CPRMFIX1" + struct.pack("<I", len(rec)))
        for name, a in rec:
            a = np.asarray(a, dtype="<f4")
            f.write(name.encode().ljust(32, b"\0"))
            f.write(struct.pack("<III", 0, a.shape[0], a.shape[1]))
            f.write(a.tobytes())
    print(f"wrote {out} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
