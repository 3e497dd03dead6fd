#!/usr/bin/python3
"""tests/oracle/prune_arch_oracle.py: Wanda and SparseGPT, as the official
code runs them, on small random models of the non-LLaMA families (OPT,
GPT-NeoX, GPT-2) in Hugging Face layout; writes the fixtures that
tests/test_prune_arch.c compares cprune against.

No cprune code and no transformers package. Written from the semantics of
the reference code (locuslab/wanda lib/prune_opt.py prune_wanda,
lib/layerwrapper.py WrappedGPT.add_batch; IST-DASLab/sparsegpt opt.py
opt_sequential, sparsegpt.py add_batch/fasterprune; METHODS_REFERENCE.md
A.0, A.3, A.4) and of transformers' modeling_opt.py, modeling_gpt_neox.py
and modeling_gpt2.py (float32, eager attention):

  OPT      h = embed_tokens[ids] + embed_positions[pos + 2]; per layer
           (pre-LN): h += out_proj(attn(q_proj(ln1 h) * hd^-0.5,
           k_proj(ln1 h), v_proj(ln1 h))); h += fc2(relu(fc1(ln2 h)));
           logits = ln_f(h) embed_tokens^T (tied).
  GPT-NeoX h = embed_in[ids]; per layer (use_parallel_residual):
           qkv = query_key_value(ln1 h) viewed (T, heads, 3*hd): per head
           q | k | v interleaved; RoPE (rotate_half, base rotary_emb_base)
           on the first int(hd * rotary_pct) dims of q and k;
           scores / sqrt(hd); h = h + dense(attn) +
           dense_4h_to_h(gelu_exact(dense_h_to_4h(ln2 h)));
           logits = final_layer_norm(h) embed_out^T (untied).
  GPT-2    h = wte[ids] + wpe[pos]; per layer (pre-LN): Conv1D c_attn
           (x @ W + b, W stored [in, out]) split q | k | v contiguous;
           scores / sqrt(hd); h += c_proj(attn); h += mlp.c_proj(
           gelu_new(mlp.c_fc(ln2 h))); logits = ln_f(h) wte^T (tied).

Pipeline (as the reference, and as cprune's methods/pipeline.h):
  calibration  sequential windows of one token stream (calib.i32):
               window i = tokens[i*seqlen:(i+1)*seqlen], as cprune's
               `--calib-sampling sequential`; the reference draws random C4
               windows instead (A.0).
  per block    every window through the still dense block, hooks at the
               input of every linear (the reference's find_layers finds the
               nn.Linear modules; the fused GPT-NeoX query_key_value is one
               of them, pruned as one matrix with rows = outputs); all
               linears pruned from that one pass; the pruned block re-run
               to make the next block's inputs. GPT-2's Conv1D weights are
               transposed to [out, in] and pruned as an nn.Linear would be
               (the reference's find_layers would not see them at all), then
               stored back as [in, out].
  wanda        scaler_row running mean per window in fp32; S = |W| *
               sqrt(scaler_row); per output row, stable sort, prune
               int(cols * s) smallest; 2:4 per group of 4 input columns, the
               2 smallest (ties to the lower column).
  sparsegpt    H = 2/nsamples sum X^T X (running mean per window);
               fasterprune with blocksize 128, percdamp 0.01, dead inputs.
  ppl          hf protocol on eval.i32: n // seqlen chunks, mean CE of the
               seqlen-1 shifted positions, exp(sum(loss*seqlen)/(n*seqlen)).

Fixture (per family): tests/fixtures/prune_arch_<family>/ holds the model
(config.json, model.safetensors), calib.i32 and eval.i32;
tests/fixtures/prune_arch_<family>.json the runs: per method and pattern
the ppl, the zero count, and per linear the sha256 of its keep/prune mask
(one byte per weight, 1 = pruned, row-major in [out, in] orientation).

  python3 tests/oracle/prune_arch_oracle.py --family opt --make
  python3 tests/oracle/prune_arch_oracle.py --family opt
(--make writes the model and token streams; without it the runs are
computed from the files in the fixture directory and the JSON written.)
"""
import argparse
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import read_safetensors, write_config, write_json, write_safetensors  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
NSAMPLES, SEQLEN = 16, 64


# ---- shared pieces of the blocks ----

def layer_norm(x, W, n, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), W[n + ".weight"], W[n + ".bias"], eps)


