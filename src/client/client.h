/* One ferry destination: an SSH connection to one host (reconnected with
 * backoff when Reconnect is on) and the forwards over it. Several run in
 * one loop under the supervisor (supervisor.h). */
#ifndef FERRY_CLIENT_CLIENT_H
#define FERRY_CLIENT_CLIENT_H

#include <stdbool.h>
#include <uv.h>

#include "net/loop.h"
#include "options.h"
#include "ssh/buf.h"

enum client_state {
	CLIENT_CONNECTING,	/* connecting or authenticating */
	CLIENT_UP,		/* authenticated: forwards served */
	CLIENT_DOWN,		/* lost; waiting to reconnect */
	CLIENT_STOPPED,
};

struct client;

struct client_hooks {
	/* Nothing of the client is left in the loop: it may be freed.
	 * code is its exit status (255 for failures, as ssh). */
	void	(*done)(void *ud, struct client *cl, int code);
	/* Its state or a forward's changed (readiness, status). */
	void	(*changed)(void *ud);
};

/* Takes o (heap-allocated, finished) over. Returns NULL when out of
 * memory (o is then freed too). */
struct client	*client_new(struct net_loop *nl, struct options *o,
		    const struct client_hooks *hooks, void *ud);
void		 client_start(struct client *cl);
/* Its log lines start with its Host alias, and it says when a connection
 * is up (ferry up, several hosts). */
void		 client_name_logs(struct client *cl);
/* Cancels the forwards and disconnects; done follows. */
void		 client_stop(struct client *cl, int code);
/* After done. */
void		 client_free(struct client *cl);

/* What status shows of a client. Strings stay valid until the loop runs
 * again. */
struct client_info {
	const char		*name;		/* as given: Host */
	const char		*hostname;
	const char		*user;
	int			 port;
	enum client_state	 state;
	double			 since_s;	/* in this state */
	int			 reconnects;
	const char		*last_error;	/* "" if none */
};

struct forward_info {
	enum fwd_kind		 kind;
	char			 spec[600];	/* as written on the command line */
	const char		*state;	/* listening, active, requested, ... */
	bool			 up;
	char			 where[300];	/* bound addresses or path */
	int			 port;		/* bound / allocated; 0 if none */
	const struct fwd_stats	*stats;
	const char		*error;		/* "" if none */
};

const char	*client_name(const struct client *cl);
bool		 client_stopping(const struct client *cl);
const struct options *client_options(const struct client *cl);
void		 client_info(const struct client *cl, struct client_info *out);
/* The i-th forward (-L/-D first, then -R). Returns 0, or -1 past the
 * end. */
int		 client_forward_info(const struct client *cl, int i,
		    struct forward_info *out);
/* Authenticated with every forward up (none refused or failed). */
bool		 client_ready(const struct client *cl);
/* Its first attempt is over: it failed, or the host is up and every
 * remote forward had its first answer. */
bool		 client_settled(const struct client *cl);
/* ferry reconnect: what waits out a backoff (the connection, refused
 * remote forwards, unbound local ones) is tried now. Returns whether
 * anything was waiting. */
bool		 client_retry_now(struct client *cl);
/* Adds or removes one forward at runtime (-L/-R/-D text as on the
 * command line). Returns 0, or -1 with err. */
int		 client_forward(struct client *cl, enum fwd_kind kind,
		    const char *spec, char *err, size_t errlen);
int		 client_cancel(struct client *cl, enum fwd_kind kind,
		    const char *spec, char *err, size_t errlen);
/* Applies a reloaded configuration: forwards added and removed, the
 * unchanged ones (and their connections) untouched. Returns 0, or 1 when
 * connection settings changed too (the caller replaces the client); n
 * is freed when 0 is returned, else left to the caller. */
int		 client_reload(struct client *cl, struct options *n);

#endif
