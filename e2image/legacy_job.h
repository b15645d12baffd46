/* Neither -r nor -Q: the legacy e2image format (debugfs -i, dumpe2fs -i). */
#ifndef E2I_LEGACY_JOB_H
#define E2I_LEGACY_JOB_H

#include "stop.h"
#include "options.h"

/* Returns the exit status. */
int run_legacy(const struct options *o, e2i_stop *stop);

#endif
