#!/usr/bin/python3
"""tests/oracle/qwen3_gemma_oracle.py: an independent PyTorch oracle for Qwen3 and Gemma.

Two jobs, no cprune code and no transformers package:

  --make DIR --family qwen3|gemma
               write a small random Qwen3ForCausalLM / GemmaForCausalLM in
               Hugging Face layout (config.json with the config class's keys,
               model.safetensors with transformers' tensor names), weights
               from numpy with a fixed seed, and a fixed token stream;
  --model DIR  read such a directory (common.py's safetensors reader) and compute
               the perplexity of a raw int32 token stream under the hf
               protocol (nsamples = n // seqlen chunks, CrossEntropyLoss over
               the seqlen-1 shifted positions, ppl = exp(mean nll)), and
               write the logits of the first chunk (float32, seqlen x vocab).

The forward follows transformers' modeling_qwen3.py and modeling_gemma.py,
in float32:
  Qwen3:  h = embed_tokens[ids]
          per layer: r = h; x = rms(h) * w_in
                     q = q_norm(q_proj(x) per head)   (RMSNorm over head_dim)
                     k = k_norm(k_proj(x) per head); v = v_proj(x)
                     q, k = rope_half(q), rope_half(k)
                     a = softmax(q k^T / sqrt(head_dim) + causal) v (GQA)
                     h = r + o_proj(a)
                     r = h; x = rms(h) * w_post; h = r + down(silu(gate x) * up x)
          logits = lm_head(rms(h) * w_norm)
  Gemma:  h = embed_tokens[ids] * tensor(hidden ** 0.5, float32)
          GemmaRMSNorm: rms(x) * (1 + w)
          MLP: down(gelu_tanh(gate x) * up x); no q/k norms; lm_head tied
  rms(x) = x * rsqrt(mean(x^2) + eps); RoPE inv_freq = 1 / theta^(2i/hd),
  cos/sin of cat(freqs, freqs), rotate_half pairing.

Fixtures (tests/fixtures/<family>_tiny, tests/fixtures/ppl_<family>_tiny.json,
tests/fixtures/<family>_tiny/logits0.f32):
  python3 tests/oracle/qwen3_gemma_oracle.py --make tests/fixtures/qwen3_tiny --family qwen3
  python3 tests/oracle/qwen3_gemma_oracle.py --model tests/fixtures/qwen3_tiny \
      --tokens-i32 tests/fixtures/qwen3_tiny/tokens.i32 --seqlen 64 \
      --out tests/fixtures/ppl_qwen3_tiny.json
  (the same with gemma)
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (add_family_args, hf_perplexity_main, rotate_half,  # noqa: E402
                    write_config, write_lcg_tokens, write_safetensors)


def make(d, family, seed, H=32, L=2, NH=4, KV=2, HD=16, F=48, V=64, CTX=128):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    u = lambda *s, a=0.3: rng.uniform(-a, a, size=s).astype(np.float32)
    gemma = family == "gemma"
    if gemma:
        KV = 1  # multi-query, as Gemma-2B
    # Gemma stores w of (1 + w): small values around 0; the others around 1
    nw = (lambda n: u(n, a=0.2)) if gemma else (lambda n: 1 + u(n, a=0.2))
    t = {"model.embed_tokens.weight": u(V, H, a=0.5), "model.norm.weight": nw(H)}
    for i in range(L):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = nw(H)
        t[p + "self_attn.q_proj.weight"] = u(NH * HD, H)
        t[p + "self_attn.k_proj.weight"] = u(KV * HD, H)
        t[p + "self_attn.v_proj.weight"] = u(KV * HD, H)
        t[p + "self_attn.o_proj.weight"] = u(H, NH * HD)
        if not gemma:
            t[p + "self_attn.q_norm.weight"] = 1 + u(HD, a=0.3)
            t[p + "self_attn.k_norm.weight"] = 1 + u(HD, a=0.3)
        t[p + "post_attention_layernorm.weight"] = nw(H)
        t[p + "mlp.gate_proj.weight"] = u(F, H)
        t[p + "mlp.up_proj.weight"] = u(F, H)
        t[p + "mlp.down_proj.weight"] = u(H, F)
    if not gemma:
        t["lm_head.weight"] = u(V, H, a=0.5)
    write_safetensors(os.path.join(d, "model.safetensors"), t)
    common = {"hidden_size": H, "intermediate_size": F, "num_hidden_layers": L,
              "num_attention_heads": NH, "num_key_value_heads": KV, "head_dim": HD,
              "vocab_size": V, "max_position_embeddings": CTX, "rms_norm_eps": 1e-6,
              "rope_theta": 10000.0, "attention_bias": False, "attention_dropout": 0.0,
              "torch_dtype": "float32", "use_cache": True}
    if gemma:
        cfg = {"architectures": ["GemmaForCausalLM"], "model_type": "gemma", **common,
               "hidden_act": "gelu_pytorch_tanh", "hidden_activation": "gelu_pytorch_tanh",
               "tie_word_embeddings": True, "bos_token_id": 2, "eos_token_id": 1,
               "pad_token_id": 0}
    else:
        cfg = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", **common,
               "hidden_act": "silu", "tie_word_embeddings": False,
               "use_sliding_window": False, "sliding_window": None, "max_window_layers": L,
               "bos_token_id": 1, "eos_token_id": 2}
    write_config(d, cfg)
    write_lcg_tokens(d, seed, V)


def rms(x, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return x * torch.rsqrt(var + eps)


def forward(c, W, ids):
    gemma = c["model_type"] == "gemma"
    T, H, NH = ids.shape[0], c["hidden_size"], c["num_attention_heads"]
    KV, HD, eps = c["num_key_value_heads"], c["head_dim"], c["rms_norm_eps"]
    theta = c.get("rope_theta", 10000.0)
    if gemma:
        norm = lambda x, w: rms(x, eps) * (1.0 + w)
        act = lambda x: torch.nn.functional.gelu(x, approximate="tanh")
    else:
        norm = lambda x, w: w * rms(x, eps)
        act = torch.nn.functional.silu
    inv = 1.0 / (theta ** (torch.arange(0, HD, 2, dtype=torch.int64).float() / HD))
    fr = torch.arange(T).float()[:, None] * inv[None, :]
    emb = torch.cat((fr, fr), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    h = W["model.embed_tokens.weight"][ids]
    if gemma:
        h = h * torch.tensor(H ** 0.5, dtype=h.dtype)
    mask = torch.full((T, T), float("-inf")).triu(1)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        r = h
        x = norm(h, W[p + "input_layernorm.weight"])
        q = (x @ W[p + "self_attn.q_proj.weight"].T).view(T, NH, HD)
        k = (x @ W[p + "self_attn.k_proj.weight"].T).view(T, KV, HD)
        v = (x @ W[p + "self_attn.v_proj.weight"].T).view(T, KV, HD)
        if not gemma:
            q = W[p + "self_attn.q_norm.weight"] * rms(q, eps)
            k = W[p + "self_attn.k_norm.weight"] * rms(k, eps)
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(NH // KV, dim=0)
        v = v.repeat_interleave(NH // KV, dim=0)
        s = q @ k.transpose(1, 2) * HD ** -0.5 + mask
        a = torch.softmax(s, dim=-1) @ v
        h = r + a.transpose(0, 1).reshape(T, NH * HD) @ W[p + "self_attn.o_proj.weight"].T
        r = h
        x = norm(h, W[p + "post_attention_layernorm.weight"])
        g = act(x @ W[p + "mlp.gate_proj.weight"].T) * (x @ W[p + "mlp.up_proj.weight"].T)
        h = r + g @ W[p + "mlp.down_proj.weight"].T
    h = norm(h, W["model.norm.weight"])
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return h @ head.T


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_family_args(ap, seed=4321)
    ap.add_argument("--family", choices=["qwen3", "gemma"])
    a = ap.parse_args()
    if a.make:
        if not a.family:
            raise SystemExit("--make needs --family")
        make(a.make, a.family, a.seed)
        return
    c = json.load(open(os.path.join(a.model, "config.json")))
    hf_perplexity_main(a, "tests/oracle/qwen3_gemma_oracle.py", forward, family=c["model_type"],
                       logits0=True)


if __name__ == "__main__":
    main()
