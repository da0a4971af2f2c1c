/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jpud's settings: defaults, then the configuration file (--config FILE,
 * `key = value` lines with the long options' names), then the command
 * line. Every bad value is refused at start-up (and at reload) with a
 * message naming the setting.
 */
#ifndef JPUD_CONFIG_H
#define JPUD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JPUD_DEFAULT_SOCKET "/run/jpu/jpud.sock"
#define JPUD_DEFAULT_LISTEN "127.0.0.1:9877"
#define JPUD_DEFAULT_STATE  "/var/lib/jpu/jpud.state"
#define JPUD_MIN_INTERVAL   1000000 /* µs: never a faster oracle than 1 s */

struct jpud_config {
	char *config_file; /* "" = none */
	char *socket_path; /* "" = no socket API */
	char *listen;      /* "" = no Prometheus listener */
	char *sysfs_root, *procfs_root;
	char *container_logs; /* kubelet's /var/log/containers: pod, namespace, container names */
	char *nvml_library;   /* NULL = the driver's, "" = GPUs off */
	char *state_file;     /* "" = none */
	char *user;           /* account to run as when started as root */
	char *country;        /* ISO 3166-1 alpha-2, "" = the engine's default */
	uint64_t interval_usec;
	uint32_t intensity_mg_per_kwh; /* 0 = provider */
	unsigned rate_per_sec, rate_burst;
	unsigned timeout_sec;
	bool allow_system;
	bool process_metrics;  /* per-process (tracked tree) series in Prometheus */
	unsigned history_len;  /* samples kept per user, container and tracked tree */
	unsigned discover_sec; /* seconds between passes for new users and containers */
	int log_level;
};

/* Fill `c` from defaults, the file and argv. Returns 0, 1 when --help or
 * --version was answered, or -EINVAL after writing why to `err`. */
int jpud_config_load(struct jpud_config *c, int argc, char **argv, FILE *err);
void jpud_config_free(struct jpud_config *c);

#endif /* JPUD_CONFIG_H */
