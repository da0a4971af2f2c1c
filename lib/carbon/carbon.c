/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The carbon-intensity chain: one cache per (provider, zone), fetched at the
 * data's own cadence by a background thread (or jpu_carbon_refresh_now()),
 * served stale for up to 6 h while fetches fail, then passed over for the
 * next provider; the country table or the constant ends every chain. Also
 * the integer integration of emissions (jpu_co2_add).
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "carbon.h"

#if JPU_HAVE_NET_CARBON
#include <curl/curl.h>
#include <dlfcn.h>

/* libcurl4's soname, the same ABI since 7.16 */
#define JPU_LIBCURL_SONAME "libcurl.so.4"
#endif

#define MAX_CHAIN 8
/* First retry after a failure; doubled on each further failure up to the
 * provider's cadence. A Retry-After header overrides it. */
#define BACKOFF_MIN_USEC (30ULL * JPU_USEC_PER_SEC)
/* The fetch thread re-walks the chain at least this often. */
#define WALK_MAX_USEC (60ULL * JPU_USEC_PER_SEC)
/* A value is stale once older than its cadence plus this much slack. */
#define STALE_SLACK_USEC     (60ULL * JPU_USEC_PER_SEC)
#define DEFAULT_TIMEOUT_USEC (10ULL * JPU_USEC_PER_SEC)

/* One (provider, zone) cache. Fields below `lock` are guarded by c->lock. */
struct prov {
	const struct jpu_carbon_provider_ops *ops;
	char zone[16];
	char base_url[256];
	/* guarded by c->lock: */
	struct jpu_intensity val; /* local providers: filled once by new() */
	bool has_val;
	uint64_t ok_real_usec; /* realtime of the last successful fetch */
	uint64_t next_due_mono_usec;
	uint64_t backoff_usec;
	bool auth_blocked; /* 401/403: wait for a new token */
	bool legacy;       /* using ops->legacy_path: the current API refused */
	int last_err;      /* last failure logged, 0 after a success */
};

struct jpu_carbon {
	struct jpu_logger log;
	char *token; /* owned; never logged */
	uint64_t timeout_usec;
	struct prov provs[MAX_CHAIN];
	size_t n;
	char chain[128];
	pthread_mutex_t lock;       /* caches and token */
	pthread_mutex_t fetch_lock; /* one fetch walk at a time */
	pthread_cond_t cond;
	pthread_t thread;
	bool locks_ready, running;
	atomic_bool stopping;
};

/* ---- small helpers -------------------------------------------------------- */

void jpu_carbon_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n;

	if (size == 0)
		return;
	n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool jpu_carbon_is_iso2(const char *s)
{
	return s && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) && s[2] == '\0';
}

/* Fixed-width decimal digits. */
static int digits(const char **p, unsigned n, unsigned *ret)
{
	unsigned v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date: the civil-from-days
 * inverse described by H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms" (howardhinnant.github.io/date_algorithms.html). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int jpu_carbon_parse_time(const char *s, uint64_t *ret_usec)
{
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, mo, d, h, mi, sec = 0, oh = 0, om = 0, usec = 0, scale = 100000;
	const char *p = s;
	int64_t t, sign = 0;

	if (!s)
		return -EINVAL;
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
	    digits(&p, 2, &d) < 0 || (*p != 'T' && *p != ' '))
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
		return -EINVAL;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec) < 0)
			return -EINVAL;
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			for (; isdigit((unsigned char)*p); p++) {
				usec += (unsigned)(*p - '0') * scale;
				scale /= 10;
			}
		}
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (digits(&p, 2, &oh) < 0)
			return -EINVAL;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL; /* a time without a zone is ambiguous */
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    sec > 60)
		return -EINVAL;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -EINVAL;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (int64_t)(oh * 3600 + om * 60);
	if (t < 0)
		return -ERANGE;
	*ret_usec = (uint64_t)t * JPU_USEC_PER_SEC + usec;
	return 0;
}

/* ---- emissions ------------------------------------------------------------ */

