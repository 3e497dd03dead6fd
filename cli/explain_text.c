// cli/explain_text.c: the plain-words description of each method printed
// by `cprune explain` (algorithm, formulas, paper, reference code). Options
// and defaults come from the method descriptors themselves.
#include "cli/explain.h"

#include <string.h>

static const struct explain_entry entries[] = {
    {"magnitude",
     "Prune the weights with the smallest absolute value.\n"
     "  per matrix (reference): thresh = sort(|W|)[int(numel*s)], prune |W| <= thresh\n"
     "  per row:    the int(cols*s) smallest |W| of each row\n"
     "  global:     one threshold over all decoder linears, each matrix keeping\n"
     "              at least min_density of its weights (against layer collapse)\n"
     "  N:M:        in every group of M consecutive inputs of a row, the N smallest\n"
     "Needs no calibration data.",
     "Baseline of every LLM pruning paper; global variant after Blalock et al.,\n"
     "  \"What is the State of Neural Network Pruning?\" and \"Is Complexity Required\n"
     "  for Neural Network Pruning?\"",
     "locuslab/wanda lib/prune.py prune_magnitude"},
    {"wanda",
     "Pruning by Weights AND Activations.\n"
     "  score S_ij = |W_ij| * ||X_j||_2, ||X_j||_2^2 = sum over calibration tokens of x_j^2\n"
     "  (scaler_row = that sum / number of sequences)\n"
     "  compared within each output row: exactly int(cols*s) smallest scores pruned per row\n"
     "  N:M: the N smallest scores in every group of M inputs\n"
     "  variant: per row, prune while the running sum of sorted scores <= alpha * row sum,\n"
     "  alpha bisected so the matrix reaches s\n"
     "No weight update; one statistics pass per block.",
     "Sun, Liu, Bair, Kolter, \"A Simple and Effective Pruning Approach for Large\n"
     "  Language Models\", ICLR 2024 (arXiv 2306.11695)",
     "locuslab/wanda lib/prune.py prune_wanda, lib/layerwrapper.py"},
    {"sparsegpt",
     "Optimal Brain Surgeon, made fast.\n"
     "  H = (2/n) sum X^T X (+ percdamp * mean(diag H) * I); U = chol(H^-1) upper\n"
     "  for each block of 128 columns: mask = the int(numel*s) smallest W^2 / U_qq^2\n"
     "  over the rows x 128 slab (N:M: per group, on the already-updated weights)\n"
     "  for each column q: err = (w_q - mask(w_q)) / U_qq;  W[:, q+1:] -= err U[q, q+1:]\n"
     "  after the block: W[:, later] -= Err @ U[block, later]   (lazy batch update)\n"
     "The kept weights are updated to compensate for the pruned ones.",
     "Frantar, Alistarh, \"SparseGPT: Massive Language Models Can Be Accurately\n"
     "  Pruned in One-Shot\", ICML 2023 (arXiv 2301.00774)",
     "IST-DASLab/sparsegpt sparsegpt.py fasterprune"},
    {"ria",
     "Relative Importance and Activations.\n"
     "  S_ij = (|W_ij| / sum_i |W_ij| + |W_ij| / sum_j |W_ij|) * (||X_j||_2)^a, a = 0.5\n"
     "  compared over the whole matrix (or per row); N:M with an optional channel\n"
     "  permutation (reallocation, linear sum assignment) before choosing groups.",
     "Zhang et al., \"Plug-and-Play: An Efficient Post-training Pruning Method for\n"
     "  Large Language Models\", ICLR 2024",
     "biomedical-cybernetics/Relative-importance-and-activation-pruning lib/prune.py"},
    {"dsnot",
     "Dynamic Sparse No Training: refine a mask without training.\n"
     "  start from a wanda / magnitude / sparsegpt mask; per row, the expected output\n"
     "  error e = sum over pruned j of W_ij * mean(x_j) * tokens\n"
     "  repeat up to `cycles` times while |e| > threshold: regrow the pruned weight\n"
     "  that best reduces e (ranked by W*mean / var^var_pow) and prune the kept weight\n"
     "  with the smallest Wanda score on the matching side; one for one, so the row\n"
     "  keeps its count. A row stops when its error is small or the side it needs\n"
     "  has no candidate of the right sign. Unstructured, the reference never checks\n"
     "  whether a swap flips the sign of e; on narrow rows (a few dozen inputs) e\n"
     "  then oscillates and rows swap most of their mask: use sign_check=on there.",
     "Zhang et al., \"Dynamic Sparse No Training: Training-Free Fine-tuning for\n"
     "  Sparse LLMs\", ICLR 2024",
     "zyxxmu/DSnoT lib/prune.py prune_DSnoT"},
    {"swiftprune",
     "Hessian-free pruning with an EWMA threshold (reconstructed: no code and no\n"
     "method text of the paper were available; see methods/swiftprune.c).\n"
     "  score L_ij = w_ij^2 / (1 - c_j), c_j = a_j / (sum a + lambda), a = scaler_row\n"
     "  (a damped rank-one Hessian inverted by Sherman-Morrison)\n"
     "  per row, one linear pass: tau <- tau * (1 + g_t (p - [L_j <= tau])), an\n"
     "  exponentially weighted quantile tracker instead of a sort; prune L <= tau.\n"
     "  exact=1 corrects each row to exactly int(cols*s).",
     "Kang et al., \"SwiftPrune: Hessian-Free Weight Pruning for Large Language\n"
     "  Models\", Findings of EMNLP 2025 (arXiv 2501.16376)",
     "none published"},
    {"owl",
     "Outlier Weighed Layerwise sparsity: non-uniform sparsity across blocks.\n"
     "  dense pass: for each block, the Wanda scores of its seven linears together;\n"
     "  LOD = 100 * #(S > M * mean S) / #S\n"
     "  r_l = (LOD_l - min) / (max - min) * 2 lambda; r <- r - mean(r) + (1 - p);\n"
     "  block sparsity 1 - r_l, within [p - lambda, p + lambda], mean p\n"
     "  then prune each block with wanda / sparsegpt / magnitude at its sparsity.\n"
     "  N:M: n_l = n - round((LOD_l - min)/(max - min) * nm_lambda - mean).",
     "Yin et al., \"Outlier Weighed Layerwise Sparsity (OWL): A Missing Secret\n"
     "  Sauce for Pruning LLMs to High Sparsity\", ICML 2024 (arXiv 2310.05175)",
     "luuyin/OWL lib/prune_all.py prune_wanda_outlier"},
    {"mixed",
     "Sensitivity-aware mixed sparsity.\n"
     "  sensitivity of each decoder linear: layer-wise tr(H_in)/cols of its\n"
     "  calibration Hessian (default), or --sensitivity hutchinson: Tr(H)/n of the\n"
     "  full-model loss Hessian from Rademacher probes v, sum v.Hv (as the paper)\n"
     "  rank all linears; density_i = L + rank_i (R - L)/(N - 1), L = 1 - p - alpha,\n"
     "  R = 2(1 - p) - L; shifted so the parameter-weighted sparsity is exactly p\n"
     "  prune each with SparseGPT using the saliency W^2 (H_mm + 1/[H^-1]_mm).",
     "Shao et al., \"One-Shot Sensitivity-Aware Mixed Sparsity Pruning for Large\n"
     "  Language Models\", ICASSP 2024 (arXiv 2310.09499)",
     "talkking/MixGPT llama.py get_weight_sparsity, sparsegpt.py, Myhessian.py"},
    // structured (width) methods: cli/prune_struct.c, methods/structured.h
    {"gblm",
     "Gradient-Based Language Model pruner: Wanda's score plus a gradient term.\n"
     "  gradient pre-pass on the dense model, before any pruning: for each calibration\n"
     "  window (batch 1), g = dloss/dW of the mean next-token loss, scaled by 100;\n"
     "  G = sqrt(sum (100g)^2) (gradient_norm=l2, default) or sum |100g| (l1)\n"
     "  score S_ij = |W_ij| * sqrt(scaler_row_j) + |W_ij| * G_ij\n"
     "  (gradient_inv: S_ij = |W_ij| * sqrt(scaler_row_j) / (G_ij + 1e-8))\n"
     "  compared as Wanda: int(cols*s) smallest per output row; N:M per group of M\n"
     "Costs one forward+backward pass per window; accumulators hold 8 bytes per weight.",
     "Das, Ma, Shen, \"Beyond Size: How Gradients Shape Pruning Decisions in Large\n"
     "  Language Models\" (arXiv 2311.04902)",
     "VILA-Lab/GBLM-Pruner gradient_computation.py, lib/prune.py prune_gblm"},
    {"gradient",
     "GBLM-Pruner's ablation: the gradient term alone, for teaching.\n"
     "  S_ij = |W_ij| * G_ij (G as gblm: the dense gradient pre-pass)\n"
     "  (gradient_inv: S_ij = |W_ij| / (G_ij + 1e-8))\n"
     "  int(cols*s) smallest per output row; N:M per group of M",
     "Das, Ma, Shen, \"Beyond Size: How Gradients Shape Pruning Decisions in Large\n"
     "  Language Models\" (arXiv 2311.04902), ablation",
     "VILA-Lab/GBLM-Pruner lib/prune.py prune_gradient"},
    {"flap",
     "FLuctuation-based Adaptive structured Pruning: removes whole KV groups\n"
     "  and MLP channels and writes a smaller model.\n"
     "  fluctuation of each o_proj / down_proj input column over the calibration\n"
     "  windows (the reference's running update: the first window counts 0)\n"
     "  metrics: ifv = fluc; wifv = fluc * ||W_:,j||^2 (default); wifn =\n"
     "  mean_r |W_rj| sqrt(mean x_j^2); the attention metric is squared\n"
     "  structures: al-am (default: per-layer standardised scores, one global\n"
     "  threshold where the weighted count of kept units is closest to 1 - s),\n"
     "  ul-um (per layer, int(s * units) lowest), ul-mm / al-mm (--remove-heads)\n"
     "  bias compensation (default; --no-bias-comp): o / down bias += fp16(mean\n"
     "  input) over the removed columns @ W^T\n"
     "  GQA: a unit is a KV group; removing it removes its query heads (never\n"
     "  query heads inside a kept group). Head width = the model's head_dim.\n"
     "  OPT / GPT-2 / GPT-NeoX (the reference is LLaMA-only): o_proj = out_proj /\n"
     "  c_proj / dense, down_proj = fc2 / mlp.c_proj / dense_4h_to_h; a head takes\n"
     "  its q, k, v rows (fused c_attn / query_key_value: the rows at its\n"
     "  positions) with their bias elements, a channel its fc1 row and bias\n"
     "  element; the compensation adds to the existing out/fc2 biases; a channel\n"
     "  weighs 2 * hidden parameters (fc1, fc2) instead of 3, so in al-am a head\n"
     "  weighs int(4 * head_dim / 2) channels (LLaMA: int(4 * head_dim / 3)).",
     "An, Zhao, Yu, Tang, Wang, \"Fluctuation-based Adaptive Structured Pruning\n"
     "  for Large Language Models\", AAAI 2024 (arXiv 2312.11983)",
     "CASIA-IVA-Lab/FLAP lib/prune.py prune_flap, compress; lib/layerwrapper.py BiasGPT"},
    {"wanda-sp",
     "Structured Wanda from the FLAP repository: column score mean_r |W_rj| *\n"
     "  sqrt(scaler_j) of o_proj / down_proj, summed per KV group; per layer the\n"
     "  int(s * units) lowest groups and int(s * channels) lowest channels go;\n"
     "  block by block (the pruned block feeds the next); no bias. GQA: whole\n"
     "  KV groups with their query heads. OPT / GPT-2 / GPT-NeoX: as flap's\n"
     "  mapping (out_proj and fc2 columns; fused q/k/v rows per head).",
     "An et al. (FLAP), baseline after Sun et al., \"A Simple and Effective\n"
     "  Pruning Approach for Large Language Models\"",
     "CASIA-IVA-Lab/FLAP lib/prune.py prune_wanda_sp"},
    {"magnitude-sp",
     "Structured magnitude from the FLAP repository: L2 norm of each o_proj /\n"
     "  down_proj input column, summed per KV group; per layer the int(s * units)\n"
     "  lowest groups and channels go. No calibration. GQA: whole KV groups.\n"
     "  OPT / GPT-2 / GPT-NeoX: as flap's mapping.",
     "An et al. (FLAP), baseline",
     "CASIA-IVA-Lab/FLAP lib/prune.py prune_magnitude_sp"},
    {"cfsp",
     "Coarse-to-Fine Structured Pruning: removes MLP channels only (no heads, as\n"
     "  the reference; GQA untouched) and writes a smaller model; no bias.\n"
     "  coarse: importance of block l = sum over calibration windows and tokens of\n"
     "  arccos(cos(x, y)) / pi, x / y the block's input / output on the dense model\n"
     "  (--global-metric cosine: 1 - cos; mse; mae; avg: uniform)\n"
     "  allocation: s_l = sigmoid(a (imp_l - mean imp) / 1e4) (the reference's\n"
     "  constant: on small calibration sets the ratios come out nearly uniform),\n"
     "  pulled towards the mean if max s / mean s * (1 - r) >= 1; keep fraction\n"
     "  k_l = s_l / mean(s) * (1 - r) (r = --sparsity, over MLP channels)\n"
     "  fine: three_w_one_wa score of channel j = mean_r (|D_rj| s_j^b / sum_r |D_rj|\n"
     "  s_j^b + |U_jr| / sum_r |U_jr| + |G_jr| / sum_r |G_jr|) * s_j^c, s_j =\n"
     "  sqrt(mean over windows of sum_t x_tj^2) at down_proj's input; the weight\n"
     "  terms average to 1/hidden, so with the defaults channels rank by s_j\n"
     "  layer l keeps scores >= its sorted-descending score at int(I k_l)\n"
     "  (--cuda-friendly: int((I k_l + 64) / 128) * 128 - 1)\n"
     "  Non-gated MLPs (OPT, GPT-2, GPT-NeoX; the reference is LLaMA-only): fc1\n"
     "  stands for both U and G, fc2 for D; a channel = an fc1 row (+ bias) and\n"
     "  an fc2 column.\n"
     "Recovery fine-tuning (the paper's optional step) is not done.",
     "Wang et al., \"CFSP: An Efficient Structured Pruning Framework for LLMs\n"
     "  with Coarse-to-Fine Activation Information\", COLING 2025 (arXiv 2409.13199)",
     "wyxscir/CFSP lib/prune.py prune_cfsp, compress; lib/block_metrics.py; lib/layerwrapper.py WrappedGPT"},
    {"llm-pruner",
     "LLM-Pruner, block-wise: removes whole KV groups and MLP channels of layers\n"
     "  A..B-1 (--layers, default 3:31 clipped to the model) and writes a smaller\n"
     "  model. Coupled groups: k/v rows of a KV head with the q rows and o_proj\n"
     "  columns of its query heads (MHA: one head); gate/up row c with down column c.\n"
     "  OPT, GPT-2, GPT-NeoX: a head's q/k/v rows (fused query_key_value: its\n"
     "  per-head [q k v] rows; GPT-2 c_attn: its rows in the q | k | v thirds,\n"
     "  scored as three members like separate q/k/v) with its out_proj / c_proj /\n"
     "  dense columns; fc1 row c (c_fc, dense_h_to_4h) with fc2 column c. Their\n"
     "  bias entries go with the rows, but do not score: the reference's\n"
     "  TaylorImportance reads layer.weight only (torch_pruning's own adds |b*db|\n"
     "  only with bias=True, default False).\n"
     "  Taylor importance of the dense model's loss L (mean next-token CE):\n"
     "    g = dL/dW of one batched pass over --nsamples windows (default 10 x 64\n"
     "    tokens, the reference's bookcorpus sample count and length);\n"
     "    acc = sum_j g_j^2 / n over batch-1 passes (param_second, param_mix)\n"
     "    param_first s = W*g; param_second s = W*acc*W; param_mix (default)\n"
     "    s = W*g - W*acc*W/2; vectorize s = W*g. A linear's vector per row (q, k,\n"
     "    v, gate, up) or column (o, down): sum |s| (param_*) or |sum s| (vectorize).\n"
     "  Baselines --importance l1|l2 (sum |W|^p) or random (--seed).\n"
     "  The linears' vectors are folded to kv_dim (view(n/kv_dim, kv_dim).sum(0),\n"
     "  as the reference: with GQA query head h counts for KV group h mod n_kv,\n"
     "  while removing group g removes heads g*rep..g*rep+rep-1), reduced with\n"
     "  --group-reduction (sum for taylor, mean for l1/l2) and summed per head_dim.\n"
     "  Per layer: C - int(C(1-s)) of the C = n_kv*head_dim root channels, so\n"
     "  (that // head_dim) KV groups, and I - int(I(1-s)) channels go; --global:\n"
     "  one list of all units, everything <= the (N - int(N(1-s)))-th smallest.\n"
     "  --sparsity is the reference's pruning_ratio; the achieved fraction of\n"
     "  decoder-linear parameters is printed and in --json. No weight update.",
     "Ma, Fang, Wang, \"LLM-Pruner: On the Structural Pruning of Large Language\n"
     "  Models\", NeurIPS 2023 (arXiv 2305.11627)",
     "horseee/LLM-Pruner hf_prune.py --block_wise, llama3.py (GQA);\n"
     "  LLMPruner/pruner/hf_llama_pruner.py TaylorImportance; torch_pruning MetaPruner"},
    {"shortgpt",
     "Depth pruning: remove whole decoder layers (cprune prune --method shortgpt\n"
     "  --remove-layers N).\n"
     "  Block Influence BI_i = sum over calibration tokens of 1 - cos(h_i, h_{i+1}),\n"
     "  h_i the layer's input, h_{i+1} its output (the last layer's output after\n"
     "  the final norm, as HF's output_hidden_states gives it); --angular uses\n"
     "  arccos(cos)/pi; a NaN cosine counts 0.5. The N lowest-BI layers are\n"
     "  removed at once (ties: lower index); the rest are renumbered.\n"
     "Calibration: sequential windows (default tinystories, 32 x 256 tokens).",
     "Men et al., \"ShortGPT: Layers in Large Language Models are More Redundant\n"
     "  Than You Expect\", arXiv 2403.03853",
     "icip-cas/ShortGPT shortgpt/metrics.py block_influence, shortgpt.py"},
    {"sleb",
     "Depth pruning, greedy over whole layers (cprune prune --method sleb\n"
     "  --remove-layers N | --sparsity S). Each step switches off every alive\n"
     "  layer in turn, except the first and last alive ones (--early-barrier,\n"
     "  --latter-barrier, default 1 each, as the code), and removes the one whose\n"
     "  removal gives the lowest calibration NLL (sum over windows of the mean\n"
     "  next-token loss x seqlen); ties: the first alive layer. Candidates rerun\n"
     "  the model from their own layer on cached inputs.\n"
     "Calibration: sequential windows (default tinystories, 32 x 256 tokens;\n"
     "  the code uses wikitext2 train, 2048-token windows).",
     "Song et al., \"SLEB: Streamlining LLMs through Redundancy Verification\n"
     "  and Elimination of Transformer Blocks\", ICML 2024, arXiv 2402.09025",
     "jiwonsong-dev/SLEB sleb.py (sleb, nlls), utils/onoff_utils"},
    {"blockpruner",
     "Depth pruning, greedy over attention and MLP sub-blocks (cprune prune\n"
     "  --method blockpruner --remove-blocks N | --sparsity S; block-type mix).\n"
     "  Candidates: every remaining attention block (layer order), then every\n"
     "  MLP block; each step removes the one giving the lowest calibration\n"
     "  perplexity exp(mean over windows of the window's mean loss); ties: the\n"
     "  first candidate. A removed sub-block passes the residual through; a\n"
     "  layer with both removed is dropped. No protected blocks.",
     "Zhong et al., \"BlockPruner: Fine-grained Pruning for Large Language\n"
     "  Models\", arXiv 2406.10594",
     "MrGGLS/BlockPruner block_search.py (block_search_by_ppl), utils.py evaluate_ppl"},
    {"finercut",
     "Depth pruning, greedy over attention and MLP sub-blocks (cprune prune\n"
     "  --method finercut --remove-blocks N | --sparsity S). Each step removes\n"
     "  the sub-block whose removal changes the model's logits least: the\n"
     "  Jensen-Shannon distance to the dense model's logits at every position\n"
     "  of every calibration window, as llm_dissect computes it,\n"
     "  0.5*(kl_div(log_softmax(dense), M) + kl_div(log_softmax(pruned), M)),\n"
     "  M the mean softmax, kl_div averaged over positions x vocabulary.\n"
     "  Candidate order (ties): module names sorted as strings; the first\n"
     "  int(n*R/2)+1 layers are withheld until int(n*R)+1 removals (--exclude R,\n"
     "  default 0: layer 0 waits for the first removal). Holds the dense logits\n"
     "  of every window (nsamples x seqlen x vocab floats).",
     "Zhang et al., \"FinerCut: Finer-grained Interpretable Layer Pruning for\n"
     "  Large Language Models\", arXiv 2405.18218",
     "YaNgZhAnG-V5/llm_dissect scripts/prune_layer.py, dissect/evaluators/output.py @e109aa4"},
};

const struct explain_entry *explain_find(const char *method) {
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        if (!strcmp(entries[i].method, method)) return &entries[i];
    return NULL;
}
