/*
 * flags.h - mcu-load's command line: fills a struct load_cfg (load.h) from argv, with the
 * defaults of `mcu-load --help`. Main thread, once at start.
 */
#ifndef LOAD_FLAGS_H
#define LOAD_FLAGS_H

#include "load.h"

/* 0, 1 after --help (usage printed), or -EINVAL (a message printed). Sets the log level. */
int load_parse_args(struct load_cfg *c, int argc, char **argv);

#endif