void jpu_co2_add(struct jpu_co2_acc *acc, uint64_t energy_uj, uint32_t mg_per_kwh,
                 uint32_t pue_milli)
{
	/* µg = µJ x mg/kWh x pue_milli / (3.6e12 µJ/kWh x 1000 µg/mg / 1000 µg/mg
	 * ... ) = µJ x mg/kWh x pue_milli / 3.6e12 */
	const uint64_t den = 3600000000000ULL;
	uint64_t factor, num64, q;
	jpu_u128 num, r;

	if (pue_milli == 0)
		pue_milli = 1000;
	factor = (uint64_t)mg_per_kwh * pue_milli; /* < 2^64 */
	if (!__builtin_mul_overflow(energy_uj, factor, &num64)) {
		/* common case in 64 bits: a 1 s sample is a few million µJ */
		q = num64 / den;
		r = num64 % den;
	} else {
		num = (jpu_u128)energy_uj * factor;
		r = num % den;
		num /= den;
		q = num > UINT64_MAX ? UINT64_MAX : (uint64_t)num;
	}
	r += acc->rem;
	if (r >= den) {
		r -= den;
		q = q == UINT64_MAX ? q : q + 1;
	}
	acc->rem = r;
	acc->co2_ug = acc->co2_ug > UINT64_MAX - q ? UINT64_MAX : acc->co2_ug + q;
}

/* ---- JSON helpers for the parsers ---------------------------------------- */

#if JPU_HAVE_NET_CARBON
json_t *jpu_carbon_json_load(const char *body, size_t len)
{
	json_error_t err;

	if (!body)
		return NULL;
	return json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
}

int jpu_carbon_json_g_per_kwh(const json_t *v, uint32_t *ret_mg)
{
	double g;

	if (!v || json_is_null(v))
		return -ENODATA;
	if (!json_is_number(v))
		return -EBADMSG;
	g = json_number_value(v);
	/* !(g >= 0) also rejects NaN */
	if (!(g >= 0.0) || g * 1000.0 > (double)JPU_CARBON_MAX_MG_PER_KWH)
		return -ERANGE;
	*ret_mg = (uint32_t)(g * 1000.0 + 0.5);
	return 0;
}

int jpu_carbon_parse_error(const char *body, size_t len, char *buf, size_t size)
{
	const json_t *e, *m = NULL, *code = NULL;
	json_t *root = jpu_carbon_json_load(body, len);
	int r = -ENOENT;

	if (!json_is_object(root))
		goto out;
	e = json_object_get(root, "error");
	if (json_is_object(e)) {
		/* NESO: {"error":{"code":"400 Bad Request","message":".."}} */
		code = json_object_get(e, "code");
		m = json_object_get(e, "message");
	} else {
		/* Electricity Maps: {"error":"..","message":".."}; ODRE:
		 * {"error_code":"..","message":".."} */
		code = json_is_string(e) ? e : json_object_get(root, "error_code");
		m = json_object_get(root, "message");
	}
	if (json_is_string(code) && json_is_string(m))
		snprintf(buf, size, "%s: %s", json_string_value(code), json_string_value(m));
	else if (json_is_string(m) || json_is_string(code))
		snprintf(buf, size, "%s", json_string_value(json_is_string(m) ? m : code));
	else
		goto out;
	r = 0;
out:
	json_decref(root);
	return r;
}
#else
int jpu_carbon_parse_error(const char *body, size_t len, char *buf, size_t size)
{
	return -ENOENT;
}
#endif

/* ---- the chain ------------------------------------------------------------ */

static const struct jpu_carbon_provider_ops *const registry[] = {
#if JPU_HAVE_NET_CARBON
        &jpu_carbon_rte,   &jpu_carbon_gb,       &jpu_carbon_emaps,
#endif
        &jpu_carbon_table, &jpu_carbon_constant,
};
static const char *const net_names[] = {"rte", "gb", "emaps"};

static const struct jpu_carbon_provider_ops *find_ops(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < JPU_ARRAY_SIZE(registry); i++)
		if (strlen(registry[i]->name) == len && strncmp(registry[i]->name, name, len) == 0)
			return registry[i];
	return NULL;
}

static bool is_net_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < JPU_ARRAY_SIZE(net_names); i++)
		if (strlen(net_names[i]) == len && strncmp(net_names[i], name, len) == 0)
			return true;
	return false;
}

