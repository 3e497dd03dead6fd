// cli/report_plots.c: the SVG plots of `cprune report` (contract in
// cli/report.h), drawn with cli/svg.h:
//
//   ppl_vs_sparsity_<model>_<dataset>.svg  perplexity (log axis) against
//       unstructured sparsity, one polyline per method row; N:M results as
//       unconnected diamonds at x = N/M; the dense model as a dashed line.
//   layer_sparsity_<model>.svg  the per-layer sparsity an allocation
//       method chose (per_matrix[].target_sparsity, weighted by numel over
//       the layer's linears), one polyline per (method, target) cell;
//       written only when some cell recorded target sparsities.
//   layer_recon_<model>_<target>.svg  (target 50, 2-4) per-layer output reconstruction
//       error (per_matrix[].recon_err, the plain mean over the layer's
//       linears; log axis), one polyline per method row at that target;
//       written only when some cell of the column recorded one.
//
// What it is not: a general chart tool. One fixed layout (plot area on
// the left, legend on the right), ten colours then dashed repeats.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"
#include "cli/svg.h"

#define W 760.0
#define H 460.0
#define PL 78.0  // plot area: left, top, right, bottom edges
#define PT 44.0
#define PR 500.0
#define PB 400.0
#define MAX_TICKS 24
#define MAX_LAYERS 1024

static const char *const palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
#define N_COLORS (sizeof palette / sizeof palette[0])

static const char *color_of(size_t i) { return palette[i % N_COLORS]; }
static const char *dash_of(size_t i) {
    return i / N_COLORS % 2 ? "6 3" : NULL;
}

// ---- axes ----

struct axis {
    double lo, hi;   // data range shown
    int log;         // logarithmic
    double p0, p1;   // pixels of lo and hi
    double ticks[MAX_TICKS];
    size_t n_ticks;
};

static double ax_px(const struct axis *a, double v) {
    double t = a->log ? (log(v) - log(a->lo)) / (log(a->hi) - log(a->lo))
                      : (v - a->lo) / (a->hi - a->lo);
    return a->p0 + t * (a->p1 - a->p0);
}

// Round steps 1, 2, 5 x 10^k (at least min_step): the smallest giving at
// most max_n ticks. extend: widen [lo, hi] outward to whole steps, so
// both ends carry a labelled tick.
static void linear_ticks(struct axis *a, size_t max_n, double min_step,
                         int extend) {
    double span = a->hi - a->lo, step = 1;
    if (!(span > 0)) span = 1;
    double base = pow(10, floor(log10(span / (double)max_n)));
    static const double mult[] = {1, 2, 5, 10};
    for (size_t i = 0; i < 4; i++) {
        step = base * mult[i];
        if (span / step <= (double)max_n) break;
    }
    if (step < min_step) step = min_step;
    if (extend) {
        a->lo = floor(a->lo / step + 1e-9) * step;
        a->hi = ceil(a->hi / step - 1e-9) * step;
        if (a->hi <= a->lo) a->hi = a->lo + step;
    }
    a->n_ticks = 0;
    for (double k = ceil(a->lo / step - 1e-9);
         k * step <= a->hi + step * 1e-9 && a->n_ticks < MAX_TICKS; k++)
        a->ticks[a->n_ticks++] = k * step == 0 ? 0 : k * step;
}

