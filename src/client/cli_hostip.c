/* CheckHostIP, as ssh(1) 9.2 applies it: the server's address is looked up
 * in the known_hosts files too ("addr", or "[addr]:port" off port 22), and
 * recorded there next to the host; a host key that disagrees with the
 * address's is warned about. ssh leaves it off for a loopback address, a
 * destination written as that address, a connection through a proxy and a
 * host certificate (whose address part follows the host's). */
#include "cli_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "keys/key.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/text.h"

#define AT_LINE	"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@"

/* Whether the numeric address is a loopback one (127/8, ::1, and the
 * former mapped into IPv6). */
static bool
is_loopback(const char *addr)
{
	static const uint8_t v6_one[16] = { [15] = 1 };
	struct netaddr a;

	if (!netaddr_parse(addr, strlen(addr), true, &a))
		return false;
	netaddr_unmap(&a);
	return a.af == AF_INET ? a.b[0] == 127 :
	    memcmp(a.b, v6_one, sizeof(v6_one)) == 0;
}

bool
cli_hostip_wanted(const struct options *o, const char *addr)
{
	return o->check_host_ip && o->proxy_run == NULL && addr[0] != '\0' &&
	    !is_loopback(addr) && strcasecmp(o->hostname, addr) != 0;
}

static bool
applies(const struct client *cl)
{
	return cl->nc != NULL && cli_hostip_wanted(cl->o,
	    net_conn_peer_ip(cl->nc));
}

void
cli_hostip_lookup(const struct client *cl, const struct key *k, bool cert,
    const struct kh_result *host, struct hostip *ip)
{
	const char *f;
	char err[256];
	int i;

	memset(ip, 0, sizeof(*ip));
	ip->res.status = KH_NEW;
	if (!applies(cl))
		return;
	ip->on = true;
	snprintf(ip->addr, sizeof(ip->addr), "%s", net_conn_peer_ip(cl->nc));
	kh_hostname(ip->addr, cl->o->port, ip->name, sizeof(ip->name));
	/* a certificate that fell back to its plain key: ssh takes the
	 * host's verdict for the address's */
	if (cert) {
		ip->res = *host;
		return;
	}
	for (i = 0; (f = cli_kh_file(cl->o, i)) != NULL; i++)
		if (f[0] != '\0' && kh_check_file(f, ip->addr, cl->o->port, k,
		    &ip->res, err, sizeof(err)) != 0)
			log_info("%s", err);
}

void
cli_hostip_record(struct client *cl, const struct key *k,
    const struct hostip *ip)
{
	const struct options *o = cl->o;
	char err[256];

	if (!ip->on || ip->res.status != KH_NEW)
		return;
	if (o->nknown_hosts == 0 || strcasecmp(o->known_hosts[0],
	    "none") == 0)
		log_plain("%s%s host key for IP address '%s' not in list of "
		    "known hosts.", cl->tag, key_type_label(k), ip->name);
	else if (kh_add(o->known_hosts[0], ip->addr, o->port, k,
	    o->hash_known_hosts, err, sizeof(err)) != 0)
		log_plain("%sFailed to add the %s host key for IP address "
		    "'%s' to the list of known hosts (%s): %s", cl->tag,
		    key_type_label(k), ip->name, o->known_hosts[0], err);
	else
		log_plain("%sWarning: Permanently added the %s host key for IP "
		    "address '%s' to the list of known hosts.", cl->tag,
		    key_type_label(k), ip->name);
}

void
cli_hostip_spoofing(const struct client *cl, const struct key *k,
    const char *name, const struct kh_result *host, const struct hostip *ip)
{
	const char *how;

	/* ssh warns when the address does not share the host's change */
	if (!ip->on || host->status != KH_CHANGED ||
	    (ip->res.status == KH_CHANGED &&
	    strcmp(ip->res.listed_fp, host->listed_fp) == 0))
		return;
	how = ip->res.status == KH_NEW ? "is unknown" :
	    ip->res.status == KH_MATCH ? "is unchanged" :
	    "has a different value";
	cli_plain_lines("%s" AT_LINE "\n"
	    "@       WARNING: POSSIBLE DNS SPOOFING DETECTED!          @\n"
	    AT_LINE "\n"
	    "The %s host key for %s has changed,\n"
	    "and the key for the corresponding IP address %s\n"
	    "%s. This could either mean that\n"
	    "DNS SPOOFING is happening or the IP address for the host\n"
	    "and its host key have changed at the same time.", cl->tag,
	    key_type_label(k), name, ip->name, how);
	if (ip->res.status != KH_NEW)
		cli_plain_lines("Offending key for IP in %s:%d\n"
		    "  remove with:\n"
		    "  ssh-keygen -f \"%s\" -R \"%s\"", ip->res.file,
		    ip->res.line, ip->res.file, ip->name);
}

static void
differs_answered(void *ud, bool yes)
{
	struct client *cl = ud;

	cl->hk_prompt = NULL;
	if (!yes)
		cl->fatal = true;	/* never retried */
	if (cl->nc != NULL)
		net_conn_hostkey_verdict(cl->nc, yes);
}

/* StrictHostKeyChecking ask: ssh's yes/no question, on the terminal. */
static enum hostip_verdict
ask_differs(struct client *cl, const char *msg)
{
	char err[256], q[3000], safe[4 * sizeof(q)];

	if (cl->o->batch_mode)
		return HIP_REFUSE;
	if (!hk_prompt_have_tty(err, sizeof(err))) {
		log_verbose("read_passphrase: %s", err);
		return HIP_REFUSE;
	}
	snprintf(q, sizeof(q), "%s\nAre you sure you want to continue "
	    "connecting (yes/no)? ", msg);
	text_safe(safe, sizeof(safe), q, true);
	cl->hk_prompt = hk_prompt_ask(cl->loop, safe, NULL, differs_answered,
	    cl);
	return cl->hk_prompt != NULL ? HIP_ASKING : HIP_REFUSE;
}

enum hostip_verdict
cli_hostip_differs(struct client *cl, const struct key *k, const char *name,
    const struct kh_result *host, const struct hostip *ip)
{
	char msg[2600];
	size_t n;

	if (!ip->on || host->status == KH_CHANGED ||
	    ip->res.status != KH_CHANGED)
		return HIP_GO;
	n = (size_t)snprintf(msg, sizeof(msg), "Warning: the %s host key for "
	    "'%s' differs from the key for the IP address '%s'\n"
	    "Offending key for IP in %s:%d", key_type_label(k), name,
	    ip->name, ip->res.file, ip->res.line);
	if (host->status == KH_MATCH && n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, "\nMatching host key in "
		    "%s:%d", host->file, host->line);
	switch (cl->o->strict) {
	case SHK_ASK:
		return ask_differs(cl, msg);
	case SHK_NO:
		cli_plain_lines("%s%s", cl->tag, msg);
		return HIP_GO;
	default:
		cli_plain_lines("%s%s", cl->tag, msg);
		log_plain("%sExiting, you have requested strict checking.",
		    cl->tag);
		return HIP_REFUSE;
	}
}
