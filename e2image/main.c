/*
 * e2image: saves the metadata of an ext2/3/4 filesystem as an image.
 * The command only parses, chooses a job and reports; the work is in lib/.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include "config.h"
#include "nls.h"
#include "messages.h"
#include "options.h"
#include "install_job.h"
#include "legacy_job.h"
#include "move_job.h"
#include "qcow2_to_raw.h"
#include "qcow2_job.h"
#include "raw_job.h"
#include "signals.h"
#include "verify.h"

/*
 * The user's locale and our catalogue. E2IMAGE_LOCALEDIR, when set, is
 * where the catalogues are instead of the installed ones: a build tree's
 * tests use it, and so can a user trying a translation before installing.
 */
static void set_language(void)
{
#ifdef ENABLE_NLS
	const char *dir = getenv("E2IMAGE_LOCALEDIR");

	setlocale(LC_ALL, "");
	bindtextdomain(E2I_TEXTDOMAIN, dir && *dir ? dir : LOCALEDIR);
	textdomain(E2I_TEXTDOMAIN);
#endif
}

int main(int argc, char **argv)
{
	struct options o;
	e2i_stop *stop;
	int rc;
	/* the command line as given: getopt_long reorders argv */
	char **given = calloc((size_t)argc + 1, sizeof(*given));

	if (given)
		memcpy(given, argv, (size_t)argc * sizeof(*given));

	set_language();
	initialize_ext2_error_table();

	switch (options_parse(&o, argc, argv)) {
	case PARSE_EXIT_OK:
		free(given);
		return 0;
	case PARSE_FAIL:
		free(given);
		return 1;
	default:
		break;
	}
	o.argc = argc;
	o.argv = given ? given : argv;
	if (o.scramble && (o.move || o.install)) {
		msg_plain(_("-s cannot be used with a move or -I: it would scramble the filesystem itself"));
		free(given);
		return 1;
	}
	/* A move stops safely (its journal); an install, once it writes,
	 * arms the warning itself (signals_warn_first). */
	stop = signals_install(0);
	if (o.verify)
		rc = run_verify(&o, stop);
	else if (o.install)
		rc = run_install(&o, stop);
	else if (o.move && !o.dry_run)
		rc = run_move(&o, stop);
	else if (o.qcow2)
		rc = run_qcow2(&o, stop);
	else if (!o.raw)
		rc = run_legacy(&o, stop);
	else if (input_is_qcow2(o.device) && o.anonymize) {
		msg_plain(_("--anonymize takes a filesystem, not a QCOW2 image: %s"), o.device);
		rc = 1;
	} else if (input_is_qcow2(o.device))
		rc = run_qcow2_to_raw(&o, stop);
	else
		rc = run_raw(&o, stop);
	/* Whatever the job managed, a stopped run ends as the signal asked
	 * (its cleanup is done): never with status 0. */
	if (*stop) {
		msg_plain(_("stopped by signal %d (%s)"), (int)*stop,
			  strsignal((int)*stop));
		signals_die((int)*stop);
	}
	free(given);
	return rc;
}
