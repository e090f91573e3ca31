/*
 * loggers/remote/wandb/wandb_config.c — the W&B backend's settings, read
 * from the variables the W&B SDK reads, so a user's existing setup works:
 *   WANDB_MODE        online (default; "run" too) | offline ("dryrun") |
 *                     disabled; "shared" is treated as online
 *   WANDB_API_KEY     the key; else netrc ($NETRC or ~/.netrc), machine =
 *                     the host of WANDB_BASE_URL, password = the key
 *   WANDB_BASE_URL    default https://api.wandb.ai
 *   WANDB_ENTITY      else the Viewer query's default entity
 *   WANDB_PROJECT     else the lightc run's experiment
 *   WANDB_RUN_ID      else 8 lowercase base-36 characters from the lightc run
 *   WANDB_NAME, WANDB_RUN_GROUP, WANDB_JOB_TYPE, WANDB_TAGS (comma list),
 *   WANDB_NOTES, WANDB_DIR (offline runs go to <dir>/wandb/), WANDB_RESUME
 *   (allow|auto|true|must|never), WANDB_HTTP_TIMEOUT (seconds per request)
 *   LIGHTC_WANDB_STREAM_SECS     at most one file_stream request this often (5)
 *   LIGHTC_WANDB_HEARTBEAT_SECS  keep-alive after this long idle (30)
 *   LIGHTC_WANDB_CHECKPOINTS     0: checkpoints/ files are not uploaded (default 1)
 *   LIGHTC_WANDB_SUMMARY         min/max summaries: "val/acc=max;train/loss=min,last"
 *                                (define_metric's summary option)
 * The key stays in memory only and is zeroed when freed.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/status.h"
#include "remote/http_url.h"
#include "wandb_internal.h"

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return NULL;
    return strdup(v);
}

static void zfree(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = 0;
        free(s);
    }
}

void wandb_config_free(wandb_config *cfg)
{
    free(cfg->base_url);
    free(cfg->app_url);
    zfree(cfg->api_key);
    free(cfg->entity);
    free(cfg->project);
    free(cfg->run_id);
    free(cfg->name);
    free(cfg->group);
    free(cfg->job_type);
    free(cfg->notes);
    free(cfg->dir);
    if (cfg->tags)
        for (char **t = cfg->tags; *t; t++)
            free(*t);
    free(cfg->tags);
    wandb_summary_spec_free(&cfg->summary);
    memset(cfg, 0, sizeof *cfg);
}

bool wandb_id_ok(const char *s, const char **why)
{
    if (!s || !*s) {
        *why = "is empty";
        return false;
    }
    if (isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1])) {
        *why = "starts or ends with white space";
        return false;
    }
    if (strpbrk(s, ":;,#?/'\\%")) {
        *why = "holds one of : ; , # ? / ' \\ %";
        return false;
    }
    if (strlen(s) > 128) {
        *why = "is longer than 128 characters";
        return false;
    }
    return true;
}

void wandb_run_id_from_uuid(const char *uuid, char out[9])
{
    /* 64 bits of the uuid's hex digits, in base 36, 8 digits: 36^8 ~ 2^41 */
    uint64_t v = 0;
    for (int i = 0; i < 16 && uuid && uuid[i]; i++) {
        int c = tolower((unsigned char)uuid[i]);
        v = (v << 4) | (uint64_t)(isdigit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0);
    }
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (int i = 7; i >= 0; i--) {
        out[i] = digits[v % 36];
        v /= 36;
    }
    out[8] = 0;
}

/* The host of an http(s) URL (no port, no user info), into out. */
static void url_host(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *at = strchr(p, '@');
    const char *slash = strchr(p, '/');
    if (at && (!slash || at < slash))
        p = at + 1;
    size_t n = strcspn(p, "/:?#");
    snprintf(out, cap, "%.*s", (int)n, p);
}

/* netrc tokens: machine NAME login L password P (also "default"). */
char *wandb_netrc_password(const char *path, const char *host)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char tok[1024], *found = NULL;
    int in_match = 0, want_pw = 0, want_machine = 0;
    while (fscanf(f, "%1023s", tok) == 1) {
        if (want_machine) {
            in_match = strcmp(tok, host) == 0;
            want_machine = 0;
        } else if (want_pw) {
            want_pw = 0;
            if (in_match && !found)
                found = strdup(tok);
        } else if (!strcmp(tok, "machine")) {
            want_machine = 1;
        } else if (!strcmp(tok, "default")) {
            in_match = !found;
        } else if (!strcmp(tok, "password")) {
            want_pw = 1;
        }
        memset(tok, 0, sizeof tok);
    }
    fclose(f);
    return found;
}

