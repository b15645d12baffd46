#include <stdarg.h>
#include <stdio.h>
#include "error.h"

errcode_t e2i_seterr(struct e2i_error *e, errcode_t code, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->code)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->what, sizeof(e->what), fmt, ap);
	va_end(ap);
	return code;
}
