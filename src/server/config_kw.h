/* The sshd_config keyword table, shared by src/server/config*.c only.
 *
 * Each keyword names a value kind; a value kind says how the words are
 * read, where the value goes (offsetof the field of struct
 * server_config) and what the field holds until server_config_finish.
 * The first value obtained for a field wins: a setter stores only into a
 * field still unset (SC_UNSET or NULL), but checks every value it sees.
 * Keywords with a syntax or rule of their own are SC_CODE and point at a
 * function (config_listen.c, config_access.c). */
#ifndef FERRY_SERVER_CONFIG_KW_H
#define FERRY_SERVER_CONFIG_KW_H

#include <stddef.h>
#include <stdio.h>

#include "server/config.h"
#include "ssh/alglist.h"
#include "util/cfgval.h"

/* An int field nobody has set yet; server_config_finish replaces it. */
#define SC_UNSET	(-1)

enum sc_kind {
	/* an int field, SC_UNSET until set, then def at finish */
	SC_FLAG,	/* yes (1) or no (0) */
	SC_INT,		/* a decimal number from u.range.min to u.range.max */
	SC_TIME,	/* seconds, or a time such as 1h30m */
	SC_ENUM,	/* a word of u.choices: its value */
	SC_MASK,	/* an octal mask from 0 to 0777 */
	/* a char * field the config owns, NULL until set */
	SC_STR,		/* a string, checked by u.check when that is set */
	SC_ALGS,	/* an algorithm list assembled against u.algs */
	/* no field */
	SC_REFUSED,	/* an error: ferryd cannot do it, u.note says why */
	SC_NONE_ONLY,	/* "none" is accepted, anything else SC_REFUSED */
	SC_IGNORED,	/* accepted without effect, noted for ferryd -d */
	SC_CODE,	/* u.fn does it all */
};

struct sc_keyword;

/* Applies a keyword's arguments a[0..n-1] (none empty, n within the
 * keyword's bounds). Returns 0, or -1 with the reason in err, which
 * starts with the keyword name; an empty err means out of memory. */
typedef int sc_set_fn(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen);
/* Checks an SC_STR value: 0, or -1 with the reason in err. */
typedef int sc_check_fn(const char *kw, const char *v, char *err,
    size_t errlen);

/* SC_ENUM's words, and how the error message lists them. */
struct sc_choices {
	const struct cfgval_word *words;
	size_t		 nwords;
	const char	*allowed;	/* "no, yes or clientspecified" */
};

/* One keyword. Static data: nothing here is owned. */
struct sc_keyword {
	const char	*name;		/* as sshd_config(5) spells it */
	enum sc_kind	 kind;
	int		 min_args;
	int		 max_args;
	size_t		 off;		/* the field, for the kinds with one */
	int		 def;		/* int kinds: the default */
	union {
		struct {
			long	 min;
			long	 max;
		} range;			/* SC_INT */
		const struct sc_choices *choices;	/* SC_ENUM */
		sc_check_fn	*check;		/* SC_STR, may be NULL */
		const struct alg_kind *algs;	/* SC_ALGS */
		const char	*note;		/* SC_REFUSED, SC_NONE_ONLY */
		sc_set_fn	*fn;		/* SC_CODE */
	} u;
};

/* The table, sorted by name without regard to case. */
extern const struct sc_keyword	sc_keywords[];
extern const size_t		sc_nkeywords;

/* The keyword called name (any case), NULL if there is none. */
const struct sc_keyword *sc_keyword_find(const char *name);
/* Applies a[0..n-1] to c by the keyword's kind (see sc_set_fn). */
sc_set_fn	sc_keyword_set;

/* The table's fields in c: every int field SC_UNSET (at init); every
 * one still unset its default, every algorithm list its default list
 * (at finish: 0, or -1 out of memory); every string freed and NULL. */
void	sc_fields_unset(struct server_config *c);
int	sc_fields_default(struct server_config *c);
void	sc_fields_free(struct server_config *c);

/* The value in c of an int kind's field, and of SC_STR's or SC_ALGS's
 * (NULL when unset; owned by c). */
int		 sc_int_value(const struct server_config *c,
		    const struct sc_keyword *kw);
const char	*sc_str_value(const struct server_config *c,
		    const struct sc_keyword *kw);

/* Stores a copy of v in *field unless it is set. 0, or -1 (out of
 * memory) with err set. */
int	sc_set_str(char **field, const char *v, char *err, size_t errlen);

/* v as yes (1) or no (0); -1 with "kw: bad value 'v' (yes or no)". */
int	sc_yesno(const char *kw, const char *v, int *out, char *err,
	    size_t errlen);

/* Match blocks (config_match.c). sc_match_begin starts the block of a
 * Match line's criteria a[0..n-1] (lines then go to it), where naming
 * the line; 0, or -1 with
 * the reason in err. sc_match_target is the configuration a line of kw
 * goes to: c itself outside a block, else the block's (NULL, with the
 * reason in err, when kw is not allowed there). sc_match_free frees
 * every block. */
int	sc_match_begin(struct server_config *c, const char *where, char **a,
	    int n, char *err, size_t errlen);
struct server_config *sc_match_target(struct server_config *c,
	    const struct sc_keyword *kw, char *err, size_t errlen);
void	sc_match_free(struct server_config *c);

/* SC_CODE keywords. Where ferryd listens and how it takes connections
 * (config_listen.c). */
sc_set_fn	sc_kw_port;
sc_set_fn	sc_kw_listen;
sc_set_fn	sc_kw_address_family;
sc_set_fn	sc_kw_startups;
sc_set_fn	sc_kw_per_source;
sc_set_fn	sc_kw_chan_timeout;
sc_set_fn	sc_kw_unused_timeout;
sc_set_fn	sc_kw_netblock;
sc_set_fn	sc_kw_hostkey;
sc_set_fn	sc_kw_hostcert;
/* Who may log in and what they may forward (config_access.c). */
sc_set_fn	sc_kw_authkeys;
sc_set_fn	sc_kw_pubkey;
sc_set_fn	sc_kw_auth_methods;
sc_set_fn	sc_kw_disable_fwd;
sc_set_fn	sc_kw_permit_open;
sc_set_fn	sc_kw_permit_listen;
sc_check_fn	sc_check_sl_dir;
sc_set_fn	sc_kw_allow_users;
sc_set_fn	sc_kw_deny_users;
sc_check_fn	sc_check_facility;
/* AuthorizedKeysCommand, AuthorizedPrincipalsCommand (config_akc.c). */
sc_set_fn	sc_kw_akc;
sc_set_fn	sc_kw_apc;
/* The fleet's keywords (config_cluster.c): checks, ClusterPortRange,
 * the defaults (0, or -1 out of memory) and -T's line of the range. */
sc_check_fn	sc_check_cluster_registry;
sc_check_fn	sc_check_node_name;
sc_check_fn	sc_check_bind_address;
sc_check_fn	sc_check_cluster_prefix;
sc_check_fn	sc_check_cluster_file;
sc_set_fn	sc_kw_cluster_ports;
int		sc_cluster_default(struct server_config *c);
void		sc_print_cluster_ports(const struct server_config *c,
		    FILE *fp);

#endif
