/* Engine internals shared by transport.c, kex.c, auth.c and chan.c. */
#ifndef FERRY_SSH_SSH_INT_H
#define FERRY_SSH_SSH_INT_H

#include "ssh.h"
#include "cipher.h"
#include "zstream.h"

/* Message numbers (RFC 4250 §4.1). */
enum {
	MSG_DISCONNECT = 1, MSG_IGNORE = 2, MSG_UNIMPLEMENTED = 3,
	MSG_DEBUG = 4, MSG_SERVICE_REQUEST = 5, MSG_SERVICE_ACCEPT = 6,
	MSG_EXT_INFO = 7, MSG_KEXINIT = 20, MSG_NEWKEYS = 21,
	MSG_KEX_ECDH_INIT = 30, MSG_KEX_ECDH_REPLY = 31,
	MSG_USERAUTH_REQUEST = 50, MSG_USERAUTH_FAILURE = 51,
	MSG_USERAUTH_SUCCESS = 52, MSG_USERAUTH_BANNER = 53,
	MSG_USERAUTH_PK_OK = 60,
	MSG_GLOBAL_REQUEST = 80, MSG_REQUEST_SUCCESS = 81,
	MSG_REQUEST_FAILURE = 82, MSG_CHANNEL_OPEN = 90,
	MSG_CHANNEL_OPEN_CONFIRMATION = 91, MSG_CHANNEL_OPEN_FAILURE = 92,
	MSG_CHANNEL_WINDOW_ADJUST = 93, MSG_CHANNEL_DATA = 94,
	MSG_CHANNEL_EXTENDED_DATA = 95, MSG_CHANNEL_EOF = 96,
	MSG_CHANNEL_CLOSE = 97, MSG_CHANNEL_REQUEST = 98,
	MSG_CHANNEL_SUCCESS = 99, MSG_CHANNEL_FAILURE = 100,
};

/* ssh.h's disconnect reasons by the short names the engine uses. */
enum {
	DISC_PROTOCOL_ERROR = SSH_DISC_PROTOCOL_ERROR,
	DISC_KEY_EXCHANGE_FAILED = SSH_DISC_KEY_EXCHANGE_FAILED,
	DISC_MAC_ERROR = SSH_DISC_MAC_ERROR,
	DISC_SERVICE_NOT_AVAILABLE = SSH_DISC_SERVICE_NOT_AVAILABLE,
	DISC_HOST_KEY_NOT_VERIFIABLE = SSH_DISC_HOST_KEY_NOT_VERIFIABLE,
	DISC_BY_APPLICATION = SSH_DISC_BY_APPLICATION,
	DISC_NO_MORE_AUTH_METHODS = SSH_DISC_NO_MORE_AUTH_METHODS,
};

enum conn_state {
	ST_VERSION,	/* waiting for the peer's identification line */
	ST_KEX,		/* initial key exchange */
	ST_SERVICE,	/* client: waiting for SERVICE_ACCEPT */
	ST_AUTH,	/* client: authenticating */
	ST_OPEN,	/* authenticated: connection protocol */
	ST_DEAD,	/* failed or disconnected */
};

struct kex;

/* One direction's packet state. */
struct dir {
	struct ssh_pcipher	*pc;		/* NULL before the first NEWKEYS */
	uint32_t		 seq;
	uint64_t		 bytes;		/* since the last KEX */
	uint64_t		 packets;
	char			 cipher[48];
	char			 mac[48];
	char			 comp[24];	/* negotiated for these keys */
	struct ssh_zstream	*z;		/* while compression runs */
	uint64_t		 z_raw;		/* totals of earlier streams */
	uint64_t		 z_wire;
};

enum chan_state {
	CH_FREE,
	CH_OPENING,	/* we sent OPEN, waiting for confirmation */
	CH_PENDING,	/* the peer sent OPEN, our answer is deferred */
	CH_OPEN,
	CH_CLOSING,	/* we sent CLOSE, waiting for the peer's */
	CH_CLOSED,	/* both CLOSEs seen: late messages are ignored until
			 * the id is reused (ids are handed out next-fit) */
};

