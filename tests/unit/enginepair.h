/* A client engine and a server engine talking to each other in memory, for
 * the cmocka engine tests (test_engine.c, test_engine_faults.c). Include
 * after <cmocka.h>. */
#ifndef FERRY_TESTS_ENGINEPAIR_H
#define FERRY_TESTS_ENGINEPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssh/ssh.h"

struct key;

struct side {
	struct ssh_conn	*c;
	struct wb	 rcvd;		/* channel data received */
	int		 eof;
	int		 closed;
	int		 confirmed;
	int		 auth_ok;
	int		 auth_ready;
	int		 hostkey_seen;
	int		 kex_done;
	uint32_t	 chan;		/* the last channel the peer opened */
	bool		 has_chan;
	bool		 allow_user;
	bool		 defer_hostkey;	/* client: verdict later */
	bool		 defer_auth;	/* server: ssh_auth_answer later */
	int		 auth_deferred;	/* server: requests deferred */
	int		 replies[8];
	int		 nreplies;
	const struct key *user_key;
	const char	*compression;	/* ssh_config.compression */
	/* ssh_config's algorithm lists (NULL: the defaults) */
	const char	*kex_algs;
	const char	*hostkey_algs;
	const char	*pubkey_algs;
	const char	*banner;	/* server: its cfg.banner */
	char		 banner_text[256];	/* client: the last banner */
	int		 banners;	/* client: SSH_EV_AUTH_BANNER */
	/* counters for the fault tests */
	int		 opens;		/* channel open requests accepted */
	int		 window;	/* SSH_EV_CHAN_WINDOW */
	int		 chan_requests;	/* SSH_EV_CHAN_REQUEST */
	int		 debug;		/* SSH_EV_DEBUG */
	int		 global_requests;
};

/* Generated once by the test's group setup (keys_setup). */
extern struct key *hostkey, *userkey, *otherkey;

/* cmocka group setup and teardown (state unused). */
int		 keys_setup(void **state);
int		 keys_teardown(void **state);
/* The event handler given to both engines (event_ud: the side). */
void		 on_event(void *ud, struct ssh_event *ev);
/* A fresh engine for s; cipher NULL for the defaults. */
struct ssh_conn	*mk(struct side *s, enum ssh_role role, const char *cipher);
/* Moves bytes both ways until neither side has anything to send; -1 when
 * a side failed. */
int		 pump(struct side *a, struct side *b);
/* KEX and publickey authentication of alice. */
void		 connect_pair(struct side *cl, struct side *sv,
		    const char *cipher);
/* The same with compression lists for each side (NULL: the engine's
 * default). */
void		 connect_pair_comp(struct side *cl, struct side *sv,
		    const char *cipher, const char *cl_comp,
		    const char *sv_comp);
void		 free_pair(struct side *cl, struct side *sv);
/* Deterministic pseudo-random bytes. */
void		 fill(uint8_t *p, size_t n, uint32_t seed);

#endif
