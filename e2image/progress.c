#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "nls.h"
#include "progress.h"

#define PERIOD 1.0          /* seconds between two statuses, at least */
#define HEARTBEAT 60.0      /* off a terminal: a line at least this often */
#define ESTIMATE_AFTER 5.0  /* seconds before an estimate, as e2fsprogs */

/* The coarse clock: a read costs a few nanoseconds (no system call), and
 * its resolution (a few ms) is plenty for whole seconds. */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Rounded down: 100% means done. */
static int percent(uint64_t done, uint64_t total)
{
	if (!total)
		return 100;
	return (int)(100.0 * ((double)done / (double)total));
}

/* HH:MM:SS, hours not wrapped at a day (e2fsprogs' %T is). */
static void hms(char *buf, size_t len, double secs)
{
	unsigned long long s = secs > 0 ? (unsigned long long)secs : 0;

	snprintf(buf, len, "%02llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
}

/* MB/s as e2fsprogs counts them (2^20 bytes), with a point whatever the
 * locale: its e2image never takes LC_NUMERIC from the environment. */
static void mbps(char *buf, size_t len, uint64_t blocks, unsigned bs,
		 double secs)
{
	unsigned long long c = (unsigned long long)
		((double)blocks * bs / (1024.0 * 1024.0) / secs * 100.0 + 0.5);

	snprintf(buf, len, "%llu.%02llu", c / 100, c % 100);
}

/* Appends to line (*n bytes so far, size in all); what does not fit is
 * left out whole. */
static void append(char *line, size_t size, int *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *line, size_t size, int *n, const char *fmt, ...)
{
	va_list ap;
	int m;

	va_start(ap, fmt);
	m = vsnprintf(line + *n, size - (size_t)*n, fmt, ap);
	va_end(ap);
	if (m >= 0 && (size_t)m < size - (size_t)*n)
		*n += m;
	else
		line[*n] = 0;
}

void progress_init(struct progress *p, int enabled)
{
	p->enabled = enabled;
	p->tty = enabled && isatty(STDERR_FILENO);
}

void progress_break(struct progress *p)
{
	if (!p->enabled || !p->open)
		return;
	fputc('\n', stderr);
	p->open = 0;
	p->width = 0;
}

void progress_phase(struct progress *p, const char *text)
{
	if (!p->enabled)
		return;
	progress_break(p);
	fprintf(stderr, "%s\n", text);
}

void progress_note(struct progress *p, const char *text)
{
	if (!p->enabled || !text)
		return;
	progress_break(p);
	fputs(text, stderr);
}

/* Writes line (n bytes) as the current status or, final, as the last
 * line; in one write, so that a reader never sees half a status. */
static void put(struct progress *p, const char *line, int n, int final)
{
	if (p->tty) {
		int pad = p->width > n ? p->width - n : 0;

		fprintf(stderr, "\r%s%*s%s", line, pad, "", final ? "\n" : "");
		if (n > p->width)
			p->width = n;
	} else {
		fprintf(stderr, "%s%s%s", p->open ? "\n" : "", line,
			final ? "\n" : "");
	}
	p->open = !final;
	if (final)
		p->width = 0;
}

static void show(struct progress *p, uint64_t done, double t)
{
	double secs = t - p->start;
	char line[256], eta[32], rate[32];
	int n = 0;

	p->last_pct = percent(done, p->total);
	p->last_line = t;
	append(line, sizeof(line), &n,
	       p->checking ? _("Checking %llu / %llu blocks (%d%%)")
			   : _("Copying %llu / %llu blocks (%d%%)"),
	       (unsigned long long)done, (unsigned long long)p->total,
	       p->last_pct);
	if (secs > ESTIMATE_AFTER && done > p->base && done < p->total) {
		hms(eta, sizeof(eta),
		    secs * (double)(p->total - done) / (double)(done - p->base));
		mbps(rate, sizeof(rate), done - p->base, p->blocksize, secs);
		append(line, sizeof(line), &n, _(" %s remaining at %s MB/s"),
		       eta, rate);
	}
	put(p, line, n, 0);
}

void progress_start_from(struct progress *p, uint64_t done, uint64_t total,
			 unsigned blocksize)
{
	if (!p->enabled)
		return;
	progress_break(p);
	p->total = total;
	p->base = done;
	p->blocksize = blocksize;
	p->start = now();
	p->due = p->start + PERIOD;
	show(p, done, p->start);
}

void progress_start(struct progress *p, uint64_t total, unsigned blocksize)
{
	progress_start_from(p, 0, total, blocksize);
}

void progress_update(void *arg, uint64_t done)
{
	struct progress *p = arg;
	double t;

	if (!p->enabled)
		return;
	t = now();
	if (t < p->due)
		return;
	p->due = t + PERIOD;
	/* a log gets a line when there is news, or to say it is alive */
	if (!p->tty && percent(done, p->total) == p->last_pct &&
	    t < p->last_line + HEARTBEAT)
		return;
	show(p, done, t);
}

void progress_done(struct progress *p, uint64_t done)
{
	char line[256], took[32], rate[32];
	double secs;
	int n = 0;

	if (!p->enabled)
		return;
	secs = now() - p->start;
	hms(took, sizeof(took), secs);
	append(line, sizeof(line), &n,
	       p->checking ? _("Checked %llu / %llu blocks (%d%%) in %s")
			   : _("Copied %llu / %llu blocks (%d%%) in %s"),
	       (unsigned long long)done, (unsigned long long)p->total,
	       percent(done, p->total), took);
	if (secs >= 1.0) {  /* a rate over less than a second says little */
		mbps(rate, sizeof(rate), done - p->base, p->blocksize, secs);
		append(line, sizeof(line), &n, _(" at %s MB/s"), rate);
	}
	put(p, line, n, 1);
}
