/* The fleet's settings record (fleet_settings.h). */
#include "server/fleet_settings.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/key.h"
#include "util/err.h"
#include "util/text.h"

static const char *const gateway_names[] = { "no", "yes",
	"clientspecified" };
static const char *const allow_names[] = { "no", "yes", "local", "remote" };

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The host keys' fingerprints, sorted, comma-separated. */
static int
host_fps(struct key *const *keys, int n, char *out, size_t outlen,
    char *err, size_t errlen)
{
	char fp[SC_MAX_HOSTKEYS][80], *sorted[SC_MAX_HOSTKEYS];
	size_t at = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < n && i < SC_MAX_HOSTKEYS; i++) {
		if (key_fingerprint(keys[i], fp[i], sizeof(fp[i])) != 0) {
			seterr(err, errlen, "host key %d: no fingerprint", i);
			return -1;
		}
		sorted[i] = fp[i];
	}
	qsort(sorted, (size_t)i, sizeof(sorted[0]), cmp_str);
	for (n = i, i = 0; i < n; i++)
		at += (size_t)snprintf(out + at, outlen - at, "%s%s",
		    i ? "," : "", sorted[i]);
	return 0;
}

int
fleet_settings_make(const struct server_config *c,
    struct key *const *hostkeys, int nhostkeys, struct fleet_settings *out,
    char *err, size_t errlen)
{
	static const char *const kws[FLEET_SETTINGS_N] = { "ClusterPortRange",
	    "ClusterLeaseTime", "HostKey", "GatewayPorts", "ReclaimForwards",
	    "AllowTcpForwarding" };
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < FLEET_SETTINGS_N; i++)
		out->row[i].kw = kws[i];
	if (c->cluster_port_low == 0)
		snprintf(out->row[0].val, FLEET_SETTING_MAX, "none");
	else
		snprintf(out->row[0].val, FLEET_SETTING_MAX, "%d-%d",
		    c->cluster_port_low, c->cluster_port_high);
	snprintf(out->row[1].val, FLEET_SETTING_MAX, "%d",
	    c->cluster_lease_time);
	snprintf(out->row[3].val, FLEET_SETTING_MAX, "%s",
	    gateway_names[c->gateway_ports]);
	snprintf(out->row[4].val, FLEET_SETTING_MAX, "%s",
	    c->reclaim_forwards ? "yes" : "no");
	snprintf(out->row[5].val, FLEET_SETTING_MAX, "%s",
	    allow_names[c->allow_tcp_forwarding]);
	return host_fps(hostkeys, nhostkeys, out->row[2].val,
	    FLEET_SETTING_MAX, err, errlen);
}

size_t
fleet_settings_encode(const struct fleet_settings *fs, char *out,
    size_t outlen)
{
	json_t *j;
	size_t n = 0;
	int i;

	if ((j = json_object()) == NULL)
		return 0;
	for (i = 0; i < FLEET_SETTINGS_N; i++)
		if (json_object_set_new(j, fs->row[i].kw,
		    json_string(fs->row[i].val)) != 0)
			break;
	if (i == FLEET_SETTINGS_N)
		n = json_dumpb(j, out, outlen, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return n <= outlen ? n : 0;
}

/* One difference more in out (at *at): the keyword, or for the host
 * keys their name alone (fingerprints are long; the log's verbose line
 * has them). */
static void
add_diff(char *out, size_t outlen, size_t *at, const char *kw,
    const char *mine, const char *theirs)
{
	char a[160], b[160];

	if (*at >= outlen)
		return;
	if (strcmp(kw, "HostKey") == 0) {
		*at += (size_t)snprintf(out + *at, outlen - *at, "%shost keys",
		    *at ? ", " : "");
		return;
	}
	text_safe(a, sizeof(a), mine, false);
	if (theirs != NULL)
		text_safe(b, sizeof(b), theirs, false);
	*at += (size_t)snprintf(out + *at, outlen - *at, "%s%s %s (fleet: %s)",
	    *at ? ", " : "", kw, a, theirs != NULL ? b : "not recorded");
}

int
fleet_settings_diff(const struct fleet_settings *mine, const uint8_t *v,
    size_t len, char *out, size_t outlen)
{
	const char *theirs;
	json_t *j, *f;
	size_t at = 0;
	int i, n = 0;

	out[0] = '\0';
	if ((j = json_loadb((const char *)v, len, 0, NULL)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		snprintf(out, outlen, "the fleet's settings record is not "
		    "ferryd's");
		return -1;
	}
	for (i = 0; i < FLEET_SETTINGS_N; i++) {
		f = json_object_get(j, mine->row[i].kw);
		theirs = json_is_string(f) ? json_string_value(f) : NULL;
		if (theirs != NULL && strcmp(theirs, mine->row[i].val) == 0)
			continue;
		n++;
		add_diff(out, outlen, &at, mine->row[i].kw, mine->row[i].val,
		    theirs);
	}
	json_decref(j);
	return n;
}
