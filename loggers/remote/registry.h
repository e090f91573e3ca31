/*
 * loggers/remote/registry.h — remote backends by their --loggers word:
 * the built-in constructors (remote.h) and any registered at run time
 * (tests register an in-process recording backend; an embedder may add
 * its own). Used by the hub (bus/sinks.c) and by `lightc sync`.
 */
#ifndef LC_REMOTE_REGISTRY_H
#define LC_REMOTE_REGISTRY_H

#include "remote/remote.h"

typedef lc_status (*lc_remote_ctor)(lc_remote *out);

/* Register ctor under name (at most 31 bytes), before the hub or sync
 * that should use it starts; it takes precedence over a built-in backend
 * of that name. Returns 0, or -1 when the table (4 entries) is full. */
int lc_remote_register(const char *name, lc_remote_ctor ctor);

/* The constructor for name, or NULL when there is none. */
lc_remote_ctor lc_remote_find(const char *name);

/* The built-in backends' names users pick in --loggers, comma-separated
 * ("mlflow,wandb"; "wandb-offline" is found too, for `lightc sync`). */
const char *lc_remote_builtin_names(void);

#endif /* LC_REMOTE_REGISTRY_H */
