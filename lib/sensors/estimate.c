/* SPDX-License-Identifier: BSD-3-Clause */
/* Placeholder until the estimate backend lands: reports itself absent. */
#include <errno.h>
#include <stdio.h>

#include "../internal.h"

static int estimate_probe(struct jpu_sensor *s, const struct jpu_probe_opts *o, struct jpu_diag *diag)
{
	snprintf(diag->message, sizeof diag->message, "estimate backend not built");
	diag->reason = JPU_REASON_UNSUPPORTED;
	return -EOPNOTSUPP;
}

const struct jpu_sensor_ops jpu_sensor_estimate = {
	.name = "estimate",
	.probe = estimate_probe,
};
