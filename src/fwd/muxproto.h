/* OpenSSH's multiplexing protocol (PROTOCOL.mux, version 4), the part a
 * forwarding-only master serves: hello, alive check, terminate, stop
 * listening, opening and closing forwards; sessions, stdio forwarding
 * and proxy mode are refused. Packets are a uint32 length and a uint32
 * type, then the body. Sans-I/O: nothing here reads or writes a socket,
 * and parsing never allocates (strings point into the packet). */
#ifndef FERRY_FWD_MUXPROTO_H
#define FERRY_FWD_MUXPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "fwd/spec.h"
#include "ssh/buf.h"

#define MUX_VERSION		4
#define MUX_MSG_HELLO		0x00000001
#define MUX_C_NEW_SESSION	0x10000002
#define MUX_C_ALIVE_CHECK	0x10000004
#define MUX_C_TERMINATE		0x10000005
#define MUX_C_OPEN_FWD		0x10000006
#define MUX_C_CLOSE_FWD		0x10000007
#define MUX_C_NEW_STDIO_FWD	0x10000008
#define MUX_C_STOP_LISTENING	0x10000009
#define MUX_C_PROXY		0x1000000f
#define MUX_S_OK		0x80000001
#define MUX_S_PERMISSION_DENIED	0x80000002
#define MUX_S_FAILURE		0x80000003
#define MUX_S_ALIVE		0x80000005
#define MUX_S_REMOTE_PORT	0x80000007

/* One request as the client sent it. */
struct mux_req {
	uint32_t	 type;
	uint32_t	 id;		/* the request id (not for HELLO) */
	uint32_t	 version;	/* HELLO */
	/* OPEN_FWD, CLOSE_FWD */
	enum fwd_kind	 kind;
	char		 spec[600];	/* as -L, -R or -D take it */
};

/* Parses one whole packet (length field included; net/reqsrv.c frames
 * them). Returns 0, or -1
 * with err saying what is wrong. An unknown type parses (type and id
 * set) so that it can be refused. */
int	mux_parse(const uint8_t *p, size_t len, struct mux_req *out,
	    char *err, size_t errlen);
/* The replies, appended to out. */
void	mux_hello(struct wb *out);
void	mux_ok(struct wb *out, uint32_t id);
void	mux_alive(struct wb *out, uint32_t id, uint32_t pid);
void	mux_remote_port(struct wb *out, uint32_t id, uint32_t port);
/* MUX_S_FAILURE or MUX_S_PERMISSION_DENIED with reason. */
void	mux_refuse(struct wb *out, uint32_t type, uint32_t id,
	    const char *reason);

/* The client's side (ferry -O), appended to out: a request with no body
 * (ALIVE_CHECK, TERMINATE, STOP_LISTENING), and OPEN_FWD / CLOSE_FWD
 * for a forward as ssh sends it. */
void	mux_request(struct wb *out, uint32_t type, uint32_t id);
void	mux_request_fwd(struct wb *out, uint32_t type, uint32_t id,
	    const struct fwd_spec *s);

/* A master's answer. */
struct mux_reply {
	uint32_t	 type;
	uint32_t	 id;
	uint32_t	 value;		/* ALIVE: the pid; REMOTE_PORT: the port */
	char		 reason[256];	/* FAILURE, PERMISSION_DENIED */
};

/* Parses one whole packet of a master. Returns 0 or -1. */
int	mux_parse_reply(const uint8_t *p, size_t len, struct mux_reply *out);

#endif