struct chan {
	enum chan_state	 state;
	uint32_t	 remote_id;
	void		*ud;
	/* peer's window and max packet: what we may send */
	uint64_t	 rwin;
	uint32_t	 rmaxpkt;
	/* our window: what the peer may still send, and its target size */
	uint32_t	 lwin;
	uint32_t	 lwin_max;
	uint32_t	 consumed;	/* delivered, not yet re-opened */
	bool		 eof_sent;
	bool		 eof_rcvd;
	bool		 close_sent;
	bool		 close_rcvd;
};

/* A queued global request awaiting its reply. */
struct greq {
	void		*ud;
	bool		 want_reply;
};

struct ssh_conn {
	struct ssh_config cfg;
	enum conn_state	 state;
	char		*error;
	enum ssh_fail	 fail;

	/* identification strings, without CR LF */
	char		 v_ours[64];
	char		 v_peer[256];
	size_t		 version_lines;	/* lines seen before the banner */

	struct wb	 in;
	size_t		 in_off;	/* start of unprocessed input */
	uint32_t	 in_pktlen;	/* length of the packet being read, 0 if
					 * not known yet */
	size_t		 in_pre_auth;	/* bytes received before auth */

	struct wb	 out;
	size_t		 out_off;	/* start of unsent output */
	size_t		 pkt_start;	/* offset of the packet being built */
	bool		 building;

	struct dir	 tx;
	struct dir	 rx;

	struct kex	*kex;		/* non-NULL while a KEX runs */
	bool		 kex_strict;
	bool		 first_kex_done;
	/* SSH_EV_HOSTKEY was deferred: input is held until the verdict */
	bool		 hostkey_wait;
	uint8_t		 session_id[64];
	size_t		 session_id_len;
	/* non-transport packets queued while our KEXINIT is out */
	struct wb	 deferred;
	uint64_t	 rekey_bytes;
	char		*server_sig_algs;
	struct wb	 hostkey_blob;	/* from the first KEX */

	/* compression: delayed methods start once this is set (server:
	 * USERAUTH_SUCCESS sealed; client: received) */
	bool		 comp_authed;
	struct ssh_zstore zstore;	/* inflated payloads of this batch */
	struct wb	 zbuf;		/* deflate output of one packet */

	/* client auth */
	bool		 auth_pending;
	bool		 authenticated;
	/* server auth */
	char		 auth_user[256];
	unsigned	 auth_failures;
	/* a deferred publickey request (auth_wait.c), owned; input is held
	 * while it is set */
	struct auth_wait *auth_wait;
	/* a deferred global request (chan.c): input is held while set */
	bool		 greq_wait;
	bool		 ext_info_c;	/* the client asked for EXT_INFO */

	struct chan	*chans;
	uint32_t	 nchans;
	uint32_t	 chan_next;	/* where the next id search starts */
	size_t		 open_chans;
	uint64_t	 late_msgs;	/* for channels already closed */

	struct greq	*greqs;		/* FIFO of requests awaiting reply */
	size_t		 ngreqs;
	size_t		 greq_head;
	size_t		 greq_cap;

	uint8_t		 pad_pool[256];
};

