#!/usr/bin/python3
"""tests/oracle/tasks_oracle.py: an independent PyTorch oracle for
`cprune tasks` (zero-shot multiple choice as lm-evaluation-harness v0.4
scores it).

Everything task-side is written here from the harness's source (task YAMLs
and utils.py of boolq, rte (glue), hellaswag, winogrande, arc_easy,
arc_challenge, openbookqa, piqa; models/huggingface.py _encode_pair and
_loglikelihood_tokens; api/model.py's empty-context rule; api/task.py's
multiple_choice process_results; api/metrics.py mean_stderr), none of it
from cprune's C code:
  * prompts: doc_to_text / doc_to_choice / doc_to_target, target_delimiter
    " ", WinoGrande's partial evaluation (one context per option, a shared
    continuation), HellaSwag's preprocess with Python's re and str methods;
  * _encode_pair: trailing whitespace of the context moves to the
    continuation; whole = enc(ctx + cont), cont_enc = whole[len(enc(ctx)):];
    an empty context is scored after [BOS] (the harness's prefix token);
  * _loglikelihood_tokens: inp = (ctx + cont)[-(max_len + 1):][:-1],
    log_softmax over the vocabulary, the last len(cont) rows, summed;
    greedy = every continuation token is its row's argmax;
  * acc = argmax(lls) == gold, acc_norm = argmax(lls / len(choice)) == gold
    (numpy argmax, len in characters), mean and sample-std stderr.
The model side is tests/oracle/ppl_oracle.py (its own checkpoint readers
and LLaMA forward, no cprune code); the tokenizers are independent
re-implementations: llama2.c's encode() from tests/oracle/llama2c_tokenize.py
(BOS dropped unless --bos) and, for tokenizer.json models, a BPE written
here (Prepend/Replace normalizer, merges by rank, byte fallback).

Writes one JSON fixture with, per task and document, the token ids of every
request, its log-likelihood, greedy flag, and the document's acc/acc_norm.

  /usr/bin/python3 tests/oracle/tasks_oracle.py \\
      --model ../shared/models/stories260K --data tests/fixtures/tasks \\
      --out tests/fixtures/tasks_oracle_stories260K.json
"""
import argparse
import json
import math
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppl_oracle  # noqa: E402
import llama2c_tokenize  # noqa: E402

TASKS = ["boolq", "rte", "hellaswag", "winogrande", "arc_easy", "arc_challenge",
         "openbookqa", "piqa", "custom"]
ACC_NORM = {"hellaswag", "arc_easy", "arc_challenge", "openbookqa", "piqa", "custom"}


# ---- tokenizers ----

class Llama2cTok:
    def __init__(self, path, vocab_size):
        self.vocab, self.scores = llama2c_tokenize.load(path, vocab_size)
        self.bos = 1

    def encode(self, text, bos):
        ids = llama2c_tokenize.encode(text.encode("utf-8"), self.vocab, self.scores)
        return ids if bos else ids[1:]  # encode() always puts BOS first


class BpeTok:
    """tokenizer.json BPE of the SentencePiece kind (TinyStories, LLaMA-2)."""

    def __init__(self, path):
        t = json.load(open(path, encoding="utf-8"))
        m = t["model"]
        assert m["type"] == "BPE" and t.get("pre_tokenizer") is None
        self.vocab = m["vocab"]
        self.rank = {}
        for i, mg in enumerate(m["merges"]):
            a, b = mg.split(" ") if isinstance(mg, str) else mg
            self.rank[(a, b)] = i
        self.byte_fallback = m.get("byte_fallback", False)
        self.fuse_unk = m.get("fuse_unk", False)
        self.unk = self.vocab.get(m.get("unk_token") or "<unk>", 0)
        norm = t["normalizer"]
        self.norms = norm["normalizers"] if norm["type"] == "Sequence" else [norm]
        cfg = json.load(open(os.path.join(os.path.dirname(path), "tokenizer_config.json")))
        self.bos = self.vocab[cfg["bos_token"]]

    def normalize(self, s):
        for n in self.norms:
            if n["type"] == "Prepend":
                s = n["prepend"] + s if s else s
            elif n["type"] == "Replace":
                s = s.replace(n["pattern"]["String"], n["content"])
            else:
                raise SystemExit("normalizer %s not handled" % n["type"])
        return s

    def encode(self, text, bos):
        s = self.normalize(text)
        syms = []
        for ch in s:
            if ch in self.vocab:
                syms.append(ch)
                continue
            bts = ["<0x%02X>" % b for b in ch.encode("utf-8")]
            if self.byte_fallback and all(b in self.vocab for b in bts):
                syms.extend(bts)
            elif not (self.fuse_unk and syms and syms[-1] is None):
                syms.append(None)  # unknown: <unk>, consecutive ones fused
        while len(syms) > 1:
            best, at = None, -1
            for i in range(len(syms) - 1):
                if syms[i] is None or syms[i + 1] is None:
                    continue
                r = self.rank.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if best is None:
                break
            syms[at:at + 2] = [syms[at] + syms[at + 1]]
        ids = [self.vocab[x] if x is not None else self.unk for x in syms]
        return ([self.bos] if bos else []) + ids


