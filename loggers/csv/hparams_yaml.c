/*
 * loggers/csv/hparams_yaml.c — hparams.yaml, byte for byte as PyYAML's
 * yaml.dump(dict) writes it (see hparams_yaml.h for the rules).
 *
 * Sections: the nested tree built from the flat '/' keys; the scalar
 * analysis and style choice (plain, 'single', "double"), following
 * PyYAML's emitter (analyze_scalar, choose_scalar_style) and its YAML 1.1
 * implicit resolvers; the writers, which also fold long values at column
 * 80 like PyYAML's; the file write (temp + rename); the param set a sink
 * keeps per run.
 */
#include "hparams_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/number_format.h"

#define HY_BEST_WIDTH 80   /* PyYAML's default line width */
#define HY_SIMPLE_KEY 128  /* a key of >= 128 - len("!!str") chars is written "? key" */

/* ---- output with PyYAML's emitter state ------------------------------------ */

typedef struct hy_out {
    char *p;
    size_t len, cap;
    int oom;
    int column;
    int whitespace;   /* the last thing written was a space or line start */
    int indention;    /* only indentation on this line so far */
    int indent;       /* current indent, -1 = none yet */
} hy_out;

static void hy_raw(hy_out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *np = realloc(o->p, cap);
        if (!np) {
            o->oom = 1;
            return;
        }
        o->p = np;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = 0;
}

static void hy_write(hy_out *o, const char *s, size_t n)
{
    hy_raw(o, s, n);
    o->column += (int)n;
}

static void hy_line_break(hy_out *o)
{
    hy_raw(o, "\n", 1);
    o->whitespace = 1;
    o->indention = 1;
    o->column = 0;
}

static void hy_write_indent(hy_out *o)
{
    int indent = o->indent < 0 ? 0 : o->indent;
    if (!o->indention || o->column > indent || (o->column == indent && !o->whitespace))
        hy_line_break(o);
    if (o->column < indent) {
        o->whitespace = 1;
        while (o->column < indent)
            hy_write(o, " ", 1);
    }
}

static void hy_write_indicator(hy_out *o, const char *ind, int need_ws, int whitespace, int indention)
{
    if (!o->whitespace && need_ws)
        hy_write(o, " ", 1);
    hy_write(o, ind, strlen(ind));
    o->whitespace = whitespace;
    o->indention = o->indention && indention;
}

/* ---- scalar analysis (PyYAML's analyze_scalar, allow_unicode off) ---------- */

typedef struct hy_analysis {
    int empty, multiline;
    int allow_block_plain, allow_single;
} hy_analysis;

static int hy_is_ws(unsigned char c)
{
    return c == 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void hy_analyze(const char *s, size_t n, hy_analysis *a)
{
    memset(a, 0, sizeof *a);
    if (n == 0) {
        a->empty = 1;
        a->allow_block_plain = a->allow_single = 1;
        return;
    }
    int block_ind = 0, line_breaks = 0, special = 0;
    int lead_space = 0, lead_break = 0, trail_space = 0, trail_break = 0;
    int break_space = 0, space_break = 0;
    if (n >= 3 && (strncmp(s, "---", 3) == 0 || strncmp(s, "...", 3) == 0))
        block_ind = 1;
    int preceded_ws = 1;
    int followed_ws = n == 1 || hy_is_ws((unsigned char)s[1]);
    int prev_space = 0, prev_break = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (i == 0) {
            if (ch && strchr("#,[]{}&*!|>'\"%@`", ch))
                block_ind = 1;
            if ((ch == '?' || ch == ':') && followed_ws)
                block_ind = 1;
            if (ch == '-' && followed_ws)
                block_ind = 1;
        } else {
            if (ch == ':' && followed_ws)
                block_ind = 1;
            if (ch == '#' && preceded_ws)
                block_ind = 1;
        }
        if (ch == '\n')
            line_breaks = 1;
        if (!(ch == '\n' || (ch >= 0x20 && ch <= 0x7e)))
            special = 1; /* controls, tab, DEL, and all non-ASCII */
        if (ch == ' ') {
            lead_space |= i == 0;
            trail_space |= i == n - 1;
            break_space |= prev_break;
            prev_space = 1;
            prev_break = 0;
        } else if (ch == '\n') {
            lead_break |= i == 0;
            trail_break |= i == n - 1;
            space_break |= prev_space;
            prev_space = 0;
            prev_break = 1;
        } else {
            prev_space = prev_break = 0;
        }
        preceded_ws = hy_is_ws(ch);
        followed_ws = i + 2 >= n || hy_is_ws((unsigned char)s[i + 2]);
    }
    a->multiline = line_breaks;
    a->allow_block_plain = a->allow_single = 1;
    if (lead_space || lead_break || trail_space || trail_break)
        a->allow_block_plain = 0;
    if (break_space)
        a->allow_block_plain = a->allow_single = 0;
    if (space_break || special)
        a->allow_block_plain = a->allow_single = 0;
    if (line_breaks || block_ind)
        a->allow_block_plain = 0;
}

