/* util.c - error messages, escaping of user bytes, hex, option parsing. */

#include "tool.h" /* first: it sets _POSIX_C_SOURCE */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* "tenreg: <message><tail>" on stderr. */
static void message(const char *fmt, va_list ap, const char *tail)
{
    fputs("tenreg: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(tail, stderr);
}

int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message(fmt, ap, "\nTry 'tenreg --help'.\n");
    va_end(ap);
    return EXIT_USAGE;
}

int runtime_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message(fmt, ap, "\n");
    va_end(ap);
    return EXIT_RUNTIME;
}

/* "EINVAL" for TENREG_EINVAL: the output format names codes without the
 * prefix, and tenreg_err_name() is the one source of the names. */
const char *code_name(int err)
{
    const char *name = tenreg_err_name(err);
    static const char prefix[] = "TENREG_";
    if (strncmp(name, prefix, sizeof prefix - 1) == 0)
        return name + sizeof prefix - 1;
    return name;
}

static bool byte_is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '\\';
}

/* Echoes user bytes so that one input stays one output line and one TSV
 * field whatever it contains: an embedded tab, CR or NUL would otherwise
 * break the format the tests and scripts read. */
void put_escaped(FILE *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (byte_is_plain(c))
            fputc(c, out);
        else
            fprintf(out, "\\x%02X", c);
    }
}

/* As put_escaped, into @dst (QUOTE_CAP bytes), cut after QUOTE_MAX_BYTES
 * input bytes: for messages, where a 10 kB URL helps nobody. */
const char *quote(char *dst, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = len < QUOTE_MAX_BYTES ? len : QUOTE_MAX_BYTES;
    char *p = dst;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (byte_is_plain(c)) {
            *p++ = (char)c;
        } else {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    if (n < len) {
        memcpy(p, "...", 3);
        p += 3;
    }
    *p = '\0';
    return dst;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes @len hex digits into @out (room for len / 2 bytes) in place-safe
 * order (out may equal in). Returns the byte count, or -1 if @len is odd or
 * a byte is not a hex digit. */
long hex_decode(const char *in, size_t len, char *out)
{
    if (len % 2 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_value((unsigned char)in[i]);
        int lo = hex_value((unsigned char)in[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (char)(hi << 4 | lo);
    }
    return (long)(len / 2);
}

/* Length of the line getline() returned, without its '\n' (if any). */
size_t line_length(const char *line, ssize_t n)
{
    size_t len = (size_t)n;
    if (len > 0 && line[len - 1] == '\n')
        len--;
    return len;
}

/* Matches "--name VALUE" and "--name=VALUE" at argv[*i]. Returns 1 and sets
 * *value (advancing *i past a separate value), 0 if argv[*i] is another
 * option, -1 if the value is missing. */
int option_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}
