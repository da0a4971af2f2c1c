/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The listeners (server.h). libmicrohttpd runs one epoll thread per
 * listener; a handler checks the request (request.c), the caller's rate,
 * and who the caller is (peer.c), then copies an answer out of the
 * engine's last snapshot. Limits: connections idle longer than the timeout
 * are closed (slowloris), headers beyond the connection's memory get 431,
 * bodies beyond JPUD_BODY_MAX get 413.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "peer.h"
#include "ratelimit.h"
#include "request.h"
#include "scopes.h"
#include "server.h"

#define JPUD_BODY_MAX   4096 /* no route takes a body; a small one is ignored */
#define JPUD_ARGS_MAX   8
#define JPUD_CONN_LIMIT 512
#define JPUD_CONN_MEM   (16 * 1024) /* per connection: headers beyond it get 431 */

/* /metrics as rendered for one engine tick, shared by every response that
 * is sending it and freed by the last one (refs). */
struct prom_text {
	atomic_uint refs;
	size_t len;
	char *text; /* owned */
};

struct jpud_server {
	struct MHD_Daemon *unix_d, *tcp_d;
	int unix_fd;
	char *socket_path;
	int procfs_fd;
	unsigned timeout_sec;
	struct jpu_logger log;

	/* held for reading while a request uses the engine, for writing to
	 * swap it: a reload never frees an engine under a request */
	pthread_rwlock_t engine_lock;
	jpu_engine *engine;
	struct jpud_scopes *scopes; /* the users, containers and trees served */

	/* the /proc pass that finds users and containers, every discover_sec */
	pthread_t discover_thread;
	bool discover_running, discover_stop;
	pthread_cond_t discover_cond;
	unsigned discover_sec;

	/* /metrics is rendered once per tick of the engine (its snapshot's
	 * seq) and served from here: rendering it per request made a scrape
	 * under 64 connections wait behind 63 renderings of the same text
	 * (issue 9: p99 16 ms against 8 ms for /healthz). Cleared when the
	 * engine changes. */
	pthread_mutex_t prom_lock;
	struct prom_text *prom; /* one reference held by the cache */
	int64_t prom_seq;

	pthread_mutex_t lock; /* rate limits and policy; discover_stop */
	bool allow_system;
	struct jpud_ratelimit rl;
	struct listener {
		struct jpud_server *s;
		bool tcp;
	} unix_l, tcp_l;
};

/* Who is on the other end of one connection: read once when it opens. */
struct caller {
	bool is_unix;
	int cred_err; /* 0, or why the peer is unknown (then every request fails) */
	pid_t pid;
	uid_t uid;
	bool has_rate_id; /* rate_id read at the connection's first request */
	uint64_t rate_id; /* jpud_scopes_caller_id: uid, or uid and container */
};

/* Per request: whether the body overflowed. */
struct req_state {
	size_t body;
	bool too_big;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, bool json)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        json ? "application/json"
	                             : "text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void prom_unref(struct prom_text *pt)
{
	if (pt && atomic_fetch_sub(&pt->refs, 1) == 1) {
		free(pt->text);
		free(pt);
	}
}

/* MHD's free callback: the response that sent pt is gone. */
static void prom_release(void *cls)
{
	prom_unref(cls);
}

/* The node's Prometheus text for the engine's latest tick, with a
 * reference for the caller: the cached one when the engine has published
 * no newer snapshot since it was rendered, else rendered now (and cached).
 * The seq is read before rendering, so a tick in between only makes the
 * next request render again. NULL with *ret_err on failure. */
static struct prom_text *prom_get(struct jpud_server *s, jpu_engine *e, int *ret_err)
{
	jpu_summary sum = {.sz = sizeof sum};
	struct prom_text *pt;
	int64_t seq;
	char *out;
	int r;

