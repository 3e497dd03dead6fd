#!/usr/bin/python3
"""tests/oracle/neox_gpt2_oracle.py: an independent PyTorch oracle for GPT-NeoX (Pythia) and GPT-2.

Two jobs, no cprune code and no transformers package:

  --make DIR --family neox|neox_seq|gpt2
               write a small random GPTNeoXForCausalLM / GPT2LMHeadModel in
               Hugging Face layout (config.json with the config class's keys,
               model.safetensors with transformers' tensor names: GPT-2's
               Conv1D weights stored (in, out)), weights from numpy with a
               fixed seed, and a fixed token stream;
  --model DIR  read such a directory (common.py's safetensors reader) and compute
               the perplexity of a raw int32 token stream under the hf
               protocol (nsamples = n // seqlen chunks, CrossEntropyLoss over
               the seqlen-1 shifted positions, ppl = exp(mean nll)), and
               write the logits of the first chunk (float32, seqlen x vocab).

The forward follows transformers' modeling_gpt_neox.py and modeling_gpt2.py,
in float32:
  GPT-NeoX: h = embed_in[ids]
            per layer: qkv = query_key_value(ln1(h)) viewed (T, heads, 3*hd):
                       q = [..., :hd], k = [..., hd:2hd], v = [..., 2hd:]
                       rotary on the first rotary_ndims = int(hd * rotary_pct)
                       dims of q and k (rotate_half within them, inv_freq =
                       1 / base^(2i / rotary_ndims)), the rest passes
                       a = softmax(q k^T / sqrt(hd) + causal) v; attn = dense(a)
                       parallel:   h = mlp(ln2(h)) + attn + h
                       sequential: a = attn + h; h = mlp(ln2(a)) + a
                       mlp(x) = dense_4h_to_h(gelu(dense_h_to_4h(x))), gelu exact
            logits = embed_out(final_layer_norm(h))  (untied)
  GPT-2:    h = wte[ids] + wpe[positions]
            per layer: q | k | v = ln_1(h) @ c_attn.weight + c_attn.bias  (Conv1D)
                       a = softmax(q k^T / sqrt(hd) + causal) v
                       h = h + (a @ attn.c_proj.weight + bias)
                       h = h + c_proj(gelu_new(c_fc(ln_2(h))))
            logits = ln_f(h) @ wte^T  (tied)
  LayerNorm: (x - mean) / sqrt(var + eps) * w + b (biased variance).

Fixtures (tests/fixtures/<family>_tiny, tests/fixtures/ppl_<family>_tiny.json,
tests/fixtures/<family>_tiny/logits0.f32):
  python3 tests/oracle/neox_gpt2_oracle.py --make tests/fixtures/neox_tiny --family neox
  python3 tests/oracle/neox_gpt2_oracle.py --model tests/fixtures/neox_tiny \
      --tokens-i32 tests/fixtures/neox_tiny/tokens.i32 --seqlen 64 \
      --out tests/fixtures/ppl_neox_tiny.json
  (the same with neox_seq and gpt2)
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (add_family_args, hf_perplexity_main, rotate_half,  # noqa: E402
                    write_config, write_lcg_tokens, write_safetensors)


def make(d, family, seed, V=64, CTX=128):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    u = lambda *s, a=0.3: rng.uniform(-a, a, size=s).astype(np.float32)
    nw = lambda n: 1 + u(n, a=0.2)
    if family == "gpt2":
        H, L, NH = 32, 2, 4
        F = 4 * H  # n_inner null
        t = {"transformer.wte.weight": u(V, H, a=0.5), "transformer.wpe.weight": u(CTX, H, a=0.2)}
        for i in range(L):
            p = f"transformer.h.{i}."
            t[p + "ln_1.weight"], t[p + "ln_1.bias"] = nw(H), u(H, a=0.1)
            t[p + "attn.c_attn.weight"], t[p + "attn.c_attn.bias"] = u(H, 3 * H), u(3 * H, a=0.1)
            t[p + "attn.c_proj.weight"], t[p + "attn.c_proj.bias"] = u(H, H), u(H, a=0.1)
            t[p + "ln_2.weight"], t[p + "ln_2.bias"] = nw(H), u(H, a=0.1)
            t[p + "mlp.c_fc.weight"], t[p + "mlp.c_fc.bias"] = u(H, F), u(F, a=0.1)
            t[p + "mlp.c_proj.weight"], t[p + "mlp.c_proj.bias"] = u(F, H), u(H, a=0.1)
        t["transformer.ln_f.weight"], t["transformer.ln_f.bias"] = nw(H), u(H, a=0.1)
        cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
               "vocab_size": V, "n_positions": CTX, "n_embd": H, "n_layer": L,
               "n_head": NH, "n_inner": None, "activation_function": "gelu_new",
               "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1,
               "layer_norm_epsilon": 1e-5, "initializer_range": 0.02,
               "summary_type": "cls_index", "summary_use_proj": True,
               "summary_activation": None, "summary_proj_to_labels": True,
               "summary_first_dropout": 0.1, "scale_attn_weights": True,
               "use_cache": True, "bos_token_id": V - 1, "eos_token_id": V - 1,
               "scale_attn_by_inverse_layer_idx": False,
               "reorder_and_upcast_attn": False, "torch_dtype": "float32"}
    else:
        par = family == "neox"
        H, L, NH, F = 64, 2, 4, 96
        HD = H // NH
        pct = 0.25 if par else 0.5
        bias = par  # the sequential variant also drops the attention biases
        t = {"gpt_neox.embed_in.weight": u(V, H, a=0.5)}
        for i in range(L):
            p = f"gpt_neox.layers.{i}."
            t[p + "input_layernorm.weight"], t[p + "input_layernorm.bias"] = nw(H), u(H, a=0.1)
            t[p + "post_attention_layernorm.weight"] = nw(H)
            t[p + "post_attention_layernorm.bias"] = u(H, a=0.1)
            t[p + "attention.query_key_value.weight"] = u(3 * H, H)
            if bias:
                t[p + "attention.query_key_value.bias"] = u(3 * H, a=0.1)
            t[p + "attention.dense.weight"] = u(H, H)
            if bias:
                t[p + "attention.dense.bias"] = u(H, a=0.1)
            # a buffer older checkpoints carry (not a parameter; ignored)
            rd = int(HD * pct)
            t[p + "attention.rotary_emb.inv_freq"] = (
                1.0 / (10000 ** (np.arange(0, rd, 2) / rd))).astype(np.float32)
            t[p + "mlp.dense_h_to_4h.weight"], t[p + "mlp.dense_h_to_4h.bias"] = u(F, H), u(F, a=0.1)
            t[p + "mlp.dense_4h_to_h.weight"], t[p + "mlp.dense_4h_to_h.bias"] = u(H, F), u(H, a=0.1)
        t["gpt_neox.final_layer_norm.weight"] = nw(H)
        t["gpt_neox.final_layer_norm.bias"] = u(H, a=0.1)
        t["embed_out.weight"] = u(V, H, a=0.5)
        cfg = {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox",
               "vocab_size": V, "hidden_size": H, "num_hidden_layers": L,
               "num_attention_heads": NH, "intermediate_size": F, "hidden_act": "gelu",
               "rotary_pct": pct, "rotary_emb_base": 10000, "attention_dropout": 0.0,
               "hidden_dropout": 0.0, "classifier_dropout": 0.1,
               "max_position_embeddings": CTX, "initializer_range": 0.02,
               "layer_norm_eps": 1e-5, "use_cache": True, "bos_token_id": 0,
               "eos_token_id": 0, "tie_word_embeddings": False,
               "use_parallel_residual": par, "rope_scaling": None,
               "attention_bias": bias, "torch_dtype": "float32"}
    write_safetensors(os.path.join(d, "model.safetensors"), t)
    write_config(d, cfg)
    write_lcg_tokens(d, seed, V)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = (x - mu).pow(2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def attend(q, k, v, hd, scale=True):
    # q, k, v: (heads, T, hd); causal mask as HF (finfo.min, then softmax)
    T = q.shape[1]
    s = q @ k.transpose(1, 2)
    if scale:
        s = s / math.sqrt(hd)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    s = torch.where(causal, s, torch.tensor(torch.finfo(s.dtype).min))
    return torch.softmax(s, dim=-1) @ v


def forward_neox(c, W, ids):
    T, H, NH = ids.shape[0], c["hidden_size"], c["num_attention_heads"]
    HD, eps = H // NH, c["layer_norm_eps"]
    rd = int(HD * c["rotary_pct"])
    base = c.get("rotary_emb_base", c.get("rope_theta", 10000))
    act = torch.nn.functional.gelu if c["hidden_act"] == "gelu" else \
        (lambda x: torch.nn.functional.gelu(x, approximate="tanh"))
    inv = 1.0 / (base ** (torch.arange(0, rd, 2, dtype=torch.int64).float() / rd))
    fr = torch.arange(T).float()[:, None] * inv[None, :]
    emb = torch.cat((fr, fr), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    lin = lambda x, p: x @ W[p + ".weight"].T + (W[p + ".bias"] if p + ".bias" in W else 0)
    h = W["gpt_neox.embed_in.weight"][ids]
    for i in range(c["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        x = layer_norm(h, W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], eps)
        qkv = lin(x, p + "attention.query_key_value").view(T, NH, 3 * HD).transpose(0, 1)
        q, k, v = qkv[..., :HD], qkv[..., HD:2 * HD], qkv[..., 2 * HD:]
        qr, qp = q[..., :rd], q[..., rd:]
        kr, kp = k[..., :rd], k[..., rd:]
        qr = qr * cos + rotate_half(qr) * sin
        kr = kr * cos + rotate_half(kr) * sin
        q, k = torch.cat((qr, qp), dim=-1), torch.cat((kr, kp), dim=-1)
        a = attend(q, k, v, HD).transpose(0, 1).reshape(T, H)
        attn = lin(a, p + "attention.dense")
        mlp = lambda y: lin(act(lin(y, p + "mlp.dense_h_to_4h")), p + "mlp.dense_4h_to_h")
        ln2 = lambda y: layer_norm(y, W[p + "post_attention_layernorm.weight"],
                                   W[p + "post_attention_layernorm.bias"], eps)
        if c.get("use_parallel_residual", True):
            h = mlp(ln2(h)) + attn + h
        else:
            a = attn + h
            h = mlp(ln2(a)) + a
    h = layer_norm(h, W["gpt_neox.final_layer_norm.weight"],
                   W["gpt_neox.final_layer_norm.bias"], eps)
    return h @ W["embed_out.weight"].T


def forward_gpt2(c, W, ids):
    T, H, NH = ids.shape[0], c["n_embd"], c["n_head"]
    HD, eps = H // NH, c["layer_norm_epsilon"]
    pre = "transformer." if "transformer.wte.weight" in W else ""
    conv = lambda x, p: torch.addmm(W[p + ".bias"], x, W[p + ".weight"])  # Conv1D
    gelu_new = lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) *
                                                     (x + 0.044715 * torch.pow(x, 3.0))))
    h = W[pre + "wte.weight"][ids] + W[pre + "wpe.weight"][torch.arange(T)]
    for i in range(c["n_layer"]):
        p = f"{pre}h.{i}."
        x = layer_norm(h, W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
        q, k, v = conv(x, p + "attn.c_attn").split(H, dim=1)
        q, k, v = (t.view(T, NH, HD).transpose(0, 1) for t in (q, k, v))
        a = attend(q, k, v, HD, c.get("scale_attn_weights", True))
        h = conv(a.transpose(0, 1).reshape(T, H), p + "attn.c_proj") + h
        x = layer_norm(h, W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
        h = h + conv(gelu_new(conv(x, p + "mlp.c_fc")), p + "mlp.c_proj")
    h = layer_norm(h, W[pre + "ln_f.weight"], W[pre + "ln_f.bias"], eps)
    return h @ W.get("lm_head.weight", W[pre + "wte.weight"]).T


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_family_args(ap, seed=2468)
    ap.add_argument("--family", choices=["neox", "neox_seq", "gpt2"])
    a = ap.parse_args()
    if a.make:
        if not a.family:
            raise SystemExit("--make needs --family")
        make(a.make, a.family, a.seed)
        return
    c = json.load(open(os.path.join(a.model, "config.json")))
    fwd = forward_gpt2 if c["model_type"] == "gpt2" else forward_neox
    hf_perplexity_main(a, "tests/oracle/neox_gpt2_oracle.py", fwd, family=c["model_type"],
                       logits0=True)


if __name__ == "__main__":
    main()
