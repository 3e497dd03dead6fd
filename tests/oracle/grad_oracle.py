#!/usr/bin/env python3
"""Gradient oracle for core/backward.c: torch autograd on a tiny random
LLaMA model in the Hugging Face layout, written from HF's modeling_llama
(LlamaRMSNorm, rotate_half RoPE, repeat_kv, eager causal attention in
softmax(q k^T / sqrt(d)), SiLU-gated MLP, lm_head, CrossEntropy over the
shifted labels with mean reduction), not from the C code. Computed in
float64 so the fixture is the exact value the f32 C pass approximates.

Writes tests/fixtures/grad_oracle.bin ("CPRMFIX1": magic, u32 record
count, then per record a 32-byte name, u32 dtype (0 = f32), u32 rows, u32
cols and rows*cols little-endian f32):
  tokens (2, 70) as floats; loss (1, 1);
  tok_embed, lm_head (vocab, hidden); final_norm (1, hidden);
  L{l}.{attn_norm,mlp_norm} (1, hidden) and L{l}.{q,k,v,o,gate,up,down}
  weights (out, in); G{l}.{q,k,v,o,gate,up,down} = dloss/dW (out, in).
Run by hand: python3 tests/oracle/grad_oracle.py [qwen2]

qwen2: the same model plus q/k/v projection biases (HF Qwen2Attention:
q_proj, k_proj, v_proj with bias=True, o_proj without), drawn after the
tokens so the LLaMA fixture is unchanged; extra records L{l}.{bq,bk,bv}
(1, out); written to tests/fixtures/grad_oracle_qwen2.bin.
qwen3: q/k RMSNorms over head_dim before RoPE (HF Qwen3Attention q_norm,
k_norm), records L{l}.{q_norm,k_norm} (1, head_dim); grad_oracle_qwen3.bin.
gemma: (1 + w) RMSNorms, GELU-tanh gate, embeddings times sqrt(hidden)
(HF GemmaRMSNorm, gelu_pytorch_tanh, the normalizer; lm_head left untied,
which the backward pass does not see); grad_oracle_gemma.bin.
"""
import sys
import os
import struct

import numpy as np
import torch

HID, INTER, NL, NH, NKV, HD, VOCAB = 16, 40, 2, 4, 2, 4, 50
NSEQ, SEQ, EPS, THETA = 2, 70, 1e-5, 10000.0
ROLES = ["q", "k", "v", "o", "gate", "up", "down"]


def rmsnorm(x, w):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + EPS))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def main(variant):
    rng = np.random.default_rng(2026)
    t64 = torch.float64

    def U(*shape, a=0.25 * 3 ** 0.5):
        return torch.tensor(rng.uniform(-a, a, size=shape), dtype=t64)

    P = {"tok_embed": U(VOCAB, HID), "lm_head": U(VOCAB, HID),
         "final_norm": 1 + 0.3 * U(HID, a=1.0)}
    shapes = {"q": (NH * HD, HID), "k": (NKV * HD, HID), "v": (NKV * HD, HID),
              "o": (HID, NH * HD), "gate": (INTER, HID), "up": (INTER, HID),
              "down": (HID, INTER)}
    for l in range(NL):
        P[f"L{l}.attn_norm"] = 1 + 0.3 * U(HID, a=1.0)
        P[f"L{l}.mlp_norm"] = 1 + 0.3 * U(HID, a=1.0)
        for r in ROLES:
            P[f"L{l}.{r}"] = U(*shapes[r])
    for name in P:  # the C side reads f32 weights: use exactly those
        P[name] = P[name].float().double().requires_grad_(True)
    tokens = torch.tensor(rng.integers(0, VOCAB, size=(NSEQ, SEQ)))
    if variant == "qwen2":
        for l in range(NL):
            for r in ("q", "k", "v"):
                P[f"L{l}.b{r}"] = U(shapes[r][0], a=0.5).float().double().requires_grad_(True)
    if variant == "qwen3":  # Qwen3RMSNorm over head_dim of q and k, pre-RoPE
        for l in range(NL):
            for r in ("q_norm", "k_norm"):
                P[f"L{l}.{r}"] = (1 + 0.3 * U(HD, a=1.0)).float().double().requires_grad_(True)

    def N(w):  # GemmaRMSNorm multiplies by (1 + w)
        return 1 + w if variant == "gemma" else w

    def ACT(x):  # Gemma: GELU, tanh approximation (gelu_pytorch_tanh)
        if variant == "gemma":
            return torch.nn.functional.gelu(x, approximate="tanh")
        return torch.nn.functional.silu(x)

    def QK(l, x, r):  # the per-head norm, or nothing
        return rmsnorm(x, P[f"L{l}.{r}_norm"]) if variant == "qwen3" else x

    def B(l, r):  # the projection's bias, or 0
        return P.get(f"L{l}.b{r}", 0.0)

    # RoPE tables (HF LlamaRotaryEmbedding, default type)
    inv = 1.0 / (THETA ** (torch.arange(0, HD, 2, dtype=t64) / HD))
    ang = torch.arange(SEQ, dtype=t64)[:, None] * inv[None, :]
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos(), emb.sin()

    h = P["tok_embed"][tokens]  # (B, T, H)
    if variant == "gemma":  # the normalizer sqrt(hidden), exact here
        h = h * HID ** 0.5
    mask = torch.full((SEQ, SEQ), float("-inf"), dtype=t64).triu(1)
    for l in range(NL):
        x = rmsnorm(h, N(P[f"L{l}.attn_norm"]))
        q = QK(l, (x @ P[f"L{l}.q"].T + B(l, "q")).view(NSEQ, SEQ, NH, HD), "q").transpose(1, 2)
        k = QK(l, (x @ P[f"L{l}.k"].T + B(l, "k")).view(NSEQ, SEQ, NKV, HD), "k").transpose(1, 2)
        v = (x @ P[f"L{l}.v"].T + B(l, "v")).view(NSEQ, SEQ, NKV, HD).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(NH // NKV, dim=1)  # repeat_kv
        v = v.repeat_interleave(NH // NKV, dim=1)
        s = q @ k.transpose(2, 3) / HD ** 0.5 + mask
        a = torch.softmax(s, dim=-1) @ v
        a = a.transpose(1, 2).reshape(NSEQ, SEQ, NH * HD)
        h = h + a @ P[f"L{l}.o"].T
        x = rmsnorm(h, N(P[f"L{l}.mlp_norm"]))
        g = ACT(x @ P[f"L{l}.gate"].T) * (x @ P[f"L{l}.up"].T)
        h = h + g @ P[f"L{l}.down"].T
    logits = rmsnorm(h, N(P["final_norm"])) @ P["lm_head"].T
    loss = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))
    loss.backward()

    rec = [("tokens", tokens.double()), ("loss", loss.detach().view(1, 1))]
    for name, v in P.items():
        rec.append((name, v.detach().view(1, -1) if v.dim() == 1 else v.detach()))
    for l in range(NL):
        for r in ROLES:
            rec.append((f"G{l}.{r}", P[f"L{l}.{r}"].grad))
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures",
                       "grad_oracle.bin" if variant == "llama" else f"grad_oracle_{variant}.bin")
    with open(out, "wb") as f:
        f.write(b"CPRMFIX1" + struct.pack("<I", len(rec)))
        for name, t in rec:
            a = t.numpy().astype("<f4")
            f.write(name.encode().ljust(32, b"\0"))
            f.write(struct.pack("<III", 0, a.shape[0], a.shape[1]))
            f.write(a.tobytes())
    print(f"loss {loss.item():.9f}; wrote {len(rec)} records to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "llama")
