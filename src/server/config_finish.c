/* The end of reading ferryd's configuration: the default of every value
 * still unset, and the values derived from others (the control socket
 * and StreamLocalDirectory under StateDirectory). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config_kw.h"
#include "ssh/buf.h"
#include "util/err.h"
#include "util/text.h"

#define DEF_PORT		22
#define DEF_AUTHKEYS		".ssh/authorized_keys"
#define DEF_STARTUPS_BEGIN	10
#define DEF_STARTUPS_RATE	30
#define DEF_STARTUPS_FULL	100
#define DEF_STATE_DIR		"/var/lib/ferryd"
#define DEF_SL_DIR		"sockets/%u"	/* under StateDirectory */

/* ControlSocket: ferryd.sock under StateDirectory by default. */
static int
control_socket_default(struct server_config *c)
{
	if (c->control_socket != NULL)
		return 0;
	if (asprintf(&c->control_socket, "%s/ferryd.sock", c->state_dir) ==
	    -1) {
		c->control_socket = NULL;
		return -1;
	}
	return 0;
}

/* StreamLocalDirectory: sockets/%u under StateDirectory by default, and
 * a relative value is under it too (ferryd has no home directories). */
static int
sl_dir_default(struct server_config *c)
{
	const char *v = c->streamlocal_dir ? c->streamlocal_dir : DEF_SL_DIR;
	const char *p;
	char *full;
	struct wb w;

	if (strcasecmp(v, "none") == 0 || v[0] == '/')
		return c->streamlocal_dir == NULL ? sc_set_str(
		    &c->streamlocal_dir, v, NULL, 0) : 0;
	/* the value takes %u and %%: a '%' of StateDirectory is doubled */
	wb_init(&w);
	for (p = c->state_dir; *p != '\0'; p++)
		wb_put(&w, *p == '%' ? "%%" : p, *p == '%' ? 2 : 1);
	wb_printf(&w, "/%s", v);
	wb_u8(&w, 0);
	if (w.err || (full = strdup((const char *)w.p)) == NULL) {
		wb_free(&w);
		return -1;
	}
	wb_free(&w);
	free(c->streamlocal_dir);
	c->streamlocal_dir = full;
	return 0;
}

/* The keywords outside the table's kinds: lists and MaxStartups. */
static int
others_default(struct server_config *c)
{
	if (c->nports == 0)
		c->ports[c->nports++] = DEF_PORT;
	if (c->nauthorized_keys == 0) {
		if ((c->authorized_keys[0] = strdup(DEF_AUTHKEYS)) == NULL)
			return -1;
		c->nauthorized_keys = 1;
	}
	if (c->npermit_open == FWD_PERMIT_UNSET)
		c->npermit_open = -1;
	if (c->npermit_listen == FWD_PERMIT_UNSET)
		c->npermit_listen = -1;
	if (c->max_startups_begin == SC_UNSET) {
		c->max_startups_begin = DEF_STARTUPS_BEGIN;
		c->max_startups_rate = DEF_STARTUPS_RATE;
		c->max_startups_full = DEF_STARTUPS_FULL;
	}
	if (c->per_source_max_startups == SC_UNSET)
		c->per_source_max_startups = 0;
	if (c->nchan_timeouts == SC_UNSET)
		c->nchan_timeouts = 0;
	if (c->unused_connection_timeout == SC_UNSET)
		c->unused_connection_timeout = 0;
	if (c->per_source_v4_bits == SC_UNSET) {
		c->per_source_v4_bits = 32;
		c->per_source_v6_bits = 128;
	}
	return 0;
}

/* SyslogFacility as sshd -T prints it: the name in capitals. */
static void
facility_upper(struct server_config *c)
{
	char *p;

	for (p = c->syslog_facility; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
}

int
server_config_finish(struct server_config *c, char *err, size_t errlen)
{
	if (others_default(c) != 0 || sc_fields_default(c) != 0 ||
	    sc_set_str(&c->state_dir, DEF_STATE_DIR, NULL, 0) != 0 ||
	    sc_set_str(&c->syslog_facility, "AUTH", NULL, 0) != 0 ||
	    sc_set_str(&c->banner, "none", NULL, 0) != 0 ||
	    sc_set_str(&c->trusted_ca_keys, "none", NULL, 0) != 0 ||
	    sc_set_str(&c->principals_file, "none", NULL, 0) != 0 ||
	    sc_set_str(&c->cluster_ca_file, "none", NULL, 0) != 0 ||
	    sc_set_str(&c->cluster_cert_file, "none", NULL, 0) != 0 ||
	    sc_set_str(&c->cluster_key_file, "none", NULL, 0) != 0 ||
	    control_socket_default(c) != 0 || sl_dir_default(c) != 0 ||
	    sc_cluster_default(c) != 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	facility_upper(c);
	/* one loop per CPU this process may run on */
	if (c->event_loops == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		c->event_loops = n < 1 ? 1 : n > MAX_EVENT_LOOPS ?
		    MAX_EVENT_LOOPS : (int)n;
	}
	return 0;
}