def causal_attention(q, k, v):
    """q, k, v: (B, heads, T, hd), q already scaled; eager softmax."""
    T = q.shape[2]
    mask = torch.full((T, T), float("-inf")).triu(1)
    return torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1) @ v


def heads(x, nh):
    B, T, C = x.shape
    return x.view(B, T, nh, C // nh).transpose(1, 2)


def merge(x):
    B, nh, T, hd = x.shape
    return x.transpose(1, 2).reshape(B, T, nh * hd)


class Family:
    """name: model_type; prefix: a layer's tensor prefix (printf form);
    linears(i): (module name, input site) of block i's linears, the
    module name also keys the hooked statistics; conv1d: weights stored
    [in, out]."""

    def lin(self, W, p, x, tap):
        if tap is not None:
            tap(p, x)
        w = W[p + ".weight"]
        y = x @ w if self.conv1d else x @ w.T
        return y + W[p + ".bias"]


class OPT(Family):
    name, conv1d, prefix = "opt", False, "model.decoder.layers.%d."

    def make(self, d, rng, H=32, L=2, NH=4, F=160, V=96, CTX=128):
        u = lambda *s, a=0.3: rng.uniform(-a, a, size=s).astype(np.float32)
        p = "model.decoder."
        t = {p + "embed_tokens.weight": u(V, H, a=0.5),
             p + "embed_positions.weight": u(CTX + 2, H, a=0.3),
             p + "final_layer_norm.weight": 1 + u(H, a=0.2),
             p + "final_layer_norm.bias": u(H, a=0.2)}
        for i in range(L):
            q = f"{p}layers.{i}."
            for n in ("q", "k", "v", "out"):
                t[q + f"self_attn.{n}_proj.weight"] = u(H, H)
                t[q + f"self_attn.{n}_proj.bias"] = u(H, a=0.2)
            for n in ("self_attn_layer_norm", "final_layer_norm"):
                t[q + n + ".weight"] = 1 + u(H, a=0.2)
                t[q + n + ".bias"] = u(H, a=0.2)
            t[q + "fc1.weight"], t[q + "fc1.bias"] = u(F, H, a=0.4), u(F, a=0.2)
            t[q + "fc2.weight"], t[q + "fc2.bias"] = u(H, F, a=0.15), u(H, a=0.2)
        cfg = {"architectures": ["OPTForCausalLM"], "model_type": "opt", "hidden_size": H,
               "ffn_dim": F, "num_hidden_layers": L, "num_attention_heads": NH,
               "vocab_size": V, "max_position_embeddings": CTX, "word_embed_proj_dim": H,
               "activation_function": "relu", "do_layer_norm_before": True,
               "enable_bias": True, "layer_norm_elementwise_affine": True,
               "tie_word_embeddings": True, "bos_token_id": 2, "eos_token_id": 2,
               "pad_token_id": 1, "torch_dtype": "float32"}
        return cfg, t

    def linears(self, c, i):
        p = f"model.decoder.layers.{i}."
        return [(p + "self_attn.q_proj", "attn"), (p + "self_attn.k_proj", "attn"),
                (p + "self_attn.v_proj", "attn"), (p + "self_attn.out_proj", "o"),
                (p + "fc1", "mlp"), (p + "fc2", "down")]

    def embed(self, c, W, ids):
        T = ids.shape[1]
        p = "model.decoder."
        return W[p + "embed_tokens.weight"][ids] + W[p + "embed_positions.weight"][torch.arange(T) + 2]

    def block(self, c, W, i, h, tap=None):
        nh = c["num_attention_heads"]
        hd = c["hidden_size"] // nh
        p = f"model.decoder.layers.{i}."
        x = layer_norm(h, W, p + "self_attn_layer_norm", 1e-5)
        q = self.lin(W, p + "self_attn.q_proj", x, tap) * hd ** -0.5
        k = self.lin(W, p + "self_attn.k_proj", x, tap)
        v = self.lin(W, p + "self_attn.v_proj", x, tap)
        a = merge(causal_attention(heads(q, nh), heads(k, nh), heads(v, nh)))
        h = h + self.lin(W, p + "self_attn.out_proj", a, tap)
        x = layer_norm(h, W, p + "final_layer_norm", 1e-5)
        u = torch.relu(self.lin(W, p + "fc1", x, tap))
        return h + self.lin(W, p + "fc2", u, tap)

    def logits(self, c, W, h):
        h = layer_norm(h, W, "model.decoder.final_layer_norm", 1e-5)
        return h @ W["model.decoder.embed_tokens.weight"].T


class NeoX(Family):
    name, conv1d, prefix = "gpt_neox", False, "gpt_neox.layers.%d."

    def make(self, d, rng, H=32, L=2, NH=4, F=160, V=96, CTX=128):
        u = lambda *s, a=0.3: rng.uniform(-a, a, size=s).astype(np.float32)
        t = {"gpt_neox.embed_in.weight": u(V, H, a=0.5),
             "gpt_neox.final_layer_norm.weight": 1 + u(H, a=0.2),
             "gpt_neox.final_layer_norm.bias": u(H, a=0.2),
             "embed_out.weight": u(V, H, a=0.5)}
        for i in range(L):
            q = f"gpt_neox.layers.{i}."
            for n in ("input_layernorm", "post_attention_layernorm"):
                t[q + n + ".weight"] = 1 + u(H, a=0.2)
                t[q + n + ".bias"] = u(H, a=0.2)
            t[q + "attention.query_key_value.weight"] = u(3 * H, H)
            t[q + "attention.query_key_value.bias"] = u(3 * H, a=0.2)
            t[q + "attention.dense.weight"] = u(H, H)
            t[q + "attention.dense.bias"] = u(H, a=0.2)
            t[q + "mlp.dense_h_to_4h.weight"] = u(F, H, a=0.4)
            t[q + "mlp.dense_h_to_4h.bias"] = u(F, a=0.2)
            t[q + "mlp.dense_4h_to_h.weight"] = u(H, F, a=0.15)
            t[q + "mlp.dense_4h_to_h.bias"] = u(H, a=0.2)
        cfg = {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox",
               "hidden_size": H, "intermediate_size": F, "num_hidden_layers": L,
               "num_attention_heads": NH, "vocab_size": V, "max_position_embeddings": CTX,
               "rotary_pct": 0.5, "rotary_emb_base": 10000, "hidden_act": "gelu",
               "layer_norm_eps": 1e-5, "use_parallel_residual": True,
               "attention_bias": True, "tie_word_embeddings": False,
               "initializer_range": 0.02, "use_cache": True, "bos_token_id": 0,
               "eos_token_id": 0, "torch_dtype": "float32"}
        return cfg, t

    def linears(self, c, i):
        p = f"gpt_neox.layers.{i}."
        return [(p + "attention.query_key_value", "attn"), (p + "attention.dense", "o"),
                (p + "mlp.dense_h_to_4h", "mlp"), (p + "mlp.dense_4h_to_h", "down")]

    def embed(self, c, W, ids):
        return W["gpt_neox.embed_in.weight"][ids]

    def block(self, c, W, i, h, tap=None):
        nh = c["num_attention_heads"]
        hd = c["hidden_size"] // nh
        eps = c["layer_norm_eps"]
        B, T, _ = h.shape
        p = f"gpt_neox.layers.{i}."
        x = layer_norm(h, W, p + "input_layernorm", eps)
        qkv = self.lin(W, p + "attention.query_key_value", x, tap)
        qkv = qkv.view(B, T, nh, 3 * hd).permute(0, 2, 1, 3)
        q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
        rd = int(hd * c["rotary_pct"])
        inv = 1.0 / (c["rotary_emb_base"] ** (torch.arange(0, rd, 2).float() / rd))
        f = torch.arange(T).float()[:, None] * inv[None, :]
        emb = torch.cat((f, f), dim=-1)
        cos, sin = emb.cos(), emb.sin()

        def rope(t):
            r, rest = t[..., :rd], t[..., rd:]
            half = torch.cat((-r[..., rd // 2:], r[..., :rd // 2]), dim=-1)
            return torch.cat((r * cos + half * sin, rest), dim=-1)

        q, k = rope(q), rope(k)
        a = merge(causal_attention(q / math.sqrt(hd), k, v))
        attn = self.lin(W, p + "attention.dense", a, tap)
        x2 = layer_norm(h, W, p + "post_attention_layernorm", eps)
        u = torch.nn.functional.gelu(self.lin(W, p + "mlp.dense_h_to_4h", x2, tap))
        return h + attn + self.lin(W, p + "mlp.dense_4h_to_h", u, tap)

    def logits(self, c, W, h):
        h = layer_norm(h, W, "gpt_neox.final_layer_norm", c["layer_norm_eps"])
        return h @ W["embed_out.weight"].T


class GPT2(Family):
    name, conv1d, prefix = "gpt2", True, "transformer.h.%d."

    def make(self, d, rng, H=32, L=2, NH=4, F=160, V=96, CTX=128):
        u = lambda *s, a=0.3: rng.uniform(-a, a, size=s).astype(np.float32)
        t = {"transformer.wte.weight": u(V, H, a=0.5),
             "transformer.wpe.weight": u(CTX, H, a=0.3),
             "transformer.ln_f.weight": 1 + u(H, a=0.2),
             "transformer.ln_f.bias": u(H, a=0.2)}
        for i in range(L):
            q = f"transformer.h.{i}."
            for n in ("ln_1", "ln_2"):
                t[q + n + ".weight"] = 1 + u(H, a=0.2)
                t[q + n + ".bias"] = u(H, a=0.2)
            # Conv1D: [in, out]
            t[q + "attn.c_attn.weight"] = u(H, 3 * H)
            t[q + "attn.c_attn.bias"] = u(3 * H, a=0.2)
            t[q + "attn.c_proj.weight"] = u(H, H)
            t[q + "attn.c_proj.bias"] = u(H, a=0.2)
            t[q + "mlp.c_fc.weight"] = u(H, F, a=0.4)
            t[q + "mlp.c_fc.bias"] = u(F, a=0.2)
            t[q + "mlp.c_proj.weight"] = u(F, H, a=0.15)
            t[q + "mlp.c_proj.bias"] = u(H, a=0.2)
        cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": H,
               "n_layer": L, "n_head": NH, "n_inner": F, "vocab_size": V,
               "n_positions": CTX, "n_ctx": CTX, "activation_function": "gelu_new",
               "layer_norm_epsilon": 1e-5, "scale_attn_weights": True,
               "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
               "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1,
               "initializer_range": 0.02, "tie_word_embeddings": True,
               "bos_token_id": V - 1, "eos_token_id": V - 1, "torch_dtype": "float32"}
        return cfg, t

    def linears(self, c, i):
        p = f"transformer.h.{i}."
        return [(p + "attn.c_attn", "attn"), (p + "attn.c_proj", "o"),
                (p + "mlp.c_fc", "mlp"), (p + "mlp.c_proj", "down")]

    def embed(self, c, W, ids):
        T = ids.shape[1]
        return W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][torch.arange(T)]

    def block(self, c, W, i, h, tap=None):
        nh, H = c["n_head"], c["n_embd"]
        hd = H // nh
        eps = c["layer_norm_epsilon"]
        p = f"transformer.h.{i}."
        x = layer_norm(h, W, p + "ln_1", eps)
        q, k, v = self.lin(W, p + "attn.c_attn", x, tap).split(H, dim=-1)
        a = merge(causal_attention(heads(q, nh) / math.sqrt(hd), heads(k, nh), heads(v, nh)))
        h = h + self.lin(W, p + "attn.c_proj", a, tap)
        x = layer_norm(h, W, p + "ln_2", eps)
        u = torch.nn.functional.gelu(self.lin(W, p + "mlp.c_fc", x, tap), approximate="tanh")
        return h + self.lin(W, p + "mlp.c_proj", u, tap)

    def logits(self, c, W, h):
        h = layer_norm(h, W, "transformer.ln_f", c["layer_norm_epsilon"])
        return h @ W["transformer.wte.weight"].T


FAMILIES = {f.name: f for f in (OPT(), NeoX(), GPT2())}


def n_layers(c):
    return c.get("num_hidden_layers", c.get("n_layer"))


# ---- the official algorithms ----

def nm_prune_mask(score, n, m):
    """True where pruned: per row and group of m columns the n smallest
    (stable sort: ties to the lower column)."""
    rows, cols = score.shape
    g = score.reshape(rows, cols // m, m)
    order = torch.sort(g, dim=-1, stable=True)[1]
    mask = torch.zeros_like(g, dtype=torch.bool)
    mask.scatter_(-1, order[..., :n], True)
    return mask.reshape(rows, cols)


def wanda_prune(w, scaler_row, pat):
    score = w.abs() * scaler_row.sqrt()[None, :]
    if pat["n"]:
        mask = nm_prune_mask(score, pat["n"], pat["m"])
    else:
        k = int(w.shape[1] * pat["s"])
        order = torch.sort(score, dim=1, stable=True)[1]
        mask = torch.zeros_like(w, dtype=torch.bool)
        mask.scatter_(1, order[:, :k], True)
    return w.masked_fill(mask, 0.0)


def sparsegpt_prune(w, H, pat, blocksize=128, percdamp=0.01):
    W = w.clone().float()
    H = H.clone()
    rows, cols = W.shape
    dead = torch.diagonal(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    idx = torch.arange(cols)
    H[idx, idx] += percdamp * torch.diagonal(H).mean()
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    for b0 in range(0, cols, blocksize):
        b1 = min(cols, b0 + blocksize)
        Wb = W[:, b0:b1].clone()
        Ub = U[b0:b1, b0:b1]
        dg = torch.diagonal(Ub)
        Qb = torch.zeros_like(Wb)
        Eb = torch.zeros_like(Wb)
        if pat["n"]:
            prune = torch.zeros_like(Wb, dtype=torch.bool)
        else:
            tmp = Wb ** 2 / dg[None, :] ** 2
            prune = tmp <= torch.sort(tmp.flatten())[0][int(tmp.numel() * pat["s"])]
        for j in range(b1 - b0):
            if pat["n"] and j % pat["m"] == 0:
                m = pat["m"]
                prune[:, j:j + m] |= nm_prune_mask(Wb[:, j:j + m] ** 2 / dg[None, j:j + m] ** 2,
                                                   pat["n"], m)
            col = Wb[:, j]
            q = torch.where(prune[:, j], torch.zeros_like(col), col)
            e = (col - q) / Ub[j, j]
            Wb[:, j:] -= e[:, None] * Ub[j, j:][None, :]
            Qb[:, j] = q
            Eb[:, j] = e
        W[:, b0:b1] = Qb
        W[:, b1:] -= Eb @ U[b0:b1, b1:]
    return W


class Stats:
    """wanda's scaler_row or SparseGPT's H per hooked linear, one window
    (batch dimension 1) per add_batch, running mean over windows."""

    def __init__(self, kind):
        self.kind, self.acc, self.count = kind, {}, {}

    def __call__(self, name, x):
        for X in x.float():
            k = self.count.get(name, 0)
            if name not in self.acc:
                cols = X.shape[1]
                self.acc[name] = (torch.zeros(cols) if self.kind == "wanda"
                                  else torch.zeros(cols, cols))
            a = self.acc[name]
            a *= k / (k + 1)
            if self.kind == "wanda":
                a += (X * X).sum(0) / (k + 1)
            else:
                Xs = math.sqrt(2 / (k + 1)) * X
                a += Xs.T @ Xs
            self.count[name] = k + 1


def out_in(fam, w):
    """The weight as [out, in] (GPT-2 Conv1D is stored [in, out])."""
    return w.T.contiguous() if fam.conv1d else w


def prune_model(fam, c, W, method, pat, windows):
    Wp = dict(W)
    xs = fam.embed(c, W, windows)  # the inputs of block 0 (Catcher)
    with torch.no_grad():
        for i in range(n_layers(c)):
            st = Stats(method)
            for b in range(xs.shape[0]):  # one window per forward (batch 1)
                fam.block(c, Wp, i, xs[b:b + 1], tap=st)
            for name, _tap in fam.linears(c, i):
                w = out_in(fam, Wp[name + ".weight"])
                acc = st.acc[name]
                if st.count[name] != windows.shape[0]:
                    raise SystemExit("internal: statistic count != nsamples")
                w = wanda_prune(w, acc, pat) if method == "wanda" else sparsegpt_prune(w, acc, pat)
                Wp[name + ".weight"] = out_in(fam, w)
            xs = torch.cat([fam.block(c, Wp, i, xs[b:b + 1]) for b in range(xs.shape[0])])
    return Wp


def eval_ppl(fam, c, W, toks, seqlen):
    nch = len(toks) // seqlen
    nll = 0.0
    with torch.no_grad():
        for ci in range(nch):
            chunk = torch.from_numpy(toks[ci * seqlen:(ci + 1) * seqlen].astype(np.int64))[None]
            h = fam.embed(c, W, chunk)
            for i in range(n_layers(c)):
                h = fam.block(c, W, i, h)
            logits = fam.logits(c, W, h)[0]
            nll += float(torch.nn.functional.cross_entropy(logits[:-1], chunk[0, 1:])) * seqlen
    mean = nll / (nch * seqlen)
    return mean, math.exp(mean)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", required=True, choices=sorted(FAMILIES))
    ap.add_argument("--make", action="store_true", help="write the model and token streams")
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--runs", default="dense,wanda:50%,wanda:2:4,sparsegpt:50%,sparsegpt:2:4")
    a = ap.parse_args()
    torch.set_num_threads(1)
    fam = FAMILIES[a.family]
    d = os.path.join(FIX, f"prune_arch_{fam.name}")
    if a.make:
        os.makedirs(d, exist_ok=True)
        cfg, t = fam.make(d, np.random.default_rng(a.seed))
        write_safetensors(os.path.join(d, "model.safetensors"), t)
        write_config(d, cfg)
        # calibration and evaluation streams: a repeating "sentence" of 24
        # tokens with random substitutions, so the statistics have structure
        V = cfg["vocab_size"]
        rng = np.random.default_rng(a.seed + 1)
        base = rng.integers(0, V, size=24)

        def stream(n):
            s = np.resize(base, n).astype("<i4")
            sub = rng.random(n) < 0.3
            s[sub] = rng.integers(0, V, size=int(sub.sum()))
            return s.astype("<i4")
        stream(NSAMPLES * SEQLEN).tofile(os.path.join(d, "calib.i32"))
        stream(8 * SEQLEN).tofile(os.path.join(d, "eval.i32"))
        return
    c = json.load(open(os.path.join(d, "config.json")))
    mf = os.path.join(d, "model.safetensors")
    W = read_safetensors(mf)
    calib = np.fromfile(os.path.join(d, "calib.i32"), dtype="<i4")
    ev = np.fromfile(os.path.join(d, "eval.i32"), dtype="<i4")
    windows = torch.from_numpy(calib[:NSAMPLES * SEQLEN].astype(np.int64)).view(NSAMPLES, SEQLEN)
    sha = lambda b: hashlib.sha256(b).hexdigest()
    runs = []
    for spec in a.runs.split(","):
        method, _, p = spec.partition(":")
        if method == "dense":
            pat, Wp = None, W
        else:
            if ":" in p:
                n, m = (int(v) for v in p.split(":"))
                pat = dict(name=p, n=n, m=m, s=n / m)
            else:
                pat = dict(name=p, n=0, m=0, s=float(p.rstrip("%")) / 100)
            Wp = prune_model(fam, c, W, method, pat, windows)
        nll, ppl = eval_ppl(fam, c, Wp, ev, SEQLEN)
        masks, zeros, numel = {}, 0, 0
        for i in range(n_layers(c)):
            for name, _tap in fam.linears(c, i):
                w = out_in(fam, Wp[name + ".weight"])
                mk = (w == 0).numpy().astype(np.uint8)
                masks[name] = sha(mk.tobytes())
                zeros, numel = zeros + int(mk.sum()), numel + mk.size
        runs.append(dict(method=method, pattern=pat["name"] if pat else "dense", nll=nll,
                         ppl=ppl, zeros=zeros, numel=numel, mask_sha256=masks))
        print(f"{fam.name:>9} {method:>9} {runs[-1]['pattern']:>5} ppl {ppl:.6f} "
              f"zeros {zeros}/{numel}", flush=True)
    res = dict(oracle="tests/oracle/prune_arch_oracle.py", family=fam.name,
               torch=torch.__version__, dtype="float32",
               model_sha256=sha(open(mf, "rb").read()),
               calib=dict(file="calib.i32", sampling="sequential", nsamples=NSAMPLES,
                          seqlen=SEQLEN, sha256=sha(calib.astype("<i4").tobytes())),
               eval=dict(file="eval.i32", protocol="hf", seqlen=SEQLEN,
                         sha256=sha(ev.astype("<i4").tobytes())),
               sparsegpt=dict(blocksize=128, percdamp=0.01),
               layer_prefix=fam.prefix,
               mask="sha256 of one byte per weight (1 = zero), row-major [out, in]",
               runs=runs)
    out = os.path.join(FIX, f"prune_arch_{fam.name}.json")
    write_json(out, res)
    print("wrote", out)


if __name__ == "__main__":
    main()
