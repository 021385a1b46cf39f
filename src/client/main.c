/* ferry: SSH tunnels with ssh(1)'s command line.
 *
 *   ferry [ssh flags] destination [destination...]
 *   ferry up [ssh flags] [host...]      every Host of the file, supervised
 *   ferry status|forward|cancel|metrics [-S control_path] ...
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/options.h"
#include "client/readconf.h"
#include "client/sshkw.h"
#include "client/supervisor.h"
#include "util/log.h"

/* How this run was asked for: everything a host's options come from. */
struct launch {
	int	 argc;		/* flags, then the destinations */
	char	**argv;
	int	 first;		/* index of the first destination */
	bool	 up;
	char	**file_hosts;	/* up without hosts: the file's */
	int	 nfile_hosts;
	char	*config_path;	/* -F or ~/.ssh/config */
	bool	 logging;	/* log_init saw the options: -v notes go out */
};

static const char *
default_control_path(void)
{
	static char path[512];
	const char *dir = getenv("XDG_RUNTIME_DIR");

	if (dir != NULL && dir[0] == '/')
		snprintf(path, sizeof(path), "%s/ferry.sock", dir);
	else if (getenv("HOME") != NULL)
		snprintf(path, sizeof(path), "%s/.ferry.sock", getenv("HOME"));
	else
		return NULL;
	return path;
}

/* The command line's flags with host as the only destination. */
static int
load_flags(const struct launch *l, const char *host, struct options *o,
    char *err, size_t errlen)
{
	char *argv[256];
	int argc;

	if (l->first + 2 > (int)(sizeof(argv) / sizeof(argv[0]))) {
		snprintf(err, errlen, "too many arguments");
		return -1;
	}
	for (argc = 0; argc < l->first; argc++)
		argv[argc] = l->argv[argc];
	argv[argc++] = (char *)host;
	argv[argc] = NULL;
	return options_parse_args(o, argc, argv, err, errlen);
}

/* The options for one host: the flags with host as the destination,
 * then the config file's blocks for it. */
