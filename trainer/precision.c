/*
 * trainer/precision.c — the precision plugins: names, the compute context,
 * *-true parameter rounding, GradScaler around the optimizer step, and the
 * plugin's checkpoint blob (see precision.h).
 */
#include "precision.h"

#include <string.h>

#include "common/status.h"

static const struct {
    const char *name;
    lc_precision_kind kind;
} precision_names[] = {
    {"32-true", LC_PRECISION_32_TRUE},       {"32", LC_PRECISION_32_TRUE},
    {"16-mixed", LC_PRECISION_16_MIXED},     {"16", LC_PRECISION_16_MIXED},
    {"bf16-mixed", LC_PRECISION_BF16_MIXED}, {"bf16", LC_PRECISION_BF16_MIXED},
    {"16-true", LC_PRECISION_16_TRUE},       {"bf16-true", LC_PRECISION_BF16_TRUE},
};

#define PREC_MAGIC "LCPREC01"

const char *lc_precision_valid_values(void)
{
    return "32-true, 16-mixed, bf16-mixed, 16-true, bf16-true (aliases: 32, 16, bf16)";
}

lc_status lc_precision_parse(const char *text, lc_precision_kind *out)
{
    for (size_t i = 0; text && i < sizeof precision_names / sizeof precision_names[0]; i++) {
        if (strcmp(text, precision_names[i].name) == 0) {
            *out = precision_names[i].kind;
            return LC_OK;
        }
    }
    if (text && (strcmp(text, "64-true") == 0 || strcmp(text, "64") == 0 ||
                 strncmp(text, "transformer-engine", 18) == 0))
        return lc_fail(LC_ERR_UNSUPPORTED, "precision '%s' is a Lightning precision lightc does "
                       "not have; valid values: %s", text, lc_precision_valid_values());
    return lc_fail(LC_ERR_INVALID, "unknown precision '%s'; valid values: %s",
                   text ? text : "(null)", lc_precision_valid_values());
}

const char *lc_precision_name(lc_precision_kind kind)
{
    switch (kind) {
    case LC_PRECISION_32_TRUE: return "32-true";
    case LC_PRECISION_16_MIXED: return "16-mixed";
    case LC_PRECISION_BF16_MIXED: return "bf16-mixed";
    case LC_PRECISION_16_TRUE: return "16-true";
    case LC_PRECISION_BF16_TRUE: return "bf16-true";
    }
    return "?";
}

void lc_precision_init(lc_precision *p, lc_precision_kind kind)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    switch (kind) {
    case LC_PRECISION_16_MIXED:
    case LC_PRECISION_16_TRUE: p->compute = LC_DTYPE_F16; break;
    case LC_PRECISION_BF16_MIXED:
    case LC_PRECISION_BF16_TRUE: p->compute = LC_DTYPE_BF16; break;
    case LC_PRECISION_32_TRUE: p->compute = LC_DTYPE_F32; break;
    }
    p->param_dtype = kind == LC_PRECISION_16_TRUE || kind == LC_PRECISION_BF16_TRUE
                         ? p->compute
                         : LC_DTYPE_F32;
    p->has_scaler = kind == LC_PRECISION_16_MIXED;
    lc_loss_scaler_init(&p->scaler);
}

lc_autocast lc_precision_enter(const lc_precision *p, const lc_backend *be)
{
    return lc_autocast_enter(be, p->compute);
}

double lc_precision_loss_scale(const lc_precision *p)
{
    return p->has_scaler ? (double)p->scaler.scale : 1.0;
}

lc_status lc_precision_convert_params(const lc_precision *p, lc_params *ps)
{
    if (p->param_dtype == LC_DTYPE_F32 || !ps)
        return LC_OK;
    const lc_backend *be = lc_params_backend(ps);
    lc_status st = LC_OK;
    for (size_t i = 0; i < ps->len && st == LC_OK; i++)
        st = be->round(p->param_dtype, ps->items[i].data, ps->items[i].count);
    return st;
}

lc_status lc_precision_unscale(lc_precision *p, lc_params *ps, int *skip)
{
    *skip = 0;
    if (!p->has_scaler || !ps)
        return LC_OK;
    /* 1/scale in float32, as GradScaler's inv_scale = scale.double().reciprocal().float() */
    float inv = (float)(1.0 / (double)p->scaler.scale);
    int found_inf = 0;
    lc_status st = lc_params_backend(ps)->unscale_inf_check(ps->grad_ptrs, ps->grad_lens,
                                                            ps->n_grads, inv, &found_inf);
    *skip = found_inf;
    return st;
}

lc_status lc_precision_step_end(lc_precision *p, lc_params *ps, int stepped)
{
    lc_status st = LC_OK;
    if (stepped && p->param_dtype != LC_DTYPE_F32 && ps) {
        const lc_backend *be = lc_params_backend(ps);
        for (size_t i = 0; i < ps->len && st == LC_OK; i++)
            if (ps->items[i].grad) /* frozen ones were rounded at setup */
                st = be->round(p->param_dtype, ps->items[i].data, ps->items[i].count);
    }
    p->last_skipped = !stepped;
    if (!p->has_scaler)
        return st;
    if (!stepped) {
        p->skipped_steps++;
        p->overflows++;
    }
    lc_loss_scaler_update(&p->scaler, !stepped);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Checkpoint blob                                                           */

static void put32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *b)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static uint64_t get64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

void lc_precision_state_save(const lc_precision *p, uint8_t out[LC_PRECISION_STATE_SIZE])
{
    memcpy(out, PREC_MAGIC, 8);
    put32(out + 8, (uint32_t)p->kind);
    put32(out + 12, (uint32_t)p->has_scaler);
    put64(out + 16, (uint64_t)p->skipped_steps);
    put64(out + 24, (uint64_t)p->overflows);
    lc_loss_scaler_state_save(&p->scaler, out + 32);
}

lc_status lc_precision_state_load(lc_precision *p, const void *buf, size_t len, int *same_kind)
{
    const uint8_t *b = buf;
    if (!b || len != LC_PRECISION_STATE_SIZE || memcmp(b, PREC_MAGIC, 8) != 0)
        return lc_fail(LC_ERR_INVALID, "precision state: not a precision plugin blob (%zu bytes)",
                       len);
    uint32_t kind = get32(b + 8);
    if (kind > LC_PRECISION_BF16_TRUE)
        return lc_fail(LC_ERR_INVALID, "precision state: unknown precision %u", kind);
    int had_scaler = get32(b + 12) != 0;
    int64_t skipped = (int64_t)get64(b + 16), overflows = (int64_t)get64(b + 24);
    if (skipped < 0 || overflows < 0)
        return lc_fail(LC_ERR_INVALID, "precision state: negative counters");
    lc_loss_scaler sc = p->scaler;
    lc_status st = lc_loss_scaler_state_load(&sc, b + 32, LC_LOSS_SCALER_STATE_SIZE);
    if (st != LC_OK)
        return st;
    if (same_kind)
        *same_kind = kind == (uint32_t)p->kind;
    if (had_scaler && p->has_scaler) {
        p->scaler = sc;
        p->skipped_steps = skipped;
        p->overflows = overflows;
    }
    return LC_OK;
}
