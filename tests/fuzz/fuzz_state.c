/* SPDX-License-Identifier: BSD-3-Clause */
/* The state file parser: any content is refused or loaded whole. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jpu_engine e;
	int r;

	memset(&e, 0, sizeof e);
	r = jpu_state_parse(&e, (const char *)data, size);
	if (r < 0 && (e.n_tracked != 0 || e.n_xscopes != 0 || e.energy.cpu_uj != 0 ||
	              e.past_tags != 0 || e.past_energy.cpu_uj != 0))
		abort(); /* a refused file must change nothing */
	free(e.tracked);
	for (size_t i = 0; i < e.n_xscopes; i++)
		free(e.xscopes[i]);
	free(e.xscopes);
	return 0;
}