/* ---- implicit resolvers: would plain text read back as a string? --------- */

static const char *const hy_resolver_src[] = {
    /* bool */
    "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    /* float */
    "^([-+]?[0-9][0-9_]*\\.[0-9_]*([eE][-+][0-9]+)?"
    "|\\.[0-9][0-9_]*([eE][-+][0-9]+)?"
    "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*"
    "|[-+]?\\.(inf|Inf|INF)"
    "|\\.(nan|NaN|NAN))$",
    /* int */
    "^([-+]?0b[0-1_]+"
    "|[-+]?0[0-7_]+"
    "|[-+]?(0|[1-9][0-9_]*)"
    "|[-+]?0x[0-9a-fA-F_]+"
    "|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
    /* merge, null (the empty string is checked in code), value, yaml */
    "^(<<|~|null|Null|NULL|=|!|&|\\*)$",
    /* timestamp */
    "^([0-9]{4}-[0-9]{2}-[0-9]{2}"
    "|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]*)?"
    "([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)$",
};
#define HY_NRESOLVERS (sizeof hy_resolver_src / sizeof hy_resolver_src[0])

static regex_t hy_resolvers[HY_NRESOLVERS];
static int hy_resolvers_ok;
static pthread_once_t hy_resolvers_once = PTHREAD_ONCE_INIT;

static void hy_resolvers_init(void)
{
    for (size_t i = 0; i < HY_NRESOLVERS; i++)
        if (regcomp(&hy_resolvers[i], hy_resolver_src[i], REG_EXTENDED | REG_NOSUB) != 0)
            return; /* not expected; then every string is quoted (still correct) */
    hy_resolvers_ok = 1;
}

static int hy_plain_is_str(const char *s)
{
    if (!*s)
        return 0; /* null */
    pthread_once(&hy_resolvers_once, hy_resolvers_init);
    if (!hy_resolvers_ok)
        return 0;
    for (size_t i = 0; i < HY_NRESOLVERS; i++)
        if (regexec(&hy_resolvers[i], s, 0, NULL, 0) == 0)
            return 0;
    return 1;
}

/* ---- scalar writers (PyYAML's write_plain / _single_quoted / _double_quoted) */

static void hy_write_plain(hy_out *o, const char *t, size_t n, int split)
{
    if (n == 0)
        return;
    if (!o->whitespace)
        hy_write(o, " ", 1);
    o->whitespace = 0;
    o->indention = 0;
    int spaces = 0;
    size_t start = 0;
    for (size_t end = 0; end <= n; end++) {
        int ch = end < n ? (unsigned char)t[end] : -1;
        if (spaces) {
            if (ch != ' ') {
                if (start + 1 == end && o->column > HY_BEST_WIDTH && split) {
                    hy_write_indent(o); /* fold at this single space */
                    o->whitespace = 0;
                    o->indention = 0;
                } else {
                    hy_write(o, t + start, end - start);
                }
                start = end;
            }
        } else if (ch == -1 || ch == ' ') {
            hy_write(o, t + start, end - start);
            start = end;
        }
        spaces = ch == ' ';
    }
}

