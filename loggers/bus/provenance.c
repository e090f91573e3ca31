/*
 * loggers/bus/provenance.c — what is recorded with every run about where it
 * ran: host, pid, process start time, boot id (for crash detection), argv,
 * working directory, and the git commit and dirty flag when started inside
 * a git work tree. Secrets in argv are redacted (redact.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub_internal.h"
#include "redact.h"
#include "common/proc.h"

/* The command line, space-joined, with the values of secret-looking
 * arguments and URL passwords replaced by "***" (redact.h): argv is kept
 * for provenance, and `--api-key sk-...` must not reach any backend. */
static char *read_cmdline(void)
{
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (!f)
        return strdup("");
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 && buf[n - 1] == 0)
        n--;
    buf[n] = 0;
    return lc_redact_cmdline(buf, n);
}

/* Run a git command in the current directory; first output line or "". */
static int git_line(const char *args, char *out, size_t n)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "git %s 2>/dev/null", args);
    out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int any = 0;
    if (fgets(out, (int)n, p)) {
        out[strcspn(out, "\n")] = 0;
        any = 1;
    }
    char sink[256];
    while (fgets(sink, sizeof sink, p))
        any = 1;
    int rc = pclose(p);
    return rc == 0 ? any : -1;
}

void lc_provenance_collect(lc_provenance *p)
{
    memset(p, 0, sizeof *p);
    if (gethostname(p->host, sizeof p->host - 1) != 0)
        snprintf(p->host, sizeof p->host, "unknown");
    lc_boot_id(p->boot_id, sizeof p->boot_id);
    p->pid = getpid();
    p->proc_start = lc_proc_start(p->pid);
    p->argv = read_cmdline();
    if (!getcwd(p->cwd, sizeof p->cwd))
        p->cwd[0] = 0;
    p->git_dirty = -1;
    if (getenv("LIGHTC_NO_GIT"))
        return;
    if (git_line("rev-parse HEAD", p->git_commit, sizeof p->git_commit) == 1) {
        char line[256];
        int r = git_line("status --porcelain --untracked-files=no", line, sizeof line);
        p->git_dirty = r < 0 ? -1 : r;
    } else {
        p->git_commit[0] = 0;
    }
}

void lc_provenance_free(lc_provenance *p)
{
    free(p->argv);
    p->argv = NULL;
}
