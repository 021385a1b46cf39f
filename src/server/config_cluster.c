/* The fleet's keywords (issue 14): ClusterRegistry, ClusterNodeName,
 * ClusterBindAddress, ClusterPortRange, ClusterLeaseTime and
 * ClusterPrefix, their checks and their defaults. With ClusterRegistry
 * none (the default) none of them has any effect. */
#include "config_kw.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fleet/etcd.h"
#include "util/cfgval.h"
#include "util/err.h"
#include "util/log.h"

#define DEF_PREFIX	"/ferry"
#define NAME_MAX_LEN	63

/* "none", or etcd: and the members' URLs as the client reads them. */
int
sc_check_cluster_registry(const char *kw, const char *v, char *err,
    size_t errlen)
{
	struct etcd_endpoints *ep;
	char why[300];
	int r;

	if (strcasecmp(v, "none") == 0)
		return 0;
	if (strncmp(v, "etcd:", 5) != 0) {
		seterr(err, errlen, "%s: '%s' is neither none nor "
		    "etcd:URL[,URL...]", kw, v);
		return -1;
	}
	if ((ep = malloc(sizeof(*ep))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if ((r = etcd_endpoints_parse(v, ep, why, sizeof(why))) != 0)
		seterr(err, errlen, "%s: %s", kw, why);
	free(ep);
	return r == 0 ? 0 : -1;
}

/* A node's name goes into records and refusals: letters, digits, '-',
 * '_' and '.', at most NAME_MAX_LEN. */
int
sc_check_node_name(const char *kw, const char *v, char *err, size_t errlen)
{
	const char *p;

	for (p = v; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.", *p) != NULL))
			break;
	if (*p == '\0' && p - v <= NAME_MAX_LEN)
		return 0;
	seterr(err, errlen, "%s: '%s' is not a name of at most %d letters, "
	    "digits, '-', '_' or '.'", kw, v, NAME_MAX_LEN);
	return -1;
}

/* "any" (every address) or an IPv4 or IPv6 address literal. */
int
sc_check_bind_address(const char *kw, const char *v, char *err,
    size_t errlen)
{
	unsigned char a[16];

	if (strcasecmp(v, "any") == 0 || inet_pton(AF_INET, v, a) == 1 ||
	    inet_pton(AF_INET6, v, a) == 1)
		return 0;
	seterr(err, errlen, "%s: '%s' is neither any nor an IP address "
	    "literal", kw, v);
	return -1;
}

/* An absolute etcd key prefix without a final '/' and without blanks. */
int
sc_check_cluster_prefix(const char *kw, const char *v, char *err,
    size_t errlen)
{
	size_t n = strlen(v);

	if (v[0] == '/' && n > 1 && n < 128 && v[n - 1] != '/' &&
	    strpbrk(v, " \t\r\n") == NULL)
		return 0;
	seterr(err, errlen, "%s: '%s' is not a key prefix such as /ferry "
	    "(starting with '/', not ending with one, under 128 bytes)", kw,
	    v);
	return -1;
}

/* ClusterCAFile, ClusterCertificateFile, ClusterKeyFile: "none" or an
 * absolute path (read at start: server/cluster_tls.c). */
int
sc_check_cluster_file(const char *kw, const char *v, char *err,
    size_t errlen)
{
	if (v[0] == '/' || strcasecmp(v, "none") == 0)
		return 0;
	seterr(err, errlen, "%s: '%s' is neither none nor an absolute path",
	    kw, v);
	return -1;
}

/* ClusterPortRange LOW-HIGH (1 <= LOW <= HIGH <= 65535), or none. */
int
sc_kw_cluster_ports(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	char *dash, lo[16];
	int low, high;

	(void)n;
	if (strcasecmp(a[0], "none") == 0) {
		low = high = 0;
	} else if ((dash = strchr(a[0], '-')) == NULL ||
	    (size_t)(dash - a[0]) >= sizeof(lo) ||
	    (snprintf(lo, sizeof(lo), "%.*s", (int)(dash - a[0]), a[0]),
	    cfgval_uint(lo, 1, 65535, &low) != 0) ||
	    cfgval_uint(dash + 1, 1, 65535, &high) != 0 || low > high) {
		seterr(err, errlen, "%s: bad value '%s' (LOW-HIGH, ports from "
		    "1 to 65535 with LOW <= HIGH, or none)", kw->name, a[0]);
		return -1;
	}
	if (c->cluster_port_low == SC_UNSET) {
		c->cluster_port_low = low;
		c->cluster_port_high = high;
	}
	return 0;
}

/* The defaults: no registry, the host's name, every address, no port
 * range, /ferry. 0, or -1 out of memory. */
int
sc_cluster_default(struct server_config *c)
{
	char host[256];

	if (c->cluster_port_low == SC_UNSET)
		c->cluster_port_low = c->cluster_port_high = 0;
	if (c->cluster_node_name == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "ferryd");
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, " \t\r\n")] = '\0';
		if (sc_set_str(&c->cluster_node_name, host, NULL, 0) != 0)
			return -1;
	}
	return sc_set_str(&c->cluster_registry, "none", NULL, 0) != 0 ||
	    sc_set_str(&c->cluster_bind_address, "any", NULL, 0) != 0 ||
	    sc_set_str(&c->cluster_prefix, DEF_PREFIX, NULL, 0) != 0 ? -1 : 0;
}

void
sc_print_cluster_ports(const struct server_config *c, FILE *fp)
{
	if (c->cluster_port_low == 0)
		fprintf(fp, "clusterportrange none\n");
	else
		fprintf(fp, "clusterportrange %d-%d\n", c->cluster_port_low,
		    c->cluster_port_high);
}

void
sc_cluster_reload_note(const struct server_config *start,
    const struct server_config *now)
{
	const struct {
		const char	*kw;
		bool		 changed;
	} kws[] = {
		{ "ClusterRegistry", strcmp(start->cluster_registry,
		    now->cluster_registry) != 0 },
		{ "ClusterNodeName", strcmp(start->cluster_node_name,
		    now->cluster_node_name) != 0 },
		{ "ClusterBindAddress", strcmp(start->cluster_bind_address,
		    now->cluster_bind_address) != 0 },
		{ "ClusterPortRange", start->cluster_port_low !=
		    now->cluster_port_low || start->cluster_port_high !=
		    now->cluster_port_high },
		{ "ClusterLeaseTime", start->cluster_lease_time !=
		    now->cluster_lease_time },
		{ "ClusterPrefix", strcmp(start->cluster_prefix,
		    now->cluster_prefix) != 0 },
	};
	char list[200];
	size_t i, at = 0;

	for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (kws[i].changed)
			at += (size_t)snprintf(list + at, sizeof(list) - at,
			    "%s%s", at ? ", " : "", kws[i].kw);
	if (at > 0)
		log_info("%s %s at the next start; the values read at start "
		    "serve meanwhile", list, strchr(list, ',') != NULL ?
		    "take effect" : "takes effect");
}
