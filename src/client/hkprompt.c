/* The host key question on the terminal (hkprompt.h). */
#include "hkprompt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/log.h"

#define TTY_PATH	"/dev/tty"
#define LINE_MAX_LEN	512
#define AGAIN		"\rPlease type 'yes', 'no' or the fingerprint: "
#define AGAIN_YESNO	"\rPlease type 'yes' or 'no': "

struct hk_prompt {
	struct hk_prompt *next;		/* the queue */
	uv_loop_t	*loop;		/* borrowed */
	char		*text;		/* owned */
	char		 fp[128];
	hk_prompt_cb	 cb;		/* NULL once cancelled or answered */
	void		*ud;
	uv_tty_t	 tty;		/* once started */
	bool		 started;
	char		 line[LINE_MAX_LEN];
	size_t		 len;
	bool		 overlong;	/* the line went past line[] */
};

/* The questions waiting for the one terminal, the first being asked: the
 * terminal is the process's, so is the queue. */
static struct hk_prompt *queue;

static void	kick(void);

bool
hk_prompt_have_tty(char *err, size_t errlen)
{
	int fd;

	if ((fd = open(TTY_PATH, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "can't open %s: %s", TTY_PATH,
		    strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

int
hk_prompt_answer(const char *line, const char *fingerprint)
{
	size_t len;

	while (*line == ' ' || *line == '\t')
		line++;
	len = strlen(line);
	while (len > 0 && isspace((unsigned char)line[len - 1]))
		len--;
	if (len == 3 && strncasecmp(line, "yes", 3) == 0)
		return 1;
	if (len == 2 && strncasecmp(line, "no", 2) == 0)
		return 0;
	if (fingerprint != NULL && fingerprint[0] != '\0' &&
	    len == strlen(fingerprint) && memcmp(line, fingerprint, len) == 0)
		return 1;
	return -1;
}

static void
unlink_prompt(struct hk_prompt *p)
{
	struct hk_prompt **pp;

	for (pp = &queue; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->next = NULL;
}

static void
free_prompt(struct hk_prompt *p)
{
	free(p->text);
	free(p);
}

static void
closed_cb(uv_handle_t *h)
{
	free_prompt(h->data);
}

/* The question is over: the terminal let go, the asker told, the next
 * question asked. */
/* Takes p out of the queue and lets go of it (its tty handle closes,
 * or it is freed at once if it never opened one). */
static void
discard(struct hk_prompt *p)
{
	p->cb = NULL;
	unlink_prompt(p);
	if (p->started)
		uv_close((uv_handle_t *)&p->tty, closed_cb);
	else
		free_prompt(p);
}

static void
finish(struct hk_prompt *p, bool yes)
{
	hk_prompt_cb cb = p->cb;
	void *ud = p->ud;

	discard(p);
	if (cb != NULL)
		cb(ud, yes);
	kick();
}

static void
say(struct hk_prompt *p, const char *s)
{
	uv_buf_t b = uv_buf_init((char *)s, (unsigned)strlen(s));

	(void)uv_try_write((uv_stream_t *)&p->tty, &b, 1);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char chunk[256];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(chunk, sizeof(chunk));
}

/* One line typed: decides, or asks again. Returns true when decided. */
static bool
line_done(struct hk_prompt *p)
{
	int a;

	p->line[p->len] = '\0';
	a = p->overlong ? -1 : hk_prompt_answer(p->line, p->fp);
	p->len = 0;
	p->overlong = false;
	if (a < 0) {
		say(p, p->fp[0] != '\0' ? AGAIN : AGAIN_YESNO);
		return false;
	}
	finish(p, a == 1);
	return true;
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct hk_prompt *p = s->data;
	ssize_t i;

	if (p->cb == NULL)
		return;
	if (n < 0) {
		if (n != UV_EOF)
			log_verbose("reading %s: %s", TTY_PATH,
			    uv_strerror((int)n));
		say(p, "\n");
		finish(p, false);
		return;
	}
	for (i = 0; i < n; i++) {
		char c = buf->base[i];

		if (c == '\r')
			continue;
		if (c == '\n') {
			if (line_done(p))
				return;
			continue;
		}
		if (p->len + 1 < sizeof(p->line))
			p->line[p->len++] = c;
		else
			p->overlong = true;
	}
}

/* Writes the question and starts reading the answer. Returns 0, or -1
 * (nothing left open) when the terminal is not there. */
static int
start(struct hk_prompt *p)
{
	int fd;

	if ((fd = open(TTY_PATH, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		log_verbose("can't open %s: %s", TTY_PATH, strerror(errno));
		return -1;
	}
	if (uv_tty_init(p->loop, &p->tty, fd, 1) != 0) {
		close(fd);
		return -1;
	}
	p->tty.data = p;
	p->started = true;
	say(p, "\r");
	say(p, p->text);
	if (uv_read_start((uv_stream_t *)&p->tty, alloc_cb, read_cb) != 0)
		return -1;
	return 0;
}

/* Asks the first question of the queue if nobody is asking yet. */
static void
kick(void)
{
	struct hk_prompt *p = queue;

	if (p == NULL || p->started)
		return;
	if (start(p) != 0)
		finish(p, false);
}

struct hk_prompt *
hk_prompt_ask(uv_loop_t *loop, const char *text, const char *fingerprint,
    hk_prompt_cb cb, void *ud)
{
	struct hk_prompt *p, **pp;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->text = strdup(text)) == NULL) {
		free(p);
		return NULL;
	}
	p->loop = loop;
	snprintf(p->fp, sizeof(p->fp), "%s", fingerprint != NULL ?
	    fingerprint : "");
	p->cb = cb;
	p->ud = ud;
	for (pp = &queue; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = p;
	if (queue == p && start(p) != 0) {
		discard(p);
		return NULL;
	}
	return p;
}

void
hk_prompt_cancel(struct hk_prompt *p)
{
	if (p == NULL)
		return;
	if (p->started)
		say(p, "\n");
	p->cb = NULL;
	finish(p, false);
}
