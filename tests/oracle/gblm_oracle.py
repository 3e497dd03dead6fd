#!/usr/bin/python3
"""tests/oracle/gblm_oracle.py: an independent PyTorch oracle of GBLM-Pruner
(gblm, and its gradient-only ablation) on the real models; writes the
tests/fixtures/gblm_oracle_<model>.json fixtures in prune_oracle.py's format.

Written from the semantics of VILA-Lab/GBLM-Pruner @338e2b5, not copied:
gradient_computation.py (per window, batch 1, HF mean next-token loss with
labels = input, loss.backward(), g = param.grad in fp32 scaled by 100;
l1 = sum |100g|, l2 = sqrt(sum (100g)^2)) and lib/prune.py prune_gblm /
prune_gradient (metric |W| * sqrt(scaler_row) + |W| * |G|; gradient:
|W| * |G|; per output row stable sort, exactly int(cols*s) smallest; N:M
per row and group of m). See shared/docs/METHODS_REFERENCE.md A.6 and
METHODS_REFERENCE_2.md section 3. The model, the calibration windows, the
layer-wise pipeline, scaler_row and the perplexity come from
prune_oracle.py / ppl_oracle.py (no cprune code).

Differences from the reference, all as in prune_oracle.py: float32 on the
CPU (the reference: fp16 model on a GPU, G stored in fp16); calibration =
the first nsamples sequential seqlen windows of the tinystories calib
stream; the gradient pass uses the same windows as scaler_row. Ties: the
lower column index is pruned first.

Usage (token files made as in prune_oracle.py's docstring):
  /usr/bin/python3 tests/oracle/gblm_oracle.py --model $M \
      --calib /tmp/orc/tok/${m}_tinystories_calib.tok \
      --eval tinystories/eval=/tmp/orc/tok/${m}_tinystories_eval.tok \
      --out tests/fixtures/gblm_oracle_$m.json
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppl_oracle  # noqa: E402
import prune_oracle as po  # noqa: E402

SCALE = 100.0


def gradient_norms(cfg, W, windows, qblock):
    """{(layer, linear): (l1, l2)} over the windows, batch 1."""
    T = windows.shape[1]
    cos, sin = ppl_oracle.rope_tables(cfg, T)
    leaves = []
    for L in W["layers"]:
        Lg = dict(L)
        for n in po.LINEARS:
            Lg[n] = L[n].detach().clone().float().requires_grad_(True)
        leaves.append(Lg)
    l1 = {(i, n): torch.zeros_like(L[n]) for i, L in enumerate(leaves)
          for n in po.LINEARS}
    l2 = {k: torch.zeros_like(v) for k, v in l1.items()}
    for w in windows:
        for L in leaves:
            for n in po.LINEARS:
                L[n].grad = None
        x = W["embed"][w[None, :]].float()
        for L in leaves:
            x = ppl_oracle.decoder_block(cfg, L, x, cos, sin, qblock=qblock)
        logits = ppl_oracle.final_logits(cfg, W, x)
        loss = torch.nn.functional.cross_entropy(logits[0, :-1], w[1:])
        loss.backward()
        for i, L in enumerate(leaves):
            for n in po.LINEARS:
                g = L[n].grad.float() * SCALE
                l1[(i, n)] += g.abs()
                l2[(i, n)] += g * g
    return {k: (l1[k], l2[k].sqrt()) for k in l1}


def gblm_mask(w, scaler_row, G, pat, inv=False):
    aw = w.abs()
    if scaler_row is None:  # prune_gradient
        score = aw * (1.0 / (G.abs() + 1e-8)) if inv else aw * G.abs()
    else:
        a = aw * scaler_row.sqrt()[None, :]
        score = a * (1.0 / (G.abs() + 1e-8)) if inv else a + aw * G.abs()
    if pat["n"]:
        return po.nm_prune_mask(score, pat["n"], pat["m"])
    k = int(w.shape[1] * pat["s"])
    order = torch.sort(score, dim=1, stable=True)[1]
    mask = torch.zeros_like(w, dtype=torch.bool)
    mask.scatter_(1, order[:, :k], True)
    return mask, 0


def prune_model(cfg, W, method, pat, windows, grads, norm, args):
    layers = [dict(L) for L in W["layers"]]
    Wp = dict(W, layers=layers)
    tied = 0
    gi = 0 if norm == "l1" else 1
    if method == "gradient":
        for i, L in enumerate(layers):
            for n in po.LINEARS:
                mask, t = gblm_mask(L[n], None, grads[(i, n)][gi], pat)
                L[n] = L[n].masked_fill(mask, 0.0)
                tied += t
        return Wp, tied
    cos, sin = ppl_oracle.rope_tables(cfg, windows.shape[1])
    xs = W["embed"][windows].float()
    for i, L in enumerate(layers):
        st = po.Stats("wanda")
        po.run_blocks(cfg, L, xs, cos, sin, args.batch, args.qblock, taps=st)
        for n in po.LINEARS:
            mask, t = gblm_mask(L[n], st.acc[po.TAP_OF[n]], grads[(i, n)][gi],
                                pat)
            L[n] = L[n].masked_fill(mask, 0.0)
            tied += t
        xs = po.run_blocks(cfg, L, xs, cos, sin, args.batch, args.qblock)
    return Wp, tied


def mask_digest(W):
    """Per linear [zeros, sum of the row-major flat indices of the zeros]:
    a mask fingerprint (the C test forms the same from its weights)."""
    out = []
    for L in W["layers"]:
        row = []
        for n in po.LINEARS:
            z = (L[n] == 0).flatten()
            idx = torch.nonzero(z).flatten().to(torch.int64)
            row.append([int(z.sum()), int(idx.sum())])
        out.append(row)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--eval", action="append", required=True, metavar="LABEL=FILE")
    ap.add_argument("--nsamples", type=int, default=128)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--runs", default="gblm:50%,gblm:2:4,gradient:50%")
    ap.add_argument("--norm", default="l2", choices=("l1", "l2"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--qblock", type=int, default=32)
    ap.add_argument("--out")
    ap.add_argument("--masks", help="also write every pruned mask (npz)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if os.path.isdir(args.model):
        cfg, W = ppl_oracle.load_hf(args.model)
    else:
        cfg, W = ppl_oracle.load_llama2c(args.model)
    calib = po.read_token_stream(args.calib)
    windows = po.calib_windows(calib, args.nsamples, args.seqlen)
    evals = []
    for e in args.eval:
        label, _, path = e.partition("=")
        evals.append((label, path, po.read_token_stream(path)))
    t0 = time.time()
    grads = gradient_norms(cfg, W, windows, args.qblock)
    t_grad = time.time() - t0
    protocol = dict(
        oracle="tests/oracle/gblm_oracle.py",
        model=os.path.basename(os.path.normpath(args.model)),
        calibration=dict(file=os.path.basename(args.calib), sampling="sequential",
                         nsamples=args.nsamples, seqlen=args.seqlen,
                         **po.stream_info(calib)),
        eval={label: dict(file=os.path.basename(p), protocol="hf",
                          seqlen=args.seqlen, **po.stream_info(t))
              for label, p, t in evals},
        gradient=dict(scale=SCALE, norm=args.norm, batch=1, dtype="float32"),
        ties="lower column index pruned first",
        torch=torch.__version__, seconds_gradients=round(t_grad, 2))
    runs = []
    masks = {}
    for spec in args.runs.split(","):
        method, _, p = spec.partition(":")
        pat = po.parse_pattern(p)
        Wp, tied = prune_model(cfg, W, method, pat, windows, grads, args.norm,
                               args)
        sp, per_block, zeros, total = po.sparsity(Wp)
        if args.masks:
            for i, L in enumerate(Wp["layers"]):
                for n in po.LINEARS:
                    masks[f"{method}:{p}:{i}.{n}"] = (L[n] == 0).numpy()
        for label, _, toks in evals:
            r = po.eval_ppl(cfg, Wp, toks, args.seqlen, args.batch, args.qblock)
            rec = dict(method=method, pattern=pat["name"], dataset=label,
                       ppl=r["ppl"], nll=r["nll"], sparsity=round(sp, 9),
                       zeros=zeros, numel=total, zeros_per_linear=mask_digest(Wp),
                       nm_tied_groups=tied)
            runs.append(rec)
            print(f"{protocol['model']} {method} {pat['name']} {label} "
                  f"ppl {r['ppl']:.6f} zeros {zeros}/{total}", flush=True)
    if args.masks:
        import numpy as np
        np.savez_compressed(args.masks, **masks)
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            json.dump(dict(protocol=protocol, runs=runs), f, indent=1)
            f.write("\n")
        os.replace(args.out + ".tmp", args.out)
        print("wrote", args.out)


if __name__ == "__main__":
    main()
