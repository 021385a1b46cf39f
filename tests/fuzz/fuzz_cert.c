/* libFuzzer target: the input as a certificate blob and as a -cert.pub
 * line. A certificate that parses is checked, verified and offered (the
 * calls a client and a server make), which must not crash whatever the
 * fields say. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "keys/cert.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
exercise(const struct cert *c)
{
	char err[256];
	int i;

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
