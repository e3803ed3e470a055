/*
 * tenreg - command-line front to libtenreg.
 *
 *   tenreg normalize [--hex]          Host values on stdin -> host keys
 *   tenreg resolve --tenants FILE     Host values on stdin -> tenant, health
 *
 * tool.h says where each part lives.
 */

#include "tool.h" /* first: it sets _POSIX_C_SOURCE */

#include <errno.h>
#include <string.h>

static const char usage_text[] =
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
    "\n"
    "resolve\n"
    "  Loads the tenants of FILE, then resolves each line of standard input\n"
    "  (a raw Host value or URL, read as for normalize) with tenreg_resolve()\n"
    "  and prints one line:\n"
    "    HOST<TAB>TENANT<TAB>HEALTH        served; HEALTH is pending, healthy,\n"
    "                                      unverified or disabled\n"
    "    HOST<TAB>TENANT<TAB>ERROR <CODE>  known tenant without a platform:\n"
    "                                      EPENDING (not built yet), EFACTORY or\n"
    "                                      EVALIDATOR (the build this line\n"
    "                                      started or waited for failed),\n"
    "                                      EDISABLED (an earlier build failed)\n"
    "    HOST<TAB>-<TAB>ERROR <CODE>       ENOENT (no tenant has this host) or\n"
    "                                      EINVAL (the host does not normalize)\n"
    "  HOST and TENANT are echoed as read, except that '\\' and bytes outside\n"
    "  printable ASCII (tab, CR, NUL, non-ASCII...) are written as \\xHH.\n"
    "\n"
    "  FILE has one tenant per line:  tenant_id,agent_url[,lazy]\n"
    "  Fields are trimmed of spaces and tabs and cannot contain commas (no\n"
    "  quoting). Blank lines and lines whose first non-blank byte is '#' are\n"
    "  ignored; CRLF line ends are accepted. Eager tenants get a demo platform\n"
    "  and are validated while loading, so they start healthy (disabled with\n"
    "  --validator never); lazy tenants get a demo factory and are built by\n"
    "  their first resolve. Every bad line (wrong field count, unknown third\n"
    "  field, empty or over-long id, duplicate id, URL that does not normalize,\n"
    "  host of another tenant) is reported on standard error as\n"
    "  \"FILE:LINE: reason (TENREG_E...)\"; if there is any, nothing is resolved\n"
    "  and the exit status is 1.\n"
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
    "(out of memory, I/O error, or the library broke its contract).\n";

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
        fputs(usage_text, stdout);
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
