#!/usr/bin/python3
"""tests/oracle/llmpruner_oracle.py: an independent PyTorch oracle of
LLM-Pruner's block-wise structured pruning (horseee/LLM-Pruner hf_prune.py
--block_wise and llama3.py, its GQA variant; LLMPruner/pruner/
hf_llama_pruner.py TaylorImportance / MagnitudeImportance; the torch_pruning
fork's MetaPruner.prune_local / prune_global), then perplexity; writes the
llmpruner_oracle_*.json fixtures that tests/cli_llmpruner.sh compares with
`cprune prune --method llm-pruner --json`.

Written from the semantics of the reference code, not copied from it, and
without cprune code (model readers, RoPE, RMSNorm: ppl_oracle.py; the block
with per-layer head counts, compress and eval_ppl: flap_oracle.py).

torch_pruning cannot be installed here, so its dependency graph for one
LLaMA block is written out (what DepGraph traces for llama3.py's roots
k_proj, consecutive_groups = head_dim, and gate_proj):
  attention group: k_proj out (root, kv_dim channels), v_proj out, q_proj
    out and o_proj in, the last two through repeat_kv's expand, whose index
    mapping sends KV channel i to query channels i*rep .. i*rep+rep-1 (so a
    whole KV head maps to its rep query heads; MHA: rep = 1, the same group
    hf_prune.py's root q_proj gives).
  MLP group: gate_proj out (root), up_proj out, down_proj in.
Importance per member (the reference's __call__): Linear out channels
  salience.abs().sum(1) (vectorize: salience.sum(1).abs()) over ALL rows
  (idxs unused), Linear in channels .sum(0) then [idxs]; members longer
  than the shortest are folded with view(len // min, min).sum(0); stacked,
  reduced (sum for taylor, mean for magnitude: hf_prune.py passes
  grouping_strategy to TaylorImportance only); then view(-1, head_dim)
  .sum(1) for the attention root. Salience: param_first / vectorize w*g,
  param_second w*acc*w, param_mix w*g - 0.5*w*acc*w; magnitude |w|^p.
Gradients (hf_prune.py @3758e56): for param_mix / param_second, per sample
  j (batch 1) grad_j of the sample's mean loss, acc += grad_j^2 / n; then one
  batched backward of the mean loss over all n samples gives .grad.
Selection: local n_pruned = C - int(C * (1 - ratio)) root channels,
  n_pruned // consecutive groups by argsort; global: all groups' unit
  scores concatenated, n_pruned = N - int(N * (1 - ratio)), prune
  <= the n_pruned-th smallest.
Differences: float32 on the CPU; calibration = the first nsamples x seqlen
sequential windows of the tinystories calib stream (the reference: 10
random bookcorpus samples of 64 tokens); ties: a stable sort (lower index
pruned first; the reference's torch.argsort is unstable).

Usage (token files from `cprune tokenize`, see prune_oracle.py):
  python3 tests/oracle/llmpruner_oracle.py --model M --calib calib.tok \
      --eval eval.tok --nsamples 10 --seqlen 64 --max-chunks 20 \
      --runs taylor/param_mix@0.2@0:5,l1@0.2@0:5 --out F.json
A run is IMPORTANCE[/TAYLOR]@RATIO@A:B[@global].
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flap_oracle  # noqa: E402
import ppl_oracle  # noqa: E402
import prune_oracle  # noqa: E402

NAMES = ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down")


def lm_loss(cfg, W, leaves, toks):
    """HF LlamaForCausalLM(labels = input_ids).loss for a batch."""
    cos, sin = ppl_oracle.rope_tables(cfg, toks.shape[1])
    x = W["embed"][toks].float()
    for L in leaves:
        x = flap_oracle.block(cfg, L, x, cos, sin)
    logits = ppl_oracle.final_logits(cfg, W, x)
    V = logits.shape[-1]
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, V), toks[:, 1:].reshape(-1))


def gradients(cfg, W, windows, need_acc):
    """(grad, acc) per (layer, name): the batched .grad and, when needed,
    acc = sum_j grad_j^2 / n over batch-1 passes."""
    leaves = []
    for L in W["layers"]:
        Lg = dict(L, nh=cfg["n_heads"], nkv=cfg["n_kv"])
        for n in NAMES:
            Lg[n] = L[n].detach().clone().float().requires_grad_(True)
        leaves.append(Lg)
    n = windows.shape[0]
    acc = None
    if need_acc:
        acc = {}
        for j in range(n):
            for L in leaves:
                for k in NAMES:
                    L[k].grad = None
            lm_loss(cfg, W, leaves, windows[j:j + 1]).backward()
            for i, L in enumerate(leaves):
                for k in NAMES:
                    g = L[k].grad * L[k].grad / n
                    acc[(i, k)] = acc[(i, k)] + g if (i, k) in acc else g.clone()
    for L in leaves:
        for k in NAMES:
            L[k].grad = None
    loss = lm_loss(cfg, W, leaves, windows)
    loss.backward()
    grad = {(i, k): L[k].grad.clone() for i, L in enumerate(leaves) for k in NAMES}
    return grad, acc, float(loss)


def salience(imp, taylor, w, g, acc):
    if imp in ("l1", "l2"):
        return w.abs().pow(1 if imp == "l1" else 2)
    s = w * g
    if taylor == "param_second":
        s = w * acc * w
    elif taylor == "param_mix":
        s = s - 0.5 * w * acc * w
    return s


def member(imp, taylor, s, dim):
    """One dependency's local norm; dim 1 = out channels (rows), 0 = in."""
    if imp == "taylor" and taylor == "vectorize":
        return s.double().sum(dim).abs()
    return s.double().abs().sum(dim)


