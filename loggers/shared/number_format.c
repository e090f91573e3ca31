/*
 * loggers/shared/number_format.c — shortest round-trip text for doubles (see
 * number_format.h for the output rules).
 *
 * Digits: Schubfach (Giulietti 2020). For v = c * 2^q the rounding interval
 * of v is [v - ulp/2, v + ulp/2] (the lower half is ulp/4 when c is the
 * smallest significand of its binade). With k = floor(log10(width)) the
 * interval, scaled by 10^-k, has width in [1, 10): it holds at most one
 * multiple of 10 and at least one integer. So the shortest decimal is that
 * multiple of 10 if it is inside, else the integer nearest to v/10^k among
 * s = floor(v/10^k) and s + 1 that are inside. Everything is computed on
 * 4*v/10^k (two extra bits) with a 126-bit approximation g of 10^-k and
 * "round to odd" (a sticky low bit), which the paper proves is exact enough
 * for every comparison below.
 */
#include "number_format.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

__extension__ typedef unsigned __int128 nf_u128;

#define NF_K_MIN (-324)          /* floor(log10(2^-1074)) */
#define NF_K_MAX 292             /* floor(log10(2^971)) */
#define NF_Q_MIN (-1074)         /* exponent of the smallest subnormal */
#define NF_C_MIN (1ULL << 52)    /* smallest normal significand */
#define NF_MASK63 ((1ULL << 63) - 1)

/* ---------------------------------------------------------------------------
 * floor(log) helpers: fixed-point multiplications, exact for the exponent
 * ranges of doubles (every binade is exercised in tests/test_number_format.c).
 */

/* x >> n rounding toward minus infinity, also for negative x. */
static int64_t nf_floor_shift(int64_t x, int n)
{
    return x >= 0 ? x >> n : ~(~x >> n);
}

static int nf_flog10_pow2(int e) /* floor(e * log10(2)) */
{
    return (int)nf_floor_shift((int64_t)e * 661971961083LL, 41);
}

static int nf_flog10_three_quarters_pow2(int e) /* floor(log10(3/4 * 2^e)) */
{
    return (int)nf_floor_shift((int64_t)e * 661971961083LL - 274743187321LL, 41);
}

static int nf_flog2_pow10(int e) /* floor(e * log2(10)) */
{
    return (int)nf_floor_shift((int64_t)e * 913124641741LL, 38);
}

/* ---------------------------------------------------------------------------
 * The table: for each k, g = floor(10^-k * 2^(125 - floor(log2(10^-k)))) + 1,
 * so 2^125 < g <= 2^126, kept as two 63-bit halves (hi, lo). Computed once
 * with a little bignum: 10^e by repeated *10 for k <= 0, and
 * floor(2^1100 / 10^n) by repeated /10 for k > 0 (floor division composes,
 * so the result is exact).
 */

#define NF_LIMBS 36 /* 1152 bits: 2^1100 and 10^324 (< 2^1077) fit */

typedef struct nf_big {
    uint32_t w[NF_LIMBS]; /* little-endian */
} nf_big;

static uint64_t nf_g[NF_K_MAX - NF_K_MIN + 1][2];
static pthread_once_t nf_once = PTHREAD_ONCE_INIT;

static void nf_big_mul10(nf_big *b)
{
    uint64_t carry = 0;
    for (int i = 0; i < NF_LIMBS; i++) {
        uint64_t t = (uint64_t)b->w[i] * 10 + carry;
        b->w[i] = (uint32_t)t;
        carry = t >> 32;
    }
}

static void nf_big_div10(nf_big *b)
{
    uint64_t rem = 0;
    for (int i = NF_LIMBS - 1; i >= 0; i--) {
        uint64_t cur = (rem << 32) | b->w[i];
        b->w[i] = (uint32_t)(cur / 10);
        rem = cur % 10;
    }
}

/* 32 bits of b starting at bit position 'bit'. */
static uint32_t nf_big_word(const nf_big *b, int bit)
{
    int i = bit / 32, o = bit % 32;
    uint64_t lo = i < NF_LIMBS ? b->w[i] : 0;
    uint64_t hi = i + 1 < NF_LIMBS ? b->w[i + 1] : 0;
    return (uint32_t)(((hi << 32) | lo) >> o);
}

