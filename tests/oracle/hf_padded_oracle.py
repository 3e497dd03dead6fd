#!/usr/bin/python3
"""tests/oracle/hf_padded_oracle.py: an independent reader of
`cprune prune ... --out-format hf-padded` output, as stock transformers'
LlamaForCausalLM would see it, then perplexity; writes the
struct_hf_padded_*.json fixtures that tests/cli_struct.sh compares with the
reloaded perplexity cprune prints.

transformers itself is not installed here, so this reads config.json and
model.safetensors with numpy/torch only (no cprune code) and checks what
LlamaForCausalLM.from_pretrained would require of them (modeling_llama.py:
LlamaAttention's q/k/v/o_proj are nn.Linear(..., bias=config.attention_bias),
LlamaMLP's gate/up/down_proj nn.Linear(..., bias=config.mlp_bias)):
  - the config is plain (no cprune extension keys), uniform shapes;
  - the state dict has exactly the expected keys (no missing key that
    from_pretrained would initialise, no unexpected key it would drop), each
    of the shape the config implies;
then runs HF Llama's forward (RMSNorm, rotate_half RoPE, GQA repeat_kv,
causal softmax attention, SiLU-gated MLP, every bias the config switches
on) and the HF-protocol perplexity on the first max-chunks windows of
`context` tokens.

Usage (from the repository root; token file from `cprune tokenize`):
  python3 tests/oracle/hf_padded_oracle.py --model OUT_DIR --eval eval.tok \
      --max-chunks 4 [--out F.json]
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppl_oracle  # noqa: E402  (safetensors reader, RoPE, RMSNorm)
import prune_oracle  # noqa: E402  (token files)


def expected_keys(c):
    nh, nkv, H = c["num_attention_heads"], c["num_key_value_heads"], c["hidden_size"]
    hd = c.get("head_dim") or H // nh
    I, V = c["intermediate_size"], c["vocab_size"]
    ab, mb = c.get("attention_bias", False), c.get("mlp_bias", False)
    k = {"model.embed_tokens.weight": [V, H], "model.norm.weight": [H]}
    if not c.get("tie_word_embeddings", False):
        k["lm_head.weight"] = [V, H]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        lin = {"self_attn.q_proj": (nh * hd, H), "self_attn.k_proj": (nkv * hd, H),
               "self_attn.v_proj": (nkv * hd, H), "self_attn.o_proj": (H, nh * hd),
               "mlp.gate_proj": (I, H), "mlp.up_proj": (I, H), "mlp.down_proj": (H, I)}
        for n, (o, inp) in lin.items():
            k[p + n + ".weight"] = [o, inp]
            if (ab if n.startswith("self_attn") else mb):
                k[p + n + ".bias"] = [o]
        k[p + "input_layernorm.weight"] = [H]
        k[p + "post_attention_layernorm.weight"] = [H]
    return k


def load(d):
    with open(os.path.join(d, "config.json")) as f:
        c = json.load(f)
    bad = [k for k in c if k.startswith("cprune")]
    if bad:
        raise SystemExit(f"{d}/config.json: non-standard keys {bad}")
    if c.get("architectures") != ["LlamaForCausalLM"] or c.get("model_type") != "llama":
        raise SystemExit(f"{d}/config.json: not a plain Llama config")
    t = ppl_oracle.read_safetensors(os.path.join(d, "model.safetensors"))
    want = expected_keys(c)
    missing = sorted(set(want) - set(t))
    unexpected = sorted(set(t) - set(want))
    if missing or unexpected:
        raise SystemExit(f"{d}: missing keys {missing[:5]}, unexpected {unexpected[:5]}")
    for k, s in want.items():
        if list(t[k].shape) != s:
            raise SystemExit(f"{d}: {k} has shape {list(t[k].shape)}, config implies {s}")
    return c, {k: v.float() for k, v in t.items()}


def forward(c, t, tok, cos, sin):
    nh, nkv, H = c["num_attention_heads"], c["num_key_value_heads"], c["hidden_size"]
    hd = c.get("head_dim") or H // nh
    eps = c["rms_norm_eps"]
    T = tok.shape[0]

    def lin(x, n):
        y = x @ t[n + ".weight"].T
        b = t.get(n + ".bias")
        return y if b is None else y + b

    x = t["model.embed_tokens.weight"][tok]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = ppl_oracle.rmsnorm(x, t[p + "input_layernorm.weight"], eps)
        q = lin(h, p + "self_attn.q_proj").view(T, nh, hd).transpose(0, 1)
        k = lin(h, p + "self_attn.k_proj").view(T, nkv, hd).transpose(0, 1)
        v = lin(h, p + "self_attn.v_proj").view(T, nkv, hd).transpose(0, 1)
        q, k = ppl_oracle.rope(q, cos, sin, False), ppl_oracle.rope(k, cos, sin, False)
        k = k.repeat_interleave(nh // nkv, dim=0)
        v = v.repeat_interleave(nh // nkv, dim=0)
        a = torch.softmax(q @ k.transpose(1, 2) * hd ** -0.5 + mask, dim=-1) @ v
        x = x + lin(a.transpose(0, 1).reshape(T, nh * hd), p + "self_attn.o_proj")
        h = ppl_oracle.rmsnorm(x, t[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(lin(h, p + "mlp.gate_proj")) * lin(h, p + "mlp.up_proj")
        x = x + lin(g, p + "mlp.down_proj")
    x = ppl_oracle.rmsnorm(x, t["model.norm.weight"], eps)
    head = t.get("lm_head.weight", t["model.embed_tokens.weight"])
    return x @ head.T


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--max-chunks", type=int, default=4)
    ap.add_argument("--out")
    ap.add_argument("--note", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    c, t = load(args.model)
    ctx = c["max_position_embeddings"]
    cfg = dict(head_dim=c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"],
               theta=c.get("rope_theta", 10000.0), rope_scaling=c.get("rope_scaling"))
    cos, sin = ppl_oracle.rope_tables(cfg, ctx)
    ev = prune_oracle.read_token_stream(args.eval)
    nch = min(len(ev) // ctx, args.max_chunks) if args.max_chunks else len(ev) // ctx
    nll = 0.0
    with torch.no_grad():
        for ch in range(nch):
            tok = torch.from_numpy(ev[ch * ctx:(ch + 1) * ctx].copy())
            logits = forward(c, t, tok, cos, sin)
            nll += float(torch.nn.functional.cross_entropy(logits[:-1], tok[1:])) * ctx
    ppl = math.exp(nll / (nch * ctx))
    zero = {n: bool((t[n] == 0).all()) for n in t if n.endswith(".bias")}
    res = dict(oracle="tests/oracle/hf_padded_oracle.py", note=args.note,
               config=dict(attention_bias=c.get("attention_bias", False),
                           mlp_bias=c.get("mlp_bias", False),
                           intermediate_size=c["intermediate_size"],
                           num_attention_heads=c["num_attention_heads"],
                           num_key_value_heads=c["num_key_value_heads"]),
               n_tensors=len(t), nonzero_biases=sorted(n for n, z in zero.items() if not z),
               eval=dict(seqlen=ctx, chunks=nch, **prune_oracle.stream_info(ev)),
               torch=torch.__version__, ppl=ppl)
    print(f"{args.model}: {len(t)} tensors as LlamaForCausalLM expects; ppl {ppl:.6f} "
          f"over {nch} x {ctx} tokens")
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
