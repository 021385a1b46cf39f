/* libFuzzer target: what a fleet node reads back from etcd besides
 * etcd's own answers (fuzz_etcd): a forward's record (server/fleet_rec.h)
 * and the fleet's settings record compared with this node's
 * (server/fleet_settings.h). The first byte picks which. Both must keep
 * their strings terminated and within their buffers, and say -1 for what
 * is not theirs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/fleet_rec.h"
#include "server/fleet_settings.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one_record(const uint8_t *p, size_t n)
{
	struct ereg_rec r;

	memset(&r, 0xa5, sizeof(r));
	if (ereg_rec_decode(p, n, &r) != 0)
		return;
	if (memchr(r.node, '\0', sizeof(r.node)) == NULL ||
	    memchr(r.user, '\0', sizeof(r.user)) == NULL ||
	    memchr(r.key_fp, '\0', sizeof(r.key_fp)) == NULL)
		abort();
}

static void
settings(const uint8_t *p, size_t n)
{
	static const char *const kw[FLEET_SETTINGS_N] = { "ClusterPortRange",
	    "ClusterLeaseTime", "HostKey", "GatewayPorts", "ReclaimForwards",
	    "AllowTcpForwarding" };
	static const char *const val[FLEET_SETTINGS_N] = { "20000-20099",
	    "10", "SHA256:x SHA256:y", "yes", "yes", "yes" };
	static struct fleet_settings mine;
	char out[300];
	int i, d;

	for (i = 0; i < FLEET_SETTINGS_N; i++) {
		mine.row[i].kw = kw[i];
		strcpy(mine.row[i].val, val[i]);
	}
	d = fleet_settings_diff(&mine, p, n, out, sizeof(out));
	if (d < -1 || d > FLEET_SETTINGS_N || memchr(out, '\0',
	    sizeof(out)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		settings(data + 1, size - 1);
	else
		one_record(data + 1, size - 1);
	return 0;
}
