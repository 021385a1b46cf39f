/* One destination's host key check, as ssh(1) makes it: the server's key
 * looked up under the host's known_hosts name (or HostKeyAlias) in the
 * UserKnownHostsFile and GlobalKnownHostsFile files; a new key recorded
 * in the first user file, refused, or asked about on the terminal
 * (StrictHostKeyChecking). A host certificate is judged first by
 * cli_hostcert.c. */
#include "cli_int.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "keys/key.h"
#include "keys/known_hosts.h"
#include "keys/revoked.h"
#include "util/log.h"
#include "util/text.h"

#define MAX_OTHER_NAMES	8	/* the other names a question lists */
#define QUESTION_MAX	8192

/* The name and port the known_hosts files are searched for: the alias
 * stands alone, without the port. */
void
cli_kh_lookup_name(const struct options *o, const char **host, int *port)
{
	if (o->host_key_alias != NULL) {
		*host = o->host_key_alias;
		*port = 0;
	} else {
		*host = o->hostname;
		*port = o->port;
	}
}

/* Every file searched, user files first: i counts through both; "none"
 * is skipped (returned as ""). */
const char *
cli_kh_file(const struct options *o, int i)
{
	const char *f;

	if (i < o->nknown_hosts)
		f = o->known_hosts[i];
	else if (i - o->nknown_hosts < o->nglobal_known_hosts)
		f = o->global_known_hosts[i - o->nknown_hosts];
	else
		return NULL;
	return strcasecmp(f, "none") == 0 ? "" : f;
}

static bool
is_none(const char *path)
{
	return path[0] == '\0' || strcasecmp(path, "none") == 0;
}

static const char *
kh_file(const struct options *o, int i)
{
	return cli_kh_file(o, i);
}

static const char *
alg_for_type(unsigned type)
{
	switch (type) {
	case KEY_ED25519:
		return "ssh-ed25519";
	case KEY_ECDSA_P256:
		return "ecdsa-sha2-nistp256";
	default:
		return "rsa-sha2-512,rsa-sha2-256";
	}
}

/* The certificate algorithms ferry has, after what buf holds. */
static void
add_cert_algs(char *buf, size_t len)
{
	static const char *const algs[] = {
		"ssh-ed25519-cert-v01@openssh.com",
		"ecdsa-sha2-nistp256-cert-v01@openssh.com",
		"rsa-sha2-512-cert-v01@openssh.com",
		"rsa-sha2-256-cert-v01@openssh.com",
	};
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (strlen(buf) + strlen(algs[i]) + 2 > len)
			continue;
		if (buf[0] != '\0')
			strcat(buf, ",");
		strcat(buf, algs[i]);
	}
}

/* HostKeyAlgorithms as given, as ssh takes it. Without it, the types
 * known_hosts lists for this host first, as ssh orders them, so a known
 * key is asked for; when an @cert-authority line is for the host, the
 * certificate algorithms come before all (ssh prefers the algorithms
 * known_hosts has keys for). */
char *
cli_hostkey_algs(const struct client *cl)
{
	static const unsigned order[] = { KEY_ED25519, KEY_ECDSA_P256,
	    KEY_RSA };
	char buf[512] = "";
	const char *host, *f;
	unsigned known = 0, t;
	bool ca = false;
	int i, pass, port;

	if (cl->o->hostkey_algs != NULL)
		return strdup(cl->o->hostkey_algs);
	cli_kh_lookup_name(cl->o, &host, &port);
	for (i = 0; (f = kh_file(cl->o, i)) != NULL; i++)
		if (!is_none(f))
			kh_known_types(f, host, port, &known, &ca);
	if (ca)
		add_cert_algs(buf, sizeof(buf));
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < 3; i++) {
			t = order[i];
			if (((known >> t) & 1) != (pass == 0 ? 1u : 0u))
				continue;
			if (buf[0] != '\0')
				strcat(buf, ",");
			strcat(buf, alg_for_type(t));
		}
	return strdup(buf);
}

