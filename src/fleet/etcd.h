/* etcd v3 through its JSON gateway, sans-I/O: the request bodies of the
 * calls a fleet registry makes, and parsers for etcd's answers, including
 * the stream a watch answers with. No socket, no clock, no global: the
 * I/O driver (fleet/etcd_client.h) posts each body to the path named
 * here and feeds back what came.
 *
 * Keys are text (ferry's are paths such as <prefix>/fwd/tcp/<port>; a key
 * etcd returns with a NUL byte in it is refused); values are bytes. On
 * the wire both are base64 inside JSON, and int64 fields are JSON strings
 * (numbers are accepted too).
 *
 * Parser contract: a parser reads len bytes of body (no NUL needed, never
 * past len) and returns 0 with *out filled, or -1 with *e filled:
 * ETCD_E_MALFORMED (not an answer etcd gives; e->msg says what was wrong)
 * or ETCD_E_SERVER (etcd answered an error: e->code is its gRPC status
 * code, e->msg its text). e->msg is always printable (peer text escaped).
 * After 0 the caller owns what *out points to and frees it with the
 * matching _free; after -1 *out holds nothing to free. Parsers allocate
 * (jansson's tree, the keys and values) and free it all on every path.
 *
 * Bounds: a body over ETCD_RESP_MAX, a key over ETCD_KEY_MAX or a value
 * over ETCD_VALUE_MAX is malformed; builders refuse the same. */
#ifndef FERRY_FLEET_ETCD_H
#define FERRY_FLEET_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A record of the registry is well under 1 KiB; a range page of 256
 * records at the bounds is under 1 MiB. A watch message holds every
 * event of one revision (a lease that ended deletes all its keys in
 * one): about 25,000 deletions fit. */
#define ETCD_KEY_MAX		512		/* bytes of a key */
#define ETCD_VALUE_MAX		2048		/* bytes of a value */
#define ETCD_RESP_MAX		(1u << 20)	/* one answer's body */
#define ETCD_RANGE_LIMIT_MAX	256		/* keys one range page asks for */
#define ETCD_WATCH_MSG_MAX	(4u << 20)	/* one message of a watch */
#define ETCD_ERRMSG_MAX		256

/* The gateway's paths, relative to a member's URL. */
#define ETCD_PATH_RANGE		"/v3/kv/range"
#define ETCD_PATH_TXN		"/v3/kv/txn"
#define ETCD_PATH_DELETE	"/v3/kv/deleterange"
#define ETCD_PATH_GRANT		"/v3/lease/grant"
#define ETCD_PATH_KEEPALIVE	"/v3/lease/keepalive"
#define ETCD_PATH_REVOKE	"/v3/lease/revoke"
#define ETCD_PATH_WATCH		"/v3/watch"

/* gRPC status codes etcd answers with that callers act upon. */
#define ETCD_GRPC_INVALID	3
#define ETCD_GRPC_DEADLINE	4
#define ETCD_GRPC_NOT_FOUND	5	/* "requested lease not found" */
#define ETCD_GRPC_OUT_OF_RANGE	11	/* "required revision has been compacted" */
#define ETCD_GRPC_UNAVAILABLE	14	/* "no leader", "request timed out" */

enum etcd_errkind {
	ETCD_E_NONE,
	ETCD_E_MALFORMED,
	ETCD_E_SERVER,
};

struct etcd_error {
	enum etcd_errkind kind;
	int		 code;			/* gRPC code (ETCD_E_SERVER) */
	char		 msg[ETCD_ERRMSG_MAX];	/* printable */
};

struct etcd_header {
	uint64_t	 cluster_id;
	uint64_t	 member_id;	/* the member that answered */
	int64_t		 revision;	/* the store's revision */
	uint64_t	 raft_term;
};

/* One key as etcd holds it. key and value are owned (NUL-terminated for
 * convenience; valuelen bytes of value); etcd_kv_free frees both. */
struct etcd_kv {
	char		*key;
	size_t		 keylen;
	uint8_t		*value;
	size_t		 valuelen;
	int64_t		 create_revision;
	int64_t		 mod_revision;
	int64_t		 version;
	int64_t		 lease;		/* 0: none */
};

/* A put-if-absent, compare-and-swap or delete-if-revision. */
struct etcd_txn_result {
	struct etcd_header hdr;		/* revision: the store's after it, so a
					 * put that succeeded has this as its
					 * key's mod_revision */
	bool		 succeeded;
	bool		 has_kv;	/* failed: the key as it is now (not
					 * there: has_kv false) */
	struct etcd_kv	 kv;
};

/* One page of a range; more says a next page exists. */
struct etcd_range_result {
	struct etcd_header hdr;
	struct etcd_kv	*kvs;
	size_t		 nkvs;
	bool		 more;
	int64_t		 count;		/* keys in the whole range */
};

/* A lease granted or kept alive. */
struct etcd_lease_result {
	struct etcd_header hdr;
	int64_t		 id;
	int64_t		 ttl;		/* seconds; 0 after a keepalive: the
					 * lease is gone */
};

enum etcd_event_type {
	ETCD_EV_PUT,
	ETCD_EV_DELETE,
};

struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv	 kv;		/* DELETE: key and mod_revision */
	bool		 has_prev;
	struct etcd_kv	 prev_kv;
};

/* One message of a watch's stream. */
struct etcd_watch_msg {
	struct etcd_header hdr;
	int64_t		 watch_id;
	bool		 created;
	bool		 canceled;
	int64_t		 compact_revision;	/* canceled: revisions before
						 * it are gone */
	char		 cancel_reason[ETCD_ERRMSG_MAX];	/* printable */
	struct etcd_event *events;
	size_t		 nevents;
};

