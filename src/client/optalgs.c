/* ssh_config's algorithm keywords on the client (Ciphers, MACs,
 * KexAlgorithms, HostKeyAlgorithms, PubkeyAcceptedAlgorithms,
 * CASignatureAlgorithms) and -c / -m, read as ssh 9.2 reads them, then
 * narrowed to what ferry implements (ssh/alglist.h): a list written for
 * OpenSSH keeps its meaning under ferry, it only ever allows fewer
 * algorithms. -G prints the narrowed lists: ssh -G's, in its order, less
 * the names ferry does not implement (-v names those). */
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssh/alglist.h"
#include "ssh/ssh.h"
#include "util/log.h"

/* The lists -G prints, in ssh -G's order, with their defaults. */
static const struct {
	const char		*print;
	size_t			 field;
	const struct alg_kind	*kind;
} lists[] = {
	{ "ciphers", offsetof(struct options, ciphers), &alg_kind_cipher },
	{ "hostkeyalgorithms", offsetof(struct options, hostkey_algs),
	    &alg_kind_hostkey_client },
	{ "kexalgorithms", offsetof(struct options, kex_algs), &alg_kind_kex },
	{ "casignaturealgorithms", offsetof(struct options, ca_sign_algs),
	    &alg_kind_ca_sign },
	{ "macs", offsetof(struct options, macs), &alg_kind_mac },
	{ "pubkeyacceptedalgorithms", offsetof(struct options, pubkey_algs),
	    &alg_kind_pubkey_client },
};

/* spec without empty names, which ssh skips ("a,,b" is "a,b"); the
 * leading '+', '-' or '^' stays. NULL when out of memory. */
static char *
without_empty(const char *spec)
{
	char *out, *w, *start;
	const char *p = spec;

	if ((out = malloc(strlen(spec) + 1)) == NULL)
		return NULL;
	w = out;
	if (*p == '+' || *p == '-' || *p == '^')
		*w++ = *p++;
	start = w;
	for (; *p != '\0'; p++) {
		if (*p == ',' && (w == start || w[-1] == ','))
			continue;	/* an empty name */
		*w++ = *p;
	}
	if (w > start && w[-1] == ',')
		w--;
	*w = '\0';
	return out;
}

/* Adds "name: dropped" to the lines -v says. */
static int
note_left_out(struct options *o, const char *name, const char *dropped)
{
	char *more;

	if (asprintf(&more, "%s%s: %s\n", o->algs_left_out != NULL ?
	    o->algs_left_out : "", name, dropped) == -1)
		return -1;
	free(o->algs_left_out);
	o->algs_left_out = more;
	return 0;
}

int
options_set_algs(struct options *o, const char *name,
    const struct alg_kind *k, bool patterns, char **field, const char *spec,
    char *err, size_t errlen)
{
	char why[1024], dropped[512], *clean, *list;
	int r;

	/* ssh takes patterns only where it matches names (key algorithms)
	 * and in a "-" list, which it does not check at all */
	if (!patterns && spec[0] != '-' && strpbrk(spec, "*?") != NULL) {
		snprintf(err, errlen, "%s: '%s': OpenSSH takes no pattern in "
		    "a %s list that does not start with '-'", name, spec,
		    k->what);
		return -1;
	}
	if ((clean = without_empty(spec)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = alglist_assemble(clean, k, &list, dropped, sizeof(dropped), why,
	    sizeof(why));
	free(clean);
	if (r != 0) {
		snprintf(err, errlen, "%s: %s", name, why);
		return -1;
	}
	if (field == NULL || *field != NULL) {
		free(list);
		return 0;
	}
	*field = list;
	if (dropped[0] != '\0' && note_left_out(o, name, dropped) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
options_algs_flag(struct options *o, int flag, const char *list, char *err,
    size_t errlen)
{
	const struct alg_kind *k = flag == 'c' ? &alg_kind_cipher :
	    &alg_kind_mac;
	char **field = flag == 'c' ? &o->ciphers : &o->macs, *old = *field;
	const char *names = list;
	char bad[128];

	/* as ssh: -c may add ("+") or prefer ("^"), -m only replaces; no
	 * patterns, no "-" */
	if (flag == 'c' && (names[0] == '+' || names[0] == '^'))
		names++;
	if (ssh_algs_validate(names, k->known, bad, sizeof(bad)) >= 0) {
		snprintf(err, errlen, "Unknown %s type '%s'", flag == 'c' ?
		    "cipher" : "mac", list);
		return -1;
	}
	*field = NULL;
	if (options_set_algs(o, flag == 'c' ? "-c" : "-m", k, false, field,
	    list, err, errlen) != 0) {
		*field = old;
		return -1;
	}
	free(old);
	return 0;
}

void
options_print_algs(const struct options *o, FILE *fp)
{
	const char *v;
	size_t i;

	fprintf(fp, "requiredrsasize %d\n", o->required_rsa_size);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		v = *(char *const *)(const void *)((const char *)o +
		    lists[i].field);
		fprintf(fp, "%s %s\n", lists[i].print, v != NULL ? v :
		    lists[i].kind->def);
	}
}

void
options_note_algs(const struct options *o)
{
	static bool noted;
	const char *p, *nl;

	if (noted)
		return;
	noted = true;
	for (p = o->algs_left_out; p != NULL && *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		log_verbose("%.*s: not implemented by ferry, left out",
		    (int)(nl - p), p);
	}
}