#define AT_LINE	"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@"

void
cli_plain_lines(const char *fmt, ...)
{
	char text[4096], *line, *nl;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (line = text; line != NULL; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		log_plain("%s", line);
	}
}

static void
changed_warning(const struct options *o, const struct key *k,
    const struct kh_result *res, const char *name)
{
	char fp[128];

	key_fingerprint(k, fp, sizeof(fp));
	cli_plain_lines(AT_LINE "\n"
	    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
	    AT_LINE "\n"
	    "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
	    "Someone could be eavesdropping on you right now "
	    "(man-in-the-middle attack)!\n"
	    "It is also possible that a host key has just been changed.\n"
	    "The fingerprint for the %s key sent by the remote host is\n%s.\n"
	    "Please contact your system administrator.\n"
	    "Add correct host key in %s to get rid of this message.\n"
	    "Offending %s key in %s:%d\n"
	    "  remove with:\n"
	    "  ssh-keygen -f \"%s\" -R \"%s\"",
	    key_type_label(k), fp, o->nknown_hosts > 0 ? o->known_hosts[0] :
	    "none", key_type_label(k), res->file, res->line, res->file, name);
	if (o->strict != SHK_NO)
		log_plain("Host key for %s has changed and you have requested "
		    "strict checking.", name);
}

/* A changed or revoked key under StrictHostKeyChecking no. ssh goes on,
 * but with port forwarding disabled "to avoid man-in-the-middle attacks"
 * (and with ExitOnForwardFailure it exits with the error below). ferry's
 * only purpose is forwarding, so a connection without it is useless:
 * ferry says what ssh says and refuses, whatever ExitOnForwardFailure
 * says. Its publickey authentication, which ssh keeps, would prove
 * nothing to a host that may be an impostor either. */
static void
unsafe_refused(struct client *cl)
{
	log_plain("%sPort forwarding is disabled to avoid man-in-the-middle "
	    "attacks.", cl->tag);
	cl->fail_why = "Error: forwarding disabled due to host key check "
	    "failure";
}

void
cli_hostkey_revoked(struct client *cl, const char *label, const char *name)
{
	cli_plain_lines(AT_LINE "\n"
	    "@       WARNING: REVOKED HOST KEY DETECTED!               @\n"
	    AT_LINE "\n"
	    "The %s host key for %s is marked as revoked.\n"
	    "This could mean that a stolen key is being used to\n"
	    "impersonate this host.", label, name);
	if (cl->o->strict == SHK_NO)
		unsafe_refused(cl);
	else
		log_plain("%s host key for %s was revoked and you have "
		    "requested strict checking.", label, name);
}

/* Records the key in the first user file, as ssh does once trusted:
 * under the host's name (name), and the address's too when CheckHostIP
 * found it missing. */
static void
record(struct client *cl, const struct key *k, const char *name,
    const struct hostip *ip)
{
	struct options *o = cl->o;
	const char *names[2] = { name, ip->name };
	int n = ip->on && ip->res.status == KH_NEW ? 2 : 1;
	char err[256];

	if (o->nknown_hosts == 0 || is_none(o->known_hosts[0])) {
		log_plain("Failed to add the host to the list of known hosts "
		    "(none).");
		return;
	}
	if (kh_add_names(o->known_hosts[0], names, n, k, o->hash_known_hosts,
	    err, sizeof(err)) != 0)
		log_error("Failed to add the host to the list of known hosts "
		    "(%s): %s", o->known_hosts[0], err);
	else
		log_plain("%sWarning: Permanently added '%s%s%s' (%s) to the "
		    "list of known hosts.", cl->tag, name, n == 2 ? "," : "",
		    n == 2 ? ip->name : "", key_type_label(k));
}

/* The host's key is trusted: CheckHostIP's last word, then the verdict
 * (now, or once a question on the terminal was answered). */
