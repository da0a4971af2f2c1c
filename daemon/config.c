/* SPDX-License-Identifier: BSD-3-Clause */
/* jpud's settings (config.h). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"
#include "jpu/jpu.h"

enum {
	OPT_SOCKET = 256,
	OPT_LISTEN,
	OPT_SYSFS,
	OPT_PROCFS,
	OPT_INTERVAL,
	OPT_STATE,
	OPT_USER,
	OPT_NVML,
	OPT_RATE,
	OPT_BURST,
	OPT_TIMEOUT,
	OPT_ALLOW_SYSTEM,
	OPT_LOG_LEVEL,
	OPT_COUNTRY,
	OPT_INTENSITY,
	OPT_PROCESS_METRICS,
	OPT_HISTORY,
	OPT_DISCOVER,
	OPT_CONTAINER_LOGS,
	OPT_CONFIG,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option longopts[] = {
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"path.sysfs", required_argument, NULL, OPT_SYSFS},
        {"path.procfs", required_argument, NULL, OPT_PROCFS},
        {"path.container-logs", required_argument, NULL, OPT_CONTAINER_LOGS},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"state-file", required_argument, NULL, OPT_STATE},
        {"user", required_argument, NULL, OPT_USER},
        {"nvml", required_argument, NULL, OPT_NVML},
        {"rate", required_argument, NULL, OPT_RATE},
        {"burst", required_argument, NULL, OPT_BURST},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"allow-system", required_argument, NULL, OPT_ALLOW_SYSTEM},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"country", required_argument, NULL, OPT_COUNTRY},
        {"intensity", required_argument, NULL, OPT_INTENSITY},
        {"process-metrics", required_argument, NULL, OPT_PROCESS_METRICS},
        {"history", required_argument, NULL, OPT_HISTORY},
        {"discover", required_argument, NULL, OPT_DISCOVER},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
};

static const char usage[] =
        "usage: jpud [--socket PATH] [--listen HOST:PORT] [--interval SECONDS]\n"
        "            [--path.sysfs DIR] [--path.procfs DIR] [--state-file FILE]\n"
        "            [--user NAME] [--nvml LIBRARY] [--rate N] [--burst N] [--timeout S]\n"
        "            [--allow-system true|false] [--log-level error|warning|info|debug]\n"
        "            [--country CC] [--intensity G_PER_KWH] [--process-metrics true|false]\n"
        "            [--history SAMPLES] [--discover SECONDS] [--path.container-logs DIR]\n"
        "            [--config FILE]\n"
        "The node's power daemon; see jpud(8) (docs/jpud.8.md).\n";

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int parse_uint(const char *v, uint64_t lo, uint64_t hi, uint64_t *ret)
{
	uint64_t x;

	if (jpu_parse_u64(v, strlen(v), &x) < 0 || x < lo || x > hi)
		return -EINVAL;
	*ret = x;
	return 0;
}

/* seconds with up to 3 decimals, strictly ("1", "2.5"), into µs */
static int parse_seconds(const char *v, uint64_t *ret)
{
	const char *dot = strchr(v, '.');
	uint64_t whole, frac = 0, scale = 1000000;
	size_t fl;

	if (jpu_parse_u64(v, dot ? (size_t)(dot - v) : strlen(v), &whole) < 0 || whole > 86400)
		return -EINVAL;
	if (dot) {
		fl = strlen(dot + 1);
		if (fl == 0 || fl > 3 || jpu_parse_u64(dot + 1, fl, &frac) < 0)
			return -EINVAL;
		for (size_t i = 0; i < fl; i++)
			scale /= 10;
		frac *= scale;
	}
	*ret = whole * 1000000 + frac;
	return 0;
}

/* One setting by option id; `name` is how the user spelled it (for the
 * message). */
