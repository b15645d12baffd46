/* SIGINT/SIGTERM stop the copy between chunks, so the output is cleaned up. */
#ifndef E2I_SIGNALS_H
#define E2I_SIGNALS_H

#include <signal.h>

/* Returns the flag the copy engine polls. In a move, the first signal only
 * warns: stopping halfway destroys the filesystem. */
volatile sig_atomic_t *signals_install(int move);

#endif
