/* -Q: a qcow2 image, written front to back (a pipe will do). */
#ifndef E2I_QCOW2_JOB_H
#define E2I_QCOW2_JOB_H

#include <signal.h>
#include "options.h"

/* Returns the exit status. */
int run_qcow2(const struct options *o, volatile sig_atomic_t *stop);

#endif
