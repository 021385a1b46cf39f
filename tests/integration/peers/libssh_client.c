/* libssh (Debian's libssh-dev, 0.10) as a real client of ferryd.
 *
 *   libssh_client PORT USER KEYFILE HOSTKEY_SHA256 OPTIONS MODE ARGS
 *
 * OPTIONS is "cipher=C,hostkeys=A,rekey=N,verbose=V" (any may be left out,
 * "-" for none); libssh logs to stderr at verbosity V.
 * MODE L HOST PORT: a direct-tcpip channel to HOST:PORT (like ssh -L); stdin
 *   goes into it, what comes back goes to stdout; our EOF on stdin is sent
 *   as CHANNEL_EOF and the channel's EOF closes stdout.
 * MODE R TPORT: tcpip-forward on 127.0.0.1 port 0 (like ssh -R 0), prints
 *   "REMOTE <allocated port>", then accepts one forwarded-tcpip channel and
 *   pumps it to 127.0.0.1:TPORT the same way (EOF -> shutdown(SHUT_WR)).
 *
 * Stdout carries channel data only: "CIPHER <out> <in>" after login,
 * "REMOTE <port>" and "DONE <bytes up> <bytes down>" at the end go to
 * stderr, as does the message of a failure (exit status 2).
 * Every wait is bounded (60 s without progress).
 */
#include <libssh/libssh.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STALL_SECONDS 60

static void
die(ssh_session s, const char *what)
{
	fprintf(stderr, "libssh_client: %s: %s\n", what,
	    s != NULL ? ssh_get_error(s) : strerror(errno));
	exit(2);
}

static void
set_opt(ssh_session s, enum ssh_options_e o, const void *v, const char *name)
{
	if (ssh_options_set(s, o, v) != SSH_OK)
		die(s, name);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Channel <-> (in, out). out_sock: shutdown(SHUT_WR) at the channel's EOF
 * instead of close(). */
static void
pump(ssh_session s, ssh_channel ch, int in, int out, int out_sock)
{
	char buf[32768];
	int in_eof = 0, ch_eof = 0;
	unsigned long long up = 0, down = 0;
	time_t last = time(NULL);

	while (!ch_eof) {
		struct pollfd p[2];
		int np = 0, k;
		uint32_t win;

		if (time(NULL) - last > STALL_SECONDS) {
			fprintf(stderr, "libssh_client: stalled (up %llu down "
			    "%llu)\n", up, down);
			exit(2);
		}
		win = ssh_channel_window_size(ch);
		p[np].fd = ssh_get_fd(s);
		p[np++].events = POLLIN;
		if (!in_eof && win > 0) {
			p[np].fd = in;
			p[np++].events = POLLIN;
		}
		if (poll(p, np, 100) < 0 && errno != EINTR)
			die(NULL, "poll");
		/* Runs libssh's packet processing too (window, EOF, rekey). */
		k = ssh_channel_read_nonblocking(ch, buf, sizeof(buf), 0);
		if (k == SSH_ERROR)
			die(s, "channel read");
		if (k > 0) {
			if (write_all(out, buf, (size_t)k) != 0)
				die(NULL, "write");
			down += (unsigned long long)k;
			last = time(NULL);
		} else if (ssh_channel_is_eof(ch) &&
		    ssh_channel_poll(ch, 0) <= 0) {
			ch_eof = 1;
		}
		if (np == 2 && (p[1].revents & (POLLIN | POLLHUP))) {
			size_t want = win < sizeof(buf) ? win : sizeof(buf);
			ssize_t r = read(in, buf, want);
			if (r < 0 && errno != EINTR && errno != EAGAIN)
				die(NULL, "read");
			if (r == 0) {
				in_eof = 1;
				if (ssh_channel_send_eof(ch) != SSH_OK)
					die(s, "send eof");
			} else if (r > 0) {
				if (ssh_channel_write(ch, buf, (uint32_t)r) != r)
					die(s, "channel write");
				up += (unsigned long long)r;
				last = time(NULL);
			}
		}
	}
	if (out_sock)
		shutdown(out, SHUT_WR);
	else
		close(out);
	/* The other direction may still be running: finish it. */
	while (!in_eof) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			in_eof = 1;
			if (ssh_channel_send_eof(ch) != SSH_OK)
				die(s, "send eof");
			break;
		}
		if (ssh_channel_write(ch, buf, (uint32_t)r) != r)
			die(s, "channel write");
		up += (unsigned long long)r;
	}
	fprintf(stderr, "DONE %llu %llu\n", up, down);
	ssh_channel_close(ch);
	ssh_channel_free(ch);
}

