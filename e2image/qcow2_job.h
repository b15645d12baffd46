/* -Q: a qcow2 image, written front to back (a pipe will do). */
#ifndef E2I_QCOW2_JOB_H
#define E2I_QCOW2_JOB_H

#include "stop.h"
#include "options.h"

/* Returns the exit status. */
int run_qcow2(const struct options *o, e2i_stop *stop);

#endif
