#!/usr/bin/python3
"""tests/oracle/llmpruner_families_oracle.py: an independent PyTorch oracle
of LLM-Pruner's block-wise structured pruning (horseee/LLM-Pruner
hf_prune.py --block_wise; LLMPruner/pruner/hf_llama_pruner.py
TaylorImportance / MagnitudeImportance; the torch_pruning fork's
MetaPruner.prune_local / prune_global) carried to OPT, GPT-2 and GPT-NeoX;
writes tests/fixtures/llmpruner_families_oracle.json, which
tests/test_methods_llmp_families.c compares with cprune.

No cprune code and no transformers package. The blocks, the logits and
the perplexity are tests/oracle/flap_families_oracle.py's (written from
transformers' modeling_opt.py / modeling_gpt2.py / modeling_gpt_neox.py);
the gradients are torch autograd through them (float32, as the reference
on the GPU in float32); the salience, member norms, alignment fold and
reduction are tests/oracle/llmpruner_oracle.py's (the reference's
TaylorImportance / MagnitudeImportance semantics).

Coupled groups, as torch_pruning's dependency graph forms them on these
models (what LLaMA's k_proj root with consecutive_groups = head_dim gives,
on an MHA block):
  attention, one unit per head h: the head_dim out-channel rows of q, k
    and v (OPT q_proj/k_proj/v_proj; GPT-NeoX query_key_value rows
    h*3*hd + {0, hd, 2hd} + i, its per-head [q k v] interleave; GPT-2
    c_attn, Conv1D weight (in, out), out columns {0, H, 2H} + h*hd + i)
    with the out_proj / dense / c_proj input columns h*hd + i;
  MLP, one unit per channel c: fc1 / dense_h_to_4h / c_fc row c (GPT-2:
    column c of the Conv1D weight) with fc2 / dense_4h_to_h / c_proj input
    column c.
  The fused linear's q, k and v parts are scored as three members, as
  OPT's separate projections are, so a model's scores do not depend on
  whether its file fuses them (with the default sum reduction this equals
  torch_pruning's alignment fold of the one 3*H-long vector).
Biases: the group removes the units' bias entries (q/k/v, fc1), but the
  importance reads weights only: LLM-Pruner's TaylorImportance and
  MagnitudeImportance use layer.weight (and its .grad / .acc_grad) and
  nothing else, for its BLOOM example (examples/bloom.py, biases on every
  linear) too; torch_pruning's own GroupTaylorImportance adds (b * db)
  terms only with bias=True, default False. So bias gradients do not
  contribute here.
Gradients (hf_prune.py): for param_mix / param_second, per window j
  (batch 1) grad_j of the window's mean next-token loss, acc += grad_j^2 /
  n; then .grad of the mean loss over all n windows (the mean of the
  windows' means: equal lengths).
Selection: per layer n_pruned = C - int(C (1 - r)) of the C = H root
  channels, n_pruned // head_dim heads; I - int(I (1 - r)) channels; lowest
  scores go, stable sort (lower index first on ties); global: every unit
  of the layers in range in one list, everything <= the n_pruned-th
  smallest of N - int(N (1 - r)) goes.
Removal is applied by zeroing (flap_families_oracle.Fam.zero: the head's
q/k/v rows and bias entries, its out_proj columns; the channel's fc1 row
and bias entry, its fc2 column), an independent path from cprune's gather.

Fixture (from the repository root):
  python3 tests/oracle/llmpruner_families_oracle.py --nsamples 10 \
      --seqlen 64 --out tests/fixtures/llmpruner_families_oracle.json
(calibration: the first nsamples x seqlen tokens of each prune_arch_*
fixture's calib.i32; evaluation: its eval.i32, hf protocol, seqlen 64).
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flap_families_oracle as ff  # noqa: E402
import llmpruner_oracle as lo  # noqa: E402
from common import read_safetensors, write_json  # noqa: E402

RUNS = ("taylor/param_mix@0.25@0:2", "taylor/param_first@0.25@0:2",
        "taylor/param_second@0.25@0:2", "taylor/vectorize@0.25@0:2",
        "taylor/param_mix@0.5@1:2", "taylor/param_first@0.4@0:2@global",
        "l1@0.25@0:2", "l2@0.5@0:2")


def linears(F):
    """Suffixes of (attention q/k/v linears, o, fc1, fc2) of F's family."""
    on, dn, fn = F.names()
    qkv = {"opt": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
           "gpt2": ["attn.c_attn"],
           "gpt_neox": ["attention.query_key_value"]}[F.fam]
    return qkv, on, fn, dn


def weight_names(F, i):
    qkv, on, fn, dn = linears(F)
    return [(F.pre % i) + n + ".weight" for n in qkv + [on, fn, dn]]


def loss_of(F, wins):
    """Mean next-token loss over the windows (each (T,) token ids)."""
    tot = 0.0
    for w in wins:
        h = F.embed(w)
        for i in range(F.L):
            h = F.layer(i, h)
        tot = tot + torch.nn.functional.cross_entropy(F.logits(h)[:-1], w[1:])
    return tot / len(wins)


def gradients(F, wins, need_acc):
    """(grad, acc, loss): name -> .grad of the batched mean loss and, when
    needed, acc = sum_j grad_j^2 / n over batch-1 passes (stored layout)."""
    names = [n for i in range(F.L) for n in weight_names(F, i)]
    for n in names:
        F.W[n].requires_grad_(True)
    acc, n = None, len(wins)
    if need_acc:
        acc = {}
        for j in range(n):
            for k in names:
                F.W[k].grad = None
            loss_of(F, wins[j:j + 1]).backward()
            for k in names:
                g = F.W[k].grad * F.W[k].grad / n
                acc[k] = acc[k] + g if k in acc else g.clone()
    for k in names:
        F.W[k].grad = None
    loss = loss_of(F, wins)
    loss.backward()
    grad = {k: F.W[k].grad.clone() for k in names}
    for k in names:
        F.W[k].grad = None
        F.W[k].requires_grad_(False)
    return grad, acc, float(loss)


