/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Grid carbon intensity: a chain of providers (RTE eCO2mix, GB NESO Carbon
 * Intensity, Electricity Maps, the country table, a constant), one cache per
 * (provider, zone), a background fetch thread, and the integer integration
 * of emissions. Internal to libjpu (see docs/carbon.md for the user view).
 *
 * Threading: jpu_carbon_current() never blocks on the network; fetches run
 * on the thread started by jpu_carbon_start() or inside
 * jpu_carbon_refresh_now(). Every function may be called from any thread.
 */
#ifndef JPU_CARBON_H
#define JPU_CARBON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jpu-config.h"
#include "../internal.h"

/* A provider's HTTP body larger than this is refused (-EFBIG): the answers
 * we read are a few kB. */
#define JPU_CARBON_MAX_BODY (1024u * 1024u)
/* A cached value is served (marked stale) up to this long after its last
 * successful fetch; after that the chain falls to the next provider. */
#define JPU_CARBON_STALE_MAX_USEC (6ULL * 3600ULL * JPU_USEC_PER_SEC)
/* Default of the constant provider: 475 gCO2/kWh, the IEA world average
 * for 2018 (IEA Global Energy & CO2 Status Report 2019), which the
 * original jupyter-power-usage extension used as its default factor. */
#define JPU_CARBON_DEFAULT_MG_PER_KWH 475000u
/* No grid emits more than this (lignite plants are about 1,100-1,200 g/kWh);
 * a larger figure is a unit or parse error. */
#define JPU_CARBON_MAX_MG_PER_KWH 3000000u

struct jpu_intensity {
	uint32_t mg_per_kwh;  /* gCO2eq/kWh x 1000 */
	char source[16];      /* "rte", "gb", "emaps", "table", "constant" */
	char zone[16];        /* "FR", "GB", "GB-RG10", "DE", "World" */
	char basis[16];       /* "direct" (combustion CO2) or "lifecycle" (CO2eq) */
	uint64_t data_t_usec; /* CLOCK_REALTIME of the datum (provider's time), 0 = none */
	bool stale;           /* older than the cadence because fetches failed (served up to 6 h) */
	bool estimated;       /* the provider says estimated, or a forecast instead of actual */
};

struct jpu_carbon_opts {
	size_t sz; /* sizeof(struct jpu_carbon_opts) */
	/* "auto" (default, NULL too), "rte", "gb", "emaps", "table", "constant",
	 * or a comma chain "gb,table". A chain that does not end with table or
	 * constant gets "table" appended: current() always has a value. */
	const char *provider;
	const char *country;          /* ISO 3166-1 alpha-2 ("FR"); NULL = none (table: World) */
	const char *postcode;         /* GB outward postcode ("RG10") for regional NESO data */
	uint32_t constant_mg_per_kwh; /* 0 = JPU_CARBON_DEFAULT_MG_PER_KWH */
	const char *emaps_token;      /* NULL = none; copied; never logged */
	/* "name=url" overrides of a provider's base URL ("rte=http://127.0.0.1:8080");
	 * unused slots NULL. */
	const char *base_url[8];
	uint64_t timeout_usec;        /* per HTTP request, 0 = 10 s */
	const struct jpu_logger *log; /* copied; NULL = silent */
};

struct jpu_carbon;

/* Validate the options and build the chain. -EINVAL naming the bad option
 * in the log; -ENOMEM. Does not fetch. */
int jpu_carbon_new(const struct jpu_carbon_opts *o, struct jpu_carbon **ret);
/* Stops the fetch thread (aborting a fetch in flight). NULL-safe, returns NULL. */
struct jpu_carbon *jpu_carbon_free(struct jpu_carbon *c);
/* Start the background fetch thread. Idempotent. */
int jpu_carbon_start(struct jpu_carbon *c);
/* The best valid value at now_real_usec (CLOCK_REALTIME): the first provider
 * of the chain with a value fetched less than 6 h before; the table or the
 * constant otherwise. Never blocks on the network. */
int jpu_carbon_current(struct jpu_carbon *c, uint64_t now_real_usec, struct jpu_intensity *ret);
/* Synchronously fetch every due provider, walking the chain until one has a
 * usable value. Returns the number of successful fetches (0 when nothing was
 * due), or the -errno of the last failure when every attempted fetch failed:
 * -ETIMEDOUT, -ECONNREFUSED, -EAGAIN (429/5xx, backing off), -EACCES
 * (401/403), -EBADMSG (unexpected body), -EFBIG (body over the cap). */
int jpu_carbon_refresh_now(struct jpu_carbon *c);
/* Replace the Electricity Maps token (NULL = none): a provider blocked by a
 * 401/403 is retried with the new token. */
int jpu_carbon_set_token(struct jpu_carbon *c, const char *token);
/* The chain as built, e.g. "rte,emaps,table" (borrowed, lives with c). */
const char *jpu_carbon_chain(const struct jpu_carbon *c);

/* Emissions of an energy quantum:
 * co2_ug += energy_uj * mg_per_kwh * pue / 3.6e9, in integers, the remainder
 * carried to the next call so that nothing is lost to rounding.
 * pue_milli 0 means 1000 (PUE 1.0). Saturates at UINT64_MAX. */
