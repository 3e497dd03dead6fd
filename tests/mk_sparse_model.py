#!/usr/bin/env python3
# tests/mk_sparse_model.py: write a LLaMA-shaped Hugging Face directory
# (config.json + model.safetensors) whose safetensors header is complete but
# whose data region is a sparse hole (the file is truncated to full size),
# so checks that read only headers can be timed at real shapes without the
# disk space. Shapes default to LLaMA-2-7B (bf16: 13.5 GB apparent, a few
# KB on disk).
# usage: tests/mk_sparse_model.py DIR [hidden intermediate layers heads vocab]
import json, os, struct, sys

d = sys.argv[1]
h, inter, nl, nh, vocab = (int(x) for x in (sys.argv[2:7] or
                           (4096, 11008, 32, 32, 32000)))
os.makedirs(d, exist_ok=True)
cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
       "hidden_size": h, "intermediate_size": inter,
       "num_hidden_layers": nl, "num_attention_heads": nh,
       "num_key_value_heads": nh, "vocab_size": vocab,
       "max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
       "rope_theta": 10000.0, "hidden_act": "silu",
       "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2,
       "torch_dtype": "bfloat16"}
with open(os.path.join(d, "config.json"), "w") as f:
    json.dump(cfg, f, indent=1)
shapes = {"model.embed_tokens.weight": [vocab, h], "model.norm.weight": [h],
          "lm_head.weight": [vocab, h]}
for l in range(nl):
    p = "model.layers.%d." % l
    shapes[p + "input_layernorm.weight"] = [h]
    shapes[p + "post_attention_layernorm.weight"] = [h]
    for n in ("q", "k", "v", "o"):
        shapes[p + "self_attn.%s_proj.weight" % n] = [h, h]
    shapes[p + "mlp.gate_proj.weight"] = [inter, h]
    shapes[p + "mlp.up_proj.weight"] = [inter, h]
    shapes[p + "mlp.down_proj.weight"] = [h, inter]
hdr, off = {"__metadata__": {"format": "pt"}}, 0
for name in sorted(shapes):
    n = 2
    for s in shapes[name]:
        n *= s
    hdr[name] = {"dtype": "BF16", "shape": shapes[name],
                 "data_offsets": [off, off + n]}
    off += n
js = json.dumps(hdr, separators=(",", ":")).encode()
js += b" " * ((8 - (8 + len(js)) % 8) % 8)
with open(os.path.join(d, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(js)))
    f.write(js)
    f.truncate(8 + len(js) + off)
