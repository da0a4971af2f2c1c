/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: jpu_carbon_parse_gb() on arbitrary bytes (carbon_fuzz.h). */
#include "carbon_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#if JPU_HAVE_NET_CARBON
	return fuzz_carbon_parser(jpu_carbon_parse_gb, data, size);
#else
	(void)data;
	(void)size;
	return 0;
#endif
}