static void hy_write_single(hy_out *o, const char *t, size_t n, int split)
{
    hy_write_indicator(o, "'", 1, 0, 0);
    int spaces = 0, breaks = 0;
    size_t start = 0;
    for (size_t end = 0; end <= n; end++) {
        int ch = end < n ? (unsigned char)t[end] : -1;
        if (spaces) {
            if (ch != ' ') {
                if (start + 1 == end && o->column > HY_BEST_WIDTH && split && start != 0 && end != n)
                    hy_write_indent(o);
                else
                    hy_write(o, t + start, end - start);
                start = end;
            }
        } else if (breaks) {
            if (ch != '\n') { /* n line breaks are written as n + 1 */
                hy_line_break(o);
                for (size_t i = start; i < end; i++)
                    hy_line_break(o);
                hy_write_indent(o);
                start = end;
            }
        } else if (ch == -1 || ch == ' ' || ch == '\n' || ch == '\'') {
            if (start < end) {
                hy_write(o, t + start, end - start);
                start = end;
            }
        }
        if (ch == '\'') {
            hy_write(o, "''", 2);
            start = end + 1;
        }
        if (ch != -1) {
            spaces = ch == ' ';
            breaks = ch == '\n';
        }
    }
    hy_write_indicator(o, "'", 0, 0, 0);
}

/* UTF-8 to code points; a byte that is not valid UTF-8 stands for itself
 * (U+0080..U+00FF). Returns the count written to cp (room for n). */
static size_t hy_decode(const char *s, size_t n, uint32_t *cp)
{
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        uint32_t v = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
        int ok = len > 0 && i + (size_t)len <= n;
        for (int k = 1; ok && k < len; k++) {
            unsigned char d = (unsigned char)s[i + (size_t)k];
            ok = (d & 0xc0) == 0x80;
            v = (v << 6) | (d & 0x3f);
        }
        if (ok && len > 1) { /* no overlong forms, surrogates or > U+10FFFF */
            uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
            ok = v >= min && v <= 0x10ffff && !(v >= 0xd800 && v <= 0xdfff);
        }
        if (!ok) {
            cp[m++] = c;
            i++;
        } else {
            cp[m++] = v;
            i += (size_t)len;
        }
    }
    return m;
}

static const char *hy_escape(uint32_t ch)
{
    switch (ch) {
    case 0x00: return "0";
    case 0x07: return "a";
    case 0x08: return "b";
    case 0x09: return "t";
    case 0x0a: return "n";
    case 0x0b: return "v";
    case 0x0c: return "f";
    case 0x0d: return "r";
    case 0x1b: return "e";
    case '"': return "\"";
    case '\\': return "\\";
    case 0x85: return "N";
    case 0xa0: return "_";
    case 0x2028: return "L";
    case 0x2029: return "P";
    }
    return NULL;
}

static void hy_write_cps(hy_out *o, const uint32_t *cp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = (char)cp[i]; /* printable ASCII only reaches here */
        hy_write(o, &c, 1);
    }
}

static void hy_write_double(hy_out *o, const char *t, size_t n, int split)
{
    uint32_t *cp = malloc((n + 1) * sizeof *cp);
    if (!cp) {
        o->oom = 1;
        return;
    }
    long m = (long)hy_decode(t, n, cp);
    hy_write_indicator(o, "\"", 1, 0, 0);
    long start = 0;
    for (long end = 0; end <= m; end++) {
        long ch = end < m ? (long)cp[end] : -1;
        if (ch == -1 || ch == '"' || ch == '\\' || ch == 0x85 || ch == 0x2028 || ch == 0x2029 ||
            ch == 0xfeff || !(ch >= 0x20 && ch <= 0x7e)) {
            if (start < end) {
                hy_write_cps(o, cp + start, (size_t)(end - start));
                start = end;
            }
            if (ch != -1) {
                char buf[16];
                const char *e = hy_escape((uint32_t)ch);
                if (e)
                    snprintf(buf, sizeof buf, "\\%s", e);
                else if (ch <= 0xff)
                    snprintf(buf, sizeof buf, "\\x%02lX", ch);
                else if (ch <= 0xffff)
                    snprintf(buf, sizeof buf, "\\u%04lX", ch);
                else
                    snprintf(buf, sizeof buf, "\\U%08lX", ch);
                hy_write(o, buf, strlen(buf));
                start = end + 1;
            }
        }
        if (end > 0 && end < m - 1 && (ch == ' ' || start >= end) &&
            o->column + (end - start) > HY_BEST_WIDTH && split) {
            /* fold: "...\" newline indent, a leading space kept as "\ " */
            if (start < end) {
                hy_write_cps(o, cp + start, (size_t)(end - start));
                start = end;
            }
            hy_write(o, "\\", 1);
            hy_write_indent(o);
            o->whitespace = 0;
            o->indention = 0;
            if (cp[start] == ' ')
                hy_write(o, "\\", 1);
        }
    }
    hy_write_indicator(o, "\"", 0, 0, 0);
    free(cp);
}