static void
trusted(struct client *cl, const struct key *k, const char *name,
    const struct kh_result *host, const struct hostip *ip, bool *accept,
    bool *defer)
{
	switch (cli_hostip_differs(cl, k, name, host, ip)) {
	case HIP_GO:
		*accept = true;
		return;
	case HIP_ASKING:
		*defer = true;
		return;
	case HIP_REFUSE:
		cl->fatal = true;	/* never retried */
		return;
	}
}

/* The names other lines give the same key, for the question. */
struct other_names {
	struct wb	*text;
	const char	*home;
	int		 n;
};

static void
other_name(void *ud, const char *path, int lineno, const char *hosts,
    size_t hlen)
{
	struct other_names *on = ud;
	size_t hl = strlen(on->home);
	char raw[1100], safe[4400], line[5000];

	if (++on->n > MAX_OTHER_NAMES)
		return;
	if (hlen > 0 && hosts[0] == '|')
		snprintf(raw, sizeof(raw), "[hashed name]");
	else
		snprintf(raw, sizeof(raw), "%.*s", (int)(hlen < sizeof(raw) ?
		    hlen : sizeof(raw) - 1), hosts);
	text_safe(safe, sizeof(safe), raw, false);
	/* ssh writes the home directory as ~ */
	if (hl > 1 && strncmp(path, on->home, hl) == 0 && path[hl] == '/')
		snprintf(line, sizeof(line), "\n    ~%s:%d: %s", path + hl,
		    lineno, safe);
	else
		snprintf(line, sizeof(line), "\n    %s:%d: %s", path, lineno,
		    safe);
	wb_put(on->text, line, strlen(line));
}

static void
add_other_names(const struct client *cl, const struct key *k, struct wb *q)
{
	struct passwd *pw = getpwuid(getuid());
	struct other_names on;
	struct wb names;
	const char *host, *f;
	char more[80];
	int i, port;

	wb_init(&names);
	on.text = &names;
	on.home = pw != NULL ? pw->pw_dir : "";
	on.n = 0;
	cli_kh_lookup_name(cl->o, &host, &port);
	for (i = 0; (f = kh_file(cl->o, i)) != NULL; i++)
		if (!is_none(f))
			kh_other_names(f, host, port, k, other_name, &on,
			    NULL, 0);
	if (on.n == 0) {
		const char *none = "This key is not known by any other names.";

		wb_put(q, none, strlen(none));
	} else {
		const char *h = "This host key is known by the following "
		    "other names/addresses:";

		wb_put(q, h, strlen(h));
		wb_put(q, names.p, names.len);
		if (on.n > MAX_OTHER_NAMES) {
			snprintf(more, sizeof(more), "\n    (%d additional "
			    "names omitted)", on.n - MAX_OTHER_NAMES);
			wb_put(q, more, strlen(more));
		}
	}
	wb_free(&names);
}

/* ssh's question about a new host. Returns a malloc'd string or NULL. */
static char *
question(const struct client *cl, const struct key *k, const char *name,
    const char *fp)
{
	static const char sure[] = "\nAre you sure you want to continue "
	    "connecting (yes/no/[fingerprint])? ";
	const struct options *o = cl->o;
	const char *ip = cl->nc != NULL ? net_conn_peer_ip(cl->nc) : "";
	char addr[128], head[1700];
	struct wb q;
	char *s = NULL;

	if (o->proxy_run != NULL)
		snprintf(addr, sizeof(addr), "<no hostip for proxy command>");
	else if (o->port != 22)
		snprintf(addr, sizeof(addr), "[%s]:%d", ip, o->port);
	else
		snprintf(addr, sizeof(addr), "%s", ip);
	snprintf(head, sizeof(head), "The authenticity of host '%s (%s)' "
	    "can't be established.\n%s key fingerprint is %s.\n", name, addr,
	    key_type_label(k), fp);
	wb_init(&q);
	wb_put(&q, head, strlen(head));
	add_other_names(cl, k, &q);
	wb_put(&q, sure, strlen(sure));
	wb_u8(&q, '\0');
	/* names from the configuration reach the terminal escaped */
	if (!q.err && q.len < QUESTION_MAX &&
	    (s = malloc(4 * q.len + 1)) != NULL)
		text_safe(s, 4 * q.len + 1, (const char *)q.p, true);
	wb_free(&q);
	return s;
}

