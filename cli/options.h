/* The command line: every option and its checks, --help and --version. */
#ifndef HD_CLI_OPTIONS_H
#define HD_CLI_OPTIONS_H

#include "run.h"

#include <stdbool.h>
#include <stdio.h>

/* Fills OPT from ARGV.  True: run OPT.  False: hdump exits with *EXIT_CODE,
 * 0 after --help or --version (printed to OUT), HDUMP_E_USAGE's after a
 * one-line message on ERR (getopt's own, for an unknown option, goes to
 * stderr).  May be called again (it restarts getopt). */
bool options_parse(int argc, char **argv, struct cli_options *opt, FILE *out, FILE *err,
		   int *exit_code);

#endif
