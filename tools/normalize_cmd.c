/* normalize_cmd.c - `tenreg normalize [--hex]`: Host values on stdin -> host keys. */

#include "tool.h" /* first: it sets _POSIX_C_SOURCE */

#include <stdlib.h>
#include <string.h>

static void normalize_one(const char *in, size_t len, FILE *out)
{
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t key_len = 0;
    int r = tenreg_normalize_host(in, len, key, sizeof key, &key_len);
    if (r == 0) {
        fwrite(key, 1, key_len, out);
        fputc('\n', out);
    } else {
        fprintf(out, "ERROR %s\n", code_name(r));
    }
}

int cmd_normalize(int argc, char **argv)
{
    bool hex = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--hex") == 0)
            hex = true;
        else
            return usage_error("normalize: unknown argument '%s'", argv[i]);
    }

    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) != -1) {
        size_t len = line_length(line, n);
        if (hex) {
            long bytes = hex_decode(line, len, line);
            if (bytes < 0) {
                fputs("ERROR BADHEX\n", stdout);
                continue;
            }
            len = (size_t)bytes;
        }
        normalize_one(line, len, stdout);
    }
    int read_failed = ferror(stdin);
    free(line);
    if (read_failed)
        return runtime_error("error reading standard input");
    return EXIT_OK;
}