static void
answered(void *ud, bool yes)
{
	struct client *cl = ud;
	struct key *k = cl->hk_key;
	struct kh_result host;
	const char *h;
	char name[1100];
	bool accept = false, defer = false;
	int port;

	cl->hk_prompt = NULL;
	cl->hk_key = NULL;
	if (yes) {
		cli_kh_lookup_name(cl->o, &h, &port);
		kh_hostname(h, port, name, sizeof(name));
		record(cl, k, name, &cl->hk_ip);
		memset(&host, 0, sizeof(host));
		host.status = KH_NEW;
		trusted(cl, k, name, &host, &cl->hk_ip, &accept, &defer);
	} else
		cl->fatal = true;	/* never retried */
	key_free(k);
	if (!defer && cl->nc != NULL)
		net_conn_hostkey_verdict(cl->nc, accept);
}

/* Keeps a copy of the key beyond the event. */
static struct key *
key_copy(const struct key *k)
{
	struct key *c = NULL;
	struct wb blob;

	wb_init(&blob);
	if (key_to_blob(k, &blob) != 0 ||
	    key_from_blob(blob.p, blob.len, &c, NULL, 0) != 0)
		c = NULL;
	wb_free(&blob);
	return c;
}

/* A key known nowhere, under StrictHostKeyChecking ask: the question on
 * the terminal, or a refusal without one (or in batch mode). */
static void
ask(struct client *cl, struct ssh_event *ev, const char *name,
    const char *fp)
{
	const struct key *k = ev->u.hostkey.key;
	char err[256], *q;

	if (cl->o->batch_mode)
		return;
	if (!hk_prompt_have_tty(err, sizeof(err))) {
		log_verbose("read_passphrase: %s", err);
		return;
	}
	if ((q = question(cl, k, name, fp)) == NULL ||
	    (cl->hk_key = key_copy(k)) == NULL) {
		free(q);
		return;
	}
	cl->hk_prompt = hk_prompt_ask(cl->loop, q, fp, answered, cl);
	free(q);
	if (cl->hk_prompt == NULL) {
		key_free(cl->hk_key);
		cl->hk_key = NULL;
		return;
	}
	ev->u.hostkey.defer = true;
}

/* Looks the key up in every file: user files, then global ones. */
static void
lookup(const struct client *cl, const struct key *k, struct kh_result *res)
{
	const char *host, *f;
	char err[256];
	int i, port;

	cli_kh_lookup_name(cl->o, &host, &port);
	memset(res, 0, sizeof(*res));
	res->status = KH_NEW;
	for (i = 0; (f = kh_file(cl->o, i)) != NULL; i++)
		if (!is_none(f) && kh_check_file(f, host, port, k, res, err,
		    sizeof(err)) != 0)
			log_info("%s", err);
}

/* RequiredRSASize and RevokedHostKeys (read at every check, as ssh reads
 * it): whether the key, or the certificate c (NULL: none) it came in,
 * may be judged at all. A file that cannot be used refuses, as in ssh. */
