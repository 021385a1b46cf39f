/* A server's host certificate judged as ssh(1) judges it: trusted when an
 * @cert-authority line for the host lists its CA and the certificate is a
 * valid host certificate naming the host; refused when the CA or the host
 * key is @revoked; otherwise the plain key inside it goes through the
 * usual known_hosts check (cli_hostkey.c). */
#include "cli_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "keys/cert.h"
#include "keys/key.h"
#include "keys/known_hosts.h"
#include "ssh/alglist.h"
#include "util/log.h"
#include "util/text.h"

#define NAME_MAX_LEN	1100

/* The name the certificate must list: HostKeyAlias, or the host name
 * (lower case, as ssh compares it), without the port. */
static void
principal_name(const struct options *o, char *out, size_t outlen)
{
	size_t i;

	snprintf(out, outlen, "%s", o->host_key_alias != NULL ?
	    o->host_key_alias : o->hostname);
	for (i = 0; out[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
}

/* Whether CASignatureAlgorithms allows the CA's signature algorithm. */
static bool
sig_alg_allowed(const struct options *o, const char *alg)
{
	return ssh_algs_has(o->ca_sign_algs != NULL ? o->ca_sign_algs :
	    alg_kind_ca_sign.def, alg);
}

/* ssh's authority checks on a certificate from a trusted CA; NULL if it
 * passes, else the reason in ssh's words. */
static const char *
authority_problem(const struct cert *c, const char *principal)
{
	uint64_t now = (uint64_t)time(NULL);
	int i;

	if (c->type != CERT_HOST)
		return "Certificate invalid: not a host certificate";
	if (now < c->valid_after)
		return "Certificate invalid: not yet valid";
	if (now >= c->valid_before)
		return "Certificate invalid: expired";
	/* an empty list would name every host: current OpenSSH refuses it */
	if (c->nprincipals == 0)
		return "Certificate lacks principal list";
	for (i = 0; i < c->nprincipals; i++)
		if (strcmp(c->principals[i], principal) == 0)
			return NULL;
	return "Certificate invalid: name is not a listed principal";
}

/* Logs at -v which certificate and which CA were accepted. */
static void
log_accepted(const struct cert *c, const char *label,
    const struct kh_result *ca)
{
	char fp[128], cafp[128], id[4 * 64 + 1];

	key_fingerprint(c->key, fp, sizeof(fp));
	key_fingerprint(c->ca, cafp, sizeof(cafp));
	text_safe(id, sizeof(id), c->key_id, false);
	log_verbose("Server host certificate: %s %s, serial %llu ID \"%s\" "
	    "CA %s %s", label, fp, (unsigned long long)c->serial, id,
	    key_type_label(c->ca), cafp);
	log_verbose("Host certificate accepted: signed by the CA in %s:%d",
	    ca->file, ca->line);
}

/* The checks ssh makes once a CA line for the host lists the CA. */
static enum hc_verdict
judge(struct client *cl, const struct cert *c, const char *label,
    const struct kh_result *ca)
{
	const struct options *o = cl->o;
	char principal[NAME_MAX_LEN], err[256];
	const char *why;

	principal_name(o, principal, sizeof(principal));
	/* an algorithm left out is not accepted, whether ferry could verify
	 * it or not; a signature that does not verify is a forgery */
	if (!sig_alg_allowed(o, c->sig_alg)) {
		log_info("%scertificate signature algorithm %s: not in "
		    "CASignatureAlgorithms", cl->tag, c->sig_alg);
		return HC_PLAIN;
	}
	if (cert_verify(c, err, sizeof(err)) != 0) {
		log_error("%sHost certificate for %s refused: %s", cl->tag,
		    principal, err);
		return HC_REFUSE;
	}
	if ((why = authority_problem(c, principal)) != NULL) {
		log_error("%s%s", cl->tag, why);
		return HC_PLAIN;
	}
	if (c->ncrit != 0) {
		log_error("%sCertificate for %s contains unsupported critical "
		    "options(s)", cl->tag, principal);
		return HC_PLAIN;
	}
	log_accepted(c, label, ca);
	return HC_ACCEPT;
}

enum hc_verdict
cli_hostcert_check(struct client *cl, const struct cert *c)
{
	const struct options *o = cl->o;
	struct kh_result hk, ca;
	const char *host, *f;
	char name[NAME_MAX_LEN], label[48], err[256];
	int i, port;

	cli_kh_lookup_name(o, &host, &port);
	kh_hostname(host, port, name, sizeof(name));
	snprintf(label, sizeof(label), "%s-CERT", key_type_label(c->key));
	memset(&hk, 0, sizeof(hk));
	memset(&ca, 0, sizeof(ca));
	hk.status = ca.status = KH_NEW;
	for (i = 0; (f = cli_kh_file(o, i)) != NULL; i++) {
		if (f[0] == '\0')
			continue;
		if (kh_check_file(f, host, port, c->key, &hk, err,
		    sizeof(err)) != 0 ||
		    kh_check_ca_file(f, host, port, c->ca, &ca, err,
		    sizeof(err)) != 0)
			log_info("%s", err);
	}
	if (hk.status == KH_REVOKED || ca.status == KH_REVOKED) {
		cli_hostkey_revoked(cl, label, name);
		return HC_REFUSE;
	}
	if (ca.status == KH_CHANGED) {
		log_verbose("Host certificate authority does not match "
		    "@cert-authority in %s:%d", ca.file, ca.line);
		return HC_PLAIN;
	}
	if (ca.status != KH_MATCH)
		return HC_PLAIN;
	log_verbose("Host '%s' is known and matches the %s host certificate.",
	    name, label);
	log_verbose("Found CA key in %s:%d", ca.file, ca.line);
	return judge(cl, c, label, &ca);
}
