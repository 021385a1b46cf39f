/* ferryd status output from the session list and its counters. */
#include "report.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fwd/pump.h"
#include "server/loops.h"
#include "util/text.h"

static void
utc(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)t);
}

/* The daemon's totals: sessions that ended plus the live ones. */
static void
totals(struct session_list *l, struct fwd_stats *t, int *nauth,
    int *npre, int fwds[4])
{
	const struct session *s = NULL;
	const struct flow *f;
	struct session_view v;
	struct fwd_stats st;

	*t = l->stats.gone;
	t->open = 0;
	*nauth = *npre = 0;
	memset(fwds, 0, 4 * sizeof(fwds[0]));
	while ((s = session_next(l, s)) != NULL) {
		session_view(s, &v);
		stats_flow_totals(v.flows, &st);
		stats_add(t, &st);
		if (v.authenticated)
			(*nauth)++;
		else
			(*npre)++;
		for (f = v.flows->head; f != NULL; f = f->next)
			fwds[f->kind]++;
	}
}

static void
flow_where(const struct flow *f, char *out, size_t outlen)
{
	char safe[STATS_WHERE_MAX * 4];

	text_safe(safe, sizeof(safe), f->where, false);
	if (f->port > 0)
		snprintf(out, outlen, "%s port %d", safe, f->port);
	else
		snprintf(out, outlen, "%s", safe);
}

static void
text_locked(struct session_list *l, struct wb *out)
{
	const struct session *s = NULL;
	const struct refusal *r;
	const struct flow *f;
	struct session_view v;
	struct fwd_stats t, st;
	char when[40], user[300], where[STATS_WHERE_MAX * 4 + 20];
	char msg[sizeof(r->msg) * 4];
	time_t now = time(NULL);
	unsigned i;
	int n = 0;

	while ((s = session_next(l, s)) != NULL) {
		session_view(s, &v);
		stats_flow_totals(v.flows, &t);
		utc(v.since, when, sizeof(when));
		text_safe(user, sizeof(user), v.user, false);
		wb_printf(out, "%s%s from %s port %d: %s since %s (%lld s)%s%s\n",
		    n++ ? "\n" : "", v.authenticated ? user : "(none)", v.ip,
		    v.port, v.authenticated ? "authenticated" :
		    "not authenticated", when, (long long)(now - v.since),
		    v.key_fp[0] ? ", key " : "", v.key_fp);
		wb_printf(out, "  %-14s %-36s %5s %6s %14s %14s\n", "FORWARD",
		    "BOUND / DESTINATION", "OPEN", "CONNS", "IN", "OUT");
		for (f = v.flows->head; f != NULL; f = f->next) {
			flow_where(f, where, sizeof(where));
			fwd_stats_read(&f->st, &st);
			wb_printf(out, "  %-14s %-36s %5u %6llu %14llu %14llu\n",
			    stats_flow_kind_name(f->kind), where, st.open,
			    (unsigned long long)st.conns,
			    (unsigned long long)st.bytes_in,
			    (unsigned long long)st.bytes_out);
		}
		wb_printf(out, "  %-14s %-36s %5u %6llu %14llu %14llu\n",
		    "(session)", "", t.open, (unsigned long long)t.conns,
		    (unsigned long long)t.bytes_in,
		    (unsigned long long)t.bytes_out);
	}
	if (n == 0)
		wb_printf(out, "no sessions\n");
	if (stats_recent(&l->stats, 0) == NULL)
		return;
	wb_printf(out, "\nrecent refusals (newest first):\n");
	for (i = 0; (r = stats_recent(&l->stats, i)) != NULL; i++) {
		utc(r->when, when, sizeof(when));
		text_safe(user, sizeof(user), r->user[0] ? r->user : "?", false);
		text_safe(msg, sizeof(msg), r->msg, false);
		wb_printf(out, "  %s %-22s %s from %s port %d: %s\n", when,
		    stats_rule_name(r->rule), user, r->ip, r->port, msg);
	}
}

static void
json_locked(struct session_list *l, struct wb *out)
{
	const struct session *s = NULL;
	const struct refusal *r;
	const struct flow *f;
	struct session_view v;
	struct fwd_stats t;
	int nauth, npre, fwds[4], n = 0, m;
	time_t now = time(NULL);
	unsigned i;

	wb_printf(out, "{\"server\":\"ferryd\",\"now\":%lld,\"sessions\":[",
	    (long long)now);
	while ((s = session_next(l, s)) != NULL) {
		session_view(s, &v);
		stats_flow_totals(v.flows, &t);
		wb_printf(out, "%s{\"user\":", n++ ? "," : "");
		wb_json_str(out, v.user);
		wb_json_member(out, "key", v.key_fp);
		wb_json_member(out, "peer", v.ip);
		wb_printf(out, ",\"peer_port\":%d,\"since\":%lld,\"since_s\":%lld,"
		    "\"authenticated\":%s,\"loop\":%d,", v.port,
		    (long long)v.since, (long long)(now - v.since),
		    v.authenticated ? "true" : "false", v.loop);
		fwd_stats_json(out, &t);
		wb_printf(out, ",\"forwards\":[");
		for (f = v.flows->head, m = 0; f != NULL; f = f->next, m++) {
			wb_printf(out, "%s{\"kind\":\"%s\",\"bound\":", m ? "," :
			    "", stats_flow_kind_name(f->kind));
			wb_json_str(out, f->where);
			wb_printf(out, ",\"port\":%d,\"asked\":", f->port);
			wb_json_str(out, f->asked);
			wb_printf(out, ",\"asked_port\":%d,", f->asked_port);
			fwd_stats_json(out, &f->st);
			wb_printf(out, "}");
		}
		wb_printf(out, "]}");
	}
	wb_printf(out, "],\"refusals\":[");
	for (i = 0; (r = stats_recent(&l->stats, i)) != NULL; i++) {
		wb_printf(out, "%s{\"time\":%lld,\"rule\":\"%s\",\"user\":",
		    i ? "," : "", (long long)r->when, stats_rule_name(r->rule));
		wb_json_str(out, r->user);
		wb_json_member(out, "peer", r->ip);
		wb_printf(out, ",\"peer_port\":%d,\"message\":", r->port);
		wb_json_str(out, r->msg);
		wb_printf(out, "}");
	}
	totals(l, &t, &nauth, &npre, fwds);
	wb_printf(out, "],\"totals\":{\"sessions_authenticated\":%d,"
	    "\"sessions_preauth\":%d,", nauth, npre);
	fwd_stats_json(out, &t);
	wb_printf(out, "}}\n");
}

