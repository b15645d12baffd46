/* -I: an image's metadata written back onto its filesystem. */
#ifndef E2I_INSTALL_JOB_H
#define E2I_INSTALL_JOB_H

#include "stop.h"
#include "options.h"

/* Returns the exit status. */
int run_install(const struct options *o, e2i_stop *stop);

#endif