/* A string scalar, in the style PyYAML would choose. */
static void hy_write_str(hy_out *o, const char *s, int simple_key)
{
    size_t n = strlen(s);
    hy_analysis a;
    hy_analyze(s, n, &a);
    int split = !simple_key;
    if (!(simple_key && (a.empty || a.multiline)) && a.allow_block_plain && hy_plain_is_str(s))
        hy_write_plain(o, s, n, split);
    else if (a.allow_single && !(simple_key && a.multiline))
        hy_write_single(o, s, n, split);
    else
        hy_write_double(o, s, n, split);
}

/* PyYAML's represent_float: repr, with ".0" before a bare exponent. */
static void hy_float_text(double v, char *buf)
{
    if (isnan(v)) {
        strcpy(buf, ".nan");
        return;
    }
    if (isinf(v)) {
        strcpy(buf, v > 0 ? ".inf" : "-.inf");
        return;
    }
    char r[LC_DOUBLE_BUFSZ];
    lc_format_double(v, r);
    char *e = strchr(r, 'e');
    if (e && !strchr(r, '.')) {
        size_t head = (size_t)(e - r);
        memcpy(buf, r, head);
        memcpy(buf + head, ".0", 2);
        strcpy(buf + head + 2, e);
    } else {
        strcpy(buf, r);
    }
}

/* A value scalar; scalars are written one indent step in (for folding). */
static void hy_write_value(hy_out *o, const lc_param_payload *p)
{
    char buf[64];
    int saved = o->indent;
    o->indent = o->indent < 0 ? 0 : o->indent + 2;
    switch (p->type) {
    case LC_PARAM_INT:
        snprintf(buf, sizeof buf, "%" PRId64, p->i);
        hy_write_plain(o, buf, strlen(buf), 1);
        break;
    case LC_PARAM_BOOL:
        strcpy(buf, p->i ? "true" : "false");
        hy_write_plain(o, buf, strlen(buf), 1);
        break;
    case LC_PARAM_DOUBLE:
        hy_float_text(p->d, buf);
        hy_write_plain(o, buf, strlen(buf), 1);
        break;
    default:
        hy_write_str(o, p->text ? p->text : "", 0);
        break;
    }
    o->indent = saved;
}

/* ---- the tree ------------------------------------------------------------------ */

typedef struct hy_node {
    char *name;
    const lc_param_payload *leaf; /* NULL: a mapping */
    struct hy_node *kids;
    size_t nkids, cap;
} hy_node;

static void hy_node_free(hy_node *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        hy_node_free(&n->kids[i]);
    free(n->kids);
    free(n->name);
}

/* The child of m named name[0..len), created when missing (NULL: no memory). */
static hy_node *hy_child(hy_node *m, const char *name, size_t len, const lc_param_payload *leaf)
{
    if (!leaf) {
        for (size_t i = 0; i < m->nkids; i++)
            if (!m->kids[i].leaf && strlen(m->kids[i].name) == len && memcmp(m->kids[i].name, name, len) == 0)
                return &m->kids[i];
    }
    if (m->nkids == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        hy_node *k = realloc(m->kids, cap * sizeof *k);
        if (!k)
            return NULL;
        m->kids = k;
        m->cap = cap;
    }
    hy_node *c = &m->kids[m->nkids];
    memset(c, 0, sizeof *c);
    if (!(c->name = strndup(name, len)))
        return NULL;
    c->leaf = leaf;
    m->nkids++;
    return c;
}

