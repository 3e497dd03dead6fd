#!/usr/bin/python3
"""tests/oracle/ppl_oracle.py: an independent PyTorch perplexity oracle.

Reads the model files itself (llama2.c legacy checkpoints with struct/numpy,
Hugging Face safetensors directories through the JSON header + numpy; no
cprune code, no transformers), runs a LLaMA forward written here in torch
the way Hugging Face's LlamaForCausalLM computes it (float32 by default),
and evaluates perplexity on a token stream. Mistral's sliding window is
applied as Hugging Face's sliding-window causal mask (masking_utils:
key j visible from query i when i - sliding_window < j <= i;
MistralConfig's default 4096 when the key is absent, none when null):

  --protocol hf        Wanda/SparseGPT eval_ppl: nsamples = n // seqlen
                       non-overlapping chunks, loss = CrossEntropyLoss over
                       the seqlen-1 shifted positions, nll = loss * seqlen,
                       ppl = exp(sum(nll) / (nsamples * seqlen)).
  --protocol llamacpp  llama.cpp perplexity(): first token of each chunk
                       replaced by BOS, positions n_ctx/2 .. n_ctx-2 scored.

The token stream is a raw little-endian int32 file (--tokens-i32) or a
cprune token file (--tokens, header parsed here from its documented
layout), produced by cprune's tokenizer (whose ids are checked
independently against Hugging Face by the tokenizer tests).

Run by hand (needs python3-torch, python3-numpy from Debian):
  /usr/bin/python3 tests/oracle/ppl_oracle.py \
      --model ../shared/models/stories260K/stories260K.bin \
      --tokens-i32 /tmp/ts_eval.i32 --seqlen 512 --label tinystories/eval \
      --out tests/fixtures/ppl_stories260K_tinystories_eval.json
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import read_safetensors  # noqa: E402,F401  (also ppl_oracle.read_safetensors)


# ---- model readers ----

def load_llama2c(path):
    """llama2.c legacy checkpoint: 7 int32 header then fp32 tensors in
    run.c's memory_map_weights order."""
    with open(path, "rb") as f:
        raw = f.read()
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack("<7i", raw[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    hd = dim // n_heads
    data = np.frombuffer(raw, dtype="<f4", offset=28)
    off = 0

    def take(*shape):
        nonlocal off
        n = int(np.prod(shape))
        t = torch.from_numpy(data[off:off + n].copy()).reshape(*shape)
        off += n
        return t

    emb = take(vocab, dim)
    rms_att = take(n_layers, dim)
    wq = take(n_layers, n_heads * hd, dim)
    wk = take(n_layers, n_kv * hd, dim)
    wv = take(n_layers, n_kv * hd, dim)
    wo = take(n_layers, dim, n_heads * hd)
    rms_ffn = take(n_layers, dim)
    w1 = take(n_layers, hidden, dim)
    w2 = take(n_layers, dim, hidden)
    w3 = take(n_layers, hidden, dim)
    rms_final = take(dim)
    off += seq_len * hd // 2 * 2  # legacy freq_cis_real / freq_cis_imag
    wcls = emb if shared else take(vocab, dim)
    if off != data.size:
        raise SystemExit(f"{path}: {data.size - off} trailing floats; not a legacy checkpoint?")
    cfg = dict(hidden=dim, intermediate=hidden, n_layers=n_layers, n_heads=n_heads,
               n_kv=n_kv, head_dim=hd, vocab=vocab, context=seq_len, eps=1e-5,
               theta=10000.0, interleaved=True, rope_scaling=None, bos=1)
    layers = []
    for i in range(n_layers):
        layers.append(dict(attn_norm=rms_att[i], wq=wq[i], wk=wk[i], wv=wv[i], wo=wo[i],
                           mlp_norm=rms_ffn[i], w_gate=w1[i], w_up=w3[i], w_down=w2[i]))
    return cfg, dict(embed=emb, layers=layers, final_norm=rms_final, lm_head=wcls)


def load_hf(d):
    with open(os.path.join(d, "config.json")) as f:
        c = json.load(f)
    t = {}
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    for fn in files:
        t.update(read_safetensors(os.path.join(d, fn)))
    H = c["hidden_size"]
    nh = c["num_attention_heads"]
    hd = c.get("head_dim") or H // nh
    emb = t.get("model.embed_tokens.weight")
    head = t.get("lm_head.weight")
    if emb is None:
        emb = head  # tied, stored as lm_head only
    if head is None:
        head = emb
    layers = []
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        L = dict(attn_norm=t[p + "input_layernorm.weight"],
                 wq=t[p + "self_attn.q_proj.weight"], wk=t[p + "self_attn.k_proj.weight"],
                 wv=t[p + "self_attn.v_proj.weight"], wo=t[p + "self_attn.o_proj.weight"],
                 mlp_norm=t[p + "post_attention_layernorm.weight"],
                 w_gate=t[p + "mlp.gate_proj.weight"], w_up=t[p + "mlp.up_proj.weight"],
                 w_down=t[p + "mlp.down_proj.weight"])
        for b in ("q", "k", "v"):
            L["b" + b] = t.get(p + f"self_attn.{b}_proj.bias")
        layers.append(L)
    window = 0
    if c.get("model_type") == "mistral":
        window = c["sliding_window"] if "sliding_window" in c else 4096
        window = window or 0
    elif c.get("model_type") == "qwen2" and c.get("use_sliding_window"):
        raise SystemExit(f"{d}: Qwen2 use_sliding_window is not modelled here")
    cfg = dict(hidden=H, intermediate=c["intermediate_size"], n_layers=c["num_hidden_layers"],
               n_heads=nh, n_kv=c.get("num_key_value_heads", nh), head_dim=hd,
               vocab=c["vocab_size"], context=c.get("max_position_embeddings", 2048),
               eps=c.get("rms_norm_eps", 1e-6), theta=c.get("rope_theta", 10000.0),
               interleaved=False, rope_scaling=c.get("rope_scaling"), window=window,
               bos=c.get("bos_token_id", 1))
    return cfg, dict(embed=emb, layers=layers, final_norm=t["model.norm.weight"], lm_head=head)


# ---- the forward (HF LlamaForCausalLM semantics) ----

def inv_freq(cfg):
    d = cfg["head_dim"]
    inv = 1.0 / (cfg["theta"] ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    rs = cfg["rope_scaling"]
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor, lff, hff = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wl, high_wl = old / lff, old / hff
        wl = 2 * math.pi / inv
        inv_l = torch.where(wl > low_wl, inv / factor, inv)
        smooth = (old / wl - lff) / (hff - lff)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wl < high_wl) * ~(wl > low_wl)
        inv = torch.where(medium, smoothed, inv_l)
    return inv


def rope(x, cos, sin, interleaved):
    # x: (heads, T, d); cos/sin: (T, d/2)
    if interleaved:  # llama2.c / Meta: pairs (2i, 2i+1)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = torch.empty_like(x)
        out[..., 0::2] = x0 * cos - x1 * sin
        out[..., 1::2] = x1 * cos + x0 * sin
        return out
    c = torch.cat((cos, cos), dim=-1)  # HF rotate_half
    s = torch.cat((sin, sin), dim=-1)
    h = x.shape[-1] // 2
    rot = torch.cat((-x[..., h:], x[..., :h]), dim=-1)
    return x * c + rot * s


def rmsnorm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def forward(cfg, W, tok, dtype):
    T = tok.shape[0]
    nh, nkv, hd = cfg["n_heads"], cfg["n_kv"], cfg["head_dim"]
    f = lambda t: t.to(dtype)
    x = f(W["embed"])[tok]
    inv = inv_freq(cfg)
    ang = torch.arange(T).float()[:, None] * inv[None, :]
    cos, sin = f(ang.cos()), f(ang.sin())
    mask = torch.full((T, T), float("-inf"), dtype=dtype).triu(1)
    if cfg.get("window", 0) > 0:  # keys at or before i - window are hidden
        mask = mask + torch.full((T, T), float("-inf"), dtype=dtype).tril(-cfg["window"])
    for L in W["layers"]:
        h = rmsnorm(x, f(L["attn_norm"]), cfg["eps"])
        q, k, v = h @ f(L["wq"]).T, h @ f(L["wk"]).T, h @ f(L["wv"]).T
        if L.get("bq") is not None:
            q, k, v = q + f(L["bq"]), k + f(L["bk"]), v + f(L["bv"])
        q = q.view(T, nh, hd).transpose(0, 1)
        k = k.view(T, nkv, hd).transpose(0, 1)
        v = v.view(T, nkv, hd).transpose(0, 1)
        q, k = rope(q, cos, sin, cfg["interleaved"]), rope(k, cos, sin, cfg["interleaved"])
        rep = nh // nkv
        k = k.repeat_interleave(rep, dim=0)
        v = v.repeat_interleave(rep, dim=0)
        s = (q @ k.transpose(1, 2)) * hd ** -0.5 + mask
        p = torch.softmax(s, dim=-1)
        a = (p @ v).transpose(0, 1).reshape(T, nh * hd)
        x = x + a @ f(L["wo"]).T
        h = rmsnorm(x, f(L["mlp_norm"]), cfg["eps"])
        g = torch.nn.functional.silu(h @ f(L["w_gate"]).T) * (h @ f(L["w_up"]).T)
        x = x + g @ f(L["w_down"]).T
    x = rmsnorm(x, f(W["final_norm"]), cfg["eps"])
    return x @ f(W["lm_head"]).T


# ---- block-level entry points (used by prune_oracle.py; forward() above is
# left as it was) ----

def rope_tables(cfg, T, dtype=torch.float32):
    """cos, sin of shape (T, head_dim/2) for positions 0..T-1."""
    ang = torch.arange(T).float()[:, None] * inv_freq(cfg)[None, :]
    return ang.cos().to(dtype), ang.sin().to(dtype)


def decoder_block(cfg, L, x, cos, sin, taps=None, qblock=32):
    """One decoder block on a batch x of shape (B, T, hidden), positions
    0..T-1, causal; the same math as one iteration of forward()'s loop,
    with grouped-query attention computed per kv head and per block of
    qblock queries (keys up to the block's last query only: the masked
    keys contribute exact zeros, so only the summation order differs from
    forward(), which keeps the softmax input in cache on small CPUs).
    taps(name, input): called with the (B, T, in) input of each linear,
    name one of "attn" (q, k, v), "o", "mlp" (gate, up), "down"."""
    B, T, _ = x.shape
    nh, nkv, hd = cfg["n_heads"], cfg["n_kv"], cfg["head_dim"]
    rep = nh // nkv
    h = rmsnorm(x, L["attn_norm"], cfg["eps"])
    if taps:
        taps("attn", h)
    q, k, v = h @ L["wq"].T, h @ L["wk"].T, h @ L["wv"].T
    if L.get("bq") is not None:
        q, k, v = q + L["bq"], k + L["bk"], v + L["bv"]
    q = rope(q.view(B, T, nh, hd).transpose(1, 2), cos, sin, cfg["interleaved"])
    k = rope(k.view(B, T, nkv, hd).transpose(1, 2), cos, sin, cfg["interleaved"])
    v = v.view(B, T, nkv, hd).transpose(1, 2)
    q = q.reshape(B, nkv, rep, T, hd)  # head h uses kv head h // rep
    parts = []
    for t0 in range(0, T, qblock):
        t1 = min(T, t0 + qblock)
        tq = t1 - t0
        qb = q[:, :, :, t0:t1].reshape(B, nkv, rep * tq, hd)
        s = (qb @ k[:, :, :t1].transpose(-1, -2)).view(B, nkv, rep, tq, t1)
        s = s * hd ** -0.5 + torch.full((tq, t1), float("-inf"), dtype=x.dtype).triu(t0 + 1)
        p = torch.softmax(s, dim=-1).view(B, nkv, rep * tq, t1)
        parts.append((p @ v[:, :, :t1]).view(B, nh, tq, hd))
    a = torch.cat(parts, 2).transpose(1, 2).reshape(B, T, nh * hd)
    if taps:
        taps("o", a)
    x = x + a @ L["wo"].T
    h = rmsnorm(x, L["mlp_norm"], cfg["eps"])
    if taps:
        taps("mlp", h)
    g = torch.nn.functional.silu(h @ L["w_gate"].T) * (h @ L["w_up"].T)
    if taps:
        taps("down", g)
    return x + g @ L["w_down"].T


def final_logits(cfg, W, x):
    """Final RMSNorm and lm_head on the last block's output."""
    return rmsnorm(x, W["final_norm"], cfg["eps"]) @ W["lm_head"].T


# ---- tokens ----

def file_sha256(path_or_paths):
    """sha256 of a file, or of several files' bytes concatenated in order
    (cpr_model_sha256's definition for sharded checkpoints)."""
    h = hashlib.sha256()
    for p in ([path_or_paths] if isinstance(path_or_paths, str) else path_or_paths):
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def read_tokens(args):
    if args.tokens_i32:
        return np.fromfile(args.tokens_i32, dtype="<i4").astype(np.int64)
    raise SystemExit("give --tokens-i32 FILE (raw little-endian int32 ids)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="llama2.c .bin or HF directory")
    ap.add_argument("--tokens-i32", help="raw little-endian int32 token ids")
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--protocol", choices=["hf", "llamacpp"], default="hf")
    ap.add_argument("--max-chunks", type=int, default=0)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--label", default="", help="dataset/split, recorded in the output")
    ap.add_argument("--out", help="write the result JSON here")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = torch.float32 if args.dtype == "float32" else torch.float64

    if os.path.isdir(args.model):
        cfg, W = load_hf(args.model)
        mfile = os.path.join(args.model, "model.safetensors")
        if not os.path.exists(mfile):  # sharded: the shards in name order
            mfile = sorted(os.path.join(args.model, f) for f in os.listdir(args.model)
                           if f.startswith("model-") and f.endswith(".safetensors"))
    else:
        cfg, W = load_llama2c(args.model)
        mfile = args.model
    toks = read_tokens(args)
    sha_tok = hashlib.sha256(toks.astype("<i4").tobytes()).hexdigest()
    n, L = len(toks), args.seqlen
    nchunks = n // L
    if args.max_chunks:
        nchunks = min(nchunks, args.max_chunks)
    first = L // 2 if args.protocol == "llamacpp" else 0
    t0 = time.time()
    nll_sum, count, chunk_nll = 0.0, 0, []
    with torch.no_grad():
        for c in range(nchunks):
            chunk = torch.from_numpy(toks[c * L:(c + 1) * L].copy())
            inp = chunk.clone()
            if args.protocol == "llamacpp":
                inp[0] = cfg["bos"]
            logits = forward(cfg, W, inp, dtype)
            if args.protocol == "hf":
                # wanda lib/eval.py: CrossEntropyLoss on shift_logits / shift_labels
                loss = torch.nn.functional.cross_entropy(logits[:-1], chunk[1:])
                nll = float(loss.float()) * L          # neg_log_likelihood
                nll_sum += nll
                chunk_nll.append(float(loss))
            else:
                lp = torch.log_softmax(logits[first:L - 1].double(), dim=-1)
                tgt = chunk[first + 1:L]
                v = -lp[torch.arange(L - 1 - first), tgt]
                nll_sum += float(v.sum())
                count += L - 1 - first
                chunk_nll.append(float(v.mean()))
    if args.protocol == "hf":
        mean = nll_sum / (nchunks * L)
        scored = nchunks * (L - 1)
    else:
        mean = nll_sum / count
        scored = count
    res = dict(oracle="tests/oracle/ppl_oracle.py", torch=torch.__version__, dtype=args.dtype,
               model=os.path.basename(os.path.normpath(args.model)),
               model_sha256=file_sha256(mfile),
               dataset=args.label, protocol=args.protocol, seqlen=L, ntokens=n,
               tokens_sha256=sha_tok, nchunks=nchunks, ntokens_scored=scored,
               nll=mean, ppl=math.exp(mean), seconds=round(time.time() - t0, 2))
    print(json.dumps(res, indent=1))
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
