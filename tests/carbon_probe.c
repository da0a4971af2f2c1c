/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Drives lib/carbon for tests/test_carbon_http.py:
 *
 *   carbon_probe [--provider P] [--country CC] [--postcode X] [--token T]
 *                [--url NAME=URL]... [--timeout-ms N] [--constant MG] ACTION...
 *
 * ACTION is one of
 *   refresh         jpu_carbon_refresh_now()     -> {"refresh": rc}
 *   current[+S]     jpu_carbon_current(now + S s) -> {"rc":..,"mg_per_kwh":..,...}
 *   sleep:S         wait S seconds (fractions allowed)
 *   start           start the fetch thread       -> {"start": rc}
 *   set-token:T     jpu_carbon_set_token()       -> {"set_token": rc}
 * and prints one JSON object per line on stdout; log lines go to stderr.
 * Exit 0, or 2 on a usage error or when jpu_carbon_new() fails.
 * `carbon_probe --features` prints {"net":true|false}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carbon/carbon.h"

static void log_stderr(int level, const char *msg, void *userdata)
{
	fprintf(stderr, "<%d> %s\n", level, msg);
}

static double number(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0)) {
		fprintf(stderr, "carbon_probe: bad number \"%s\"\n", s);
		exit(2);
	}
	return v;
}

static void print_intensity(int rc, const struct jpu_intensity *v)
{
	if (rc < 0) {
		printf("{\"rc\":%d}\n", rc);
		return;
	}
	printf("{\"rc\":%d,\"mg_per_kwh\":%u,\"source\":\"%s\",\"zone\":\"%s\",\"basis\":\"%s\","
	       "\"data_t_usec\":%llu,\"stale\":%s,\"estimated\":%s}\n",
	       rc, v->mg_per_kwh, v->source, v->zone, v->basis, (unsigned long long)v->data_t_usec,
	       v->stale ? "true" : "false", v->estimated ? "true" : "false");
}

int main(int argc, char **argv)
{
	const struct jpu_logger log = {.fn = log_stderr};
	struct jpu_carbon_opts o = {.sz = sizeof o, .log = &log};
	struct jpu_carbon *c = NULL;
	unsigned nurl = 0;
	int i, r;

	if (argc == 2 && strcmp(argv[1], "--features") == 0) {
		/* whether the live providers are built in (libcurl + jansson) */
		printf("{\"net\":%s}\n", JPU_HAVE_NET_CARBON ? "true" : "false");
		return 0;
	}
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val) {
			fprintf(stderr, "carbon_probe: %s needs a value\n", opt);
			return 2;
		}
		if (strcmp(opt, "--provider") == 0)
			o.provider = val;
		else if (strcmp(opt, "--country") == 0)
			o.country = val;
		else if (strcmp(opt, "--postcode") == 0)
			o.postcode = val;
		else if (strcmp(opt, "--token") == 0)
			o.emaps_token = val;
		else if (strcmp(opt, "--url") == 0 && nurl < JPU_ARRAY_SIZE(o.base_url))
			o.base_url[nurl++] = val;
		else if (strcmp(opt, "--timeout-ms") == 0)
			o.timeout_usec = (uint64_t)(number(val) * 1000.0);
		else if (strcmp(opt, "--constant") == 0)
			o.constant_mg_per_kwh = (uint32_t)number(val);
		else {
			fprintf(stderr, "carbon_probe: unknown option %s\n", opt);
			return 2;
		}
	}
	r = jpu_carbon_new(&o, &c);
	if (r < 0) {
		printf("{\"new\":%d}\n", r);
		return 2;
	}
	printf("{\"chain\":\"%s\"}\n", jpu_carbon_chain(c));
	for (; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "refresh") == 0) {
			printf("{\"refresh\":%d}\n", jpu_carbon_refresh_now(c));
		} else if (strncmp(a, "current", 7) == 0) {
			struct jpu_intensity v;
			uint64_t now = jpu_now_real_usec();

			if (a[7] == '+')
				now += (uint64_t)(number(a + 8) * 1e6);
			else if (a[7]) {
				fprintf(stderr, "carbon_probe: bad action %s\n", a);
				return 2;
			}
			r = jpu_carbon_current(c, now, &v);
			print_intensity(r, &v);
		} else if (strncmp(a, "sleep:", 6) == 0) {
			double s = number(a + 6);
			struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		} else if (strcmp(a, "start") == 0) {
			printf("{\"start\":%d}\n", jpu_carbon_start(c));
		} else if (strncmp(a, "set-token:", 10) == 0) {
			printf("{\"set_token\":%d}\n", jpu_carbon_set_token(c, a + 10));
		} else {
			fprintf(stderr, "carbon_probe: bad action %s\n", a);
			return 2;
		}
		fflush(stdout);
	}
	jpu_carbon_free(c);
	return 0;
}
