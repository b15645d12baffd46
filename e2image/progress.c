#include <stdio.h>
#include "nls.h"
#include "progress.h"

static int percent(uint64_t done, uint64_t total)
{
	if (!total)
		return 100;
	return (int)(100.0 * ((double)done / (double)total) + 0.5);
}

static double rate(uint64_t done, unsigned bs, time_t secs)
{
	return ((double)done / ((1024.0 * 1024.0) / bs)) / (double)secs;
}

static void hms(char *buf, size_t len, time_t secs)
{
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, len, "%T", &tm);
}

void progress_scanning(struct progress *p)
{
	if (!p->enabled)
		return;
	fputs(_("Scanning inodes...\n"), stderr);
	fflush(stderr);
}

static void show(struct progress *p, uint64_t done, time_t now)
{
	time_t secs = now - p->start;
	int n;

	fputc('\r', stderr);
	n = fprintf(stderr, _("Copying %llu / %llu blocks (%d%%)"),
		    (unsigned long long)done, (unsigned long long)p->total,
		    percent(done, p->total));
	if (secs > 5 && done) {
		char eta[32];

		hms(eta, sizeof(eta), (time_t)((double)secs * p->total / done) - secs);
		n += fprintf(stderr, _(" %s remaining at %.2f MB/s"), eta,
			     rate(done, p->blocksize, secs));
	}
	/* Blank what a longer previous line left behind. */
	if (n < p->width)
		fprintf(stderr, "%*s", p->width - n, "");
	else
		p->width = n;
	fflush(stderr);
}

void progress_start(struct progress *p, uint64_t total, unsigned blocksize)
{
	if (!p->enabled)
		return;
	p->total = total;
	p->blocksize = blocksize;
	p->start = p->last = time(NULL);
	p->width = 0;
	show(p, 0, p->start);
}

void progress_update(void *arg, uint64_t done)
{
	struct progress *p = arg;
	time_t now;

	if (!p->enabled)
		return;
	now = time(NULL);
	if (now == p->last)
		return;
	p->last = now;
	show(p, done, now);
}

void progress_note(struct progress *p, const char *text)
{
	if (!p->enabled || !text)
		return;
	fputc('\n', stderr);  /* the "Copying" line stays as it was */
	fputs(text, stderr);
}

void progress_done(struct progress *p, uint64_t done)
{
	time_t secs;
	char took[32];

	if (!p->enabled)
		return;
	secs = time(NULL) - p->start;
	hms(took, sizeof(took), secs);
	fputc('\r', stderr);
	fprintf(stderr, _("Copied %llu / %llu blocks (%d%%) in %s "),
		(unsigned long long)done, (unsigned long long)p->total,
		percent(done, p->total), took);
	if (secs)
		fprintf(stderr, _("at %.2f MB/s"), rate(done, p->blocksize, secs));
	fputs("       \n", stderr);
	fflush(stderr);
}