def out_in(F, t):
    """(out, in) orientation of a stored weight-shaped tensor."""
    return t.T if F.fam == "gpt2" else t


def layer_scores(F, i, imp, taylor, grad, acc, reduce):
    H, NH, hd = F.H, F.NH, F.hd
    qkv, on, fn, dn = linears(F)

    def s(name):
        k = (F.pre % i) + name + ".weight"
        w = out_in(F, F.W[k].detach())
        g = out_in(F, grad[k]) if grad else None
        a = out_in(F, acc[k]) if acc else None
        return lo.salience(imp, taylor, w, g, a)

    if F.fam == "opt":
        q, k, v = (lo.member(imp, taylor, s(n), 1) for n in qkv)
    else:
        rows = lo.member(imp, taylor, s(qkv[0]), 1)  # (3 H)
        if F.fam == "gpt2":  # q | k | v
            q, k, v = rows[:H], rows[H:2 * H], rows[2 * H:]
        else:  # per head [q k v]
            r = rows.view(NH, 3, hd)
            q, k, v = (r[:, j].reshape(H) for j in range(3))
    o = lo.member(imp, taylor, s(on), 0)
    a = lo.group_score([k, v, q, o], reduce).view(-1, hd).sum(1)
    mlp = [lo.member(imp, taylor, s(fn), 1), lo.member(imp, taylor, s(dn), 0)]
    return a, lo.group_score(mlp, reduce)


def prune(F, spec, wins):
    parts = spec.split("@")
    imp, _, taylor = parts[0].partition("/")
    taylor = taylor or "param_mix"
    ratio = float(parts[1])
    a, b = (int(x) for x in parts[2].split(":"))
    glob = len(parts) > 3 and parts[3] == "global"
    reduce = "sum" if imp == "taylor" else "mean"
    grad = acc = loss = None
    if imp == "taylor":
        grad, acc, loss = gradients(F, wins, taylor in ("param_mix", "param_second"))
    scores = {i: layer_scores(F, i, imp, taylor, grad, acc, reduce) for i in range(a, b)}
    masks = {}
    if glob:
        allv = torch.cat([torch.cat(scores[i]) for i in range(a, b)])
        npr = len(allv) - int(len(allv) * (1 - ratio))
        thr = torch.sort(allv)[0][npr - 1] if npr > 0 else -float("inf")
        for i in range(a, b):
            masks[i] = (scores[i][0] > thr, scores[i][1] > thr)
    else:
        for i in range(a, b):
            C, I = F.H, len(scores[i][1])
            masks[i] = (lo.drop_lowest(scores[i][0], (C - int(C * (1 - ratio))) // F.hd),
                        lo.drop_lowest(scores[i][1], I - int(I * (1 - ratio))))
    out = []
    with torch.no_grad():
        for i in range(F.L):
            kh, kc = masks.get(i, (torch.ones(F.NH, dtype=torch.bool),
                                   torch.ones(out_in(F, F.W[weight_names(F, i)[-2]]).shape[0],
                                              dtype=torch.bool)))
            F.zero(i, kh, kc)
            out.append((kh, kc))
    return out, loss, dict(importance=imp, taylor=taylor if imp == "taylor" else None,
                           ratio=ratio, layer_start=a, layer_end=b, glob=glob,
                           reduce=reduce)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nsamples", type=int, default=10)
    ap.add_argument("--seqlen", type=int, default=64)
    ap.add_argument("--runs", default=",".join(RUNS))
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    res = dict(oracle="tests/oracle/llmpruner_families_oracle.py",
               torch=torch.__version__, dtype="float32", nsamples=args.nsamples,
               seqlen=args.seqlen, eval=dict(protocol="hf", seqlen=64),
               ties="stable sort: lower index pruned first", runs=[])
    for fam, d in ff.FIX.items():
        c = json.load(open(os.path.join(d, "config.json")))
        mf = os.path.join(d, "model.safetensors")
        cal = np.fromfile(os.path.join(d, "calib.i32"), dtype="<i4")
        ev = np.fromfile(os.path.join(d, "eval.i32"), dtype="<i4")
        wins = [torch.from_numpy(cal[i * args.seqlen:(i + 1) * args.seqlen].astype(np.int64))
                for i in range(args.nsamples)]
        sha = hashlib.sha256(open(mf, "rb").read()).hexdigest()
        for spec in args.runs.split(","):
            W = {k: v.clone() for k, v in read_safetensors(mf).items()}
            F = ff.Fam(fam, c, W)
            masks, loss, meta = prune(F, spec, wins)
            kept_h = [int(m[0].sum()) for m in masks]
            kept_c = [int(m[1].sum()) for m in masks]
            params = sum(4 * F.H * F.hd * h + 2 * F.H * ch for h, ch in zip(kept_h, kept_c))
            r = dict(family=fam, spec=spec, **meta, loss=loss, model_sha256=sha,
                     layers=[dict(kept_heads=[int(j) for j in torch.nonzero(m[0]).view(-1)],
                                  kept_channels=[int(j) for j in torch.nonzero(m[1]).view(-1)])
                             for m in masks],
                     linear_params=params, ppl=ff.eval_ppl(F, ev, 64))
            print(f"{fam} {spec}: loss {loss} heads {kept_h} channels {kept_c} "
                  f"ppl {r['ppl']:.6f}", flush=True)
            res["runs"].append(r)
    if args.out:
        write_json(args.out, res)


if __name__ == "__main__":
    main()
