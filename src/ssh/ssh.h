/* The SSH engine: sans-I/O. The caller feeds it the bytes that arrived and
 * takes from it the bytes to send; in between the engine calls one event
 * handler. It never touches a socket, file, clock or global.
 *
 * Ownership: the engine owns its buffers and channels. Pointers in an event
 * are valid only during the handler call, except channel data
 * (SSH_EV_CHAN_DATA), which stays valid until the engine is fed again
 * (ssh_feed or ssh_in_reserve): a caller may gather it and write it out
 * once per batch of input without copying. Handlers may call back into the
 * engine (send data, open channels, close channels) but must not free it. */
#ifndef FERRY_SSH_SSH_H
#define FERRY_SSH_SSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct key;
struct cert;
struct ssh_conn;

enum ssh_role {
	SSH_ROLE_CLIENT,
	SSH_ROLE_SERVER,
};

/* Largest packet accepted from a peer (length field), and the largest
 * channel data payload we ask the peer to send in one packet. */
#define SSH_MAX_PACKET		(256 * 1024)
#define SSH_CHAN_MAX_PACKET	(128 * 1024)
/* Our largest outgoing channel data chunk (the peer's max packet may cap
 * it further). 128 KiB cut the reads per GiB by four but lowered a single
 * stream's throughput ferry to ferryd by 10-20% on 2 cores (bench_pair,
 * A/B in one run): smaller packets keep the processes of a stream's
 * pipeline working at once. */
#define SSH_SEND_CHUNK		(32 * 1024)

/* Channel open failure reasons (RFC 4254 §5.1). */
#define SSH_OPEN_ADMINISTRATIVELY_PROHIBITED	1
#define SSH_OPEN_CONNECT_FAILED			2
#define SSH_OPEN_UNKNOWN_CHANNEL_TYPE		3
#define SSH_OPEN_RESOURCE_SHORTAGE		4

/* Disconnect reasons (RFC 4250 §4.2.2). */
enum ssh_disc {
	SSH_DISC_PROTOCOL_ERROR = 2,
	SSH_DISC_KEY_EXCHANGE_FAILED = 3,
	SSH_DISC_MAC_ERROR = 5,
	SSH_DISC_SERVICE_NOT_AVAILABLE = 7,
	SSH_DISC_HOST_KEY_NOT_VERIFIABLE = 9,
	SSH_DISC_BY_APPLICATION = 11,
	SSH_DISC_NO_MORE_AUTH_METHODS = 14,
};

enum ssh_ev_type {
	SSH_EV_HOSTKEY,		/* client: decide whether to trust the key */
	SSH_EV_AUTH_READY,	/* client: ssh-userauth accepted, try a key */
	SSH_EV_AUTH_FAILURE,	/* client: the last attempt was refused */
	SSH_EV_AUTH_BANNER,	/* client: text from the server */
	SSH_EV_AUTH_SUCCESS,	/* client: authenticated */
	SSH_EV_KEX_DONE,	/* a key exchange finished; sending resumes */
	SSH_EV_CHAN_CONFIRM,	/* our channel open was accepted */
	SSH_EV_CHAN_OPEN_FAILED,/* our channel open was refused */
	SSH_EV_CHAN_OPEN_REQUEST,/* the peer wants to open a channel */
	SSH_EV_CHAN_DATA,	/* data arrived on a channel */
	SSH_EV_CHAN_EOF,	/* the peer will send no more data */
	SSH_EV_CHAN_CLOSED,	/* the channel is gone (both CLOSEs seen) */
	SSH_EV_CHAN_WINDOW,	/* the peer's window grew: more may be sent */
	SSH_EV_GLOBAL_REPLY,	/* reply to our global request, in order */
	SSH_EV_DEBUG,		/* SSH_MSG_DEBUG text from the peer */
	SSH_EV_AUTH_REQUEST,	/* server: may this user log in with key? */
	SSH_EV_GLOBAL_REQUEST,	/* the peer's global request */
	SSH_EV_CHAN_REQUEST,	/* the peer's channel request */
};

