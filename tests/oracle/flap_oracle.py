#!/usr/bin/python3
"""tests/oracle/flap_oracle.py: an independent PyTorch oracle of the official
FLAP repository's structured pruning (CASIA-IVA-Lab/FLAP lib/prune.py
prune_flap, prune_wanda_sp, prune_magnitude_sp, compress, cal_remove_neuron;
lib/layerwrapper.py BiasGPT, WrappedGPT), then perplexity; writes the
struct_oracle_*.json fixtures that tests/cli_struct.sh compares with
`cprune prune --method flap|wanda-sp|magnitude-sp --json`.

Written from the semantics of the reference code, not copied from it, and
without cprune code. Model readers, RoPE and RMSNorm come from
ppl_oracle.py; the block here adds the o_proj / down_proj biases and takes
per-layer head counts (the pruned model), as HF's LlamaAttention / LlamaMLP
with bias=True do.

Adaptations (the reference is MHA LLaMA-1 on a GPU in fp16):
  units        an attention unit is a KV group: rep = n_heads / n_kv query
               heads and their k/v head; its o_proj columns are rep*head_dim
               consecutive columns (the reference: 128 per head). Removing
               it removes q rows, k/v rows and o columns of the whole group.
  AL-AM weight the reference stores 512.0/3 into an int64 tensor (170);
               here int((2*rep*hd + 2*hd) / 3) (stories260K 16, 656k 32).
  precision    float32 model, statistics accumulated in float64 (the
               reference: fp16 inputs, fp32 accumulators); baselines cast to
               fp16 for the compensation as the reference does.
  calibration  the first nsamples windows of one token stream (cprune's
               sequential sampling), not random wikitext2/c4 windows.
Quirks kept: fluc_inp is 0 after the first window and old/new baselines
alias (the deviation uses the updated mean); the attention metric is
squared; per-layer thresholds keep everything >= sorted[int(r*n)]; AL-AM
standardises with the unbiased std and keeps metric > threshold at the
argmin of |cumsum(weights) - sum(weights)*(1-r)| (float32 arithmetic);
FLAP scores the dense model (every block reads the unpruned block's
output); wanda-sp prunes block by block (the pruned block feeds the next).

Usage (from the repository root; token files from `cprune tokenize`):
  python3 tests/oracle/flap_oracle.py --model M --calib calib.tok \
      --eval eval.tok --nsamples 16 --seqlen 128 --max-chunks 20 \
      --runs flap:0.2,flap:0.5,wanda-sp:0.2,magnitude-sp:0.2 --out F.json
"""
import argparse
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import ppl_oracle  # noqa: E402


def block(cfg, L, x, cos, sin, taps=None):
    """HF LlamaDecoderLayer (o_proj / down_proj with optional bias), per-
    layer head counts in L["nh"], L["nkv"]."""
    B, T, _ = x.shape
    nh, nkv, hd = L["nh"], L["nkv"], cfg["head_dim"]
    rep = nh // nkv
    h = ppl_oracle.rmsnorm(x, L["attn_norm"], cfg["eps"])
    q = (h @ L["wq"].T).view(B, T, nh, hd).transpose(1, 2)
    k = (h @ L["wk"].T).view(B, T, nkv, hd).transpose(1, 2)
    v = (h @ L["wv"].T).view(B, T, nkv, hd).transpose(1, 2)
    q = ppl_oracle.rope(q, cos, sin, cfg["interleaved"])
    k = ppl_oracle.rope(k, cos, sin, cfg["interleaved"])
    k = k.repeat_interleave(rep, dim=1)  # HF repeat_kv
    v = v.repeat_interleave(rep, dim=1)
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    s = s + torch.full((T, T), float("-inf")).triu(1)
    a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, nh * hd)
    if taps:
        taps("o", a)
    o = a @ L["wo"].T
    if L.get("bo") is not None:
        o = o + L["bo"]
    x = x + o
    h = ppl_oracle.rmsnorm(x, L["mlp_norm"], cfg["eps"])
    g = torch.nn.functional.silu(h @ L["w_gate"].T) * (h @ L["w_up"].T)
    if taps:
        taps("down", g)
    d = g @ L["w_down"].T
    if L.get("bdown") is not None:
        d = d + L["bdown"]
    return x + d


