/* ferry-etcdtool: drives ferry's etcd client (src/fleet/etcd_client.h)
 * for the integration tests (tests/integration/test_etcd_client.py). It
 * runs one libuv loop with the client and reads commands on stdin, one
 * per line, "TAG COMMAND ARGS..."; each answer is one JSON line on
 * stdout carrying the TAG, and so are the notes of watches and lease
 * keepers (carrying the TAG of the command that started them):
 *
 *   put KEY VALUE [LEASE]       put-if-absent    {"ok", "rev" | "holder"}
 *   cas KEY MODREV VALUE [LEASE] compare-and-swap {"ok", "rev" | "holder"}
 *   del KEY MODREV              delete-if-revision {"ok", "holder"}
 *   get PREFIX [LIMIT [AFTER]]  one range page   {"kvs", "more", "count"}
 *   grant TTL / keepalive ID / revoke ID          {"id", "ttl"}
 *   keeper TTL / keeper-stop KTAG                 notes {"lease": ...}
 *   watch PREFIX [REV] / unwatch WTAG             notes {"note": ...}
 *   member                      the member calls go to first
 *
 * Every answer has "status" ("ok" or the failure) and "member". EOF or
 * "quit" closes the client; the tool exits 0 once it is closed. Usage:
 * ferry-etcdtool [-v] [-a ATTEMPT_MS] [-c CALL_MS] [-A CAFILE]
 * [-E CERTFILE -K KEYFILE] etcd:URL[,URL...] (the TLS files for https://
 * members: the CA bundle, the client certificate and key). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "fleet/etcd_client.h"
#include "util/log.h"

#define LINE_MAX_LEN	8192
#define ARGS_MAX	8
#define TAGGED_MAX	64

/* A watcher or keeper by the tag that started it. */
struct tagged {
	char			 tag[32];
	struct etcd_watcher	*w;
	struct etcd_lease_keeper *k;
};

struct tool {
	uv_loop_t		*loop;
	struct etcd_client	*c;
	uv_pipe_t		 in;
	char			 line[LINE_MAX_LEN];
	size_t			 len;
	bool			 quitting;
	struct tagged		 tagged[TAGGED_MAX];
};

/* A call's tag, freed with its answer. */
struct pending {
	struct tool	*t;
	char		 tag[32];
	char		 cmd[16];
};

static void
emit(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	if (s != NULL) {
		printf("%s\n", s);
		fflush(stdout);
		free(s);
	}
	json_decref(o);
}

static json_t *
answer(const char *tag, const char *cmd, const char *status, const char *err)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "tag", tag, "cmd", cmd,
	    "status", status, "err", err != NULL ? err : "");
}

static const char *
status_name(int status)
{
	switch (status) {
	case ETCD_OK:		return "ok";
	case ETCD_UNAVAILABLE:	return "unavailable";
	case ETCD_REFUSED:	return "refused";
	case ETCD_CANCELED:	return "canceled";
	case ETCD_COMPACTED:	return "compacted";
	default:		return "bad-answer";
	}
}

static json_t *
kv_json(const struct etcd_kv *kv)
{
	json_t *v = json_stringn((const char *)kv->value, kv->valuelen);

	return json_pack("{s:s, s:o, s:I, s:I, s:I, s:I}", "key", kv->key,
	    "value", v != NULL ? v : json_string("<binary>"),
	    "create", (json_int_t)kv->create_revision,
	    "mod", (json_int_t)kv->mod_revision,
	    "version", (json_int_t)kv->version,
	    "lease", (json_int_t)kv->lease);
}

