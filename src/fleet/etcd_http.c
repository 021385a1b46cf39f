/* libcurl's multi interface on a libuv loop (fleet/etcd_http.h): curl
 * says which sockets to watch and when to wake it; uv_poll and uv_timer
 * do the watching and call curl_multi_socket_action back. */
#include "fleet/etcd_http.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "util/err.h"
#include "util/log.h"

#define ANSWER_FIRST	4096
/* A watch's connection to a member that vanished without a word is
 * given up after about KEEPIDLE + KEEPINTVL * KEEPCNT seconds. */
#define KEEPIDLE	5
#define KEEPINTVL	2
#define KEEPCNT		3

enum xfer_state {
	X_PENDING,	/* not yet given to curl */
	X_RUNNING,	/* curl has it */
	X_CANCELED,	/* to be taken from curl and freed */
};

struct etcd_http_xfer {
	TAILQ_ENTRY(etcd_http_xfer) entry;
	struct etcd_http *h;
	CURL		*easy;
	struct curl_slist *headers;
	char		*body;
	enum xfer_state	 state;
	bool		 added;		/* curl has the easy handle */
	char		*answer;	/* collected (no data fn) */
	size_t		 len, cap, max;
	bool		 too_big;
	etcd_http_data_fn data;
	etcd_http_done_fn done;
	void		*arg;
	char		 errbuf[CURL_ERROR_SIZE];
};

/* One socket curl asked to watch; freed in its poll's close callback. */
struct http_sock {
	LIST_ENTRY(http_sock) entry;
	struct etcd_http *h;
	uv_poll_t	 poll;
	curl_socket_t	 fd;
};

struct etcd_http {
	uv_loop_t	*loop;
	CURLM		*multi;
	uv_timer_t	 timer;		/* curl's timeout */
	uv_timer_t	 kick;		/* adds and removes transfers */
	TAILQ_HEAD(, etcd_http_xfer) xfers;
	LIST_HEAD(, http_sock) socks;
	struct etcd_tls	 tls;		/* owned: curl reads it, not copies */
	int		 handles;	/* uv handles not yet closed */
	bool		 closing;
	void		(*closed)(void *);
	void		*closed_arg;
};

static uv_once_t curl_once = UV_ONCE_INIT;
static CURLcode curl_init_result;

static void
curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
xfer_free(struct etcd_http_xfer *x)
{
	struct etcd_http *h = x->h;

	TAILQ_REMOVE(&h->xfers, x, entry);
	if (x->added)
		curl_multi_remove_handle(h->multi, x->easy);
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	free(x->body);
	free(x->answer);
	free(x);
}

/* The end of every handle: the last one frees h. */
static void
handle_closed(uv_handle_t *u)
{
	struct etcd_http *h = u->data;
	struct etcd_http_xfer *x;

	if (u->type == UV_POLL) {
		struct http_sock *s = (struct http_sock *)((char *)u -
		    offsetof(struct http_sock, poll));

		LIST_REMOVE(s, entry);
		free(s);
	}
	if (--h->handles > 0 || !h->closing)
		return;
	/* curl must not call back into the freed sockets */
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, NULL);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, NULL);
	while ((x = TAILQ_FIRST(&h->xfers)) != NULL)
		xfer_free(x);
	curl_multi_cleanup(h->multi);
	etcd_tls_free(&h->tls);
	if (h->closed != NULL)
		h->closed(h->closed_arg);
	free(h);
}

static void
close_handle(struct etcd_http *h, uv_handle_t *u)
{
	if (!uv_is_closing(u)) {
		u->data = h;
		uv_close(u, handle_closed);
	}
}

static enum etcd_http_result
result_of(CURLcode rc, const struct etcd_http_xfer *x)
{
	switch (rc) {
	case CURLE_OK:
		return ETCD_HTTP_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return ETCD_HTTP_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return ETCD_HTTP_TIMEOUT;
	case CURLE_WRITE_ERROR:
		return x->too_big ? ETCD_HTTP_TOO_BIG : ETCD_HTTP_FAILED;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CLIENTCERT:
		return ETCD_HTTP_TLS;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		/* TLS 1.3: a member that refuses our certificate (or its
		 * absence) says so in an alert after the handshake, which
		 * OpenSSL reports on the first read */
		return strstr(x->errbuf, "SSL routines") != NULL ?
		    ETCD_HTTP_TLS : ETCD_HTTP_FAILED;
	default:
		return ETCD_HTTP_FAILED;
	}
}

