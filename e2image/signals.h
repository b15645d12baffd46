/* SIGINT, SIGTERM and SIGHUP stop the job, so the output is cleaned up. */
#ifndef E2I_SIGNALS_H
#define E2I_SIGNALS_H

#include <signal.h>

/* Returns the flag the jobs poll: 0, or the number of the signal that asked
 * them to stop. In a move, the first signal only warns: stopping halfway
 * destroys the filesystem. */
volatile sig_atomic_t *signals_install(int move);
/* After the cleanup: ends the process by the signal that stopped it, so its
 * parent sees what a shell reports as 128 + sig. */
void signals_die(int sig);
/* From now on the first signal only warns (an install has begun writing). */
void signals_warn_first(void);

#endif