static lc_status load_key(wandb_config *cfg)
{
    cfg->api_key = env_dup("WANDB_API_KEY");
    if (cfg->api_key) {
        cfg->key_source = "WANDB_API_KEY";
        return LC_OK;
    }
    char host[256], path[512];
    url_host(cfg->base_url, host, sizeof host);
    const char *netrc = getenv("NETRC");
    if (netrc && *netrc) {
        snprintf(path, sizeof path, "%s", netrc);
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : NULL;
        }
        snprintf(path, sizeof path, "%s/.netrc", home ? home : "");
    }
    cfg->api_key = wandb_netrc_password(path, host);
    snprintf(cfg->key_source_buf, sizeof cfg->key_source_buf, "%.400s (machine %.100s)", path, host);
    cfg->key_source = cfg->key_source_buf;
    if (cfg->api_key)
        return LC_OK;
    if (cfg->mode != WANDB_ONLINE)
        return LC_OK;
    return lc_fail(LC_ERR_AUTH,
                   "wandb: no API key: set WANDB_API_KEY (or run `wandb login`, which puts it in "
                   "%s under machine %s), or set WANDB_MODE=offline to log without one",
                   path, host);
}

static lc_status parse_secs(const char *name, double dflt, double lo, double *out)
{
    const char *v = getenv(name);
    *out = dflt;
    if (!v || !*v)
        return LC_OK;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || x < lo || x > 86400)
        return lc_fail(LC_ERR_INVALID, "wandb: %s=%s: give a number of seconds from %g to 86400",
                       name, v, lo);
    *out = x;
    return LC_OK;
}