# ---- the task definitions (lm-eval YAMLs / utils.py) ----

def hellaswag_preprocess(text):
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def docs_of(task, d):
    """-> list of (contexts, continuations, choices_for_len, gold)."""
    out = []
    if task == "rte" and not os.path.exists(os.path.join(d, "rte.jsonl")):
        rows = []
        with open(os.path.join(d, "rte.tsv"), encoding="utf-8") as f:
            head = f.readline().rstrip("\n").split("\t")
            for l in f:
                if l.strip():
                    rows.append(dict(zip(head, l.rstrip("\n").split("\t"))))
    else:
        rows = read_jsonl(os.path.join(d, task + ".jsonl"))
    if task == "piqa" and rows and "label" not in rows[0]:
        labels = [int(x) for x in open(os.path.join(d, "piqa.lst")).read().split()]
        for r, lab in zip(rows, labels):
            r["label"] = lab
    for doc in rows:
        if task == "boolq":
            ctx = f"{doc['passage']}\nQuestion: {doc['question']}?\nAnswer:"
            gold = int(doc["label"]) if "label" in doc else int(bool(doc["answer"]))
            ch = ["no", "yes"]
            out.append(([ctx] * 2, [" " + c for c in ch], ch, gold))
        elif task == "rte":
            s1 = doc.get("sentence1", doc.get("premise"))
            s2 = doc.get("sentence2", doc.get("hypothesis"))
            lab = doc["label"]
            gold = {"entailment": 0, "not_entailment": 1}.get(lab, lab)
            ctx = f"{s1}\nQuestion: {s2} True or False?\nAnswer:"
            ch = ["True", "False"]
            out.append(([ctx] * 2, [" " + c for c in ch], ch, int(gold)))
        elif task == "hellaswag":
            c = doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
            query = hellaswag_preprocess(doc["activity_label"] + ": " + c)
            ch = [hellaswag_preprocess(e) for e in doc["endings"]]
            out.append(([query] * len(ch), [" " + e for e in ch], ch, int(doc["label"])))
        elif task == "winogrande":
            idx = doc["sentence"].index("_")
            ctxs = [doc["sentence"][:idx] + o for o in (doc["option1"], doc["option2"])]
            target = doc["sentence"][idx + 1:].strip()
            gold = {"1": 0, "2": 1}[doc["answer"]]
            out.append((ctxs, [" " + target] * 2, ctxs, gold))
        elif task in ("arc_easy", "arc_challenge", "openbookqa"):
            q = doc.get("question")
            if isinstance(q, dict):  # AllenAI layout
                stem = q["stem"]
                texts = [c["text"] for c in q["choices"]]
                labels = [c["label"] for c in q["choices"]]
            else:
                stem = doc["question_stem"] if task == "openbookqa" and "question_stem" in doc else q
                texts, labels = doc["choices"]["text"], doc["choices"]["label"]
            key = doc["answerKey"].lstrip() if task == "openbookqa" else doc["answerKey"]
            ctx = stem if task == "openbookqa" else f"Question: {stem}\nAnswer:"
            out.append(([ctx] * len(texts), [" " + t for t in texts], texts,
                        labels.index(key)))
        elif task == "piqa":
            ctx = f"Question: {doc['goal']}\nAnswer:"
            ch = [doc["sol1"], doc["sol2"]]
            out.append(([ctx] * 2, [" " + c for c in ch], ch, int(doc["label"])))
        else:
            ch = doc["choices"]
            out.append(([doc["context"]] * len(ch), [" " + c for c in ch], ch, int(doc["gold"])))
    return out


