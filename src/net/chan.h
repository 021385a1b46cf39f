/* Channels routed below the roles: each channel the engine carries for a
 * connection has a handler table, and the connection delivers that
 * channel's events to it, flushes it after each batch of input and
 * resumes it when the connection can take data again. A role decides
 * which channels exist; it never moves their bytes.
 *
 * Ownership: a struct net_chan is embedded in its handler's object (a
 * pump, ferryd's session channel), which is the engine's chan_ud for
 * that channel. The connection only links it; the handler detaches it
 * before its memory goes. Once the connection is gone (abort), it has
 * detached every channel itself. */
#ifndef FERRY_NET_CHAN_H
#define FERRY_NET_CHAN_H

#include <stdbool.h>

#include "ssh/ssh.h"

struct net_chan;

struct net_chan_ops {
	/* The channel's events: CHAN_CONFIRM, CHAN_OPEN_FAILED, CHAN_DATA,
	 * CHAN_EOF, CHAN_CLOSED, CHAN_WINDOW, CHAN_REQUEST. CHAN_DATA's
	 * bytes live in the engine's input buffer until flush. */
	void	(*event)(struct net_chan *ch, struct ssh_event *ev);
	/* The batch of input that marked the channel dirty is processed:
	 * write what its events gathered (NULL: nothing to do). */
	void	(*flush)(struct net_chan *ch);
	/* The connection can take data again: its backlog drained or a key
	 * exchange finished (NULL: nothing to do). */
	void	(*resume)(struct net_chan *ch);
	/* The connection is gone; the channel is detached already and the
	 * engine must not be called for it. */
	void	(*abort)(struct net_chan *ch);
};

struct net_chan {
	const struct net_chan_ops *ops;
	struct net_chans *owner;	/* NULL: not attached */
	struct net_chan	*prev;
	struct net_chan	*next;
	struct net_chan	*dirty_next;
	bool		 dirty;
};

/* The channels of one connection (embedded in struct net_conn). */
struct net_chans {
	struct net_chan	*head;
	struct net_chan	*dirty;
};

void	net_chans_attach(struct net_chans *set, struct net_chan *ch,
	    const struct net_chan_ops *ops);
/* Safe on a channel never attached or already detached. */
void	net_chan_detach(struct net_chan *ch);
/* The channel has data to write after this batch of input. */
void	net_chan_dirty(struct net_chan *ch);
/* Whether ev is a channel's event; if so it went to its handler (an
 * event for a channel whose handler is gone is dropped). */
bool	net_chans_route(struct ssh_event *ev);
void	net_chans_flush(struct net_chans *set);
void	net_chans_resume(struct net_chans *set);
void	net_chans_abort(struct net_chans *set);

#endif
