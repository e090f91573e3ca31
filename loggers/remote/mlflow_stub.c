/*
 * loggers/remote/mlflow_stub.c — TEMPORARY stand-in for the MLflow backend
 * until loggers/remote/mlflow/ lands (issue 8). DELETE THIS FILE ON MERGE
 * with the real backend.
 *
 * A weak definition of lc_remote_mlflow_new (remote.h), so a build with
 * the real backend's strong definition links that one instead; alone, it
 * says the backend is not built, and `--loggers mlflow` fails at hub open
 * with that message.
 */
#include "common/status.h"
#include "remote/remote.h"

__attribute__((weak)) lc_status lc_remote_mlflow_new(lc_remote *out)
{
    (void)out;
    return lc_fail(LC_ERR_UNSUPPORTED, "mlflow backend not built");
}