typedef struct hy_item {
    const lc_param_payload *p;
    size_t order;
} hy_item;

static int hy_item_cmp(const void *a, const void *b)
{
    const hy_item *x = a, *y = b;
    int c = strcmp(x->p->key, y->p->key);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int hy_key_cmp(const void *key, const void *item)
{
    return strcmp(key, ((const hy_item *)item)->p->key);
}

static int hy_node_cmp(const void *a, const void *b)
{
    return strcmp(((const hy_node *)a)->name, ((const hy_node *)b)->name);
}

/* Place one leaf: nested by its '/' parts, except below a prefix that is a
 * leaf itself (then the rest of the key stays flat at that level). */
static int hy_insert(hy_node *root, const hy_item *items, size_t n, const lc_param_payload *p)
{
    const char *key = p->key;
    size_t klen = strlen(key);
    char *prefix = malloc(klen + 1);
    if (!prefix)
        return -1;
    hy_node *m = root;
    size_t comp = 0; /* start of the current component */
    for (;;) {
        const char *slash = memchr(key + comp, '/', klen - comp);
        if (!slash)
            break;
        size_t end = (size_t)(slash - key);
        memcpy(prefix, key, end);
        prefix[end] = 0;
        if (bsearch(prefix, items, n, sizeof *items, hy_key_cmp))
            break; /* "a" is a value: "a/b" stays flat beside it */
        if (!(m = hy_child(m, key + comp, end - comp, NULL))) {
            free(prefix);
            return -1;
        }
        comp = end + 1;
    }
    free(prefix);
    return hy_child(m, key + comp, klen - comp, p) ? 0 : -1;
}

static void hy_emit_mapping(hy_out *o, hy_node *m)
{
    int saved = o->indent;
    o->indent = o->indent < 0 ? 0 : o->indent + 2;
    qsort(m->kids, m->nkids, sizeof *m->kids, hy_node_cmp);
    for (size_t i = 0; i < m->nkids; i++) {
        hy_node *k = &m->kids[i];
        hy_write_indent(o);
        size_t chars = 0;
        for (const char *c = k->name; *c; c++)
            chars += ((unsigned char)*c & 0xc0) != 0x80;
        int simple = *k->name && chars + 5 < HY_SIMPLE_KEY && !strchr(k->name, '\n');
        int ks = o->indent;
        o->indent = ks + 2; /* scalars are written one step in */
        if (simple) {
            hy_write_str(o, k->name, 1);
            o->indent = ks;
            hy_write_indicator(o, ":", 0, 0, 0);
        } else {
            o->indent = ks;
            hy_write_indicator(o, "?", 1, 0, 1);
            o->indent = ks + 2;
            hy_write_str(o, k->name, 0);
            o->indent = ks;
            hy_write_indent(o);
            hy_write_indicator(o, ":", 1, 0, 1);
        }
        if (k->leaf)
            hy_write_value(o, k->leaf);
        else
            hy_emit_mapping(o, k);
    }
    o->indent = saved;
}

int lc_hparams_yaml_render(const lc_param_payload *const *params, size_t n, char **out,
                           size_t *len, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (!params || !params[i] || !params[i]->key) {
            snprintf(err, errlen, "hparams.yaml: parameter %zu has no key", i);
            return -1;
        }
    }
    hy_out o = {.whitespace = 1, .indention = 1, .indent = -1};
    if (n == 0) {
        hy_raw(&o, "{}\n", 3);
        goto done;
    }
    /* sort by key; of equal keys keep the last logged */
    hy_item *items = malloc(n * sizeof *items);
    if (!items)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        items[i] = (hy_item){params[i], i};
    qsort(items, n, sizeof *items, hy_item_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u > 0 && strcmp(items[u - 1].p->key, items[i].p->key) == 0)
            items[u - 1] = items[i];
        else
            items[u++] = items[i];
    }
    hy_node root = {0};
    int rc = 0;
    for (size_t i = 0; i < u && rc == 0; i++)
        rc = hy_insert(&root, items, u, items[i].p);
    if (rc == 0) {
        hy_emit_mapping(&o, &root);
        hy_write_indent(&o); /* document end: the last line break */
    }
    hy_node_free(&root);
    free(items);
    if (rc != 0)
        goto nomem;
