// cli/svg.h: a minimal SVG 1.1 writer for the report's plots: shapes and
// text appended to an in-memory document (cli/strbuf.h).
//
// What it is: absolute pixel coordinates, printed with 2 decimals so the
// same plot always gives the same bytes; text XML-escaped. What it is
// not: a plotting library. Axes, scales, ticks and legends are the
// caller's (cli/report_plots.c). Colours are any SVG colour text
// ("#1f77b4", "none").
#ifndef CPR_CLI_SVG_H
#define CPR_CLI_SVG_H

#include <stddef.h>

#include "cli/strbuf.h"

enum svg_anchor { SVG_START, SVG_MIDDLE, SVG_END };

// <svg> with a white background of width x height pixels.
void svg_begin(struct strbuf *s, double width, double height);
void svg_end(struct strbuf *s);

void svg_rect(struct strbuf *s, double x, double y, double w, double h,
              const char *fill, const char *stroke);
// dash: NULL for a solid line, else a stroke-dasharray ("4 3").
void svg_line(struct strbuf *s, double x1, double y1, double x2, double y2,
              const char *stroke, double width, const char *dash);
// n >= 2 points; n < 2 writes nothing.
void svg_polyline(struct strbuf *s, const double *x, const double *y,
                  size_t n, const char *stroke, double width,
                  const char *dash);
void svg_circle(struct strbuf *s, double cx, double cy, double r,
                const char *fill, const char *stroke);
// A diamond (square turned 45 degrees) of half-diagonal r.
void svg_diamond(struct strbuf *s, double cx, double cy, double r,
                 const char *fill, const char *stroke);
// Text with its baseline at y; rotate in degrees around (x, y) (0: none).
void svg_text(struct strbuf *s, double x, double y, double size,
              enum svg_anchor anchor, double rotate, const char *text);

#endif
