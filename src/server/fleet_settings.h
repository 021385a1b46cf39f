/* The fleet's settings record (issue 14): the settings every node of a
 * fleet must share, kept in etcd at <prefix>/settings (written by the
 * first node, on no lease) and compared by each node that joins
 * (registry_etcd_settings.c). ClusterPrefix is implied by the record's
 * place. The rows, each a keyword and its value as ferryd -T prints it:
 *   ClusterPortRange    which ports port 0 hands out fleet-wide
 *   ClusterLeaseTime    how long a dead node's forwards keep their ports
 *   HostKey             the SHA-256 fingerprints of every host key,
 *                       sorted: a client reaching any node sees one host
 *   GatewayPorts        which forwards are fleet-wide at all
 *   ReclaimForwards     whether a newer session of a key takes a port
 *   AllowTcpForwarding  whether remote forwards are allowed
 * (global values; Match blocks are not compared). Pure: no I/O. */
#ifndef FERRY_SERVER_FLEET_SETTINGS_H
#define FERRY_SERVER_FLEET_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "server/config.h"

struct key;

#define FLEET_SETTINGS_N	6
#define FLEET_SETTING_MAX	(SC_MAX_HOSTKEYS * 64)

struct fleet_settings {
	struct {
		const char	*kw;		/* static */
		char		 val[FLEET_SETTING_MAX];
	} row[FLEET_SETTINGS_N];
};

/* This node's settings from its configuration and loaded host keys. 0,
 * or -1 with err. */
int	 fleet_settings_make(const struct server_config *c,
	    struct key *const *hostkeys, int nhostkeys,
	    struct fleet_settings *out, char *err, size_t errlen);
/* The record as etcd keeps it (a JSON object of keyword: value): its
 * length, or 0 when it does not fit. */
size_t	 fleet_settings_encode(const struct fleet_settings *fs, char *out,
	    size_t outlen);
/* How the fleet's record (v, len) differs from mine: out gets each
 * differing keyword with this node's and the fleet's value, escaped
 * ("ClusterPortRange 20000-20099 (fleet: 20000-20199), host keys"); a
 * keyword the record lacks differs ("(fleet: not recorded)"), one it
 * has beyond these is ignored. The number of differences, or -1 when
 * the record is not such an object (out says so). */
int	 fleet_settings_diff(const struct fleet_settings *mine,
	    const uint8_t *v, size_t len, char *out, size_t outlen);

#endif
