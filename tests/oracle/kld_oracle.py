#!/usr/bin/python3
"""tests/oracle/kld_oracle.py: an independent PyTorch oracle for
`cprune eval --reference` (KL divergence of a pruned model from the dense
one, with llama.cpp's statistics).

The pruned model is made here: Wanda at 50% unstructured through
tests/oracle/prune_oracle.py (its own pipeline; sequential calibration
windows), the forward is ppl_oracle.py's (no cprune code). On the first
--max-chunks chunks of the evaluation stream under the hf protocol
(non-overlapping seqlen chunks, every position but the last scored) it
computes, in float64 from float32 logits, per position:
  kld = sum_v p_dense(v) (log p_dense(v) - log p_pruned(v))
  same = argmax pruned == argmax dense, dp = p_pruned(t) - p_dense(t)
and the summaries as llama.cpp's perplexity.cpp kl_divergence() defines
them (median = mean of the middle two; percentile = linear interpolation
at q (n - 1) of the sorted values; RMS dp = sqrt(mean dp^2)), plus the
model against itself (must be exactly 0).

Token streams are cprune token files from `cprune tokenize` (the ids of our
tokenizer, checked against independent tokenizers by the tokenizer tests;
their sha256 is recorded and checked by the C test).

  ./build/cprune tokenize --model ../shared/models/stories260K \\
      --dataset tinystories --split calib --out /tmp/cal.tok
  ./build/cprune tokenize --model ../shared/models/stories260K \\
      --dataset tinystories --split eval --out /tmp/ev.tok
  /usr/bin/python3 tests/oracle/kld_oracle.py \\
      --model ../shared/models/stories260K/stories260K.bin \\
      --calib /tmp/cal.tok --eval /tmp/ev.tok \\
      --out tests/fixtures/kld_oracle_stories260K.json
"""
import argparse
import hashlib
import json
import os
import sys
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppl_oracle  # noqa: E402
import prune_oracle  # noqa: E402


def percentile(v, q):
    if q <= 0:
        return v[0]
    if q >= 1:
        return v[-1]
    p = q * (len(v) - 1)
    ip = int(p)
    p -= ip
    return (1 - p) * v[ip] + p * v[min(ip + 1, len(v) - 1)]


def logits_of(cfg, W, chunk):
    with torch.no_grad():
        return ppl_oracle.forward(cfg, W, torch.from_numpy(chunk), torch.float32).double()


def kld_stats(cfg, Wq, Wp, toks, seqlen, max_chunks):
    klds, same, dps, nll, nll_ref = [], [], [], [], []
    nch = min(len(toks) // seqlen, max_chunks)
    for c in range(nch):
        chunk = toks[c * seqlen:(c + 1) * seqlen].astype(np.int64)
        lq = torch.log_softmax(logits_of(cfg, Wq, chunk), -1)[:-1]
        lp = torch.log_softmax(logits_of(cfg, Wp, chunk), -1)[:-1]
        tgt = torch.from_numpy(chunk[1:])
        klds.append((lp.exp() * (lp - lq)).sum(-1))
        same.append(lq.argmax(-1) == lp.argmax(-1))
        a = -lq.gather(1, tgt[:, None])[:, 0]
        b = -lp.gather(1, tgt[:, None])[:, 0]
        nll.append(a)
        nll_ref.append(b)
        dps.append((-a).exp() - (-b).exp())
    k = torch.cat(klds).numpy()
    s = torch.cat(same).numpy()
    dp = torch.cat(dps).numpy()
    n = len(k)
    ks = np.sort(k)
    median = 0.5 * (ks[n // 2] + ks[n // 2 - 1]) if n % 2 == 0 else ks[n // 2]
    return dict(n=n, mean=float(k.mean()), median=float(median),
                p90=float(percentile(ks, 0.90)), p99=float(percentile(ks, 0.99)),
                p999=float(percentile(ks, 0.999)), max=float(ks[-1]),
                same_top=float(s.mean()), rms_dp=float(np.sqrt((dp * dp).mean())),
                ppl=float(np.exp(torch.cat(nll).numpy().mean())),
                reference_ppl=float(np.exp(torch.cat(nll_ref).numpy().mean())))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="llama2.c .bin or HF directory")
    ap.add_argument("--calib", required=True, help="calibration token file")
    ap.add_argument("--eval", required=True, help="evaluation token file")
    ap.add_argument("--nsamples", type=int, default=16)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--max-chunks", type=int, default=8)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if os.path.isdir(a.model):
        cfg, W = ppl_oracle.load_hf(a.model)
    else:
        cfg, W = ppl_oracle.load_llama2c(a.model)
    calib = prune_oracle.read_token_stream(a.calib)
    toks = prune_oracle.read_token_stream(a.eval)
    windows = prune_oracle.calib_windows(calib, a.nsamples, a.seqlen)
    pargs = types.SimpleNamespace(batch=4, qblock=32)
    Wq, _ = prune_oracle.prune_model(cfg, W, "wanda", prune_oracle.parse_pattern("50%"),
                                     windows, pargs)
    zeros = prune_oracle.sparsity(Wq)[2]
    sha = lambda t: hashlib.sha256(t.astype("<i4").tobytes()).hexdigest()
    res = dict(oracle="tests/oracle/kld_oracle.py",
               model=os.path.basename(os.path.normpath(a.model)),
               method="wanda", sparsity=0.5, nsamples=a.nsamples, seqlen=a.seqlen,
               max_chunks=a.max_chunks, protocol="hf", zeros=zeros,
               calib_sha256=sha(calib), eval_sha256=sha(toks),
               pruned=kld_stats(cfg, Wq, W, toks, a.seqlen, a.max_chunks),
               self=kld_stats(cfg, W, W, toks, a.seqlen, 2))
    print(json.dumps(res, indent=1))
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
