// tests/png_stats.c: a stand-alone checker for the PNG screenshots of
// tests/svg_render.sh: decodes an 8-bit RGB or RGBA, non-interlaced PNG
// (what headless Chromium writes) and prints
//   WIDTHxHEIGHT colours=N non_background=F [match=K]
// where N counts distinct RGB values, F is the fraction of pixels that
// differ from the most common colour, and K (with a second argument
// RRGGBB) counts the pixels of exactly that colour. Exit 0 on success, 1
// on a file it cannot read, 2 on a usage error.
//
// What it is not: a general PNG reader (no palettes, 16-bit, interlacing,
// CRC or Adler checks). The inflater follows RFC 1951 in the plain
// canonical-Huffman style of zlib's contrib/puff, written out here so the
// test needs nothing beyond libc (no python, no ImageMagick in CI).
// Build: cc -std=c11 -O2 -o png_stats tests/png_stats.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- inflate (RFC 1951) ----

struct inflate {
    const uint8_t *in;
    size_t n_in, pos;
    uint32_t bitbuf;
    int bitcnt;
    uint8_t *out;
    size_t n_out, cap_out;
    int err;
};

static int bits(struct inflate *s, int need) {
    uint32_t v = s->bitbuf;
    while (s->bitcnt < need) {
        if (s->pos >= s->n_in) {
            s->err = 1;
            return 0;
        }
        v |= (uint32_t)s->in[s->pos++] << s->bitcnt;
        s->bitcnt += 8;
    }
    s->bitbuf = v >> need;
    s->bitcnt -= need;
    return (int)(v & ((1u << need) - 1));
}

struct huff {
    short count[16];  // codes of each length
    short symbol[320]; // symbols ordered by code
};

// Canonical code from lengths; returns < 0 for an over-subscribed set.
static int build(struct huff *h, const short *length, int n) {
    short offs[16];
    memset(h->count, 0, sizeof h->count);
    for (int i = 0; i < n; i++) h->count[length[i]]++;
    if (h->count[0] == n) return 0;
    int left = 1;
    for (int len = 1; len < 16; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0) return -1;
    }
    offs[1] = 0;
    for (int len = 1; len < 15; len++) offs[len + 1] = offs[len] + h->count[len];
    for (int i = 0; i < n; i++)
        if (length[i]) h->symbol[offs[length[i]]++] = (short)i;
    return left;
}

static int decode(struct inflate *s, const struct huff *h) {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; len++) {
        code |= bits(s, 1);
        int count = h->count[len];
        if (code - count < first) return h->symbol[index + (code - first)];
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    s->err = 1;
    return -1;
}

static void put(struct inflate *s, uint8_t b) {
    if (s->n_out >= s->cap_out) {
        s->err = 1;
        return;
    }
    s->out[s->n_out++] = b;
}