def group_score(members, reduce):
    mn = min(len(v) for v in members)
    al = [v.view(len(v) // mn, mn).sum(0) for v in members]
    st = torch.stack(al, 0)
    if reduce == "sum":
        return st.sum(0)
    if reduce == "mean":
        return st.mean(0)
    return st.max(0)[0]


def layer_scores(cfg, L, i, imp, taylor, grads, acc, reduce):
    hd = cfg["head_dim"]

    def s(name):
        g = grads[(i, name)] if grads else None
        a = acc[(i, name)] if acc else None
        return salience(imp, taylor, L[name].float(), g, a)
    att = [member(imp, taylor, s("wk"), 1), member(imp, taylor, s("wv"), 1),
           member(imp, taylor, s("wq"), 1), member(imp, taylor, s("wo"), 0)]
    # o_proj in: [idxs] with the expand mapping of range(kv_dim) = identity
    a = group_score(att, reduce).view(-1, hd).sum(1)
    mlp = [member(imp, taylor, s("w_gate"), 1), member(imp, taylor, s("w_up"), 1),
           member(imp, taylor, s("w_down"), 0)]
    return a, group_score(mlp, reduce)


def drop_lowest(v, n):
    keep = torch.ones(len(v), dtype=torch.bool)
    if n > 0:
        keep[torch.sort(v, stable=True)[1][:n]] = False
    return keep


def prune(cfg, W, spec, windows):
    parts = spec.split("@")
    imp, _, taylor = parts[0].partition("/")
    taylor = taylor or "param_mix"
    ratio = float(parts[1])
    a, b = (int(x) for x in parts[2].split(":"))
    glob = len(parts) > 3 and parts[3] == "global"
    reduce = "sum" if imp == "taylor" else "mean"
    grads = acc = None
    loss = None
    if imp == "taylor":
        grads, acc, loss = gradients(cfg, W, windows,
                                     taylor in ("param_mix", "param_second"))
    hd, nkv = cfg["head_dim"], cfg["n_kv"]
    scores = {i: layer_scores(cfg, W["layers"][i], i, imp, taylor, grads, acc, reduce)
              for i in range(a, b)}
    masks = {}
    if glob:
        allv = torch.cat([torch.cat(scores[i]) for i in range(a, b)])
        npr = len(allv) - int(len(allv) * (1 - ratio))
        thr = torch.sort(allv)[0][npr - 1] if npr > 0 else -float("inf")
        for i in range(a, b):
            masks[i] = (scores[i][0] > thr, scores[i][1] > thr)
    else:
        for i in range(a, b):
            C = nkv * hd
            nh = C - int(C * (1 - ratio))
            I = len(scores[i][1])
            masks[i] = (drop_lowest(scores[i][0], nh // hd),
                        drop_lowest(scores[i][1], I - int(I * (1 - ratio))))
    layers = [dict(L, nh=cfg["n_heads"], nkv=nkv) for L in W["layers"]]
    rep = cfg["n_heads"] // nkv
    out = []
    for i, L in enumerate(layers):
        kk, kc = masks.get(i, (torch.ones(nkv, dtype=torch.bool),
                               torch.ones(L["w_gate"].shape[0], dtype=torch.bool)))
        flap_oracle.compress(L, kk, kc, rep * hd, None, None, False)
        out.append((kk, kc))
    return dict(W, layers=layers), out, loss, dict(
        importance=imp, taylor=taylor if imp == "taylor" else None,
        ratio=ratio, layer_range=f"{a}:{b}", glob=glob, reduce=reduce)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--nsamples", type=int, default=10)
    ap.add_argument("--seqlen", type=int, default=64)
    ap.add_argument("--max-chunks", type=int, default=20)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if os.path.isdir(args.model):
        cfg, W = ppl_oracle.load_hf(args.model)
    else:
        cfg, W = ppl_oracle.load_llama2c(args.model)
    for L in W["layers"]:
        for k in NAMES:
            L[k] = L[k].float()
    calib = prune_oracle.read_token_stream(args.calib)
    windows = prune_oracle.calib_windows(calib, args.nsamples, args.seqlen).long()
    ev = prune_oracle.read_token_stream(args.eval)
    ctx = cfg["context"]
    res = dict(oracle="tests/oracle/llmpruner_oracle.py",
               model=os.path.basename(os.path.normpath(args.model)),
               calibration=dict(nsamples=args.nsamples, seqlen=args.seqlen,
                                **prune_oracle.stream_info(calib)),
               eval=dict(seqlen=ctx, max_chunks=args.max_chunks,
                         **prune_oracle.stream_info(ev)),
               ties="stable sort: lower index pruned first",
               torch=torch.__version__, runs=[])
    dense = flap_oracle.linear_params(W)
    for spec in args.runs.split(","):
        Wp, masks, loss, meta = prune(cfg, W, spec, windows)
        ppl = flap_oracle.eval_ppl(cfg, Wp, ev, ctx, args.max_chunks)
        r = dict(spec=spec, **meta, loss=loss, linear_params_before=dense,
                 linear_params_after=flap_oracle.linear_params(Wp), ppl=ppl,
                 layers=[dict(kept_kv_groups=[int(i) for i in torch.nonzero(k).flatten()],
                              kept_channels=[int(i) for i in torch.nonzero(c).flatten()])
                         for k, c in masks])
        print(f"{spec}: loss {loss} params {dense} -> {r['linear_params_after']}, "
              f"ppl {ppl:.6f}", flush=True)
        res["runs"].append(r)
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