# ---- _encode_pair and _loglikelihood_tokens ----

def encode_pair(tok, context, continuation, bos):
    if context == "":
        return [tok.bos], tok.encode(continuation, False)
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tok.encode(context + continuation, bos)
    cenc = tok.encode(context, bos)
    return cenc, whole[len(cenc):]


def loglikelihood(cfg, W, ctx, cont, max_len, dtype):
    if len(cont) == 0:
        return 0.0, True
    inp = (ctx + cont)[-(max_len + 1):][:-1]
    logits = ppl_oracle.forward(cfg, W, torch.tensor(inp, dtype=torch.long), dtype)
    logp = torch.log_softmax(logits.to(torch.float64), dim=-1)
    rows = logp[len(inp) - len(cont):len(inp)]
    tgt = torch.tensor(cont, dtype=torch.long)
    greedy = bool((rows.argmax(dim=-1) == tgt).all())
    return float(rows.gather(1, tgt[:, None]).sum()), greedy


def mean_stderr(x):
    mu = sum(x) / len(x)
    if len(x) < 2:
        return mu, None
    sd = math.sqrt(sum((v - mu) ** 2 for v in x) / (len(x) - 1))
    return mu, sd / math.sqrt(len(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="model folder (llama2.c .bin or HF)")
    ap.add_argument("--data", action="append", required=True,
                    help="task folder (repeatable; the second onwards keyed dir/task)")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--bos", action="store_true")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    binp = [f for f in os.listdir(a.model) if f.endswith(".bin") and not f.startswith("tok")]
    if os.path.exists(os.path.join(a.model, "config.json")):
        cfg, W = ppl_oracle.load_hf(a.model)
        tok = BpeTok(os.path.join(a.model, "tokenizer.json"))
    else:
        cfg, W = ppl_oracle.load_llama2c(os.path.join(a.model, binp[0]))
        toks = [f for f in os.listdir(a.model) if f.startswith("tok") and f.endswith(".bin")]
        tok = Llama2cTok(os.path.join(a.model, toks[0]), cfg["vocab"])
    dtype = getattr(torch, a.dtype)
    max_len = cfg["context"]
    res = {"model": os.path.basename(os.path.normpath(a.model)), "bos": a.bos,
           "dtype": a.dtype, "max_len": max_len, "tasks": {}}
    for di, d in enumerate(a.data):
        for task in a.tasks.split(","):
            has = os.path.exists(os.path.join(d, task + ".jsonl")) or \
                (task == "rte" and os.path.exists(os.path.join(d, "rte.tsv")))
            if not has:
                continue
            key = task if di == 0 else os.path.basename(os.path.normpath(d)) + "/" + task
            docs, accs, norms = [], [], []
            for ctxs, conts, choices, gold in docs_of(task, d):
                ctx_ids, cont_ids, lls, greedy = [], [], [], []
                for c, x in zip(ctxs, conts):
                    ce, xe = encode_pair(tok, c, x, a.bos)
                    ll, g = loglikelihood(cfg, W, ce, xe, max_len, dtype)
                    ctx_ids.append(ce)
                    cont_ids.append(xe)
                    lls.append(ll)
                    greedy.append(g)
                lls_np = np.array(lls)
                clen = np.array([float(len(c)) for c in choices])
                with np.errstate(divide="ignore", invalid="ignore"):
                    acc = 1.0 if int(np.argmax(lls_np)) == gold else 0.0
                    acc_norm = 1.0 if int(np.argmax(lls_np / clen)) == gold else 0.0
                accs.append(acc)
                norms.append(acc_norm)
                docs.append(dict(gold=gold, ctx_ids=ctx_ids, cont_ids=cont_ids, lls=lls,
                                 greedy=greedy, acc=int(acc), acc_norm=int(acc_norm)))
            m, se = mean_stderr(accs)
            t = {"n": len(docs), "acc": m, "acc_stderr": se, "docs": docs}
            if task in ACC_NORM:
                t["acc_norm"], t["acc_norm_stderr"] = mean_stderr(norms)
            res["tasks"][key] = t
            print(f"{key:16s} n={len(docs)} acc {m:.4f}" +
                  (f" acc_norm {t['acc_norm']:.4f}" if "acc_norm" in t else ""))
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