struct ssh_event {
	enum ssh_ev_type	 type;
	uint32_t		 chan;		/* local channel id */
	void			*chan_ud;	/* that channel's user pointer */
	union {
		struct {
			/* the server's host key; for a *-cert-v01 alg the
			 * key the certificate certifies */
			const struct key *key;
			const char	*alg;
			/* for a *-cert-v01 alg the server's certificate,
			 * parsed but not judged (its CA signature, type,
			 * validity and principals are the handler's to
			 * check); else NULL */
			const struct cert *cert;
			/* set by handler: accept, or defer and answer later
			 * with ssh_hostkey_verdict (e.g. after asking the
			 * user); key and cert are valid during the event
			 * only (the engine frees them after it) */
			bool		 accept;
			bool		 defer;
		} hostkey;
		struct {
			const char	*methods;	/* can continue */
			bool		 partial;
		} auth_failure;
		struct {
			const char	*text;
			/* SSH_MSG_DEBUG's always_display: the peer asks
			 * that a person see it (RFC 4253 11.3) */
			bool		 display;
		} text;
		struct {
			uint32_t	 reason;
			const char	*message;
		} open_failed;
		struct {
			const char	*type;
			const uint8_t	*extra;	/* type-specific bytes */
			size_t		 extra_len;
			/* set by handler: accept with ud, refuse, or
			 * defer and answer later with ssh_chan_accept or
			 * ssh_chan_refuse (e.g. after a connect) */
			bool		 accept;
			bool		 defer;
			void		*ud;
			uint32_t	 reason;
			const char	*message;
		} open_request;
		struct {
			const uint8_t	*p;
			size_t		 len;
		} data;
		struct {
			bool		 success;
			const uint8_t	*p;	/* reply payload after type */
			size_t		 len;
			void		*ud;	/* given with the request */
		} global_reply;
		/* key is the key that signs; for an algorithm named
		 * *-cert-v01@openssh.com, cert is the parsed certificate
		 * (key is cert->key) and NULL otherwise. The engine checked
		 * the certificate's format and that its key matches alg,
		 * not its CA, principals or validity: that is the
		 * handler's. Both are the engine's and live only during
		 * the event. A signed request's signature is checked
		 * before the event: bad_sig says it failed (the request
		 * fails whatever allow says; the handler only logs). */
		struct {
			const char	*user;
			const struct key *key;
			const struct cert *cert;
			const char	*alg;
			bool		 has_sig;	/* else a query */
			bool		 bad_sig;	/* has_sig, not valid */
			bool		 allow;		/* set by handler */
			/* set by handler (not heeded with bad_sig): the
			 * verdict comes later through ssh_auth_answer (the
			 * event's pointers are gone by then: copy what is
			 * needed) */
			bool		 defer;
		} auth_request;
		/* SSH_EV_GLOBAL_REQUEST and SSH_EV_CHAN_REQUEST */
		struct {
			const char	*name;
			bool		 want_reply;
			const uint8_t	*extra;
			size_t		 extra_len;
			bool		 success;	/* set by handler */
			struct wb	*reply;		/* global: reply data */
			/* set by handler, global requests with want_reply
			 * only: the answer comes later through
			 * ssh_global_answer (extra is gone by then) */
			bool		 defer;
		} request;
	} u;
};

typedef void (*ssh_event_fn)(void *ud, struct ssh_event *ev);

struct ssh_config {
	enum ssh_role	 role;
	/* comma-separated preference lists; NULL for the defaults. A
	 * server offers the host key algorithms of its keys that
	 * hostkey_algs allows, and pubkey_algs as server-sig-algs. */
	const char	*ciphers;
	const char	*macs;
	const char	*hostkey_algs;
	const char	*kex_algs;
	/* a client: the user key algorithms it may offer, in order
	 * (PubkeyAcceptedAlgorithms: ssh_auth_sig_alg) */
	const char	*pubkey_algs;
	/* compression methods, from ssh_comp_all (NULL: "none"). The
	 * client's order decides; zlib@openssh.com compresses both ways
	 * from the end of authentication on. */
	const char	*compression;
	/* rekey after this many bytes in either direction (0: default) */
	uint64_t	 rekey_bytes;
	/* initial receive window per channel (0: default) */
	uint32_t	 window;
	/* server: host keys (at least one) and MaxAuthTries (0: 6) */
	struct key	**hostkeys;
	size_t		 nhostkeys;
	/* server: host certificates (borrowed, like hostkeys; NULL if
	 * none), each used only if it certifies one of hostkeys; their
	 * -cert-v01 algorithms are offered before the plain ones */
	struct cert	**hostcerts;
	size_t		 nhostcerts;
	unsigned	 max_auth_tries;
	/* server: text sent as USERAUTH_BANNER before the answer to the
	 * first auth request (sshd's Banner); borrowed, it must outlive
	 * the engine. NULL or "": none */
	const char	*banner;
	ssh_event_fn	 event;
	void		*event_ud;
	/* Called with event_ud each time bytes to send were queued (a
	 * packet sealed, or the version line): the driver then owes a
	 * flush before it sleeps. May be NULL. It must not call into
	 * the engine. */
	void		(*wake)(void *ud);
};

