#!/usr/bin/python3
"""tests/oracle/depth_oracle.py: an independent PyTorch oracle of ShortGPT
layer removal (icip-cas/ShortGPT shortgpt/metrics.py block_influence and
shortgpt.py's importance accumulation; METHODS_REFERENCE.md A.11) on real
models; writes the depth_oracle_*.json fixtures that
tests/test_methods_depth.c compares against.

Written from the reference semantics, not copied: the hidden states are
those of HF's output_hidden_states (the embedding output, each layer's
output, the last one after the final norm); for layer i,
  BI_i = sum over calibration tokens of (1 - cos(h_i, h_{i+1}))
(angular: arccos(cos) / pi), a NaN cosine counted as 0.5 (nan_to_num);
the n layers with the lowest BI are removed at once (ties: lower index).
Computed in float64 from float32 hidden states. The model readers and the
LLaMA block are ppl_oracle.py's; windows and perplexity are
prune_oracle.py's (sequential calibration windows, hf-protocol ppl).

Fixtures (from the repository root; token files as in prune_oracle.py):
  for m in stories260K tinystories-656k; do
    M=$CPRUNE_DATA/models/$m; [ $m = stories260K ] && M=$M/stories260K.bin
    /usr/bin/python3 tests/oracle/depth_oracle.py --model $M \\
        --calib /tmp/orc/tok/${m}_tinystories_calib.tok \\
        --eval /tmp/orc/tok/${m}_tinystories_eval.tok \\
        --out tests/fixtures/depth_oracle_$m.json
  done
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppl_oracle  # noqa: E402
import prune_oracle as po  # noqa: E402


def block_influence(a, b, angular):
    """a, b: (T, d) float32 hidden states -> per-token terms, float64."""
    a, b = a.double(), b.double()
    cos = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    cos = cos.nan_to_num(nan=0.5)
    if angular:
        return torch.arccos(cos.clamp(-1, 1)) / math.pi
    return 1 - cos


def shortgpt_scores(cfg, W, windows, angular, qblock):
    n_layers = len(W["layers"])
    bi = [0.0] * n_layers
    cos_t, sin_t = ppl_oracle.rope_tables(cfg, windows.shape[1])
    with torch.no_grad():
        for w in windows:
            x = W["embed"][w[None]].float()
            for i, L in enumerate(W["layers"]):
                y = ppl_oracle.decoder_block(cfg, L, x, cos_t, sin_t, qblock=qblock)
                out = y
                if i == n_layers - 1:  # hidden_states[-1] is post final norm
                    out = ppl_oracle.rmsnorm(y, W["final_norm"], cfg["eps"])
                bi[i] += float(block_influence(x[0], out[0], angular).sum())
                x = y
    return bi


def lowest(scores, k):
    order = sorted(range(len(scores)), key=lambda i: (scores[i], i))
    return sorted(order[:k])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--eval", required=True, help="tinystories eval token file")
    ap.add_argument("--nsamples", type=int, default=32)
    ap.add_argument("--seqlen", type=int, default=256)
    ap.add_argument("--remove", default="1,2,3")
    ap.add_argument("--qblock", type=int, default=32)
    ap.add_argument("--no-ppl", action="store_true",
                    help="scores and choices only (ppl recorded as null)")
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if os.path.isdir(args.model):
        cfg, W = ppl_oracle.load_hf(args.model)
    else:
        cfg, W = ppl_oracle.load_llama2c(args.model)
    windows = po.calib_windows(po.read_token_stream(args.calib), args.nsamples,
                               args.seqlen)
    etoks = po.read_token_stream(args.eval)
    eval_seqlen = cfg["context"] if "context" in cfg else 512
    res = dict(protocol=dict(oracle="tests/oracle/depth_oracle.py",
                             model=os.path.basename(args.model.rstrip("/")),
                             calibration=dict(file=os.path.basename(args.calib),
                                              sampling="sequential",
                                              nsamples=args.nsamples,
                                              seqlen=args.seqlen,
                                              **po.stream_info(po.read_token_stream(args.calib))),
                             eval=dict(file=os.path.basename(args.eval),
                                       seqlen=eval_seqlen,
                                       **po.stream_info(etoks))),
               runs=[])
    for angular in (0, 1):
        bi = shortgpt_scores(cfg, W, windows, angular, args.qblock)
        for k in (int(s) for s in args.remove.split(",")):
            if k >= len(W["layers"]):  # at least one layer stays
                continue
            drop = lowest(bi, k)
            Wd = dict(W, layers=[L for i, L in enumerate(W["layers"]) if i not in drop])
            e = (dict(ppl=None, nchunks=None) if args.no_ppl else
                 po.eval_ppl(cfg, Wd, etoks, eval_seqlen, 4, args.qblock))
            run = dict(method="shortgpt", angular=angular, remove=k, scores=bi,
                       removed=drop, ppl=e["ppl"], nchunks=e["nchunks"])
            print(json.dumps(run))
            res["runs"].append(run)
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
