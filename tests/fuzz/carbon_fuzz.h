/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared body of the carbon parser fuzz targets: run one provider's parser
 * (and the error-body reader) on arbitrary bytes. Seeds:
 * tests/fuzz/seeds/<target>/ (links to tests/fixtures/provider-responses),
 * dictionary tests/fuzz/dicts/<target>.dict. A success must give a value
 * inside the documented range, a known basis and a NUL-terminated zone.
 */
#ifndef JPU_CARBON_FUZZ_H
#define JPU_CARBON_FUZZ_H

#include <stdlib.h>
#include <string.h>

#include "carbon/carbon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if JPU_HAVE_NET_CARBON
static int fuzz_carbon_parser(int (*parse)(const char *, size_t, struct jpu_intensity *),
                              const uint8_t *data, size_t size)
{
	struct jpu_intensity v;
	char msg[64];

	if (parse((const char *)data, size, &v) == 0) {
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
	return 0;
}
#endif

#endif
