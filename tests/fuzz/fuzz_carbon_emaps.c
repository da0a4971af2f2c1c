/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: jpu_carbon_parse_emaps() (and the error-body reader) on
 * arbitrary bytes. Seeds: tests/fixtures/provider-responses/*.json.
 * A success must give a value inside the documented range, a known basis
 * and a NUL-terminated zone.
 */
#include <stdlib.h>
#include <string.h>

#include "carbon/carbon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#if JPU_HAVE_NET_CARBON
	struct jpu_intensity v;
	char msg[64];

	if (jpu_carbon_parse_emaps((const char *)data, size, &v) == 0) {
		if (v.mg_per_kwh > JPU_CARBON_MAX_MG_PER_KWH)
			abort();
		if (strcmp(v.basis, "direct") != 0 && strcmp(v.basis, "lifecycle") != 0)
			abort();
		if (memchr(v.zone, '\0', sizeof v.zone) == NULL)
			abort();
	}
	if (jpu_carbon_parse_error((const char *)data, size, msg, sizeof msg) == 0 &&
	    memchr(msg, '\0', sizeof msg) == NULL)
		abort();
#endif
	return 0;
}
