/*
 * tenreg - command-line front to libtenreg.
 *
 *   tenreg normalize [--hex]          Host values on stdin -> host keys
 *   tenreg resolve --tenants FILE     Host values on stdin -> tenant, health,
 *                                     the host key or pattern that matched
 *
 * tool.h says where each part lives.
 */

#include "tool.h" /* first: it sets _POSIX_C_SOURCE */

#include <errno.h>
#include <string.h>

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* In parts: ISO C compilers need only support 4095-byte literals. */
static const char *const usage_text[] = {
    "Usage:\n"
    "  tenreg normalize [--hex]\n"
    "  tenreg resolve --tenants FILE [--wait | --nowait] [--factory-delay-ms N]\n"
    "                 [--factory ok|fail] [--validator always|never]\n"
    "  tenreg --help | --version\n"
    "\n"
    "normalize\n"
    "  Reads one input per line from standard input and prints one line per\n"
    "  input: its host key (tenreg_normalize_host), or \"ERROR <CODE>\", where\n"
    "  CODE is the error name without TENREG_ (e.g. \"ERROR EINVAL\").\n"
    "  An input is the raw line without its '\\n'; nothing else is stripped, so\n"
    "  the '\\r' of a CRLF line end is part of the input and makes it invalid,\n"
    "  as any control byte does (normalization trims only surrounding spaces\n"
    "  and tabs). A last line without '\\n' is an input too.\n"
    "  --hex   each line is the input's bytes hex-encoded, so that NUL, CR and\n"
    "          LF can be given (\"00\", \"0d\", \"0a\"; either case; an empty line\n"
    "          is the empty input). A line that is not an even number of hex\n"
    "          digits prints \"ERROR BADHEX\".\n"
    "\n",

    "resolve\n"
    "  Loads the tenants of FILE, then resolves each line of standard input\n"
    "  (a raw Host value or URL, read as for normalize) with tenreg_resolve()\n"
    "  and prints one line of four fields separated by tabs:\n"
    "    HOST  TENANT  HEALTH        MATCHED   served; HEALTH is pending, healthy,\n"
    "                                          unverified or disabled\n"
    "    HOST  TENANT  ERROR <CODE>  MATCHED   known tenant without a platform:\n"
    "                                          EPENDING (not built yet), EFACTORY\n"
    "                                          or EVALIDATOR (the build this line\n"
    "                                          started or waited for failed),\n"
    "                                          EDISABLED (an earlier build failed)\n"
    "    HOST  -       ERROR <CODE>  -         ENOENT (no tenant has this host) or\n"
    "                                          EINVAL (the host does not normalize)\n"
    "  MATCHED is what decided (tenreg_resolution.matched): the host key, when\n"
    "  a tenant holds it (agent URL or extra host), else the longest wildcard\n"
    "  pattern \"*.NAME\" whose NAME the key ends with after a dot.\n"
    "  HOST and TENANT are echoed as read, except that '\\' and bytes outside\n"
    "  printable ASCII (tab, CR, NUL, non-ASCII...) are written as \\xHH.\n"
    "\n",

    "  FILE has one tenant per line:  tenant_id,agent_url[,[lazy][,host]...]\n"
    "    acme,https://acme.example/adcp                 eager\n"
    "    acme,https://acme.example/adcp,lazy            lazy\n"
    "    acme,https://acme.example/adcp,,www.acme.example,*.acme.example\n"
    "    acme,https://acme.example/adcp,lazy,*.acme.example\n"
    "  The third field is 'lazy' or empty (eager). Every field after it is one\n"
    "  more host of the tenant (tenreg_add_host): a Host value or URL,\n"
    "  normalized like the agent URL, or a wildcard pattern \"*.NAME\" (NAME a\n"
    "  host name of one or more labels, any case, one trailing dot allowed; no\n"
    "  scheme, port, path or IPv6), which matches every name that ends with\n"
    "  \".NAME\" (a.NAME, b.a.NAME, never NAME itself). A tenant holds at most\n"
    "  " STRINGIFY(TENREG_HOSTS_MAX)
    " hosts and patterns, its agent URL's included; a host or pattern\n"
    "  belongs to one tenant only, but a host may lie under another tenant's\n"
    "  pattern (the host wins).\n"
    "  Fields are trimmed of spaces and tabs and cannot contain commas (no\n"
    "  quoting). Blank lines and lines whose first non-blank byte is '#' are\n"
    "  ignored; CRLF line ends are accepted. Eager tenants get a demo platform\n"
    "  and are validated while loading, so they start healthy (disabled with\n"
    "  --validator never); lazy tenants get a demo factory and are built by\n"
    "  their first resolve. Every bad line (too few fields, unknown third\n"
    "  field, empty or over-long id, duplicate id, URL or extra host that does\n"
    "  not normalize, bad pattern, empty host field, host or pattern of another\n"
    "  tenant, more hosts than a tenant may hold) is reported on standard error\n"
    "  as \"FILE:LINE: reason (TENREG_E...)\", once per mistake; if there is any,\n"
    "  nothing is resolved and the exit status is 1.\n"
    "\n"
    "  --tenants FILE         the tenants file (required)\n"
    "  --wait                 a cold lazy tenant is built before its line is\n"
    "                         printed (the default)\n"
    "  --nowait               resolve with TENREG_NOWAIT: a cold lazy tenant\n"
    "                         prints ERROR EPENDING and is built in the background\n"
    "  --factory-delay-ms N   the demo factory sleeps N ms (0..600000, default 0)\n"
    "  --factory ok|fail      the demo factory succeeds (default) or fails\n"
    "  --validator always|never\n"
    "                         the validator answers valid or invalid (default:\n"
    "                         no validator, which counts as always valid)\n"
    "  When an option is given twice, the last one wins.\n"
    "\n"
    "Exit status: 0 ok, 1 bad tenants file, 2 usage error, 3 runtime failure\n"
    "(out of memory, I/O error, or the library broke its contract).\n",
    NULL,
};

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* Output goes through stdio buffers: a full disk or a closed pipe shows up
 * only when they are flushed, and must not be reported as success. */
static int finish_output(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "tenreg: error writing standard output: %s\n", strerror(errno));
        return rc != EXIT_OK ? rc : EXIT_RUNTIME;
    }
    return rc;
}

int main(int argc, char **argv)
{
    int rc;
    if (argc < 2) {
        rc = usage_error("missing command");
    } else if (wants_help(argc, argv) || strcmp(argv[1], "help") == 0) {
        for (const char *const *part = usage_text; *part != NULL; part++)
            fputs(*part, stdout);
        rc = EXIT_OK;
    } else if (strcmp(argv[1], "--version") == 0) {
        printf("tenreg %s\n", tenreg_version_string());
        rc = EXIT_OK;
    } else if (strcmp(argv[1], "normalize") == 0) {
        rc = cmd_normalize(argc, argv);
    } else if (strcmp(argv[1], "resolve") == 0) {
        rc = cmd_resolve(argc, argv);
    } else {
        rc = usage_error("unknown command '%s'", argv[1]);
    }
    return finish_output(rc);
}
