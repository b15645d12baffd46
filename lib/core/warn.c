#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "nls.h"
#include "warn.h"

/* Past this many lines a badly damaged disk would drown the terminal. */
#define MAX_PRINTED 200

void warn_init(struct e2i_warnings *w, int strict,
	       void (*report)(void *arg, const char *msg), void *arg)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	w->strict = strict;
	w->report = report;
	w->report_arg = arg;
}

void warn_destroy(struct e2i_warnings *w)
{
	pthread_mutex_destroy(&w->lock);
}

static int vwarn(struct e2i_warnings *w, enum warn_kind k, uint64_t n,
		 uint64_t subject, int may_stop, const char *fmt, va_list ap)
{
	char msg[512];

	if (!w)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pthread_mutex_lock(&w->lock);
	w->count[k] += n;
	if (w->record)
		w->record(w->record_arg, k, n, subject, msg);
	if (w->strict && may_stop) {
		/* Fatal: the caller's error message says it. */
		pthread_mutex_unlock(&w->lock);
		return 1;
	}
	if (w->report && w->printed < MAX_PRINTED)
		w->report(w->report_arg, msg);
	else if (w->report && w->printed == MAX_PRINTED)
		w->report(w->report_arg, _("further warnings are counted but not shown"));
	w->printed++;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int warn(struct e2i_warnings *w, enum warn_kind k, int may_stop,
	 const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vwarn(w, k, 1, WARN_NO_SUBJECT, may_stop, fmt, ap);
	va_end(ap);
	return r;
}

int warn_n(struct e2i_warnings *w, enum warn_kind k, uint64_t n, int may_stop,
	   const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vwarn(w, k, n, WARN_NO_SUBJECT, may_stop, fmt, ap);
	va_end(ap);
	return r;
}

int warn_about(struct e2i_warnings *w, enum warn_kind k, uint64_t subject,
	       int may_stop, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vwarn(w, k, 1, subject, may_stop, fmt, ap);
	va_end(ap);
	return r;
}

uint64_t warn_total(struct e2i_warnings *w)
{
	uint64_t n = 0;
	int k;

	pthread_mutex_lock(&w->lock);
	for (k = 0; k < WARN_KINDS; k++)
		n += w->count[k];
	pthread_mutex_unlock(&w->lock);
	return n;
}
