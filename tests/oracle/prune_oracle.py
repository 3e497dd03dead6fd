#!/usr/bin/python3
"""tests/oracle/prune_oracle.py: an independent PyTorch oracle of the official
layer-wise pruning pipeline (magnitude, Wanda, SparseGPT) on real models,
followed by perplexity evaluation; writes the prune_oracle_*.json fixtures.

Written from the semantics of the reference code, not copied from it:
locuslab/wanda lib/prune.py (prepare_calibration_input, prune_magnitude,
prune_wanda, prune_sparsegpt, check_sparsity), lib/layerwrapper.py
(WrappedGPT.add_batch, scaler_row), IST-DASLab/sparsegpt sparsegpt.py
(add_batch, fasterprune); see also shared/docs/METHODS_REFERENCE.md A.0,
A.1, A.3, A.4, A.15. The model readers, the LLaMA block and the logits come
from ppl_oracle.py in this folder (no cprune code, no transformers).

Protocol (everything float32 on the CPU; the reference code runs the model
in fp16 on a GPU with TF32 disabled, so its numbers differ in the last
digits, and more for SparseGPT, whose solve is sensitive to rounding):
  calibration  one token stream (the calibration text tokenized once, BOS at
               position 0 only); sequential sampling: window i is
               tokens[i*seqlen:(i+1)*seqlen], i = 0..nsamples-1
               (nsamples 128, seqlen 512 by default; too short = error).
               The reference draws random C4 windows instead (A.0).
  pipeline     the inputs to block 0 (embedding output) of every window are
               captured; for each block in order: run every window through
               the still dense block, collecting statistics at the inputs
               of all 7 linears (q, k, v, o, gate, up, down); prune the 7;
               re-run the pruned block on every window to make the next
               block's inputs. Embeddings, norms and lm_head are never
               pruned. Magnitude needs no calibration and skips all this.
  magnitude    per matrix: thresh = sort(|W|.flatten())[int(numel*s)],
               prune |W| <= thresh (ties with thresh pruned too).
               N:M: per row, per group of m consecutive input columns,
               prune the n smallest |W|.
  wanda        scaler_row[j] = (1/nsamples) sum_windows sum_tokens x_j^2,
               accumulated in fp32 per window as a running mean, the way
               WrappedGPT.add_batch does (s *= k/(k+1); s += ||x_j||^2/(k+1));
               S = |W| * sqrt(scaler_row). Unstructured: per output row, a
               stable ascending sort, prune exactly int(cols*s) smallest.
               N:M: per row and group of m columns, prune the n smallest S.
  sparsegpt    H = (2/nsamples) sum X^T X in fp32, accumulated per window as
               SparseGPT.add_batch does; fasterprune: dead inputs (H_dd = 0)
               get H_dd = 1 and W[:, d] = 0; damp = 0.01 * mean(diag H);
               Hinv = cholesky(cholesky_inverse(cholesky(H)), upper=True);
               column blocks of 128: unstructured mask per block over
               rows x 128 with thresh = sort(tmp.flatten())[int(numel*s)],
               tmp = W^2 / diag(Hinv_block)^2, prune tmp <= thresh; N:M:
               at every column i with i % m == 0 the n smallest of
               W[:, i:i+m]^2 / diag^2 on the already updated weights;
               per-column error feedback inside the block and the lazy
               batch update W[:, end:] -= Err @ Hinv[block, end:] after it.
  ties         N:M groups and Wanda rows: the lower column index is pruned
               first (stable sort; torch.topk, used by the reference, leaves
               tie order unspecified). For magnitude N:M on bf16-derived
               weights ties are common; the fixture counts the groups
               where the choice mattered ("nm_tied_groups").
  sparsity     zeros / numel over the 7 linears of every block
               (wanda check_sparsity).
  perplexity   hf protocol (wanda lib/eval.py): n // seqlen non-overlapping
               chunks of the eval stream, per-chunk CrossEntropy mean over
               the seqlen-1 shifted positions, ppl = exp(mean of those).

Token files: cprune token files ("CPRTOK1", data/tokfile.h) read here, or
raw little-endian int32 files named *.i32. Hashes are sha256 of the ids as
little-endian int32, the same as `cprune tokenize` prints.

Threads: default 1. On the 2-core development machine shared with other
jobs, OpenMP with 2 threads was ~10x slower than 1 thread for these tiny
matrices.

How the fixtures were made (from the repository root, CPRUNE_DATA=../shared
or /work/shared):
  make -j2 BUILD=/tmp/orc/build
  mkdir -p /tmp/orc/tok
  for ds in "tinystories calib" "tinystories eval" "wikitext2 test"; do
    set -- $ds
    /tmp/orc/build/cprune tokenize --model $CPRUNE_DATA/models/stories260K/stories260K.bin \
        --dataset $1 --split $2 --out /tmp/orc/tok/stories260K_$1_$2.tok
    /tmp/orc/build/cprune tokenize --model $CPRUNE_DATA/models/tinystories-656k \
        --dataset $1 --split $2 --out /tmp/orc/tok/tinystories-656k_$1_$2.tok
  done
  for m in stories260K tinystories-656k; do
    M=$CPRUNE_DATA/models/$m; [ $m = stories260K ] && M=$M/stories260K.bin
    /usr/bin/python3 tests/oracle/prune_oracle.py --model $M \
        --calib /tmp/orc/tok/${m}_tinystories_calib.tok \
        --eval tinystories/eval=/tmp/orc/tok/${m}_tinystories_eval.tok \
        --eval wikitext2/test=/tmp/orc/tok/${m}_wikitext2_test.tok \
        --out tests/fixtures/prune_oracle_$m.json
  done
One case only, e.g. the acceptance check (wanda 50% on stories260K, expected
tinystories/eval ppl 24.4659): add --runs wanda:50% and drop --out.
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppl_oracle  # noqa: E402

LINEARS = ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down")
# which block input feeds each linear (ppl_oracle.decoder_block tap names)
TAP_OF = dict(wq="attn", wk="attn", wv="attn", wo="o", w_gate="mlp", w_up="mlp",
              w_down="down")
HF_NAME = dict(wq="self_attn.q_proj", wk="self_attn.k_proj", wv="self_attn.v_proj",
               wo="self_attn.o_proj", w_gate="mlp.gate_proj", w_up="mlp.up_proj",
               w_down="mlp.down_proj")


# ---- token streams ----

def read_token_stream(path):
    """A cprune token file (header: magic "CPRTOK1\\0", u32 version 1, u32
    bytes per id 2|4, u64 count, 32-byte tokenizer sha256, 8 reserved; then
    the ids), or a raw little-endian int32 file (*.i32)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:8] == b"CPRTOK1\0":
        version = int.from_bytes(raw[8:12], "little")
        width = int.from_bytes(raw[12:16], "little")
        count = int.from_bytes(raw[16:24], "little")
        if version != 1 or width not in (2, 4) or len(raw) != 64 + width * count:
            raise SystemExit(f"{path}: bad token file header (version {version}, "
                             f"id size {width}, count {count}, {len(raw)} bytes)")
        dt = "<u2" if width == 2 else "<u4"
        return np.frombuffer(raw, dtype=dt, offset=64, count=count).astype(np.int64)
    if path.endswith(".i32"):
        return np.frombuffer(raw, dtype="<i4").astype(np.int64)
    raise SystemExit(f"{path}: neither a cprune token file nor *.i32")


