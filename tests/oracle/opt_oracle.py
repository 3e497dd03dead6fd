#!/usr/bin/python3
"""tests/oracle/opt_oracle.py: an independent PyTorch oracle for OPT.

Two jobs, no cprune code and no transformers package:

  --make DIR   write a small random OPTForCausalLM in Hugging Face layout
               (config.json with OPTConfig's keys, model.safetensors with
               transformers' tensor names, lm_head tied to embed_tokens),
               weights from numpy with a fixed seed;
  --model DIR  read such a directory (common.py's safetensors reader) and compute
               the perplexity of a raw int32 token stream under the hf
               protocol (Wanda/SparseGPT eval_ppl: nsamples = n // seqlen
               chunks, CrossEntropyLoss over the seqlen-1 shifted positions,
               ppl = exp(sum(loss * seqlen) / (nsamples * seqlen))).

The forward follows transformers' modeling_opt.py (pre-LN decoder,
do_layer_norm_before=True), in float32:
  h = embed_tokens[ids] + embed_positions[pos + 2]      (pos = 0..T-1)
  per layer: r = h; x = self_attn_layer_norm(h)
             q = q_proj(x) * head_dim**-0.5; k = k_proj(x); v = v_proj(x)
             h = r + out_proj(softmax(q k^T + causal) v)
             r = h; x = final_layer_norm(h); h = r + fc2(relu(fc1(x)))
  logits = lm_head(decoder.final_layer_norm(h))

Fixture (tests/fixtures/opt_tiny, tests/fixtures/ppl_opt_tiny.json):
  python3 tests/oracle/opt_oracle.py --make tests/fixtures/opt_tiny
  python3 tests/oracle/opt_oracle.py --model tests/fixtures/opt_tiny \
      --tokens-i32 tests/fixtures/opt_tiny/tokens.i32 --seqlen 64 \
      --out tests/fixtures/ppl_opt_tiny.json
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (add_family_args, hf_perplexity_main,  # noqa: E402
                    write_config, write_lcg_tokens, write_safetensors)


def make(d, seed, H=32, L=2, NH=4, F=48, V=64, CTX=128):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    u = lambda *s, a=0.3: rng.uniform(-a, a, size=s).astype(np.float32)
    t = {"model.decoder.embed_tokens.weight": u(V, H, a=0.5),
         "model.decoder.embed_positions.weight": u(CTX + 2, H, a=0.3),
         "model.decoder.final_layer_norm.weight": 1 + u(H, a=0.2),
         "model.decoder.final_layer_norm.bias": u(H, a=0.2)}
    for i in range(L):
        p = f"model.decoder.layers.{i}."
        for n in ("q", "k", "v", "out"):
            t[p + f"self_attn.{n}_proj.weight"] = u(H, H)
            t[p + f"self_attn.{n}_proj.bias"] = u(H, a=0.2)
        for n in ("self_attn_layer_norm", "final_layer_norm"):
            t[p + n + ".weight"] = 1 + u(H, a=0.2)
            t[p + n + ".bias"] = u(H, a=0.2)
        t[p + "fc1.weight"], t[p + "fc1.bias"] = u(F, H), u(F, a=0.2)
        t[p + "fc2.weight"], t[p + "fc2.bias"] = u(H, F), u(H, a=0.2)
    write_safetensors(os.path.join(d, "model.safetensors"), t)
    cfg = {"architectures": ["OPTForCausalLM"], "model_type": "opt", "hidden_size": H,
           "ffn_dim": F, "num_hidden_layers": L, "num_attention_heads": NH, "vocab_size": V,
           "max_position_embeddings": CTX, "word_embed_proj_dim": H,
           "activation_function": "relu", "do_layer_norm_before": True, "enable_bias": True,
           "layer_norm_elementwise_affine": True, "tie_word_embeddings": True,
           "bos_token_id": 2, "eos_token_id": 2, "pad_token_id": 1, "torch_dtype": "float32"}
    write_config(d, cfg)
    write_lcg_tokens(d, seed, V)  # a fixed token stream (4 chunks of 64)


def forward(c, W, ids):
    T, H, NH = ids.shape[0], c["hidden_size"], c["num_attention_heads"]
    hd = H // NH
    p = "model.decoder."
    ln = lambda x, n: torch.nn.functional.layer_norm(x, (H,), W[n + ".weight"], W[n + ".bias"], 1e-5)
    lin = lambda x, n: x @ W[n + ".weight"].T + W[n + ".bias"]
    h = W[p + "embed_tokens.weight"][ids] + W[p + "embed_positions.weight"][torch.arange(T) + 2]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for i in range(c["num_hidden_layers"]):
        q_ = f"{p}layers.{i}."
        r = h
        x = ln(h, q_ + "self_attn_layer_norm")
        q = lin(x, q_ + "self_attn.q_proj") * hd ** -0.5
        k = lin(x, q_ + "self_attn.k_proj")
        v = lin(x, q_ + "self_attn.v_proj")
        q, k, v = (t.view(T, NH, hd).transpose(0, 1) for t in (q, k, v))
        a = torch.softmax(q @ k.transpose(1, 2) + mask, dim=-1) @ v
        h = r + lin(a.transpose(0, 1).reshape(T, H), q_ + "self_attn.out_proj")
        r = h
        x = ln(h, q_ + "final_layer_norm")
        h = r + lin(torch.relu(lin(x, q_ + "fc1")), q_ + "fc2")
    h = ln(h, p + "final_layer_norm")
    head = W.get("lm_head.weight", W[p + "embed_tokens.weight"])
    return h @ head.T


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_family_args(ap, seed=1234)
    a = ap.parse_args()
    if a.make:
        make(a.make, a.seed)
        return
    hf_perplexity_main(a, "tests/oracle/opt_oracle.py", forward)


if __name__ == "__main__":
    main()