static int add_prov(struct jpu_carbon *c, const struct jpu_carbon_opts *o,
                    const struct jpu_carbon_provider_ops *ops)
{
	struct prov *p;
	size_t i;
	int r;

	for (i = 0; i < c->n; i++)
		if (c->provs[i].ops == ops)
			return 0; /* named twice: the first place counts */
	if (c->n == MAX_CHAIN) {
		jpu_logf(&c->log, JPU_LOG_ERR, "carbon provider chain is longer than %d",
		         MAX_CHAIN);
		return -EINVAL;
	}
	p = &c->provs[c->n];
	memset(p, 0, sizeof *p);
	p->ops = ops;
	r = ops->zone(o, &c->log, p->zone, sizeof p->zone);
	if (r < 0)
		return r;
	if (ops->network) {
		jpu_carbon_strlcpy(p->base_url, ops->default_base_url, sizeof p->base_url);
	} else {
		r = ops->local(o, p->zone, &p->val);
		if (r < 0)
			return r;
		p->has_val = true;
	}
	c->n++;
	return 0;
}

/* "name=url" overrides, validated: a known provider and an http(s) URL. */
static int apply_base_urls(struct jpu_carbon *c, const struct jpu_carbon_opts *o)
{
	size_t i, j;

	for (i = 0; i < JPU_ARRAY_SIZE(o->base_url); i++) {
		const char *s = o->base_url[i], *eq, *url;
		bool known;

		if (!s)
			continue;
		eq = strchr(s, '=');
		url = eq ? eq + 1 : "";
		known = eq && is_net_name(s, (size_t)(eq - s));
		if (!known ||
		    (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
		    strlen(url) >= sizeof c->provs[0].base_url || strpbrk(url, " \r\n\t")) {
			jpu_logf(&c->log, JPU_LOG_ERR,
			         "carbon base URL \"%s\" is not NAME=URL with NAME one of rte, gb, "
			         "emaps and URL starting with http:// or https://",
			         s);
			return -EINVAL;
		}
		for (j = 0; j < c->n; j++)
			if (strncmp(c->provs[j].ops->name, s, (size_t)(eq - s)) == 0 &&
			    c->provs[j].ops->name[eq - s] == '\0') {
				jpu_carbon_strlcpy(c->provs[j].base_url, url,
				                   sizeof c->provs[j].base_url);
				/* no trailing slash: paths start with one */
				while (strlen(c->provs[j].base_url) > 8 &&
				       c->provs[j].base_url[strlen(c->provs[j].base_url) - 1] ==
				               '/')
					c->provs[j].base_url[strlen(c->provs[j].base_url) - 1] =
					        '\0';
			}
	}
	return 0;
}

/* A token goes into an HTTP header: printable ASCII only, so it cannot
 * inject another header. */
static bool token_ok(const char *t)
{
	for (; *t; t++)
		if (*t < 0x21 || *t > 0x7e)
			return false;
	return true;
}

static int build_chain(struct jpu_carbon *c, const struct jpu_carbon_opts *o)
{
	const char *spec = o->provider && o->provider[0] ? o->provider : "auto";
	const char *p = spec;
	size_t i;
	int r;

	if (strcmp(spec, "auto") == 0) {
		/* the live source for the country, Electricity Maps when a token
		 * is set, then the table */
		if (o->country && strcasecmp(o->country, "FR") == 0 && find_ops("rte", 3)) {
			r = add_prov(c, o, find_ops("rte", 3));
			if (r < 0)
				return r;
		}
		if (o->country && strcasecmp(o->country, "GB") == 0 && find_ops("gb", 2)) {
			r = add_prov(c, o, find_ops("gb", 2));
			if (r < 0)
				return r;
		}
		if (o->country && o->emaps_token && o->emaps_token[0] && find_ops("emaps", 5)) {
			r = add_prov(c, o, find_ops("emaps", 5));
			if (r < 0)
				return r;
		}
	} else {
		while (*p) {
			size_t len = strcspn(p, ",");
			const struct jpu_carbon_provider_ops *ops = find_ops(p, len);

			if (!ops) {
				jpu_logf(
				        &c->log, JPU_LOG_ERR,
				        is_net_name(p, len)
				                ? "carbon provider \"%.*s\" needs libcurl and "
				                  "jansson; this build has neither: use table or "
				                  "constant"
				                : "unknown carbon provider \"%.*s\": use auto, "
				                  "rte, "
				                  "gb, emaps, table or constant (or a comma chain)",
				        (int)len, p);
				return -EINVAL;
			}
			r = add_prov(c, o, ops);
			if (r < 0)
				return r;
			p += len;
			if (*p == ',')
				p++;
		}
	}
	if (c->n == 0 || c->provs[c->n - 1].ops->network) {
		r = add_prov(c, o, &jpu_carbon_table);
		if (r < 0)
			return r;
	}
	for (i = 0; i < c->n; i++) {
		size_t used = strlen(c->chain);

		snprintf(c->chain + used, sizeof c->chain - used, "%s%s", i ? "," : "",
		         c->provs[i].ops->name);
	}
	return 0;
}

int jpu_carbon_new(const struct jpu_carbon_opts *o, struct jpu_carbon **ret)
{
	struct jpu_carbon_opts oc;
	char country[3] = "";
	struct jpu_carbon *c;
	pthread_condattr_t ca;
	int r;

	if (!o || !ret || o->sz < sizeof(struct jpu_carbon_opts))
		return -EINVAL;
	c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	if (o->log)
		c->log = *o->log;
	atomic_init(&c->stopping, false);
	c->timeout_usec = o->timeout_usec ? o->timeout_usec : DEFAULT_TIMEOUT_USEC;
	if (o->country && !jpu_carbon_is_iso2(o->country)) {
		jpu_logf(
		        &c->log, JPU_LOG_ERR,
		        "carbon country \"%s\" is not an ISO 3166-1 alpha-2 code (e.g. FR, GB, DE)",
		        o->country);
		r = -EINVAL;
		goto fail;
	}
	if (o->emaps_token && !token_ok(o->emaps_token)) {
		jpu_logf(&c->log, JPU_LOG_ERR,
		         "carbon emaps_token contains spaces or control characters");
		r = -EINVAL;
		goto fail;
	}
	if (o->emaps_token && o->emaps_token[0]) {
		c->token = strdup(o->emaps_token);
		if (!c->token) {
			r = -ENOMEM;
			goto fail;
		}
	}
	/* providers see the country in upper case ("fr" means FR) */
	oc = *o;
	if (o->country) {
		country[0] = (char)toupper((unsigned char)o->country[0]);
		country[1] = (char)toupper((unsigned char)o->country[1]);
		oc.country = country;
	}
	r = build_chain(c, &oc);
	if (r < 0)
		goto fail;
	r = apply_base_urls(c, &oc);
	if (r < 0)
		goto fail;
	if (pthread_mutex_init(&c->lock, NULL) != 0 ||
	    pthread_mutex_init(&c->fetch_lock, NULL) != 0 || pthread_condattr_init(&ca) != 0) {
		r = -ENOMEM;
		goto fail;
	}
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (r != 0) {
		r = -r;
		goto fail;
	}
	c->locks_ready = true;
	jpu_logf(&c->log, JPU_LOG_DEBUG, "carbon chain: %s", c->chain);
	*ret = c;
	return 0;
fail:
	jpu_carbon_free(c);
	return r;
}

struct jpu_carbon *jpu_carbon_free(struct jpu_carbon *c)
{
	if (!c)
		return NULL;
	if (c->running) {
		pthread_mutex_lock(&c->lock);
		atomic_store(&c->stopping, true);
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	if (c->locks_ready) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->fetch_lock);
		pthread_mutex_destroy(&c->lock);
	}
	if (c->token) {
		/* the token is a secret: do not leave it in freed memory */
		memset(c->token, 0, strlen(c->token));
		free(c->token);
	}
	free(c);
	return NULL;
}

