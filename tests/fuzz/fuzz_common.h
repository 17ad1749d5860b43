/* fuzz_common.h - helpers of the libFuzzer harnesses: the readers under test
 * take file paths, so each input is written to a file in a private
 * directory under /dev/shm (tmpfs) first. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[256];

/* Write data to DIR/name (created once per process); returns the path. */
static const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    static char path[512];
    if (!fuzz_dir[0]) {
        snprintf(fuzz_dir, sizeof fuzz_dir, "/dev/shm/als-fuzz.%ld", (long)getpid());
        if (access("/dev/shm", W_OK) != 0)
            snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/als-fuzz.%ld", (long)getpid());
        char cmd[300];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", fuzz_dir);
        if (system(cmd) != 0)
            abort();
    }
    snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    return path;
}

#endif
