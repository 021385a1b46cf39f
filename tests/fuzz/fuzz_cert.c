/* libFuzzer target: the input as a certificate blob and as a -cert.pub
 * line. A certificate that parses is checked, verified and offered (the
 * calls a client and a server make, ferryd's verdict and its reading of
 * the critical options included), which must not crash whatever the
 * fields say; a refusal's reason must be printable. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "keys/cert.h"
#include "keys/certauth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ferryd's verdict, whole and on the critical options alone. */
static void
judge(const struct cert *c)
{
	static const char *const ips[] = { "10.1.2.3", "2001:db8::1",
	    "127.0.0.1" };
	struct certauth_req r = { "ssh-ed25519,ecdsa-sha2-nistp256,"
	    "rsa-sha2-512,rsa-sha2-256", NULL, "root", 1700000000ULL };
	struct certauth_grant g;
	char why[1024];
	const char *s;
	size_t i;

	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		r.client_ip = ips[i];
		why[0] = '\0';
		if (certauth_critical(c, &r, why, sizeof(why)) != CERTAUTH_OK)
			for (s = why; *s != '\0'; s++)
				if ((unsigned char)*s < ' ' || *s == 0x7f)
					abort();
	}
	(void)certauth_check(c, &r, &g, why, sizeof(why));
}

static void
exercise(const struct cert *c)
{
	char err[256];
	int i;

	judge(c);
	(void)cert_verify(c, err, sizeof(err));
	(void)cert_check(c, CERT_USER, "root", false, 1700000000ULL, err,
	    sizeof(err));
	(void)cert_check(c, CERT_HOST, "host.example", true, 0, err,
	    sizeof(err));
	(void)cert_opt(c->crit, c->ncrit, "force-command");
	(void)cert_opt(c->ext, c->next, "permit-port-forwarding");
	(void)cert_auth_alg(c, true);
	if (c->signed_len > c->bloblen || c->nprincipals > CERT_MAX_PRINCIPALS)
		abort();
	for (i = 0; i < c->nprincipals; i++)
		if (c->principals[i] == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cert *c;
	char err[256];

	if (cert_parse(data, size, &c, err, sizeof(err)) == 0) {
		exercise(c);
		cert_free(c);
	}
	if (cert_parse_line((const char *)data, size, &c, err,
	    sizeof(err)) == 0) {
		exercise(c);
		cert_free(c);
	}
	return 0;
}