const char *jpu_carbon_chain(const struct jpu_carbon *c)
{
	return c->chain;
}

/* Whether p's value may be served at now_real (c->lock held). */
static bool usable(const struct prov *p, uint64_t now_real)
{
	if (!p->has_val)
		return false;
	if (!p->ops->network)
		return true;
	return now_real <= p->ok_real_usec ||
	       now_real - p->ok_real_usec <= JPU_CARBON_STALE_MAX_USEC;
}

int jpu_carbon_current(struct jpu_carbon *c, uint64_t now_real_usec, struct jpu_intensity *ret)
{
	size_t i;

	if (!c || !ret)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n; i++) {
		const struct prov *p = &c->provs[i];
		uint64_t age;

		if (!usable(p, now_real_usec))
			continue;
		*ret = p->val;
		age = now_real_usec > p->ok_real_usec ? now_real_usec - p->ok_real_usec : 0;
		ret->stale = p->ops->network && age > p->ops->cadence_usec + STALE_SLACK_USEC;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	pthread_mutex_unlock(&c->lock);
	/* unreachable: build_chain ends every chain with a local provider */
	return -ENODATA;
}

/* ---- fetching -------------------------------------------------------------- */

#if JPU_HAVE_NET_CARBON

struct body {
	char *buf;
	size_t len;
	bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb;
	char *nb;