static void
on_reply(void *arg, const struct etcd_reply *r)
{
	struct pending *p = arg;
	json_t *o = answer(p->tag, p->cmd, status_name(r->status), r->err);
	json_t *kvs;
	size_t i;

	json_object_set_new(o, "member", json_string(r->member));
	json_object_set_new(o, "rev", json_integer(r->revision));
	if (r->status == ETCD_REFUSED)
		json_object_set_new(o, "grpc_code", json_integer(r->grpc_code));
	if (r->txn != NULL) {
		json_object_set_new(o, "ok", json_boolean(r->txn->succeeded));
		if (r->txn->has_kv)
			json_object_set_new(o, "holder", kv_json(&r->txn->kv));
	}
	if (r->range != NULL) {
		kvs = json_array();
		for (i = 0; i < r->range->nkvs; i++)
			json_array_append_new(kvs, kv_json(&r->range->kvs[i]));
		json_object_set_new(o, "kvs", kvs);
		json_object_set_new(o, "more", json_boolean(r->range->more));
		json_object_set_new(o, "count", json_integer(r->range->count));
	}
	if (r->lease != NULL) {
		json_object_set_new(o, "id", json_integer(r->lease->id));
		json_object_set_new(o, "ttl", json_integer(r->lease->ttl));
	}
	emit(o);
	free(p);
}

static struct tagged *
find_tag(struct tool *t, const char *tag, bool make)
{
	int i;

	for (i = 0; i < TAGGED_MAX; i++)
		if (strcmp(t->tagged[i].tag, tag) == 0)
			return &t->tagged[i];
	for (i = 0; make && i < TAGGED_MAX; i++) {
		if (t->tagged[i].tag[0] == '\0') {
			snprintf(t->tagged[i].tag, sizeof(t->tagged[i].tag),
			    "%s", tag);
			return &t->tagged[i];
		}
	}
	return NULL;
}

static void
on_watch(void *arg, const struct etcd_watch_note *n)
{
	struct tagged *g = arg;
	static const char *kinds[] = { "msg", "resuming", "end" };
	json_t *o, *evs;
	size_t i;

	o = json_pack("{s:s, s:s, s:s, s:I}", "tag", g->tag, "note",
	    kinds[n->kind], "member", n->member, "next",
	    (json_int_t)n->next_rev);
	if (n->kind != ETCD_WATCH_MSG) {
		json_object_set_new(o, "status", json_string(
		    status_name(n->status)));
		json_object_set_new(o, "err", json_string(n->err));
	} else {
		evs = json_array();
		for (i = 0; i < n->msg->nevents; i++) {
			json_t *e = kv_json(&n->msg->events[i].kv);

			json_object_set_new(e, "type", json_string(
			    n->msg->events[i].type == ETCD_EV_PUT ? "PUT" :
			    "DELETE"));
			json_array_append_new(evs, e);
		}
		json_object_set_new(o, "events", evs);
		json_object_set_new(o, "created", json_boolean(
		    n->msg->created));
	}
	if (n->kind == ETCD_WATCH_END)
		memset(g, 0, sizeof(*g));
	emit(o);
}

static void
on_lease(void *arg, enum etcd_lease_event ev, int64_t id, const char *why)
{
	struct tagged *g = arg;

	emit(json_pack("{s:s, s:s, s:I, s:s}", "tag", g->tag, "lease",
	    ev == ETCD_LEASE_GRANTED ? "granted" : ev == ETCD_LEASE_LOST ?
	    "lost" : "waiting", "id",
	    (json_int_t)id, "err", why));
}

static void
on_keeper_stopped(void *arg, int status)
{
	struct pending *p = arg;

	emit(answer(p->tag, p->cmd, status_name(status), ""));
	free(p);
}

static long long
num(const char *s)
{
	return s != NULL ? strtoll(s, NULL, 10) : 0;
}

