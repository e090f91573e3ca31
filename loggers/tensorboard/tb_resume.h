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
 *
 * For the hub's resume repair (sink.h), lc_tb_resume_points reads which
 * scalar points a reader of the run directory sees: the files in name
 * order, each SessionLog START dropping the points read before it at its
 * step or later, as TensorBoard's EventAccumulator does. The sink then
 * writes the points of the index that are not among them.
 */
#ifndef LC_TB_RESUME_H
#define LC_TB_RESUME_H

#include <stddef.h>
#include <stdint.h>

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

/** The scalar points (tag, step) with step <= max_step a reader sees in a
 *  run directory. Fields are private to tb_resume.c. */
typedef struct lc_tb_point_set {
    char **tags;              /* distinct tags */
    uint32_t ntags, tags_cap;
    uint32_t *slots;          /* hash of tags: index + 1, 0 = empty */
    uint32_t nslots;
    struct lc_tb_point { uint32_t tag; int64_t step; } *pts; /* sorted at the end */
    size_t n, cap;
} lc_tb_point_set;

/** Fill set (zero-initialised by the caller) from dir's events files.
 *  0, or -1 with a message in err. */
int lc_tb_resume_points(const char *dir, int64_t max_step, lc_tb_point_set *set, char *err,
                        size_t errlen);

/** 1 if the set holds (tag, step). */
int lc_tb_point_set_has(const lc_tb_point_set *set, const char *tag, int64_t step);

void lc_tb_point_set_free(lc_tb_point_set *set);

#endif /* LC_TB_RESUME_H */
