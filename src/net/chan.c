/* Channel event routing, per-batch flushing and resuming. */
#include "chan.h"

#include <stddef.h>

void
net_chans_attach(struct net_chans *set, struct net_chan *ch,
    const struct net_chan_ops *ops)
{
	ch->ops = ops;
	ch->owner = set;
	ch->prev = NULL;
	ch->next = set->head;
	if (set->head != NULL)
		set->head->prev = ch;
	set->head = ch;
	ch->dirty = false;
	ch->dirty_next = NULL;
}

void
net_chan_detach(struct net_chan *ch)
{
	struct net_chans *set = ch->owner;
	struct net_chan **pp;

	if (set == NULL)
		return;
	if (ch->prev != NULL)
		ch->prev->next = ch->next;
	else
		set->head = ch->next;
	if (ch->next != NULL)
		ch->next->prev = ch->prev;
	if (ch->dirty) {
		for (pp = &set->dirty; *pp != NULL; pp = &(*pp)->dirty_next)
			if (*pp == ch) {
				*pp = ch->dirty_next;
				break;
			}
	}
	ch->owner = NULL;
	ch->prev = ch->next = ch->dirty_next = NULL;
	ch->dirty = false;
}

void
net_chan_dirty(struct net_chan *ch)
{
	if (ch->dirty || ch->owner == NULL)
		return;
	ch->dirty = true;
	ch->dirty_next = ch->owner->dirty;
	ch->owner->dirty = ch;
}

bool
net_chans_route(struct ssh_event *ev)
{
	struct net_chan *ch = ev->chan_ud;

	switch (ev->type) {
	case SSH_EV_CHAN_CONFIRM:
	case SSH_EV_CHAN_OPEN_FAILED:
	case SSH_EV_CHAN_DATA:
	case SSH_EV_CHAN_EOF:
	case SSH_EV_CHAN_CLOSED:
	case SSH_EV_CHAN_WINDOW:
	case SSH_EV_CHAN_REQUEST:
		break;
	default:
		return false;
	}
	/* NULL: a channel whose handler already let go of it */
	if (ch != NULL)
		ch->ops->event(ch, ev);
	return true;
}

void
net_chans_flush(struct net_chans *set)
{
	struct net_chan *ch;

	while ((ch = set->dirty) != NULL) {
		set->dirty = ch->dirty_next;
		ch->dirty = false;
		ch->dirty_next = NULL;
		if (ch->ops->flush != NULL)
			ch->ops->flush(ch);
	}
}

/* A resume may detach the channel it runs for and no other (a handler
 * lets go of its own channel only), so taking the next one first is
 * enough. */
void
net_chans_resume(struct net_chans *set)
{
	struct net_chan *ch, *next;

	for (ch = set->head; ch != NULL; ch = next) {
		next = ch->next;
		if (ch->ops->resume != NULL)
			ch->ops->resume(ch);
	}
}

void
net_chans_abort(struct net_chans *set)
{
	struct net_chan *ch;

	while ((ch = set->head) != NULL) {
		net_chan_detach(ch);
		ch->ops->abort(ch);
	}
}
