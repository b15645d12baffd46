#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <et/com_err.h>
#include "messages.h"
#include "nls.h"

void msg_plain(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROGRAM);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void msg_err(errcode_t code, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	/* TRANSLATORS: "e2image: <reason> <what was being done>", as in
	   "e2image: No such file or directory while trying to open a.img";
	   the order may change ("%1$s: %3$s: %2$s\n"). */
	fprintf(stderr, _("%s: %s %s\n"), PROGRAM, error_message(code),
		what ? what : fmt);
	free(what);
}
