/*
 * loggers/bus/run.c — a run's life: start (validate names, make the run
 * directory, keep the run id there, collect provenance, open the run in
 * every sink), key interning, and finish (status, counters, report).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/status.h"
#include "hub_internal.h"
#include "keys.h"
#include "redact.h"

#define RUN_ID_FILE ".lightc_run_id"

/* ------------------------------------------------------------------------ */
/* ids and directories                                                       */

static void new_run_id(char out[33])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t x = (uint64_t)getpid() ^ (uint64_t)lc_mono_ms() * 0x9E3779B97F4A7C15ull;
        for (int i = 0; i < 16; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            b[i] = (unsigned char)x;
        }
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* <dir>/.lightc_run_id into path; -1 if it does not fit. */
static int run_id_path(const char *dir, char path[PATH_MAX])
{
    return snprintf(path, PATH_MAX, "%s/%s", dir, RUN_ID_FILE) < PATH_MAX ? 0 : -1;
}

/* fopen <dir>/.lightc_run_id, or NULL. */
static FILE *run_id_open(const char *dir, const char *mode)
{
    char path[PATH_MAX];
    return run_id_path(dir, path) == 0 ? fopen(path, mode) : NULL;
}

static int read_run_id(const char *dir, char out[33])
{
    FILE *f = run_id_open(dir, "r");
    if (!f)
        return -1;
    char buf[64] = "";
    int ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    buf[strcspn(buf, "\n")] = 0;
    if (!ok || strlen(buf) != 32 || strspn(buf, "0123456789abcdef") != 32)
        return -1;
    memcpy(out, buf, 33);
    return 0;
}

static int write_run_id(const char *dir, const char *id)
{
    FILE *f = run_id_open(dir, "w");
    if (!f)
        return -1;
    int ok = fprintf(f, "%s\n", id) > 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Lightning's version_N: N = 1 + the largest existing version_<int>. */
static int next_version(const char *expdir)
{
    int best = -1;
    DIR *d = opendir(expdir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, "version_", 8) == 0 && n[8] && strspn(n + 8, "0123456789") == strlen(n + 8)) {
            int v = atoi(n + 8);
            if (v > best)
                best = v;
        }
    }
    closedir(d);
    return best + 1;
}

