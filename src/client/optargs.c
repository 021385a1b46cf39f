/* ferry's command line: ssh(1)'s flags, each the first value of its
 * keyword, and the destination. */
#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPTSTRING	":46aAb:c:Ce:fgi:kl:m:no:p:qtvxyB:D:E:F:GJ:KL:NO:R:S:TW:XY"

/* [user@]host or ssh://[user@]host[:port], the host of the URI form
 * possibly an [IPv6] literal. */
static int
parse_destination(struct options *o, const char *d, char *err, size_t errlen)
{
	bool uri = strncmp(d, "ssh://", 6) == 0;
	const char *h = uri ? d + 6 : d, *at, *portstr = NULL;
	char host[512], *end, *words[2], why[512];
	size_t n;

	if ((at = strrchr(h, '@')) != NULL) {
		if (o->user == NULL && (o->user = strndup(h,
		    (size_t)(at - h))) == NULL)
			return -1;
		h = at + 1;
	}
	n = strlen(h);
	if (uri && h[0] == '[') {
		if ((end = strchr(h, ']')) == NULL || (end[1] != '\0' &&
		    end[1] != ':')) {
			snprintf(err, errlen, "Bad destination '%s'", d);
			return -1;
		}
		n = (size_t)(end - h - 1);
		h++;
		if (end[1] == ':')
			portstr = end + 2;
	} else if (uri && (portstr = strrchr(h, ':')) != NULL) {
		n = (size_t)(portstr - h);
		portstr++;
	}
	if (n == 0 || n >= sizeof(host)) {
		snprintf(err, errlen, "%s host in destination '%s'",
		    n == 0 ? "Missing" : "Too long a", d);
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	/* the URI's port is a Port value like -p's */
	words[0] = "Port";
	words[1] = (char *)portstr;
	if (portstr != NULL && options_apply_words(o, words, 2,
	    "destination", why, sizeof(why)) != 0) {
		snprintf(err, errlen, "Bad port in destination '%s'", d);
		return -1;
	}
	o->host = strdup(host);
	return o->host ? 0 : -1;
}

/* -W's host:port, [host]:port for an IPv6 address (or any host, as
 * ProxyJump writes it). */
static int
parse_stdio(struct options *o, const char *arg, char *err, size_t errlen)
{
	const char *h = arg, *colon;
	char *end;
	size_t n;
	long port;

	if (arg[0] == '[') {
		h = arg + 1;
		if ((colon = strchr(h, ']')) == NULL || colon[1] != ':')
			goto bad;
		n = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(arg, ':')) == NULL ||
		    strchr(arg, ':') != colon)
			goto bad;
		n = (size_t)(colon - h);
	}
	if (n == 0 || n > 255 || memchr(h, ']', n) != NULL)
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1 ||
	    port > 65535)
		goto bad;
	free(o->stdio_host);
	if ((o->stdio_host = strndup(h, n)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	o->stdio_port = (int)port;
	return 0;
bad:
	snprintf(err, errlen, "Bad stdio forwarding specification '%s': "
	    "expected host:port or [address]:port, port 1 to 65535", arg);
	return -1;
}

/* -q and -v are the first values obtained: files cannot undo them. */
static void
set_verbosity(struct options *o, bool quiet, int verbose)
{
	if (quiet)
		o->parsed.log_level = LOG_QUIET;
	else if (verbose > 0)
		o->parsed.log_level = LOG_INFO + (verbose > 3 ? 3 : verbose);
}

/* The flags that set keywords to fixed values, as ssh's do; those of
 * sessions are also noted for -v (ferry opens none). */
static const struct {
	char		 flag;
	bool		 session;
	const char	*keyword;
	const char	*value;
} flag_values[] = {
	{ 'a', true, "ForwardAgent", "no" },
	{ 'A', true, "ForwardAgent", "yes" },
	{ 'C', false, "Compression", "yes" },
	{ 'k', true, "GSSAPIDelegateCredentials", "no" },
	{ 'K', true, "GSSAPIAuthentication", "yes" },
	{ 'K', true, "GSSAPIDelegateCredentials", "yes" },
	{ 't', true, "RequestTTY", "yes" },
	{ 'T', false, "RequestTTY", "no" },
	{ 'x', true, "ForwardX11", "no" },
	{ 'X', true, "ForwardX11", "yes" },
	{ 'Y', true, "ForwardX11", "yes" },
	{ 'Y', true, "ForwardX11Trusted", "yes" },
};

/* Applies the fixed values of flag ch; 1 if it has some. */
static int
flag_fixed(struct options *o, int ch, char *err, size_t errlen)
{
	char *w[2], *sf = o->session_flags;
	size_t i, n;
	int found = 0;

	for (i = 0; i < sizeof(flag_values) / sizeof(flag_values[0]); i++) {
		if (flag_values[i].flag != ch)
			continue;
		w[0] = (char *)flag_values[i].keyword;
		w[1] = (char *)flag_values[i].value;
		if (options_apply_words(o, w, 2, "command line", err,
		    errlen) != 0)
			return -1;
		n = strlen(sf);
		if (flag_values[i].session && !found &&
		    strchr(sf, ch) == NULL && n + 1 < sizeof(o->session_flags)) {
			sf[n] = (char)ch;
			sf[n + 1] = '\0';
		}
		found = 1;
	}
	return found;
}

/* A flag that is a keyword's value (-i, -l, -p, -S...). */
static const char *
flag_keyword(int ch)
{
	switch (ch) {
	case 'e':
		return "EscapeChar";
	case 'b':
		return "BindAddress";
	case 'B':
		return "BindInterface";
	case 'i':
		return "IdentityFile";
	case 'J':
		return "ProxyJump";
	case 'l':
		return "User";
	case 'p':
		return "Port";
	case 'S':
		return "ControlPath";
	}
	return NULL;
}

/* One flag of getopt's; *verbose and *quiet count -v and -q. */
static int
parse_flag(struct options *o, int ch, int *verbose, bool *quiet, char *err,
    size_t errlen)
{
	char line[1200], *words[2];
	int r;

	if ((r = flag_fixed(o, ch, err, errlen)) != 0 && (r < 0 ||
	    ch != 'T'))
		return r < 0 ? -1 : 0;
	if ((words[0] = (char *)flag_keyword(ch)) != NULL) {
		words[1] = optarg;
		return options_apply_words(o, words, 2, "command line", err,
		    errlen);
	}
	switch (ch) {
	case '4':
	case '6':
		o->parsed.family = ch == '4' ? AFAM_INET : AFAM_INET6;
		return 0;
	case 'c':
	case 'm':
		return options_algs_flag(o, ch, optarg, err, errlen);
	case 'o':
		snprintf(line, sizeof(line), "%s", optarg);
		return options_apply_line(o, line, "command line", err,
		    errlen);
	case 'g':
		o->parsed.gateway_ports = 1;
		return 0;
	case 'q':
		*quiet = true;
		return 0;
	case 'f':
		o->background = true;
		return 0;
	case 'n':
		o->stdin_null = true;
		return 0;
	case 'y':
		o->use_syslog = true;
		return 0;
	case 'O':
		free(o->mux_command);
		o->mux_command = strdup(optarg);
		return o->mux_command != NULL ? 0 : -1;
	case 'v':
		(*verbose)++;
		return 0;
	case 'E':
		free(o->log_file);
		o->log_file = strdup(optarg);
		return 0;
	case 'F':
		free(o->config_file);
		o->config_file = strdup(optarg);
		return 0;
	case 'D':
	case 'L':
	case 'R':
		return options_add_forward(o, ch == 'D' ? FWD_DYNAMIC :
		    ch == 'L' ? FWD_LOCAL : FWD_REMOTE, optarg, err, errlen);
	case 'N':
	case 'T':
		o->no_shell = true;
		return 0;
	case 'G':
		o->print_config = true;
		return 0;
	case 'W':
		if (o->stdio_host != NULL) {
			snprintf(err, errlen, "stdio forward already specified "
			    "(-W %s)", optarg);
			return -1;
		}
		return parse_stdio(o, optarg, err, errlen);
	case ':':
		snprintf(err, errlen, "option requires an argument -- %c",
		    optopt);
		return -1;
	}
	snprintf(err, errlen, "unknown or unsupported option -- %c", optopt);
	return -1;
}

int
options_parse_args(struct options *o, int argc, char **argv, char *err,
    size_t errlen)
{
	int ch, verbose = 0;
	bool quiet = false;

	opterr = 0;
	optind = 1;
	while ((ch = getopt(argc, argv, OPTSTRING)) != -1)
		if (parse_flag(o, ch, &verbose, &quiet, err, errlen) != 0)
			return -1;
	set_verbosity(o, quiet, verbose);
	if (optind >= argc) {
		snprintf(err, errlen, "usage: ferry [-46AaCfGgKkNnqTtvXxYy] "
		    "[-B bind_interface] [-b bind_address] [-c cipher_spec] "
		    "[-D [bind_address:]port] [-E log_file] [-e escape_char] "
		    "[-F configfile] [-i identity_file] [-J destination] "
		    "[-L address] [-l login_name] [-m mac_spec] "
		    "[-O ctl_cmd] [-o option] [-p port] [-R address] "
		    "[-S ctl_path] [-W host:port] "
		    "destination [destination...]\n"
		    "       ferry up [options] [host...]\n"
		    "       ferry status|metrics|forward|cancel|reconnect ...");
		return -1;
	}
	if (parse_destination(o, argv[optind], err, errlen) != 0)
		return -1;
	if (optind + 1 < argc) {
		snprintf(err, errlen, "ferry only forwards: remote commands "
		    "are not supported ('%s')", argv[optind + 1]);
		return -1;
	}
	return 0;
}

int
options_first_destination(int argc, char **argv)
{
	opterr = 0;
	optind = 1;
	while (getopt(argc, argv, OPTSTRING) != -1)
		;
	return optind;
}