done:
    if (o.oom)
        goto nomem;
    *out = o.p;
    *len = o.len;
    return 0;
nomem:
    free(o.p);
    snprintf(err, errlen, "hparams.yaml: out of memory");
    return -1;
}

/* ---- the file ------------------------------------------------------------------- */

int lc_hparams_yaml_write(const char *dir, const lc_param_payload *const *params, size_t n,
                          char *err, size_t errlen)
{
    char *text = NULL, *path = NULL, *tmp = NULL;
    size_t len = 0;
    int fd = -1, rc = -1;
    if (!dir || !*dir) {
        snprintf(err, errlen, "hparams.yaml: no run directory");
        return -1;
    }
    if (lc_hparams_yaml_render(params, n, &text, &len, err, errlen) != 0)
        return -1;
    if (asprintf(&path, "%s/hparams.yaml", dir) < 0 || asprintf(&tmp, "%s/hparams.yaml.tmp", dir) < 0) {
        snprintf(err, errlen, "hparams.yaml: out of memory");
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        goto done;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(w < 0 ? errno : ENOSPC));
            goto fail_tmp;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        goto fail_tmp;
    }
    int cr = close(fd);
    fd = -1;
    if (cr != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        goto fail_tmp;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot replace %s: %s", path, strerror(errno));
        goto fail_tmp;
    }
    rc = 0;
    goto done;
fail_tmp:
    if (fd >= 0)
        close(fd);
    fd = -1;
    unlink(tmp);
done:
    free(text);
    free(path);
    free(tmp);
    return rc;
}

/* ---- the param set ---------------------------------------------------------------- */

static lc_param_payload *hy_param_copy(const lc_param_payload *p)
{
    const char *orig = p->original ? p->original : p->key;
    const char *text = p->text ? p->text : "";
    size_t kl = strlen(p->key) + 1, ol = strlen(orig) + 1, tl = strlen(text) + 1;
    lc_param_payload *c = malloc(sizeof *c + kl + ol + tl);
    if (!c)
        return NULL;
    *c = *p;
    c->key = (char *)(c + 1);
    c->original = c->key + kl;
    c->text = c->original + ol;
    memcpy(c->key, p->key, kl);
    memcpy(c->original, orig, ol);
    memcpy(c->text, text, tl);
    return c;
}

static int hy_param_same(const lc_param_payload *a, const lc_param_payload *b)
{
    return a->type == b->type && a->i == b->i &&
           (a->d == b->d || (isnan(a->d) && isnan(b->d))) && strcmp(a->text, b->text) == 0;
}

int lc_hparams_set(lc_hparams *h, const lc_param_payload *p)
{
    if (!p || !p->key)
        return 0;
    size_t i = 0;
    while (i < h->n && strcmp(h->items[i]->key, p->key) != 0)
        i++;
    if (i < h->n && hy_param_same(h->items[i], p))
        return 0; /* the same again (a retried batch): nothing to rewrite */
    lc_param_payload *c = hy_param_copy(p);
    if (!c)
        return -1;
    if (i == h->n) {
        if (h->n == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 16;
            lc_param_payload **items = realloc(h->items, cap * sizeof *items);
            if (!items) {
                free(c);
                return -1;
            }
            h->items = items;
            h->cap = cap;
        }
        h->items[h->n++] = c;
    } else {
        free(h->items[i]);
        h->items[i] = c;
    }
    h->dirty = 1;
    return 0;
}

int lc_hparams_save(lc_hparams *h, const char *dir, char *err, size_t errlen)
{
    if (!h->dirty)
        return 0;
    if (lc_hparams_yaml_write(dir, (const lc_param_payload *const *)h->items, h->n, err, errlen) != 0)
        return -1;
    h->dirty = 0;
    return 0;
}

void lc_hparams_free(lc_hparams *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->items[i]);
    free(h->items);
    memset(h, 0, sizeof *h);
}
