/* libFuzzer target: the input as an OpenSSH KRL (keys/krl.h), checked
 * alone, then asked about a plain key and a certificate whose fields
 * come from the input's last bytes, so that the serial, key ID and CA
 * comparisons are reached. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys/krl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct krl_query q;
	char err[256];
	size_t tail = size < 64 ? size : 64;
	int r1, r2;

	r1 = krl_check(data, size, NULL, err, sizeof(err));
	if (r1 != KRL_NOT_REVOKED && r1 != -1)
		abort();	/* without a query nothing is revoked */
	memset(&q, 0, sizeof(q));
	q.key_blob = data + size - tail;
	q.key_bloblen = tail;
	if (krl_query_hashes(&q) != 0)
		return 0;
	q.cert = true;
	q.key_id = "ferry-user";
	q.serial = 42;
	if (size >= 8)
		memcpy(&q.serial, data + size - 8, 8);
	q.ca_blob = data + size - tail;
	q.ca_bloblen = tail;
	r2 = krl_check(data, size, &q, err, sizeof(err));
	if (r2 != KRL_NOT_REVOKED && r2 != KRL_REVOKED && r2 != -1)
		abort();
	return 0;
}
