#!/usr/bin/python3
"""tests/oracle/cfsp_oracle.py: an independent PyTorch oracle of the
official CFSP code (github.com/wyxscir/CFSP: lib/prune.py prune_cfsp,
lib/block_metrics.py block_influence, lib/layerwrapper.py WrappedGPT),
then perplexity; writes the cfsp_oracle_*.json fixtures that
tests/cli_struct.sh compares with `cprune prune --method cfsp --json`.

Written from the semantics of the reference code, not copied from it, and
without cprune code; the LLaMA block, window statistics (WrappedGPT's
scaler_row is BiasStats.scaler), compression and perplexity come from
flap_oracle.py / ppl_oracle.py.

What the reference does (and this oracle):
  - runs the dense model block by block over the calibration windows
    (nothing is pruned until the end), summing per window the token-wise
    block_influence between each block's input and output (angular:
    arccos(cos) / pi, a NaN cosine read as 0.5; cosine: 1 - cos; mse; mae;
    anything else: 100 per window);
  - collects WrappedGPT.scaler_row of down_proj's input and scores every
    channel with the local metric (default three_w_one_wa with b = c = 1:
    (|D| s^b / colsum + |U^T| / colsum + |G^T| / colsum) * s^c, averaged over
    the hidden rows, s = sqrt(scaler_row));
  - per-layer keep fractions: sigmoid(a (imp - mean) / 1e4), pulled towards
    their mean when max / mean * (1 - r) >= 1 (scale (mean (1/(1-r) - 1)) /
    (max - mean) / 1.05), then k = s / mean(s) * (1 - r);
  - threshold = descending-sorted score at int(I k) (cuda_friendly:
    int((I k + 64) / 128) * 128 - 1), keep score >= threshold;
  - compress(): MLP channels only (gate/up rows, down columns), no heads,
    no bias.
Adaptations: float32 model, statistics and distances in float64 (the
reference: fp16 model, fp32 statistics); the first nsamples windows of one
token stream (cprune's sequential sampling) instead of wikitext2 windows.

Usage (from the repository root; token files from `cprune tokenize`):
  python3 tests/oracle/cfsp_oracle.py --model M --calib calib.tok \\
      --eval eval.tok --nsamples 16 --seqlen 128 --max-chunks 20 \\
      --ratios 0.2,0.5 --out F.json
"""
import argparse
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import flap_oracle  # noqa: E402
import ppl_oracle  # noqa: E402


def block_influence(x, y, metric):
    """Sum over tokens of the reference's per-token distance, x/y (T, D)."""
    x, y = x.double(), y.double()
    if metric == "mse":
        return float(((x - y) ** 2).mean(-1).sum())
    if metric == "mae":
        return float((x - y).abs().mean(-1).sum())
    sim = (x @ y.T) / (x.norm(dim=-1, keepdim=True) * y.norm(dim=-1, keepdim=True))
    sim = sim.diagonal().nan_to_num(nan=0.5).clamp(-1, 1)
    if metric == "angular":
        return float((torch.arccos(sim) / math.pi).sum())
    return float((1 - sim).sum())


def local_metric(kind, L, scaler, b, c):
    W = L["w_down"].double()
    s = scaler.sqrt()[None, :]
    if kind == "wanda_base":
        m = W.abs() * s
    elif kind == "one_a":
        m = (W.abs() / W.abs().sum(0)) * s ** 0.5
    elif kind in ("one_wa", "three_w_one_wa"):
        Wu = W.abs() * s ** b
        m = Wu.abs() / Wu.abs().sum(0)
    else:  # three_w_one_a
        m = W.abs() / W.abs().sum(0)
    if kind.startswith("three_w"):
        U, G = L["w_up"].double().T, L["w_gate"].double().T
        m = m + U.abs() / U.abs().sum(0) + G.abs() / G.abs().sum(0)
    if kind != "wanda_base" and kind != "one_a":
        m = m * s ** c
    return m.mean(0)


def allocation(imps, ratio, a):
    mid = sum(imps) / len(imps)
    s = [1 / (1 + np.exp(-((i - mid) / 1e4) * a)) for i in imps]
    avg, mx = sum(s) / len(s), max(s)
    if mx / avg * (1 - ratio) >= 1:
        f = (avg * (1 / (1 - ratio) - 1)) / (mx - avg) / 1.05
        s = [avg + (v - avg) * f if v > avg else avg - (avg - v) * f for v in s]
        avg = sum(s) / len(s)
    return [v / avg * (1 - ratio) for v in s]


def prune(cfg, W, ratio, windows, gm="angular", lm="three_w_one_wa", a=1.0, b=1.0,
          c=1.0, cuda_friendly=False):
    layers = [dict(L, nh=cfg["n_heads"], nkv=cfg["n_kv"]) for L in W["layers"]]
    cos, sin = ppl_oracle.rope_tables(cfg, windows.shape[1])
    xs = W["embed"][windows].float()
    imps, metrics = [], []
    for L in layers:
        st = flap_oracle.BiasStats()
        out = flap_oracle.run(cfg, L, xs, cos, sin, taps=st)
        imp = 0.0
        for j in range(xs.shape[0]):
            imp += 100.0 if gm not in ("angular", "cosine", "mse", "mae") else \
                block_influence(xs[j], out[j], gm)
        imps.append(imp)
        metrics.append(local_metric(lm, L, st.scaler["down"], b, c))
        xs = out  # nothing is pruned yet: the dense output feeds the next block
    keep = allocation(imps, ratio, a)
    mm = torch.stack(metrics)
    srt = torch.sort(mm, dim=1, descending=True)[0]
    n = mm.shape[1]
    masks = []
    for i, L in enumerate(layers):
        idx = int((n * keep[i] + 64) / 128) * 128 - 1 if cuda_friendly else int(n * keep[i])
        if idx >= n:  # the reference would fail; keep every channel
            idx = n - 1
        kc = mm[i] >= srt[i][idx]
        kk = torch.ones(L["nkv"], dtype=torch.bool)
        flap_oracle.compress(L, kk, kc, (L["nh"] // L["nkv"]) * cfg["head_dim"],
                             None, None, False)
        masks.append((kk, kc))
    return dict(W, layers=layers), masks, imps, keep


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.add_struct_args(ap)
    ap.add_argument("--ratios", default="0.2,0.5")
    args = ap.parse_args()
    cfg, W, calib, windows, ev = common.struct_inputs(args)
    res = common.struct_record("tests/oracle/cfsp_oracle.py", args, cfg, calib, ev)
    dense = flap_oracle.linear_params(W)
    for spec in args.ratios.split(","):
        ratio = float(spec)
        Wp, masks, imps, keep = prune(cfg, W, ratio, windows)
        ppl = flap_oracle.eval_ppl(cfg, Wp, ev, cfg["context"], args.max_chunks)
        r = dict(method="cfsp", ratio=ratio, linear_params_before=dense,
                 linear_params_after=flap_oracle.linear_params(Wp), ppl=ppl,
                 block_importance=imps, keep_fraction=keep,
                 layers=common.kept_layers(masks))
        print(f"cfsp {ratio}: params {dense} -> {r['linear_params_after']}, ppl {ppl:.6f}, "
              f"keep {[round(k, 4) for k in keep]}", flush=True)
        res["runs"].append(r)
    if args.out:
        common.write_json(args.out, res)


if __name__ == "__main__":
    main()
