#!/usr/bin/python3
"""tests/oracle/methods_oracle.py: an independent PyTorch implementation of
the official pruning algorithms (locuslab/wanda lib/prune.py prune_magnitude
and prune_wanda incl. the alpha-bisection variant, lib/layerwrapper.py
scaler_row; IST-DASLab/sparsegpt sparsegpt.py add_batch and fasterprune),
written from the reference code's semantics, on random matrices and random
calibration activations (fixed seeds). Writes tests/fixtures/methods_oracle.bin,
which tests/test_methods_oracle.c loads and compares against the C methods.

Format (little endian): magic b"CPRMFIX1", u32 record count, then records:
name (32 bytes, NUL padded), u32 dtype (0 = f32, 1 = u8), u32 rows,
u32 cols, rows*cols elements.

Run: python3 tests/oracle/methods_oracle.py   (CPU, f32, a few seconds)
"""
import os
import struct
import sys

import torch

ROWS, COLS, NSEQ, SEQLEN = 64, 256, 4, 128  # X: 512 tokens
DEAD = (17, 200)  # input columns that never fire (SparseGPT dead inputs)


def scaler_row_of(xs):
    """wanda WrappedGPT.add_batch, one sequence per call, fp32."""
    s = torch.zeros(COLS)
    n = 0
    for x in xs:
        inp = x.t().float()
        s *= n / (n + 1)
        n += 1
        s += torch.norm(inp, p=2, dim=1) ** 2 / n
    return s


def hessian_of(xs):
    """sparsegpt SparseGPT.add_batch, one sequence per call, fp32."""
    import math
    h = torch.zeros(COLS, COLS)
    n = 0
    for x in xs:
        inp = x.t().float()
        h *= n / (n + 1)
        n += 1
        inp = math.sqrt(2 / n) * inp
        h += inp.matmul(inp.t())
    return h


def magnitude_matrix(w, s):
    m = w.abs()
    thresh = torch.sort(m.flatten())[0][int(w.numel() * s)]
    return m <= thresh


def nm_mask(metric, n, m):
    mask = torch.zeros_like(metric) == 1
    for ii in range(metric.shape[1]):
        if ii % m == 0:
            tmp = metric[:, ii:(ii + m)].float()
            mask.scatter_(1, ii + torch.topk(tmp, n, dim=1, largest=False)[1],
                          True)
    return mask


def per_row(metric, s):
    mask = torch.zeros_like(metric) == 1
    idx = torch.sort(metric, dim=-1, stable=True)[1][:, :int(metric.shape[1] * s)]
    mask.scatter_(1, idx, True)
    return mask


def given_alpha(alpha, sort_res, metric, cums, sum_before):
    thres_cumsum = sum_before * alpha
    sort_mask = cums <= thres_cumsum.reshape((-1, 1))
    thres = torch.gather(sort_res[0], dim=1,
                         index=sort_mask.sum(dim=1, keepdims=True) - 1)
    mask = metric <= thres
    return mask, (mask == True).sum() / mask.numel()


def wanda_variant(metric, s):
    sort_res = torch.sort(metric, dim=-1, stable=True)
    cums = torch.cumsum(sort_res[0], dim=1)
    sum_before = metric.sum(dim=1)
    alpha, lo_hi = 0.4, [0., 0.8]
    mask, cur = given_alpha(alpha, sort_res, metric, cums, sum_before)
    while torch.abs(cur - s) > 0.001 and lo_hi[1] - lo_hi[0] >= 0.001:
        if cur > s:
            new = (alpha + lo_hi[0]) / 2.0
            lo_hi[1] = alpha
        else:
            new = (alpha + lo_hi[1]) / 2.0
            lo_hi[0] = alpha
        alpha = new
        mask, cur = given_alpha(alpha, sort_res, metric, cums, sum_before)
    return mask, alpha, float(cur)


def fasterprune(w0, h0, sparsity, prunen=0, prunem=0, blocksize=128,
                percdamp=.01):
    W = w0.clone().float()
    H = h0.clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(COLS)
    H[diag, diag] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    Hinv = torch.linalg.cholesky(H, upper=True)
    for i1 in range(0, COLS, blocksize):
        i2 = min(i1 + blocksize, COLS)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        if prunen == 0:
            tmp = W1 ** 2 / (torch.diag(Hinv1).reshape((1, -1))) ** 2
            thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * sparsity)]
            mask1 = tmp <= thresh
        else:
            mask1 = torch.zeros_like(W1) == 1
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if prunen != 0 and i % prunem == 0:
                tmp = W1[:, i:(i + prunem)] ** 2 / \
                    (torch.diag(Hinv1)[i:(i + prunem)].reshape((1, -1))) ** 2
                mask1.scatter_(1, i + torch.topk(tmp, prunen, dim=1,
                                                 largest=False)[1], True)
            q = w.clone()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return W


def main():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    w = torch.randn(ROWS, COLS)
    # Quantized copy: many exact ties in |W| (magnitude tie rule).
    wq = torch.round(w * 4) / 4
    # Activations with per-column scales spanning ~2 decades, two dead columns.
    scale = torch.exp(torch.randn(COLS))
    xs = []
    for _ in range(NSEQ):
        x = torch.randn(SEQLEN, COLS) * scale
        x[:, list(DEAD)] = 0
        xs.append(x)
    sr = scaler_row_of(xs)
    h = hessian_of(xs)
    sq = torch.sqrt(sr).reshape(1, -1)

    rec = []
    add = lambda name, t: rec.append((name, t))
    add("w", w)
    add("wq", wq)
    add("scaler_row", sr.reshape(1, -1))
    add("hessian", h)
    add("mag_mat_wq_s50", magnitude_matrix(wq, 0.5))
    add("mag_mat_w_s30", magnitude_matrix(w, 0.3))
    add("mag_row_wq_s50", per_row(wq.abs(), 0.5))
    add("mag_nm24_w", nm_mask(w.abs(), 2, 4))
    add("wanda_w_s50", per_row(w.abs() * sq, 0.5))
    add("wanda_wq_s60", per_row(wq.abs() * sq, 0.6))
    add("wanda_nm24_w", nm_mask(w.abs() * sq, 2, 4))
    add("wanda_nm48_w", nm_mask(w.abs() * sq, 4, 8))
    vm, alpha, cur = wanda_variant(w.abs() * sq, 0.5)
    print(f"wanda variant: alpha {alpha} sparsity {cur:.6f}", file=sys.stderr)
    add("wanda_var_w_s50", vm)
    add("sgpt_w_s50", fasterprune(w, h, 0.5))
    add("sgpt_w_nm24", fasterprune(w, h, 0, 2, 4))
    add("sgpt_w_s50_b64", fasterprune(w, h, 0.5, blocksize=64, percdamp=0.05))

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "fixtures", "methods_oracle.bin")
    with open(out, "wb") as f:
        f.write(b"CPRMFIX1" + struct.pack("<I", len(rec)))
        for name, t in rec:
            t = t.contiguous()
            is_mask = t.dtype == torch.bool
            arr = (t.to(torch.uint8) if is_mask else t.float()).numpy()
            f.write(name.encode().ljust(32, b"\0"))
            f.write(struct.pack("<III", 1 if is_mask else 0, t.shape[0],
                                t.shape[1]))
            f.write(arr.astype("<u1" if is_mask else "<f4").tobytes())
    print(f"wrote {out} ({os.path.getsize(out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
