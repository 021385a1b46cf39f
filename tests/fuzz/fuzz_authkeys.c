/* libFuzzer target: authorized_keys text. The input's first line is the
 * client address, the rest the file, looked up for three fixed keys (the
 * seed corpus lists them), for a certificate whose CA is the first key
 * (cert-authority lines) and as an AuthorizedPrincipalsFile. A match must
 * give sane options, and its from= must let the address in; every reason
 * given must be printable. The first line is also tried as a from=
 * pattern list, with invariants that follow from the rule that a negated
 * match vetoes, and as a source-address list. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys/authkeys.h"
#include "keys/cert.h"
#include "keys/certauth.h"
#include "keys/keyfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ed25519_pub[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHms+HxH/hw/7NG6FReZN8eH"
    "WaR/iclaoPlpE57E6t+1 fuzz-ed25519";

static const char ecdsa_pub[] =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlz"
    "dHAyNTYAAABBBKPuLJlZnI2GI0aOhiSr1ELL+fP4LWNhKVhhTbCSNCItMsBx"
    "/2ko60/OUx370ZAgZ5V8qwGnE9KWERD54Xn3Aj8= fuzz-ecdsa";

static const char rsa_pub[] =
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDTCF3HMxJQ3LTJFonuRiJ9"
    "tLTmeU80wGUsXjapVfyq/MljAG2IHm2jYdYXHCjDT5yylckYukP8sa+Zgd8R"
    "2l9m5p/y8/WuzkrbOvsw3KE+2Ysd1aDpFcPEigBGdn878ICpjDUBuRVOgs9E"
    "O3O1GeOHtxTA2SHXiFGVZ37X9yjr8utmiGtNn1sw/Slo+kB2oU0OwwuGUCW3"
    "UUhWQQLz6SeHbm6vW3B39A0jqSDY7IePCUft1Nmp0nw9+vpqVBs031udm9A2"
    "vnW+4AtDsVa6ZWu+MY3Mc2GUk7AW3O5CjnRPRQ+0viuobeQXeUfRNk2ZUpGd"
    "XdJWZxInMxIxybhFgVrR fuzz-rsa";

#define FNAME	"fuzz_keys"

static struct key *keys[3];
static void check_match(const struct ak_opts *o, const char *ip, int nlines);
static void warn_cb(void *ud, const char *file, int line, const char *why);
static char *fuzz_principals[] = { "alice", "ops" };
static struct cert fuzz_cert;	/* only what the lookups read */

static void
load_keys(void)
{
	const char *lines[3] = { ed25519_pub, ecdsa_pub, rsa_pub };
	char err[256];
	int i;

	for (i = 0; i < 3; i++)
		if (keyfile_parse_public(lines[i], strlen(lines[i]), &keys[i],
		    err, sizeof(err)) != 0)
			abort();
	fuzz_cert.ca = keys[0];
	fuzz_cert.key = keys[1];
	fuzz_cert.principals = fuzz_principals;
	fuzz_cert.nprincipals = 2;
}

/* The certificate lookups: a result of 0 or 1, sane options on a
 * match. */
static void
cert_lookups(const char *copy, size_t rest, const char *ip, int *nlines)
{
	struct ak_opts opts;
	int r;

	r = ak_find_ca_text(copy, rest, FNAME, &fuzz_cert, "alice", ip, &opts,
	    warn_cb, nlines);
	if (r != 0 && r != 1)
		abort();
	if (r == 1)
		check_match(&opts, ip, *nlines);
	r = ak_find_principal_text(copy, rest, FNAME, &fuzz_cert, ip, &opts,
	    warn_cb, nlines);
	if (r != 0 && r != 1)
		abort();
	if (r == 1)
		check_match(&opts, ip, *nlines);
}

