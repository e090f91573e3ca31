/*
 * cli/train.c — the `lightc train` slot. Placeholder until the trainer
 * lands: the trainer engineer replaces this file with the real verb.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

int lc_cli_train(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: lightc train [options]\n\nlightc train: the trainer is not built yet\n");
            return 0;
        }
    }
    fprintf(stderr, "lightc train: the trainer is not built yet\n");
    return 2;
}
