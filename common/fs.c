/*
 * common/fs.c — mkdir -p, one way for the whole library.
 */
#include "fs.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

/* path into buf (PATH_MAX bytes): 0, or -1 with errno for an empty or
 * too long path. */
static int fs_copy_path(char *buf, const char *path)
{
    size_t n = path ? strlen(path) : 0;
    if (n == 0 || n >= PATH_MAX) {
        errno = n ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(buf, path, n + 1);
    return 0;
}

int lc_make_dirs(const char *path)
{
    char tmp[PATH_MAX];
    if (fs_copy_path(tmp, path) != 0)
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, LC_DIR_MODE) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, LC_DIR_MODE) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(tmp, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int lc_make_parent_dirs(const char *path)
{
    char dir[PATH_MAX];
    if (fs_copy_path(dir, path) != 0)
        return -1;
    char *slash = strrchr(dir, '/');
    if (!slash)
        return 0; /* relative name in the current directory */
    if (slash == dir)
        return 0; /* "/x": the root exists */
    *slash = 0;
    return lc_make_dirs(dir);
}
