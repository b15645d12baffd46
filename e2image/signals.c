/*
 * The one piece of process-wide state: a signal handler can reach nothing
 * else. It only sets flags; the copy engine acts on them.
 */
#include <string.h>
#include <unistd.h>
#include "nls.h"
#include "signals.h"

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t warn_first;

static void on_signal(int sig)
{
	static const char warn[] =
		"\nStopping now will destroy the filesystem, interrupt again if you are sure\n";

	(void)sig;
	if (warn_first) {
		warn_first = 0;
		(void)!write(STDERR_FILENO, warn, sizeof(warn) - 1);
		return;
	}
	stop_flag = 1;
}

volatile sig_atomic_t *signals_install(int move)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	warn_first = move;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed pipe is reported as EPIPE with the file's name instead. */
	signal(SIGPIPE, SIG_IGN);
	/* Likewise a file-size limit: EFBIG, not death with a temporary file left. */
	signal(SIGXFSZ, SIG_IGN);
	return &stop_flag;
}
