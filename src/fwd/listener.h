/* Listeners (TCP or Unix) whose connections become SSH channels: -L and
 * -D on the client, tcpip-forward and streamlocal-forward on the
 * server. */
#ifndef FERRY_FWD_LISTENER_H
#define FERRY_FWD_LISTENER_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <uv.h>

#include "fwd/pump.h"

#define FWD_MAX_ADDRS	4

enum bind_scope {
	SCOPE_LOOPBACK,	/* 127.0.0.1 and ::1 */
	SCOPE_ANY,	/* 0.0.0.0 and :: */
	SCOPE_ADDR,	/* the given address */
};

/* The addresses to bind for scope in family (AF_UNSPEC: both). A given
 * address is resolved here (numeric or from /etc/hosts; it is called
 * before the loop serves traffic or for literal addresses). Returns 0, or
 * -1 with err. */
int	fwd_bind_addrs(enum bind_scope scope, const char *addr, int family,
	    struct sockaddr_storage *out, int *n, char *err, size_t errlen);

struct fwd_listener_cfg {
	enum pump_open	 kind;		/* channel opened per connection */
	const char	*name;		/* its host, address or path */
	int		 port;		/* its port; -1: the bound port */
	struct fwd_stats *stats;	/* counts its connections; may be NULL */
	size_t		 max_conns;	/* open at once; past it refused; 0: any */
	/* told of each connection refused (a bound), with why; may be
	 * NULL; ud must outlive the listener */
	void		(*refused)(void *ud, const char *why);
	void		*ud;
	/* when several addresses are bound: one that fails fails all
	 * (families absent from the host are skipped) */
	bool		 all_or_nothing;
	const char	*label;		/* names the forward in logs */
};

struct fwd_listener;

/* Binds and listens on every address with port (0: the kernel picks one,
 * and the other addresses take the same). Returns NULL with the reason in
 * err when nothing (or, all_or_nothing, not everything) could be bound;
 * otherwise err is "" or, when an address could not be bound, says why
 * (logged at info too). */
struct fwd_listener *fwd_listener_start(uv_loop_t *loop,
		    const struct sockaddr_storage *addrs, int n, int port,
		    const struct fwd_listener_cfg *cfg, struct pump_set *set,
		    char *err, size_t errlen);
/* Binds a Unix socket at name in the directory dirfd holds (an O_PATH
 * descriptor; the listener keeps a duplicate), created under umask mask;
 * shown names it in messages and fwd_listener_where. An old socket there
 * is removed first if unlink_old; a symlink or any other file is never
 * followed or removed. The socket file goes when the listener stops, if
 * it is still the one we made (same device and inode). */
struct fwd_listener *fwd_listener_start_unix_at(uv_loop_t *loop, int dirfd,
		    const char *name, const char *shown, int mask,
		    bool unlink_old, const struct fwd_listener_cfg *cfg,
		    struct pump_set *set, char *err, size_t errlen);
/* The same at path (its directory is opened as the path says). */
struct fwd_listener *fwd_listener_start_unix(uv_loop_t *loop,
		    const char *path, int mask, bool unlink_old,
		    const struct fwd_listener_cfg *cfg, struct pump_set *set,
		    char *err, size_t errlen);
/* Whether a Unix listener's socket file is the file dev/ino. */
bool		 fwd_listener_is_file(const struct fwd_listener *fl, dev_t dev,
		    ino_t ino);
int		 fwd_listener_port(const struct fwd_listener *fl);
/* The bound addresses as "ip" strings joined by ", ", or the path. */
const char	*fwd_listener_where(const struct fwd_listener *fl);
/* Closes the listeners; the memory goes once they are closed. Open
 * connections are not affected. */
void		 fwd_listener_stop(struct fwd_listener *fl);

#endif
