#!/usr/bin/python3
"""tests/oracle/flap_families_oracle.py: an independent PyTorch oracle of
FLAP (WIFV / IFV / WIFN, AL-AM / UL-UM, bias compensation), Wanda-sp and
magnitude-sp, as the official FLAP
code computes them (CASIA-IVA-Lab/FLAP lib/prune.py prune_flap,
prune_wanda_sp; lib/layerwrapper.py BiasGPT), carried to OPT, GPT-2 and
GPT-NeoX with the mapping cprune documents (`cprune explain flap`); writes
tests/fixtures/flap_families_oracle.json, which
tests/test_methods_struct_families.c compares with cprune.

No cprune code and no transformers package. The blocks are written from
transformers' modeling_opt.py / modeling_gpt2.py / modeling_gpt_neox.py
(helpers from tests/oracle/neox_gpt2_oracle.py), with two taps: the input
of out_proj (c_proj, dense) and of fc2 (mlp.c_proj, dense_4h_to_h).

The mapping (the reference is MHA LLaMA only):
  o_proj    = OPT self_attn.out_proj, GPT-2 attn.c_proj (Conv1D: weight
              (in, out), so W = weight^T), GPT-NeoX attention.dense
  down_proj = OPT fc2, GPT-2 mlp.c_proj, GPT-NeoX mlp.dense_4h_to_h
  a unit    = one head (MHA): head_dim columns of o_proj's input
  AL-AM     = the reference's weight int(512 / 3) (params of a head over
              params of a channel) becomes int(4 hd H / (2 H)) = 2 hd: a
              channel is an fc1 row and an fc2 column (2 H parameters)
Quirks kept (as tests/oracle/flap_oracle.py): the first window's
fluctuation is 0 and the deviation uses the updated mean; the attention
metric is squared; AL-AM standardises with the unbiased std, keeps
metric > threshold at the argmin of |cumsum(w) - sum(w)(1 - r)| (float32);
FLAP scores the dense model; compensation bias += fp16(mean) of the removed
inputs @ W^T, added to the existing out/fc2 bias; wanda-sp (column score
mean_r |W_rj| sqrt(scaler_j), per layer keep >= sorted[int(r n)]) prunes
block by block.
Removal is applied by zeroing (a removed head's q/k/v rows and bias
elements at its positions in the fused layouts, its o_proj columns; a
removed channel's fc1 row and bias element and fc2 column), an independent
path from cprune's gather into smaller tensors.

Fixture (from the repository root):
  python3 tests/oracle/flap_families_oracle.py --nsamples 8 --seqlen 64 \
      --ratios 0.2,0.5 --out tests/fixtures/flap_families_oracle.json
(calibration: the first nsamples x seqlen tokens of each fixture's
calib.i32; evaluation: its eval.i32, hf protocol, seqlen 64).
"""
import argparse
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import neox_gpt2_oracle as ng  # noqa: E402

FIX = {"opt": "tests/fixtures/prune_arch_opt",
       "gpt_neox": "tests/fixtures/prune_arch_gpt_neox",
       "gpt2": "tests/fixtures/prune_arch_gpt2"}


