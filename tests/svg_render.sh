#!/bin/sh
# tests/svg_render.sh: render the SVG plots of `cprune report` with
# headless Chromium and check the pictures are real plots: every PNG is
# larger than a few KB, has many colours, a non-trivial share of
# non-background pixels and pixels of exactly the first series colour
# (#1f77b4), while a blank SVG of the same size renders as one colour (so
# the check can tell). The results are a synthetic results.jsonl (2
# models x 2 datasets x 3 methods x 4 targets, with per-layer targets for
# the allocation plot and reconstruction errors for the per-layer error
# plots), so no model runs; the PNG checker is
# tests/png_stats.c (no python or ImageMagick).
# Chromium: chromium, chromium-browser or google-chrome on PATH; when none
# is found and this runs as root with apt-get, `apt-get install -y
# chromium` is tried; otherwise the test is skipped with a message.
# usage: tests/svg_render.sh BUILD_DIR   (run by `make test-slow`)
set -u
B=${1:-build}
P="$B/cprune"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL svg_render: $*"; fails=$((fails + 1)); }

find_chromium() {
    for c in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$c" >/dev/null 2>&1; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}
CHROME=$(find_chromium)
if [ -z "$CHROME" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "svg_render: installing chromium (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        chromium >"$T/apt.log" 2>&1 || tail -3 "$T/apt.log"
    CHROME=$(find_chromium)
fi
if [ -z "$CHROME" ]; then
    echo "SKIP svg_render: no chromium (install it: apt-get install -y chromium)"
    exit 0
fi
${CC:-cc} -std=c11 -O2 -o "$T/png_stats" tests/png_stats.c ||
    { echo "FAIL svg_render: cannot build tests/png_stats.c"; exit 1; }

# ---- synthetic sweep results ----
mkdir -p "$T/S"
awk 'BEGIN {
    nm = split("magnitude wanda owl", meth, " ");
    nt = split("0.5 0.6 0.7 2:4", tg, " ");
    i = 0;
    for (m = 1; m <= 2; m++) {
        model = m == 1 ? "tiny-a" : "tiny-b";
        printf "{\"cell_id\":\"d%011d\",\"status\":\"ok\",\"grid\":{\"index\":%d,\"model\":\"%s\",\"model_index\":%d,\"method\":\"dense\",\"label\":\"dense\",\"method_index\":-1,\"target\":null,\"calib\":null},\"model_sha256\":\"00\",\"eval\":{\"wikitext2\":{\"ppl\":%.4f,\"split\":\"test\",\"protocol\":\"hf\",\"seqlen\":512},\"ptb\":{\"ppl\":%.4f,\"split\":\"test\",\"protocol\":\"hf\",\"seqlen\":512}}}\n", i, i, model, m - 1, 12 * m, 20 * m;
        i++;
        for (k = 1; k <= nm; k++)
            for (t = 1; t <= nt; t++) {
                s = tg[t] == "2:4" ? 0.5 : tg[t] + 0;
                base = 12 * m * exp((s - 0.4) * (12 - 3 * k)) * (tg[t] == "2:4" ? 1.8 : 1);
                pm = "";
                for (l = 0; l < 6; l++) {
                    ts = meth[k] == "owl" ? sprintf(",\"target_sparsity\":%.4f", s - 0.06 + 0.024 * l) : "";
                    pm = pm sprintf("%s{\"name\":\"layers.%d.q_proj\",\"numel\":4096%s,\"recon_err\":%.6f}", l ? "," : "", l, ts, 0.002 * k * exp(4 * s + 0.3 * l));
                }
                printf "{\"cell_id\":\"c%011d\",\"status\":\"ok\",\"grid\":{\"index\":%d,\"model\":\"%s\",\"model_index\":%d,\"method\":\"%s\",\"label\":\"%s\",\"method_index\":%d,\"target\":\"%s\",\"calib\":null},\"model_sha256\":\"00\",\"per_matrix\":[%s],\"eval\":{\"wikitext2\":{\"ppl\":%.4f,\"split\":\"test\",\"protocol\":\"hf\",\"seqlen\":512},\"ptb\":{\"ppl\":%.4f,\"split\":\"test\",\"protocol\":\"hf\",\"seqlen\":512}}}\n", i, i, model, m - 1, meth[k], meth[k], k - 1, tg[t], pm, base, base * 1.7;
                i++;
            }
    }
}' >"$T/S/results.jsonl"
"$P" report "$T/S" --out "$T/R" >"$T/rep.log" 2>&1 || bad "report failed: $(cat "$T/rep.log")"
n_svg=$(ls "$T/R"/*.svg 2>/dev/null | wc -l)
[ "$n_svg" = 14 ] && ok ||
    bad "report wrote $n_svg SVGs, want 14 (4 ppl + 2 allocation + 8 reconstruction plots)"

# a blank control: one colour, so the checker can tell an empty picture
printf '<svg xmlns="http://www.w3.org/2000/svg" width="760" height="460"><rect width="760" height="460" fill="white"/></svg>\n' >"$T/blank.svg"

render() { # SVG PNG
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu \
        --hide-scrollbars --window-size=760,460 --screenshot="$2" \
        "file://$1" >"$T/chrome.log" 2>&1
}
render "$T/blank.svg" "$T/blank.png"
if [ ! -s "$T/blank.png" ]; then
    bad "chromium wrote no screenshot: $(tail -3 "$T/chrome.log")"
else
    "$T/png_stats" "$T/blank.png" | grep -q ' colours=1 ' && ok ||
        bad "the blank control is not one colour: $("$T/png_stats" "$T/blank.png")"
fi
for svg in "$T/R"/*.svg; do
    name=$(basename "$svg" .svg)
    png="$T/$name.png"
    render "$svg" "$png"
    if [ ! -s "$png" ]; then
        bad "$name: no screenshot: $(tail -3 "$T/chrome.log")"
        continue
    fi
    size=$(wc -c <"$png")
    stats=$("$T/png_stats" "$png" 1f77b4) || { bad "$name: unreadable PNG"; continue; }
    colours=$(echo "$stats" | sed 's/.*colours=\([0-9]*\).*/\1/')
    frac=$(echo "$stats" | sed 's/.*non_background=0\.\([0-9]*\).*/\1/')
    match=$(echo "$stats" | sed 's/.*match=\([0-9]*\).*/\1/')
    echo "svg_render: $name.png $size bytes, $stats"
    [ "$size" -gt 8000 ] && ok || bad "$name: PNG only $size bytes"
    [ "$colours" -ge 16 ] && ok || bad "$name: only $colours colours"
    # at least 1% of the pixels are not background (frac is 4 digits)
    [ "$(echo "$frac" | sed 's/^0*//')" -ge 100 ] 2>/dev/null && ok ||
        bad "$name: only 0.$frac of the pixels are drawn"
    [ "$match" -ge 20 ] && ok || bad "$name: no pixels of the first series colour"
done
echo "svg_render: $pass passed, $fails failed"
[ "$fails" = 0 ]