// Log axis ticks m x 10^d from the coarsest mantissa set that works: the
// range widens outward to the nearest ticks of the set (so both ends are
// labelled), which must give 4 to 12 ticks and span at most 1.6 times the
// data's decades. A range too narrow for any set (all values within a few
// percent) gets linear round steps instead.
static void log_ticks(struct axis *a) {
    static const double sets[][9] = {
        {1}, {1, 2, 5}, {1, 1.5, 2, 3, 5, 7}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
    static const size_t set_n[] = {1, 3, 6, 9};
    const int d0 = (int)floor(log10(a->lo)) - 1,
              d1 = (int)ceil(log10(a->hi)) + 1;
    for (size_t s = 0; s < 4; s++) {
        double t[MAX_TICKS], lo = 0, hi = 0;
        size_t n = 0;
        for (int d = d0; d <= d1; d++)
            for (size_t i = 0; i < set_n[s]; i++) {
                double v = sets[s][i] * pow(10, d);
                if (v <= a->lo) lo = v;             // last tick below
                if (v >= a->hi && hi == 0) hi = v;  // first tick above
                if (v >= a->lo && v <= a->hi && n < MAX_TICKS) t[n++] = v;
            }
        if (n > 12) break;
        // the widened axis may span at most 1.6 times the data's decades
        if (lo > 0 && hi > 0 && log(hi / lo) <= 1.6 * log(a->hi / a->lo)) {
            size_t m = 0;
            for (int d = d0; d <= d1; d++)
                for (size_t i = 0; i < set_n[s]; i++) {
                    double v = sets[s][i] * pow(10, d);
                    if (v >= lo && v <= hi && m < MAX_TICKS) t[m++] = v;
                }
            if (m < 4) continue;
            memcpy(a->ticks, t, m * sizeof *t);
            a->n_ticks = m, a->lo = lo, a->hi = hi;
            return;
        }
    }
    linear_ticks(a, 6, 0, 1);
}

static void tick_label(double v, int percent, char *buf, size_t cap) {
    if (percent) snprintf(buf, cap, "%g%%", round(v * 1000) / 10);
    else snprintf(buf, cap, "%.4g", v);
}

// Frame, grid lines, tick labels and axis titles.
static void draw_axes(struct strbuf *s, const struct axis *x,
                      const struct axis *y, int x_percent, const char *title,
                      const char *x_title, const char *y_title) {
    char lab[32];
    svg_text(s, (PL + PR) / 2, 26, 15, SVG_MIDDLE, 0, title);
    for (size_t i = 0; i < y->n_ticks; i++) {
        double py = ax_px(y, y->ticks[i]);
        svg_line(s, PL, py, PR, py, "#e0e0e0", 1, NULL);
        tick_label(y->ticks[i], 0, lab, sizeof lab);
        svg_text(s, PL - 6, py + 4, 11, SVG_END, 0, lab);
    }
    for (size_t i = 0; i < x->n_ticks; i++) {
        double px = ax_px(x, x->ticks[i]);
        svg_line(s, px, PB, px, PB + 5, "#333333", 1, NULL);
        tick_label(x->ticks[i], x_percent, lab, sizeof lab);
        svg_text(s, px, PB + 18, 11, SVG_MIDDLE, 0, lab);
    }
    svg_rect(s, PL, PT, PR - PL, PB - PT, "none", "#333333");
    svg_text(s, (PL + PR) / 2, PB + 40, 12, SVG_MIDDLE, 0, x_title);
    svg_text(s, 22, (PT + PB) / 2, 12, SVG_MIDDLE, -90, y_title);
}

// Legend entry k (0-based) at the right of the plot.
static void legend(struct strbuf *s, size_t k, const char *color,
                   const char *dash, int marker, const char *text) {
    const double x = PR + 16, y = PT + 8 + 18 * (double)k;
    char t[48];
    size_t n = strlen(text);
    if (n > 36) snprintf(t, sizeof t, "%.33s...", text);
    else snprintf(t, sizeof t, "%s", text);
    const char *mc = strcmp(color, "none") ? color : "#333333";
    if (strcmp(color, "none")) svg_line(s, x, y, x + 26, y, color, 2, dash);
    if (marker == 1) svg_circle(s, x + 13, y, 3, mc, mc);
    if (marker == 2) svg_diamond(s, x + 13, y, 4.5, "white", mc);
    svg_text(s, x + 32, y + 4, 11, SVG_START, 0, t);
}

static void file_part(const char *in, char *out, size_t cap) {
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++) {
        char c = in[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        out[i] = ok ? c : '_';
    }
    out[i] = 0;
}

// ---- perplexity vs sparsity ----

static int usable(double v) { return isfinite(v) && v > 0; }

static void ppl_plot(const struct report *r, const char *model,
                     const char *ds, struct strbuf *s) {
    struct axis x = {.lo = INFINITY, .hi = -INFINITY, .p0 = PL, .p1 = PR};
    struct axis y = {.lo = INFINITY, .hi = -INFINITY, .log = 1, .p0 = PB,
                     .p1 = PT};
    double dense = NAN, v;
    size_t dense_row = r->n_rows;
    for (size_t i = 0; i < r->n_rows; i++)
        for (size_t j = 0; j < r->n_cols; j++) {
            if (strcmp(r->cols[j].model, model) ||
                !report_value(r, i, j, ds, &v) || !usable(v))
                continue;
            if (r->rows[i].dense) {
                dense = v, dense_row = i;
                continue;
            }
            x.lo = fmin(x.lo, r->cols[j].sparsity);
            x.hi = fmax(x.hi, r->cols[j].sparsity);
            y.lo = fmin(y.lo, v), y.hi = fmax(y.hi, v);
        }
    if (usable(dense)) y.lo = fmin(y.lo, dense), y.hi = fmax(y.hi, dense);
    if (!(x.hi >= x.lo)) x.lo = 0.5, x.hi = 0.5; // no pruned value at all
    if (!(y.hi >= y.lo)) y.lo = 1, y.hi = 10;
    x.lo = fmax(0, floor((x.lo - 0.05) * 10) / 10);
    x.hi = fmin(1, ceil((x.hi + 0.05) * 10) / 10);
    y.lo /= 1.05, y.hi *= 1.05;
    linear_ticks(&x, 10, 0.05, 0);
    log_ticks(&y);
    char title[300];
    snprintf(title, sizeof title, "%s on %s: perplexity vs sparsity", model,
             ds);
    svg_begin(s, W, H);
    draw_axes(s, &x, &y, 1, title, "sparsity (diamonds: N:M patterns at N/M)",
              "perplexity (log scale)");
    size_t k = 0;
    if (dense_row < r->n_rows) {
        double py = ax_px(&y, dense);
        svg_line(s, PL, py, PR, py, "#555555", 1.5, "5 4");
        legend(s, k++, "#555555", "5 4", 0, "dense");
    }
    int any_nm = 0;
    for (size_t i = 0, series = 0; i < r->n_rows; i++) {
        if (r->rows[i].dense) continue;
        double px[MAX_TICKS * 4], py[MAX_TICKS * 4];
        size_t n = 0, n_nm = 0;
        const char *col = color_of(series), *dash = dash_of(series);
        for (size_t j = 0; j < r->n_cols; j++) {
            if (strcmp(r->cols[j].model, model) ||
                !report_value(r, i, j, ds, &v) || !usable(v))
                continue;
            const double cx = ax_px(&x, r->cols[j].sparsity),
                         cy = ax_px(&y, v);
            if (r->cols[j].nm_m) {
                svg_diamond(s, cx, cy, 5, "white", col);
                n_nm++;
            } else if (n < sizeof px / sizeof *px) {
                px[n] = cx, py[n] = cy, n++;
            }
        }
        if (!n && !n_nm) continue;
        svg_polyline(s, px, py, n, col, 2, dash);
        for (size_t q = 0; q < n; q++) svg_circle(s, px[q], py[q], 3, col, col);
        legend(s, k++, col, dash, n ? 1 : 2, r->rows[i].name);
        any_nm |= n_nm != 0;
        series++;
    }
    if (any_nm) legend(s, k++, "none", NULL, 2, "N:M pattern (at x = N/M)");
    svg_end(s);
}

// ---- per-layer allocation ----

// Per-layer mean of the per_matrix[] field `key` of a cell over the
// layer's linears ("layers.N.<name>"), numel-weighted when by_numel (else
// a plain mean), counting only entries with a number (positive_only:
// a positive number, for log axes). Returns the number of layers (NaN for
// a layer without entries), 0 when the cell recorded none.
static size_t layer_mean(const struct rep_cell *c, const char *key,
                         int by_numel, int positive_only, double *out) {
    double num[MAX_LAYERS] = {0}, den[MAX_LAYERS] = {0};
    size_t n_layers = 0;
    const struct cpr_json *pm = cpr_json_get(c->root, "per_matrix");
    for (size_t i = 0; i < cpr_json_len(pm); i++) {
        const struct cpr_json *m = cpr_json_at(pm, i);
        const struct cpr_json *v = cpr_json_get(m, key);
        long long layer;
        if (!cpr_json_is(v, CPR_JSON_NUMBER) ||
            (positive_only && !usable(v->num)) ||
            sscanf(cpr_json_get_str(m, "name", ""), "layers.%lld.", &layer) != 1 ||
            layer < 0 || layer >= MAX_LAYERS)
            continue;
        double w = by_numel ? cpr_json_get_num(m, "numel", 1) : 1.0;
        num[layer] += w * v->num, den[layer] += w;
        if ((size_t)layer + 1 > n_layers) n_layers = (size_t)layer + 1;
    }
    for (size_t l = 0; l < n_layers; l++)
        out[l] = den[l] > 0 ? num[l] / den[l] : NAN;
    return n_layers;
}

// Per-layer target sparsity chosen by an allocation (numel-weighted).
static size_t layer_targets(const struct rep_cell *c, double *out) {
    return layer_mean(c, "target_sparsity", 1, 0, out);
}

// Per-layer reconstruction error (plain mean of the positive values).
static size_t layer_recon(const struct rep_cell *c, double *out) {
    return layer_mean(c, "recon_err", 0, 1, out);
}

// 1 when a plot of column col (one model at one target) was drawn into s.
static int recon_plot(const struct report *r, size_t col, struct strbuf *s) {
    double e[MAX_LAYERS];
    struct axis x = {.lo = 0, .hi = 0, .p0 = PL, .p1 = PR};
    struct axis y = {.lo = INFINITY, .hi = -INFINITY, .log = 1, .p0 = PB,
                     .p1 = PT};
    size_t n_series = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct rep_cell *c = report_cell(r, i, col);
        if (!c || c->dense) continue;
        size_t n = layer_recon(c, e);
        for (size_t l = 0; l < n; l++)
            if (usable(e[l])) y.lo = fmin(y.lo, e[l]), y.hi = fmax(y.hi, e[l]);
        if (n) x.hi = fmax(x.hi, (double)(n - 1)), n_series++;
    }
    if (!n_series || !(y.hi >= y.lo)) return 0;
    if (x.hi < 1) x.hi = 1;
    y.lo /= 1.1, y.hi *= 1.1;
    linear_ticks(&x, 12, 1, 0);
    log_ticks(&y);
    char title[300], tt[32];
    report_target_text(&r->cols[col], tt, sizeof tt);
    snprintf(title, sizeof title, "%s at %s: per-layer reconstruction error",
             r->cols[col].model, tt);
    svg_begin(s, W, H);
    draw_axes(s, &x, &y, 0, title, "layer",
              "mean |WX-W'X|^2 / |WX|^2 (log scale)");
    size_t k = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct rep_cell *c = report_cell(r, i, col);
        if (!c || c->dense) continue;
        size_t n = layer_recon(c, e);
        if (!n) continue;
        double px[MAX_LAYERS], py[MAX_LAYERS];
        size_t m = 0;
        for (size_t l = 0; l < n; l++)
            if (usable(e[l]))
                px[m] = ax_px(&x, (double)l), py[m] = ax_px(&y, e[l]), m++;
        const char *cl = color_of(k), *dash = dash_of(k);
        svg_polyline(s, px, py, m, cl, 2, dash);
        for (size_t q = 0; q < m; q++) svg_circle(s, px[q], py[q], 3, cl, cl);
        legend(s, k++, cl, dash, 1, r->rows[i].name);
    }
    svg_end(s);
    return 1;
}

