/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the CLI's parser of jpud's HTTP answers and the JSON
 * walkers that read their bodies (cli/daemon_client.c). The answers come
 * from a socket anyone able to bind the path could serve. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jpu_dc_response r;
	char *copy = malloc(size + 1);
	const char *cpu, *end;
	char s[32];
	double d;
	int ret;

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	copy[size] = '\0';
	ret = jpu_dc_parse_response(copy, size, &r);
	if (ret == 0) {
		if (r.status < 200 || r.status > 599 || r.head_len > JPU_DC_MAX_HEAD ||
		    r.body_len > JPU_DC_MAX_RESPONSE || r.head_len + r.body_len > size ||
		    r.body != copy + r.head_len)
			abort();
		/* the client reads the body as a C string, as here */
		end = jpu_dc_json_skip(r.body);
		if (end && (end < r.body || end > copy + size))
			abort();
		cpu = jpu_dc_json_get(r.body, "cpu");
		jpu_dc_json_string(jpu_dc_json_get(r.body, "time"), s, sizeof(s));
		if (cpu)
			jpu_dc_json_number(jpu_dc_json_get(cpu, "usage"), &d);
	} else if (ret != -EAGAIN && ret != -EBADMSG && ret != -E2BIG) {
		abort();
	}
	free(copy);
	return 0;
}
