/* hdump: heap dumps of GraalVM Native Image executables, from the outside. */
#include "options.h"
#include "run.h"
#include "watch.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	/* Write errors are reported where they happen, not by a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && strcmp(argv[1], "watch") == 0)
		return watch_main(argc - 1, argv + 1);
	struct cli_options opt;
	int exit_code;
	if (!options_parse(argc, argv, &opt, stdout, stderr, &exit_code))
		return exit_code;
	hdump_install_signal_handlers();
	if (run(&opt) == 0)
		return 0;
	if (hdump_interrupted())
		hdump_fail(HDUMP_E_INTERRUPTED, "interrupted by signal %d; target released",
			   hdump_interrupted());
	struct hdump_error e = hdump_error();
	char esc[HDUMP_ESCAPED_MESSAGE];
	/* The library says why a snapshot mode was refused; the way out is an
	 * option of this command. */
	fprintf(stderr, "hdump: %s%s\n", hdump_escape(e.message, esc, sizeof esc),
		e.cls == HDUMP_E_SNAPSHOT ? "; use --snapshot=stop" : "");
	return hdump_exit_code(e.cls);
}