class Fam:
    """Names and one decoder layer of a family, on a weight dict W (HF names,
    float32 torch tensors; modified in place by the pruning)."""

    def __init__(self, fam, c, W):
        self.fam, self.c, self.W = fam, c, W
        if fam == "opt":
            self.H, self.NH, self.L = c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"]
            self.pre = "model.decoder.layers.%d."
        elif fam == "gpt2":
            self.H, self.NH, self.L = c["n_embd"], c["n_head"], c["n_layer"]
            self.pre = "transformer.h.%d."
        else:
            self.H, self.NH, self.L = c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"]
            self.pre = "gpt_neox.layers.%d."
        self.hd = self.H // self.NH

    def names(self):
        """(o weight, o bias, down weight, down bias, fc1 weight, fc1 bias,
        qkv weight/bias names) suffixes."""
        return {"opt": ("self_attn.out_proj", "fc2", "fc1"),
                "gpt2": ("attn.c_proj", "mlp.c_proj", "mlp.c_fc"),
                "gpt_neox": ("attention.dense", "mlp.dense_4h_to_h",
                             "mlp.dense_h_to_4h")}[self.fam]

    def wmat(self, i, name):
        """(out, in) view of a linear's weight (GPT-2 Conv1D transposed)."""
        w = self.W[(self.pre % i) + name + ".weight"]
        return w.T if self.fam == "gpt2" else w

    def embed(self, ids):
        W, T = self.W, ids.shape[0]
        if self.fam == "opt":
            return W["model.decoder.embed_tokens.weight"][ids] + \
                W["model.decoder.embed_positions.weight"][torch.arange(T) + 2]
        if self.fam == "gpt2":
            return W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][torch.arange(T)]
        return W["gpt_neox.embed_in.weight"][ids]

    def logits(self, h):
        W, c = self.W, self.c
        if self.fam == "opt":
            h = torch.nn.functional.layer_norm(h, (self.H,), W["model.decoder.final_layer_norm.weight"],
                                               W["model.decoder.final_layer_norm.bias"], 1e-5)
            return h @ W.get("lm_head.weight", W["model.decoder.embed_tokens.weight"]).T
        if self.fam == "gpt2":
            h = ng.layer_norm(h, W["transformer.ln_f.weight"], W["transformer.ln_f.bias"],
                              c["layer_norm_epsilon"])
            return h @ W.get("lm_head.weight", W["transformer.wte.weight"]).T
        h = ng.layer_norm(h, W["gpt_neox.final_layer_norm.weight"],
                          W["gpt_neox.final_layer_norm.bias"], c["layer_norm_eps"])
        return h @ W["embed_out.weight"].T

    def layer(self, i, h, tap=None):
        W, c, p, T, H, NH, hd = self.W, self.c, self.pre % i, h.shape[0], self.H, self.NH, self.hd
        lin = lambda x, n: x @ W[p + n + ".weight"].T + W[p + n + ".bias"]
        conv = lambda x, n: torch.addmm(W[p + n + ".bias"], x, W[p + n + ".weight"])
        heads = lambda t: t.view(T, NH, hd).transpose(0, 1)
        if self.fam == "opt":
            r = h
            x = torch.nn.functional.layer_norm(h, (H,), W[p + "self_attn_layer_norm.weight"],
                                               W[p + "self_attn_layer_norm.bias"], 1e-5)
            q = lin(x, "self_attn.q_proj") * hd ** -0.5
            a = ng.attend(heads(q), heads(lin(x, "self_attn.k_proj")),
                          heads(lin(x, "self_attn.v_proj")), hd, scale=False)
            a = a.transpose(0, 1).reshape(T, H)
            if tap:
                tap("o", a)
            h = r + lin(a, "self_attn.out_proj")
            x = torch.nn.functional.layer_norm(h, (H,), W[p + "final_layer_norm.weight"],
                                               W[p + "final_layer_norm.bias"], 1e-5)
            f = torch.relu(lin(x, "fc1"))
            if tap:
                tap("down", f)
            return h + lin(f, "fc2")
        if self.fam == "gpt2":
            eps = c["layer_norm_epsilon"]
            x = ng.layer_norm(h, W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
            q, k, v = conv(x, "attn.c_attn").split(H, dim=1)
            a = ng.attend(heads(q), heads(k), heads(v), hd).transpose(0, 1).reshape(T, H)
            if tap:
                tap("o", a)
            h = conv(a, "attn.c_proj") + h
            x = ng.layer_norm(h, W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
            u = conv(x, "mlp.c_fc")
            f = 0.5 * u * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * torch.pow(u, 3.0))))
            if tap:
                tap("down", f)
            return h + conv(f, "mlp.c_proj")
        eps = c["layer_norm_eps"]
        rd = int(hd * c["rotary_pct"])
        base = c.get("rotary_emb_base", 10000)
        inv = 1.0 / (base ** (torch.arange(0, rd, 2, dtype=torch.int64).float() / rd))
        fr = torch.arange(T).float()[:, None] * inv[None, :]
        emb = torch.cat((fr, fr), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        x = ng.layer_norm(h, W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], eps)
        qkv = lin(x, "attention.query_key_value").view(T, NH, 3 * hd).transpose(0, 1)
        q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
        rot = lambda t: torch.cat((t[..., :rd] * cos + ng.rotate_half(t[..., :rd]) * sin, t[..., rd:]), -1)
        a = ng.attend(rot(q), rot(k), v, hd).transpose(0, 1).reshape(T, H)
        if tap:
            tap("o", a)
        attn = lin(a, "attention.dense")
        x2 = ng.layer_norm(h, W[p + "post_attention_layernorm.weight"],
                           W[p + "post_attention_layernorm.bias"], eps)
        f = torch.nn.functional.gelu(lin(x2, "mlp.dense_h_to_4h"))
        if tap:
            tap("down", f)
        return lin(f, "mlp.dense_4h_to_h") + attn + h

    def zero(self, i, keep_h, keep_c):
        """Zero removed heads / channels of layer i in place."""
        W, p, H, NH, hd = self.W, self.pre % i, self.H, self.NH, self.hd
        on, dn, fn = self.names()
        for h in range(NH):
            if keep_h[h]:
                continue
            if self.fam == "opt":
                for n in ("q_proj", "k_proj", "v_proj"):
                    W[p + f"self_attn.{n}.weight"][h * hd:(h + 1) * hd] = 0
                    W[p + f"self_attn.{n}.bias"][h * hd:(h + 1) * hd] = 0
            elif self.fam == "gpt2":  # columns of the (in, out) Conv1D
                for s in range(3):
                    W[p + "attn.c_attn.weight"][:, s * H + h * hd:s * H + (h + 1) * hd] = 0
                    W[p + "attn.c_attn.bias"][s * H + h * hd:s * H + (h + 1) * hd] = 0
            else:
                W[p + "attention.query_key_value.weight"][h * 3 * hd:(h + 1) * 3 * hd] = 0
                W[p + "attention.query_key_value.bias"][h * 3 * hd:(h + 1) * 3 * hd] = 0
            self.wmat(i, on)[:, h * hd:(h + 1) * hd] = 0
        gone = ~keep_c
        self.wmat(i, fn)[gone] = 0
        W[p + fn + ".bias"][gone] = 0
        self.wmat(i, dn)[:, gone] = 0