static void
warn_cb(void *ud, const char *file, int line, const char *why)
{
	const int *nlines = ud;
	const char *s;

	if (strcmp(file, FNAME) != 0 || line < 1 || line > *nlines ||
	    why[0] == '\0')
		abort();
	for (s = why; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			abort();
}

static bool
permit_ok(const struct ak_permit *p)
{
	size_t n = strnlen(p->host, sizeof(p->host));

	return n > 0 && n < sizeof(p->host) &&
	    (p->port == -1 || (p->port >= 1 && p->port <= 65535));
}

static void
check_match(const struct ak_opts *o, const char *ip, int nlines)
{
	int i;

	if (o->nopen < 0 || o->nopen > AK_MAX_PERMITS || o->nlisten < 0 ||
	    o->nlisten > AK_MAX_PERMITS || o->line < 1 || o->line > nlines ||
	    strcmp(o->file, FNAME) != 0 ||
	    strnlen(o->from, sizeof(o->from)) == sizeof(o->from))
		abort();
	for (i = 0; i < o->nopen; i++)
		if (!permit_ok(&o->open[i]))
			abort();
	for (i = 0; i < o->nlisten; i++)
		if (!permit_ok(&o->listen[i]))
			abort();
	if (o->from[0] != '\0' && !ak_match_from(o->from, ip))
		abort();
}

/* Invariants of a pattern list that matched: nothing in it vetoes or is
 * invalid, so a "*" in front keeps it matching and a "!*" after it vetoes;
 * a list that did not match still does not with another entry negated. */
static void
check_patterns(const char *pats, const char *ip)
{
	char *buf;
	size_t n = strlen(pats);
	bool m = ak_match_from(pats, ip);

	if ((buf = malloc(n + 8)) == NULL)
		return;
	memcpy(buf, "*,", 2);
	memcpy(buf + 2, pats, n + 1);
	if (m && !ak_match_from(buf, ip))
		abort();
	memcpy(buf, pats, n);
	memcpy(buf + n, ",!*", 4);
	if (ak_match_from(buf, ip))
		abort();
	memcpy(buf + n, ",!1.1", 6);
	if (!m && ak_match_from(buf, ip))
		abort();
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ips[] = { "10.1.2.3", "2001:db8::1",
	    "::ffff:192.0.2.7" };
	struct ak_opts opts;
	const char *text = (const char *)data, *nl;
	char ip[64], *copy, *pats;
	size_t iplen, rest;
	int i, nlines = 1, r;

	if (keys[0] == NULL)
		load_keys();
	nl = memchr(text, '\n', size);
	iplen = nl ? (size_t)(nl - text) : size;
	if (iplen < sizeof(ip) && memchr(text, '\0', iplen) == NULL) {
		memcpy(ip, text, iplen);
		ip[iplen] = '\0';
	} else
		strcpy(ip, "10.0.0.1");
	rest = nl ? size - iplen - 1 : 0;
	for (i = 0; (size_t)i < rest; i++)
		if (nl[1 + i] == '\n')
			nlines++;

	/* An exact-size copy, so reading past the length shows up. */
	if ((copy = malloc(rest ? rest : 1)) == NULL)
		return 0;
	if (rest > 0)
		memcpy(copy, nl + 1, rest);
	for (i = 0; i < 3; i++) {
		r = ak_find_text(copy, rest, FNAME, keys[i], ip, &opts, warn_cb,
		    &nlines);
		if (r != 0 && r != 1)
			abort();
		if (r == 1)
			check_match(&opts, ip, nlines);
		else if (opts.nopen != 0 || opts.nlisten != 0 ||
		    !opts.port_forwarding)
			abort();
	}
	cert_lookups(copy, rest, ip, &nlines);
	free(copy);

	if ((pats = malloc(iplen + 1)) != NULL) {
		memcpy(pats, text, iplen);
		pats[iplen] = '\0';
		if (strlen(pats) == iplen)
			for (i = 0; i < 3; i++) {
				check_patterns(pats, ips[i]);
				r = certauth_source_match(pats, ips[i]);
				if (r < -1 || r > 1)
					abort();
			}
		free(pats);
	}
	return 0;
}
