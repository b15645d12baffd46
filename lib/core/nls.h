/* Message translation: _() marks every message a user reads. */
#ifndef E2I_NLS_H
#define E2I_NLS_H

#include <libintl.h>
#define _(s) gettext(s)
#define N_(s) (s)
#define E2I_TEXTDOMAIN "e2image-ng"

#endif