	seq = jpu_engine_summary(e, &sum) == 0 ? sum.seq : 0;
	pthread_mutex_lock(&s->prom_lock);
	if (s->prom && seq > 0 && s->prom_seq == seq) {
		pt = s->prom;
		atomic_fetch_add(&pt->refs, 1);
		pthread_mutex_unlock(&s->prom_lock);
		return pt;
	}
	/* rendered under prom_lock: concurrent scrapes of a new tick wait for
	 * this one rendering instead of each making their own */
	r = jpu_engine_prometheus(e, &out);
	if (r < 0) {
		pthread_mutex_unlock(&s->prom_lock);
		*ret_err = r;
		return NULL;
	}
	pt = malloc(sizeof *pt);
	if (!pt) {
		pthread_mutex_unlock(&s->prom_lock);
		free(out);
		*ret_err = -ENOMEM;
		return NULL;
	}
	pt->text = out;
	pt->len = strlen(out);
	atomic_init(&pt->refs, 1); /* the caller's */
	if (seq > 0) {
		prom_unref(s->prom);
		atomic_fetch_add(&pt->refs, 1); /* the cache's */
		s->prom = pt;
		s->prom_seq = seq;
	}
	pthread_mutex_unlock(&s->prom_lock);
	return pt;
}

static void prom_clear(struct jpud_server *s)
{
	pthread_mutex_lock(&s->prom_lock);
	prom_unref(s->prom);
	s->prom = NULL;
	s->prom_seq = 0;
	pthread_mutex_unlock(&s->prom_lock);
}

/* 200 with a shared /metrics text: the response holds the reference. */
static enum MHD_Result reply_prom(struct MHD_Connection *c, struct prom_text *pt)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer_with_free_callback_cls(pt->len, pt->text, prom_release,
	                                                           pt);
	if (!r) {
		prom_unref(pt);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        "text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* {"error": msg}: msg is one of this program's static strings or an
 * strerror text, never request data, so it needs no escaping beyond '"'. */
static enum MHD_Result error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	size_t n = strlen(msg) + 16;
	char *b = malloc(n);

	if (!b)
		return MHD_NO;
	snprintf(b, n, "{\"error\":\"%s\"}", msg);
	for (char *p = b + 10; p[2]; p++)
		if (*p == '"' || *p == '\\')
			*p = '\'';
	return reply(c, status, b, true);
}

struct args {
	struct jpud_arg a[JPUD_ARGS_MAX];
	size_t n;
	bool overflow;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	struct args *a = cls;

	(void)kind;
	if (a->n == JPUD_ARGS_MAX) {
		a->overflow = true;
		return MHD_NO;
	}
	a->a[a->n].key = key;
	a->a[a->n].value = value;
	a->n++;
	return MHD_YES;
}

static struct caller *caller_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	const struct listener *l = cls;
	struct caller *who;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*socket_context);
		*socket_context = NULL;
		return;
	}
	who = calloc(1, sizeof *who);
	if (!who)
		return; /* caller_of() is NULL: the request gets 500 */
	who->is_unix = !l->tcp;
	if (who->is_unix) {
		const union MHD_ConnectionInfo *ci =
		        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		gid_t gid;

		who->cred_err =
		        ci ? jpud_peer_cred(ci->connect_fd, &who->pid, &who->uid, &gid) : -EBADF;
	}
	*socket_context = who;
}

static char *dup_text(const char *s)
{
	return strdup(s);
}

