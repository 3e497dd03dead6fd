"""tests/oracle/common.py: the pieces the PyTorch oracles share, written once.

No cprune code and no transformers package. Imported by the oracles in this
folder (they put the folder on sys.path, so `python3 tests/oracle/x.py`
works from the repository root):

  safetensors    write_safetensors (F32 only, header padded to 8 bytes,
                 written atomically) and read_safetensors (F32, F16, BF16,
                 all returned as float32 torch tensors);
  tiny models    write_config (config.json as the oracles write it) and
                 write_lcg_tokens (the fixed token stream of the tiny family
                 fixtures: 4 chunks of 64 from an LCG);
  perplexity     hf_perplexity_main: the --model job of the family oracles
                 (opt, neox_gpt2, qwen3_gemma): perplexity of a raw int32
                 token stream under the hf protocol (nsamples = n // seqlen
                 chunks, CrossEntropyLoss over the seqlen-1 shifted
                 positions, ppl = exp(sum(loss * seqlen) / (nsamples *
                 seqlen))), optionally the logits of the first chunk;
  structured     the scaffolding of the structured-pruning oracles (flap,
                 cfsp): their common options, inputs, record header and
                 per-layer masks;
  output         write_json (indent 1, trailing newline, atomic).
"""
import hashlib
import json
import math
import os
import struct

import numpy as np
import torch


# ---- safetensors ----

def write_safetensors(path, tensors):
    """tensors: name -> array, written as little-endian F32 in that order."""
    header, off, blobs = {}, 0, []
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = dict(dtype="F32", shape=list(arr.shape), data_offsets=[off, off + len(b)])
        off += len(b)
        blobs.append(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def read_safetensors(path):
    """name -> float32 torch tensor (F32 as stored; F16 and BF16 widened)."""
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen])
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = raw[base + a:base + b]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(buf, dtype="<f4").copy()
        elif dt == "F16":
            arr = np.frombuffer(buf, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            u = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            raise SystemExit(f"{path}: tensor {name}: dtype {dt} not handled")
        out[name] = torch.from_numpy(arr.reshape(info["shape"]))
    return out


# ---- tiny family models ----

def write_config(d, cfg):
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def lcg_tokens(seed, n, V):
    """n ids in [0, V) from the LCG x = (1103515245 x + 12345) mod 2^31."""
    x, out = seed, []
    for _ in range(n):
        x = (1103515245 * x + 12345) % (1 << 31)
        out.append((x >> 8) % V)
    return np.array(out, dtype="<i4")


def write_lcg_tokens(d, seed, V):
    """d/tokens.i32: the fixed stream of the family fixtures (4 x 64)."""
    lcg_tokens(seed, 4 * 64, V).tofile(os.path.join(d, "tokens.i32"))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


# ---- the hf-protocol perplexity of a family oracle ----

def hf_perplexity_main(a, oracle, forward, family=None, logits0=False):
    """The --model job: a.model (config.json, model.safetensors), the raw
    int32 stream a.tokens_i32 in chunks of a.seqlen through forward(c, W,
    ids) -> (T, vocab) logits; prints the record and writes it to a.out.
    family: the record's "family" field (None: none); logits0: also write
    the first chunk's logits (float32, seqlen x vocab) to a.model/logits0.f32."""
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
            if logits0 and i == 0:
                logits.numpy().astype("<f4").tofile(os.path.join(a.model, "logits0.f32"))
            loss = torch.nn.functional.cross_entropy(logits[:-1], chunk[1:])
            nll_sum += float(loss) * L
    mean = nll_sum / (nchunks * L)
    res = dict(oracle=oracle, torch=torch.__version__, dtype="float32")
    if family is not None:
        res["family"] = family
    res.update(model=os.path.basename(os.path.normpath(a.model)),
               model_sha256=hashlib.sha256(open(mf, "rb").read()).hexdigest(),
               protocol="hf", seqlen=L, ntokens=n, nchunks=nchunks,
               tokens_sha256=hashlib.sha256(toks.astype("<i4").tobytes()).hexdigest())
    if logits0:
        res["logits"] = "logits0.f32 (first chunk, seqlen x vocab, float32)"
    res.update(nll=mean, ppl=math.exp(mean))
    print(json.dumps(res, indent=1))
    if a.out:
        write_json(a.out, res)


def add_family_args(ap, seed):
    """The options of the family oracles (--make DIR or --model DIR)."""
    ap.add_argument("--make")
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--model")
    ap.add_argument("--tokens-i32")
    ap.add_argument("--seqlen", type=int, default=64)
    ap.add_argument("--out")


# ---- structured-pruning oracles (flap, cfsp) ----

def add_struct_args(ap):
    """Model, token files, calibration and evaluation sizes, output."""
    ap.add_argument("--model", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--nsamples", type=int, default=16)
    ap.add_argument("--seqlen", type=int, default=128)
    ap.add_argument("--max-chunks", type=int, default=20)
    ap.add_argument("--out")


def struct_inputs(args):
    """(cfg, W, calib, windows, eval stream): the LLaMA model (HF folder or
    llama2.c file) with float32 linears, the calibration stream's first
    nsamples sequential windows of seqlen and the evaluation stream."""
    import ppl_oracle  # the model readers; imported here so the family
    import prune_oracle  # oracles need neither
    torch.set_num_threads(1)
    if os.path.isdir(args.model):
        cfg, W = ppl_oracle.load_hf(args.model)
    else:
        cfg, W = ppl_oracle.load_llama2c(args.model)
    for L in W["layers"]:
        for k in ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down"):
            L[k] = L[k].float()
    calib = prune_oracle.read_token_stream(args.calib)
    windows = prune_oracle.calib_windows(calib, args.nsamples, args.seqlen)
    ev = prune_oracle.read_token_stream(args.eval)
    return cfg, W, calib, windows, ev


def struct_record(oracle, args, cfg, calib, ev):
    """The fixture's header; the caller appends to its "runs"."""
    import prune_oracle
    return dict(oracle=oracle,
                model=os.path.basename(os.path.normpath(args.model)),
                calibration=dict(nsamples=args.nsamples, seqlen=args.seqlen,
                                 **prune_oracle.stream_info(calib)),
                eval=dict(seqlen=cfg["context"], max_chunks=args.max_chunks,
                          **prune_oracle.stream_info(ev)),
                torch=torch.__version__, runs=[])


def kept_layers(masks):
    """Per layer (keep_kv, keep_channels) bool masks -> the kept indices."""
    return [dict(kept_kv_groups=[int(i) for i in torch.nonzero(k).flatten()],
                 kept_channels=[int(i) for i in torch.nonzero(c).flatten()])
            for k, c in masks]


# ---- output ----

def write_json(path, res):
    with open(path + ".tmp", "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
