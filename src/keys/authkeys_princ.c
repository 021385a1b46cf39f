/* AuthorizedPrincipalsFile files for ferryd (sshd_config(5)): one
 * principal a line, the last word of it, after authorized_keys options
 * that apply to the certificate that logs in under it. */
#include "authkeys_int.h"

#include <stdio.h>
#include <string.h>

#include "cert.h"

/* Checks one line: 1 if it names a principal of the certificate and its
 * options let the client in now, else 0. */
static int
check_principal(struct ak_ctx *c, const char *line, size_t len,
    struct ak_opts *o)
{
	const char *s = line, *end = line + len, *name, *e;
	struct ak_parse p;
	char want[CERT_MAX_PRINCIPAL_LEN + 1];
	size_t n;

	while (s < end && ak_is_blank(*s))
		s++;
	while (end > s && ak_is_blank(end[-1]))
		end--;
	if (s == end || *s == '#')
		return 0;
	if (memchr(s, '\0', (size_t)(end - s)) != NULL) {
		ak_report(c, "line contains a NUL byte");
		return 0;
	}
	for (name = end; name > s && !ak_is_blank(name[-1]); name--)
		;
	n = (size_t)(end - name);
	if (n >= sizeof(want))
		return 0;	/* longer than any principal */
	memcpy(want, name, n);
	want[n] = '\0';
	if (!ak_principal_listed(want, c->cert) || strchr(want, ',') != NULL)
		return 0;
	ak_opts_reset(o);
	memset(&p, 0, sizeof(p));
	p.o = o;
	if (name > s) {
		if ((e = ak_parse_options(&p, s, name)) == NULL) {
			ak_report(c, "%s", p.why);
			return 0;
		}
		while (e < name && ak_is_blank(*e))
			e++;
		if (e != name) {
			ak_report(c, "unexpected text before principal '%s'",
			    want);
			return 0;
		}
		if (p.cert_authority || p.principals) {
			ak_report(c, "%s has no meaning in a principals file",
			    p.cert_authority ? "cert-authority" :
			    "principals=");
			return 0;
		}
	}
	if (!ak_line_allows(c, &p))
		return 0;
	snprintf(o->file, sizeof(o->file), "%s", c->fname);
	o->line = c->lineno;
	return 1;
}

int
ak_find_principal_text(const char *text, size_t len, const char *fname,
    const struct cert *cert, const char *client_ip, struct ak_opts *opts,
    ak_warn_fn warn, void *ud)
{
	struct ak_ctx c;

	memset(&c, 0, sizeof(c));
	c.fname = fname != NULL ? fname : "";
	c.cert = cert;
	c.client_ip = client_ip;
	c.warn = warn;
	c.ud = ud;
	return ak_scan_text(&c, text, len, opts, check_principal);
}

int
ak_find_principal_file(const char *path, const struct cert *cert,
    const char *client_ip, struct ak_opts *opts, ak_warn_fn warn, void *ud,
    char *err, size_t errlen)
{
	struct ak_ctx c;

	memset(&c, 0, sizeof(c));
	c.fname = path;
	c.cert = cert;
	c.client_ip = client_ip;
	c.warn = warn;
	c.ud = ud;
	return ak_scan_file(&c, path, opts, check_principal, err, errlen);
}