	if (n > JPU_CARBON_MAX_BODY - b->len) {
		b->too_big = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	nb = realloc(b->buf, b->len + n + 1);
	if (!nb)
		return 0;
	b->buf = nb;
	memcpy(b->buf + b->len, ptr, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/* Aborts a transfer in flight when jpu_carbon_free() stops the thread. */
static int on_progress(void *userdata, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct jpu_carbon *c = userdata;

	return atomic_load(&c->stopping) ? 1 : 0;
}

/* libcurl is opened with dlopen when the first fetch needs it, not linked:
 * it and what it links (OpenSSL, Kerberos, LDAP, SSH, ...) are ~3 MB of
 * resident pages in every process of the engine, jpud on every node
 * included, most of which never configure a live provider (issue 9: RSS
 * <= 8 MB). The soname is libcurl's ABI since 7.16 (libcurl4); the header
 * gives the types and constants only. setopt and getinfo are variadic in
 * libcurl too, so calling them through a pointer is the same call. */
static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *e, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *e);
	CURLcode (*easy_getinfo)(CURL *e, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode cc);
	void (*easy_cleanup)(CURL *e);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} lc;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_result;
static char curl_init_error[256];
static atomic_bool curl_init_logged;

static int curl_load(void)
{
	/* never closed: libcurl keeps process-wide state once initialised */
	void *h = dlopen(JPU_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *err;

	if (!h) {
		err = dlerror();
		snprintf(curl_init_error, sizeof curl_init_error, "%s",
		         err ? err : JPU_LIBCURL_SONAME ": cannot load");
		return -ENOENT;
	}
#define SYM(field, name)                                                                           \
	do {                                                                                       \
		*(void **)&lc.field = dlsym(h, name);                                              \
		if (!lc.field) {                                                                   \
			snprintf(curl_init_error, sizeof curl_init_error,                          \
			         JPU_LIBCURL_SONAME " has no %s", name);                           \
			return -ENOSYS;                                                            \
		}                                                                                  \
	} while (0)
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
	return 0;
}

static void curl_init(void)
{
	curl_init_result = curl_load();
	/* not thread-safe in older libcurl: once per process */
	if (curl_init_result == 0 && lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(curl_init_error, sizeof curl_init_error, "curl_global_init failed");
		curl_init_result = -ENOMEM;
	}
}

/* GET url. Returns 0 with the HTTP status, body and Retry-After (seconds,
 * 0 = none), or -errno when no HTTP answer came back. */
static int http_get(struct jpu_carbon *c, const char *url, const char *token, long *ret_status,
                    struct body *b, uint64_t *ret_retry_after_usec)
{
	char auth[600];
	struct curl_slist *hdrs = NULL, *h;
	curl_off_t retry = 0;
	CURL *e = NULL;
	CURLcode cc;
	int r;

	pthread_once(&curl_once, curl_init);
	if (curl_init_result < 0) {
		/* once: the fetch thread retries with backoff, the cause stays */
		if (!atomic_exchange(&curl_init_logged, true))
			jpu_logf(&c->log, JPU_LOG_ERR, "carbon: %s (install libcurl4)",
			         curl_init_error);
		return curl_init_result;
	}
	e = lc.easy_init();
	if (!e)
		return -ENOMEM;
	h = lc.slist_append(hdrs, "Accept: application/json");
	if (!h) {
		r = -ENOMEM;
		goto out;
	}
	hdrs = h;
	if (token) {
		snprintf(auth, sizeof auth, "auth-token: %s", token);
		h = lc.slist_append(hdrs, auth);
		memset(auth, 0, sizeof auth);
		if (!h) {
			r = -ENOMEM;
			goto out;
		}
		hdrs = h;
	}
	lc.easy_setopt(e, CURLOPT_URL, url);
	lc.easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	lc.easy_setopt(e, CURLOPT_USERAGENT, "jpu/" JPU_VERSION);
	/* no signals from a library thread; a hard limit per request */
	lc.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	lc.easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(c->timeout_usec / 1000));
	lc.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->timeout_usec / 1000));
	/* never follow redirects: the auth-token header would go along */
	lc.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	lc.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	lc.easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)JPU_CARBON_MAX_BODY);
	lc.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	lc.easy_setopt(e, CURLOPT_WRITEDATA, b);
	lc.easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	lc.easy_setopt(e, CURLOPT_XFERINFODATA, c);
	lc.easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	cc = lc.easy_perform(e);
	switch (cc) {
	case CURLE_OK:
		r = 0;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		r = -ETIMEDOUT;
		break;
	case CURLE_COULDNT_CONNECT:
		r = -ECONNREFUSED;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		r = -EHOSTUNREACH;
		break;
	case CURLE_FILESIZE_EXCEEDED:
		r = -EFBIG;
		break;
	case CURLE_WRITE_ERROR:
		r = b->too_big ? -EFBIG : -ENOMEM;
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		r = -ECANCELED;
		break;
	default:
		r = -EIO;
		break;
	}
	if (r < 0) {
		jpu_logf(&c->log, JPU_LOG_DEBUG, "carbon: GET %s: %s", url, lc.easy_strerror(cc));
		goto out;
	}
	lc.easy_getinfo(e, CURLINFO_RESPONSE_CODE, ret_status);
	/* Retry-After in seconds or as an HTTP date, parsed by libcurl >= 7.66 */
	if (lc.easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry) == CURLE_OK && retry > 0)
		*ret_retry_after_usec = (uint64_t)retry * JPU_USEC_PER_SEC;
