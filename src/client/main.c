/* ferry: SSH tunnels with ssh(1)'s command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "client/options.h"
#include "util/log.h"

int
main(int argc, char **argv)
{
	struct options o;
	char err[1024], path[1024];
	FILE *logfp = NULL;
	int code;
	const char *home = getenv("HOME");

	options_init(&o);
	log_init("ferry", LOG_INFO, NULL);
	if (options_parse_args(&o, argc, argv, err, sizeof(err)) != 0)
		goto fail;
	if (o.config_file != NULL) {
		if (options_read_file(&o, o.config_file, o.host, true, err,
		    sizeof(err)) != 0)
			goto fail;
	} else if (home != NULL) {
		snprintf(path, sizeof(path), "%s/.ssh/config", home);
		if (options_read_file(&o, path, o.host, false, err,
		    sizeof(err)) != 0)
			goto fail;
	}
	if (options_finish(&o, err, sizeof(err)) != 0)
		goto fail;
	if (o.log_file != NULL && (logfp = fopen(o.log_file, "a")) == NULL) {
		snprintf(err, sizeof(err), "Couldn't open logfile %s: %s",
		    o.log_file, strerror(errno));
		goto fail;
	}
	log_init("ferry", o.log_level, logfp);
	if (o.print_config) {
		options_print(&o, stdout);
		options_free(&o);
		return 0;
	}
	code = client_run(&o);
	options_free(&o);
	if (logfp != NULL)
		fclose(logfp);
	return code;
fail:
	fprintf(stderr, "ferry: %s\n", err);
	options_free(&o);
	return 255;
}