static void codes(struct inflate *s, const struct huff *lc,
                  const struct huff *dc) {
    static const short lbase[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17,
        19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227,
        258};
    static const short lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2,
        2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const short dbase[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49,
        65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
        6145, 8193, 12289, 16385, 24577};
    static const short dext[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5,
        6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    for (;;) {
        int sym = decode(s, lc);
        if (s->err) return;
        if (sym < 256) {
            put(s, (uint8_t)sym);
            continue;
        }
        if (sym == 256) return;
        sym -= 257;
        if (sym >= 29) {
            s->err = 1;
            return;
        }
        size_t len = (size_t)(lbase[sym] + bits(s, lext[sym]));
        int d = decode(s, dc);
        if (d < 0 || d >= 30) {
            s->err = 1;
            return;
        }
        size_t dist = (size_t)(dbase[d] + bits(s, dext[d]));
        if (s->err || dist > s->n_out) {
            s->err = 1;
            return;
        }
        while (len--) put(s, s->out[s->n_out - dist]);
    }
}

static void block_stored(struct inflate *s) {
    s->bitbuf = 0, s->bitcnt = 0; // to a byte boundary
    if (s->pos + 4 > s->n_in) {
        s->err = 1;
        return;
    }
    unsigned len = s->in[s->pos] | (unsigned)s->in[s->pos + 1] << 8;
    s->pos += 4; // LEN, NLEN
    if (s->pos + len > s->n_in) {
        s->err = 1;
        return;
    }
    for (unsigned i = 0; i < len; i++) put(s, s->in[s->pos + i]);
    s->pos += len;
}

static void block_fixed(struct inflate *s) {
    short l[288], d[30];
    struct huff lc, dc;
    for (int i = 0; i < 288; i++)
        l[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
    for (int i = 0; i < 30; i++) d[i] = 5;
    build(&lc, l, 288);
    build(&dc, d, 30);
    codes(s, &lc, &dc);
}

static void block_dynamic(struct inflate *s) {
    static const short order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4,
                                    12, 3, 13, 2, 14, 1, 15};
    short len[320] = {0};
    struct huff lc, dc;
    int nlen = bits(s, 5) + 257, ndist = bits(s, 5) + 1, ncode = bits(s, 4) + 4;
    if (nlen > 286 || ndist > 30) {
        s->err = 1;
        return;
    }
    for (int i = 0; i < ncode; i++) len[order[i]] = (short)bits(s, 3);
    if (build(&lc, len, 19) != 0) {
        s->err = 1;
        return;
    }
    for (int i = 0; i < nlen + ndist && !s->err;) {
        int sym = decode(s, &lc), rep = 0;
        short v = 0;
        if (sym < 16) {
            len[i++] = (short)sym;
            continue;
        }
        if (sym == 16) {
            if (i == 0) {
                s->err = 1;
                return;
            }
            v = len[i - 1], rep = 3 + bits(s, 2);
        } else if (sym == 17) {
            rep = 3 + bits(s, 3);
        } else {
            rep = 11 + bits(s, 7);
        }
        if (i + rep > nlen + ndist) {
            s->err = 1;
            return;
        }
        while (rep--) len[i++] = v;
    }
    if (s->err || build(&lc, len, nlen) < 0 || build(&dc, len + nlen, ndist) < 0) {
        s->err = 1;
        return;
    }
    codes(s, &lc, &dc);
}

static int inflate_all(struct inflate *s) {
    int last;
    do {
        last = bits(s, 1);
        int type = bits(s, 2);
        if (type == 0) block_stored(s);
        else if (type == 1) block_fixed(s);
        else if (type == 2) block_dynamic(s);
        else s->err = 1;
    } while (!last && !s->err);
    return s->err ? -1 : 0;
}

// ---- PNG ----

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    unsigned long want = 0;
    char *end = NULL;
    if (argc == 3) want = strtoul(argv[2], &end, 16);
    if (argc < 2 || argc > 3 || (argc == 3 && (*end || strlen(argv[2]) != 6))) {
        fprintf(stderr, "usage: png_stats FILE.png [RRGGBB]\n");
        return 2;
    }
    size_t matches = 0;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *file = malloc(size > 0 ? (size_t)size : 1);
    uint8_t *idat = malloc(size > 0 ? (size_t)size : 1);
    if (!file || !idat || fread(file, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "%s: cannot read\n", argv[1]);
        return 1;
    }
    fclose(f);
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    if (size < 8 || memcmp(file, sig, 8)) {
        fprintf(stderr, "%s: not a PNG\n", argv[1]);
        return 1;
    }
    uint32_t w = 0, h = 0;
    int depth = 0, ctype = 0, interlace = 0;
    size_t n_idat = 0;
    for (size_t p = 8; p + 12 <= (size_t)size;) {
        uint32_t len = be32(file + p);
        const uint8_t *type = file + p + 4, *data = file + p + 8;
        if (p + 12 + len > (size_t)size) break;
        if (!memcmp(type, "IHDR", 4) && len >= 13) {
            w = be32(data), h = be32(data + 4);
            depth = data[8], ctype = data[9], interlace = data[12];
        } else if (!memcmp(type, "IDAT", 4)) {
            memcpy(idat + n_idat, data, len);
            n_idat += len;
        }
        p += 12 + len;
    }
    const int bpp = ctype == 6 ? 4 : ctype == 2 ? 3 : 0;
    if (!w || !h || depth != 8 || !bpp || interlace || n_idat < 2 ||
        w > 20000 || h > 20000) {
        fprintf(stderr, "%s: unsupported PNG (%ux%u depth %d colour type "
                "%d interlace %d)\n", argv[1], w, h, depth, ctype, interlace);
        return 1;
    }
    const size_t stride = (size_t)w * bpp;
    struct inflate s = {.in = idat + 2, .n_in = n_idat - 2}; // zlib header
    s.cap_out = (stride + 1) * h;
    s.out = malloc(s.cap_out);
    if (!s.out || inflate_all(&s) || s.n_out != s.cap_out) {
        fprintf(stderr, "%s: corrupt image data\n", argv[1]);
        return 1;
    }
    // unfilter in place: row r starts at r * (stride + 1) + 1
    for (uint32_t r = 0; r < h; r++) {
        uint8_t *row = s.out + r * (stride + 1) + 1;
        const uint8_t *up = r ? row - (stride + 1) : NULL;
        const int ft = row[-1];
        for (size_t i = 0; i < stride; i++) {
            int a = i >= (size_t)bpp ? row[i - bpp] : 0, b = up ? up[i] : 0;
            int c = up && i >= (size_t)bpp ? up[i - bpp] : 0, x = row[i];
            switch (ft) {
            case 0: break;
            case 1: x += a; break;
            case 2: x += b; break;
            case 3: x += (a + b) / 2; break;
            case 4: x += paeth(a, b, c); break;
            default:
                fprintf(stderr, "%s: bad filter %d\n", argv[1], ft);
                return 1;
            }
            row[i] = (uint8_t)x;
        }
    }
    const size_t n = (size_t)w * h;
    uint32_t *px = malloc(n * sizeof *px);
    if (!px) return 1;
    for (uint32_t r = 0; r < h; r++)
        for (uint32_t c = 0; c < w; c++) {
            const uint8_t *q = s.out + r * (stride + 1) + 1 + (size_t)c * bpp;
            px[(size_t)r * w + c] = (uint32_t)q[0] << 16 | (uint32_t)q[1] << 8 | q[2];
            matches += px[(size_t)r * w + c] == want;
        }
    qsort(px, n, sizeof *px, cmp_u32);
    size_t colours = 0, best = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && px[j] == px[i]) j++;
        colours++;
        if (j - i > best) best = j - i;
        i = j;
    }
    printf("%ux%u colours=%zu non_background=%.4f", w, h, colours,
           (double)(n - best) / (double)n);
    if (argc == 3) printf(" match=%zu", matches);
    printf("\n");
    free(px);
    free(s.out);
    free(idat);
    free(file);
    return 0;
}
