#!/usr/bin/env python3
"""Gradient oracle for core/backward_fc.c: torch autograd (float64) on the
tiny OPT, GPT-2 and GPT-NeoX fixtures in Hugging Face layout, with forwards
written from transformers' modeling_opt.py, modeling_gpt2.py and
modeling_gpt_neox.py (not from the C code and not from the other oracles):

  OPT (OPTDecoderLayer, do_layer_norm_before):
    h = embed_tokens[ids] + embed_positions[pos + 2]
    r = h; x = self_attn_layer_norm(h)
    q = q_proj(x) * head_dim**-0.5; k = k_proj(x); v = v_proj(x)
    h = r + out_proj(softmax(q k^T + causal) v)
    r = h; x = final_layer_norm(h); h = r + fc2(relu(fc1(x)))
    logits = lm_head(decoder.final_layer_norm(h))          (tied)
  GPT-2 (GPT2Block, Conv1D y = x W + b with W stored (in, out)):
    h = wte[ids] + wpe[pos]
    q | k | v = c_attn(ln_1(h)); a = softmax(q k^T / sqrt(hd) + causal) v
    (scale_attn_weights false: no 1/sqrt(hd)); h = h + c_proj(a)
    h = h + mlp.c_proj(gelu_new(c_fc(ln_2(h))))
    logits = ln_f(h) wte^T                                 (tied)
  GPT-NeoX (GPTNeoXLayer): qkv = query_key_value(input_layernorm(h)) viewed
    (T, heads, 3 hd) -> q, k, v; rotate_half RoPE on the first
    int(hd * rotary_pct) dims (inv_freq over those dims); a = dense(attn)
    use_parallel_residual: h = mlp(post_attention_layernorm(h)) + a + h
    else: m = a + h; h = mlp(post_attention_layernorm(m)) + m
    mlp = dense_4h_to_h(gelu(dense_h_to_4h(.))) (exact erf GELU)
    logits = embed_out(final_layer_norm(h))                 (untied)
  LayerNorm: (x - mean) / sqrt(biased var + eps) * w + b.
Loss: CrossEntropy (mean) of logits[:, :-1] against ids[:, 1:] over 2
sequences of 70 tokens (two 64-query attention blocks).

Writes tests/fixtures/grad_arch_<variant>.bin ("CPRMFIX1": magic, u32
record count, then per record a 32-byte name, u32 dtype (0 = f32), u32
rows, u32 cols, rows*cols little-endian f32): tokens (2, 70) as floats,
loss (1, 1), and G{l}.{role} = dloss/dW (out, in) for the roles of the
family's linear table (OPT: q k v o fc1 down; GPT-2, NeoX: qkv o fc1 down;
GPT-2's Conv1D gradients transposed to (out, in)).

Variants (model directory under tests/fixtures):
  opt (opt_tiny), gpt2 (gpt2_tiny), gpt2_noscale (gpt2_tiny with
  scale_attn_weights false), neox (neox_tiny: parallel residual, biases,
  rotary_pct 0.25), neox_seq (neox_seq_tiny: sequential, no attention
  biases, rotary_pct 0.5).
Run by hand: python3 tests/oracle/grad_arch_oracle.py [variant ...]
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

T64 = torch.float64
NSEQ, SEQ = 2, 70
FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
VARIANTS = {"opt": "opt_tiny", "gpt2": "gpt2_tiny", "gpt2_noscale": "gpt2_tiny",
            "neox": "neox_tiny", "neox_seq": "neox_seq_tiny"}


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    out = {}
    for name, info in hdr.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (path, name, info["dtype"])
        a, b = info["data_offsets"]
        arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4")
        out[name] = torch.tensor(arr.reshape(info["shape"]).astype(np.float64),
                                 dtype=T64, requires_grad=True)
    return out


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def causal_softmax(s):
    T = s.shape[-1]
    keep = torch.ones(T, T, dtype=torch.bool).tril()
    s = s.masked_fill(~keep, torch.finfo(s.dtype).min)
    return torch.softmax(s, dim=-1)


def heads(x, nh):  # (B, T, nh*hd) -> (B, nh, T, hd)
    B, T, D = x.shape
    return x.view(B, T, nh, D // nh).transpose(1, 2)


def merge(x):  # (B, nh, T, hd) -> (B, T, nh*hd)
    B, nh, T, hd = x.shape
    return x.transpose(1, 2).reshape(B, T, nh * hd)


def fwd_opt(c, W, ids):
    H, NH = c["hidden_size"], c["num_attention_heads"]
    hd = H // NH
    p = "model.decoder." if "model.decoder.embed_tokens.weight" in W else "decoder."
    lin = lambda x, n: x @ W[n + ".weight"].T + W[n + ".bias"]
    T = ids.shape[1]
    h = W[p + "embed_tokens.weight"][ids] + W[p + "embed_positions.weight"][torch.arange(T) + 2]
    for i in range(c["num_hidden_layers"]):
        q_ = f"{p}layers.{i}."
        x = layer_norm(h, W[q_ + "self_attn_layer_norm.weight"], W[q_ + "self_attn_layer_norm.bias"], 1e-5)
        q = heads(lin(x, q_ + "self_attn.q_proj") * hd ** -0.5, NH)
        k = heads(lin(x, q_ + "self_attn.k_proj"), NH)
        v = heads(lin(x, q_ + "self_attn.v_proj"), NH)
        a = merge(causal_softmax(q @ k.transpose(-1, -2)) @ v)
        h = h + lin(a, q_ + "self_attn.out_proj")
        x = layer_norm(h, W[q_ + "final_layer_norm.weight"], W[q_ + "final_layer_norm.bias"], 1e-5)
        h = h + lin(torch.relu(lin(x, q_ + "fc1")), q_ + "fc2")
    h = layer_norm(h, W[p + "final_layer_norm.weight"], W[p + "final_layer_norm.bias"], 1e-5)
    head = W.get("lm_head.weight", W[p + "embed_tokens.weight"])
    roles = {}
    for i in range(c["num_hidden_layers"]):
        q_ = f"{p}layers.{i}."
        for r, n in (("q", "self_attn.q_proj"), ("k", "self_attn.k_proj"),
                     ("v", "self_attn.v_proj"), ("o", "self_attn.out_proj"),
                     ("fc1", "fc1"), ("down", "fc2")):
            roles[f"G{i}.{r}"] = (W[q_ + n + ".weight"], False)
    return h @ head.T, roles


def fwd_gpt2(c, W, ids, scale):
    H, NH = c["n_embd"], c["n_head"]
    hd, eps = H // NH, c["layer_norm_epsilon"]
    p = "transformer." if "transformer.wte.weight" in W else ""
    conv = lambda x, n: x @ W[n + ".weight"] + W[n + ".bias"]
    gelu_new = lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) *
                                                     (x + 0.044715 * torch.pow(x, 3.0))))
    T = ids.shape[1]
    h = W[p + "wte.weight"][ids] + W[p + "wpe.weight"][torch.arange(T)]
    for i in range(c["n_layer"]):
        q_ = f"{p}h.{i}."
        x = layer_norm(h, W[q_ + "ln_1.weight"], W[q_ + "ln_1.bias"], eps)
        q, k, v = (heads(t, NH) for t in conv(x, q_ + "attn.c_attn").split(H, dim=2))
        s = q @ k.transpose(-1, -2)
        if scale:
            s = s / math.sqrt(hd)
        h = conv(merge(causal_softmax(s) @ v), q_ + "attn.c_proj") + h
        x = layer_norm(h, W[q_ + "ln_2.weight"], W[q_ + "ln_2.bias"], eps)
        h = h + conv(gelu_new(conv(x, q_ + "mlp.c_fc")), q_ + "mlp.c_proj")
    h = layer_norm(h, W[p + "ln_f.weight"], W[p + "ln_f.bias"], eps)
    roles = {}
    for i in range(c["n_layer"]):
        q_ = f"{p}h.{i}."
        for r, n in (("qkv", "attn.c_attn"), ("o", "attn.c_proj"),
                     ("fc1", "mlp.c_fc"), ("down", "mlp.c_proj")):
            roles[f"G{i}.{r}"] = (W[q_ + n + ".weight"], True)  # Conv1D (in, out)
    return h @ W.get("lm_head.weight", W[p + "wte.weight"]).T, roles


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def fwd_neox(c, W, ids):
    H, NH = c["hidden_size"], c["num_attention_heads"]
    hd, eps = H // NH, c["layer_norm_eps"]
    rd = int(hd * c["rotary_pct"])
    base = c.get("rotary_emb_base", 10000)
    B, T = ids.shape
    # GPTNeoXRotaryEmbedding: inv_freq in float32 as HF builds it, angles in f64
    inv = (1.0 / (base ** (torch.arange(0, rd, 2, dtype=torch.int64).float() / rd))).double()
    fr = torch.arange(T, dtype=T64)[:, None] * inv[None, :]
    emb = torch.cat((fr, fr), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    lin = lambda x, n: x @ W[n + ".weight"].T + (W[n + ".bias"] if n + ".bias" in W else 0)
    h = W["gpt_neox.embed_in.weight"][ids]
    for i in range(c["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        x = layer_norm(h, W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], eps)
        qkv = lin(x, p + "attention.query_key_value").view(B, T, NH, 3 * hd).permute(0, 2, 1, 3)
        q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
        qr = q[..., :rd] * cos + rotate_half(q[..., :rd]) * sin
        kr = k[..., :rd] * cos + rotate_half(k[..., :rd]) * sin
        q, k = torch.cat((qr, q[..., rd:]), dim=-1), torch.cat((kr, k[..., rd:]), dim=-1)
        a = merge(causal_softmax(q @ k.transpose(-1, -2) / math.sqrt(hd)) @ v)
        a = lin(a, p + "attention.dense")
        mlp = lambda y: lin(torch.nn.functional.gelu(lin(y, p + "mlp.dense_h_to_4h")),
                            p + "mlp.dense_4h_to_h")
        ln2 = lambda y: layer_norm(y, W[p + "post_attention_layernorm.weight"],
                                   W[p + "post_attention_layernorm.bias"], eps)
        if c.get("use_parallel_residual", True):
            h = mlp(ln2(h)) + a + h
        else:
            m = a + h
            h = mlp(ln2(m)) + m
    h = layer_norm(h, W["gpt_neox.final_layer_norm.weight"], W["gpt_neox.final_layer_norm.bias"], eps)
    roles = {}
    for i in range(c["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        for r, n in (("qkv", "attention.query_key_value"), ("o", "attention.dense"),
                     ("fc1", "mlp.dense_h_to_4h"), ("down", "mlp.dense_4h_to_h")):
            roles[f"G{i}.{r}"] = (W[p + n + ".weight"], False)
    return h @ W["embed_out.weight"].T, roles


def run(variant):
    d = os.path.join(FIX, VARIANTS[variant])
    c = json.load(open(os.path.join(d, "config.json")))
    W = read_safetensors(os.path.join(d, "model.safetensors"))
    V = c["vocab_size"]
    rng = np.random.default_rng(1513)
    ids = torch.tensor(rng.integers(0, V, size=(NSEQ, SEQ)))
    if c["model_type"] == "opt":
        logits, roles = fwd_opt(c, W, ids)
    elif c["model_type"] == "gpt2":
        logits, roles = fwd_gpt2(c, W, ids, variant != "gpt2_noscale")
    else:
        logits, roles = fwd_neox(c, W, ids)
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V),
                                             ids[:, 1:].reshape(-1))
    loss.backward()
    rec = [("tokens", ids.double()), ("loss", loss.detach().view(1, 1))]
    for name, (w, conv) in roles.items():
        g = w.grad.T if conv else w.grad
        rec.append((name, g))
    out = os.path.join(FIX, f"grad_arch_{variant}.bin")
    with open(out, "wb") as f:
        f.write(b"CPRMFIX1" + struct.pack("<I", len(rec)))
        for name, t in rec:
            a = np.ascontiguousarray(t.detach().numpy().astype("<f4"))
            f.write(name.encode().ljust(32, b"\0"))
            f.write(struct.pack("<III", 0, a.shape[0], a.shape[1]))
            f.write(a.tobytes())
    print(f"{variant}: loss {loss.item():.9f}; {len(rec)} records -> {os.path.normpath(out)}")


if __name__ == "__main__":
    for v in sys.argv[1:] or list(VARIANTS):
        run(v)