out:
	lc.slist_free_all(hdrs);
	lc.easy_cleanup(e);
	return r;
}

/* Record a failed fetch of p and schedule the next try (c->lock held). */
static void fail_locked(struct jpu_carbon *c, struct prov *p, int err, uint64_t now_mono,
                        uint64_t retry_after_usec, const char *why)
{
	uint64_t cap = p->ops->cadence_usec;
	uint64_t b;

	if (err == -EACCES && p->ops->needs_token) {
		/* a retry cannot succeed with the same token */
		p->auth_blocked = true;
		if (p->last_err != err)
			jpu_logf(&c->log, JPU_LOG_ERR,
			         "carbon: %s rejected the token (%s); not retrying until the token "
			         "changes: check its zone access at "
			         "https://portal.electricitymaps.com",
			         p->ops->name, why);
		p->last_err = err;
		return;
	}
	if (err == -EAGAIN || err == -ETIMEDOUT || err == -ECONNREFUSED || err == -EIO ||
	    err == -EHOSTUNREACH || err == -ENOMEM) {
		/* transient: exponential backoff */
		b = p->backoff_usec ? p->backoff_usec * 2 : BACKOFF_MIN_USEC;
		if (b > cap)
			b = cap;
	} else {
		/* the request or the answer is wrong: retrying soon will not help */
		b = cap;
	}
	p->backoff_usec = b;
	/* the server's Retry-After (429, 503) says when it wants us back: that
	 * time, not sooner and not needlessly later, within 1 s .. 6 h */
	if (retry_after_usec) {
		b = retry_after_usec;
		if (b < JPU_USEC_PER_SEC)
			b = JPU_USEC_PER_SEC;
		if (b > JPU_CARBON_STALE_MAX_USEC)
			b = JPU_CARBON_STALE_MAX_USEC;
	}
	p->next_due_mono_usec = now_mono + b;
	if (p->last_err != err)
		jpu_logf(&c->log, JPU_LOG_WARNING,
		         "carbon: fetching %s intensity for %s failed (%s); retrying in %llu s%s",
		         p->ops->name, p->zone, why, (unsigned long long)(b / JPU_USEC_PER_SEC),
		         p->has_val ? ", serving the last value meanwhile" : "");
	else
		jpu_logf(&c->log, JPU_LOG_DEBUG, "carbon: %s failed again (%s), next try in %llu s",
		         p->ops->name, why, (unsigned long long)(b / JPU_USEC_PER_SEC));
	p->last_err = err;
}

/* Whether an HTTP status from a provider's current API version means "not
 * here or not for this token" (worth asking its legacy version) rather
 * than a transient or data problem. */
static bool refused_by_version(long status)
{
	return status == 401 || status == 403 || status == 404 || status == 410;
}

