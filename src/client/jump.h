/* ProxyJump / -J (ssh_config(5)): the hops, checked as ssh checks them,
 * and the command that reaches the destination through them. As ssh
 * does, the last hop is reached by a ProxyCommand running ferry itself
 * with -W to the destination; that ferry reaches the last hop through
 * the hops before it (-J) in the same way, so each hop is its own SSH
 * connection over a direct-tcpip channel of the one before, with its own
 * host key check against the user's configuration. */
#ifndef FERRY_CLIENT_JUMP_H
#define FERRY_CLIENT_JUMP_H

#include <stddef.h>

/* One hop: "[user@]host[:port]" or "ssh://[user@]host[:port]", host
 * possibly "[v6addr]". */
struct jump_hop {
	char	user[256];	/* "" if not given */
	char	host[256];
	int	port;		/* -1 if not given */
};

/* Checks a ProxyJump value: "none", or hops separated by commas.
 * Returns 0, or -1 with err naming the bad hop. */
int	jump_check(const char *spec, char *err, size_t errlen);
/* Parses one hop (len bytes of s). Returns 0 or -1. */
int	jump_hop_parse(const char *s, size_t len, struct jump_hop *h);
/* The ProxyCommand for ProxyJump spec (not "none"), tokens unexpanded:
 * self (ferry's own executable) with -v as verbose asks, -F config_file
 * when one was given, -W '[%h]:%p', the last hop's user and port, -J the
 * hops before it, and the last hop's host; every value shell-quoted.
 * Returns a malloc'd string, or NULL with err. */
char	*jump_command(const char *spec, const char *self, int verbose,
	    const char *config_file, char *err, size_t errlen);

#endif
