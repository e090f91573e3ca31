/*
 * kernels/loss_scaler.c — GradScaler's update rule, its checkpoint blob and
 * the fused unscale + Inf/NaN check (see loss_scaler.h).
 */
#include "loss_scaler.h"

#include <math.h>
#include <string.h>

#include "common/status.h"

#define SCALER_MAGIC "LCSCALE1"

void lc_loss_scaler_init(lc_loss_scaler *s)
{
    s->scale = LC_LOSS_SCALER_INIT_SCALE;
    s->growth_factor = LC_LOSS_SCALER_GROWTH_FACTOR;
    s->backoff_factor = LC_LOSS_SCALER_BACKOFF_FACTOR;
    s->growth_interval = LC_LOSS_SCALER_GROWTH_INTERVAL;
    s->growth_tracker = 0;
}

lc_status lc_loss_scaler_check(const lc_loss_scaler *s)
{
    if (!s)
        return lc_fail(LC_ERR_INVALID, "loss scaler: NULL");
    if (!(s->scale > 0.0f) || isinf(s->scale))
        return lc_fail(LC_ERR_INVALID, "loss scaler: scale %g must be finite and > 0",
                       (double)s->scale);
    if (!(s->growth_factor > 1.0f) || isinf(s->growth_factor))
        return lc_fail(LC_ERR_INVALID, "loss scaler: growth_factor %g must be > 1",
                       (double)s->growth_factor);
    if (!(s->backoff_factor > 0.0f && s->backoff_factor < 1.0f))
        return lc_fail(LC_ERR_INVALID, "loss scaler: backoff_factor %g must be in (0, 1)",
                       (double)s->backoff_factor);
    if (s->growth_interval < 1)
        return lc_fail(LC_ERR_INVALID, "loss scaler: growth_interval %lld must be >= 1",
                       (long long)s->growth_interval);
    if (s->growth_tracker < 0 || s->growth_tracker >= s->growth_interval)
        return lc_fail(LC_ERR_INVALID, "loss scaler: growth_tracker %lld must be in [0, %lld)",
                       (long long)s->growth_tracker, (long long)s->growth_interval);
    return LC_OK;
}

void lc_loss_scaler_update(lc_loss_scaler *s, int found_inf)
{
    if (found_inf) {
        s->scale *= s->backoff_factor;
        s->growth_tracker = 0;
        return;
    }
    int64_t ok = s->growth_tracker + 1;
    if (ok == s->growth_interval) {
        float grown = s->scale * s->growth_factor;
        if (isfinite(grown))
            s->scale = grown;
        ok = 0;
    }
    s->growth_tracker = ok;
}

/* ------------------------------------------------------------------------ */
/* Checkpoint blob                                                           */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void lc_loss_scaler_state_save(const lc_loss_scaler *s, uint8_t out[LC_LOSS_SCALER_STATE_SIZE])
{
    memcpy(out, SCALER_MAGIC, 8);
    put32(out + 8, fbits(s->scale));
    put32(out + 12, fbits(s->growth_factor));
    put32(out + 16, fbits(s->backoff_factor));
    put32(out + 20, 0);
    put64(out + 24, (uint64_t)s->growth_interval);
    put64(out + 32, (uint64_t)s->growth_tracker);
}

lc_status lc_loss_scaler_state_load(lc_loss_scaler *s, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (!p || len != LC_LOSS_SCALER_STATE_SIZE || memcmp(p, SCALER_MAGIC, 8) != 0)
        return lc_fail(LC_ERR_INVALID, "loss scaler state: not a GradScaler blob (%zu bytes)",
                       len);
    lc_loss_scaler t;
    t.scale = bitsf(get32(p + 8));
    t.growth_factor = bitsf(get32(p + 12));
    t.backoff_factor = bitsf(get32(p + 16));
    t.growth_interval = (int64_t)get64(p + 24);
    t.growth_tracker = (int64_t)get64(p + 32);
    lc_status st = lc_loss_scaler_check(&t);
    if (st != LC_OK)
        return lc_fail(st, "loss scaler state: %s", lc_errmsg());
    *s = t;
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Unscale + inf check                                                       */

/* Branch-free so the loop vectorises: an exponent of all ones is Inf/NaN. */
static uint32_t unscale_buf(float *restrict g, size_t n, float inv)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float v = g[i] * inv;
        g[i] = v;
        uint32_t u;
        memcpy(&u, &v, 4);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
    }
    return bad;
}

void lc_unscale_inf_check(float *const *bufs, const size_t *lens, size_t count, float inv_scale,
                          int *found_inf)
{
    uint32_t bad = 0;
    for (size_t k = 0; k < count; k++)
        if (bufs[k])
            bad |= unscale_buf(bufs[k], lens[k], inv_scale);
    if (found_inf)
        *found_inf = bad != 0;
}

int lc_has_nonfinite(const float *x, size_t n)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
    }
    return bad != 0;
}