/* The answer to one checked request from a known caller. */
/* HTTP status for a scope module error. */
static unsigned status_of(int r)
{
	switch (r) {
	case -EPERM:
		return MHD_HTTP_FORBIDDEN;
	case -ESRCH:
	case -ENOENT:
		return MHD_HTTP_NOT_FOUND;
	case -ENOSPC:
		return MHD_HTTP_TOO_MANY_REQUESTS;
	case -EINVAL:
		return MHD_HTTP_BAD_REQUEST;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* The engine key of the scope a sample or history request names, for this
 * caller only: its user (or container), its container, or a process of
 * its own. */
static int scope_key(struct jpud_server *s, jpu_engine *e, const struct caller *who,
                     const struct jpud_request *q, char key[JPUD_KEY_MAX], const char **err)
{
	switch (q->scope) {
	case JPUD_SCOPE_USER:
		return jpud_scopes_user(s->scopes, e, who->pid, who->uid, key, err);
	case JPUD_SCOPE_CONTAINER:
		return jpud_scopes_container(s->scopes, e, who->pid, key, err);
	case JPUD_SCOPE_PROCESS:
		return jpud_scopes_process(s->scopes, e, who->pid, who->uid, q->pid, key, err);
	default:
		*err = "bad scope";
		return -EINVAL;
	}
}

static enum MHD_Result answer_with(struct jpud_server *s, jpu_engine *e, struct MHD_Connection *c,
                                   const struct caller *who, const struct jpud_request *q)
{
	char *out = NULL, key[JPUD_KEY_MAX];
	const char *err = NULL;
	bool allow_system;
	int r;

	pthread_mutex_lock(&s->lock);
	allow_system = s->allow_system;
	pthread_mutex_unlock(&s->lock);

	if (!e && q->route != JPUD_HEALTH)
		return error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		             "the daemon is reloading its configuration: ask again in a second");
	switch (q->route) {
	case JPUD_HEALTH:
		return reply(c, MHD_HTTP_OK, dup_text("{\"status\":\"ok\"}"), true);
	case JPUD_METRICS: {
		struct prom_text *pt = prom_get(s, e, &r);

		if (!pt)
			return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror(-r));
		return reply_prom(c, pt);
	}
	case JPUD_SAMPLE:
	case JPUD_HISTORY:
		if (q->scope == JPUD_SCOPE_SYSTEM) {
			if (!allow_system && who->uid != 0)
				return error(c, MHD_HTTP_FORBIDDEN,
				             "the node's figure is turned off on this node "
				             "(allow_system = false)");
			r = q->route == JPUD_SAMPLE
			            ? jpu_engine_json(e, &out)
			            : jpu_engine_history_json(e, q->since_usec, &out);
		} else {
			r = scope_key(s, e, who, q, key, &err);
			if (r < 0)
				return error(c, status_of(r), err);
			r = q->route == JPUD_SAMPLE
			            ? jpu_scope_json(e, key, &out)
			            : jpu_scope_history_json(e, key, q->since_usec, &out);
			if (r == -ENODATA)
				return error(c, MHD_HTTP_NOT_FOUND,
				             "no history is kept for process scopes: track the "
				             "process (POST /v1/track) to have one");
		}
		if (r == -EAGAIN)
			return error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			             "no sample yet: the first comes one interval after the "
			             "scope is first asked for");
		if (r < 0)
			return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror(-r));
		return reply(c, MHD_HTTP_OK, out, true);
	case JPUD_TRACK:
		r = jpud_scopes_track(s->scopes, e, who->pid, who->uid, q->pid, q->tag, &err);
		if (r < 0)
			return error(c, status_of(r), err);
		return reply(c, MHD_HTTP_CREATED, dup_text("{\"tracked\":true}"), true);
	case JPUD_UNTRACK:
		r = jpud_scopes_untrack(s->scopes, e, who->pid, who->uid, q->tag, &err);
		if (r < 0)
			return error(c, status_of(r), err);
		return reply(c, MHD_HTTP_OK, dup_text("{\"tracked\":false}"), true);
	case JPUD_TRACKED:
		r = jpud_scopes_tracked_json(s->scopes, e, who->pid, who->uid, &out);
		if (r < 0)
			return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror(-r));
		return reply(c, MHD_HTTP_OK, out, true);
	}
	return error(c, MHD_HTTP_NOT_FOUND, "no such route");
}