/* Creates an engine; it queues our version line and first KEXINIT at
 * once. Returns NULL on allocation failure. */
struct ssh_conn	*ssh_conn_new(const struct ssh_config *cfg);
void		 ssh_conn_free(struct ssh_conn *c);

/* Input. Either copy bytes in with ssh_feed, or read directly into the
 * engine's buffer: ssh_in_reserve returns room for at least *len bytes
 * (*len gets the room there is) and ssh_in_commit(n) processes n bytes
 * written there; an empty buffer more than twice *len is given back first,
 * so the caller's *len is how much an idle connection keeps. Both return
 * 0, or -1
 * when the connection failed (see ssh_error); afterwards the engine only
 * has a DISCONNECT left to send. */
int		 ssh_feed(struct ssh_conn *c, const uint8_t *p, size_t len);
uint8_t		*ssh_in_reserve(struct ssh_conn *c, size_t *len);
int		 ssh_in_commit(struct ssh_conn *c, size_t n);

/* Output. ssh_out_peek shows the pending bytes and ssh_out_consume drops
 * n of them once written. ssh_out_take hands the whole pending buffer to
 * the caller (to keep while an asynchronous write is in flight): *dst
 * receives it and the bytes to write start at *off; the engine keeps
 * dst's old allocation, which must be empty, for reuse. */
size_t		 ssh_out_pending(const struct ssh_conn *c);
/* Everything queued for the peer: pending bytes plus what a key
 * exchange holds back. A caller bounds it (stop reading the peer). */
size_t		 ssh_out_backlog(const struct ssh_conn *c);
void		 ssh_out_peek(const struct ssh_conn *c, const uint8_t **p,
		    size_t *len);
void		 ssh_out_consume(struct ssh_conn *c, size_t n);
void		 ssh_out_take(struct ssh_conn *c, struct wb *dst, size_t *off);

/* Why the connection failed; NULL while it has not. */
const char	*ssh_error(const struct ssh_conn *c);
/* How the connection failed, for a caller that acts on it (the text is
 * ssh_error's). */
enum ssh_fail {
	SSH_FAIL_NONE,		/* it has not */
	SSH_FAIL_PEER,		/* the peer sent DISCONNECT */
	SSH_FAIL_NEGOTIATION,	/* no algorithm in common */
	SSH_FAIL_PROTOCOL,	/* the peer broke the protocol, or a KEX or
				 * an allocation failed on our side */
	SSH_FAIL_LOCAL,		/* ssh_disconnect */
};
enum ssh_fail	 ssh_fail_kind(const struct ssh_conn *c);
/* Ends the connection: queues a DISCONNECT with this reason. */
void		 ssh_disconnect(struct ssh_conn *c, enum ssh_disc code,
		    const char *msg);
/* Whether the transport can take channel data now (no KEX in progress). */
bool		 ssh_can_send(const struct ssh_conn *c);
/* The negotiated algorithms, for logging (valid after the first KEX). */
const char	*ssh_cipher_name(const struct ssh_conn *c, bool outgoing);
/* The compression method negotiated for a direction ("" before the
 * first KEX), and what it did so far: raw payload bytes and what they
 * became on the wire (both 0 while it has not started). */
const char	*ssh_comp_name(const struct ssh_conn *c, bool outgoing);
void		 ssh_comp_stats(const struct ssh_conn *c, bool outgoing,
		    uint64_t *raw, uint64_t *wire);
/* The peer's identification line ("" until it arrived). */
const char	*ssh_peer_version(const struct ssh_conn *c);
/* Asks for a key exchange now (rekey). */
int		 ssh_rekey(struct ssh_conn *c);

