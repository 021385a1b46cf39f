/* The passphrase of an encrypted IdentityFile, asked as ssh(1) asks it:
 * "Enter passphrase for key 'PATH': " on /dev/tty with echo off, up to
 * three times, an empty answer skipping the key. Asked only while ferry
 * starts (the keys of the hosts of its command line are read before the
 * event loop runs), so the blocking read holds up no connection. */
#include "cli_int.h"

#include <openssl/crypto.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "client/hkprompt.h"
#include "keys/keyfile.h"
#include "util/log.h"

#define TTY_PATH	"/dev/tty"
#define PASS_MAX	1024		/* bytes of a passphrase */
#define PASS_TRIES	3		/* ssh's NumberOfPasswordPrompts */
#define PASS_WAIT_MS	(10 * 60 * 1000)	/* one answer at most */

static const int stop_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NSTOP	(sizeof(stop_sigs) / sizeof(stop_sigs[0]))
static volatile sig_atomic_t caught;

static void
on_stop_signal(int sig)
{
	caught = sig;
}

static void
say(int fd, const char *s)
{
	ssize_t n;
	size_t off = 0, len = strlen(s);

	while (off < len && ((n = write(fd, s + off, len - off)) > 0 ||
	    (n < 0 && errno == EINTR)))
		if (n > 0)
			off += (size_t)n;
}

/* Reads one line from fd into buf (NUL-terminated, newline dropped),
 * within PASS_WAIT_MS. Returns 0, or -1 (EOF, error, time out, signal,
 * a line longer than buf). */
static int
read_line(int fd, char *buf, size_t cap)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec t0, t1;
	size_t len = 0;
	long waited;
	ssize_t n;
	char c;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited = (t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (caught || waited >= PASS_WAIT_MS)
			return -1;
		if (poll(&pfd, 1, (int)(PASS_WAIT_MS - waited)) <= 0)
			continue;	/* EINTR or time: checked above */
		if ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (c == '\n' || c == '\r') {
			buf[len] = '\0';
			return 0;
		}
		if (len + 1 >= cap)
			return -1;
		buf[len++] = c;
	}
}

/* Asks prompt on the terminal with echo off. Returns 0 with the answer
 * in buf, or -1 (why logged). A stop signal that came meanwhile is
 * delivered again once the terminal is as it was. */
static int
ask_secret(const char *prompt, char *buf, size_t cap)
{
	struct sigaction sa, old[NSTOP];
	struct termios saved, quiet;
	int fd, r, sig;
	size_t i;

	if ((fd = open(TTY_PATH, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		log_error("can't open %s: %s", TTY_PATH, strerror(errno));
		return -1;
	}
	if (tcgetattr(fd, &saved) != 0) {
		log_error("%s: %s", TTY_PATH, strerror(errno));
		close(fd);
		return -1;
	}
	caught = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSTOP; i++)
		sigaction(stop_sigs[i], &sa, &old[i]);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	say(fd, prompt);
	r = read_line(fd, buf, cap);
	(void)tcsetattr(fd, TCSAFLUSH, &saved);
	say(fd, "\n");
	close(fd);
	for (i = 0; i < NSTOP; i++)
		sigaction(stop_sigs[i], &old[i], NULL);
	if ((sig = caught) != 0) {
		OPENSSL_cleanse(buf, cap);
		raise(sig);
		return -1;
	}
	if (r != 0)
		OPENSSL_cleanse(buf, cap);
	return r;
}

int
cli_key_passphrase(struct client *cl, const char *path, struct key **out,
    char *err, size_t errlen)
{
	char prompt[1200], pass[PASS_MAX], why[128];
	int i, r = KEYFILE_ENCRYPTED;

	*out = NULL;
	if (cl->o->batch_mode) {
		snprintf(err, errlen, "key is encrypted with a passphrase and "
		    "BatchMode is on: not asking for it");
		return -1;
	}
	if (!cl->o->may_prompt) {
		snprintf(err, errlen, "key is encrypted with a passphrase, "
		    "asked for only when ferry starts");
		return -1;
	}
	if (!hk_prompt_have_tty(why, sizeof(why))) {
		snprintf(err, errlen, "key is encrypted with a passphrase and "
		    "there is no terminal to ask for it (%s)", why);
		return -1;
	}
	snprintf(prompt, sizeof(prompt), "Enter passphrase for key '%s': ",
	    path);
	for (i = 0; i < PASS_TRIES; i++) {
		if (ask_secret(prompt, pass, sizeof(pass)) != 0)
			break;
		if (pass[0] == '\0') {
			log_verbose("no passphrase given, try next key");
			break;
		}
		r = keyfile_load_private_pass(path, pass, out, err, errlen);
		OPENSSL_cleanse(pass, sizeof(pass));
		if (r != KEYFILE_BAD_PASSPHRASE)
			break;
		log_verbose("bad passphrase given, try again...");
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	if (r == 0)
		return 0;
	if (r == KEYFILE_ENCRYPTED)
		snprintf(err, errlen, "key is encrypted with a passphrase and "
		    "none was given");
	return -1;
}