__extension__ typedef unsigned __int128 jpu_u128;
struct jpu_co2_acc {
	uint64_t co2_ug;
	jpu_u128 rem; /* numerator remainder, < 3.6e12 */
};
void jpu_co2_add(struct jpu_co2_acc *acc, uint64_t energy_uj, uint32_t mg_per_kwh,
                 uint32_t pue_milli);

/* ---- parsers: pure functions, tested and fuzzed ------------------------ */

/* All return 0 and fill mg_per_kwh, data_t_usec, estimated, basis (and the
 * zone where the body names it); -EBADMSG on malformed JSON or an unexpected
 * shape; -ENODATA on a well-formed answer with no usable value (null
 * intensity, empty result); -ERANGE on an impossible value; -EPROTO on an
 * API error object (read it with jpu_carbon_parse_error()). `ret` is
 * written only on success. */
/* RTE eCO2mix via ODRE Explore v2.1 records: the first result whose
 * taux_co2 is not null (null rows are skipped, never read as 0). */
int jpu_carbon_parse_rte(const char *body, size_t len, struct jpu_intensity *ret);
/* NESO Carbon Intensity: national /intensity (actual, else forecast) and
 * regional /regional/postcode/X (forecast only), told apart by shape. */
int jpu_carbon_parse_gb(const char *body, size_t len, struct jpu_intensity *ret);
/* Electricity Maps /v4 (and legacy /v3) /carbon-intensity/latest. */
int jpu_carbon_parse_emaps(const char *body, size_t len, struct jpu_intensity *ret);
/* The human message of an API error body ({"error":{"code","message"}} or
 * {"error":..,"message":..}) into buf. 0, or -ENOENT when there is none. */
int jpu_carbon_parse_error(const char *body, size_t len, char *buf, size_t size);
/* ISO 8601 "YYYY-MM-DDTHH:MM[:SS[.frac]](Z|+HH:MM|-HH:MM)" to CLOCK_REALTIME
 * µs. -EINVAL on anything else, -ERANGE before 1970. */
int jpu_carbon_parse_time(const char *s, uint64_t *ret_usec);

/* ---- providers: one const ops table per file (STYLE rule 5) ------------- */

struct jpu_carbon_provider_ops {
	const char *name;
	bool network;     /* false: local value, never fetched */
	bool needs_token; /* sends the Electricity Maps token */
	const char *default_base_url;
	uint64_t cadence_usec; /* how often the data changes; 0 = never */
	const char *basis;     /* default basis of the provider's figures */
	/* The zone served for these options into ret (size >= 16). -EINVAL,
	 * logging which option is wrong, when the options do not fit. */
	int (*zone)(const struct jpu_carbon_opts *o, const struct jpu_logger *log, char *ret,
	            size_t size);
	/* Network: path and query appended to the base URL for zone. */
	int (*path)(const char *zone, char *buf, size_t size);
	/* Network, optional: the path of an older API version, tried when the
	 * current one refuses (HTTP 401, 403, 404 or 410) and kept while it
	 * answers; the current one is tried again after any failure of the
	 * older one or a new token. NULL: no older version. */
	int (*legacy_path)(const char *zone, char *buf, size_t size);
	int (*parse)(const char *body, size_t len, struct jpu_intensity *ret);
	/* Local: the value for zone, without I/O. */
	int (*local)(const struct jpu_carbon_opts *o, const char *zone, struct jpu_intensity *ret);
};

extern const struct jpu_carbon_provider_ops jpu_carbon_rte;
extern const struct jpu_carbon_provider_ops jpu_carbon_gb;
extern const struct jpu_carbon_provider_ops jpu_carbon_emaps;
extern const struct jpu_carbon_provider_ops jpu_carbon_table;
extern const struct jpu_carbon_provider_ops jpu_carbon_constant;

/* The country table row for iso2 (case-insensitive), or the World row when
 * iso2 is NULL or unknown. Never NULL. */
const struct jpu_country_row *jpu_carbon_table_lookup(const char *iso2, bool *ret_found);

/* Helpers shared by the provider files (carbon.c). */
/* Copy a NUL-terminated string, truncating. */
void jpu_carbon_strlcpy(char *dst, const char *src, size_t size);
/* Whether s is an ISO 3166-1 alpha-2 code (two ASCII letters). */
bool jpu_carbon_is_iso2(const char *s);

#if JPU_HAVE_NET_CARBON
#include <jansson.h>
/* A non-negative finite JSON number below JPU_CARBON_MAX_MG_PER_KWH / 1000
 * g/kWh into mg/kWh. -ENODATA when absent or null, -EBADMSG when not a
 * number, -ERANGE when out of range. */
int jpu_carbon_json_g_per_kwh(const json_t *v, uint32_t *ret_mg);
/* json_loadb with the flags every parser uses; NULL on error. */
json_t *jpu_carbon_json_load(const char *body, size_t len);
#endif

#endif /* JPU_CARBON_H */
