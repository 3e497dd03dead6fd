#!/usr/bin/env python3
"""Independent GGUF reader + LLaMA/deci forward pass (numpy/torch), run by hand.

Reads a GGUF v3 file written by `cprune convert` / `prune --out-format gguf`
from the format description (ggml docs/gguf.md), not from cprune's C code,
rebuilds the model the way llama.cpp's llama/deci graphs compute it
(RMSNorm, RoPE on adjacent pairs (2i, 2i+1) as GGUF stores q/k, SwiGLU,
per-layer head counts / n_ff for deci, a layer with n_ff == 0 ending after
its attention without adding it) and prints perplexity with llama.cpp's
`llama-perplexity` protocol: chunks of n_ctx tokens, the first token of each
chunk replaced by BOS, the second half of each chunk scored.

  python3 tests/oracle/gguf_read.py FILE.gguf TOKENS.tok [--ctx 512] [--chunks N]

TOKENS.tok: a cprune token file (`cprune tokenize --out`).
"""
import argparse
import struct
import sys

import numpy as np
import torch

SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f",
           7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class Reader:
    def __init__(self, buf):
        self.b, self.o = buf, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.o)[0]
        self.o += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = bytes(self.b[self.o:self.o + n])
        self.o += n
        return s

    def value(self, t):
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("<I"), self.take("<Q")
            return [self.value(et) for _ in range(n)]
        return self.take(SCALARS[t])


def read_gguf(path):
    buf = memoryview(open(path, "rb").read())
    r = Reader(buf)
    assert bytes(buf[:4]) == b"GGUF", "magic"
    r.o = 4
    version = r.take("<I")
    assert version == 3, version
    nt, nkv = r.take("<Q"), r.take("<Q")
    kv = {}
    for _ in range(nkv):
        k = r.string().decode()
        kv[k] = r.value(r.take("<I"))
    infos = []
    for _ in range(nt):
        name = r.string().decode()
        nd = r.take("<I")
        dims = [r.take("<Q") for _ in range(nd)]
        typ, off = r.take("<I"), r.take("<Q")
        infos.append((name, dims, typ, off))
    align = kv.get("general.alignment", 32)
    start = (r.o + align - 1) // align * align
    tensors = {}
    for name, dims, typ, off in infos:
        assert off % align == 0, (name, off)
        n = int(np.prod(dims))
        shape = tuple(reversed(dims))
        o = start + off
        if typ == 0:
            a = np.frombuffer(buf, np.float32, n, o)
        elif typ == 1:
            a = np.frombuffer(buf, np.float16, n, o).astype(np.float32)
        elif typ == 30:
            u = np.frombuffer(buf, np.uint16, n, o).astype(np.uint32) << 16
            a = u.view(np.float32)
        else:
            raise ValueError(f"{name}: type {typ}")
        tensors[name] = torch.from_numpy(a.reshape(shape).copy())
    return kv, tensors


def per_layer(kv, arch, key, n):
    v = kv[f"{arch}.{key}"]
    return list(v) if isinstance(v, list) else [v] * n


def forward(kv, T, ids):
    arch = kv["general.architecture"].decode()
    nl = kv[f"{arch}.block_count"]
    eps = kv[f"{arch}.attention.layer_norm_rms_epsilon"]
    theta = kv[f"{arch}.rope.freq_base"]
    hd = kv[f"{arch}.rope.dimension_count"]
    nh = per_layer(kv, arch, "attention.head_count", nl)
    nkv = per_layer(kv, arch, "attention.head_count_kv", nl)
    nff = per_layer(kv, arch, "feed_forward_length", nl)
    t = len(ids)
    x = T["token_embd.weight"][torch.tensor(ids)].double()

    def rms(v, w):
        return v / torch.sqrt((v * v).mean(-1, keepdim=True) + eps) * w.double()

    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.arange(t, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = torch.cos(ang), torch.sin(ang)

    def rope(q):  # q: (heads, t, hd), pairs (2i, 2i+1)
        a, b = q[..., 0::2], q[..., 1::2]
        out = torch.empty_like(q)
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = a * sin + b * cos
        return out

    mask = torch.full((t, t), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(nl):
        p = f"blk.{l}."
        W = lambda n: T[p + n + ".weight"].double()
        if nh[l] == 0:  # attention removed: llama.cpp's attention-free layer
            if nff[l] == 0:
                continue
            h = rms(x, W("ffn_norm"))
            g = torch.nn.functional.silu(h @ W("ffn_gate").T) * (h @ W("ffn_up").T)
            x = x + g @ W("ffn_down").T
            continue
        h = rms(x, W("attn_norm"))
        q = (h @ W("attn_q").T).view(t, nh[l], hd).transpose(0, 1)
        k = (h @ W("attn_k").T).view(t, nkv[l], hd).transpose(0, 1)
        v = (h @ W("attn_v").T).view(t, nkv[l], hd).transpose(0, 1)
        q, k = rope(q), rope(k)
        rep = nh[l] // nkv[l]
        k, v = k.repeat_interleave(rep, 0), v.repeat_interleave(rep, 0)
        a = torch.softmax(q @ k.transpose(1, 2) / hd ** 0.5 + mask, -1) @ v
        att = a.transpose(0, 1).reshape(t, nh[l] * hd) @ W("attn_output").T
        if nff[l] == 0:
            continue  # llama.cpp deci: the attention output is dropped too
        x = x + att
        h = rms(x, W("ffn_norm"))
        g = torch.nn.functional.silu(h @ W("ffn_gate").T) * (h @ W("ffn_up").T)
        x = x + g @ W("ffn_down").T
    x = rms(x, T["output_norm.weight"])
    head = T.get("output.weight", T["token_embd.weight"]).double()
    return x @ head.T


def read_tokens(path):
    b = open(path, "rb").read()
    assert b[:8] == b"CPRTOK1\0"
    width, count = struct.unpack_from("<I", b, 12)[0], struct.unpack_from("<Q", b, 16)[0]
    return np.frombuffer(b, np.uint16 if width == 2 else np.uint32, count, 64).astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("tokens")
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--chunks", type=int, default=0)
    a = ap.parse_args()
    kv, T = read_gguf(a.gguf)
    toks = read_tokens(a.tokens)
    bos = kv.get("tokenizer.ggml.bos_token_id", 1)
    n_chunks = len(toks) // a.ctx
    if a.chunks:
        n_chunks = min(n_chunks, a.chunks)
    nll, cnt = 0.0, 0
    first = a.ctx // 2
    for c in range(n_chunks):
        ids = [int(i) for i in toks[c * a.ctx:(c + 1) * a.ctx]]
        ids[0] = bos
        logits = forward(kv, T, ids)
        lp = torch.log_softmax(logits, -1)
        tgt = torch.tensor(ids[first + 1:])
        nll -= lp[first:a.ctx - 1].gather(1, tgt[:, None]).sum().item()
        cnt += a.ctx - 1 - first
    print(f"arch {kv['general.architecture'].decode()} chunks {n_chunks} "
          f"scored {cnt} ppl {np.exp(nll / cnt):.4f}")


if __name__ == "__main__":
    sys.exit(main())