/* transport.c */
int	 conn_fail(struct ssh_conn *c, uint32_t code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 conn_emit(struct ssh_conn *c, struct ssh_event *ev);
/* Starts a packet of type in the output; append the payload with wb_*
 * on c->out, then pkt_end. */
int	 pkt_begin(struct ssh_conn *c, uint8_t type);
int	 pkt_end(struct ssh_conn *c);
int	 transport_flush_deferred(struct ssh_conn *c);
/* Processes held input after a deferred verdict. Returns 0 or -1. */
int	 transport_resume(struct ssh_conn *c);

/* kex_hostkey.c */
/* server: the host key algorithms it offers (certificates first), as a
 * name-list in out. Returns 0, or -1 if none (or out is too small). */
int	 hostkey_server_algs(const struct ssh_conn *c, char *out,
	    size_t outlen);
/* server: for the negotiated alg, the private key that signs (*key,
 * borrowed from cfg), its signature algorithm and the blob to send
 * (appended to blob: a key or a certificate). Returns 0 or -1. */
int	 hostkey_server_pick(const struct ssh_conn *c, const char *alg,
	    const struct key **key, const char **sig_alg, struct wb *blob);
/* client: parses the server's blob ks under the negotiated alg, into a
 * plain key (*owned) or a certificate (*cert), both the caller's to free;
 * *vk is the key that must sign the exchange (borrowed from one of them)
 * and *sig_alg its signature algorithm. Returns 0, or -1 having failed
 * the connection. The certificate is parsed only: judging it is the
 * host key event's. */
int	 hostkey_client_parse(struct ssh_conn *c, const char *alg,
	    const uint8_t *ks, size_t kslen, struct key **owned,
	    struct cert **cert, const struct key **vk, const char **sig_alg);

/* kex.c */
int	 kex_start(struct ssh_conn *c);
int	 kex_input(struct ssh_conn *c, uint8_t type, const uint8_t *p,
	    size_t len);
void	 kex_free(struct kex *k);
/* Our NEWKEYS is out (or no KEXINIT of ours is): data may be sent. */
/* The client's deferred host key verdict: NEWKEYS sent or the
 * connection failed. Returns 0 or -1. */
int	 kex_hostkey_verdict(struct ssh_conn *c, bool accept);
bool	 kex_tx_open(const struct kex *k);
/* The peer's KEXINIT arrived and its NEWKEYS not yet: it may send only
 * KEX messages. */
bool	 kex_rx_closed(const struct kex *k);

/* The pieces of curve25519-sha256, exposed for known-answer tests. */
int	 kex_shared_secret(void *eph_pkey, const uint8_t *peer, size_t peerlen,
	    struct wb *kmp);
int	 kex_exchange_hash(const char *v_c, const char *v_s,
	    const struct wb *i_c, const struct wb *i_s, const uint8_t *ks,
	    size_t kslen, const uint8_t *qc, const uint8_t *qs, size_t qslen,
	    const struct wb *kmp, uint8_t *h);
int	 kex_derive(const uint8_t *sid, size_t sidlen, const struct wb *kmp,
	    const uint8_t *h, char letter, uint8_t *out, size_t need);

/* auth.c */
int	 auth_input(struct ssh_conn *c, uint8_t type, const uint8_t *p,
	    size_t len);

/* auth_wait.c: a publickey request whose verdict the handler deferred
 * (its signature, if any, verified already); alg and blob are copied. */
int	 auth_defer(struct ssh_conn *c, const char *alg, const uint8_t *blob,
	    size_t bloblen, bool has_sig);
void	 auth_wait_free(struct ssh_conn *c);
/* auth.c: the handler's verdict on a proved request (refusal, PK_OK or
 * success), for server_pubkey and auth_wait.c */
int	 auth_verdict(struct ssh_conn *c, bool allow, const char *alg,
	    const uint8_t *blob, size_t bloblen, bool has_sig);

/* chan.c */
int	 chan_input(struct ssh_conn *c, uint8_t type, const uint8_t *p,
	    size_t len);
int	 global_input(struct ssh_conn *c, uint8_t type, const uint8_t *p,
	    size_t len);
void	 chan_free_all(struct ssh_conn *c);

/* comp.c */
/* At NEWKEYS: ends d's stream and starts the one the new keys call for
 * (comp, a name from ssh_comp_all); out: d is ours. */
int	 comp_newkeys(struct ssh_conn *c, struct dir *d, const char *comp,
	    bool out);
/* Authentication is over: delayed compression starts both ways. */
int	 comp_authed(struct ssh_conn *c);
/* Compresses the payload of the packet being sealed, in place. */
int	 comp_seal(struct ssh_conn *c);
/* Decompresses a received payload *p, *n into the batch's store, bounded
 * by SSH_MAX_PACKET; *p, *n then describe the result. */
int	 comp_open(struct ssh_conn *c, const uint8_t **p, size_t *n);

/* algs.c: picks the first name of the client's list that the server
 * lists. Writes it to out; returns 0, or -1 when there is none. */
int	 algs_choose(const uint8_t *cl, size_t cllen, const uint8_t *sl,
	    size_t sllen, char *out, size_t outlen);
bool	 algs_has(const uint8_t *list, size_t len, const char *name);

#endif
