/* -ra with one path and an offset: the crash-safe in-place move. */
#ifndef E2I_MOVE_JOB_H
#define E2I_MOVE_JOB_H

#include "stop.h"
#include "options.h"

/* Returns the exit status. */
int run_move(const struct options *o, e2i_stop *stop);

#endif