static bool
key_allowed(struct client *cl, const struct key *k, const struct cert *c)
{
	const struct options *o = cl->o;
	const char *path = o->revoked_host_keys;
	char label[48], fp[128], why[300];

	if (k->type == KEY_RSA && key_bits(k) < o->required_rsa_size) {
		log_error("%sBad server host key: Invalid key length (%d bits, "
		    "RequiredRSASize %d)", cl->tag, key_bits(k),
		    o->required_rsa_size);
		return false;
	}
	if (path == NULL)
		return true;
	snprintf(label, sizeof(label), "%s%s", key_type_label(k),
	    c != NULL ? "-CERT" : "");
	key_fingerprint(k, fp, sizeof(fp));
	switch (revoked_file_check(path, k, c, why, sizeof(why))) {
	case REVOKED_NO:
		return true;
	case REVOKED_YES:
		log_error("%sHost key %s %s revoked by file %s", cl->tag, label,
		    fp, path);
		return false;
	default:
		log_error("%sError checking host key %s %s in revoked keys "
		    "file %s: %s", cl->tag, label, fp, path, why);
		return false;
	}
}

/* The plain key against the known_hosts files, by ssh's rules; a changed
 * or revoked key is refused whatever StrictHostKeyChecking says (with
 * "no" in ssh's words for disabling forwarding, see unsafe_refused),
 * since forwarding over it is exactly what an attacker would want. */
static void
by_known_hosts(struct client *cl, struct ssh_event *ev)
{
	const struct key *k = ev->u.hostkey.key;
	struct options *o = cl->o;
	struct kh_result res;
	struct hostip *ip = &cl->hk_ip;
	const char *host;
	char name[1100], fp[128];
	int port;

	lookup(cl, k, &res);
	cli_hostip_lookup(cl, k, ev->u.hostkey.cert != NULL, &res, ip);
	cli_kh_lookup_name(o, &host, &port);
	kh_hostname(host, port, name, sizeof(name));
	key_fingerprint(k, fp, sizeof(fp));
	if (o->host_key_alias != NULL)
		log_verbose("using hostkeyalias: %s", o->host_key_alias);
	switch (res.status) {
	case KH_MATCH:
		log_verbose("Host '%s' is known and matches the %s host key.",
		    name, key_type_label(k));
		cli_hostip_record(cl, k, ip);
		trusted(cl, k, name, &res, ip, &ev->u.hostkey.accept,
		    &ev->u.hostkey.defer);
		return;
	case KH_REVOKED:
		cli_hostkey_revoked(cl, key_type_label(k), name);
		break;
	case KH_CHANGED:
		cli_hostip_spoofing(cl, k, name, &res, ip);
		changed_warning(o, k, &res, name);
		if (o->strict == SHK_NO)
			unsafe_refused(cl);
		break;
	case KH_NEW:
		if (o->strict == SHK_NO || o->strict == SHK_ACCEPT_NEW) {
			record(cl, k, name, ip);
			trusted(cl, k, name, &res, ip, &ev->u.hostkey.accept,
			    &ev->u.hostkey.defer);
			return;
		}
		if (o->strict == SHK_YES)
			log_error("%sNo %s host key is known for %s and you "
			    "have requested strict checking.", cl->tag,
			    key_type_label(k), name);
		else
			ask(cl, ev, name, fp);
		if (ev->u.hostkey.defer)
			return;
		break;
	}
	cl->fatal = true;	/* never retried */
}

void
cli_host_key_event(struct client *cl, struct ssh_event *ev)
{
	const struct cert *c = ev->u.hostkey.cert;

	ev->u.hostkey.accept = false;
	if (!key_allowed(cl, ev->u.hostkey.key, c)) {
		cl->fatal = true;	/* never retried */
		return;
	}
	if (c != NULL) {
		switch (cli_hostcert_check(cl, c)) {
		case HC_ACCEPT:
			ev->u.hostkey.accept = true;
			return;
		case HC_REFUSE:
			cl->fatal = true;	/* never retried */
			return;
		case HC_PLAIN:
			log_verbose("No matching CA found. Retry with plain "
			    "key");
			break;
		}
	}
	by_known_hosts(cl, ev);
}

void
cli_hostkey_reset(struct client *cl)
{
	hk_prompt_cancel(cl->hk_prompt);
	cl->hk_prompt = NULL;
	key_free(cl->hk_key);
	cl->hk_key = NULL;
}