class Stats:
    """BiasGPT.add_batch semantics, one window at a time, float64."""

    def __init__(self):
        self.n, self.mu, self.fluc, self.scaler = {}, {}, {}, {}

    def __call__(self, name, X):
        X = X.double()
        n = self.n.get(name, 0)
        if name not in self.mu:
            for d in (self.mu, self.fluc, self.scaler):
                d[name] = torch.zeros(X.shape[1], dtype=torch.float64)
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


def col_metric(kind, metric, W, st, name):
    if kind == "magnitude-sp":
        return W.norm(dim=0)
    if kind == "wanda-sp" or metric == "wifn":
        return (W.abs() * st.scaler[name].sqrt()[None, :]).mean(0)
    if metric == "wifv":
        return st.fluc[name] * W.pow(2).sum(0)
    return st.fluc[name].clone()  # ifv


def prune(F, kind, ratio, wins, metric="wifv", structure="al-am"):
    on, dn, _ = F.names()
    hd, NH = F.hd, F.NH
    xs = [F.embed(w) for w in wins]
    am, mm, mus, masks = [], [], [], []
    with torch.no_grad():
        for i in range(F.L):
            st = Stats()
            outs = [F.layer(i, x, st) for x in xs] if kind != "magnitude-sp" else xs
            Wo, Wd = F.wmat(i, on).double(), F.wmat(i, dn).double()
            a = col_metric(kind, metric, Wo, st, "o")
            m = col_metric(kind, metric, Wd, st, "down")
            if kind == "flap":  # squared for attention; dense inputs
                a = a * a
                mus.append((st.mu["o"], st.mu["down"]))
                xs = outs
                if structure == "al-am":
                    am.append(a), mm.append(m)
                    continue
            au = a.view(-1, hd).sum(1)
            kh = au >= torch.sort(au)[0][int(ratio * NH)]
            kc = m >= torch.sort(m)[0][int(m.numel() * ratio)]
            masks.append((kh, kc))
            if kind == "flap":  # ul-um: compensated and zeroed at the end
                continue
            F.zero(i, kh, kc)
            if kind == "wanda-sp":
                xs = [F.layer(i, x) for x in xs]  # the pruned block feeds the next
        if kind == "flap" and structure == "al-am":
            std = lambda x: (x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True)
            A = std(torch.stack(am)).view(F.L, -1, hd).mean(2)
            M = std(torch.stack(mm))
            pm = torch.cat([A.reshape(-1), M.reshape(-1)])
            sp, idx = torch.sort(pm, descending=True)
            cw = torch.ones_like(idx)
            cw[idx < A.numel()] = int(4 * hd * F.H / (2 * F.H))
            th = sp[torch.argmin(torch.abs(torch.cumsum(cw, 0).float() -
                                           (torch.sum(cw) * (1 - ratio)).float()))]
            masks = [(A[i] > th, M[i] > th) for i in range(F.L)]
        if kind == "flap":
            for i in range(F.L):
                kh, kc = masks[i]
                mu_o, mu_d = mus[i]
                qm = kh.repeat_interleave(hd)
                bo = (mu_o.half().double() * (~qm).double()) @ F.wmat(i, on).double().T
                bd = (mu_d.half().double() * (~kc).double()) @ F.wmat(i, dn).double().T
                p = F.pre % i
                F.W[p + on + ".bias"] += bo.float()
                F.W[p + dn + ".bias"] += bd.float()
                F.zero(i, kh, kc)
    return masks


