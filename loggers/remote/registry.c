/*
 * loggers/remote/registry.c — remote backends by name (registry.h).
 */
#include "registry.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    lc_remote_ctor ctor;
} builtin[] = {
    {"mlflow", lc_remote_mlflow_new},
    {"wandb", lc_remote_wandb_new},
    {"wandb-offline", lc_remote_wandb_offline_new},
};

static struct {
    char name[32];
    lc_remote_ctor ctor;
} extra[4];
static pthread_mutex_t extra_mu = PTHREAD_MUTEX_INITIALIZER;

int lc_remote_register(const char *name, lc_remote_ctor ctor)
{
    int rc = -1;
    if (!name || strlen(name) >= sizeof extra[0].name)
        return -1;
    pthread_mutex_lock(&extra_mu);
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        if (!extra[i].ctor || strcmp(extra[i].name, name) == 0) {
            snprintf(extra[i].name, sizeof extra[i].name, "%s", name);
            extra[i].ctor = ctor;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&extra_mu);
    return rc;
}

lc_remote_ctor lc_remote_find(const char *name)
{
    lc_remote_ctor c = NULL;
    if (!name)
        return NULL;
    pthread_mutex_lock(&extra_mu);
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (extra[i].ctor && strcmp(extra[i].name, name) == 0)
            c = extra[i].ctor;
    pthread_mutex_unlock(&extra_mu);
    for (size_t i = 0; !c && i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcmp(builtin[i].name, name) == 0)
            c = builtin[i].ctor;
    return c;
}

const char *lc_remote_builtin_names(void)
{
    return "mlflow,wandb";
}