/* Answers a deferred SSH_EV_HOSTKEY. Until then the key exchange waits
 * and input is held, unprocessed (a bounded amount). Accepting sends our
 * NEWKEYS and processes what was held; refusing fails the connection
 * ("Host key verification failed."). Returns 0, or -1 when the
 * connection failed or no verdict was owed. */
int		 ssh_hostkey_verdict(struct ssh_conn *c, bool accept);

/* Client authentication: sends a signed publickey request for key as
 * user. The answer arrives as AUTH_SUCCESS or AUTH_FAILURE. -1 also when
 * cfg.pubkey_algs leaves the key out (ssh_auth_sig_alg NULL). */
int		 ssh_auth_pubkey(struct ssh_conn *c, const char *user,
		    const struct key *key);
/* The same with a certificate for key (OpenSSH's PROTOCOL.certkeys): the
 * request names cert_alg ("ssh-ed25519-cert-v01@openssh.com",
 * "rsa-sha2-512-cert-v01@openssh.com"...) and carries the certificate
 * blob (not owned) as the public key; key signs with the signature
 * algorithm cert_alg implies (cert_sig_alg). -1 if cert_alg is not one
 * for key's type. */
int		 ssh_auth_pubkey_cert(struct ssh_conn *c, const char *user,
		    const struct key *key, const char *cert_alg,
		    const uint8_t *cert, size_t certlen);
bool		 ssh_authenticated(const struct ssh_conn *c);
/* Server: answers a publickey request whose SSH_EV_AUTH_REQUEST the
 * handler deferred. Until then input is held, unprocessed (a bounded
 * amount); the engine keeps the request (key, signature) and frees it
 * here or with the connection. allow goes on as the event's allow would
 * have: PK_OK for a query, the signature checked for a signed request.
 * Returns 0, or -1 when the connection failed or no answer was owed. */
int		 ssh_auth_answer(struct ssh_conn *c, bool allow);
/* Server: whether a deferred publickey request awaits ssh_auth_answer. */
bool		 ssh_auth_waiting(const struct ssh_conn *c);
/* Answers the global request whose SSH_EV_GLOBAL_REQUEST the handler
 * deferred: SUCCESS with reply's bytes (NULL: none) or FAILURE. Until
 * then input is held, unprocessed (the caller stops reading; replies go
 * in the order of the requests). Returns 0, or -1 when the connection
 * failed or no answer was owed. */
int		 ssh_global_answer(struct ssh_conn *c, bool success,
		    const uint8_t *reply, size_t len);
/* Whether a deferred global request awaits ssh_global_answer. */
bool		 ssh_global_waiting(const struct ssh_conn *c);
/* Server: the user name that authenticated (NULL before). */
const char	*ssh_auth_user(const struct ssh_conn *c);
/* Server: the user name the client's auth requests carry, whatever their
 * method ("" before the first request). */
const char	*ssh_auth_user_asked(const struct ssh_conn *c);
/* Server: replaces the banner (borrowed, as ssh_config's; it goes out
 * only before the answer to the first auth request) and MaxAuthTries (0:
 * 6) once the caller knows more of the connection (sshd's Match). */
void		 ssh_server_set_auth(struct ssh_conn *c, const char *banner,
		    unsigned max_auth_tries);
/* Sends SSH_MSG_DEBUG with text and always_display: ferryd tells the
 * client where it bound a forward or why it refused one. */
int		 ssh_send_debug(struct ssh_conn *c, bool display,
		    const char *text);
/* The algorithm a client offers k under, by cfg.pubkey_algs: for RSA the
 * first rsa-sha2 name allowed that server-sig-algs lists (ssh's choice);
 * NULL when cfg.pubkey_algs allows none (the key is not to be offered).
 * For keys held elsewhere (ssh-agent) it names the signature to ask for;
 * then come the data to sign and the request with the signature. */
const char	*ssh_auth_sig_alg(const struct ssh_conn *c, const struct key *k);
/* The same for a certificate of a key (cert.h): the *-cert-v01 algorithm
 * to pass to ssh_auth_pubkey_cert, or NULL. */
const char	*ssh_auth_cert_alg(const struct ssh_conn *c,
		    const struct cert *ct);
int		 ssh_auth_sigdata(const struct ssh_conn *c, const char *user,
		    const char *alg, const uint8_t *blob, size_t bloblen,
		    struct wb *out);
int		 ssh_auth_send(struct ssh_conn *c, const char *user,
		    const char *alg, const uint8_t *blob, size_t bloblen,
		    const uint8_t *sig, size_t siglen);