/* Fetch one provider now (c->fetch_lock held). */
static int fetch_one(struct jpu_carbon *c, struct prov *p)
{
	char url[512], path[256], why[800], token_copy[512], refused[800] = "";
	struct jpu_intensity v;
	struct body b = {0};
	uint64_t retry_after = 0, now_mono;
	long status = 0, refused_status = 0;
	bool send_token = false, legacy, fell_back = false;
	int r;

	pthread_mutex_lock(&c->lock);
	legacy = p->legacy && p->ops->legacy_path;
	pthread_mutex_unlock(&c->lock);
again:
	r = (legacy ? p->ops->legacy_path : p->ops->path)(p->zone, path, sizeof path);
	if (r < 0)
		return r;
	snprintf(url, sizeof url, "%s%s", p->base_url, path);
	if (p->ops->needs_token) {
		/* the token only ever goes to the provider that needs it */
		pthread_mutex_lock(&c->lock);
		send_token = c->token != NULL;
		if (send_token)
			jpu_carbon_strlcpy(token_copy, c->token, sizeof token_copy);
		pthread_mutex_unlock(&c->lock);
	}
	r = http_get(c, url, send_token ? token_copy : NULL, &status, &b, &retry_after);
	if (send_token)
		memset(token_copy, 0, sizeof token_copy);
	if (r == 0 && !legacy && p->ops->legacy_path && refused_by_version(status)) {
		/* the current version refused: ask the legacy one (same token,
		 * same cache and backoff), and say why if that one answers */
		char msg[200];

		if (jpu_carbon_parse_error(b.buf, b.len, msg, sizeof msg) < 0)
			jpu_carbon_strlcpy(msg, "no message", sizeof msg);
		snprintf(refused, sizeof refused, "HTTP %ld from %s: %s", status, url, msg);
		refused_status = status;
		jpu_logf(&c->log, JPU_LOG_DEBUG, "carbon: %s: %s; trying its legacy API",
		         p->ops->name, refused);
		free(b.buf);
		memset(&b, 0, sizeof b);
		retry_after = 0;
		status = 0;
		legacy = fell_back = true;
		goto again;
	}
	if (r == 0) {
		if (status == 200) {
			r = p->ops->parse(b.buf, b.len, &v);
			if (r < 0)
				snprintf(why, sizeof why, "unexpected answer from %s: %s", url,
				         r == -ENODATA ? "no value in it" : strerror(-r));
		} else {
			char msg[200];

			if (jpu_carbon_parse_error(b.buf, b.len, msg, sizeof msg) < 0)
				jpu_carbon_strlcpy(msg, "no message", sizeof msg);
			snprintf(why, sizeof why, "HTTP %ld from %s: %s", status, url, msg);
			r = status == 401 || status == 403   ? -EACCES
			    : status == 429 || status >= 500 ? -EAGAIN
			                                     : -EPROTO;
		}
	} else {
		snprintf(why, sizeof why, "GET %s: %s", url, strerror(-r));
	}
	if (r < 0 && r != -ECANCELED && fell_back &&
	    (refused_status == 401 || refused_status == 403)) {
		/* the legacy version did not help: the token's refusal by the
		 * current one is what the user must act on (and what stops
		 * retries until the token changes) */
		jpu_logf(&c->log, JPU_LOG_DEBUG, "carbon: %s legacy API: %s", p->ops->name, why);
		jpu_carbon_strlcpy(why, refused, sizeof why);
		r = -EACCES;
		retry_after = 0;
	}
	free(b.buf);
	now_mono = jpu_now_mono_usec();
	pthread_mutex_lock(&c->lock);
	/* the legacy version is kept only while it answers where the current
	 * one refused; any failure sends the next try to the current one */
	if (r == 0 && fell_back && !p->legacy)
		jpu_logf(&c->log, JPU_LOG_WARNING,
		         "carbon: %s refused its current API (%s) and answered on its legacy "
		         "API, which the provider is retiring; using that until it fails or "
		         "the token changes: check the token's API access at "
		         "https://portal.electricitymaps.com",
		         p->ops->name, refused);
	p->legacy = r == 0 && legacy;
	if (r == 0) {
		jpu_carbon_strlcpy(v.source, p->ops->name, sizeof v.source);
		jpu_carbon_strlcpy(v.zone, p->zone, sizeof v.zone);
		v.stale = false;
		p->val = v;
		p->has_val = true;
		p->ok_real_usec = jpu_now_real_usec();
		p->next_due_mono_usec = now_mono + p->ops->cadence_usec;
		p->backoff_usec = 0;
		if (p->last_err)
			jpu_logf(&c->log, JPU_LOG_INFO, "carbon: %s intensity for %s is back",
			         p->ops->name, p->zone);
		p->last_err = 0;
	} else if (r != -ECANCELED) {
		fail_locked(c, p, r, now_mono, retry_after, why);
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* Walk the chain: fetch each due provider until one has a usable value.
 * Returns as jpu_carbon_refresh_now(). c->fetch_lock held. */
static int walk(struct jpu_carbon *c)
{
	int ok = 0, last_err = 0;
	size_t i;

	for (i = 0; i < c->n && !atomic_load(&c->stopping); i++) {
		struct prov *p = &c->provs[i];
		bool due, good;
		int r;

		if (!p->ops->network)
			break; /* always usable: the end of the walk */
		pthread_mutex_lock(&c->lock);
		due = !p->auth_blocked && p->next_due_mono_usec <= jpu_now_mono_usec();
		pthread_mutex_unlock(&c->lock);
		if (due) {
			r = fetch_one(c, p);
			if (r < 0)
				last_err = r;
			else
				ok++;
		}
		pthread_mutex_lock(&c->lock);
		good = usable(p, jpu_now_real_usec());
		pthread_mutex_unlock(&c->lock);
		if (good)
			break;
	}
	return ok ? ok : last_err;
}

/* When the thread should walk again: the earliest future due time, at most
 * WALK_MAX_USEC away (c->lock held). */
static uint64_t next_wake_locked(struct jpu_carbon *c, uint64_t now_mono)
{
	uint64_t wake = now_mono + WALK_MAX_USEC;
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct prov *p = &c->provs[i];

		if (p->ops->network && !p->auth_blocked && p->next_due_mono_usec > now_mono &&
		    p->next_due_mono_usec < wake)
			wake = p->next_due_mono_usec;
	}
	return wake;
}

static void *fetch_thread(void *arg)
{
	struct jpu_carbon *c = arg;

	while (!atomic_load(&c->stopping)) {
		struct timespec ts;
		uint64_t wake;

		pthread_mutex_lock(&c->fetch_lock);
		walk(c);
		pthread_mutex_unlock(&c->fetch_lock);
		pthread_mutex_lock(&c->lock);
		wake = next_wake_locked(c, jpu_now_mono_usec());
		ts.tv_sec = (time_t)(wake / JPU_USEC_PER_SEC);
		ts.tv_nsec = (long)(wake % JPU_USEC_PER_SEC) * 1000;
		if (!atomic_load(&c->stopping))
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

int jpu_carbon_refresh_now(struct jpu_carbon *c)
{
	int r;

	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&c->fetch_lock);
	r = walk(c);
	pthread_mutex_unlock(&c->fetch_lock);
	return r;
}

int jpu_carbon_start(struct jpu_carbon *c)
{
	bool network = false;
	size_t i;
	int r;

	if (!c)
		return -EINVAL;
	if (c->running)
		return 0;
	for (i = 0; i < c->n; i++)
		network |= c->provs[i].ops->network;
	if (!network)
		return 0; /* nothing to fetch */
	r = pthread_create(&c->thread, NULL, fetch_thread, c);
	if (r != 0)
		return -r;
	c->running = true;
	return 0;
}

#else /* !JPU_HAVE_NET_CARBON: only local providers exist */

int jpu_carbon_refresh_now(struct jpu_carbon *c)
{
	return c ? 0 : -EINVAL;
}

int jpu_carbon_start(struct jpu_carbon *c)
{
	return c ? 0 : -EINVAL;
}

#endif

int jpu_carbon_set_token(struct jpu_carbon *c, const char *token)
{
	char *copy = NULL;
	size_t i;

	if (!c || (token && !token_ok(token)))
		return -EINVAL;
	if (token && token[0]) {
		copy = strdup(token);
		if (!copy)
			return -ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	if (c->token) {
		memset(c->token, 0, strlen(c->token));
		free(c->token);
	}
	c->token = copy;
	for (i = 0; i < c->n; i++) {
		struct prov *p = &c->provs[i];

		if (p->ops->needs_token)
			p->legacy = false; /* a new token is tried on the current API */
		if (p->ops->needs_token && p->auth_blocked) {
			/* a new token deserves a try now */
			p->auth_blocked = false;
			p->next_due_mono_usec = 0;
			p->backoff_usec = 0;
			p->last_err = 0;
		}
	}
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return 0;
}
