/* Unit tests for public key lines (keys/keyfile.h: keyfile_parse_public,
 * keyfile_format_public) against the .pub files ssh-keygen wrote
 * (data/keys, see gen.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/key.h"
#include "keys/keyfile.h"

#define DATA		"data/keys/"

static char *
data_text(const char *name, const char *suffix, size_t *len)
{
	char path[256], *buf;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), DATA "%s%s", name, suffix);
	f = fopen(path, "rb");
	assert_non_null(f);
	buf = calloc(1, 65536);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, f);
	fclose(f);
	if (len != NULL)
		*len = n;
	return buf;
}

static struct key *
load_text(const char *name)
{
	struct key *k;
	char *text, err[256];
	size_t len;

	text = data_text(name, "", &len);
	if (keyfile_parse_private(text, len, &k, err, sizeof(err)) != 0)
		fail_msg("%s: %s", name, err);
	free(text);
	return k;
}

static void
test_parse_public(void **state)
{
	struct key *k, *ref;
	char *line, err[256], *b64end, buf[1024];
	size_t len, cut;

	(void)state;
	line = data_text("id_ed25519", ".pub", &len);
	assert_int_equal(keyfile_parse_public(line, len, &ref, err,
	    sizeof(err)), 0);
	assert_int_equal(ref->type, KEY_ED25519);

	/* without the comment, with leading blanks, CRLF */
	b64end = strchr(line + 12, ' ');
	snprintf(buf, sizeof(buf), "  %.*s\r\n", (int)(b64end - line), line);
	assert_int_equal(keyfile_parse_public(buf, strlen(buf), &k, err,
	    sizeof(err)), 0);
	assert_true(key_equal(k, ref));
	key_free(k);

	/* every cut inside the type or base64 fails */
	for (cut = 0; cut < (size_t)(b64end - line); cut++) {
		char *copy = malloc(cut > 0 ? cut : 1);

		memcpy(copy, line, cut);
		k = NULL;
		assert_int_equal(keyfile_parse_public(copy, cut, &k, err,
		    sizeof(err)), -1);
		assert_null(k);
		free(copy);
	}

	/* a type that is not the blob's */
	snprintf(buf, sizeof(buf), "ssh-rsa %s", line + 12);
	assert_int_equal(keyfile_parse_public(buf, strlen(buf), &k, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "does not match"));
	snprintf(buf, sizeof(buf), "ssh-ed25519 A%s", line + 12);
	assert_int_equal(keyfile_parse_public(buf, strlen(buf), &k, err,
	    sizeof(err)), -1);
	assert_int_equal(keyfile_parse_public("", 0, &k, err, sizeof(err)),
	    -1);
	assert_int_equal(keyfile_parse_public("ssh-ed25519", 11, &k, err,
	    sizeof(err)), -1);
	key_free(ref);
	free(line);
}

static void
test_format_public(void **state)
{
	static const char *names[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
	char *pub, *comment, *line, *nl;
	struct key *k;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		pub = data_text(names[i], ".pub", NULL);
		if ((nl = strchr(pub, '\n')) != NULL)
			*nl = '\0';
		comment = strrchr(pub, ' ') + 1;
		k = load_text(names[i]);
		assert_int_equal(keyfile_format_public(k, comment, &line), 0);
		assert_string_equal(line, pub);
		free(line);
		assert_int_equal(keyfile_format_public(k, NULL, &line), 0);
		assert_int_equal(strlen(line), (size_t)(comment - pub - 1));
		assert_memory_equal(line, pub, strlen(line));
		free(line);
		free(pub);
		key_free(k);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_public),
		cmocka_unit_test(test_format_public),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
