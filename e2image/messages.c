#include <stdarg.h>
#include <stdio.h>
#include <et/com_err.h>
#include "messages.h"

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
	va_list ap;

	fprintf(stderr, "%s: %s ", PROGRAM, error_message(code));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
