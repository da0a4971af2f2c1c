/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Carbon intensity: the provider parsers on the recorded bodies in
 * fixtures/provider-responses (and on broken ones), the time parser, the
 * country table and the constant, option validation and chain building,
 * and the integer integration of emissions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "carbon/carbon.h"

static char logbuf[8192];

static void collect(int level, const char *msg, void *userdata)
{
	size_t used = strlen(logbuf);

	snprintf(logbuf + used, sizeof logbuf - used, "%s\n", msg);
}

static const struct jpu_logger test_log = {.fn = collect};

#if JPU_HAVE_NET_CARBON
/* Whole fixture file into a malloc'd buffer (NUL-terminated). */
static char *load(const char *name, size_t *ret_len)
{
	const char *dir = getenv("JPU_FIXTURES");
	char path[1024];
	char *buf = malloc(1 << 20);
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "%s/provider-responses/%s", dir ? dir : "tests/fixtures", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(2);
	}
	n = read(fd, buf, (1 << 20) - 1);
	close(fd);
	if (n < 0)
		exit(2);
	buf[n] = '\0';
	*ret_len = (size_t)n;
	return buf;
}

#endif

static uint64_t utc_usec(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = s};

	return (uint64_t)timegm(&tm) * 1000000ULL;
}

static void test_time(void)
{
	uint64_t t = 0;

	CHECK_EQ_INT(jpu_carbon_parse_time("2023-09-12T16:15:00+00:00", &t), 0);
	CHECK_EQ_U64(t, utc_usec(2023, 9, 12, 16, 15, 0));
	CHECK_EQ_INT(jpu_carbon_parse_time("2023-09-12T18:15:00+02:00", &t), 0);
	CHECK_EQ_U64(t, utc_usec(2023, 9, 12, 16, 15, 0));
	CHECK_EQ_INT(jpu_carbon_parse_time("2018-01-20T12:00Z", &t), 0);
	CHECK_EQ_U64(t, utc_usec(2018, 1, 20, 12, 0, 0));
	CHECK_EQ_INT(jpu_carbon_parse_time("2023-03-20T17:00:00.250Z", &t), 0);
	CHECK_EQ_U64(t, utc_usec(2023, 3, 20, 17, 0, 0) + 250000);
	CHECK_EQ_INT(jpu_carbon_parse_time("2024-02-29T00:00:00Z", &t), 0);
	CHECK_EQ_U64(t, utc_usec(2024, 2, 29, 0, 0, 0));
	/* broken or ambiguous times */
	CHECK_EQ_INT(jpu_carbon_parse_time("2023-02-29T00:00:00Z", &t), -EINVAL);
	CHECK_EQ_INT(jpu_carbon_parse_time("2023-09-12T16:15:00", &t), -EINVAL);
	CHECK_EQ_INT(jpu_carbon_parse_time("2023-13-12T16:15:00Z", &t), -EINVAL);
	CHECK_EQ_INT(jpu_carbon_parse_time("2023-09-12T16:15:00Zjunk", &t), -EINVAL);
	CHECK_EQ_INT(jpu_carbon_parse_time("2023-9-12T16:15:00Z", &t), -EINVAL);
	CHECK_EQ_INT(jpu_carbon_parse_time("", &t), -EINVAL);
	CHECK_EQ_INT(jpu_carbon_parse_time("1969-12-31T23:59:59Z", &t), -ERANGE);
}

#if JPU_HAVE_NET_CARBON
typedef int (*parse_fn)(const char *, size_t, struct jpu_intensity *);

/* No prefix of a body parses: truncated JSON is never a value. */
static void check_truncations(parse_fn fn, const char *body, size_t len)
{
	struct jpu_intensity v;
	size_t cut, bad = 0, end = len;

	while (end > 0 && (body[end - 1] == '\n' || body[end - 1] == ' '))
		end--;
	for (cut = 0; cut < end; cut++)
		if (fn(body, cut, &v) == 0)
			bad++;
	CHECK_EQ_U64(bad, 0);
}

