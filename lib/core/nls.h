/*
 * Message translation: _() marks every message a user reads, N_() one that
 * is translated later (a static table), ngettext() one whose words follow a
 * count. Built with --disable-nls they are the English text itself.
 */
#ifndef E2I_NLS_H
#define E2I_NLS_H

#include "config.h"

#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s) gettext(s)
#else
/* The English text itself; ngettext's choice is English's. */
#undef gettext
#undef ngettext
#define gettext(s) ((char *)(s))
#define ngettext(s, p, n) ((n) == 1 ? (char *)(s) : (char *)(p))
#define _(s) gettext(s)
#endif
#define N_(s) (s)
#define E2I_TEXTDOMAIN "e2image-ng"

#endif