static enum MHD_Result answer(struct jpud_server *s, struct MHD_Connection *c,
                              const struct caller *who, const struct jpud_request *q)
{
	enum MHD_Result r;

	pthread_rwlock_rdlock(&s->engine_lock);
	r = answer_with(s, s->engine, c, who, q);
	pthread_rwlock_unlock(&s->engine_lock);
	return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
	const struct listener *l = cls;
	struct jpud_server *s = l->s;
	struct req_state *st = *req_cls;
	struct caller *who;
	struct jpud_request q;
	struct args a = {0};
	const char *err = NULL;
	bool ok;
	int r;

	(void)version;
	if (!st) {
		/* first call: headers only; the body (if any) follows */
		st = calloc(1, sizeof *st);
		if (!st)
			return MHD_NO;
		*req_cls = st;
		return MHD_YES;
	}
	if (*upload_data_size) {
		(void)upload_data;
		st->body += *upload_data_size;
		if (st->body > JPUD_BODY_MAX)
			st->too_big = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (st->too_big)
		return error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");

	who = caller_of(c);
	if (!who)
		return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	if (who->is_unix && who->cred_err)
		return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		             "cannot read the caller's credentials (SO_PEERCRED)");

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
	if (a.overflow)
		return error(c, MHD_HTTP_BAD_REQUEST, "too many arguments");
	r = jpud_request_parse(method, url, a.a, a.n, l->tcp, &q, &err);
	if (r == -ENOENT)
		return error(c, MHD_HTTP_NOT_FOUND, err);
	if (r == -EOPNOTSUPP)
		return error(c, MHD_HTTP_METHOD_NOT_ALLOWED, err);
	if (r < 0)
		return error(c, MHD_HTTP_BAD_REQUEST, err);

	/* Prometheus scrapes are not rate limited per caller (there is none
	 * on TCP); the listener is loopback by default and MHD caps
	 * connections. A unix caller is its uid, and its container when it
	 * runs in one. */
	if (who->is_unix) {
		/* once a connection, like its peer credentials: a keep-alive
		 * client does not read its cgroup file at every request */
		if (!who->has_rate_id) {
			who->rate_id = jpud_scopes_caller_id(s->scopes, who->pid, who->uid);
			who->has_rate_id = true;
		}
		pthread_mutex_lock(&s->lock);
		ok = jpud_ratelimit_take(&s->rl, who->rate_id, jpu_now_mono_usec());
		pthread_mutex_unlock(&s->lock);
		if (!ok)
			return error(c, MHD_HTTP_TOO_MANY_REQUESTS,
			             "rate limit: slow down (see Retry-After)");
	}
	return answer(s, c, who, &q);
}

static void request_done(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*req_cls);
	*req_cls = NULL;
}

/* libmicrohttpd's messages: printf formats of its own */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct jpud_server *s = cls;
	char msg[512];

	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	jpu_logf(&s->log, JPU_LOG_INFO, "http: %s", msg);
}

/* A Unix socket every local user can connect to: who they are comes from
 * the kernel (SO_PEERCRED), so the mode gives nothing away. A stale
 * socket of an earlier run is replaced; any other file there is not. */
static int bind_unix(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, r;

	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 128) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT" into an address; numeric only (no DNS at
 * start-up of a node daemon). */
static int parse_listen(const char *spec, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	uint64_t port;
	size_t hl;

	if (!colon || jpu_parse_u64(colon + 1, strlen(colon + 1), &port) < 0 || port == 0 ||
	    port > 65535)
		return -EINVAL;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof host)
		return -EINVAL;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -EINVAL;
}

static struct MHD_Daemon *start_mhd(struct jpud_server *s, struct listener *l, int listen_fd,
                                    struct sockaddr_storage *ss)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	if (ss && ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(
	        flags, 0, NULL, NULL, handle, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
	        MHD_OPTION_NOTIFY_CONNECTION, on_connection, l, MHD_OPTION_NOTIFY_COMPLETED,
	        request_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, s->timeout_sec,
	        MHD_OPTION_CONNECTION_LIMIT, (unsigned)JPUD_CONN_LIMIT,
	        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)JPUD_CONN_MEM,
	        listen_fd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_SOCK_ADDR,
	        listen_fd >= 0 ? (void *)(intptr_t)listen_fd : (void *)ss, MHD_OPTION_END);
}

static void *discover_main(void *arg)
{
	struct jpud_server *s = arg;
	struct timespec until;

	for (;;) {
		pthread_rwlock_rdlock(&s->engine_lock);
		if (s->engine)
			jpud_scopes_discover(s->scopes, s->engine);
		pthread_rwlock_unlock(&s->engine_lock);

		pthread_mutex_lock(&s->lock);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += s->discover_sec;
		while (!s->discover_stop &&
		       pthread_cond_timedwait(&s->discover_cond, &s->lock, &until) == 0)
			break; /* signalled: a new engine wants its scopes now */
		if (s->discover_stop) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		pthread_mutex_unlock(&s->lock);
	}
}