def eval_ppl(F, toks, L):
    nch, nll = len(toks) // L, 0.0
    with torch.no_grad():
        for c in range(nch):
            chunk = torch.from_numpy(toks[c * L:(c + 1) * L].astype(np.int64))
            h = F.embed(chunk)
            for i in range(F.L):
                h = F.layer(i, h)
            loss = torch.nn.functional.cross_entropy(F.logits(h)[:-1], chunk[1:])
            nll += float(loss) * L
    return math.exp(nll / (nch * L))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nsamples", type=int, default=8)
    ap.add_argument("--seqlen", type=int, default=64)
    ap.add_argument("--ratios", default="0.2,0.5")
    ap.add_argument("--out")
    a = ap.parse_args()
    res = dict(oracle="tests/oracle/flap_families_oracle.py", torch=torch.__version__,
               dtype="float32", nsamples=a.nsamples, seqlen=a.seqlen,
               eval=dict(protocol="hf", seqlen=64), runs=[])
    for fam, d in FIX.items():
        c = json.load(open(os.path.join(d, "config.json")))
        mf = os.path.join(d, "model.safetensors")
        cal = np.fromfile(os.path.join(d, "calib.i32"), dtype="<i4")
        ev = np.fromfile(os.path.join(d, "eval.i32"), dtype="<i4")
        wins = [torch.from_numpy(cal[i * a.seqlen:(i + 1) * a.seqlen].astype(np.int64))
                for i in range(a.nsamples)]
        specs = [(k, float(r), "wifv", "al-am") for r in a.ratios.split(",")
                 for k in ("flap", "wanda-sp")]
        specs += [("flap", 0.5, "ifv", "ul-um"), ("flap", 0.5, "wifn", "al-am"),
                  ("magnitude-sp", 0.5, "wifv", "al-am")]
        for kind, ratio, metric, structure in specs:
            W = {k: v.clone() for k, v in ng.read_safetensors(mf).items()}
            F = Fam(fam, c, W)
            masks = prune(F, kind, ratio, wins, metric, structure)
            kept_h = [int(m[0].sum()) for m in masks]
            kept_c = [int(m[1].sum()) for m in masks]
            params = sum(4 * F.H * F.hd * h + 2 * F.H * ch for h, ch in zip(kept_h, kept_c))
            res["runs"].append(dict(
                family=fam, method=kind, ratio=ratio, metric=metric,
                structure=structure, model_sha256=hashlib.sha256(open(mf, "rb").read()).hexdigest(),
                layers=[dict(kept_heads=[int(j) for j in torch.nonzero(m[0]).view(-1)],
                             kept_channels=[int(j) for j in torch.nonzero(m[1]).view(-1)])
                        for m in masks],
                linear_params=params, ppl=eval_ppl(F, ev, 64)))
    print(json.dumps([(r["family"], r["method"], r["metric"], r["structure"], r["ratio"], [len(l["kept_heads"]) for l in r["layers"]],
                       [len(l["kept_channels"]) for l in r["layers"]], r["ppl"]) for r in res["runs"]]))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