/* The commands that start a call answered by on_reply. */
static int
call(struct tool *t, struct pending *p, char **a, int n, char *err,
    size_t errlen)
{
	const char *cmd = a[0];

	if (strcmp(cmd, "put") == 0 && n >= 3)
		return etcd_put_if_absent(t->c, a[1], a[2], strlen(a[2]),
		    num(a[3]), on_reply, p, err, errlen);
	if (strcmp(cmd, "cas") == 0 && n >= 4)
		return etcd_cas(t->c, a[1], num(a[2]), a[3], strlen(a[3]),
		    num(a[4]), on_reply, p, err, errlen);
	if (strcmp(cmd, "del") == 0 && n >= 3)
		return etcd_delete_if(t->c, a[1], num(a[2]), on_reply, p, err,
		    errlen);
	if (strcmp(cmd, "get") == 0 && n >= 2)
		return etcd_range_prefix(t->c, a[1], a[3], n >= 3 ? num(a[2]) :
		    ETCD_RANGE_LIMIT_MAX, 0, on_reply, p, err, errlen);
	if (strcmp(cmd, "grant") == 0 && n >= 2)
		return etcd_lease_grant(t->c, num(a[1]), on_reply, p, err,
		    errlen);
	if (strcmp(cmd, "keepalive") == 0 && n >= 2)
		return etcd_lease_keepalive(t->c, num(a[1]), on_reply, p, err,
		    errlen);
	if (strcmp(cmd, "revoke") == 0 && n >= 2)
		return etcd_lease_revoke(t->c, num(a[1]), on_reply, p, err,
		    errlen);
	snprintf(err, errlen, "unknown command or missing arguments");
	return -1;
}

/* watch, unwatch, keeper, keeper-stop, member: 0 when answered. */
static int
local(struct tool *t, const char *tag, char **a, int n, char *err,
    size_t errlen)
{
	struct tagged *g;
	struct pending *p;

	if (strcmp(a[0], "member") == 0) {
		json_t *o = answer(tag, a[0], "ok", "");

		json_object_set_new(o, "member", json_string(
		    etcd_client_member(t->c)));
		emit(o);
		return 0;
	}
	if ((strcmp(a[0], "watch") == 0 || strcmp(a[0], "keeper") == 0) &&
	    n >= 2) {
		if ((g = find_tag(t, tag, true)) == NULL ||
		    (strcmp(a[0], "watch") == 0 ? etcd_watch_start(t->c, a[1],
		    num(a[2]), false, on_watch, g, &g->w, err, errlen) :
		    etcd_lease_keeper_start(t->c, num(a[1]), on_lease, g,
		    &g->k, err, errlen)) != 0) {
			if (g != NULL)
				memset(g, 0, sizeof(*g));
			return -1;
		}
		emit(answer(tag, a[0], "ok", ""));
		return 0;
	}
	if ((strcmp(a[0], "unwatch") == 0 || strcmp(a[0], "keeper-stop") ==
	    0) && n >= 2 && (g = find_tag(t, a[1], false)) != NULL) {
		if (g->w != NULL) {
			etcd_watch_stop(g->w);
			memset(g, 0, sizeof(*g));
			emit(answer(tag, a[0], "ok", ""));
		} else if (g->k != NULL && (p = calloc(1, sizeof(*p))) != NULL) {
			snprintf(p->tag, sizeof(p->tag), "%s", tag);
			snprintf(p->cmd, sizeof(p->cmd), "%s", a[0]);
			etcd_lease_keeper_stop(g->k, on_keeper_stopped, p);
			memset(g, 0, sizeof(*g));
		}
		return 0;
	}
	return 1;
}

static void on_closed(void *arg);

static void
quit(struct tool *t)
{
	if (t->quitting)
		return;
	t->quitting = true;
	uv_read_stop((uv_stream_t *)&t->in);
	uv_close((uv_handle_t *)&t->in, NULL);
	etcd_client_close(t->c, on_closed, t);
}

