/*
 * The one piece of process-wide state: a signal handler can reach nothing
 * else. It only records the signal; the jobs act on it.
 *
 * Handlers are installed without SA_RESTART, so a signal ends a blocked
 * read or write with EINTR and the loops around them see the flag. A
 * signal that lands just before a blocking call starts, or a library that
 * retries an interrupted read another way, would be missed, so once
 * stopping, a timer interrupts whatever is blocked again five times a
 * second until the job has let go.
 */
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include "nls.h"
#include "signals.h"

#define NUDGE_USEC 200000

static volatile sig_atomic_t stop_sig;
static volatile sig_atomic_t warn_first;
/* The warning, translated before any handler can run: a handler may not
 * call gettext. */
static const char *warn_text;
static size_t warn_len;

static void on_alarm(int sig)
{
	(void)sig; /* only there to interrupt a blocked call */
}

static void nudge(long usec)
{
	struct itimerval it = { { 0, usec }, { 0, usec } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void on_signal(int sig)
{
	if (warn_first) {
		warn_first = 0;
		(void)!write(STDERR_FILENO, warn_text, warn_len);
		return;
	}
	if (!stop_sig) {
		stop_sig = sig;
		nudge(NUDGE_USEC);
	}
}

static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocked calls must return */
	sigaction(sig, &sa, NULL);
}

volatile sig_atomic_t *signals_install(int move)
{
	warn_text = _("\nStopping now will destroy the filesystem, interrupt again if you are sure\n");
	warn_len = strlen(warn_text);
	warn_first = move;
	handle(SIGINT, on_signal);
	handle(SIGTERM, on_signal);
	handle(SIGHUP, on_signal);
	handle(SIGALRM, on_alarm);
	/* A closed pipe is reported as EPIPE with the file's name instead. */
	signal(SIGPIPE, SIG_IGN);
	/* Likewise a file-size limit: EFBIG, not death with a temporary file left. */
	signal(SIGXFSZ, SIG_IGN);
	return &stop_sig;
}

void signals_warn_first(void)
{
	if (!stop_sig)
		warn_first = 1;
}

void signals_die(int sig)
{
	nudge(0);
	signal(sig, SIG_DFL);
	raise(sig);
}