static int
load_host(void *ud, const char *host, struct options **out, char *err,
    size_t errlen)
{
	struct launch *l = ud;
	struct options *o;

	if ((o = calloc(1, sizeof(*o))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	options_init(o);
	if (load_flags(l, host, o, err, errlen) != 0)
		goto fail;
	if (readconf_load(o, o->config_file, READCONF_SYSTEM_FILE, err,
	    errlen) != 0)
		goto fail;
	if (l->up && o->reconnect < 0)
		o->reconnect = 1;	/* ferry up supervises */
	if (options_finish(o, err, errlen) != 0)
		goto fail;
	if (l->logging)
		sshkw_note_unused(o);
	*out = o;
	return 0;
fail:
	options_free(o);
	free(o);
	return -1;
}

/* up without hosts: every literal Host of the file that has a forward. */
static int
list_hosts(void *ud, char ***names, char *err, size_t errlen)
{
	struct launch *l = ud;
	struct options *o;
	char **all;
	int n, i, keep = 0;

	if (!l->up || l->first < l->argc) {
		*names = l->argv + l->first;
		return l->argc - l->first;
	}
	options_free_hosts(l->file_hosts, l->nfile_hosts);
	l->file_hosts = NULL;
	l->nfile_hosts = 0;
	if (options_file_hosts(l->config_path, &all, &n, err, errlen) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (load_host(l, all[i], &o, err, errlen) != 0) {
			options_free_hosts(all, n);
			return -1;
		}
		if (o->nlocal + o->nremote > 0)
			all[keep++] = all[i];
		else
			free(all[i]);
		options_free(o);
		free(o);
	}
	if (keep == 0) {
		free(all);
		snprintf(err, errlen, "%s has no Host block with forwards",
		    l->config_path);
		return -1;
	}
	l->file_hosts = all;
	l->nfile_hosts = keep;
	*names = all;
	return keep;
}

/* Several destinations are several hosts only if each has a Host block
 * of its own; otherwise it looks like ssh's remote command. */
static int
check_destinations(struct launch *l, char *err, size_t errlen)
{
	char **names = NULL;
	int n = 0, i, j;
	bool found;

	if (l->argc - l->first <= 1)
		return 0;
	if (options_file_hosts(l->config_path, &names, &n, err, errlen) != 0)
		n = 0;
	for (i = l->first + 1; i < l->argc; i++) {
		for (j = 0, found = false; j < n && !found; j++)
			found = strcmp(names[j], l->argv[i]) == 0;
		if (!found) {
			snprintf(err, errlen, "ferry only forwards: remote "
			    "commands are not supported ('%s'; several "
			    "destinations must each have a Host block in %s)",
			    l->argv[i], l->config_path);
			options_free_hosts(names, n);
			return -1;
		}
	}
	options_free_hosts(names, n);
	return 0;
}

/* ---- ferry status / forward / cancel / metrics ------------------- */

static int
ctl_usage(void)
{
	fprintf(stderr, "usage: ferry status [-j] [-S control_path]\n"
	    "       ferry metrics [-S control_path]\n"
	    "       ferry forward|cancel [-S control_path] [-H host] "
	    "-L|-R|-D spec\n");
	return 2;
}

static int
ctl_main(int argc, char **argv)
{
	const char *cmd = argv[0], *path = default_control_path();
	const char *host = "-", *flag = NULL, *spec = NULL;
	struct sockaddr_un sun;
	char req[1200], buf[8192];
	bool json = false, ok = false, first = true;
	ssize_t n;
	int ch, fd;
	FILE *in;

	opterr = 0;
	optind = 1;
	while ((ch = getopt(argc, argv, "jH:S:L:R:D:")) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'H':
			host = optarg;
			break;
		case 'S':
			path = optarg;
			break;
		case 'L':
		case 'R':
		case 'D':
			flag = ch == 'L' ? "-L" : ch == 'R' ? "-R" : "-D";
			spec = optarg;
			break;
		default:
			return ctl_usage();
		}
	}
	if (optind != argc || path == NULL)
		return ctl_usage();
	if (strcmp(cmd, "status") == 0)
		snprintf(req, sizeof(req), "%s\n", json ? "status-json" :
		    "status");
	else if (strcmp(cmd, "metrics") == 0)
		snprintf(req, sizeof(req), "metrics\n");
	else if (spec != NULL && strpbrk(spec, " \t\n") == NULL &&
	    strpbrk(host, " \t\n") == NULL)
		snprintf(req, sizeof(req), "%s %s %s %s\n", cmd, host, flag,
		    spec);
	else
		return ctl_usage();
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ferry: control path %s is too long\n", path);
		return 1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "ferry: cannot reach the ferry at %s: %s\n",
		    path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) ||
	    (in = fdopen(fd, "r")) == NULL) {
		fprintf(stderr, "ferry: %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	/* the first line is "ok" or "error: why"; the rest is the answer */
	while ((n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, in)) > 0) {
		char *body = buf;

		buf[n] = '\0';
		if (first) {
			first = false;
			ok = strncmp(buf, "ok\n", 3) == 0;
			if (ok)
				body = buf + 3;
			else {
				fprintf(stderr, "ferry: %s", buf);
				continue;
			}
		}
		fwrite(body, 1, strlen(body), ok ? stdout : stderr);
	}
	fclose(in);
	if (first)
		fprintf(stderr, "ferry: no answer from %s\n", path);
	return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct launch l;
	struct sup_config sc;
	struct options *o = NULL;
	char err[1024], path[1024], **names;
	FILE *logfp = NULL;
	int code, n;
	struct passwd *pw = getpwuid(getuid());

	log_init("ferry", LOG_INFO, NULL);
	if (argc > 1 && (strcmp(argv[1], "status") == 0 ||
	    strcmp(argv[1], "forward") == 0 || strcmp(argv[1], "cancel") == 0 ||
	    strcmp(argv[1], "metrics") == 0))
		return ctl_main(argc - 1, argv + 1);
	memset(&l, 0, sizeof(l));
	l.up = argc > 1 && strcmp(argv[1], "up") == 0;
	l.argc = l.up ? argc - 1 : argc;
	l.argv = l.up ? argv + 1 : argv;
	l.first = options_first_destination(l.argc, l.argv);
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return 255;
	options_init(o);
	if (!l.up && l.first >= l.argc) {
		/* no destination: options_parse_args says the usage */
		options_parse_args(o, l.argc, l.argv, err, sizeof(err));
		goto fail;
	}
	/* the flags alone (with the first host, or a stand-in for ferry up
	 * without hosts) tell which config file to read */
	if (load_flags(&l, l.first < l.argc ? l.argv[l.first] : "localhost",
	    o, err, sizeof(err)) != 0)
		goto fail;
	if (o->config_file != NULL)
		snprintf(path, sizeof(path), "%s", o->config_file);
	else
		snprintf(path, sizeof(path), "%s/.ssh/config",
		    pw != NULL ? pw->pw_dir : "");
	l.config_path = path;
	if (!l.up && check_destinations(&l, err, sizeof(err)) != 0)
		goto fail;
	if ((n = list_hosts(&l, &names, err, sizeof(err))) < 0)
		goto fail;
	options_free(o);
	free(o);
	o = NULL;
	if (load_host(&l, names[0], &o, err, sizeof(err)) != 0)
		goto fail;
	if (o->log_file != NULL && (logfp = fopen(o->log_file, "a")) == NULL) {
		snprintf(err, sizeof(err), "Couldn't open logfile %s: %s",
		    o->log_file, strerror(errno));
		goto fail;
	}
	log_init("ferry", o->log_level, logfp);
	l.logging = true;
	sshkw_note_unused(o);
	if (o->print_config) {
		options_print(o, stdout);
		options_free(o);
		free(o);
		return 0;
	}
	memset(&sc, 0, sizeof(sc));
	sc.loader.hosts = list_hosts;
	sc.loader.load = load_host;
	sc.loader.ud = &l;
	sc.supervised = l.up || n > 1 || o->reconnect == 1;
	sc.default_control_path = l.up ? default_control_path() : NULL;
	options_free(o);
	free(o);
	code = supervisor_run(&sc);
	options_free_hosts(l.file_hosts, l.nfile_hosts);
	if (logfp != NULL)
		fclose(logfp);
	return code;
fail:
	fprintf(stderr, "ferry: %s\n", err);
	if (o != NULL) {
		options_free(o);
		free(o);
	}
	options_free_hosts(l.file_hosts, l.nfile_hosts);
	return 255;
}