lc_status wandb_config_load(wandb_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    lc_status st = LC_OK;
    const char *m = getenv("WANDB_MODE");
    if (!m || !*m || !strcasecmp(m, "online") || !strcasecmp(m, "run") || !strcasecmp(m, "shared"))
        cfg->mode = WANDB_ONLINE;
    else if (!strcasecmp(m, "offline") || !strcasecmp(m, "dryrun"))
        cfg->mode = WANDB_OFFLINE;
    else if (!strcasecmp(m, "disabled"))
        cfg->mode = WANDB_DISABLED;
    else
        return lc_fail(LC_ERR_INVALID,
                       "wandb: WANDB_MODE=%s: give online, offline or disabled", m);

    const char *u = getenv("WANDB_BASE_URL");
    cfg->base_url = strdup(u && *u ? u : WANDB_DEFAULT_BASE);
    if (!cfg->base_url) {
        st = lc_fail(LC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    size_t n = strlen(cfg->base_url);
    while (n > 0 && cfg->base_url[n - 1] == '/')
        cfg->base_url[--n] = 0;
    lc_http_url_for_message(cfg->base_url, cfg->base_shown, sizeof cfg->base_shown);
    if (strncasecmp(cfg->base_url, "http://", 7) && strncasecmp(cfg->base_url, "https://", 8)) {
        st = lc_fail(LC_ERR_INVALID, "wandb: WANDB_BASE_URL=%s: give an http(s) URL such as %s",
                     cfg->base_shown, WANDB_DEFAULT_BASE);
        goto fail;
    }
    if (strpbrk(cfg->base_url, "?#")) {
        st = lc_fail(LC_ERR_INVALID, "wandb: WANDB_BASE_URL=%s: remove the query or fragment",
                     cfg->base_shown);
        goto fail;
    }
    /* the UI: api.wandb.ai -> wandb.ai; a self-hosted server serves both */
    const char *api = strstr(cfg->base_url, "://api.");
    if (api) {
        size_t pre = (size_t)(api - cfg->base_url) + 3;
        cfg->app_url = malloc(strlen(cfg->base_url));
        if (cfg->app_url)
            sprintf(cfg->app_url, "%.*s%s", (int)pre, cfg->base_url, api + 7);
    } else {
        cfg->app_url = strdup(cfg->base_url);
    }
    if (!cfg->app_url) {
        st = lc_fail(LC_ERR_NOMEM, "out of memory");
        goto fail;
    }

    cfg->entity = env_dup("WANDB_ENTITY");
    cfg->project = env_dup("WANDB_PROJECT");
    cfg->run_id = env_dup("WANDB_RUN_ID");
    cfg->name = env_dup("WANDB_NAME");
    cfg->group = env_dup("WANDB_RUN_GROUP");
    cfg->job_type = env_dup("WANDB_JOB_TYPE");
    cfg->notes = env_dup("WANDB_NOTES");
    cfg->dir = env_dup("WANDB_DIR");
    const char *why;
    if (cfg->run_id && !wandb_id_ok(cfg->run_id, &why)) {
        st = lc_fail(LC_ERR_INVALID, "wandb: WANDB_RUN_ID='%s' %s: W&B run ids may not", cfg->run_id,
                     why);
        goto fail;
    }
    if (cfg->project && !wandb_id_ok(cfg->project, &why)) {
        st = lc_fail(LC_ERR_INVALID, "wandb: WANDB_PROJECT='%s' %s: W&B project names may not",
                     cfg->project, why);
        goto fail;
    }
    const char *tags = getenv("WANDB_TAGS");
    if (tags && *tags) {
        size_t k = 0, cap = 2;
        for (const char *p = tags; *p; p++)
            cap += *p == ',';
        cfg->tags = calloc(cap, sizeof *cfg->tags);
        for (const char *p = tags; cfg->tags && *p;) {
            size_t len = strcspn(p, ",");
            const char *a = p;
            while (len && isspace((unsigned char)*a))
                a++, len--;
            while (len && isspace((unsigned char)a[len - 1]))
                len--;
            if (len && !(cfg->tags[k++] = strndup(a, len)))
                break;
            p += strcspn(p, ",");
            if (*p)
                p++;
        }
        if (!cfg->tags) {
            st = lc_fail(LC_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    const char *r = getenv("WANDB_RESUME");
    if (!r || !*r || !strcasecmp(r, "allow") || !strcasecmp(r, "auto") || !strcasecmp(r, "true"))
        cfg->resume = WANDB_RESUME_ALLOW;
    else if (!strcasecmp(r, "must"))
        cfg->resume = WANDB_RESUME_MUST;
    else if (!strcasecmp(r, "never") || !strcasecmp(r, "false"))
        cfg->resume = WANDB_RESUME_NEVER;
    else {
        st = lc_fail(LC_ERR_INVALID, "wandb: WANDB_RESUME=%s: give allow, must, never or auto", r);
        goto fail;
    }
    if ((st = parse_secs("LIGHTC_WANDB_STREAM_SECS", 5.0, 0.0, &cfg->stream_secs)) != LC_OK ||
        (st = parse_secs("LIGHTC_WANDB_HEARTBEAT_SECS", 30.0, 0.1, &cfg->heartbeat_secs)) != LC_OK)
        goto fail;
    double t;
    if ((st = parse_secs("WANDB_HTTP_TIMEOUT", 0.0, 0.0, &t)) != LC_OK)
        goto fail;
    if ((st = wandb_summary_spec_parse(getenv("LIGHTC_WANDB_SUMMARY"), &cfg->summary)) != LC_OK)
        goto fail;
    const char *ck = getenv("LIGHTC_WANDB_CHECKPOINTS");
    cfg->checkpoints = true;
    if (ck && *ck) {
        if (!strcmp(ck, "0") || !strcasecmp(ck, "false") || !strcasecmp(ck, "no"))
            cfg->checkpoints = false;
        else if (strcmp(ck, "1") && strcasecmp(ck, "true") && strcasecmp(ck, "yes")) {
            st = lc_fail(LC_ERR_INVALID, "wandb: LIGHTC_WANDB_CHECKPOINTS=%s: give 1 (upload the checkpoints, the default) or 0", ck);
            goto fail;
        }
    }
    cfg->timeout_ms = (long)(t * 1000);
    if (cfg->mode != WANDB_DISABLED && (st = load_key(cfg)) != LC_OK)
        goto fail;
    return LC_OK;
fail:
    wandb_config_free(cfg);
    return st;
}
