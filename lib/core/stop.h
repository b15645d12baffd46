/*
 * A stop request: the number of the signal that asked the job to stop (set
 * by the command's handler), or 0. Every loop that can run long or block
 * polls it; a blocked call ends with EINTR, and a loop that sees EINTR with
 * a stop request gives up instead of retrying.
 */
#ifndef E2I_STOP_H
#define E2I_STOP_H

#include <signal.h>

typedef const volatile sig_atomic_t e2i_stop;

/* NULL never stops. */
static inline int stopped(e2i_stop *s)
{
	return s && *s;
}

#endif