/* Tells x's owner how it ended, then frees x. */
static void
complete(struct etcd_http_xfer *x, CURLcode rc)
{
	struct etcd_http_outcome o;
	char why[CURL_ERROR_SIZE + 64];

	memset(&o, 0, sizeof(o));
	o.result = result_of(rc, x);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &o.status);
	o.body = x->answer != NULL ? x->answer : "";
	o.len = x->len;
	if (o.result == ETCD_HTTP_TOO_BIG)
		snprintf(why, sizeof(why), "an answer over %zu bytes", x->max);
	else if (rc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", x->errbuf[0] != '\0' ?
		    x->errbuf : curl_easy_strerror(rc));
	else
		why[0] = '\0';
	o.err = why;
	x->state = X_CANCELED;	/* nothing more reaches its owner */
	x->done(x->arg, &o);
	xfer_free(x);
}

/* What curl finished since the last look. */
static void
check_done(struct etcd_http *h)
{
	struct etcd_http_xfer *x;
	CURLMsg *m;
	CURLcode rc;
	CURL *easy;
	char *priv;
	int left;

	while (!h->closing && (m = curl_multi_info_read(h->multi,
	    &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		easy = m->easy_handle;
		rc = m->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		x = (struct etcd_http_xfer *)priv;
		curl_multi_remove_handle(h->multi, easy);
		x->added = false;
		if (x->state == X_CANCELED)
			continue;	/* the kick frees it */
		complete(x, rc);
	}
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
	struct http_sock *s = p->data;
	struct etcd_http *h = s->h;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, s->fd, flags, &running);
	check_done(h);
}

static void
on_timer(uv_timer_t *t)
{
	struct etcd_http *h = t->data;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct etcd_http *h = userp;
	struct http_sock *s = sockp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			curl_multi_assign(h->multi, fd, NULL);
			close_handle(h, (uv_handle_t *)&s->poll);
		}
		return 0;
	}
	if (h->closing)
		return 0;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
			log_error("cannot watch curl's socket %d", (int)fd);
			free(s);
			return -1;
		}
		s->h = h;
		s->fd = fd;
		s->poll.data = s;
		LIST_INSERT_HEAD(&h->socks, s, entry);
		h->handles++;
		curl_multi_assign(h->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	s->poll.data = s;
	uv_poll_start(&s->poll, events, on_poll);
	return 0;
}

static int
timer_cb(CURLM *multi, long ms, void *userp)
{
	struct etcd_http *h = userp;

	if (h->closing)
		return 0;
	if (ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, on_timer, (uint64_t)ms, 0);
	return 0;
}

/* Outside every curl callback: new transfers go to curl, canceled ones
 * leave it. A done called here may post more (they come at the tail)
 * or cancel others (they stay on the list): the walk covers the
 * transfers there were when it started. */
static void
on_kick(uv_timer_t *t)
{
	struct etcd_http *h = t->data;
	struct etcd_http_xfer *x, *next;
	size_t n = 0, i;

	TAILQ_FOREACH(x, &h->xfers, entry)
		n++;
	for (x = TAILQ_FIRST(&h->xfers), i = 0; x != NULL && i < n &&
	    !h->closing; x = next, i++) {
		next = TAILQ_NEXT(x, entry);
		if (x->state == X_CANCELED)
			xfer_free(x);
		else if (x->state == X_PENDING) {
			if (curl_multi_add_handle(h->multi, x->easy) !=
			    CURLM_OK) {
				complete(x, CURLE_OUT_OF_MEMORY);
				continue;
			}
			x->added = true;
			x->state = X_RUNNING;
		}
	}
}

static void
kick(struct etcd_http *h)
{
	uv_timer_start(&h->kick, on_kick, 0, 0);
}

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *userp)
{
	struct etcd_http_xfer *x = userp;
	size_t n = size * nmemb, cap;
	char *nb;

	if (x->state == X_CANCELED || x->h->closing)
		return 0;
	if (x->data != NULL)
		return x->data(x->arg, p, n) == 0 ? n : 0;
	if (n > x->max - x->len) {
		x->too_big = true;
		return 0;
	}
	if (x->len + n + 1 > x->cap) {
		for (cap = x->cap > 0 ? x->cap : ANSWER_FIRST;
		    cap < x->len + n + 1; cap *= 2)
			;
		if ((nb = realloc(x->answer, cap)) == NULL)
			return 0;
		x->answer = nb;
		x->cap = cap;
	}
	memcpy(x->answer + x->len, p, n);
	x->len += n;
	x->answer[x->len] = '\0';
	return n;
}

/* Keepalive probes on every connection, so that a member that vanished
 * (powered off, partitioned) ends a quiet watch. */