// 1 when a plot was drawn into s.
static int layer_plot(const struct report *r, const char *model,
                      struct strbuf *s) {
    double t[MAX_LAYERS];
    struct axis x = {.lo = 0, .hi = 0, .p0 = PL, .p1 = PR};
    struct axis y = {.lo = INFINITY, .hi = -INFINITY, .p0 = PB, .p1 = PT};
    size_t n_series = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        for (size_t j = 0; j < r->n_cols; j++) {
            const struct rep_cell *c = report_cell(r, i, j);
            if (!c || c->dense || strcmp(c->model, model)) continue;
            size_t n = layer_targets(c, t);
            for (size_t l = 0; l < n; l++)
                if (isfinite(t[l])) y.lo = fmin(y.lo, t[l]), y.hi = fmax(y.hi, t[l]);
            if (n) x.hi = fmax(x.hi, (double)(n - 1)), n_series++;
        }
    if (!n_series || !(y.hi >= y.lo)) return 0;
    if (x.hi < 1) x.hi = 1;
    y.lo = fmax(0, y.lo - 0.01), y.hi = fmin(1, y.hi + 0.01);
    linear_ticks(&x, 12, 1, 0); // whole layers
    linear_ticks(&y, 8, 0, 1);
    char title[300];
    snprintf(title, sizeof title, "%s: per-layer sparsity chosen by "
             "allocation", model);
    svg_begin(s, W, H);
    draw_axes(s, &x, &y, 0, title, "layer", "target sparsity of the layer");
    size_t k = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        for (size_t j = 0; j < r->n_cols; j++) {
            const struct rep_cell *c = report_cell(r, i, j);
            if (!c || c->dense || strcmp(c->model, model)) continue;
            size_t n = layer_targets(c, t);
            if (!n) continue;
            double px[MAX_LAYERS], py[MAX_LAYERS];
            size_t m = 0;
            for (size_t l = 0; l < n; l++)
                if (isfinite(t[l]))
                    px[m] = ax_px(&x, (double)l), py[m] = ax_px(&y, t[l]), m++;
            const char *col = color_of(k), *dash = dash_of(k);
            svg_polyline(s, px, py, m, col, 2, dash);
            for (size_t q = 0; q < m; q++) svg_circle(s, px[q], py[q], 3, col, col);
            char name[600], tt[32];
            report_target_text(&r->cols[j], tt, sizeof tt);
            snprintf(name, sizeof name, "%s %s", r->rows[i].name, tt);
            legend(s, k++, col, dash, 1, name);
        }
    svg_end(s);
    return 1;
}