lc_status lc_run_path(const char *root, const char *experiment, const char *name, char *out,
                      size_t cap)
{
    if (!experiment || !*experiment)
        experiment = LC_DEFAULT_EXPERIMENT;
    char msg[512];
    if (lc_validate_name(experiment, "experiment", msg, sizeof msg) != 0 ||
        (name && lc_validate_name(name, "run name", msg, sizeof msg) != 0))
        return lc_fail(LC_ERR_INVALID, "%s", msg);
    int n = name ? snprintf(out, cap, "%s/%s/%s", root, experiment, name)
                 : snprintf(out, cap, "%s/%s", root, experiment);
    if (n < 0 || (size_t)n >= cap)
        return lc_fail(LC_ERR_INVALID, "run directory path under '%s' is too long", root);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* start                                                                     */

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static lc_run *dummy_run(lc_hub *hub)
{
    lc_run *run = calloc(1, sizeof *run);
    if (!run)
        return NULL;
    run->hub = hub;
    run->dummy = 1;
    atomic_init(&run->noop, 1);
    run->experiment = strdup("");
    run->name = strdup("");
    run->dir = strdup("");
    run->info.experiment = run->experiment;
    run->info.name = run->name;
    run->info.dir = run->dir;
    pthread_mutex_init(&run->intern_mu, NULL);
    return run;
}

static void free_tags(char **kv, char **orig)
{
    size_t pairs = 0;
    if (kv) {
        for (size_t i = 0; kv[i]; i++)
            free(kv[i]);
        for (; kv[2 * pairs]; pairs++)
            ;
        free(kv);
    }
    if (orig) {
        for (size_t i = 0; i < pairs; i++)
            free(orig[i]);
        free(orig);
    }
}

/* Append a pair to kv[*k..]: the key normalised like every key (its
 * original kept in orig when that changed it), the value with secrets
 * redacted and made valid UTF-8 (redact.h). */
static lc_status add_tag(char **kv, char **orig, size_t *k, const char *key, const char *value)
{
    char norm[LC_KEY_MAX + 1];
    int changed = lc_normalize_key(key, norm, sizeof norm);
    if (changed < 0)
        return lc_fail(LC_ERR_INVALID, "run tags: key '%.80s' is empty after normalisation; use "
                       "letters, digits, '_', '-', '.', ' ', ':' and '/' between non-empty segments",
                       key);
    char *nk = strdup(norm), *v = lc_redact_value(key, value, NULL);
    char *o = changed ? strdup(key) : NULL;
    if (!nk || !v || (changed && !o)) {
        free(nk);
        free(v);
        free(o);
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    orig[*k / 2] = o;
    kv[(*k)++] = nk;
    kv[(*k)++] = v;
    return LC_OK;
}

/* Build the tag list: the user's pairs, then provenance. */
static char **build_tags(const char *const *user, const lc_provenance *p, char ***orig_out,
                         lc_status *st)
{
    size_t nu = 0;
    if (user) {
        while (user[nu]) {
            if (!user[nu + 1]) {
                *st = lc_fail(LC_ERR_INVALID, "run tags: key '%s' has no value (tags are key, value pairs ending in NULL)", user[nu]);
                return NULL;
            }
            nu += 2;
        }
    }
    char **kv = calloc(nu + 2 * 10 + 1, sizeof *kv);
    char **orig = calloc(nu / 2 + 10, sizeof *orig);
    if (!kv || !orig) {
        free(kv);
        free(orig);
        *st = lc_fail(LC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    char pid[32];
    snprintf(pid, sizeof pid, "%lld", (long long)p->pid);
    const char *prov[] = {
        "lightc.host", p->host,
        "lightc.pid", pid,
        "lightc.argv", p->argv ? p->argv : "",
        "lightc.version", LC_VERSION_STRING,
        "lightc.cwd", p->cwd,
        p->git_commit[0] ? "lightc.git.commit" : NULL, p->git_commit,
        "lightc.git.dirty", p->git_dirty > 0 ? "true" : "false",
        NULL,
    };
    size_t k = 0;
    *st = LC_OK;
    for (size_t i = 0; i < nu && *st == LC_OK; i += 2)
        *st = add_tag(kv, orig, &k, user[i], user[i + 1]);
    for (size_t i = 0; prov[i] && *st == LC_OK; i += 2)
        *st = add_tag(kv, orig, &k, prov[i], prov[i + 1]);
    if (*st != LC_OK) {
        free_tags(kv, orig);
        return NULL;
    }
    *orig_out = orig;
    return kv;
}

lc_status lc_run_start(lc_hub *hub, const lc_run_options *opt, lc_run **out)
{
    lc_clear_error();
    if (!hub || !out)
        return lc_fail(LC_ERR_INVALID, "lc_run_start: hub and out must not be NULL");
    *out = NULL;
    if (atomic_load(&hub->closing))
        return lc_fail(LC_ERR_STATE, "lc_run_start: the hub is closing");
    lc_run_options o = {0};
    if (opt)
        o = *opt;
    if (!hub->active) {
        *out = dummy_run(hub);
        return *out ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    const char *experiment = o.experiment && *o.experiment ? o.experiment : LC_DEFAULT_EXPERIMENT;
    char expdir[PATH_MAX], dir[PATH_MAX], name[256];
    lc_status st = lc_run_path(hub->root, experiment, NULL, expdir, sizeof expdir);
    if (st == LC_OK && o.name)
        st = lc_run_path(hub->root, experiment, o.name, dir, sizeof dir);
    if (st != LC_OK)
        return st;
    if (lc_make_dirs(expdir) != 0)
        return lc_fail(LC_ERR_IO, "cannot create '%s': %s; choose a writable --root", expdir, strerror(errno));

    /* Make the run directory; mkdir is the atomic claim on the name. */
    int existed = 0;
    for (int attempt = 0;; attempt++) {
        if (o.name)
            snprintf(name, sizeof name, "%s", o.name);
        else
            snprintf(name, sizeof name, "version_%d", next_version(expdir) + attempt);
        if (!o.name && (st = lc_run_path(hub->root, experiment, name, dir, sizeof dir)) != LC_OK)
            return st;
        if (mkdir(dir, LC_DIR_MODE) == 0)
            break;
        if (errno != EEXIST)
            return lc_fail(LC_ERR_IO, "cannot create run directory '%s': %s; choose a writable --root",
                           dir, strerror(errno));
        if (o.name) {
            existed = 1;
            break;
        }
        if (attempt > 1000)
            return lc_fail(LC_ERR_IO, "cannot find a free version_N directory under '%s'", expdir);
    }
    char id[33];
    if (existed) {
        if (!o.resume)
            return lc_fail(LC_ERR_EXISTS,
                           "run '%s/%s' already exists in %s; pass --resume (lc_run_options.resume) to "
                           "continue it, or choose another --name",
                           experiment, name, hub->root);
        if (read_run_id(dir, id) != 0)
            new_run_id(id);
    } else {
        new_run_id(id);
        o.resume = 0; /* nothing to continue: a fresh run */
    }
    if (write_run_id(dir, id) != 0)
        return lc_fail(LC_ERR_IO, "cannot write '%s/%s': %s", dir, RUN_ID_FILE, strerror(errno));

    lc_run *run = calloc(1, sizeof *run);
    if (!run)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    run->hub = hub;
    pthread_mutex_init(&run->intern_mu, NULL);
    run->experiment = strdup(experiment);
    run->name = strdup(name);
    run->dir = strdup(dir);
    lc_provenance prov;
    lc_provenance_collect(&prov);
    run->tag_kv = build_tags(o.tags, &prov, &run->tag_orig, &st);
    if (!run->tag_kv) {
        lc_provenance_free(&prov);
        lc_run_free(run);
        return st;
    }
    lc_run_info *ri = &run->info;
    memcpy(ri->id, id, 33);
    ri->root = hub->root;
    ri->experiment = run->experiment;
    ri->name = run->name;
    ri->dir = run->dir;
    ri->start_time = lc_wall_now();
    ri->resume = o.resume;
    ri->resume_step = o.resume && o.discard_after && o.resume_step >= 0 ? o.resume_step : -1;
    ri->restart = o.resume && o.discard_after && o.resume_step < 0;
    ri->status = LC_RUN_RUNNING;
    ri->tags = (const char *const *)run->tag_kv;
    ri->tag_originals = (const char *const *)run->tag_orig;
    ri->host = xstrdup(prov.host);
    ri->boot_id = xstrdup(prov.boot_id);
    ri->pid = prov.pid;
    ri->proc_start = prov.proc_start;
    lc_provenance_free(&prov);

    char err[LC_ERRLEN];
    st = lc_hub_request(hub, LC_EV_RUN_OPEN, ri, 0, err, sizeof err);
    if (st != LC_OK) {
        if (!existed) {
            /* nothing of the run stays behind */
            char p[PATH_MAX];
            if (run_id_path(dir, p) == 0)
                unlink(p);
            rmdir(dir);
        }
        lc_run_free(run);
        return lc_fail(st, "%s", err); /* the failing sink's code, as it gave it */
    }
    if (ri->restart)
        fprintf(stderr, "lightc: run %s/%s started over: %llu points of its earlier attempt "
                        "discarded, its files (metrics.csv, TensorBoard events) replaced\n",
                experiment, name, (unsigned long long)atomic_load(&ri->discarded));
    pthread_mutex_lock(&hub->runs_mu);
    run->next = hub->runs;
    hub->runs = run;
    pthread_mutex_unlock(&hub->runs_mu);
    *out = run;
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* accessors                                                                 */

const char *lc_run_id(const lc_run *run) { return run ? run->info.id : NULL; }
const char *lc_run_experiment(const lc_run *run) { return run ? run->info.experiment : NULL; }
const char *lc_run_name(const lc_run *run) { return run ? run->info.name : NULL; }
const char *lc_run_dir(const lc_run *run) { return run ? run->info.dir : NULL; }

void lc_run_get_counters(const lc_run *run, lc_run_counters *c)
{
    memset(c, 0, sizeof *c);
    if (!run)
        return;
    lc_run_info *ri = (lc_run_info *)&run->info;
    c->logged = atomic_load(&ri->logged);
    c->dropped = atomic_load(&ri->dropped);
    c->rejected = atomic_load(&ri->rejected);
    c->replaced = atomic_load(&ri->replaced);
    c->sink_errors = atomic_load(&ri->sink_errors);
    c->discarded = atomic_load(&ri->discarded);
    c->repaired = atomic_load(&ri->repaired);
    c->degraded = atomic_load(&ri->degraded);
}

lc_run_status lc_run_get_status(const lc_run *run)
{
    if (!run || run->dummy)
        return LC_RUN_RUNNING;
    lc_hub *hub = run->hub;
    pthread_mutex_lock(&hub->runs_mu);
    lc_run_status s = run->ended ? run->info.status : LC_RUN_RUNNING;
    pthread_mutex_unlock(&hub->runs_mu);
    return s;
}

/* ------------------------------------------------------------------------ */
/* interning                                                                 */

static uint32_t map_find(lc_run *run, const char *s, size_t len, uint32_t h)
{
    if (!run->map)
        return 0;
    for (uint32_t i = h & (run->map_cap - 1);; i = (i + 1) & (run->map_cap - 1)) {
        lc_intern_entry *e = &run->map[i];
        if (!e->str)
            return 0;
        if (strncmp(e->str, s, len) == 0 && e->str[len] == 0)
            return e->tag;
    }
}

static int map_put(lc_run *run, const char *s, uint32_t tag)
{
    if ((run->map_used + 1) * 2 > run->map_cap) {
        uint32_t ncap = run->map_cap ? run->map_cap * 2 : 64;
        lc_intern_entry *nm = calloc(ncap, sizeof *nm);
        if (!nm)
            return -1;
        for (uint32_t i = 0; i < run->map_cap; i++) {
            lc_intern_entry *e = &run->map[i];
            if (!e->str)
                continue;
            uint32_t j = lc_hash32(e->str, strlen(e->str)) & (ncap - 1);
            while (nm[j].str)
                j = (j + 1) & (ncap - 1);
            nm[j] = *e;
        }
        free(run->map);
        run->map = nm;
        run->map_cap = ncap;
    }
    char *dup = strdup(s);
    if (!dup)
        return -1;
    uint32_t j = lc_hash32(s, strlen(s)) & (run->map_cap - 1);
    while (run->map[j].str)
        j = (j + 1) & (run->map_cap - 1);
    run->map[j].str = dup;
    run->map[j].tag = tag;
    run->map_used++;
    return 0;
}

const char *lc_run_tag_key(const lc_run *run, lc_tag tag)
{
    return run ? lc_key_table_get(&run->info.keys, tag) : NULL;
}

/* Queue an LC_EV_KEY announcing tag -> key (original kept for the map). */
static void announce_key(lc_run *run, uint32_t tag, const char *key, const char *original, int changed)
{
    size_t kl = strlen(key) + 1, ol = strlen(original) + 1;
    lc_key_payload *p = malloc(sizeof *p + kl + ol);
    if (!p)
        return;
    p->changed = changed;
    p->key = (char *)(p + 1);
    p->original = p->key + kl;
    memcpy(p->key, key, kl);
    memcpy(p->original, original, ol);
    lc_event ev = {.run = &run->info, .kind = LC_EV_KEY, .tag = tag, .payload = p,
                   .wall_time = lc_wall_coarse()};
    lc_hub_enqueue(run->hub, &ev, 1, NULL, NULL, 0); /* a key is never dropped */
}

lc_tag lc_run_tag(lc_run *run, const char *key)
{
    if (!run || !key) {
        lc_fail(LC_ERR_INVALID, "lc_run_tag: run and key must not be NULL");
        return 0;
    }
    if (run->dummy)
        return 1;
    size_t len = strlen(key);
    uint32_t h = lc_hash32(key, len);
    pthread_mutex_lock(&run->intern_mu);
    uint32_t tag = map_find(run, key, len, h);
    if (tag) {
        pthread_mutex_unlock(&run->intern_mu);
        return tag;
    }
    char norm[LC_KEY_MAX + 1];
    int changed = lc_normalize_key(key, norm, sizeof norm);
    if (changed < 0) {
        pthread_mutex_unlock(&run->intern_mu);
        atomic_fetch_add(&run->info.rejected, 1);
        lc_fail(LC_ERR_INVALID, "metric key '%.80s' is empty after normalisation; use letters, digits, '_', '-', '.', ' ', ':' and '/' between non-empty segments", key);
        return 0;
    }
    size_t nlen = strlen(norm);
    tag = changed ? map_find(run, norm, nlen, lc_hash32(norm, nlen)) : 0;
    if (!tag) {
        if (run->info.keys.n >= LC_TAG_MAX) {
            pthread_mutex_unlock(&run->intern_mu);
            lc_fail(LC_ERR_INVALID, "too many distinct metric keys in run %s (limit %d)", run->info.id,
                    LC_TAG_MAX);
            return 0;
        }
        tag = run->info.keys.n + 1;
        /* the name is published with the tag (readers check tag <= n) */
        if (map_put(run, norm, tag) != 0 || lc_key_table_set(&run->info.keys, tag, norm) != 0) {
            pthread_mutex_unlock(&run->intern_mu);
            lc_fail(LC_ERR_NOMEM, "out of memory");
            return 0;
        }
    }
    announce_key(run, tag, norm, key, changed);
    if (changed)
        map_put(run, key, tag);
    pthread_mutex_unlock(&run->intern_mu);
    return tag;
}

/* ------------------------------------------------------------------------ */
/* finish                                                                    */

void lc_run_free(lc_run *run)
{
    if (!run)
        return;
    for (uint32_t i = 0; i < run->map_cap; i++)
        free(run->map[i].str);
    free(run->map);
    lc_key_table_free(&run->info.keys);
    free_tags(run->tag_kv, run->tag_orig);
    free((char *)run->info.host);
    free((char *)run->info.boot_id);
    free(run->experiment);
    free(run->name);
    free(run->dir);
    pthread_mutex_destroy(&run->intern_mu);
    free(run);
}

static void report_counters(const lc_run *run, lc_run_status status)
{
    lc_run_counters c;
    lc_run_get_counters(run, &c);
    if (c.dropped || c.rejected || c.replaced || c.sink_errors || c.degraded)
        fprintf(stderr,
                "lightc: run %s/%s (%.8s) %s: %llu scalars logged, %llu dropped, %llu rejected, "
                "%llu replaced, %llu event deliveries lost by failing sinks%s\n",
                run->info.experiment, run->info.name, run->info.id, lc_run_status_name(status),
                (unsigned long long)c.logged, (unsigned long long)c.dropped,
                (unsigned long long)c.rejected, (unsigned long long)c.replaced,
                (unsigned long long)c.sink_errors, c.degraded ? " (degraded)" : "");
}

static int unlink_run(lc_run **list, lc_run *run)
{
    while (*list && *list != run)
        list = &(*list)->next;
    if (!*list)
        return 0;
    *list = run->next;
    return 1;
}

lc_status lc_run_end(lc_run *run, lc_run_status status, uint64_t deadline)
{
    lc_hub *hub = run->hub;
    pthread_mutex_lock(&hub->runs_mu);
    int live = !run->ended && unlink_run(&hub->runs, run);
    if (live) {
        run->ended = 1;
        run->info.status = status; /* under the lock: lc_run_get_status */
        run->info.end_time = lc_wall_now();
        run->next = hub->ended;
        hub->ended = run;
    }
    pthread_mutex_unlock(&hub->runs_mu);
    if (!live)
        return lc_fail(LC_ERR_STATE, "lc_run_finish: run is not live (finished twice?)");
    atomic_store(&run->noop, 1);
    char err[LC_ERRLEN];
    lc_status st = lc_hub_request(hub, LC_EV_RUN_FINISH, &run->info, deadline, err, sizeof err);
    if (st == LC_ERR_TIMEOUT)
        return lc_fail(st, "lc_run_finish: %s", err); /* the dispatcher finishes it later */
    report_counters(run, status);
    if (st != LC_OK)
        return lc_fail(st, "lc_run_finish: %s", err);
    return LC_OK;
}

lc_status lc_run_end_all(lc_hub *hub, lc_run_status status, uint64_t deadline, char *first,
                         size_t firstlen)
{
    lc_status st = LC_OK;
    for (;;) {
        pthread_mutex_lock(&hub->runs_mu);
        lc_run *r = hub->runs;
        pthread_mutex_unlock(&hub->runs_mu);
        if (!r)
            break;
        lc_status rs = lc_run_end(r, status, deadline);
        if (rs == LC_ERR_STATE)
            break; /* not live after all: never spin on it */
        if (rs != LC_OK && rs != LC_ERR_TIMEOUT && st == LC_OK) {
            st = rs;
            if (first && firstlen)
                snprintf(first, firstlen, "%s", lc_errmsg());
        }
    }
    return st;
}

lc_status lc_run_finish(lc_run *run, lc_run_status status)
{
    lc_clear_error();
    if (!run)
        return LC_OK;
    if (run->dummy) {
        lc_run_free(run);
        return LC_OK;
    }
    if (status != LC_RUN_FINISHED && status != LC_RUN_FAILED && status != LC_RUN_KILLED &&
        status != LC_RUN_CRASHED)
        status = LC_RUN_FAILED;
    lc_hub *hub = run->hub;
    lc_status st = LC_OK;
    pthread_mutex_lock(&hub->runs_mu);
    int already_ended = run->ended;
    pthread_mutex_unlock(&hub->runs_mu);
    /* A run a signal already ended keeps the status it was given; a flush
       first lets the dispatcher pass any event that was being logged into
       it when it ended, before its memory goes. */
    if (!already_ended) {
        st = lc_run_end(run, status, 0);
    } else {
        char err[LC_ERRLEN];
        lc_hub_request(hub, LC_EV_FLUSH, NULL, 0, err, sizeof err);
    }
    pthread_mutex_lock(&hub->runs_mu);
    int owned = unlink_run(&hub->ended, run);
    pthread_mutex_unlock(&hub->runs_mu);
    if (owned)
        lc_run_free(run);
    return st;
}