/* floor(b / 2^shift), low 128 bits. */
static nf_u128 nf_big_shr(const nf_big *b, int shift)
{
    nf_u128 r = 0;
    for (int j = 3; j >= 0; j--)
        r = (r << 32) | nf_big_word(b, shift + 32 * j);
    return r;
}

static void nf_store(int k, nf_u128 g)
{
    nf_g[k - NF_K_MIN][0] = (uint64_t)(g >> 63);
    nf_g[k - NF_K_MIN][1] = (uint64_t)g & NF_MASK63;
}

static void nf_init_table(void)
{
    nf_big p;
    memset(&p, 0, sizeof p);
    p.w[0] = 1;
    for (int e = 0; e <= -NF_K_MIN; e++) { /* k = -e: 10^-k = 10^e, p = 10^e */
        if (e > 0)
            nf_big_mul10(&p);
        int shift = 125 - nf_flog2_pow10(e);
        nf_u128 g = shift >= 0 ? nf_big_shr(&p, 0) << shift : nf_big_shr(&p, -shift);
        nf_store(-e, g + 1);
    }
    nf_big a;
    memset(&a, 0, sizeof a);
    a.w[1100 / 32] = 1u << (1100 % 32);
    for (int n = 1; n <= NF_K_MAX; n++) { /* k = n: 10^-k = 1/10^n */
        nf_big_div10(&a);                /* a = floor(2^1100 / 10^n) */
        int m = 125 - nf_flog2_pow10(-n);
        nf_store(n, nf_big_shr(&a, 1100 - m) + 1);
    }
}

/* ---------------------------------------------------------------------------
 * The conversion.
 */

/* floor(g * cp / 2^127) with the low bits folded into a sticky last bit. */
static uint64_t nf_rop(uint64_t g1, uint64_t g0, uint64_t cp)
{
    nf_u128 x = (nf_u128)g0 * cp;
    nf_u128 y = (nf_u128)g1 * cp;
    uint64_t x1 = (uint64_t)(x >> 64);
    uint64_t y0 = (uint64_t)y, y1 = (uint64_t)(y >> 64);
    uint64_t z = (y0 >> 1) + x1;
    uint64_t vbp = y1 + (z >> 63);
    return vbp | (((z & NF_MASK63) + NF_MASK63) >> 63);
}

/* v = c * 2^q (c > 0): the shortest f * 10^e inside v's rounding interval,
 * the nearest to v when several are. */
static void nf_to_decimal(int q, uint64_t c, uint64_t *f, int *e)
{
    uint64_t out = c & 1; /* odd significand: the interval's ends are excluded */
    uint64_t cb = c << 2, cbr = cb + 2, cbl;
    int k;
    if (c != NF_C_MIN || q == NF_Q_MIN) {
        cbl = cb - 2;
        k = nf_flog10_pow2(q);
    } else { /* first significand of a binade: the gap below is half as wide */
        cbl = cb - 1;
        k = nf_flog10_three_quarters_pow2(q);
    }
    int h = q + nf_flog2_pow10(-k) + 2;
    const uint64_t *g = nf_g[k - NF_K_MIN];
    uint64_t vb = nf_rop(g[0], g[1], cb << h);
    uint64_t vbl = nf_rop(g[0], g[1], cbl << h);
    uint64_t vbr = nf_rop(g[0], g[1], cbr << h);

    uint64_t s = vb >> 2;
    /* one multiple of ten inside the interval: it is the shortest */
    uint64_t sp10 = 10 * (s / 10), tp10 = sp10 + 10;
    int upin = vbl + out <= sp10 << 2;
    int wpin = (tp10 << 2) + out <= vbr;
    if (upin != wpin) {
        *f = upin ? sp10 : tp10;
        *e = k;
        return;
    }
    /* else s or s + 1, whichever is inside; both: the nearer, ties to even */
    uint64_t t = s + 1;
    int uin = vbl + out <= s << 2;
    int win = (t << 2) + out <= vbr;
    if (uin != win) {
        *f = uin ? s : t;
        *e = k;
        return;
    }
    int64_t cmp = (int64_t)(vb - ((s + t) << 1));
    *f = (cmp < 0 || (cmp == 0 && (s & 1) == 0)) ? s : t;
    *e = k;
}

