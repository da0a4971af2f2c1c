/* SPDX-License-Identifier: BSD-3-Clause */
/* The list of sensor backends, in probe order. A new backend is one file
 * in this folder and one line here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../internal.h"

const struct jpu_sensor_ops *const jpu_sensor_registry[] = {
        &jpu_sensor_rapl, &jpu_sensor_perf,     &jpu_sensor_hwmon,
        &jpu_sensor_nvml, &jpu_sensor_estimate, &jpu_sensor_fake, /* only when asked for by name */
};
const size_t jpu_sensor_registry_len = JPU_ARRAY_SIZE(jpu_sensor_registry);

const struct jpu_sensor_ops *jpu_sensor_find(const char *name)
{
	for (size_t i = 0; i < jpu_sensor_registry_len; i++)
		if (strcmp(jpu_sensor_registry[i]->name, name) == 0)
			return jpu_sensor_registry[i];
	return NULL;
}

struct jpu_domain *jpu_sensor_add_domain(struct jpu_sensor *s)
{
	struct jpu_domain *d = realloc(s->domains, (s->n_domains + 1) * sizeof *d);

	if (!d)
		return NULL;
	s->domains = d;
	d = &s->domains[s->n_domains++];
	memset(d, 0, sizeof *d);
	d->fd = -1;
	d->fd2 = -1;
	d->package = -1;
	d->die = -1;
	return d;
}

void jpu_sensor_free_domains(struct jpu_sensor *s)
{
	for (size_t i = 0; i < s->n_domains; i++) {
		if (s->domains[i].fd >= 0)
			close(s->domains[i].fd);
		if (s->domains[i].fd2 >= 0)
			close(s->domains[i].fd2);
	}
	free(s->domains);
	s->domains = NULL;
	s->n_domains = 0;
}
