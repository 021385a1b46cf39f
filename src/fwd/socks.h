/* SOCKS4, SOCKS4a and SOCKS5 (RFC 1928, "no authentication" only) as a
 * SOCKS server sees them: the client's greeting and CONNECT request in,
 * the replies out. Sans-I/O: bytes in, bytes to send and a result out. */
#ifndef FERRY_FWD_SOCKS_H
#define FERRY_FWD_SOCKS_H
#include <stddef.h>
#include <stdint.h>
#include "ssh/buf.h"

enum socks_status {
	SOCKS_MORE,	/* need more bytes */
	SOCKS_DONE,	/* a CONNECT request: host and port are set */
	SOCKS_FAIL,	/* refused or malformed: send out (if any), close */
};

/* Reply codes, written in the client's protocol version by socks_reply. */
enum socks_rep {
	SOCKS_REP_OK,			/* 5: 0x00  4: 0x5A */
	SOCKS_REP_GENERAL,		/* 5: 0x01  4: 0x5B */
	SOCKS_REP_NOT_ALLOWED,		/* 5: 0x02  4: 0x5B */
	SOCKS_REP_NET_UNREACH,		/* 5: 0x03  4: 0x5B */
	SOCKS_REP_HOST_UNREACH,		/* 5: 0x04  4: 0x5B */
	SOCKS_REP_REFUSED,		/* 5: 0x05  4: 0x5B */
	SOCKS_REP_TTL_EXPIRED,		/* 5: 0x06  4: 0x5B */
	SOCKS_REP_CMD_UNSUPPORTED,	/* 5: 0x07  4: 0x5B */
	SOCKS_REP_ATYP_UNSUPPORTED,	/* 5: 0x08  4: 0x5B */
};

struct socks {
	int		 ver;		/* 0 until the first byte, then 4 or 5 */
	int		 stage;		/* internal */
	uint8_t		 buf[520];	/* the current message so far */
	size_t		 len;
	char		 host[256];	/* SOCKS_DONE: name or address text */
	uint16_t	 port;		/* SOCKS_DONE: host order */
	char		 err[128];	/* SOCKS_FAIL: what was wrong */
};

void	socks_init(struct socks *s);
/* Feeds n bytes. *used is how many bytes of p were consumed: after
 * SOCKS_DONE the rest is data the client sent ahead of our reply, which
 * belongs to the connection. Bytes to send back at once (the SOCKS5
 * method selection; on SOCKS_FAIL the protocol's failure reply where it
 * has one) are appended to out. After SOCKS_DONE or SOCKS_FAIL, further
 * calls return the same status and consume nothing. */
enum socks_status socks_feed(struct socks *s, const uint8_t *p, size_t n,
	    size_t *used, struct wb *out);
/* Appends the reply to a SOCKS_DONE request with code rep (bound address
 * 0.0.0.0 port 0, as ssh sends). */
void	socks_reply(const struct socks *s, enum socks_rep rep, struct wb *out);
/* The reply for a channel open that failed with an SSH reason code
 * (RFC 4254 §5.1) and the peer's message (e.g. sshd sends strerror:
 * "Connection refused", "No route to host", "Network is unreachable";
 * ferryd sends libuv's texts: "connection refused", "host is unreachable",
 * "network is unreachable", "connection timed out", and resolver errors
 * such as "unknown node or service"). Reason 1 (prohibited) ->
 * NOT_ALLOWED; reason 2 mapped from the message case-insensitively:
 * "refused" -> REFUSED, "network" + "unreachable" -> NET_UNREACH,
 * "host"/"no route"/"unknown node"/"name"/"resolve"/"not known" ->
 * HOST_UNREACH, "timed out" -> TTL_EXPIRED, else GENERAL; other reasons
 * -> GENERAL. message may be NULL. */
enum socks_rep socks_rep_for_open_failure(uint32_t reason, const char *message);
#endif
