/* OpenSSH's multiplexing protocol (fwd/muxproto.h). */
#include "fwd/muxproto.h"

#include <stdio.h>
#include <string.h>

/* A listen or connect port that says the host field is a socket path. */
#define MUX_PORT_PATH	0xfffffffeU
#define MUX_FWD_LOCAL	1
#define MUX_FWD_REMOTE	2
#define MUX_FWD_DYNAMIC	3

/* "host:port" as a spec field: a path as it is, an IPv6 address in
 * brackets, an empty host left out (listen side only). */
static int
add_end(char *out, size_t outlen, const char *host, uint32_t port,
    bool listen)
{
	size_t o = strlen(out);
	const char *sep = o > 0 ? ":" : "";
	int n;

	if (port == MUX_PORT_PATH)
		n = snprintf(out + o, outlen - o, "%s%s", sep, host);
	else if (port > 65535)
		return -1;
	else if (host[0] == '\0' && listen)
		n = snprintf(out + o, outlen - o, "%s%u", sep, port);
	else if (host[0] == '\0')
		return -1;
	else
		n = snprintf(out + o, outlen - o, strchr(host, ':') != NULL ?
		    "%s[%s]:%u" : "%s%s:%u", sep, host, port);
	return n < 0 || (size_t)n >= outlen - o ? -1 : 0;
}

/* OPEN_FWD and CLOSE_FWD: the forward as the flag would write it. */
static int
parse_fwd(struct rd *r, struct mux_req *out, char *err, size_t errlen)
{
	char lhost[256], chost[256];
	uint32_t type, lport, cport;

	if (rd_u32(r, &type) != 0 || rd_cstring(r, lhost, sizeof(lhost)) != 0 ||
	    rd_u32(r, &lport) != 0 || rd_cstring(r, chost, sizeof(chost)) != 0 ||
	    rd_u32(r, &cport) != 0) {
		snprintf(err, errlen, "malformed forward request");
		return -1;
	}
	if (type < MUX_FWD_LOCAL || type > MUX_FWD_DYNAMIC) {
		snprintf(err, errlen, "unknown forward type %u", type);
		return -1;
	}
	out->kind = type == MUX_FWD_LOCAL ? FWD_LOCAL : type == MUX_FWD_REMOTE ?
	    FWD_REMOTE : FWD_DYNAMIC;
	/* ssh writes "*" for an empty bind address, "" for none: both are
	 * what the spec parser takes */
	out->spec[0] = '\0';
	if (add_end(out->spec, sizeof(out->spec), lhost, lport, true) != 0 ||
	    (out->kind != FWD_DYNAMIC && (chost[0] != '\0' ||
	    cport == MUX_PORT_PATH) && add_end(out->spec, sizeof(out->spec),
	    chost, cport, false) != 0)) {
		snprintf(err, errlen, "bad forward addresses");
		return -1;
	}
	if (out->kind == FWD_LOCAL && chost[0] == '\0' &&
	    cport != MUX_PORT_PATH) {
		snprintf(err, errlen, "a local forward needs a destination");
		return -1;
	}
	return 0;
}

int
mux_parse(const uint8_t *p, size_t len, struct mux_req *out, char *err,
    size_t errlen)
{
	struct rd r;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	rd_init(&r, p, len);
	if (rd_u32(&r, &n) != 0 || n != len - 4 || rd_u32(&r, &out->type) != 0) {
		snprintf(err, errlen, "malformed packet");
		return -1;
	}
	if (out->type == MUX_MSG_HELLO) {
		if (rd_u32(&r, &out->version) != 0) {
			snprintf(err, errlen, "malformed hello");
			return -1;
		}
		return 0;	/* extensions, if any, are ignored */
	}
	if (rd_u32(&r, &out->id) != 0) {
		snprintf(err, errlen, "no request id");
		return -1;
	}
	if (out->type == MUX_C_OPEN_FWD || out->type == MUX_C_CLOSE_FWD)
		return parse_fwd(&r, out, err, errlen);
	return 0;
}