/* Request bodies: NUL-terminated JSON the caller frees with free(), or
 * NULL with err (a key or value over its bound, a bad number, out of
 * memory). lease 0: the key has none. */

/* Creates key only if it does not exist (create_revision == 0); if it
 * does, the answer carries the key as it is (its holder). */
char	*etcd_req_put_if_absent(const char *key, const void *val,
	    size_t vallen, int64_t lease, char *err, size_t errlen);
/* Replaces key only if its mod_revision is still mod_revision; if not,
 * the answer carries the key as it is. */
char	*etcd_req_cas(const char *key, int64_t mod_revision, const void *val,
	    size_t vallen, int64_t lease, char *err, size_t errlen);
/* Deletes key only if its mod_revision is still mod_revision. */
char	*etcd_req_delete_if(const char *key, int64_t mod_revision, char *err,
	    size_t errlen);
/* One page of the keys under prefix, in key order: those after `after`
 * (NULL: from the first), at most limit (1..ETCD_RANGE_LIMIT_MAX), at
 * revision (0: the latest; a later page passes the first page's
 * hdr.revision to read one snapshot). */
char	*etcd_req_range_prefix(const char *prefix, const char *after,
	    int64_t limit, int64_t revision, char *err, size_t errlen);
/* ttl in seconds (etcd raises it to its minimum); id 0: etcd picks. */
char	*etcd_req_lease_grant(int64_t ttl, int64_t id, char *err,
	    size_t errlen);
char	*etcd_req_lease_keepalive(int64_t id, char *err, size_t errlen);
char	*etcd_req_lease_revoke(int64_t id, char *err, size_t errlen);
/* Watches the keys under prefix from start_revision (0: from now on),
 * with each event's previous value when prev_kv. */
char	*etcd_req_watch_prefix(const char *prefix, int64_t start_revision,
	    bool prev_kv, char *err, size_t errlen);
/* The end of prefix's range (etcd's range_end): prefix with its last
 * byte below 0xff incremented and the rest cut; "\0" (all keys from
 * prefix on) when there is none. Returns its length, -1 if outlen is too
 * small. */
int	 etcd_prefix_end(const char *prefix, char *out, size_t outlen);

/* Answers (contract at the top). */
int	 etcd_parse_txn(const char *body, size_t len,
	    struct etcd_txn_result *out, struct etcd_error *e);
int	 etcd_parse_range(const char *body, size_t len,
	    struct etcd_range_result *out, struct etcd_error *e);
/* A lease grant's answer. */
int	 etcd_parse_grant(const char *body, size_t len,
	    struct etcd_lease_result *out, struct etcd_error *e);
/* A keepalive's answer (one message of the gateway's stream form). */
int	 etcd_parse_keepalive(const char *body, size_t len,
	    struct etcd_lease_result *out, struct etcd_error *e);
/* A revoke's answer: nothing but its header. */
int	 etcd_parse_revoke(const char *body, size_t len,
	    struct etcd_header *out, struct etcd_error *e);

void	 etcd_kv_free(struct etcd_kv *kv);
void	 etcd_txn_result_free(struct etcd_txn_result *r);
void	 etcd_range_result_free(struct etcd_range_result *r);
void	 etcd_watch_msg_free(struct etcd_watch_msg *m);

/* A watch's stream, one JSON message per line, parsed as it comes in a
 * buffer of at most ETCD_WATCH_MSG_MAX bytes (grown as needed). The
 * caller feeds what the connection gave, taking messages out between
 * feeds:
 *
 *	while (n > 0) {
 *		k = etcd_watch_feed(p, data, n); data += k; n -= k;
 *		while ((r = etcd_watch_next(p, &m, &e)) == 1)
 *			use m, then etcd_watch_msg_free(&m);
 *		if (r < 0)
 *			the stream is over (e says why);
 *	}
 *
 * feed takes as much as fits (0 only when the buffer is full, and then
 * next fails: a message over the bound). next returns 1 with *m filled
 * (the caller frees it), 0 when a message is still incomplete, -1 with
 * *e: malformed, over the bound, out of memory, or an error etcd sent
 * in the stream (ETCD_E_SERVER). After -1 the parser only fails. */
struct etcd_watch_parser {
	char		*buf;
	size_t		 start;		/* first byte not yet parsed */
	size_t		 len;		/* bytes held, from buf[0] */
	size_t		 cap;
	bool		 failed;
	bool		 oom;
};

void	 etcd_watch_parser_init(struct etcd_watch_parser *p);
void	 etcd_watch_parser_free(struct etcd_watch_parser *p);
size_t	 etcd_watch_feed(struct etcd_watch_parser *p, const char *data,
	    size_t n);
int	 etcd_watch_next(struct etcd_watch_parser *p,
	    struct etcd_watch_msg *m, struct etcd_error *e);
/* The revision a watch that dies after m resumes from, given next, the
 * one it would have resumed from before m (its start revision at
 * first): past the last event, past a progress report, past the
 * creation of a watch started at 0 (now). */
int64_t	 etcd_watch_next_rev(const struct etcd_watch_msg *m, int64_t next);

/* ClusterRegistry's value: "etcd:" then one or more member URLs
 * (http:// or https://, host and optional port, no path), comma
 * separated; all of them http:// or all https://. */
#define ETCD_ENDPOINTS_MAX	16
#define ETCD_URL_MAX		256

struct etcd_endpoints {
	int		 n;
	bool		 tls;	/* every URL https:// (a mix is refused) */
	char		 url[ETCD_ENDPOINTS_MAX][ETCD_URL_MAX];	/* no final / */
};

/* 0, or -1 with err naming what was wrong. */
int	 etcd_endpoints_parse(const char *spec, struct etcd_endpoints *out,
	    char *err, size_t errlen);

#endif