class BiasStats:
    """BiasGPT.add_batch semantics, one window at a time, float64."""

    def __init__(self):
        self.n, self.mu, self.fluc, self.scaler = {}, {}, {}, {}

    def __call__(self, name, x):
        for X in x.double():  # (T, in)
            n = self.n.get(name, 0)
            if name not in self.mu:
                self.mu[name] = torch.zeros(X.shape[1], dtype=torch.float64)
                self.fluc[name] = torch.zeros(X.shape[1], dtype=torch.float64)
                self.scaler[name] = torch.zeros(X.shape[1], dtype=torch.float64)
            mu = self.mu[name]
            mu *= n / (n + 1)
            mu += X.mean(0) / (n + 1)
            sc = self.scaler[name]
            sc *= n / (n + 1)
            sc += (X * X).sum(0) / (n + 1)
            if n == 0:
                self.fluc[name].zero_()
            else:
                f = self.fluc[name]
                f *= (n - 1) / n
                f += ((X - mu) ** 2).sum(0) / (n + 1)
            self.n[name] = n + 1


def run(cfg, L, xs, cos, sin, taps=None):
    with torch.no_grad():
        return torch.stack([block(cfg, L, xs[i:i + 1], cos, sin, taps)[0]
                            for i in range(xs.shape[0])])


def col_metric(kind, metric, W, st, name, square):
    W = W.double()
    if kind == "magnitude-sp":
        m = W.norm(dim=0)
    elif kind == "wanda-sp" or metric == "wifn":
        m = (W.abs() * st.scaler[name].sqrt()[None, :]).mean(0)
    elif metric == "wifv":
        m = st.fluc[name] * W.pow(2).sum(0)
    else:
        m = st.fluc[name].clone()
    return m * m if square else m


def keep_ge(v, k):
    return v >= torch.sort(v)[0][k]


