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
Greedy searches (--search; fixtures depth_search_oracle_*.json), written
from the official code's semantics: a removed sub-block is simulated as
the official code does it, by a zero o_proj / down_proj output (a zero
weight here: x + 0 = x exactly), a removed layer is skipped.
  sleb         jiwonsong-dev/SLEB sleb.py: per step, every alive layer but
               the first and last alive ones is switched off in turn; the
               one with the lowest sum over windows of CE-loss * seqlen goes
               (strict <, first alive wins ties).
  blockpruner  MrGGLS/BlockPruner block_search.py (block-type mix):
               candidates ("mha", 0..L-1) then ("mlp", 0..L-1) not yet
               removed; the one with the lowest exp(mean over windows of the
               window's mean loss) goes (strict <).
  finercut     YaNgZhAnG-V5/llm_dissect scripts/prune_layer.py + the Output
               evaluator with js_divergence: candidates are the sorted module
               names "model.layers.{i}.self_attn.o_proj" /
               "model.layers.{i}.mlp.down_proj", those containing ".{i}." for
               i < int(n * x / 2) + 1 withheld until int(n * x) + 1
               removals (x = --exclude, default 0); the distance is
               0.5 * (kl_div(log_softmax(dense), M) + kl_div(log_softmax(cur), M))
               with kl_div's "mean" over every (position, vocab) element,
               M the mean of the two softmaxes; computed in float64 from
               float32 logits (the official code stays in float32).
  for m in stories260K tinystories-656k; do ...same paths...
    /usr/bin/python3 tests/oracle/depth_oracle.py --search --model $M \\
        --calib ... --eval ... --out tests/fixtures/depth_search_oracle_$m.json
  done
  (and the fast fixture: stories260K --nsamples 4 --seqlen 64 --no-ppl
   --out tests/fixtures/depth_search_oracle_stories260K_small.json)
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


def masked_logits(cfg, W, windows, masks, qblock, cos_t, sin_t):
    """Logits (B, T, V) with masks[i] a subset of {"attn", "mlp"} removed."""
    x = W["embed"][windows].float()
    with torch.no_grad():
        for i, L in enumerate(W["layers"]):
            m = masks.get(i, set())
            if m >= {"attn", "mlp"}:
                continue  # a switched-off layer returns its input
            Lm = dict(L)
            if "attn" in m:
                Lm["wo"] = torch.zeros_like(L["wo"])
            if "mlp" in m:
                Lm["w_down"] = torch.zeros_like(L["w_down"])
            x = ppl_oracle.decoder_block(cfg, Lm, x, cos_t, sin_t, qblock=qblock)
        return ppl_oracle.final_logits(cfg, W, x)


def window_losses(logits, windows):
    return [float(torch.nn.functional.cross_entropy(logits[b, :-1], windows[b, 1:]))
            for b in range(windows.shape[0])]


def js_distance(a, b):
    a, b = a.double(), b.double()
    la, lb = torch.log_softmax(a, -1), torch.log_softmax(b, -1)
    M = 0.5 * (la.exp() + lb.exp())
    lm = torch.where(M > 0, M.log(), torch.zeros_like(M))
    kl = lambda lx: float((M * (lm - lx)).sum()) / M.numel()  # noqa: E731
    return 0.5 * (kl(la) + kl(lb))


def add_mask(masks, layer, kind):
    out = {k: set(v) for k, v in masks.items()}
    out.setdefault(layer, set()).update({"attn", "mlp"} if kind == "layer" else {kind})
    return out


def sleb(cfg, W, windows, k, qblock, early=1, latter=1):
    cos_t, sin_t = ppl_oracle.rope_tables(cfg, windows.shape[1])
    alive, masks, steps = list(range(len(W["layers"]))), {}, []
    for _ in range(k):
        best, best_j = 1e99, -1
        for j in range(early, len(alive) - latter):
            lg = masked_logits(cfg, W, windows, add_mask(masks, alive[j], "layer"),
                               qblock, cos_t, sin_t)
            snll = sum(l * windows.shape[1] for l in window_losses(lg, windows))
            if snll < best:
                best, best_j = snll, j
        if best_j < 0:
            break
        masks = add_mask(masks, alive[best_j], "layer")
        steps.append(dict(layer=alive[best_j], kind="layer", score=best))
        del alive[best_j]
    return steps, masks


def blockpruner(cfg, W, windows, k, qblock):
    cos_t, sin_t = ppl_oracle.rope_tables(cfg, windows.shape[1])
    n = len(W["layers"])
    seq, masks, steps = set(), {}, []
    for _ in range(k):
        cands = [("mha", i) for i in range(n) if ("mha", i) not in seq] + \
                [("mlp", i) for i in range(n) if ("mlp", i) not in seq]
        best, best_c = float("inf"), None
        for c in cands:
            m = add_mask(masks, c[1], "attn" if c[0] == "mha" else "mlp")
            losses = window_losses(masked_logits(cfg, W, windows, m, qblock,
                                                 cos_t, sin_t), windows)
            ppl = math.exp(sum(losses) / len(losses))
            if ppl < best:
                best, best_c = ppl, c
        if best_c is None:
            break
        seq.add(best_c)
        kind = "attn" if best_c[0] == "mha" else "mlp"
        masks = add_mask(masks, best_c[1], kind)
        steps.append(dict(layer=best_c[1], kind=kind, score=best))
    return steps, masks


def finercut(cfg, W, windows, k, qblock, exclude=0.0):
    cos_t, sin_t = ppl_oracle.rope_tables(cfg, windows.shape[1])
    n = len(W["layers"])
    names = sorted({f"model.layers.{i}.self_attn.o_proj" for i in range(n)} |
                   {f"model.layers.{i}.mlp.down_proj" for i in range(n)})
    total = len(names)
    n_ex = int(total * exclude / 2) + 1
    ex = [nm for nm in names if any(f".{i}." in nm for i in range(n_ex))]
    targets = [nm for nm in names if nm not in ex]
    dense = masked_logits(cfg, W, windows, {}, qblock, cos_t, sin_t)

    def parse(nm):
        i = int(nm.split(".")[2])
        return i, ("attn" if "self_attn" in nm else "mlp")

    pruned, masks, steps = [], {}, []
    for _ in range(k):
        if not targets:
            break
        perf = []
        for nm in targets:
            i, kind = parse(nm)
            perf.append(js_distance(dense, masked_logits(
                cfg, W, windows, add_mask(masks, i, kind), qblock, cos_t, sin_t)))
        idx = perf.index(min(perf))
        i, kind = parse(targets[idx])
        masks = add_mask(masks, i, kind)
        steps.append(dict(layer=i, kind=kind, score=perf[idx]))
        pruned.append(targets.pop(idx))
        if len(pruned) == int(total * exclude) + 1:
            targets += ex
    return steps, masks


def apply_masks(W, masks):
    layers = []
    for i, L in enumerate(W["layers"]):
        m = masks.get(i, set())
        if m >= {"attn", "mlp"}:
            continue
        Lm = dict(L)
        if "attn" in m:
            Lm["wo"] = torch.zeros_like(L["wo"])
        if "mlp" in m:
            Lm["w_down"] = torch.zeros_like(L["w_down"])
        layers.append(Lm)
    return dict(W, layers=layers)


def search_runs(cfg, W, windows, etoks, eval_seqlen, args):
    """Greedy removal orders (prefixes of one search) and the ppl after the
    first k removals for each k asked."""
    n = len(W["layers"])
    runs = []
    ks_layers = [int(x) for x in args.remove.split(",")]
    ks_blocks = [int(x) for x in args.remove_blocks.split(",")]
    barriers = [(1, 1)] if n >= 3 else [(0, 0)]
    for early, latter in barriers:
        kmax = min(max(ks_layers), n - early - latter, n - 1)
        steps, _ = sleb(cfg, W, windows, kmax, args.qblock, early, latter)
        runs.append(dict(method="sleb", early=early, latter=latter, steps=steps,
                         evals=[]))
    kb = min(max(ks_blocks), 2 * n - 1)
    for name, fn in (("blockpruner", blockpruner), ("finercut", finercut)):
        steps, _ = fn(cfg, W, windows, kb, args.qblock)
        runs.append(dict(method=name, steps=steps, evals=[]))
    for r in runs:
        ks = ks_layers if r["method"] == "sleb" else ks_blocks
        for k in ks:
            if k > len(r["steps"]):
                continue
            masks = {}
            for st in r["steps"][:k]:
                masks = add_mask(masks, st["layer"], st["kind"])
            e = (dict(ppl=None, nchunks=None) if args.no_ppl else
                 po.eval_ppl(cfg, apply_masks(W, masks), etoks, eval_seqlen, 4,
                             args.qblock))
            r["evals"].append(dict(remove=k, ppl=e["ppl"], nchunks=e["nchunks"]))
        print(json.dumps(r))
    return runs


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
    ap.add_argument("--remove-blocks", default="2,4,6")
    ap.add_argument("--search", action="store_true",
                    help="sleb, blockpruner, finercut instead of shortgpt")
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
    if args.search:
        res["runs"] = search_runs(cfg, W, windows, etoks, eval_seqlen, args)
    for angular in (0, 1) if not args.search else ():
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
