/*
 * --verify IMAGE [--manifest FILE] [--source DEV]: is the image what its
 * manifest says (its digest), whole (the metadata it names is there), and,
 * with --source, still the source's? Exit 0 complete, 2 complete with the
 * problems the capture recorded, 1 incomplete or altered.
 */
#ifndef E2I_VERIFY_H
#define E2I_VERIFY_H

#include "options.h"
#include "stop.h"

int run_verify(const struct options *o, e2i_stop *stop);

#endif