/* Channels. ssh_chan_open sends CHANNEL_OPEN of type with extra bytes
 * appended (e.g. direct-tcpip's host/port fields) and returns the local
 * channel id (>= 0) or -1. The user pointer comes back in events. */
int		 ssh_chan_open(struct ssh_conn *c, const char *type,
		    const uint8_t *extra, size_t extra_len, void *ud);
/* How many bytes may be sent on ch right now (0 when the window is shut,
 * EOF was sent, or a KEX is running). */
size_t		 ssh_chan_sendable(const struct ssh_conn *c, uint32_t ch);
/* Zero-copy send: a slot for up to *len bytes (capped by sendable and the
 * packet size) inside the next outgoing packet; write the data there and
 * call ssh_chan_commit with how many bytes were written (0 to cancel). No
 * other engine call may come between the two. */
uint8_t		*ssh_chan_slot(struct ssh_conn *c, uint32_t ch, size_t *len);
int		 ssh_chan_commit(struct ssh_conn *c, uint32_t ch, size_t n);
/* Copying send; fails if len exceeds ssh_chan_sendable. */
int		 ssh_chan_send(struct ssh_conn *c, uint32_t ch,
		    const uint8_t *p, size_t len);
/* The caller has delivered n bytes of received data: the engine may
 * reopen the window. */
void		 ssh_chan_consumed(struct ssh_conn *c, uint32_t ch, size_t n);
int		 ssh_chan_eof(struct ssh_conn *c, uint32_t ch);
/* Sends CLOSE; the channel is released when the peer's CLOSE arrives
 * (SSH_EV_CHAN_CLOSED). */
int		 ssh_chan_close(struct ssh_conn *c, uint32_t ch);
void		 ssh_chan_set_ud(struct ssh_conn *c, uint32_t ch, void *ud);
/* Answers a deferred SSH_EV_CHAN_OPEN_REQUEST. */
int		 ssh_chan_accept(struct ssh_conn *c, uint32_t ch, void *ud);
int		 ssh_chan_refuse(struct ssh_conn *c, uint32_t ch, uint32_t reason,
		    const char *msg);
size_t		 ssh_chan_count(const struct ssh_conn *c);
/* Messages that arrived for channels already closed and were dropped. */
uint64_t	 ssh_late_msgs(const struct ssh_conn *c);

/* Global requests: replies come back in order as SSH_EV_GLOBAL_REPLY with
 * ud. Without want_reply no event follows. */
int		 ssh_global_request(struct ssh_conn *c, const char *name,
		    bool want_reply, const uint8_t *extra, size_t extra_len,
		    void *ud);

/* Checks that every name in a comma-separated list is in supported;
 * returns -1 if so, else the position of the first bad name (copied to
 * bad). */
int		 ssh_algs_validate(const char *list, const char *supported,
		    char *bad, size_t badlen);

/* Whether name is one of a comma-separated list. */
bool		 ssh_algs_has(const char *list, const char *name);
/* Builds an algorithm list from a keyword's value as sshd does: "+list"
 * appends to def, "-list" removes the names of def that a pattern matches,
 * "^list" puts the names first, anything else replaces def. Names may be
 * patterns ('*', '?'), expanded against all (exact names are
 * case-sensitive); duplicates are dropped. Returns 0 with a new string in
 * *out (the caller frees it), or -1 with the offending entry in bad: one
 * that matches nothing in all, or "" when no name is left. Inside "-"
 * any pattern is harmless. */
int		 ssh_algs_assemble(const char *spec, const char *def,
		    const char *all, char **out, char *bad, size_t badlen);
/* The default lists (ferry implements exactly these names; ciphers and
 * MACs: cipher.h). */
extern const char ssh_kex_default[];
extern const char ssh_hostkey_default[];
extern const char ssh_pubkey_default[];
/* Compression: every method ferry implements, and what ssh offers with
 * and without Compression yes (-C). */
extern const char ssh_comp_all[];
extern const char ssh_comp_yes[];
extern const char ssh_comp_no[];

/* Encodes direct-tcpip's extra fields (RFC 4254 §7.2). */
int		 ssh_direct_tcpip_extra(struct wb *w, const char *host,
		    uint32_t port, const char *orig_host, uint32_t orig_port);

#endif