int jpud_server_new(const struct jpud_server_opts *o, jpu_engine *engine, struct jpud_server **ret)
{
	struct jpud_server *s;
	int r;

	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->unix_fd = -1;
	s->procfs_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->prom_lock, NULL);
	pthread_rwlock_init(&s->engine_lock, NULL);
	s->engine = engine;
	s->allow_system = o->allow_system;
	s->timeout_sec = o->timeout_sec ? o->timeout_sec : 10;
	s->scopes = o->scopes;
	s->discover_sec = o->discover_sec ? o->discover_sec : 10;
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->discover_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->log.fn = o->log;
	s->log.userdata = o->log_userdata;
	jpud_ratelimit_init(&s->rl, o->rate_per_sec, o->rate_burst);

	s->procfs_fd =
	        open(o->procfs_root ? o->procfs_root : "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->procfs_fd < 0) {
		r = -errno;
		goto fail;
	}
	if (o->socket_path && *o->socket_path) {
		r = bind_unix(o->socket_path, &s->unix_fd);
		if (r < 0) {
			jpu_logf(&s->log, JPU_LOG_ERR, "socket %s: %s", o->socket_path,
			         strerror(-r));
			goto fail;
		}
		s->socket_path = strdup(o->socket_path);
		s->unix_l = (struct listener){.s = s, .tcp = false};
		s->unix_d = start_mhd(s, &s->unix_l, s->unix_fd, NULL);
		if (!s->unix_d) {
			r = -EIO;
			goto fail;
		}
	}
	if (o->listen && *o->listen) {
		struct sockaddr_storage ss;

		r = parse_listen(o->listen, &ss);
		if (r < 0) {
			jpu_logf(&s->log, JPU_LOG_ERR,
			         "listen %s: not a numeric HOST:PORT (127.0.0.1:9877, [::1]:9877)",
			         o->listen);
			goto fail;
		}
		s->tcp_l = (struct listener){.s = s, .tcp = true};
		s->tcp_d = start_mhd(s, &s->tcp_l, -1, &ss);
		if (!s->tcp_d) {
			jpu_logf(&s->log, JPU_LOG_ERR, "listen %s: cannot bind (in use?)",
			         o->listen);
			r = -EADDRINUSE;
			goto fail;
		}
	}
	if (s->scopes) {
		r = -pthread_create(&s->discover_thread, NULL, discover_main, s);
		if (r < 0)
			goto fail;
		s->discover_running = true;
	}
	*ret = s;
	return 0;
fail:
	jpud_server_free(s);
	return r;
}

void jpud_server_set_engine(struct jpud_server *s, jpu_engine *engine)
{
	pthread_rwlock_wrlock(&s->engine_lock);
	s->engine = engine;
	/* the next engine counts its seq from 1 again */
	prom_clear(s);
	/* a new engine (a reload) learns every scope again; their totals
	 * come back from the state file by key */
	if (engine)
		jpud_scopes_replay(s->scopes, engine);
	pthread_rwlock_unlock(&s->engine_lock);
	pthread_mutex_lock(&s->lock);
	pthread_cond_signal(&s->discover_cond); /* discover now */
	pthread_mutex_unlock(&s->lock);
}

void jpud_server_set_policy(struct jpud_server *s, unsigned per_sec, unsigned burst,
                            bool allow_system)
{
	pthread_mutex_lock(&s->lock);
	jpud_ratelimit_init(&s->rl, per_sec, burst);
	s->allow_system = allow_system;
	pthread_mutex_unlock(&s->lock);
}

struct jpud_server *jpud_server_free(struct jpud_server *s)
{
	if (!s)
		return NULL;
	if (s->discover_running) {
		pthread_mutex_lock(&s->lock);
		s->discover_stop = true;
		pthread_cond_signal(&s->discover_cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->discover_thread, NULL);
	}
	if (s->tcp_d)
		MHD_stop_daemon(s->tcp_d);
	if (s->unix_d)
		MHD_stop_daemon(s->unix_d);
	if (s->unix_fd >= 0)
		close(s->unix_fd);
	if (s->socket_path) {
		unlink(s->socket_path);
		free(s->socket_path);
	}
	if (s->procfs_fd >= 0)
		close(s->procfs_fd);
	prom_clear(s);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->prom_lock);
	pthread_rwlock_destroy(&s->engine_lock);
	pthread_cond_destroy(&s->discover_cond);
	free(s);
	return NULL;
}
