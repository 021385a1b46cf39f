/* ssh_config keywords ferry accepts without acting on them (and the few it
 * refuses where they apply). */
#include "sshkw.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/options.h"
#include "util/cfgval.h"
#include "util/log.h"

enum print_kind {
	PK_FLAG,	/* yes/true -> yes, no/false -> no */
	PK_MAP,		/* the table's map: "in:out in2:out2 ..." */
	PK_INT,		/* a decimal number */
	PK_TIME,	/* ssh's time format, printed in seconds */
	PK_STR,		/* one argument, as given */
	PK_UPPER,	/* one argument, upper case */
	PK_ARGS,	/* all arguments on one line */
	PK_EACH,	/* one line per argument, every line adds */
	PK_HIDDEN,	/* deprecated or unsupported: not printed */
};

enum refusal {
	RF_NONE,
	RF_ALWAYS,	/* any value but "none" */
	RF_YES,		/* any value but no/false */
	RF_NO,		/* the value no/false */
};

struct kw {
	const char	*name;		/* ssh_config(5) spelling */
	const char	*alias_of;	/* an old name: the entry it sets */
	enum print_kind	 kind;
	const char	*map;
	int		 max_args;
	enum refusal	 refuse;
	const char	*why;		/* the reason for a refusal */
};

#define MANY	256
/* In the order ssh -G prints them, roughly. */
static const struct kw table[] = {
	{ "CanonicalizeFallbackLocal", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "CanonicalizeHostname", NULL, PK_MAP,
	    "yes:true no:false always:always", 1, RF_NONE, NULL },
	{ "ControlMaster", NULL, PK_MAP,
	    "yes:true no:false auto:auto ask:ask autoask:autoask", 1,
	    RF_NONE, NULL },
	{ "EnableSSHKeysign", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "ClearAllForwardings", NULL, PK_FLAG, NULL, 1, RF_YES,
	    "ferry would still open the forwards it was given" },
	{ "FingerprintHash", NULL, PK_MAP, "md5:MD5 sha256:SHA256", 1,
	    RF_NONE, NULL },
	{ "ForwardX11", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "ForwardX11Trusted", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "GSSAPIAuthentication", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "GSSAPIKeyExchange", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "GSSAPIDelegateCredentials", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "GSSAPITrustDns", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "GSSAPIRenewalForcesRekey", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "GSSAPIKexAlgorithms", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "HostbasedAuthentication", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "KbdInteractiveAuthentication", NULL, PK_FLAG, NULL, 1, RF_NONE,
	    NULL },
	{ "NoHostAuthenticationForLocalhost", NULL, PK_FLAG, NULL, 1, RF_NONE,
	    NULL },
	{ "PasswordAuthentication", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "PermitLocalCommand", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "ProxyUseFdpass", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "PubkeyAuthentication", NULL, PK_MAP,
	    "yes:true no:false unbound:unbound host-bound:host-bound", 1,
	    RF_NO, "public key authentication is the only method ferry has" },
	{ "RequestTTY", NULL, PK_MAP, "yes:true no:false force:force "
	    "auto:auto", 1, RF_NONE, NULL },
	{ "SessionType", NULL, PK_MAP, "none:none subsystem:subsystem "
	    "default:default", 1, RF_NONE, NULL },
	{ "StdinNull", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "ForkAfterAuthentication", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "Tunnel", NULL, PK_MAP, "yes:true no:false "
	    "point-to-point:point-to-point ethernet:ethernet", 1, RF_YES,
	    "ferry does not forward tun/tap devices" },
	{ "VerifyHostKeyDNS", NULL, PK_MAP, "yes:true no:false ask:ask", 1,
	    RF_NONE, NULL },
	{ "VisualHostKey", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "UpdateHostKeys", NULL, PK_MAP, "yes:true no:false ask:ask", 1,
	    RF_NONE, NULL },
	{ "EnableEscapeCommandline", NULL, PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "CanonicalizeMaxDots", NULL, PK_INT, NULL, 1, RF_NONE, NULL },
	{ "ForwardX11Timeout", NULL, PK_TIME, NULL, 1, RF_NONE, NULL },
	{ "NumberOfPasswordPrompts", NULL, PK_INT, NULL, 1, RF_NONE, NULL },
	{ "HostbasedAcceptedAlgorithms", NULL, PK_STR, NULL, 1, RF_NONE,
	    NULL },
	{ "KbdInteractiveDevices", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "LocalCommand", NULL, PK_ARGS, NULL, MANY, RF_NONE, NULL },
	{ "RemoteCommand", NULL, PK_ARGS, NULL, MANY, RF_NONE, NULL },
	{ "SecurityKeyProvider", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "PKCS11Provider", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "PreferredAuthentications", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "XAuthLocation", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "KnownHostsCommand", NULL, PK_ARGS, NULL, MANY, RF_NONE, NULL },
	{ "GSSAPIClientIdentity", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "GSSAPIServerIdentity", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "CanonicalDomains", NULL, PK_ARGS, NULL, MANY, RF_NONE, NULL },
	{ "SendEnv", NULL, PK_EACH, NULL, MANY, RF_NONE, NULL },
	{ "SetEnv", NULL, PK_EACH, NULL, MANY, RF_NONE, NULL },
	{ "LogVerbose", NULL, PK_ARGS, NULL, MANY, RF_NONE, NULL },
	{ "AddKeysToAgent", NULL, PK_MAP, "yes:true no:false ask:ask "
	    "confirm:confirm", 2, RF_NONE, NULL },
	{ "ForwardAgent", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "TunnelDevice", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "CanonicalizePermittedCNAMEs", NULL, PK_ARGS, NULL, MANY, RF_NONE,
	    NULL },
	{ "ControlPersist", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "EscapeChar", NULL, PK_STR, NULL, 1, RF_NONE, NULL },
	{ "IPQoS", NULL, PK_ARGS, NULL, 2, RF_NONE, NULL },
	{ "SyslogFacility", NULL, PK_UPPER, NULL, 1, RF_NONE, NULL },
	/* old names of the keywords above */
	{ "ChallengeResponseAuthentication", "KbdInteractiveAuthentication",
	    PK_FLAG, NULL, 1, RF_NONE, NULL },
	{ "SkeyAuthentication", "KbdInteractiveAuthentication", PK_FLAG, NULL,
	    1, RF_NONE, NULL },
	{ "TisAuthentication", "KbdInteractiveAuthentication", PK_FLAG, NULL,
	    1, RF_NONE, NULL },
	{ "DSAAuthentication", "PubkeyAuthentication", PK_MAP, NULL, 1,
	    RF_NONE, NULL },
	{ "HostbasedKeyTypes", "HostbasedAcceptedAlgorithms", PK_STR, NULL, 1,
	    RF_NONE, NULL },
	{ "SmartcardDevice", "PKCS11Provider", PK_STR, NULL, 1, RF_NONE,
	    NULL },
	/* deprecated or unsupported in OpenSSH 9.2: ssh ignores them too */
	{ "Cipher", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "CompressionLevel", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "FallBackToRsh", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "GlobalKnownHostsFile2", NULL, PK_HIDDEN, NULL, MANY, RF_NONE,
	    NULL },
	{ "UserKnownHostsFile2", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "KerberosAuthentication", NULL, PK_HIDDEN, NULL, MANY, RF_NONE,
	    NULL },
	{ "KerberosTGTPassing", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "AFSTokenPassing", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "Protocol", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "RhostsAuthentication", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "RSAAuthentication", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "RhostsRSAAuthentication", NULL, PK_HIDDEN, NULL, MANY, RF_NONE,
	    NULL },
	{ "UseBlacklistedKeys", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "UsePrivilegedPort", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "UseRoaming", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
	{ "UseRsh", NULL, PK_HIDDEN, NULL, MANY, RF_NONE, NULL },
};

#define NTABLE	((int)(sizeof(table) / sizeof(table[0])))

/* Keywords whose value "none" means unset: ssh -G leaves them out, and
 * "none" is never refused. */
static const char *const none_off[] = { "KnownHostsCommand", "LocalCommand",
    "PKCS11Provider", "RemoteCommand", "SecurityKeyProvider", "SetEnv",
    "TunnelDevice" };

static bool
is_none_off(const struct kw *k, const char *v)
{
	size_t i;

	if (strcasecmp(v, "none") != 0)
		return false;
	for (i = 0; i < sizeof(none_off) / sizeof(none_off[0]); i++)
		if (strcmp(none_off[i], k->name) == 0)
			return true;
	return false;
}

static int
canonical(int kw)
{
	int i;

	if (table[kw].alias_of == NULL)
		return kw;
	for (i = 0; i < NTABLE; i++)
		if (strcasecmp(table[i].name, table[kw].alias_of) == 0)
			return i;
	return kw;
}

int
sshkw_find(const char *name)
{
	int i;

	for (i = 0; i < NTABLE; i++)
		if (strcasecmp(table[i].name, name) == 0)
			return canonical(i);
	return -1;
}

static bool
is_yes(const char *v)
{
	return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0;
}

static bool
is_no(const char *v)
{
	return strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0;
}

/* The mapped spelling of v in map ("in:out ..."), into out; -1 if v is not
 * one of the inputs. */
static int
map_value(const char *map, const char *v, char *out, size_t outlen)
{
	const char *p = map, *colon, *end;
	size_t n = strlen(v);

	while (*p != '\0') {
		colon = strchr(p, ':');
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		if (colon == NULL || colon > end)
			return -1;
		if ((size_t)(colon - p) == n && strncasecmp(p, v, n) == 0) {
			snprintf(out, outlen, "%.*s", (int)(end - colon - 1),
			    colon + 1);
			return 0;
		}
		p = *end == ' ' ? end + 1 : end;
	}
	return -1;
}

long
sshkw_convtime(const char *s)
{
	int v;

	return cfgval_time(s, &v) == 0 ? v : -1;
}

int
sshkw_check(int kw, char **a, int n, char *err, size_t errlen)
{
	const struct kw *k = &table[kw];
	char out[64], *end;
	long v;

	if (n > k->max_args) {
		snprintf(err, errlen, "%s: too many arguments", k->name);
		return -1;
	}
	if (a[0][0] == '\0') {
		snprintf(err, errlen, "%s: missing argument", k->name);
		return -1;
	}
	switch (k->kind) {
	case PK_FLAG:
		if (!is_yes(a[0]) && !is_no(a[0]))
			goto bad;
		break;
	case PK_MAP:
		if (k->map == NULL)
			break;
		if (map_value(k->map, a[0], out, sizeof(out)) != 0 &&
		    !(kw == sshkw_find("AddKeysToAgent") &&
		    sshkw_convtime(a[0]) >= 0))
			goto bad;
		break;
	case PK_INT:
		v = strtol(a[0], &end, 10);
		if (*end != '\0' || v < 0 || v > 2147483647L) {
			snprintf(err, errlen, "%s: integer value invalid "
			    "('%s')", k->name, a[0]);
			return -1;
		}
		break;
	case PK_TIME:
		if (sshkw_convtime(a[0]) < 0) {
			snprintf(err, errlen, "%s: invalid time value '%s'",
			    k->name, a[0]);
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s: unsupported option \"%s\"", k->name, a[0]);
	return -1;
}

static int
refuse(const struct kw *k, char **a, char *err, size_t errlen)
{
	const char *v = a[0];

	switch (k->refuse) {
	case RF_NONE:
		return 0;
	case RF_ALWAYS:
		if (is_none_off(k, v))
			return 0;
		break;
	case RF_YES:
		if (is_no(v))
			return 0;
		break;
	case RF_NO:
		if (!is_no(v))
			return 0;
		break;
	}
	snprintf(err, errlen, "%s %s is not supported: %s", k->name, v,
	    k->why);
	return -1;
}

static struct sshkw_value *
stored(const struct options *o, int kw)
{
	int i;

	for (i = 0; i < o->nsshkw; i++)
		if (o->sshkw[i].kw == kw)
			return &o->sshkw[i];
	return NULL;
}

int
sshkw_apply(struct options *o, int kw, char **a, int n, char *err,
    size_t errlen)
{
	const struct kw *k = &table[kw];
	struct sshkw_value *v, *nv;
	char **args;
	int i, start;

	if (sshkw_check(kw, a, n, err, errlen) != 0)
		return -1;
	v = stored(o, kw);
	/* SendEnv and the like add up; the rest: first value wins */
	if (v != NULL && !(k->kind == PK_EACH && strcasecmp(k->name,
	    "SetEnv") != 0))
		return 0;
	if (v == NULL && refuse(k, a, err, errlen) != 0)
		return -1;
	if (v == NULL) {
		if ((nv = realloc(o->sshkw, (size_t)(o->nsshkw + 1) *
		    sizeof(*nv))) == NULL)
			goto nomem;
		o->sshkw = nv;
		v = &nv[o->nsshkw++];
		v->kw = kw;
		v->args = NULL;
		v->nargs = 0;
	}
	if ((args = realloc(v->args, (size_t)(v->nargs + n) *
	    sizeof(*args))) == NULL)
		goto nomem;
	v->args = args;
	start = v->nargs;
	for (i = 0; i < n; i++) {
		if ((args[start + i] = strdup(a[i])) == NULL)
			goto nomem;
		v->nargs++;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static void
lower(const char *s, FILE *fp)
{
	for (; *s != '\0'; s++)
		fputc(tolower((unsigned char)*s), fp);
}

static void
print_one(const struct sshkw_value *v, FILE *fp)
{
	const struct kw *k = &table[v->kw];
	char out[64];
	const char *s;
	int i;

	if (k->kind == PK_HIDDEN || is_none_off(k, v->args[0]))
		return;
	if (k->kind == PK_EACH) {
		for (i = 0; i < v->nargs; i++) {
			lower(k->name, fp);
			fprintf(fp, " %s\n", v->args[i]);
		}
		return;
	}
	/* ssh -G's own spelling of this one */
	if (strcmp(k->name, "CanonicalizePermittedCNAMEs") == 0)
		fputs("canonicalizePermittedcnames", fp);
	else
		lower(k->name, fp);
	switch (k->kind) {
	case PK_FLAG:
		fprintf(fp, " %s\n", is_yes(v->args[0]) ? "yes" : "no");
		return;
	case PK_MAP:
		if (map_value(k->map, v->args[0], out, sizeof(out)) == 0)
			fprintf(fp, " %s\n", out);
		else
			fprintf(fp, " %ld\n", sshkw_convtime(v->args[0]));
		return;
	case PK_TIME:
		fprintf(fp, " %ld\n", sshkw_convtime(v->args[0]));
		return;
	case PK_UPPER:
		fputc(' ', fp);
		for (s = v->args[0]; *s != '\0'; s++)
			fputc(toupper((unsigned char)*s), fp);
		fputc('\n', fp);
		return;
	case PK_ARGS:
		for (i = 0; i < v->nargs; i++)
			fprintf(fp, " %s", v->args[i]);
		/* IPQoS with one value is that value for both classes */
		if (strcmp(k->name, "IPQoS") == 0 && v->nargs == 1)
			fprintf(fp, " %s", v->args[0]);
		fputc('\n', fp);
		return;
	default:
		/* ControlPersist 10m: ssh prints seconds */
		if (strcmp(k->name, "ControlPersist") == 0 &&
		    sshkw_convtime(v->args[0]) >= 0)
			fprintf(fp, " %ld\n", sshkw_convtime(v->args[0]));
		else
			fprintf(fp, " %s\n", v->args[0]);
		return;
	}
}

/* What ssh -G prints for a keyword nobody set (OpenSSH 9.2's defaults). */
static const struct {
	const char	*name;
	const char	*text;
} defaults[] = {
	{ "AddKeysToAgent", "false" }, { "CanonicalDomains", "none" },
	{ "CanonicalizeFallbackLocal", "yes" },
	{ "CanonicalizeHostname", "false" }, { "CanonicalizeMaxDots", "1" },
	{ "CanonicalizePermittedCNAMEs", "none" },
	{ "ClearAllForwardings", "no" },
	{ "ControlMaster", "false" }, { "ControlPersist", "no" },
	{ "EnableEscapeCommandline", "no" }, { "EnableSSHKeysign", "no" },
	{ "EscapeChar", "~" }, { "FingerprintHash", "SHA256" },
	{ "ForkAfterAuthentication", "no" }, { "ForwardAgent", "no" },
	{ "ForwardX11", "no" }, { "ForwardX11Timeout", "1200" },
	{ "ForwardX11Trusted", "yes" }, { "GSSAPIAuthentication", "no" },
	{ "GSSAPIDelegateCredentials", "no" },
	{ "GSSAPIKexAlgorithms", "gss-group14-sha256-,gss-group16-sha512-,"
	    "gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,"
	    "gss-gex-sha1-" },
	{ "GSSAPIKeyExchange", "no" }, { "GSSAPIRenewalForcesRekey", "no" },
	{ "GSSAPITrustDns", "no" },
	{ "HostbasedAcceptedAlgorithms", "ssh-ed25519-cert-v01@openssh.com,"
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com,"
	    "ecdsa-sha2-nistp384-cert-v01@openssh.com,"
	    "ecdsa-sha2-nistp521-cert-v01@openssh.com,"
	    "sk-ssh-ed25519-cert-v01@openssh.com,"
	    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"
	    "rsa-sha2-512-cert-v01@openssh.com,"
	    "rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,"
	    "ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,"
	    "sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256" },
	{ "HostbasedAuthentication", "no" },
	{ "IPQoS", "lowdelay throughput" },
	{ "KbdInteractiveAuthentication", "yes" },
	{ "LogVerbose", "none" }, { "NoHostAuthenticationForLocalhost", "no" },
	{ "NumberOfPasswordPrompts", "3" }, { "PasswordAuthentication", "yes" },
	{ "PermitLocalCommand", "no" }, { "ProxyUseFdpass", "no" },
	{ "PubkeyAuthentication", "true" }, { "RequestTTY", "auto" },
	{ "SecurityKeyProvider", "internal" },
	{ "SessionType", "default" }, { "StdinNull", "no" },
	{ "SyslogFacility", "USER" }, { "Tunnel", "false" },
	{ "TunnelDevice", "any:any" },
	{ "VerifyHostKeyDNS", "false" }, { "VisualHostKey", "no" },
	{ "XAuthLocation", "/usr/bin/xauth" },
};

/* The keyword's line with its default, when it has one. */
static void
print_default(int kw, FILE *fp)
{
	size_t i;

	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (strcmp(defaults[i].name, table[kw].name) == 0) {
			if (strcmp(table[kw].name,
			    "CanonicalizePermittedCNAMEs") == 0)
				fputs("canonicalizePermittedcnames", fp);
			else
				lower(table[kw].name, fp);
			fprintf(fp, " %s\n", defaults[i].text);
			return;
		}
}

void
sshkw_print(const struct options *o, FILE *fp)
{
	int kw;
	const struct sshkw_value *v;

	for (kw = 0; kw < NTABLE; kw++) {
		if ((v = stored(o, kw)) != NULL)
			print_one(v, fp);
		else if (table[kw].alias_of == NULL)
			print_default(kw, fp);
	}
}

void
sshkw_note_unused(const struct options *o)
{
	static unsigned char noted[NTABLE];
	int i, kw;

	for (i = 0; i < o->nsshkw; i++) {
		kw = o->sshkw[i].kw;
		if (kw < 0 || kw >= NTABLE || noted[kw])
			continue;
		noted[kw] = 1;
		log_verbose("keyword %s is accepted but has no effect in "
		    "ferry%s", table[kw].name, table[kw].kind == PK_HIDDEN ?
		    " (OpenSSH ignores it too)" : "");
	}
}

const char *
sshkw_first(const struct options *o, const char *name)
{
	const struct sshkw_value *v;
	int kw = sshkw_find(name);

	if (kw < 0 || (v = stored(o, kw)) == NULL || v->nargs < 1)
		return NULL;
	return v->args[0];
}

bool
sshkw_wants_final_pass(const struct options *o)
{
	const struct sshkw_value *v;

	v = stored(o, sshkw_find("CanonicalizeHostname"));
	return v != NULL && !is_no(v->args[0]);
}

void
sshkw_free(struct options *o)
{
	int i, j;

	for (i = 0; i < o->nsshkw; i++) {
		for (j = 0; j < o->sshkw[i].nargs; j++)
			free(o->sshkw[i].args[j]);
		free(o->sshkw[i].args);
	}
	free(o->sshkw);
	o->sshkw = NULL;
	o->nsshkw = 0;
}
