/* The status page and the little HTTP it takes to serve it. */
#include "statuspage.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "util/text.h"

/* Everything from peers reaches the page through textContent: the script
 * never parses HTML it did not write. */
const char statuspage_html[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>tunnels</title>\n"
	"<style>\n"
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2733;background:#f6f7f9}\n"
	"h1{font-size:1.3em;margin:0 0 .2em}\n"
	"#meta{color:#5a6572;margin-bottom:1em}\n"
	"#meta.down{color:#b3261e;font-weight:600}\n"
	"table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002;margin-bottom:1.5em}\n"
	"th,td{padding:.35em .6em;text-align:left;border-bottom:1px solid #e3e6ea;white-space:nowrap}\n"
	"th{background:#eef1f4;font-weight:600;font-size:.9em}\n"
	"td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
	"tr.group td{background:#f0f4fa;font-weight:600}\n"
	"tr.group td.sub{font-weight:400;color:#5a6572}\n"
	".state{display:inline-block;padding:0 .5em;border-radius:.7em;font-size:.85em;font-weight:600}\n"
	".ok{background:#dcf3e2;color:#17692f}.bad{background:#fbe3e1;color:#b3261e}.wait{background:#fdf1d6;color:#8a5a00}\n"
	"td.msg{white-space:normal}\n"
	"svg.spark{display:block}\n"
	"svg.spark polyline{fill:none;stroke:#2f6fdb;stroke-width:1.5}\n"
	"</style>\n"
	"</head>\n"
	"<body>\n"
	"<h1 id=\"title\">tunnels</h1>\n"
	"<div id=\"meta\">loading&hellip;</div>\n"
	"<table id=\"fwds\">\n"
	"<thead><tr><th>Session / host</th><th>Forward</th><th>Bound</th><th class=\"num\">Port</th><th class=\"num\">Open</th><th class=\"num\">Conns</th><th class=\"num\">In</th><th class=\"num\">Out</th><th>Throughput (60 s)</th></tr></thead>\n"
	"<tbody id=\"rows\"></tbody>\n"
	"</table>\n"
	"<div id=\"refusals-box\" hidden>\n"
	"<h1>Recent refusals</h1>\n"
	"<table id=\"refusals\">\n"
	"<thead><tr><th>Time</th><th>Rule</th><th>User</th><th>Peer</th><th>Why</th></tr></thead>\n"
	"<tbody id=\"refrows\"></tbody>\n"
	"</table>\n"
	"</div>\n"
	"<script>\n"
	"\"use strict\";\n"
	"const SVGNS = \"http://www.w3.org/2000/svg\";\n"
	"const hist = new Map();\n"
	"const POINTS = 60;\n"
	"\n"
	"function el(tag, cls, text) {\n"
	"  const e = document.createElement(tag);\n"
	"  if (cls) e.className = cls;\n"
	"  if (text !== undefined && text !== null) e.textContent = String(text);\n"
	"  return e;\n"
	"}\n"
	"\n"
	"function human(v) {\n"
	"  const u = [\"B\", \"KiB\", \"MiB\", \"GiB\", \"TiB\"];\n"
	"  let i = 0, d = Number(v);\n"
	"  while (d >= 1024 && i < u.length - 1) { d /= 1024; i++; }\n"
	"  return i === 0 ? d + \" B\" : d.toFixed(1) + \" \" + u[i];\n"
	"}\n"
	"\n"
	"function badge(state) {\n"
	"  const good = [\"up\", \"authenticated\", \"listening\", \"active\"];\n"
	"  const cls = good.includes(state) ? \"ok\" : state === \"connecting\" || state === \"pre-auth\" ? \"wait\" : \"bad\";\n"
	"  return el(\"span\", \"state \" + cls, state);\n"
	"}\n"
	"\n"
	"/* Both programs' JSON as one model: groups of forwards. */\n"
	"function model(d) {\n"
	"  const g = [];\n"
	"  for (const s of d.sessions || []) {\n"
	"    g.push({\n"
	"      name: s.user || \"(not authenticated)\", sub: s.peer + \" port \" + s.peer_port +\n"
	"        (s.key ? \"  \" + s.key : \"\"), state: s.authenticated ? \"authenticated\" : \"pre-auth\",\n"
	"      user: s.user,\n"
	"      fwds: (s.forwards || []).map(f => ({\n"
	"        id: s.peer + \":\" + s.peer_port + \"/\" + f.kind + \"/\" + f.bound + \":\" + f.port,\n"
	"        label: f.kind + (f.asked !== undefined && f.kind.startsWith(\"remote\") ? \" (asked \" + f.asked + (f.kind === \"remote\" ? \":\" + f.asked_port : \"\") + \")\" : \"\"),\n"
	"        where: f.bound, port: f.port, open: f.open, conns: f.connections,\n"
	"        bin: f.bytes_in, bout: f.bytes_out }))\n"
	"    });\n"
	"  }\n"
	"  for (const h of d.hosts || []) {\n"
	"    g.push({\n"
	"      name: h.host, sub: h.user + \"@\" + h.hostname + \" port \" + h.port, state: h.state,\n"
	"      user: h.user,\n"
	"      fwds: (h.forwards || []).map(f => ({\n"
	"        id: h.host + \"/\" + f.kind + \"/\" + f.spec,\n"
	"        label: f.kind + \" \" + f.spec, where: f.bound, port: f.port, open: f.open,\n"
	"        conns: f.connections, bin: f.bytes_in, bout: f.bytes_out }))\n"
	"    });\n"
	"  }\n"
	"  return g;\n"
	"}\n"
	"\n"
	"function spark(id, total, now) {\n"
	"  let h = hist.get(id);\n"
	"  if (!h) { h = { last: total, t: now, pts: [] }; hist.set(id, h); }\n"
	"  else {\n"
	"    const dt = (now - h.t) / 1000;\n"
	"    if (dt > 0) h.pts.push(Math.max(0, (total - h.last) / dt));\n"
	"    h.last = total; h.t = now;\n"
	"    if (h.pts.length > POINTS) h.pts.shift();\n"
	"  }\n"
	"  h.seen = now;\n"
	"  const w = 120, ht = 24, svg = document.createElementNS(SVGNS, \"svg\");\n"
	"  svg.setAttribute(\"class\", \"spark\");\n"
	"  svg.setAttribute(\"width\", w); svg.setAttribute(\"height\", ht);\n"
	"  const max = Math.max(1, ...h.pts), line = document.createElementNS(SVGNS, \"polyline\");\n"
	"  const pts = h.pts.map((v, i) => ((w - 1) * (i + POINTS - h.pts.length) / (POINTS - 1)).toFixed(1) +\n"
	"    \",\" + (ht - 1 - (ht - 3) * v / max).toFixed(1));\n"
	"  line.setAttribute(\"points\", pts.length > 1 ? pts.join(\" \") : \"0,\" + (ht - 1) + \" \" + (w - 1) + \",\" + (ht - 1));\n"
	"  svg.appendChild(line);\n"
	"  const title = document.createElementNS(SVGNS, \"title\");\n"
	"  title.textContent = human(h.pts.length ? h.pts[h.pts.length - 1] : 0) + \"/s now\";\n"
	"  svg.appendChild(title);\n"
	"  return svg;\n"
	"}\n"
	"\n"
	"function num(cls, v, shown) {\n"
	"  const td = el(\"td\", \"num \" + cls, shown === undefined ? v : shown);\n"
	"  td.dataset.v = String(v);\n"
	"  return td;\n"
	"}\n"
	"\n"
	"function render(d) {\n"
	"  const now = Date.now(), rows = document.getElementById(\"rows\");\n"
	"  const frag = document.createDocumentFragment();\n"
	"  const groups = model(d);\n"
	"  for (const g of groups) {\n"
	"    const tr = el(\"tr\", \"group\");\n"
	"    tr.appendChild(el(\"td\", \"user\", g.name));\n"
	"    const sub = el(\"td\", \"sub\", g.sub);\n"
	"    sub.colSpan = 7;\n"
	"    tr.appendChild(sub);\n"
	"    const st = el(\"td\");\n"
	"    st.appendChild(badge(g.state));\n"
	"    tr.appendChild(st);\n"
	"    frag.appendChild(tr);\n"
	"    for (const f of g.fwds) {\n"
	"      const r = el(\"tr\", \"fwd\");\n"
	"      r.dataset.user = g.user || \"\";\n"
	"      r.appendChild(el(\"td\"));\n"
	"      r.appendChild(el(\"td\", \"kind\", f.label));\n"
	"      r.appendChild(el(\"td\", \"where\", f.where || \"-\"));\n"
	"      r.appendChild(num(\"port\", f.port));\n"
	"      r.appendChild(num(\"open\", f.open));\n"
	"      r.appendChild(num(\"conns\", f.conns));\n"
	"      r.appendChild(num(\"bytes-in\", f.bin, human(f.bin)));\n"
	"      r.appendChild(num(\"bytes-out\", f.bout, human(f.bout)));\n"
	"      const sp = el(\"td\", \"spark\");\n"
	"      sp.appendChild(spark(f.id, Number(f.bin) + Number(f.bout), now));\n"
	"      r.appendChild(sp);\n"
	"      frag.appendChild(r);\n"
	"    }\n"
	"  }\n"
	"  if (groups.length === 0) {\n"
	"    const tr = el(\"tr\"), td = el(\"td\", \"\", d.sessions ? \"no sessions\" : \"no hosts\");\n"
	"    td.colSpan = 9;\n"
	"    tr.appendChild(td);\n"
	"    frag.appendChild(tr);\n"
	"  }\n"
	"  rows.replaceChildren(frag);\n"
	"  for (const [k, h] of hist) if (h.seen !== now) hist.delete(k);\n"
	"\n"
	"  const box = document.getElementById(\"refusals-box\"), rr = document.getElementById(\"refrows\");\n"
	"  const rf = document.createDocumentFragment();\n"
	"  for (const x of d.refusals || []) {\n"
	"    const tr = el(\"tr\", \"refusal\");\n"
	"    tr.appendChild(el(\"td\", \"\", new Date(x.time * 1000).toLocaleTimeString()));\n"
	"    tr.appendChild(el(\"td\", \"rule\", x.rule));\n"
	"    tr.appendChild(el(\"td\", \"user\", x.user || \"-\"));\n"
	"    tr.appendChild(el(\"td\", \"\", x.peer + \" port \" + x.peer_port));\n"
	"    tr.appendChild(el(\"td\", \"msg\", x.message));\n"
	"    rf.appendChild(tr);\n"
	"  }\n"
	"  rr.replaceChildren(rf);\n"
	"  box.hidden = !(d.refusals && d.refusals.length);\n"
	"  const prog = d.sessions ? \"ferryd\" : \"ferry\";\n"
	"  document.getElementById(\"title\").textContent = prog + \" status\";\n"
	"  document.title = prog + \" status\";\n"
	"  const meta = document.getElementById(\"meta\");\n"
	"  meta.className = \"\";\n"
	"  meta.textContent = (d.sessions ? d.sessions.length + \" session(s)\" : (d.hosts || []).length + \" host(s)\") +\n"
	"    \", updated \" + new Date(now).toLocaleTimeString();\n"
	"}\n"
	"\n"
	"async function tick() {\n"
	"  try {\n"
	"    const r = await fetch(\"status.json\", { cache: \"no-store\" });\n"
	"    if (!r.ok) throw new Error(\"HTTP \" + r.status);\n"
	"    render(await r.json());\n"
	"  } catch (e) {\n"
	"    const meta = document.getElementById(\"meta\");\n"
	"    meta.className = \"down\";\n"
	"    meta.textContent = \"cannot read status.json: \" + e.message;\n"
	"  }\n"
	"}\n"
	"\n"
	"tick();\n"
	"setInterval(tick, 1000);\n"
	"</script>\n"
	"</body>\n"
	"</html>\n";

/* Whether p[0..n) starts with word. */
static bool
starts(const char *p, size_t n, const char *word)
{
	size_t k = strlen(word);

	return n >= k && memcmp(p, word, k) == 0;
}

static bool
digits_dots(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((p[i] < '0' || p[i] > '9') && p[i] != '.')
			return false;
	return true;
}

/* A Host header value (port included) that names this machine: a
 * loopback literal or localhost. */
static bool
host_is_loopback(const char *h, size_t n)
{
	size_t k;

	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (n > 0 && h[0] == '[') {
		for (k = 1; k < n && h[k] != ']'; k++)
			;
		if (k == n || k != 4 || memcmp(h, "[::1]", 5) != 0)
			return false;
		k++;
	} else {
		for (k = 0; k < n && h[k] != ':'; k++)
			;
		if (!((k == 9 && strncasecmp(h, "localhost", 9) == 0) ||
		    (k >= 7 && k <= 15 && memcmp(h, "127.", 4) == 0 &&
		    digits_dots(h, k))))
			return false;
	}
	if (k == n)
		return true;
	if (h[k] != ':' || k + 1 == n || k + 6 < n)
		return false;
	for (k++; k < n; k++)
		if (h[k] < '0' || h[k] > '9')
			return false;
	return true;
}

enum sp_route
statuspage_route(const char *req, size_t len)
{
	const char *p = req, *end = req + len, *path, *eol;
	size_t plen, n;
	bool get;

	if (!(get = starts(p, len, "GET ")) && !starts(p, len, "HEAD ") &&
	    !starts(p, len, "POST ") && !starts(p, len, "PUT ") &&
	    !starts(p, len, "DELETE ") && !starts(p, len, "OPTIONS "))
		return SP_BAD_REQUEST;
	if ((p = memchr(p, ' ', len)) == NULL)
		return SP_BAD_REQUEST;
	path = ++p;
	while (p < end && *p != ' ' && *p != '\r' && *p != '\n')
		p++;
	plen = (size_t)(p - path);
	if (p == end || *p != ' ' || plen == 0 ||
	    !starts(p + 1, (size_t)(end - p - 1), "HTTP/1."))
		return SP_BAD_REQUEST;
	/* the headers: only Host matters */
	for (eol = memchr(p, '\n', (size_t)(end - p)); eol != NULL;
	    eol = memchr(p, '\n', (size_t)(end - p))) {
		p = eol + 1;
		n = (size_t)(end - p);
		if (starts(p, n, "\r\n") || starts(p, n, "\n") || n == 0)
			break;
		if (n >= 5 && strncasecmp(p, "host:", 5) == 0) {
			const char *v = p + 5, *ve;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			for (ve = v; ve < end && *ve != '\r' && *ve != '\n';
			    ve++)
				;
			if (!host_is_loopback(v, (size_t)(ve - v)))
				return SP_BAD_HOST;
		}
	}
	if (!get)
		return SP_BAD_METHOD;
	for (n = 0; n < plen && path[n] != '?'; n++)
		;
	if ((n == 1 && path[0] == '/') || (n == 11 &&
	    memcmp(path, "/index.html", 11) == 0))
		return SP_PAGE;
	if (n == 12 && memcmp(path, "/status.json", 12) == 0)
		return SP_JSON;
	if (n == 8 && memcmp(path, "/metrics", 8) == 0)
		return SP_METRICS;
	return SP_NOT_FOUND;
}

void
statuspage_answer(struct wb *out, enum sp_route route, const void *body,
    size_t len)
{
	static const struct {
		const char	*status;
		const char	*type;
		const char	*text;
	} answers[] = {
		[SP_PAGE] = { "200 OK", "text/html; charset=utf-8", NULL },
		[SP_JSON] = { "200 OK", "application/json", NULL },
		[SP_METRICS] = { "200 OK", "text/plain; version=0.0.4", NULL },
		[SP_NOT_FOUND] = { "404 Not Found", "text/plain",
		    "not found: GET /, /status.json or /metrics\n" },
		[SP_BAD_METHOD] = { "405 Method Not Allowed", "text/plain",
		    "only GET\n" },
		[SP_BAD_HOST] = { "403 Forbidden", "text/plain",
		    "the Host header must name a loopback address\n" },
		[SP_BAD_REQUEST] = { "400 Bad Request", "text/plain",
		    "not an HTTP/1 request\n" },
	};

	if (route == SP_PAGE && body == NULL) {
		body = statuspage_html;
		len = sizeof(statuspage_html) - 1;
	} else if (body == NULL && answers[route].text != NULL) {
		body = answers[route].text;
		len = strlen(answers[route].text);
	}
	wb_printf(out, "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n", answers[route].status,
	    answers[route].type, len);
	if (route == SP_PAGE)
		wb_printf(out, "Content-Security-Policy: default-src 'none'; "
		    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
		    "connect-src 'self'; base-uri 'none'; form-action 'none'; "
		    "frame-ancestors 'none'\r\nReferrer-Policy: no-referrer\r\n");
	if (route == SP_BAD_METHOD)
		wb_printf(out, "Allow: GET\r\n");
	wb_printf(out, "Connection: close\r\n\r\n");
	if (len > 0)
		wb_put(out, body, len);
}