/* Starts a packet of type in out; mux_end fills in its length. */
static size_t
mux_begin(struct wb *out, uint32_t type)
{
	size_t at = out->len;

	wb_u32(out, 0);
	wb_u32(out, type);
	return at;
}

static void
mux_end(struct wb *out, size_t at)
{
	uint32_t n = (uint32_t)(out->len - at - 4);

	if (out->err)
		return;
	out->p[at] = (uint8_t)(n >> 24);
	out->p[at + 1] = (uint8_t)(n >> 16);
	out->p[at + 2] = (uint8_t)(n >> 8);
	out->p[at + 3] = (uint8_t)n;
}

/* A packet of type carrying first (a request id, or HELLO's version)
 * and, n == 1, one more number. */
static void
packet_u32(struct wb *out, uint32_t type, uint32_t first, int n,
    uint32_t more)
{
	size_t at = mux_begin(out, type);

	wb_u32(out, first);
	if (n == 1)
		wb_u32(out, more);
	mux_end(out, at);
}

void
mux_hello(struct wb *out)
{
	packet_u32(out, MUX_MSG_HELLO, MUX_VERSION, 0, 0);
}

void
mux_ok(struct wb *out, uint32_t id)
{
	packet_u32(out, MUX_S_OK, id, 0, 0);
}

void
mux_alive(struct wb *out, uint32_t id, uint32_t pid)
{
	packet_u32(out, MUX_S_ALIVE, id, 1, pid);
}

void
mux_remote_port(struct wb *out, uint32_t id, uint32_t port)
{
	packet_u32(out, MUX_S_REMOTE_PORT, id, 1, port);
}

void
mux_refuse(struct wb *out, uint32_t type, uint32_t id, const char *reason)
{
	size_t at = mux_begin(out, type);

	wb_u32(out, id);
	wb_cstring(out, reason);
	mux_end(out, at);
}

void
mux_request(struct wb *out, uint32_t type, uint32_t id)
{
	packet_u32(out, type, id, 0, 0);
}

/* One end of a forward as ssh's mux client writes it. */
static void
put_end(struct wb *out, const char *path, const char *host, int port)
{
	wb_cstring(out, path[0] != '\0' ? path : host);
	wb_u32(out, path[0] != '\0' ? MUX_PORT_PATH : (uint32_t)port);
}

void
mux_request_fwd(struct wb *out, uint32_t type, uint32_t id,
    const struct fwd_spec *s)
{
	size_t at = mux_begin(out, type);
	const char *bind = s->bind == BIND_ANY ? "*" : s->bind ==
	    BIND_LOCALHOST ? "localhost" : s->bind == BIND_ADDR ?
	    s->bind_addr : "";

	wb_u32(out, id);
	wb_u32(out, s->kind == FWD_LOCAL ? MUX_FWD_LOCAL : s->kind ==
	    FWD_REMOTE ? MUX_FWD_REMOTE : MUX_FWD_DYNAMIC);
	put_end(out, s->listen_path, bind, s->listen_port);
	put_end(out, s->connect_path, s->dynamic ? "" : s->host,
	    s->dynamic ? 0 : s->port);
	mux_end(out, at);
}

int
mux_parse_reply(const uint8_t *p, size_t len, struct mux_reply *out)
{
	struct rd r;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	rd_init(&r, p, len);
	if (rd_u32(&r, &n) != 0 || n != len - 4 || rd_u32(&r, &out->type) != 0)
		return -1;
	if (out->type == MUX_MSG_HELLO)
		return rd_u32(&r, &out->value);
	if (rd_u32(&r, &out->id) != 0)
		return -1;
	switch (out->type) {
	case MUX_S_ALIVE:
	case MUX_S_REMOTE_PORT:
		return rd_u32(&r, &out->value);
	case MUX_S_FAILURE:
	case MUX_S_PERMISSION_DENIED:
		if (rd_cstring(&r, out->reason, sizeof(out->reason)) != 0)
			snprintf(out->reason, sizeof(out->reason), "(no "
			    "reason given)");
		return 0;
	default:
		return 0;
	}
}
