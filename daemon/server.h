/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jpud's listeners (libmicrohttpd): the Unix socket API, where the caller
 * is the socket's peer credentials, and the TCP listener for Prometheus.
 * Answers are read from the engine's last snapshot: no request reads a
 * sensor or scans /proc for the figures.
 */
#ifndef JPUD_SERVER_H
#define JPUD_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "jpu/jpu.h"

struct jpud_server_opts {
	const char *socket_path; /* NULL or "" = no socket API */
	const char *listen;      /* "HOST:PORT" for /metrics; NULL or "" = none */
	const char *procfs_root; /* for peer checks */
	unsigned rate_per_sec, rate_burst;
	bool allow_system;          /* scope=system for every caller */
	unsigned timeout_sec;       /* idle connection timeout (slowloris) */
	struct jpud_scopes *scopes; /* borrowed: users, containers, trees */
	unsigned discover_sec;      /* seconds between /proc passes for new users and containers */
	jpu_log_fn log;
	void *log_userdata;
};

struct jpud_server;

/* Bind the listeners and start serving `engine` (borrowed: it must
 * outlive the server or be replaced with jpud_server_set_engine). */
int jpud_server_new(const struct jpud_server_opts *o, jpu_engine *engine, struct jpud_server **ret);
/* Swap the engine served (configuration reload); the old one is the
 * caller's to free once this returns. */
void jpud_server_set_engine(struct jpud_server *s, jpu_engine *engine);
/* Change the rate limits and the system-scope switch (reload). */
void jpud_server_set_policy(struct jpud_server *s, unsigned per_sec, unsigned burst,
                            bool allow_system);
struct jpud_server *jpud_server_free(struct jpud_server *s);

#endif /* JPUD_SERVER_H */