int
main(int argc, char **argv)
{
	ssh_session s;
	ssh_key key = NULL, hk = NULL;
	unsigned char *hash = NULL;
	size_t hlen;
	char *fp, opts[256], *tok, *save;
	int port, verbosity = SSH_LOG_NOLOG;
	long timeout = 30;

	if (argc < 8) {
		fprintf(stderr, "usage: libssh_client PORT USER KEY SHA256:FP "
		    "OPTIONS L HOST PORT | R TPORT\n");
		return 2;
	}
	port = atoi(argv[1]);
	ssh_init();
	if ((s = ssh_new()) == NULL)
		die(NULL, "ssh_new");
	set_opt(s, SSH_OPTIONS_HOST, "127.0.0.1", "host");
	set_opt(s, SSH_OPTIONS_PORT, &port, "port");
	set_opt(s, SSH_OPTIONS_USER, argv[2], "user");
	set_opt(s, SSH_OPTIONS_TIMEOUT, &timeout, "timeout");
	set_opt(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity, "verbosity");
	set_opt(s, SSH_OPTIONS_PROCESS_CONFIG, &(int){0}, "config");
	snprintf(opts, sizeof(opts), "%s", argv[5]);
	for (tok = strtok_r(opts, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "cipher=", 7) == 0 && tok[7] != '\0') {
			set_opt(s, SSH_OPTIONS_CIPHERS_C_S, tok + 7, "cipher");
			set_opt(s, SSH_OPTIONS_CIPHERS_S_C, tok + 7, "cipher");
		} else if (strncmp(tok, "hostkeys=", 9) == 0 && tok[9] != '\0') {
			set_opt(s, SSH_OPTIONS_HOSTKEYS, tok + 9, "hostkeys");
		} else if (strncmp(tok, "verbose=", 8) == 0) {
			verbosity = atoi(tok + 8);
			set_opt(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity,
			    "verbosity");
		} else if (strncmp(tok, "rekey=", 6) == 0 && tok[6] != '\0') {
			uint64_t n = strtoull(tok + 6, NULL, 10);
			set_opt(s, SSH_OPTIONS_REKEY_DATA, &n, "rekey");
		}
	}
	if (ssh_connect(s) != SSH_OK)
		die(s, "connect");
	if (ssh_get_server_publickey(s, &hk) != SSH_OK ||
	    ssh_get_publickey_hash(hk, SSH_PUBLICKEY_HASH_SHA256, &hash,
	    &hlen) != 0)
		die(s, "host key");
	fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	if (fp == NULL || strcmp(fp, argv[4]) != 0) {
		fprintf(stderr, "libssh_client: host key %s is not %s\n",
		    fp ? fp : "?", argv[4]);
		return 2;
	}
	if (ssh_pki_import_privkey_file(argv[3], NULL, NULL, NULL, &key) !=
	    SSH_OK)
		die(s, "import key");
	if (ssh_userauth_publickey(s, NULL, key) != SSH_AUTH_SUCCESS)
		die(s, "publickey auth");
	fprintf(stderr, "CIPHER %s %s\n", ssh_get_cipher_out(s),
	    ssh_get_cipher_in(s));

	if (strcmp(argv[6], "L") == 0 && argc >= 9) {
		ssh_channel ch = ssh_channel_new(s);

		if (ch == NULL || ssh_channel_open_forward(ch, argv[7],
		    atoi(argv[8]), "127.0.0.1", 0) != SSH_OK)
			die(s, "direct-tcpip");
		pump(s, ch, 0, 1, 0);
	} else if (strcmp(argv[6], "R") == 0) {
		int bound = 0, dport = 0, fd;
		struct sockaddr_in sa;
		ssh_channel ch;

		if (ssh_channel_listen_forward(s, "127.0.0.1", 0, &bound) !=
		    SSH_OK)
			die(s, "tcpip-forward");
		fprintf(stderr, "REMOTE %d\n", bound);
		ch = ssh_channel_open_forward_port(s, STALL_SECONDS * 1000, &dport,
		    NULL, NULL);
		if (ch == NULL)
			die(s, "no forwarded-tcpip channel");
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			die(NULL, "socket");
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)atoi(argv[7]));
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			die(NULL, "connect target");
		pump(s, ch, fd, fd, 1);
		if (ssh_channel_cancel_forward(s, "127.0.0.1", bound) !=
		    SSH_OK)
			die(s, "cancel-tcpip-forward");
	} else {
		fprintf(stderr, "libssh_client: bad mode\n");
		return 2;
	}
	ssh_disconnect(s);
	ssh_free(s);
	ssh_key_free(key);
	ssh_key_free(hk);
	ssh_clean_pubkey_hash(&hash);
	ssh_string_free_char(fp);
	ssh_finalize();
	return 0;
}
