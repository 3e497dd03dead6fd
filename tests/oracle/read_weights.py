#!/usr/bin/python3
# tests/oracle/read_weights.py: independent reader for the two real models
# in ../shared (numpy + struct + json only; no cprune code), printing the
# fixture values that tests/test_data_model.c compares with cpr_model_load.
#
#   /usr/bin/python3 tests/oracle/read_weights.py [SHARED_DIR]
#
# Each line: model, tensor (cprune field name), index, float value, and its
# IEEE-754 bits in hex, so the C test can compare bit for bit. Run by hand;
# the output is committed into the test as a table.
import json
import os
import struct
import sys

import numpy as np

shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared")


def bits(x):
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


def emit(model, name, idx, arr):
    v = arr[idx]
    pad = list(idx) + [0] * (3 - len(idx))
    print(f'    {{"{model}", "{name}", {len(idx)}, {{{", ".join(map(str, pad))}}}, '
          f'0x{bits(v):08x}u}}, // {float(v):.9g}')


# ---- llama2.c: stories260K.bin (run.c memory_map_weights order) ----
path = os.path.join(shared, "models/stories260K/stories260K.bin")
raw = open(path, "rb").read()
dim, hidden, L, H, KV, vocab, seq = struct.unpack("<7i", raw[:28])
print(f"// stories260K header: dim={dim} hidden={hidden} layers={L} heads={H} "
      f"kv={KV} vocab={vocab} seq={seq}")
w = np.frombuffer(raw, dtype="<f4", offset=28)
hs = dim // H
off = 0


def take(n, shape):
    global off
    a = w[off:off + n].reshape(shape)
    off += n
    return a


V = abs(vocab)
emb = take(V * dim, (V, dim))
rms_att = take(L * dim, (L, dim))
wq = take(L * dim * H * hs, (L, H * hs, dim))
wk = take(L * dim * KV * hs, (L, KV * hs, dim))
wv = take(L * dim * KV * hs, (L, KV * hs, dim))
wo = take(L * H * hs * dim, (L, dim, H * hs))
rms_ffn = take(L * dim, (L, dim))
w1 = take(L * dim * hidden, (L, hidden, dim))
w2 = take(L * hidden * dim, (L, dim, hidden))
w3 = take(L * dim * hidden, (L, hidden, dim))
rms_final = take(dim, (dim,))
off += 2 * (seq * hs // 2)
assert vocab > 0 and off == len(w), (off, len(w))
m = "stories260K"
emit(m, "tok_embed", (0, 0), emb)
emit(m, "tok_embed", (511, 63), emb)
emit(m, "attn_norm", (4, 17), rms_att)
emit(m, "wq", (0, 0, 5), wq)
emit(m, "wq", (4, 63, 63), wq)
emit(m, "wk", (2, 31, 7), wk)
emit(m, "wv", (3, 1, 60), wv)
emit(m, "wo", (1, 40, 9), wo)
emit(m, "mlp_norm", (0, 3), rms_ffn)
emit(m, "w_gate", (4, 171, 63), w1)
emit(m, "w_down", (2, 10, 171), w2)
emit(m, "w_up", (0, 100, 0), w3)
emit(m, "final_norm", (63,), rms_final)

# ---- safetensors: tinystories-656k/model.safetensors ----
path = os.path.join(shared, "models/tinystories-656k/model.safetensors")
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
base = 8 + n


def st(name):
    t = hdr[name]
    assert t["dtype"] == "F32"
    b, e = t["data_offsets"]
    return np.frombuffer(raw[base + b:base + e], dtype="<f4").reshape(t["shape"])


m = "tinystories-656k"
print("// tinystories-656k tensors:", len(hdr) - 1)
emit(m, "tok_embed", (0, 0), st("lm_head.weight"))
emit(m, "tok_embed", (2047, 127), st("lm_head.weight"))
emit(m, "attn_norm", (1, 5), np.stack([st(f"model.layers.{i}.input_layernorm.weight") for i in range(2)]))
emit(m, "wq", (0, 0, 5), np.stack([st(f"model.layers.{i}.self_attn.q_proj.weight") for i in range(2)]))
emit(m, "wk", (1, 63, 127), np.stack([st(f"model.layers.{i}.self_attn.k_proj.weight") for i in range(2)]))
emit(m, "wv", (0, 12, 34), np.stack([st(f"model.layers.{i}.self_attn.v_proj.weight") for i in range(2)]))
emit(m, "wo", (1, 127, 0), np.stack([st(f"model.layers.{i}.self_attn.o_proj.weight") for i in range(2)]))
emit(m, "w_gate", (0, 383, 1), np.stack([st(f"model.layers.{i}.mlp.gate_proj.weight") for i in range(2)]))
emit(m, "w_up", (1, 200, 100), np.stack([st(f"model.layers.{i}.mlp.up_proj.weight") for i in range(2)]))
emit(m, "w_down", (1, 127, 383), np.stack([st(f"model.layers.{i}.mlp.down_proj.weight") for i in range(2)]))
emit(m, "mlp_norm", (0, 64), np.stack([st(f"model.layers.{i}.post_attention_layernorm.weight") for i in range(2)]))
emit(m, "final_norm", (127,), st("model.norm.weight"))