static int
sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	int v;

	v = KEEPCNT;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v));
	v = (KEEPIDLE + KEEPINTVL * KEEPCNT) * 1000;
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v));
	return CURL_SOCKOPT_OK;
}

static int
add_header(struct etcd_http_xfer *x, const char *line)
{
	struct curl_slist *l = curl_slist_append(x->headers, line);

	if (l == NULL)
		return -1;
	x->headers = l;
	return 0;
}

/* Verification always on; the CA bundle (else the system's), our
 * certificate and key from memory: curl reads h's blobs, which outlive
 * every transfer. */
static int
setup_tls(CURL *e, const struct etcd_tls *t)
{
	struct curl_blob b;

	if (curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK)
		return -1;
	if (t->ca != NULL) {
		b = (struct curl_blob){ t->ca, t->calen, CURL_BLOB_NOCOPY };
		if (curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b) != CURLE_OK)
			return -1;
		/* the bundle alone, not the system's as well */
		curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (t->cert == NULL)
		return 0;
	b = (struct curl_blob){ t->cert, t->certlen, CURL_BLOB_NOCOPY };
	if (curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM") != CURLE_OK)
		return -1;
	b = (struct curl_blob){ t->key, t->keylen, CURL_BLOB_NOCOPY };
	if (curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM") != CURLE_OK)
		return -1;
	return 0;
}

static int
setup_easy(struct etcd_http_xfer *x, const struct etcd_http_req *r)
{
	CURL *e = x->easy;

	if (add_header(x, "Content-Type: application/json") != 0 ||
	    add_header(x, "Expect:") != 0 || (r->require_leader &&
	    add_header(x, "Grpc-Metadata-hasleader: true") != 0))
		return -1;
	x->errbuf[0] = '\0';
	if (curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK || setup_tls(e, &x->h->tls) != 0)
		return -1;
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	/* etcd serves gRPC and the gateway on one port: HTTP/2 (ALPN over
	 * TLS) would reach gRPC, not the gateway */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)r->bodylen);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)r->connect_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, (long)KEEPIDLE);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, (long)KEEPINTVL);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	return 0;
}

struct etcd_http_xfer *
etcd_http_post(struct etcd_http *h, const struct etcd_http_req *r)
{
	struct etcd_http_xfer *x;

	if (h->closing || (x = calloc(1, sizeof(*x))) == NULL) {
		free(r->body);
		return NULL;
	}
	x->h = h;
	x->body = r->body;
	x->max = r->max;
	x->data = r->data;
	x->done = r->done;
	x->arg = r->arg;
	x->state = X_PENDING;
	TAILQ_INSERT_TAIL(&h->xfers, x, entry);
	if ((x->easy = curl_easy_init()) == NULL || setup_easy(x, r) != 0) {
		xfer_free(x);
		return NULL;
	}
	kick(h);
	return x;
}

void
etcd_http_cancel(struct etcd_http_xfer *x)
{
	x->state = X_CANCELED;
	x->done = NULL;
	x->data = NULL;
	kick(x->h);
}

int
etcd_http_new(uv_loop_t *loop, const struct etcd_tls *tls,
    struct etcd_http **out, char *err, size_t errlen)
{
	struct etcd_http *h;

	*out = NULL;
	uv_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK) {
		seterr(err, errlen, "libcurl: %s",
		    curl_easy_strerror(curl_init_result));
		return -1;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    etcd_tls_copy(&h->tls, tls) != 0 ||
	    (h->multi = curl_multi_init()) == NULL) {
		if (h != NULL)
			etcd_tls_free(&h->tls);
		free(h);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	h->loop = loop;
	TAILQ_INIT(&h->xfers);
	LIST_INIT(&h->socks);
	uv_timer_init(loop, &h->timer);
	uv_timer_init(loop, &h->kick);
	h->timer.data = h->kick.data = h;
	h->handles = 2;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	*out = h;
	return 0;
}

void
etcd_http_close(struct etcd_http *h, void (*closed)(void *), void *arg)
{
	struct etcd_http_xfer *x;
	struct http_sock *s;

	if (h->closing)
		return;
	h->closing = true;
	h->closed = closed;
	h->closed_arg = arg;
	TAILQ_FOREACH(x, &h->xfers, entry) {
		x->state = X_CANCELED;
		x->done = NULL;
		x->data = NULL;
	}
	LIST_FOREACH(s, &h->socks, entry)
		close_handle(h, (uv_handle_t *)&s->poll);
	close_handle(h, (uv_handle_t *)&h->timer);
	close_handle(h, (uv_handle_t *)&h->kick);
}
