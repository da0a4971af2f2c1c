/* SPDX-License-Identifier: BSD-3-Clause */
/* Placeholder until the fake backend lands: reports itself absent. */
#include <errno.h>
#include <stdio.h>

#include "../internal.h"

static int fake_probe(struct jpu_sensor *s, const struct jpu_probe_opts *o, struct jpu_diag *diag)
{
	snprintf(diag->message, sizeof diag->message, "fake backend not built");
	diag->reason = JPU_REASON_UNSUPPORTED;
	return -EOPNOTSUPP;
}

const struct jpu_sensor_ops jpu_sensor_fake = {
	.name = "fake",
	.probe = fake_probe,
};
