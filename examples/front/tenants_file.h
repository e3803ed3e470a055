/*
 * tenants_file.h - load the startup tenants from a CSV file.
 *
 * Same format as `tenreg resolve --tenants`: one `tenant_id,agent_url[,lazy]`
 * per line, fields trimmed of spaces and tabs, blank lines and lines whose
 * first non-blank byte is '#' ignored, CRLF accepted. The front also
 * requires ids of [A-Za-z0-9._~-] (they appear in admin URL paths). Every
 * bad line is reported as "FILE:LINE: reason"; any bad line fails the load,
 * so the server never starts with half of its tenants.
 */
#ifndef FRONT_TENANTS_FILE_H
#define FRONT_TENANTS_FILE_H

#include "backend.h"

/* Returns the number of tenants loaded, or -1 after reporting errors. */
long tenants_file_load(struct backend *b, const char *path);

#endif