static void
command(struct tool *t, char *line)
{
	char *a[ARGS_MAX + 1], *tag, *save = NULL, err[512];
	struct pending *p;
	int n = 0, r;

	memset(a, 0, sizeof(a));
	if ((tag = strtok_r(line, " \t", &save)) == NULL)
		return;
	while (n < ARGS_MAX && (a[n] = strtok_r(NULL, " \t", &save)) != NULL)
		n++;
	if (n == 0 || strcmp(a[0], "quit") == 0) {
		quit(t);
		return;
	}
	err[0] = '\0';
	if ((r = local(t, tag, a, n, err, sizeof(err))) == 0)
		return;
	if (r > 0 && (p = calloc(1, sizeof(*p))) != NULL) {
		p->t = t;
		snprintf(p->tag, sizeof(p->tag), "%s", tag);
		snprintf(p->cmd, sizeof(p->cmd), "%s", a[0]);
		if (call(t, p, a, n, err, sizeof(err)) == 0)
			return;
		free(p);
	}
	emit(answer(tag, a[0], "error", err));
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct tool *t = h->data;

	buf->base = t->line + t->len;
	buf->len = sizeof(t->line) - 1 - t->len;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tool *t = s->data;
	char *nl;
	size_t used;

	if (nread < 0) {
		quit(t);
		return;
	}
	t->len += (size_t)nread;
	t->line[t->len] = '\0';
	while (!t->quitting && (nl = strchr(t->line, '\n')) != NULL) {
		*nl = '\0';
		used = (size_t)(nl - t->line) + 1;
		command(t, t->line);
		memmove(t->line, t->line + used, t->len - used + 1);
		t->len -= used;
	}
	if (t->len == sizeof(t->line) - 1) {
		fprintf(stderr, "ferry-etcdtool: a command over %d bytes\n",
		    LINE_MAX_LEN);
		quit(t);
	}
}

static void
on_closed(void *arg)
{
	(void)arg;
	emit(json_pack("{s:s}", "closed", "yes"));
}

int
main(int argc, char **argv)
{
	struct etcd_tls_files f = { .ca_name = "-A", .cert_name = "-E",
	    .key_name = "-K" };
	struct etcd_client_opts o;
	struct etcd_tls tls;
	enum log_level level = LOG_INFO;
	struct tool t;
	char err[512];
	int ch;

	memset(&o, 0, sizeof(o));
	memset(&t, 0, sizeof(t));
	while ((ch = getopt(argc, argv, "va:c:A:E:K:")) != -1) {
		switch (ch) {
		case 'v':
			level = level < LOG_DEBUG2 ? level + 1 : level;
			break;
		case 'a':
			o.attempt_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			o.call_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'A':
			f.ca = optarg;
			break;
		case 'E':
			f.cert = optarg;
			break;
		case 'K':
			f.key = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	log_init("ferry-etcdtool", level, stderr);
	t.loop = uv_default_loop();
	if (etcd_tls_load(&tls, &f, err, sizeof(err)) != 0) {
		fprintf(stderr, "ferry-etcdtool: %s\n", err);
		return 2;
	}
	o.tls = &tls;
	if (etcd_client_new(t.loop, argv[optind], &o, &t.c, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "ferry-etcdtool: %s\n", err);
		etcd_tls_free(&tls);
		return 2;
	}
	etcd_tls_free(&tls);	/* the client has its copy */
	uv_pipe_init(t.loop, &t.in, 0);
	t.in.data = &t;
	if (uv_pipe_open(&t.in, 0) != 0 ||
	    uv_read_start((uv_stream_t *)&t.in, on_alloc, on_read) != 0) {
		fprintf(stderr, "ferry-etcdtool: cannot read stdin\n");
		return 2;
	}
	emit(json_pack("{s:s, s:s}", "ready", "yes", "member",
	    etcd_client_member(t.c)));
	uv_run(t.loop, UV_RUN_DEFAULT);
	uv_loop_close(t.loop);
	return 0;
usage:
	fprintf(stderr, "usage: ferry-etcdtool [-v] [-a ATTEMPT_MS] "
	    "[-c CALL_MS] [-A CAFILE] [-E CERTFILE -K KEYFILE] "
	    "etcd:URL[,URL...]\n");
	return 2;
}