static int apply(struct jpud_config *c, int id, const char *name, const char *v, FILE *err)
{
	uint64_t x;
	const char *why = NULL;

	switch (id) {
	case OPT_SOCKET:
		return set_str(&c->socket_path, v);
	case OPT_LISTEN:
		return set_str(&c->listen, v);
	case OPT_SYSFS:
		return set_str(&c->sysfs_root, v);
	case OPT_PROCFS:
		return set_str(&c->procfs_root, v);
	case OPT_CONTAINER_LOGS:
		return set_str(&c->container_logs, v);
	case OPT_STATE:
		return set_str(&c->state_file, v);
	case OPT_USER:
		return set_str(&c->user, v);
	case OPT_NVML:
		return set_str(&c->nvml_library, v);
	case OPT_CONFIG:
		return set_str(&c->config_file, v);
	case OPT_INTERVAL:
		if (parse_seconds(v, &x) < 0 || x < JPUD_MIN_INTERVAL) {
			why = "seconds, at least 1 (finer samples would make the daemon an "
			      "energy side channel, CVE-2020-8694)";
			break;
		}
		c->interval_usec = x;
		return 0;
	case OPT_RATE:
		if (parse_uint(v, 1, 1000000, &x) < 0) {
			why = "requests a second per caller, 1-1000000";
			break;
		}
		c->rate_per_sec = (unsigned)x;
		return 0;
	case OPT_BURST:
		if (parse_uint(v, 1, 1000000, &x) < 0) {
			why = "requests at once per caller, 1-1000000";
			break;
		}
		c->rate_burst = (unsigned)x;
		return 0;
	case OPT_TIMEOUT:
		if (parse_uint(v, 1, 3600, &x) < 0) {
			why = "seconds an idle connection is kept, 1-3600";
			break;
		}
		c->timeout_sec = (unsigned)x;
		return 0;
	case OPT_ALLOW_SYSTEM:
	case OPT_PROCESS_METRICS: {
		bool b;

		if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
			b = true;
		else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
			b = false;
		else {
			why = "true or false";
			break;
		}
		if (id == OPT_ALLOW_SYSTEM)
			c->allow_system = b;
		else
			c->process_metrics = b;
		return 0;
	}
	case OPT_HISTORY:
		if (parse_uint(v, 0, 86400, &x) < 0) {
			why = "samples of history kept per user, container and tracked tree, "
			      "0-86400";
			break;
		}
		c->history_len = (unsigned)x;
		return 0;
	case OPT_DISCOVER:
		if (parse_uint(v, 1, 3600, &x) < 0) {
			why = "seconds between passes that find new users and containers, 1-3600";
			break;
		}
		c->discover_sec = (unsigned)x;
		return 0;
	case OPT_LOG_LEVEL:
		if (!strcmp(v, "error"))
			c->log_level = JPU_LOG_ERR;
		else if (!strcmp(v, "warning"))
			c->log_level = JPU_LOG_WARNING;
		else if (!strcmp(v, "info"))
			c->log_level = JPU_LOG_INFO;
		else if (!strcmp(v, "debug"))
			c->log_level = JPU_LOG_DEBUG;
		else {
			why = "error, warning, info or debug";
			break;
		}
		return 0;
	case OPT_COUNTRY:
		if (strlen(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z') {
			why = "an ISO 3166-1 alpha-2 code in capitals, such as FR";
			break;
		}
		return set_str(&c->country, v);
	case OPT_INTENSITY:
		if (parse_uint(v, 1, 5000, &x) < 0) {
			why = "grams CO2e per kWh, 1-5000";
			break;
		}
		c->intensity_mg_per_kwh = (uint32_t)(x * 1000);
		return 0;
	default:
		why = "unknown setting";
		break;
	}
	fprintf(err, "jpud: %s %s: %s\n", name, v, why);
	return -EINVAL;
}

static int by_name(const char *key)
{
	for (const struct option *o = longopts; o->name; o++)
		if (!strcmp(o->name, key) && o->has_arg == required_argument &&
		    o->val != OPT_CONFIG)
			return o->val;
	return -1;
}

/* `key = value` lines; '#' starts a comment line; blank lines are fine. */
static int load_file(struct jpud_config *c, const char *path, FILE *err)
{
	char line[1024];
	unsigned no = 0;
	FILE *f = fopen(path, "re");
	int r = 0;

	if (!f) {
		fprintf(err, "jpud: --config %s: %s\n", path, strerror(errno));
		return -EINVAL;
	}
	while (fgets(line, sizeof line, f)) {
		char *k = line, *eq, *v, *end;
		char name[1200];
		int id;

		no++;
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(err, "jpud: %s:%u: line too long\n", path, no);
			r = -EINVAL;
			break;
		}
		line[strcspn(line, "\n")] = '\0';
		while (*k == ' ' || *k == '\t')
			k++;
		if (*k == '\0' || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			fprintf(err, "jpud: %s:%u: expected key = value\n", path, no);
			r = -EINVAL;
			break;
		}
		end = eq;
		while (end > k && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = '\0';
		v = eq + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		end = v + strlen(v);
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = '\0';
		id = by_name(k);
		snprintf(name, sizeof name, "%.100s:%u: %.1000s", path, no, k);
		if (id < 0) {
			fprintf(err, "jpud: %s: unknown setting\n", name);
			r = -EINVAL;
			break;
		}
		r = apply(c, id, name, v, err);
		if (r < 0)
			break;
	}
	fclose(f);
	return r;
}

static int defaults(struct jpud_config *c)
{
	memset(c, 0, sizeof *c);
	c->interval_usec = JPUD_MIN_INTERVAL;
	c->rate_per_sec = 5;
	c->rate_burst = 20;
	c->timeout_sec = 10;
	c->allow_system = true;
	c->history_len = 300; /* five minutes at 1 s: what a panel plots */
	c->discover_sec = 10;
	c->log_level = JPU_LOG_INFO;
	if (set_str(&c->config_file, "") < 0 || set_str(&c->socket_path, JPUD_DEFAULT_SOCKET) < 0 ||
	    set_str(&c->listen, JPUD_DEFAULT_LISTEN) < 0 || set_str(&c->sysfs_root, "/sys") < 0 ||
	    set_str(&c->procfs_root, "/proc") < 0 ||
	    set_str(&c->container_logs, "/var/log/containers") < 0 ||
	    set_str(&c->state_file, JPUD_DEFAULT_STATE) < 0 || set_str(&c->user, "jpud") < 0 ||
	    set_str(&c->country, "") < 0)
		return -ENOMEM;
	return 0;
}

int jpud_config_load(struct jpud_config *c, int argc, char **argv, FILE *err)
{
	int opt, r;

	r = defaults(c);
	if (r < 0)
		goto fail;
	/* the file first, wherever --config stands, so flags override it */
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (opt == OPT_CONFIG && set_str(&c->config_file, optarg) < 0)
			return -ENOMEM;
	if (*c->config_file && (r = load_file(c, c->config_file, err)) < 0)
		goto fail;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			fputs(usage, stdout);
			jpud_config_free(c);
			return 1;
		}
		if (opt == OPT_VERSION) {
			printf("jpud %s\n", jpu_version());
			jpud_config_free(c);
			return 1;
		}
		if (opt == '?' || opt == ':') {
			fprintf(err, "jpud: %s: unknown option or missing value\n%s",
			        argv[optind - 1], usage);
			r = -EINVAL;
			goto fail;
		}
		if (opt == OPT_CONFIG)
			continue;
		for (const struct option *o = longopts; o->name; o++)
			if (o->val == opt) {
				char name[64];

				snprintf(name, sizeof name, "--%s", o->name);
				r = apply(c, opt, name, optarg, err);
				break;
			}
		if (r < 0)
			goto fail;
	}
	if (optind < argc) {
		fprintf(err, "jpud: unexpected argument %s\n%s", argv[optind], usage);
		r = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	jpud_config_free(c);
	return r < 0 ? r : -EINVAL;
}

void jpud_config_free(struct jpud_config *c)
{
	free(c->config_file);
	free(c->socket_path);
	free(c->listen);
	free(c->sysfs_root);
	free(c->procfs_root);
	free(c->container_logs);
	free(c->nvml_library);
	free(c->state_file);
	free(c->user);
	free(c->country);
	memset(c, 0, sizeof *c);
}
