/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: jpud's request checks (daemon/request.c). The input is
 * "METHOD\nPATH\nkey=value\n..." with a first byte choosing the listener
 * (odd: TCP); libmicrohttpd hands the daemon exactly these decoded parts. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARTS 12

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jpud_arg args[MAX_PARTS];
	struct jpud_request q, before;
	char *buf, *parts[MAX_PARTS + 2], *p;
	size_t n = 0, na = 0;
	const char *err = NULL;
	int tcp, r;

	if (size < 1)
		return 0;
	tcp = data[0] & 1;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (p = buf; n < MAX_PARTS + 2;) {
		char *nl = strchr(p, '\n');

		parts[n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	if (n < 2)
		goto out;
	for (size_t i = 2; i < n && na < MAX_PARTS; i++) {
		char *eq = strchr(parts[i], '=');

		args[na].key = parts[i];
		args[na].value = NULL;
		if (eq) {
			*eq = '\0';
			args[na].value = eq + 1;
		}
		na++;
	}
	memset(&q, 0x5a, sizeof q);
	before = q;
	r = jpud_request_parse(parts[0], parts[1], args, na, tcp, &q, &err);
	if (r == 0) {
		/* the contract: a known route, a valid scope, a pid only where
		 * it belongs, a terminated tag of the allowed characters */
		if ((unsigned)q.route > JPUD_HEALTH || (unsigned)q.scope > JPUD_SCOPE_PROCESS)
			abort();
		if (q.pid < 0 || memchr(q.tag, '\0', sizeof q.tag) == NULL)
			abort();
		if (strspn(q.tag,
		           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") !=
		    strlen(q.tag))
			abort();
		if (tcp && q.route != JPUD_METRICS && q.route != JPUD_HEALTH)
			abort();
		if ((q.route == JPUD_SAMPLE || q.route == JPUD_HISTORY) &&
		    (q.scope == JPUD_SCOPE_PROCESS) != (q.pid != 0))
			abort();
	} else {
		if (r != -EINVAL && r != -ENOENT && r != -EOPNOTSUPP)
			abort();
		if (!err || memcmp(&q, &before, sizeof q) != 0)
			abort();
	}
out:
	free(buf);
	return 0;
}