static void test_rte(void)
{
	struct jpu_intensity v;
	size_t len;
	char *b = load("odre_v21_eco2mix_national_tr_latest.json", &len);
	char msg[256];

	memset(&v, 0xa5, sizeof v);
	CHECK_EQ_INT(jpu_carbon_parse_rte(b, len, &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 47000);
	CHECK_EQ_U64(v.data_t_usec, utc_usec(2023, 9, 12, 16, 15, 0));
	CHECK_STR(v.source, "rte");
	CHECK_STR(v.zone, "FR");
	CHECK_STR(v.basis, "direct");
	CHECK(!v.estimated && !v.stale);
	check_truncations(jpu_carbon_parse_rte, b, len);
	free(b);

	/* a forecast-only row has taux_co2 null: skipped, never read as 0 */
	b = load("odre_v21_eco2mix_national_tr_forecast_only_row.json", &len);
	v.mg_per_kwh = 12345;
	CHECK_EQ_INT(jpu_carbon_parse_rte(b, len, &v), -ENODATA);
	CHECK_EQ_U64(v.mg_per_kwh, 12345); /* untouched on failure */
	free(b);

	/* null row first, then a measured one: the measured one */
	static const char mixed[] =
	        "{\"results\":[{\"date_heure\":\"2025-01-06T00:15:00+00:00\",\"taux_co2\":null},"
	        "{\"date_heure\":\"2025-01-06T00:00:00+00:00\",\"taux_co2\":21.4}]}";
	CHECK_EQ_INT(jpu_carbon_parse_rte(mixed, strlen(mixed), &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 21400);
	CHECK_EQ_U64(v.data_t_usec, utc_usec(2025, 1, 6, 0, 0, 0));

	static const char empty[] = "{\"total_count\":0,\"results\":[]}";
	CHECK_EQ_INT(jpu_carbon_parse_rte(empty, strlen(empty), &v), -ENODATA);
	static const char neg[] = "{\"results\":[{\"date_heure\":\"2025-01-06T00:00:00Z\","
	                          "\"taux_co2\":-5}]}";
	CHECK_EQ_INT(jpu_carbon_parse_rte(neg, strlen(neg), &v), -ERANGE);
	static const char huge[] = "{\"results\":[{\"date_heure\":\"2025-01-06T00:00:00Z\","
	                           "\"taux_co2\":1e300}]}";
	CHECK_EQ_INT(jpu_carbon_parse_rte(huge, strlen(huge), &v), -ERANGE);
	static const char str[] = "{\"results\":[{\"date_heure\":\"2025-01-06T00:00:00Z\","
	                          "\"taux_co2\":\"47\"}]}";
	CHECK_EQ_INT(jpu_carbon_parse_rte(str, strlen(str), &v), -EBADMSG);
	static const char notime[] = "{\"results\":[{\"taux_co2\":47}]}";
	CHECK_EQ_INT(jpu_carbon_parse_rte(notime, strlen(notime), &v), -EBADMSG);
	static const char err[] = "{\"error_code\":\"ODSQLError\",\"message\":\"bad where\"}";
	CHECK_EQ_INT(jpu_carbon_parse_rte(err, strlen(err), &v), -EPROTO);
	CHECK_EQ_INT(jpu_carbon_parse_error(err, strlen(err), msg, sizeof msg), 0);
	CHECK_STR(msg, "ODSQLError: bad where");
}

static void test_gb(void)
{
	struct jpu_intensity v;
	char msg[256];
	size_t len;
	char *b = load("uk_intensity.json", &len);

	CHECK_EQ_INT(jpu_carbon_parse_gb(b, len, &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 263000); /* actual, not the forecast 266 */
	CHECK_EQ_U64(v.data_t_usec, utc_usec(2018, 1, 20, 12, 0, 0));
	CHECK_STR(v.source, "gb");
	CHECK_STR(v.zone, "GB");
	CHECK_STR(v.basis, "direct");
	CHECK(!v.estimated);
	check_truncations(jpu_carbon_parse_gb, b, len);
	free(b);

	/* no actual yet: the forecast, marked estimated */
	static const char fc[] = "{\"data\":[{\"from\":\"2018-01-20T12:30Z\",\"to\":"
	                         "\"2018-01-20T13:00Z\",\"intensity\":{\"forecast\":250,"
	                         "\"actual\":null,\"index\":\"moderate\"}}]}";
	CHECK_EQ_INT(jpu_carbon_parse_gb(fc, strlen(fc), &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 250000);
	CHECK(v.estimated);

	b = load("uk_regional_postcode.json", &len);
	CHECK_EQ_INT(jpu_carbon_parse_gb(b, len, &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 266000);
	CHECK_STR(v.zone, "GB-RG10");
	CHECK(v.estimated);
	check_truncations(jpu_carbon_parse_gb, b, len);
	free(b);

	b = load("uk_error_400.json", &len);
	CHECK_EQ_INT(jpu_carbon_parse_gb(b, len, &v), -EPROTO);
	CHECK_EQ_INT(jpu_carbon_parse_error(b, len, msg, sizeof msg), 0);
	CHECK_STR(msg, "400 Bad Request: string");
	free(b);

	static const char none[] = "{\"data\":[{\"from\":\"2018-01-20T12:30Z\","
	                           "\"intensity\":{\"forecast\":null,\"actual\":null}}]}";
	CHECK_EQ_INT(jpu_carbon_parse_gb(none, strlen(none), &v), -ENODATA);
	static const char empty[] = "{\"data\":[]}";
	CHECK_EQ_INT(jpu_carbon_parse_gb(empty, strlen(empty), &v), -ENODATA);
}

static void test_emaps(void)
{
	struct jpu_intensity v;
	char msg[256];
	size_t len;
	char *b = load("emaps_v3_carbon_intensity_latest.json", &len);

	CHECK_EQ_INT(jpu_carbon_parse_emaps(b, len, &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 83000);
	CHECK_EQ_U64(v.data_t_usec, utc_usec(2023, 3, 20, 17, 0, 0));
	CHECK_STR(v.source, "emaps");
	CHECK_STR(v.zone, "FR");
	CHECK_STR(v.basis, "lifecycle");
	CHECK(v.estimated);
	check_truncations(jpu_carbon_parse_emaps, b, len);
	free(b);

	b = load("emaps_error_401.json", &len);
	CHECK_EQ_INT(jpu_carbon_parse_emaps(b, len, &v), -EPROTO);
	CHECK_EQ_INT(jpu_carbon_parse_error(b, len, msg, sizeof msg), 0);
	CHECK(strstr(msg, "You do not have access") != NULL);
	free(b);

	b = load("emaps_v3_zones_with_token.json", &len);
	CHECK(jpu_carbon_parse_emaps(b, len, &v) < 0);
	free(b);

	static const char nul[] = "{\"zone\":\"FR\",\"carbonIntensity\":null,"
	                          "\"datetime\":\"2023-03-20T17:00:00.000Z\"}";
	CHECK_EQ_INT(jpu_carbon_parse_emaps(nul, strlen(nul), &v), -ENODATA);
	static const char direct[] = "{\"zone\":\"DE\",\"carbonIntensity\":300.5,"
	                             "\"datetime\":\"2023-03-20T17:00:00.000Z\","
	                             "\"emissionFactorType\":\"direct\",\"isEstimated\":false}";
	CHECK_EQ_INT(jpu_carbon_parse_emaps(direct, strlen(direct), &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 300500);
	CHECK_STR(v.basis, "direct");
	CHECK(!v.estimated);
}

/* The v4 body (documented shape, fixtures/provider-responses/README.md):
 * the v3 fields plus temporalGranularity, which must be a string. */
static void test_emaps_v4(void)
{
	struct jpu_intensity v;
	size_t len;
	char *b = load("emaps_v4_carbon_intensity_latest.json", &len);

	memset(&v, 0, sizeof v);
	CHECK_EQ_INT(jpu_carbon_parse_emaps(b, len, &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 41000);
	CHECK_EQ_U64(v.data_t_usec, utc_usec(2026, 6, 24, 10, 0, 0));
	CHECK_STR(v.zone, "FR");
	CHECK_STR(v.basis, "lifecycle");
	CHECK(!v.estimated);
	check_truncations(jpu_carbon_parse_emaps, b, len);
	free(b);

	static const char fine[] = "{\"zone\":\"FR\",\"carbonIntensity\":41,"
	                           "\"datetime\":\"2026-06-24T10:00:00.000Z\","
	                           "\"temporalGranularity\":\"5_minutes\"}";
	CHECK_EQ_INT(jpu_carbon_parse_emaps(fine, strlen(fine), &v), 0);
	static const char bad[] = "{\"zone\":\"FR\",\"carbonIntensity\":41,"
	                          "\"datetime\":\"2026-06-24T10:00:00.000Z\","
	                          "\"temporalGranularity\":3600}";
	CHECK_EQ_INT(jpu_carbon_parse_emaps(bad, strlen(bad), &v), -EBADMSG);
}

/* Bodies that are not an intensity of the provider: always rejected. */
static void test_rejects(void)
{
	static const parse_fn fns[] = {jpu_carbon_parse_rte, jpu_carbon_parse_gb,
	                               jpu_carbon_parse_emaps};
	static const char *const garbage[] = {"",
	                                      "null",
	                                      "[]",
	                                      "{}",
	                                      "47",
	                                      "\"47\"",
	                                      "{\"results\":",
	                                      "<html>502 Bad Gateway</html>",
	                                      "{\"data\":{}}",
	                                      "{\"a\":1,\"a\":2}"};
	const char *others[] = {"watttime_v3_signal_index.json", "energidataservice_co2emis.json",
	                        "emaps_v3_zones_with_token.json"};
	struct jpu_intensity v;
	size_t i, j, len;

	for (i = 0; i < JPU_ARRAY_SIZE(fns); i++) {
		for (j = 0; j < JPU_ARRAY_SIZE(garbage); j++)
			CHECK(fns[i](garbage[j], strlen(garbage[j]), &v) < 0);
		/* WattTime's value is a percentile (96.0), not g/kWh */
		for (j = 0; j < JPU_ARRAY_SIZE(others); j++) {
			char *b = load(others[j], &len);

			CHECK(fns[i](b, len, &v) < 0);
			free(b);
		}
		CHECK(fns[i](NULL, 0, &v) < 0);
	}
	/* each provider's body is not another provider's */
	{
		char *b = load("uk_intensity.json", &len);

		CHECK(jpu_carbon_parse_rte(b, len, &v) < 0);
		CHECK(jpu_carbon_parse_emaps(b, len, &v) < 0);
		free(b);
	}
}
#endif

static int new_carbon(struct jpu_carbon_opts *o, struct jpu_carbon **c)
{
	logbuf[0] = '\0';
	o->sz = sizeof *o;
	o->log = &test_log;
	return jpu_carbon_new(o, c);
}

static void test_table_constant(void)
{
	const uint64_t now = utc_usec(2026, 1, 1, 0, 0, 0);
	struct jpu_carbon_opts o = {0};
	struct jpu_carbon *c = NULL;
	struct jpu_intensity v;
	bool found;

	CHECK_EQ_U64(jpu_carbon_table_lookup("FR", &found)->mg_per_kwh, 44180);
	CHECK(found);
	CHECK_EQ_U64(jpu_carbon_table_lookup("de", &found)->mg_per_kwh, 344140);
	CHECK_EQ_U64(jpu_carbon_table_lookup("XX", &found)->mg_per_kwh, 473010);
	CHECK(!found);
	CHECK_STR(jpu_carbon_table_lookup(NULL, &found)->name, "World");

	o.provider = "table";
	o.country = "fr";
	CHECK_EQ_INT(new_carbon(&o, &c), 0);
	CHECK_EQ_INT(jpu_carbon_refresh_now(c), 0);
	CHECK_EQ_INT(jpu_carbon_current(c, now, &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 44180);
	CHECK_STR(v.source, "table");
	CHECK_STR(v.zone, "FR");
	CHECK_STR(v.basis, "lifecycle");
	CHECK_EQ_U64(v.data_t_usec, utc_usec(2024, 1, 1, 0, 0, 0));
	c = jpu_carbon_free(c);

	o.country = "XX";
	CHECK_EQ_INT(new_carbon(&o, &c), 0);
	CHECK(strstr(logbuf, "XX") != NULL); /* says it fell back to World */
	CHECK_EQ_INT(jpu_carbon_current(c, now, &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 473010);
	CHECK_STR(v.zone, "World");
	c = jpu_carbon_free(c);

	o.country = NULL;
	CHECK_EQ_INT(new_carbon(&o, &c), 0);
	CHECK_EQ_INT(jpu_carbon_current(c, now, &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 473010);
	c = jpu_carbon_free(c);

	o.provider = "constant";
	CHECK_EQ_INT(new_carbon(&o, &c), 0);
	CHECK_STR(jpu_carbon_chain(c), "constant");
	CHECK_EQ_INT(jpu_carbon_current(c, now, &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 475000);
	CHECK_STR(v.source, "constant");
	c = jpu_carbon_free(c);

	o.constant_mg_per_kwh = 100000;
	CHECK_EQ_INT(new_carbon(&o, &c), 0);
	CHECK_EQ_INT(jpu_carbon_current(c, now, &v), 0);
	CHECK_EQ_U64(v.mg_per_kwh, 100000);
	c = jpu_carbon_free(c);
}

/* Bad options: -EINVAL and a log line that names the culprit. */
static void test_bad_opts(void)
{
	struct jpu_carbon *c = NULL;
	struct jpu_carbon_opts o;

	memset(&o, 0, sizeof o);
	o.provider = "bogus";
	CHECK_EQ_INT(new_carbon(&o, &c), -EINVAL);
	CHECK(strstr(logbuf, "bogus") != NULL);
	CHECK(c == NULL);

	memset(&o, 0, sizeof o);
	o.country = "FRA";
	CHECK_EQ_INT(new_carbon(&o, &c), -EINVAL);
	CHECK(strstr(logbuf, "FRA") != NULL);

	memset(&o, 0, sizeof o);
	o.provider = "constant";
	o.constant_mg_per_kwh = 475000000; /* g given as mg x 1000 twice */
	CHECK_EQ_INT(new_carbon(&o, &c), -EINVAL);
	CHECK(strstr(logbuf, "constant") != NULL);

	memset(&o, 0, sizeof o);
	o.provider = "table";
	o.base_url[0] = "foo=http://127.0.0.1:1";
	CHECK_EQ_INT(new_carbon(&o, &c), -EINVAL);
	CHECK(strstr(logbuf, "foo=") != NULL);
	o.base_url[0] = "rte=ftp://127.0.0.1:1";
	CHECK_EQ_INT(new_carbon(&o, &c), -EINVAL);
	o.base_url[0] = "rte";
	CHECK_EQ_INT(new_carbon(&o, &c), -EINVAL);

	memset(&o, 0, sizeof o);
	o.emaps_token = "abc\r\nX-Evil: 1";
	CHECK_EQ_INT(new_carbon(&o, &c), -EINVAL);
	CHECK(strstr(logbuf, "Evil") == NULL); /* never logged */

	memset(&o, 0, sizeof o);
	o.sz = 4; /* the size field guards against an older, smaller struct */
	CHECK_EQ_INT(jpu_carbon_new(&o, &c), -EINVAL);

#if JPU_HAVE_NET_CARBON
	memset(&o, 0, sizeof o);
	o.provider = "rte";
	o.country = "DE";
	CHECK_EQ_INT(new_carbon(&o, &c), -EINVAL);
	CHECK(strstr(logbuf, "rte") != NULL);

	memset(&o, 0, sizeof o);
	o.provider = "emaps";
	o.country = "FR";
	CHECK_EQ_INT(new_carbon(&o, &c), -EINVAL);
	CHECK(strstr(logbuf, "token") != NULL);

	memset(&o, 0, sizeof o);
	o.provider = "gb";
	o.postcode = "RG10 9AB";
	CHECK_EQ_INT(new_carbon(&o, &c), -EINVAL);
	CHECK(strstr(logbuf, "postcode") != NULL);
#else
	memset(&o, 0, sizeof o);
	o.provider = "rte";
	CHECK_EQ_INT(new_carbon(&o, &c), -EINVAL);
	CHECK(strstr(logbuf, "libcurl") != NULL);
#endif
}

static void test_chains(void)
{
	struct jpu_carbon_opts o;
	struct jpu_carbon *c = NULL;
	struct jpu_intensity v;

	memset(&o, 0, sizeof o);
	CHECK_EQ_INT(new_carbon(&o, &c), 0);
	CHECK_STR(jpu_carbon_chain(c), "table");
	c = jpu_carbon_free(c);
#if JPU_HAVE_NET_CARBON
	o.country = "FR";
	CHECK_EQ_INT(new_carbon(&o, &c), 0);
	CHECK_STR(jpu_carbon_chain(c), "rte,table");
	/* nothing fetched yet: current() does not block, the table answers */
	CHECK_EQ_INT(jpu_carbon_current(c, utc_usec(2026, 1, 1, 0, 0, 0), &v), 0);
	CHECK_STR(v.source, "table");
	CHECK_EQ_U64(v.mg_per_kwh, 44180);
	c = jpu_carbon_free(c);

	o.country = "gb";
	o.emaps_token = "secret-token";
	CHECK_EQ_INT(new_carbon(&o, &c), 0);
	CHECK_STR(jpu_carbon_chain(c), "gb,emaps,table");
	CHECK(strstr(logbuf, "secret-token") == NULL);
	c = jpu_carbon_free(c);

	o.provider = "gb";
	o.postcode = "rg10";
	CHECK_EQ_INT(new_carbon(&o, &c), 0);
	CHECK_STR(jpu_carbon_chain(c), "gb,table");
	c = jpu_carbon_free(c);

	o.provider = "emaps,constant";
	CHECK_EQ_INT(new_carbon(&o, &c), 0);
	CHECK_STR(jpu_carbon_chain(c), "emaps,constant");
	c = jpu_carbon_free(c);
#endif
	(void)v;
}

static void test_co2(void)
{
	struct jpu_co2_acc a = {0}, b = {0};
	uint64_t i, n = 360000000ULL; /* 3.6e8 steps of 1 µJ */

	/* 1 kWh at 475 g/kWh = 475 g */
	jpu_co2_add(&a, 3600000000000ULL, 475000, 1000);
	CHECK_EQ_U64(a.co2_ug, 475000000ULL);
	CHECK(a.rem == 0);

	/* one µJ adds 1.3e-4 µg: all of it would be lost without the carried
	 * remainder; n steps equal the one-shot value exactly */
	memset(&a, 0, sizeof a);
	for (i = 0; i < n; i++)
		jpu_co2_add(&a, 1, 475000, 1000);
	jpu_co2_add(&b, n, 475000, 1000);
	CHECK_EQ_U64(a.co2_ug, 47500);
	CHECK_EQ_U64(a.co2_ug, b.co2_ug);
	CHECK(a.rem == b.rem);

	/* intensity changes midway: 1000 s at 2.5 W under 47 g/kWh, then
	 * 1000 s under 263 g/kWh; conserved to the µg (well within 1 %) */
	memset(&a, 0, sizeof a);
	for (i = 0; i < 2000; i++)
		jpu_co2_add(&a, 2500000, i < 1000 ? 47000 : 263000, 1000);
	{
		double expect = 2.5e9 * 47.0 / 3.6e6 + 2.5e9 * 263.0 / 3.6e6; /* µg */

		CHECK_NEAR((double)a.co2_ug, expect, 1.0);
		CHECK_NEAR((double)a.co2_ug, expect, expect * 0.01);
	}

	/* PUE 1.5 and the 0 = 1.0 default */
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	jpu_co2_add(&a, 3600000000ULL, 475000, 1500);
	jpu_co2_add(&b, 3600000000ULL, 475000, 0);
	CHECK_EQ_U64(a.co2_ug, 712500);
	CHECK_EQ_U64(b.co2_ug, 475000);

	/* absurd inputs saturate instead of wrapping */
	memset(&a, 0, sizeof a);
	jpu_co2_add(&a, UINT64_MAX, UINT32_MAX, UINT32_MAX);
	jpu_co2_add(&a, UINT64_MAX, UINT32_MAX, UINT32_MAX);
	CHECK_EQ_U64(a.co2_ug, UINT64_MAX);
	CHECK(a.rem < 3600000000000ULL);
	/* zero energy or zero intensity adds nothing */
	memset(&a, 0, sizeof a);
	jpu_co2_add(&a, 0, 475000, 1000);
	jpu_co2_add(&a, 1000000, 0, 1000);
	CHECK_EQ_U64(a.co2_ug, 0);
}

int main(void)
{
	test_time();
#if JPU_HAVE_NET_CARBON
	test_rte();
	test_gb();
	test_emaps();
	test_emaps_v4();
	test_rejects();
#endif
	test_table_constant();
	test_bad_opts();
	test_chains();
	test_co2();
	return check_summary();
}