def stream_info(toks):
    return dict(ntokens=int(len(toks)),
                sha256=hashlib.sha256(toks.astype("<i4").tobytes()).hexdigest(),
                first_ids=[int(t) for t in toks[:8]])


def shown_path(path):
    """The path as recorded: relative to $CPRUNE_DATA when inside it."""
    data = os.environ.get("CPRUNE_DATA")
    if data:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(data))
        if not rel.startswith(".."):
            return "$CPRUNE_DATA/" + rel
    return path


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


# ---- masks ----

def nm_prune_mask(score, n, m):
    """True where pruned: per row, per group of m consecutive columns, the
    n smallest scores (stable: ties go to the lower column). Also returns
    how many groups had a tie across the prune/keep boundary."""
    rows, cols = score.shape
    if cols % m:
        raise SystemExit(f"N:M: {cols} columns not a multiple of {m}")
    g = score.reshape(rows, cols // m, m)
    order = torch.sort(g, dim=-1, stable=True)[1]
    mask = torch.zeros_like(g, dtype=torch.bool)
    mask.scatter_(-1, order[..., :n], True)
    srt = torch.gather(g, -1, order)
    tied = int((srt[..., n - 1] == srt[..., n]).sum())
    return mask.reshape(rows, cols), tied


def magnitude_mask(w, pat):
    a = w.abs()
    if pat["n"]:
        return nm_prune_mask(a, pat["n"], pat["m"])
    flat = torch.sort(a.flatten())[0]
    return a <= flat[int(a.numel() * pat["s"])], 0


def wanda_mask(w, scaler_row, pat):
    score = w.abs() * scaler_row.sqrt()[None, :]
    if pat["n"]:
        return nm_prune_mask(score, pat["n"], pat["m"])
    k = int(w.shape[1] * pat["s"])
    order = torch.sort(score, dim=1, stable=True)[1]
    mask = torch.zeros_like(w, dtype=torch.bool)
    mask.scatter_(1, order[:, :k], True)
    return mask, 0


def sparsegpt_prune(w, H, pat, blocksize=128, percdamp=0.01):
    """SparseGPT fasterprune (no quantization) on a copy of w; returns the
    pruned float32 matrix and the tie count of the N:M choices."""
    W = w.clone().float()
    H = H.clone()
    rows, cols = W.shape
    dead = torch.diagonal(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    idx = torch.arange(cols)
    H[idx, idx] += percdamp * torch.diagonal(H).mean()
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    tied = 0
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
                sel, t = nm_prune_mask(Wb[:, j:j + m] ** 2 / dg[None, j:j + m] ** 2, pat["n"], m)
                prune[:, j:j + m] |= sel
                tied += t
            col = Wb[:, j]
            q = torch.where(prune[:, j], torch.zeros_like(col), col)
            e = (col - q) / Ub[j, j]
            Wb[:, j:] -= e[:, None] * Ub[j, j:][None, :]
            Qb[:, j] = q
            Eb[:, j] = e
        W[:, b0:b1] = Qb
        W[:, b1:] -= Eb @ U[b0:b1, b1:]
    return W, tied


# ---- the layer-wise pipeline ----

def calib_windows(toks, nsamples, seqlen):
    need = nsamples * seqlen
    if len(toks) < need:
        raise SystemExit(f"calibration stream has {len(toks)} tokens; "
                         f"{nsamples} x {seqlen} sequential windows need {need}")
    return torch.from_numpy(toks[:need].copy()).view(nsamples, seqlen)


class Stats:
    """Per tap: wanda's scaler_row or SparseGPT's H, accumulated one window
    at a time as the reference wrappers do (running mean over windows)."""

    def __init__(self, kind):
        self.kind, self.acc, self.count = kind, {}, {}

    def __call__(self, name, x):
        for X in x.float():  # one window (T, in) at a time, batch dim 1
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


def run_blocks(cfg, layer, xs, cos, sin, batch, qblock, taps=None):
    out = torch.empty_like(xs)
    with torch.no_grad():
        for b0 in range(0, xs.shape[0], batch):
            out[b0:b0 + batch] = ppl_oracle.decoder_block(
                cfg, layer, xs[b0:b0 + batch], cos, sin, taps=taps, qblock=qblock)
    return out


def prune_model(cfg, W, method, pat, windows, args):
    """Returns the pruned weights (new layer dicts; the rest shared), and
    the total N:M tie count."""
    layers = [dict(L) for L in W["layers"]]
    Wp = dict(W, layers=layers)
    tied = 0
    if method == "magnitude":
        for L in layers:
            for name in LINEARS:
                mask, t = magnitude_mask(L[name], pat)
                L[name] = L[name].masked_fill(mask, 0.0)
                tied += t
        return Wp, tied
    cos, sin = ppl_oracle.rope_tables(cfg, windows.shape[1])
    xs = W["embed"][windows].float()  # the inputs of block 0 (Catcher)
    for L in layers:
        st = Stats(method)
        run_blocks(cfg, L, xs, cos, sin, args.batch, args.qblock, taps=st)
        if st.count["attn"] != windows.shape[0]:
            raise SystemExit("internal: statistic count != nsamples")
        for name in LINEARS:
            acc = st.acc[TAP_OF[name]]
            if method == "wanda":
                mask, t = wanda_mask(L[name], acc, pat)
                L[name] = L[name].masked_fill(mask, 0.0)
            else:
                L[name], t = sparsegpt_prune(L[name], acc, pat)
            tied += t
        xs = run_blocks(cfg, L, xs, cos, sin, args.batch, args.qblock)
    return Wp, tied


def sparsity(W):
    zeros = total = 0
    per_block = []
    for L in W["layers"]:
        z = sum(int((L[n] == 0).sum()) for n in LINEARS)
        t = sum(L[n].numel() for n in LINEARS)
        per_block.append(z / t)
        zeros, total = zeros + z, total + t
    return zeros / total, per_block, zeros, total


def eval_ppl(cfg, W, toks, seqlen, batch, qblock):
    """hf protocol: nchunks = n // seqlen non-overlapping chunks, no BOS
    insertion; ppl = exp(sum(loss_c * seqlen) / (nchunks * seqlen))."""
    nch = len(toks) // seqlen
    cos, sin = ppl_oracle.rope_tables(cfg, seqlen)
    nll = 0.0
    with torch.no_grad():
        for c0 in range(0, nch, batch):
            c1 = min(nch, c0 + batch)
            chunk = torch.from_numpy(toks[c0 * seqlen:c1 * seqlen].copy()).view(c1 - c0, seqlen)
            x = W["embed"][chunk]
            for L in W["layers"]:
                x = ppl_oracle.decoder_block(cfg, L, x, cos, sin, qblock=qblock)
            logits = ppl_oracle.final_logits(cfg, W, x)
            for b in range(c1 - c0):
                loss = torch.nn.functional.cross_entropy(logits[b, :-1], chunk[b, 1:])
                nll += float(loss) * seqlen
    mean = nll / (nch * seqlen)
    return dict(nll=mean, ppl=math.exp(mean), nchunks=nch)


def parse_pattern(p):
    if ":" in p:
        n, m = (int(v) for v in p.split(":"))
        if not 0 < n < m:
            raise SystemExit(f"bad N:M pattern {p}")
        return dict(name=p, n=n, m=m, s=n / m)
    s = float(p.rstrip("%")) / (100.0 if p.endswith("%") else 1.0)
    if not 0 <= s < 1:
        raise SystemExit(f"bad sparsity {p}")
    return dict(name=p, n=0, m=0, s=s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="llama2.c .bin or HF directory")
    ap.add_argument("--calib", required=True, help="calibration token file")
    ap.add_argument("--eval", action="append", required=True, metavar="LABEL=FILE",
                    help="evaluation token file, e.g. wikitext2/test=wt.tok (repeatable)")
    ap.add_argument("--nsamples", type=int, default=128)
    ap.add_argument("--seqlen", type=int, default=0, help="default: the model's context")
    ap.add_argument("--runs", default="dense,magnitude:50%,magnitude:2:4,wanda:50%,"
                    "wanda:2:4,sparsegpt:50%,sparsegpt:2:4",
                    help="comma list of dense | METHOD:PATTERN (50%%, 0.5, 2:4)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4, help="windows per forward call")
    ap.add_argument("--qblock", type=int, default=32, help="queries per attention block")
    ap.add_argument("--out", help="write the fixture JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False  # as sparsegpt.py (CPU: no effect)
    torch.backends.cudnn.allow_tf32 = False

    if os.path.isdir(args.model):
        cfg, W = ppl_oracle.load_hf(args.model)
        files = sorted(f for f in os.listdir(args.model)
                       if f.endswith(".safetensors") or f == "config.json")
        model_files = {f: sha256_file(os.path.join(args.model, f)) for f in files}
    else:
        cfg, W = ppl_oracle.load_llama2c(args.model)
        model_files = {os.path.basename(args.model): sha256_file(args.model)}
    seqlen = args.seqlen or cfg["context"]
    calib = read_token_stream(args.calib)
    windows = calib_windows(calib, args.nsamples, seqlen)
    evals = []
    for e in args.eval:
        label, _, path = e.partition("=")
        if not path:
            raise SystemExit(f"--eval {e}: want LABEL=FILE")
        evals.append((label, path, read_token_stream(path)))

    protocol = dict(
        oracle="tests/oracle/prune_oracle.py",
        model=os.path.basename(os.path.normpath(args.model)),
        model_path=shown_path(args.model), model_sha256=model_files,
        calibration=dict(file=os.path.basename(args.calib), sampling="sequential",
                         nsamples=args.nsamples, seqlen=seqlen, **stream_info(calib)),
        eval={label: dict(file=os.path.basename(p), protocol="hf", seqlen=seqlen,
                          nchunks=len(t) // seqlen, **stream_info(t))
              for label, p, t in evals},
        linears=[HF_NAME[n] for n in LINEARS],
        dtype="float32 (reference: fp16 model on GPU, TF32 off)",
        scaler_row="running mean per window in fp32 (WrappedGPT.add_batch)",
        hessian="H = 2/nsamples * sum X^T X, running mean per window in fp32",
        sparsegpt=dict(blocksize=128, percdamp=0.01),
        ties="lower column index pruned first (N:M groups, wanda rows); "
             "magnitude/sparsegpt unstructured prune everything <= thresh",
        torch=torch.__version__, threads=args.threads,
    )
    runs = []
    t_all = time.time()
    for spec in args.runs.split(","):
        method, _, p = spec.partition(":")
        if method not in ("dense", "magnitude", "wanda", "sparsegpt"):
            raise SystemExit(f"unknown method {method}")
        t0 = time.time()
        if method == "dense":
            pat, Wp, tied = None, W, 0
        else:
            pat = parse_pattern(p)
            Wp, tied = prune_model(cfg, W, method, pat, windows, args)
        t_prune = time.time() - t0
        sp, per_block, zeros, total = sparsity(Wp)
        for label, _, toks in evals:
            t1 = time.time()
            r = eval_ppl(cfg, Wp, toks, seqlen, args.batch, args.qblock)
            rec = dict(method=method, pattern=pat["name"] if pat else "dense",
                       sparsity_target=pat["s"] if pat else 0.0, dataset=label,
                       ppl=r["ppl"], nll=r["nll"], nchunks=r["nchunks"],
                       sparsity=round(sp, 9), zeros=zeros, numel=total,
                       block_sparsity=[round(v, 9) for v in per_block],
                       nm_tied_groups=tied, seconds_prune=round(t_prune, 2),
                       seconds_eval=round(time.time() - t1, 2))
            runs.append(rec)
            print(f"{protocol['model']:>18} {rec['method']:>9} "
                  f"{rec['pattern']:>6} {label:>16} ppl {rec['ppl']:.6f} "
                  f"sparsity {sp:.6f} ({rec['seconds_prune']} + {rec['seconds_eval']} s)",
                  flush=True)
    protocol["seconds"] = round(time.time() - t_all, 2)
    res = dict(protocol=protocol, runs=runs)
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        os.replace(args.out + ".tmp", args.out)
        print("wrote", args.out)


if __name__ == "__main__":
    main()
