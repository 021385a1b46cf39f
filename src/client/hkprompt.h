/* The question StrictHostKeyChecking ask puts on the terminal, as ssh(1)
 * does: written to /dev/tty, the answer read from /dev/tty without
 * blocking the loop (other destinations go on meanwhile). One terminal
 * serves every destination of the process, so questions wait their turn
 * in a queue and are asked one at a time.
 *
 * Ownership: a struct hk_prompt belongs to this module. The asker holds
 * the pointer until the callback ran or it called hk_prompt_cancel; after
 * either the pointer is dead. The memory goes once the terminal handle is
 * closed (its close callback). */
#ifndef FERRY_CLIENT_HKPROMPT_H
#define FERRY_CLIENT_HKPROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct hk_prompt;

/* yes: the user typed "yes" or the fingerprint; false for "no", EOF or a
 * terminal that failed. */
typedef void (*hk_prompt_cb)(void *ud, bool yes);

/* Whether a question could be asked now: /dev/tty opens. Without one,
 * err says why. */
bool		 hk_prompt_have_tty(char *err, size_t errlen);
/* Queues text (the question, ending in "? ") with fingerprint (NULL: a
 * yes/no question) as a third accepted answer. Returns NULL when out of
 * memory. */
struct hk_prompt *hk_prompt_ask(uv_loop_t *loop, const char *text,
		    const char *fingerprint, hk_prompt_cb cb, void *ud);
/* The asker goes away: cb is never called. */
void		 hk_prompt_cancel(struct hk_prompt *p);
/* What an answer line means: 1 yes, 0 no, -1 ask again. Leading and
 * trailing blanks are ignored; yes and no in any case. */
int		 hk_prompt_answer(const char *line, const char *fingerprint);

#endif
