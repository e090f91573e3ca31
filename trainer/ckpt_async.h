/*
 * trainer/ckpt_async.h — checkpoint files written on a background thread.
 *
 * At a checkpoint boundary the training thread takes a snapshot (the whole
 * file, built in memory: a few ms for a few MB) and hands it to one writer
 * thread, which writes it atomically to every requested path (temp file,
 * fsync, rename). Training goes on meanwhile; the fsync wait no longer
 * stalls it. A checkpoint is a promise that every event up to its step is
 * in every sink: before the first file is written, the writer thread waits
 * for the histograms of the boundary (their helper thread) and flushes the
 * hub (every sink takes and syncs what was logged so far). The job is finished ("joined") before the next snapshot, at
 * the end of fit and when the trainer is freed: then each written file is
 * logged as an artifact and the callbacks' on_checkpoint_saved run (so
 * ModelCheckpoint deletes superseded files only once the new one is
 * durable), and a write error fails the loop with its message.
 */
#ifndef LC_TRAINER_CKPT_ASYNC_H
#define LC_TRAINER_CKPT_ASYNC_H

#include "ckpt_file.h"
#include "lightc/trainer.h"

typedef struct lc_ckpt_job lc_ckpt_job;
struct lc_hist_job;

/** Finish the buffer w (header and CRCs, on the writer thread), flush hub
 *  (may be NULL) after joining hist (histograms in flight, may be NULL),
 *  and write the buffer to the n paths. Ownership of w's buffer, the array
 *  and its strings, and of hist moves to the job. */
lc_status lc_ckpt_job_start(lc_ckpt_job **out, lc_ckpt_writer *w, char **paths, size_t n,
                            lc_hub *hub, struct lc_hist_job *hist);

/** Wait for the job; then for each path written log it as an artifact and
 *  call the callbacks' on_checkpoint_saved. Frees the job; its buffer goes
 *  to *spare for the next checkpoint when spare is empty. NULL is fine. */
lc_status lc_ckpt_job_finish(lc_ckpt_job *job, lc_trainer *t, lc_ckpt_writer *spare);

/** 1 if path is being written by the job. */
int lc_ckpt_job_has(const lc_ckpt_job *job, const char *path);

#endif
