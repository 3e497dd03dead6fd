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
  exact_trace (1, 2) = Tr H of L4.o and L4.down (the last block's o_proj
  and down_proj; exact_traces() says why per-token Hessians give it).
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


EXACT_IDX = (4 * 7 + 3, 4 * 7 + 6)  # the last block's o_proj and down_proj


def exact_traces(cfg, W, toks):
    """Exact Tr H of the last block's o_proj and down_proj. Past the last
    attention every operation is per token (MLP, final norm, lm_head, CE),
    and each matrix enters linearly through z = r + in W^T (in: the
    matrix's input rows, r the residual), so H_WW = sum_t in_t in_t^T (x)
    d2l/dz_t2 exactly and Tr H = sum_t |in_t|^2 tr(d2l/dz_t2); the
    per-token diagonal d2l/dz_t[j]^2 comes from one HVP per j (V[t, j] = 1
    for every t: the cross-token blocks are zero). 64 HVPs per matrix."""
    d = lambda t: t.detach().double()
    nh, nkv, hd, eps = cfg["n_heads"], cfg["n_kv"], cfg["head_dim"], cfg["eps"]
    L = W["layers"][-1]
    inv = ppl_oracle.inv_freq(cfg)
    ang = torch.arange(SEQ).float()[:, None] * inv[None, :]
    cos, sin = ang.cos().double(), ang.sin().double()
    mask = torch.full((SEQ, SEQ), float("-inf"), dtype=torch.float64).triu(1)
    A, R1, G, R2 = [], [], [], []
    for w in range(NWIN):  # ppl_oracle.forward's loop, the last block opened
        x = d(W["embed"])[toks[w]]
        for li, Lx in enumerate(W["layers"]):
            h = ppl_oracle.rmsnorm(x, d(Lx["attn_norm"]), eps)
            q, k, v = h @ d(Lx["wq"]).T, h @ d(Lx["wk"]).T, h @ d(Lx["wv"]).T
            q = ppl_oracle.rope(q.view(SEQ, nh, hd).transpose(0, 1), cos, sin, cfg["interleaved"])
            k = ppl_oracle.rope(k.view(SEQ, nkv, hd).transpose(0, 1), cos, sin, cfg["interleaved"])
            v = v.view(SEQ, nkv, hd).transpose(0, 1)
            k = k.repeat_interleave(nh // nkv, dim=0)
            v = v.repeat_interleave(nh // nkv, dim=0)
            p = torch.softmax((q @ k.transpose(1, 2)) * hd ** -0.5 + mask, dim=-1)
            a = (p @ v).transpose(0, 1).reshape(SEQ, nh * hd)
            if li == len(W["layers"]) - 1:
                A.append(a)
                R1.append(x)
            x = x + a @ d(Lx["wo"]).T
            h = ppl_oracle.rmsnorm(x, d(Lx["mlp_norm"]), eps)
            g = torch.nn.functional.silu(h @ d(Lx["w_gate"]).T) * (h @ d(Lx["w_up"]).T)
            if li == len(W["layers"]) - 1:
                G.append(g)
                R2.append(x)
            x = x + g @ d(Lx["w_down"]).T
    A, R1, G, R2 = map(torch.stack, (A, R1, G, R2))

    def ce(xf):  # mean next-token loss from the last block's output
        logits = ppl_oracle.rmsnorm(xf, d(W["final_norm"]), eps) @ d(W["lm_head"]).T
        return sum(torch.nn.functional.cross_entropy(logits[w, :-1], toks[w, 1:])
                   for w in range(NWIN)) / NWIN

    def mlp(z):
        h = ppl_oracle.rmsnorm(z, d(L["mlp_norm"]), eps)
        return (torch.nn.functional.silu(h @ d(L["w_gate"]).T) * (h @ d(L["w_up"]).T)) @ d(L["w_down"]).T

    out = []
    for inp, z0, fn in ((A, R1 + A @ d(L["wo"]).T, lambda z: ce(z + mlp(z))),
                        (G, R2 + G @ d(L["w_down"]).T, ce)):
        z = z0.clone().requires_grad_(True)
        gz = torch.autograd.grad(fn(z), z, create_graph=True)[0]
        diag = torch.zeros_like(z0)
        for j in range(z0.shape[-1]):
            V = torch.zeros_like(z0)
            V[..., j] = 1.0
            diag[..., j] = torch.autograd.grad(gz, z, V, retain_graph=True)[0][..., j]
        out.append((float((inp.pow(2).sum(-1) * diag.sum(-1)).sum()), inp, diag))
    return out


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

    parts = exact_traces(cfg, W, toks)
    exact = [tr for tr, _, _ in parts]
    # self-check of the per-token formula: single diagonal entries
    # e_rc . H e_rc by a full double-backward HVP vs sum_t in[t,c]^2 d[t,r]
    worst = 0.0
    for (tr, inp, diag), i in zip(parts, EXACT_IDX):
        for (r, c) in [(0, 0), (5, 17), (63, inp.shape[-1] - 1), (31, 40)]:
            vs = [torch.zeros_like(q) for q in params]
            vs[i][r, c] = 1.0
            brute = float(hvp(vs)[i][r, c])
            formula = float((inp[..., c].pow(2) * diag[..., r]).sum())
            worst = max(worst, abs(brute - formula) / abs(brute))
    print(f"per-token formula vs full HVPs on 8 diagonal entries: worst rel {worst:.2e}", flush=True)
    assert worst < 1e-9, worst
    for name, i, tr in zip(("L4.o", "L4.down"), EXACT_IDX, exact):
        est = samples[:, i]
        print(f"{name}: exact Tr H {tr:.6e}; Hutchinson over {PROBES} probes "
              f"{est.mean():.6e} +- {est.std(ddof=1) / PROBES ** 0.5:.2e}", flush=True)

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
