/* ClusterCAFile, ClusterCertificateFile and ClusterKeyFile read with the
 * configuration (start, SIGHUP, -t, -T), so that a file missing or
 * unreadable or a key of another certificate is a configuration error;
 * the etcd client takes its copy at start. */
#include "server/session.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fleet/etcd.h"

/* A file keyword's value, NULL for none. */
static const char *
file_of(const char *v)
{
	return v == NULL || strcasecmp(v, "none") == 0 ? NULL : v;
}

int
server_policy_load_cluster_tls(struct server_policy *p, char *err,
    size_t errlen)
{
	struct server_config *c = &p->cfg;
	struct etcd_tls_files f = {
		.ca = file_of(c->cluster_ca_file), .ca_name = "ClusterCAFile",
		.cert = file_of(c->cluster_cert_file),
		.cert_name = "ClusterCertificateFile",
		.key = file_of(c->cluster_key_file),
		.key_name = "ClusterKeyFile",
	};

	/* with ClusterRegistry none no Cluster keyword has an effect */
	if (strncmp(c->cluster_registry, "etcd:", 5) != 0 ||
	    (f.ca == NULL && f.cert == NULL && f.key == NULL))
		return 0;
	/* checked with the keyword: https:// or http:// throughout */
	if (strncmp(c->cluster_registry + 5, "https://", 8) != 0) {
		snprintf(err, errlen, "%s is set but ClusterRegistry's members "
		    "are http:// (TLS needs https:// URLs)", f.ca != NULL ?
		    "ClusterCAFile" : f.cert != NULL ?
		    "ClusterCertificateFile" : "ClusterKeyFile");
		return -1;
	}
	if (etcd_tls_load(&p->cluster_tls, &f, err, errlen) != 0)
		return -1;
	c->cluster_tls = &p->cluster_tls;
	return 0;
}