enum cpr_status report_write_plots(const struct report *r, const char *dir,
                                   size_t *n_written, struct cpr_err *err) {
    *n_written = 0;
    for (size_t m = 0; m < r->n_models; m++) {
        char mp[128], dp[64], name[300];
        file_part(r->models[m], mp, sizeof mp);
        for (size_t d = 0; d < r->n_datasets; d++) {
            int has = 0;
            for (size_t j = 0; j < r->n_cols && !has; j++)
                has = !strcmp(r->cols[j].model, r->models[m]);
            if (!has) continue;
            struct strbuf s = {0};
            ppl_plot(r, r->models[m], r->datasets[d], &s);
            file_part(r->datasets[d], dp, sizeof dp);
            snprintf(name, sizeof name, "ppl_vs_sparsity_%s_%s.svg", mp, dp);
            enum cpr_status st = report_write_file(dir, name, &s, err);
            strbuf_free(&s);
            if (st) return st;
            (*n_written)++;
        }
        struct strbuf s = {0};
        if (layer_plot(r, r->models[m], &s)) {
            snprintf(name, sizeof name, "layer_sparsity_%s.svg", mp);
            enum cpr_status st = report_write_file(dir, name, &s, err);
            strbuf_free(&s);
            if (st) return st;
            (*n_written)++;
        }
        strbuf_free(&s);
        for (size_t j = 0; j < r->n_cols; j++) {
            if (strcmp(r->cols[j].model, r->models[m])) continue;
            struct strbuf t = {0};
            if (recon_plot(r, j, &t)) {
                char tf[32]; // "50" for 50%, "2-4" for 2:4
                if (r->cols[j].nm_m)
                    snprintf(tf, sizeof tf, "%u-%u", r->cols[j].nm_n,
                             r->cols[j].nm_m);
                else
                    snprintf(tf, sizeof tf, "%g", r->cols[j].sparsity * 100);
                snprintf(name, sizeof name, "layer_recon_%s_%s.svg", mp, tf);
                enum cpr_status st = report_write_file(dir, name, &t, err);
                strbuf_free(&t);
                if (st) return st;
                (*n_written)++;
            }
            strbuf_free(&t);
        }
    }
    return CPR_OK;
}
