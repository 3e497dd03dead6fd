// cli/svg.c: minimal SVG writer (see svg.h).
#include "cli/svg.h"

#include <string.h>

static void escaped(struct strbuf *s, const char *t) {
    for (; *t; t++) {
        switch (*t) {
        case '<': strbuf_puts(s, "&lt;"); break;
        case '>': strbuf_puts(s, "&gt;"); break;
        case '&': strbuf_puts(s, "&amp;"); break;
        case '"': strbuf_puts(s, "&quot;"); break;
        default: strbuf_add(s, t, 1);
        }
    }
}

static void stroke_attrs(struct strbuf *s, const char *stroke, double width,
                         const char *dash) {
    strbuf_puts(s, " stroke=\"");
    escaped(s, stroke);
    strbuf_printf(s, "\" stroke-width=\"%.2f\"", width);
    if (dash) {
        strbuf_puts(s, " stroke-dasharray=\"");
        escaped(s, dash);
        strbuf_puts(s, "\"");
    }
}

void svg_begin(struct strbuf *s, double width, double height) {
    strbuf_printf(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
                  "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                  "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
                  width, height, width, height);
    svg_rect(s, 0, 0, width, height, "white", "none");
}

void svg_end(struct strbuf *s) { strbuf_puts(s, "</svg>\n"); }

void svg_rect(struct strbuf *s, double x, double y, double w, double h,
              const char *fill, const char *stroke) {
    strbuf_printf(s, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                  "height=\"%.2f\" fill=\"", x, y, w, h);
    escaped(s, fill);
    strbuf_puts(s, "\" stroke=\"");
    escaped(s, stroke);
    strbuf_puts(s, "\"/>\n");
}

void svg_line(struct strbuf *s, double x1, double y1, double x2, double y2,
              const char *stroke, double width, const char *dash) {
    strbuf_printf(s, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"",
                  x1, y1, x2, y2);
    stroke_attrs(s, stroke, width, dash);
    strbuf_puts(s, "/>\n");
}

void svg_polyline(struct strbuf *s, const double *x, const double *y,
                  size_t n, const char *stroke, double width,
                  const char *dash) {
    if (n < 2) return;
    strbuf_puts(s, "<polyline fill=\"none\" points=\"");
    for (size_t i = 0; i < n; i++)
        strbuf_printf(s, "%s%.2f,%.2f", i ? " " : "", x[i], y[i]);
    strbuf_puts(s, "\"");
    stroke_attrs(s, stroke, width, dash);
    strbuf_puts(s, "/>\n");
}

void svg_circle(struct strbuf *s, double cx, double cy, double r,
                const char *fill, const char *stroke) {
    strbuf_printf(s, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"",
                  cx, cy, r);
    escaped(s, fill);
    strbuf_puts(s, "\" stroke=\"");
    escaped(s, stroke);
    strbuf_puts(s, "\"/>\n");
}

void svg_diamond(struct strbuf *s, double cx, double cy, double r,
                 const char *fill, const char *stroke) {
    strbuf_printf(s, "<polygon points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f "
                  "%.2f,%.2f\" fill=\"", cx, cy - r, cx + r, cy, cx, cy + r,
                  cx - r, cy);
    escaped(s, fill);
    strbuf_puts(s, "\" stroke=\"");
    escaped(s, stroke);
    strbuf_puts(s, "\" stroke-width=\"1.50\"/>\n");
}

void svg_text(struct strbuf *s, double x, double y, double size,
              enum svg_anchor anchor, double rotate, const char *text) {
    static const char *const anchors[] = {"start", "middle", "end"};
    strbuf_printf(s, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\" "
                  "text-anchor=\"%s\"", x, y, size, anchors[anchor]);
    if (rotate != 0)
        strbuf_printf(s, " transform=\"rotate(%.1f %.2f %.2f)\"", rotate, x,
                      y);
    strbuf_puts(s, ">");
    escaped(s, text);
    strbuf_puts(s, "</text>\n");
}
