/*
 * common/fs.h — file-system helpers shared by the hub, its sinks and the
 * trainer, so every directory lightc makes is made one way.
 */
#ifndef LC_COMMON_FS_H
#define LC_COMMON_FS_H

#include <stddef.h>

/* The mode of every directory lightc creates (the umask still applies). */
#define LC_DIR_MODE 0755

/* mkdir -p: create path and its missing parents with LC_DIR_MODE. Returns 0
 * when path is (now) a directory, or -1 with errno set (ENOTDIR when a
 * component is a file, ENAMETOOLONG when the path does not fit PATH_MAX). */
int lc_make_dirs(const char *path);

/* lc_make_dirs of path's parent directory ("a/b/c.ckpt" -> "a/b"). */
int lc_make_parent_dirs(const char *path);

#endif
