/*
 * loggers/tensorboard/tb_resume.h — preparing a run directory for a resumed run.
 *
 * The HParams plugin reads only the FIRST session_start_info and the FIRST
 * session_end_info of a run (metadata counts on the first value of a tag),
 * so a run that resumes after it was killed would show its old status and
 * hyperparameters forever. Before the resumed run's new events file is
 * created, this scans the run's older events files: it collects the
 * hyperparameters they recorded (the resumed run starts from them and its
 * own params override them) and rewrites each file that holds hparams
 * session records without those records (write to a temporary file,
 * fsync, rename). Every other record is kept byte for byte; an incomplete
 * last record (the old process died mid-write) is dropped in a file that
 * is rewritten anyway.
 *
 * A TensorBoard server that already read the old file keeps what it read
 * until it is restarted.
 */
#ifndef LC_TB_RESUME_H
#define LC_TB_RESUME_H

#include <stddef.h>

#include "tb_hparams.h"

typedef struct lc_tb_resume_info {
    char last_name[256]; /* largest events file name in the directory, "" if none */
    int files;           /* events files found */
    int rewritten;       /* files rewritten without hparams session records */
} lc_tb_resume_info;

/** Scan dir's events files (basename contains "tfevents"), merging their
 *  session_start_info hparams into inherit and dropping their hparams
 *  session records. 0, or -1 with a message in err. */
int lc_tb_resume_scan(const char *dir, lc_tb_params *inherit, lc_tb_resume_info *out, char *err,
                      size_t errlen);

#endif /* LC_TB_RESUME_H */
