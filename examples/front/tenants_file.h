/*
 * tenants_file.h - the tenants file: loaded at start, and again on SIGHUP.
 *
 * One `tenant_id,agent_url[,lazy][,host=HOST]...` per line (the format of
 * `tenreg resolve --tenants`, plus host= fields: extra hosts or "*.NAME"
 * patterns, docs/design.md §8.1, tenreg backend only), fields trimmed of
 * spaces and tabs, blank lines and lines whose first non-blank byte is
 * '#' ignored, CRLF accepted. The front also requires ids of
 * [A-Za-z0-9._~-] (they appear in admin URL paths). Every bad line is
 * reported as "FILE:LINE: reason", in line order; any bad line fails the
 * load, so the server never starts (or reloads) with half of its tenants.
 *
 * The file is always loaded whole, as one change (reloader_apply): at
 * start into the empty registry, on SIGHUP over the tenants there are.
 */
#ifndef FRONT_TENANTS_FILE_H
#define FRONT_TENANTS_FILE_H

#include "reload.h"

/* Loads @path as the whole tenant set, the reloader's lock held. Returns
 * 0 and *sum, or -1 after reporting on stderr every bad line and, when
 * the set as a whole was refused, the backend's error; nothing changed. */
int tenants_file_load(struct reloader *r, const char *path, struct reload_summary *sum);

#endif
