/* Status output from client_info / client_forward_info. */
#include "status.h"

#include <stdio.h>
#include <string.h>

#include "fwd/pump.h"
#include "util/text.h"

static const char *const state_names[] = {
	"connecting", "up", "down", "stopped",
};

static const char *const kind_flags[] = { "-L", "-R", "-D" };
static const char *const kind_names[] = { "local", "remote", "dynamic" };

static void
human_bytes(uint64_t v, char *out, size_t outlen)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%llu B", (unsigned long long)v);
	else
		snprintf(out, outlen, "%.1f %s", d, units[u]);
}

void
status_text(struct client *const *v, int n, struct wb *out)
{
	struct client_info ci;
	struct forward_info fi;
	char in[32], ob[32], where[340];
	int i, j;

	for (i = 0; i < n; i++) {
		client_info(v[i], &ci);
		wb_printf(out, "%s (%s@%s port %d): %s for %.1f s, %d "
		    "reconnect%s%s%s\n", ci.name, ci.user, ci.hostname, ci.port,
		    state_names[ci.state], ci.since_s, ci.reconnects,
		    ci.reconnects == 1 ? "" : "s",
		    ci.last_error[0] ? "; last error: " : "", ci.last_error);
		wb_printf(out, "  %-2s %-36s %-11s %-28s %5s %6s %10s %10s\n",
		    "", "FORWARD", "STATE", "BOUND", "OPEN", "CONNS",
		    "IN", "OUT");
		for (j = 0; client_forward_info(v[i], j, &fi) == 0; j++) {
			if (fi.port > 0)
				snprintf(where, sizeof(where), "%s port %d",
				    fi.where, fi.port);
			else
				snprintf(where, sizeof(where), "%s",
				    fi.where[0] ? fi.where : "-");
			human_bytes(fi.stats->bytes_in, in, sizeof(in));
			human_bytes(fi.stats->bytes_out, ob, sizeof(ob));
			wb_printf(out, "  %-2s %-36s %-11s %-28s %5u %6llu "
			    "%10s %10s\n", kind_flags[fi.kind], fi.spec,
			    fi.state, where, fi.stats->open,
			    (unsigned long long)fi.stats->conns, in, ob);
			if (fi.error[0] != '\0')
				wb_printf(out, "     last error: %s\n", fi.error);
		}
	}
	if (n == 0)
		wb_printf(out, "no hosts\n");
}

void
status_json(struct client *const *v, int n, struct wb *out)
{
	struct client_info ci;
	struct forward_info fi;
	int i, j;

	wb_printf(out, "{\"hosts\":[");
	for (i = 0; i < n; i++) {
		client_info(v[i], &ci);
		wb_printf(out, "%s{\"host\":", i ? "," : "");
		wb_json_str(out, ci.name);
		wb_json_member(out, "hostname", ci.hostname);
		wb_json_member(out, "user", ci.user);
		wb_printf(out, ",\"port\":%d,\"state\":\"%s\",\"since_s\":%.3f,"
		    "\"reconnects\":%d,\"last_error\":", ci.port,
		    state_names[ci.state], ci.since_s, ci.reconnects);
		wb_json_str(out, ci.last_error);
		wb_printf(out, ",\"forwards\":[");
		for (j = 0; client_forward_info(v[i], j, &fi) == 0; j++) {
			wb_printf(out, "%s{\"kind\":\"%s\",\"spec\":",
			    j ? "," : "", kind_names[fi.kind]);
			wb_json_str(out, fi.spec);
			wb_printf(out, ",\"state\":\"%s\",\"up\":%s,\"bound\":",
			    fi.state, fi.up ? "true" : "false");
			wb_json_str(out, fi.where);
			wb_printf(out, ",\"port\":%d,", fi.port);
			fwd_stats_json(out, fi.stats);
			wb_json_member(out, "last_error", fi.error);
			wb_printf(out, "}");
		}
		wb_printf(out, "]}");
	}
	wb_printf(out, "]}\n");
}

/* One metric family: HELP, TYPE, then a sample per host or forward. */
enum family {
	M_HOST_UP,
	M_RECONNECTS,
	M_FWD_UP,
	M_FWD_OPEN,
	M_FWD_CONNS,
	M_FWD_BYTES,
	M_COUNT,
};

static const struct {
	const char	*name;
	const char	*type;
	const char	*help;
} families[M_COUNT] = {
	{ "ferry_host_up", "gauge", "1 while the SSH connection is "
	    "authenticated" },
	{ "ferry_host_reconnects_total", "counter", "successful reconnects" },
	{ "ferry_forward_up", "gauge", "1 while the forward listens or is "
	    "granted by the server" },
	{ "ferry_forward_connections_open", "gauge", "connections open "
	    "through the forward" },
	{ "ferry_forward_connections_total", "counter", "connections made "
	    "through the forward" },
	{ "ferry_forward_bytes_total", "counter", "bytes carried; direction "
	    "\"in\" leaves the tunnel, \"out\" enters it" },
};

static void
fwd_labels(struct wb *out, const struct client_info *ci,
    const struct forward_info *fi)
{
	char fwd[700];

	snprintf(fwd, sizeof(fwd), "%s %s", kind_flags[fi->kind], fi->spec);
	wb_printf(out, "{host=");
	wb_label_str(out, ci->name);
	wb_printf(out, ",forward=");
	wb_label_str(out, fwd);
}

void
status_metrics(struct client *const *v, int n, struct wb *out)
{
	struct client_info ci;
	struct forward_info fi;
	int f, i, j;

	for (f = 0; f < M_COUNT; f++) {
		wb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", families[f].name,
		    families[f].help, families[f].name, families[f].type);
		for (i = 0; i < n; i++) {
			client_info(v[i], &ci);
			if (f == M_HOST_UP || f == M_RECONNECTS) {
				wb_printf(out, "%s{host=", families[f].name);
				wb_label_str(out, ci.name);
				wb_printf(out, "} %d\n", f == M_HOST_UP ?
				    ci.state == CLIENT_UP : ci.reconnects);
				continue;
			}
			for (j = 0; client_forward_info(v[i], j, &fi) == 0;
			    j++) {
				if (f == M_FWD_BYTES) {
					wb_printf(out, "%s", families[f].name);
					fwd_labels(out, &ci, &fi);
					wb_printf(out, ",direction=\"in\"} %llu\n",
					    (unsigned long long)
					    fi.stats->bytes_in);
					wb_printf(out, "%s", families[f].name);
					fwd_labels(out, &ci, &fi);
					wb_printf(out, ",direction=\"out\"} "
					    "%llu\n", (unsigned long long)
					    fi.stats->bytes_out);
					continue;
				}
				wb_printf(out, "%s", families[f].name);
				fwd_labels(out, &ci, &fi);
				wb_printf(out, "} %llu\n", f == M_FWD_UP ?
				    (unsigned long long)fi.up :
				    f == M_FWD_OPEN ?
				    (unsigned long long)fi.stats->open :
				    (unsigned long long)fi.stats->conns);
			}
		}
	}
}