def compress(L, keep_kv, keep_ch, unit, mu_o, mu_d, bias):
    qmask = keep_kv.repeat_interleave(unit)
    kvmask = keep_kv.repeat_interleave(unit // (L["nh"] // L["nkv"]))
    if bias:
        L["bo"] = (mu_o.half().double() * (~qmask).double()) @ L["wo"].double().T
        L["bdown"] = (mu_d.half().double() * (~keep_ch).double()) @ L["w_down"].double().T
        L["bo"], L["bdown"] = L["bo"].float(), L["bdown"].float()
    rep = L["nh"] // L["nkv"]
    L["wq"], L["wk"], L["wv"] = L["wq"][qmask], L["wk"][kvmask], L["wv"][kvmask]
    L["wo"] = L["wo"][:, qmask]
    L["w_gate"], L["w_up"] = L["w_gate"][keep_ch], L["w_up"][keep_ch]
    L["w_down"] = L["w_down"][:, keep_ch]
    L["nkv"] = int(keep_kv.sum())
    L["nh"] = L["nkv"] * rep


def prune(cfg, W, kind, ratio, windows, metric="wifv", structure="al-am", bias=True):
    layers = [dict(L, nh=cfg["n_heads"], nkv=cfg["n_kv"]) for L in W["layers"]]
    rep, hd, nL = cfg["n_heads"] // cfg["n_kv"], cfg["head_dim"], len(layers)
    unit = rep * hd
    cos, sin = ppl_oracle.rope_tables(cfg, windows.shape[1])
    xs = W["embed"][windows].float()
    attn_m, mlp_m, mu_o, mu_d, masks = [], [], [], [], []
    for L in layers:
        st = BiasStats()
        if kind != "magnitude-sp":
            out = run(cfg, L, xs, cos, sin, taps=st)
        a = col_metric(kind, metric, L["wo"], st, "o", kind == "flap")
        m = col_metric(kind, metric, L["w_down"], st, "down", False)
        if kind == "flap" and structure == "al-am":
            attn_m.append(a), mlp_m.append(m)
            mu_o.append(st.mu["o"]), mu_d.append(st.mu["down"])
            xs = out  # the dense output feeds the next block
            continue
        au = a.view(-1, unit).sum(1)
        kk = keep_ge(au, int(ratio * L["nkv"]))
        kc = keep_ge(m, int(m.numel() * ratio))
        masks.append((kk, kc))
        if kind == "flap":  # ul-um
            mu_o.append(st.mu["o"]), mu_d.append(st.mu["down"])
            xs = out
            continue
        compress(L, kk, kc, unit, None, None, False)
        if kind == "wanda-sp":
            xs = run(cfg, L, xs, cos, sin)
    if kind == "flap" and structure == "al-am":
        std = lambda x: (x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True)
        am = std(torch.stack(attn_m)).view(nL, -1, unit).mean(2)
        mm = std(torch.stack(mlp_m))
        pm = torch.cat([am.reshape(-1), mm.reshape(-1)])
        sp, idx = torch.sort(pm, descending=True)
        cw = torch.ones_like(idx)
        cw[idx < am.numel()] = int((2 * rep * hd + 2 * hd) / 3)
        th = sp[torch.argmin(torch.abs(torch.cumsum(cw, 0) -
                                       torch.sum(cw) * (1 - ratio)))]
        masks = [(am[i] > th, mm[i] > th) for i in range(nL)]
    if kind == "flap":
        for i, L in enumerate(layers):
            compress(L, masks[i][0], masks[i][1], unit, mu_o[i], mu_d[i], bias)
    return dict(W, layers=layers), masks


def eval_ppl(cfg, W, toks, seqlen, max_chunks):
    nch = len(toks) // seqlen
    if max_chunks:
        nch = min(nch, max_chunks)
    cos, sin = ppl_oracle.rope_tables(cfg, seqlen)
    nll = 0.0
    with torch.no_grad():
        for c in range(nch):
            chunk = torch.from_numpy(toks[c * seqlen:(c + 1) * seqlen].copy()).view(1, seqlen)
            x = W["embed"][chunk].float()
            for L in W["layers"]:
                x = block(cfg, L, x, cos, sin)
            logits = ppl_oracle.final_logits(cfg, W, x)
            nll += float(torch.nn.functional.cross_entropy(logits[0, :-1], chunk[0, 1:])) * seqlen
    return math.exp(nll / (nch * seqlen))


def linear_params(W):
    return sum(L[n].numel() for L in W["layers"]
               for n in ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.add_struct_args(ap)
    ap.add_argument("--runs", default="flap:0.2,flap:0.5,wanda-sp:0.2,magnitude-sp:0.2")
    args = ap.parse_args()
    cfg, W, calib, windows, ev = common.struct_inputs(args)
    res = common.struct_record("tests/oracle/flap_oracle.py", args, cfg, calib, ev)
    dense = linear_params(W)
    for spec in args.runs.split(","):
        kind, ratio = spec.split(":")
        Wp, masks = prune(cfg, W, kind, float(ratio), windows)
        ppl = eval_ppl(cfg, Wp, ev, cfg["context"], args.max_chunks)
        r = dict(method=kind, ratio=float(ratio), linear_params_before=dense,
                 linear_params_after=linear_params(Wp), ppl=ppl,
                 layers=common.kept_layers(masks))
        print(f"{kind} {ratio}: params {dense} -> {r['linear_params_after']}, ppl {ppl:.6f}",
              flush=True)
        res["runs"].append(r)
    if args.out:
        common.write_json(args.out, res)


if __name__ == "__main__":
    main()
