#!/usr/bin/python3
"""tests/oracle/struct_padded_families.py: an independent reader of the
hf-padded output of a width-pruned OPT, GPT-2 and GPT-NeoX model
(core/struct_pad.h), as stock transformers would see it, then perplexity;
writes tests/fixtures/struct_padded_families.json, which
tests/test_core_struct_families.c compares with cprune's perplexity of the
padded model it builds.

No cprune code and no transformers package. For each family:
  - config.json is plain: no cprune extension key ("cprune_layer_shapes"),
    the model_type of the family;
  - model.safetensors holds exactly the tensors the family's PreTrainedModel
    would load (no missing key from_pretrained would initialise, no
    unexpected one it would drop), each of the shape its config implies,
    named as transformers names them (modeling_opt.py: OPTDecoderLayer's
    self_attn.{q,k,v,out}_proj / fc1 / fc2 with biases (enable_bias),
    lm_head tied; modeling_gpt2.py: Conv1D weights stored (in, out),
    lm_head tied to wte; modeling_gpt_neox.py: query_key_value / dense with
    biases (attention_bias), untied embed_out);
  - the perplexity under the hf protocol over the fixture's eval.i32, with
    the families' forwards of tests/oracle/opt_oracle.py and
    tests/oracle/neox_gpt2_oracle.py (written from the HF modeling code).

Fixture (from the repository root):
  CPR_STRUCT_PADDED_DIR=/tmp/padded build/cprune_tests core_struct_families
  python3 tests/oracle/struct_padded_families.py --dir /tmp/padded \
      --out tests/fixtures/struct_padded_families.json
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
import neox_gpt2_oracle  # noqa: E402
import opt_oracle  # noqa: E402

FIX = {"opt": "tests/fixtures/prune_arch_opt",
       "gpt_neox": "tests/fixtures/prune_arch_gpt_neox",
       "gpt2": "tests/fixtures/prune_arch_gpt2"}


def expected(fam, c):
    """name -> shape of every tensor the stock model loads."""
    e = {}
    if fam == "opt":
        H, L, F = c["hidden_size"], c["num_hidden_layers"], c["ffn_dim"]
        V, P = c["vocab_size"], c["max_position_embeddings"]
        p = "model.decoder."
        e[p + "embed_tokens.weight"] = (V, H)
        e[p + "embed_positions.weight"] = (P + 2, H)
        e[p + "final_layer_norm.weight"] = e[p + "final_layer_norm.bias"] = (H,)
        for i in range(L):
            q = f"{p}layers.{i}."
            for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
                e[q + f"self_attn.{n}.weight"] = (H, H)
                e[q + f"self_attn.{n}.bias"] = (H,)
            for n in ("self_attn_layer_norm", "final_layer_norm"):
                e[q + n + ".weight"] = e[q + n + ".bias"] = (H,)
            e[q + "fc1.weight"], e[q + "fc1.bias"] = (F, H), (F,)
            e[q + "fc2.weight"], e[q + "fc2.bias"] = (H, F), (H,)
        if not c.get("tie_word_embeddings", True):
            e["lm_head.weight"] = (V, H)
    elif fam == "gpt2":
        H, L, V, P = c["n_embd"], c["n_layer"], c["vocab_size"], c["n_positions"]
        F = c.get("n_inner") or 4 * H
        p = "transformer."
        e[p + "wte.weight"], e[p + "wpe.weight"] = (V, H), (P, H)
        e[p + "ln_f.weight"] = e[p + "ln_f.bias"] = (H,)
        for i in range(L):
            q = f"{p}h.{i}."
            for n in ("ln_1", "ln_2"):
                e[q + n + ".weight"] = e[q + n + ".bias"] = (H,)
            # Conv1D: weight (in, out)
            e[q + "attn.c_attn.weight"], e[q + "attn.c_attn.bias"] = (H, 3 * H), (3 * H,)
            e[q + "attn.c_proj.weight"], e[q + "attn.c_proj.bias"] = (H, H), (H,)
            e[q + "mlp.c_fc.weight"], e[q + "mlp.c_fc.bias"] = (H, F), (F,)
            e[q + "mlp.c_proj.weight"], e[q + "mlp.c_proj.bias"] = (F, H), (H,)
    else:  # gpt_neox
        H, L, V = c["hidden_size"], c["num_hidden_layers"], c["vocab_size"]
        F, bias = c["intermediate_size"], c.get("attention_bias", True)
        p = "gpt_neox."
        e[p + "embed_in.weight"], e["embed_out.weight"] = (V, H), (V, H)
        e[p + "final_layer_norm.weight"] = e[p + "final_layer_norm.bias"] = (H,)
        for i in range(L):
            q = f"{p}layers.{i}."
            for n in ("input_layernorm", "post_attention_layernorm"):
                e[q + n + ".weight"] = e[q + n + ".bias"] = (H,)
            e[q + "attention.query_key_value.weight"] = (3 * H, H)
            e[q + "attention.dense.weight"] = (H, H)
            if bias:
                e[q + "attention.query_key_value.bias"] = (3 * H,)
                e[q + "attention.dense.bias"] = (H,)
            e[q + "mlp.dense_h_to_4h.weight"], e[q + "mlp.dense_h_to_4h.bias"] = (F, H), (F,)
            e[q + "mlp.dense_4h_to_h.weight"], e[q + "mlp.dense_4h_to_h.bias"] = (H, F), (H,)
    return e


def check(fam, d):
    c = json.load(open(os.path.join(d, "config.json")))
    if c.get("model_type") != fam:
        raise SystemExit(f"{d}: model_type {c.get('model_type')}, expected {fam}")
    extra = [k for k in c if k.startswith("cprune")]
    if extra:
        raise SystemExit(f"{d}: config has cprune keys {extra}: not a plain config")
    mf = os.path.join(d, "model.safetensors")
    reader = opt_oracle if fam == "opt" else neox_gpt2_oracle
    W = reader.read_safetensors(mf)
    want = expected(fam, c)
    missing = sorted(set(want) - set(W))
    unexpected = sorted(set(W) - set(want))
    if missing or unexpected:
        raise SystemExit(f"{d}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for k, s in want.items():
        if tuple(W[k].shape) != s:
            raise SystemExit(f"{d}: {k} has shape {tuple(W[k].shape)}, expected {s}")
    return c, W, mf


def ppl(fam, c, W, toks, L):
    fwd = {"opt": opt_oracle.forward, "gpt2": neox_gpt2_oracle.forward_gpt2,
           "gpt_neox": neox_gpt2_oracle.forward_neox}[fam]
    nchunks, nll_sum = len(toks) // L, 0.0
    with torch.no_grad():
        for i in range(nchunks):
            chunk = torch.from_numpy(toks[i * L:(i + 1) * L].astype(np.int64))
            logits = fwd(c, W, chunk)
            loss = torch.nn.functional.cross_entropy(logits[:-1], chunk[1:])
            nll_sum += float(loss) * L
    mean = nll_sum / (nchunks * L)
    return mean, nchunks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="folder with opt/, gpt_neox/, gpt2/")
    ap.add_argument("--seqlen", type=int, default=64)
    ap.add_argument("--out")
    a = ap.parse_args()
    res = dict(oracle="tests/oracle/struct_padded_families.py",
               torch=torch.__version__, dtype="float32", protocol="hf",
               seqlen=a.seqlen, families={})
    for fam, fx in FIX.items():
        d = os.path.join(a.dir, fam)
        c, W, mf = check(fam, d)
        toks = np.fromfile(os.path.join(fx, "eval.i32"), dtype="<i4")
        nll, nchunks = ppl(fam, c, W, toks, a.seqlen)
        res["families"][fam] = dict(
            source=fx, model_sha256=hashlib.sha256(open(mf, "rb").read()).hexdigest(),
            ntokens=len(toks), nchunks=nchunks, nll=nll, ppl=math.exp(nll))
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