static void
family(struct wb *out, const char *name, const char *type, const char *help)
{
	wb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_locked(struct session_list *l, struct wb *out)
{
	const struct srv_stats *ss = &l->stats;
	struct fwd_stats t;
	int nauth, npre, fwds[4], i;

	totals(l, &t, &nauth, &npre, fwds);
	family(out, "ferryd_sessions", "gauge", "connections now, by whether "
	    "they authenticated");
	wb_printf(out, "ferryd_sessions{state=\"authenticated\"} %d\n"
	    "ferryd_sessions{state=\"preauth\"} %d\n", nauth, npre);
	family(out, "ferryd_loop_sessions", "gauge", "connections now, by the "
	    "event loop serving them (EventLoops)");
	for (i = 0; i < l->loops->n; i++)
		wb_printf(out, "ferryd_loop_sessions{loop=\"%d\"} %d\n", i,
		    l->loops->l[i].sessions);
	family(out, "ferryd_sessions_total", "counter", "connections "
	    "accepted");
	wb_printf(out, "ferryd_sessions_total %llu\n",
	    (unsigned long long)ss->sessions_total);
	family(out, "ferryd_handshakes_total", "counter", "connections that "
	    "authenticated (ok) or ended before they did (failed)");
	wb_printf(out, "ferryd_handshakes_total{result=\"ok\"} %llu\n"
	    "ferryd_handshakes_total{result=\"failed\"} %llu\n",
	    (unsigned long long)ss->handshakes_ok,
	    (unsigned long long)ss->handshakes_failed);
	family(out, "ferryd_forwards", "gauge", "remote forwards listening "
	    "and direct destinations in use, by kind");
	for (i = 0; i < 4; i++)
		wb_printf(out, "ferryd_forwards{kind=\"%s\"} %d\n",
		    stats_flow_kind_name((enum flow_kind)i), fwds[i]);
	family(out, "ferryd_connections_open", "gauge", "tunnelled "
	    "connections open now");
	wb_printf(out, "ferryd_connections_open %u\n", t.open);
	family(out, "ferryd_connections_total", "counter", "tunnelled "
	    "connections made");
	wb_printf(out, "ferryd_connections_total %llu\n",
	    (unsigned long long)t.conns);
	family(out, "ferryd_bytes_total", "counter", "bytes carried; "
	    "direction \"in\" leaves the tunnel at ferryd's sockets, \"out\" "
	    "enters it");
	wb_printf(out, "ferryd_bytes_total{direction=\"in\"} %llu\n"
	    "ferryd_bytes_total{direction=\"out\"} %llu\n",
	    (unsigned long long)t.bytes_in, (unsigned long long)t.bytes_out);
	family(out, "ferryd_refusals_total", "counter", "requests refused, by "
	    "the rule or limit that refused them");
	for (i = 0; i < RR_COUNT; i++) {
		wb_printf(out, "ferryd_refusals_total{reason=");
		wb_label_str(out, stats_rule_name((enum refusal_rule)i));
		wb_printf(out, "} %llu\n", (unsigned long long)ss->refusals[i]);
	}
	family(out, "ferryd_limits_hit_total", "counter", "connections "
	    "dropped or ended by a daemon-wide limit");
	for (i = 0; i < LIM_COUNT; i++) {
		wb_printf(out, "ferryd_limits_hit_total{limit=");
		wb_label_str(out, stats_limit_name((enum limit_kind)i));
		wb_printf(out, "} %llu\n", (unsigned long long)ss->limits[i]);
	}
}

/* The list's lock is held while a report is made: sessions on other loops
 * neither come nor go meanwhile. */
void
report_text(struct session_list *l, struct wb *out)
{
	uv_mutex_lock(&l->lock);
	text_locked(l, out);
	uv_mutex_unlock(&l->lock);
}

void
report_json(struct session_list *l, struct wb *out)
{
	uv_mutex_lock(&l->lock);
	json_locked(l, out);
	uv_mutex_unlock(&l->lock);
}

void
report_metrics(struct session_list *l, struct wb *out)
{
	uv_mutex_lock(&l->lock);
	metrics_locked(l, out);
	uv_mutex_unlock(&l->lock);
}
