/* -r: a raw image, the same offsets as the source. */
#ifndef E2I_RAW_JOB_H
#define E2I_RAW_JOB_H

#include "stop.h"
#include "options.h"

/* Returns the exit status. */
int run_raw(const struct options *o, e2i_stop *stop);

#endif
