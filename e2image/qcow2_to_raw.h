/* -r with a qcow2 input: convert it to a raw image, as e2fsprogs' e2image does. */
#ifndef E2I_QCOW2_TO_RAW_H
#define E2I_QCOW2_TO_RAW_H

#include "stop.h"
#include "options.h"

/* True when the first bytes of path are the qcow2 magic; false when they
 * are not, or the path cannot be read (run_raw then reports it). */
int input_is_qcow2(const char *path);

/* Returns the exit status. */
int run_qcow2_to_raw(const struct options *o, e2i_stop *stop);

#endif
