#!/usr/bin/python3
"""tests/oracle/opt_oracle.py: an independent PyTorch oracle for OPT.

Two jobs, no cprune code and no transformers package:

  --make DIR   write a small random OPTForCausalLM in Hugging Face layout
               (config.json with OPTConfig's keys, model.safetensors with
               transformers' tensor names, lm_head tied to embed_tokens),
               weights from numpy with a fixed seed;
  --model DIR  read such a directory (own safetensors reader) and compute
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
import hashlib
import json
import math
import os
import struct

import numpy as np
import torch


def write_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = dict(dtype="F32", shape=list(arr.shape), data_offsets=[off, off + len(b)])
        off += len(b)
        blobs.append(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    out = {}
    for name, info in hdr.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name}: dtype {info['dtype']} not handled")
        a, b = info["data_offsets"]
        arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").copy()
        out[name] = torch.from_numpy(arr.reshape(info["shape"]))
    return out


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
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    # a fixed token stream (4 chunks of 64)
    x, toks = seed, []
    for _ in range(4 * 64):
        x = (1103515245 * x + 12345) % (1 << 31)
        toks.append((x >> 8) % V)
    np.array(toks, dtype="<i4").tofile(os.path.join(d, "tokens.i32"))


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
    ap.add_argument("--make")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--model")
    ap.add_argument("--tokens-i32")
    ap.add_argument("--seqlen", type=int, default=64)
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.make:
        make(a.make, a.seed)
        return
    c = json.load(open(os.path.join(a.model, "config.json")))
    mf = os.path.join(a.model, "model.safetensors")
    W = read_safetensors(mf)
    toks = np.fromfile(a.tokens_i32, dtype="<i4")
    L, n = a.seqlen, len(toks)
    nchunks, nll_sum = n // L, 0.0
    with torch.no_grad():
        for i in range(nchunks):
            chunk = torch.from_numpy(toks[i * L:(i + 1) * L].astype(np.int64))
            logits = forward(c, W, chunk)
            loss = torch.nn.functional.cross_entropy(logits[:-1], chunk[1:])
            nll_sum += float(loss) * L
    mean = nll_sum / (nchunks * L)
    res = dict(oracle="tests/oracle/opt_oracle.py", torch=torch.__version__, dtype="float32",
               model=os.path.basename(os.path.normpath(a.model)),
               model_sha256=hashlib.sha256(open(mf, "rb").read()).hexdigest(),
               protocol="hf", seqlen=L, ntokens=n, nchunks=nchunks,
               tokens_sha256=hashlib.sha256(toks.astype("<i4").tobytes()).hexdigest(),
               nll=mean, ppl=math.exp(mean))
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
