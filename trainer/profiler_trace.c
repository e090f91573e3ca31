/*
 * trainer/profiler_trace.c — the trace profiler's file: Chrome's
 * trace-event format (the JSON object form), which Perfetto and
 * chrome://tracing open.
 *
 *   {"traceEvents":[
 *     {"name":"thread_name","ph":"M","pid":1,"tid":0,"args":{"name":"trainer"}},
 *     {"name":"run_training_batch","cat":"action","ph":"X","ts":12.345,
 *      "dur":678.901,"pid":1,"tid":0}, ...],
 *    "displayTimeUnit":"ms","otherData":{"producer":"lightc","dropped_events":0}}
 *
 * ts and dur are microseconds (3 decimals: the nanoseconds recorded) from
 * the profiler's creation. Spans of one thread nest because they come from
 * one stack on one monotonic clock. The file is streamed (a trace holds up
 * to a million events), so strings are escaped here by JSON's rules.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "profiler.h"

/* A JSON string literal of s: quotes, backslashes and control characters
 * escaped; other bytes (UTF-8) as they are. */
static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*c < 0x20)
                fprintf(f, "\\u%04x", *c);
            else
                fputc(*c, f);
        }
    }
    fputc('"', f);
}

/* ns as microseconds with 3 decimals, exactly (no float rounding). */
static void put_us(FILE *f, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    fprintf(f, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
}

lc_status lc_prof_write_trace(lc_prof *p, const char *path)
{
    if (!p || !path)
        return LC_OK;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return lc_fail(LC_ERR_IO, "profiler: cannot write %s: %s", tmp, strerror(errno));
    lc_prof_snapshot s;
    lc_prof_lock(p, &s);
    fputs("{\"traceEvents\":[\n", f);
    fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,"
          "\"args\":{\"name\":\"lightc\"}}",
          f);
    for (size_t i = 0; i < s.nthreads; i++) {
        char unnamed[32];
        snprintf(unnamed, sizeof unnamed, "thread-%zu", i);
        fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%zu,\"args\":{\"name\":",
                i);
        put_json_string(f, s.threads[i] ? s.threads[i] : unnamed);
        fputs("}}", f);
    }
    for (size_t i = 0; i < s.nevents; i++) {
        const lc_prof_event *e = &s.events[i];
        fputs(",\n{\"name\":", f);
        put_json_string(f, e->name < s.nnames ? s.names[e->name] : "?");
        int func = e->name < s.nnames && s.kinds[e->name] == LC_PROF_FUNC;
        fprintf(f, ",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":", func ? "function" : "action");
        put_us(f, e->ts_ns);
        fputs(",\"dur\":", f);
        put_us(f, e->dur_ns);
        fprintf(f, ",\"pid\":1,\"tid\":%u}", e->tid);
    }
    fprintf(f, "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":\"lightc\","
               "\"dropped_events\":%llu}}\n",
            (unsigned long long)s.dropped);
    lc_prof_unlock(p);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return lc_fail(LC_ERR_IO, "profiler: cannot write %s", tmp);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return lc_fail(LC_ERR_IO, "profiler: cannot rename %s to %s: %s", tmp, path,
                       strerror(errno));
    }
    return LC_OK;
}