int lc_double_shortest(double v, uint64_t *digits, int *exp10)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t t = bits & ((1ULL << 52) - 1);
    int bq = (int)((bits >> 52) & 0x7ff);
    if (bq == 0x7ff || (bq == 0 && t == 0))
        return 0;
    pthread_once(&nf_once, nf_init_table);

    uint64_t f;
    int e;
    if (bq != 0) {
        int mq = 1075 - bq; /* v = c * 2^-mq */
        uint64_t c = NF_C_MIN | t;
        if (mq > 0 && mq < 53 && ((c >> mq) << mq) == c) {
            f = c >> mq; /* an integer below 2^53: its digits are exact */
            e = 0;
        } else {
            nf_to_decimal(-mq, c, &f, &e);
        }
    } else {
        nf_to_decimal(NF_Q_MIN, t, &f, &e); /* subnormal */
    }
    while (f % 10 == 0) {
        f /= 10;
        e++;
    }
    int n = 1;
    for (uint64_t x = f; x >= 10; x /= 10)
        n++;
    *digits = f;
    *exp10 = e;
    return n;
}

/* ---------------------------------------------------------------------------
 * Text.
 */

static const char nf_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* The n digits of f into out (no NUL). */
static void nf_digits(uint64_t f, int n, char *out)
{
    char *p = out + n;
    while (f >= 100) {
        p -= 2;
        memcpy(p, nf_pairs + (f % 100) * 2, 2);
        f /= 100;
    }
    if (f >= 10) {
        p -= 2;
        memcpy(p, nf_pairs + f * 2, 2);
    } else {
        *--p = (char)('0' + f);
    }
}

size_t lc_format_double(double v, char *buf)
{
    if (isnan(v)) {
        memcpy(buf, "nan", 4);
        return 3;
    }
    if (isinf(v)) {
        const char *s = v > 0 ? "inf" : "-inf";
        size_t n = strlen(s);
        memcpy(buf, s, n + 1);
        return n;
    }
    char *p = buf;
    if (signbit(v))
        *p++ = '-';
    if (v == 0) {
        memcpy(p, "0.0", 4);
        return (size_t)(p - buf) + 3;
    }
    uint64_t f;
    int e;
    int n = lc_double_shortest(v, &f, &e);
    char d[20];
    nf_digits(f, n, d);
    int decpt = n + e; /* v = 0.d1d2...dn * 10^decpt */

    if (decpt <= -4 || decpt > 16) { /* d.ddde+XX */
        *p++ = d[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)n - 1);
            p += n - 1;
        }
        int x = decpt - 1;
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        if (x < 0)
            x = -x;
        if (x >= 100) {
            *p++ = (char)('0' + x / 100);
            x %= 100;
        }
        memcpy(p, nf_pairs + x * 2, 2);
        p += 2;
    } else if (decpt <= 0) { /* 0.000ddd */
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -decpt; i++)
            *p++ = '0';
        memcpy(p, d, (size_t)n);
        p += n;
    } else if (decpt < n) { /* dd.ddd */
        memcpy(p, d, (size_t)decpt);
        p += decpt;
        *p++ = '.';
        memcpy(p, d + decpt, (size_t)(n - decpt));
        p += n - decpt;
    } else { /* ddd000.0 */
        memcpy(p, d, (size_t)n);
        p += n;
        for (int i = n; i < decpt; i++)
            *p++ = '0';
        *p++ = '.';
        *p++ = '0';
    }
    *p = 0;
    return (size_t)(p - buf);
}

size_t lc_format_compact(double v, char *buf)
{
    size_t rn = lc_format_double(v, buf);
    if (!isfinite(v))
        return rn;
    char a[LC_DOUBLE_BUFSZ];
    int an = snprintf(a, sizeof a, "%.4g", v);
    if (an <= 0 || (size_t)an >= sizeof a)
        return rn;
    /* "1.235e+05" -> "1.235e+5" */
    char *x = strchr(a, 'e');
    if (x && x[2] == '0') {
        memmove(x + 2, x + 3, strlen(x + 3) + 1);
        an--;
    }
    if ((size_t)an < rn) {
        memcpy(buf, a, (size_t)an + 1);
        return (size_t)an;
    }
    return rn;
}

size_t lc_format_i64(int64_t v, char *buf)
{
    char tmp[24];
    size_t n = 0, o = 0;
    /* negate in unsigned arithmetic: INT64_MIN has no positive twin */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[o++] = '-';
    while (n)
        buf[o++] = tmp[--n];
    buf[o] = 0;
    return o;
}
