/* cli/main.c — placeholder entry point; replaced by the CLI implementation. */
#include <stdio.h>
#include "lightc/hub.h"
int main(void) { printf("lightc %s\n", lc_version()); return 0; }
