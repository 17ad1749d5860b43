/* als_hugepage.c - the factor matrices on transparent huge pages. */
#include "als_hugepage.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Bytes of the mapping behind a huge allocation of `bytes`: whole 2 MiB
 * pages. */
static size_t huge_span(size_t bytes)
{
    return (bytes + ALS_HUGE_PAGE - 1) & ~(ALS_HUGE_PAGE - 1);
}

void *als_huge_alloc(size_t bytes, int want)
{
    if (!want || bytes < ALS_HUGE_PAGE)
        return malloc(bytes);
    /* A fresh mapping, not the heap: heap memory that malloc used before
     * is already on 4 KiB pages, and a page fault gives a huge page only
     * where none of its 2 MiB is populated yet. Map one page more, keep the
     * 2 MiB-aligned part, unmap the rest. */
    size_t span = huge_span(bytes);
    char *raw = mmap(NULL, span + ALS_HUGE_PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *p = (char *)(((uintptr_t)raw + ALS_HUGE_PAGE - 1) & ~(uintptr_t)(ALS_HUGE_PAGE - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    if (p + span < raw + span + ALS_HUGE_PAGE)
        munmap(p + span, (size_t)(raw + span + ALS_HUGE_PAGE - (p + span)));
#ifdef MADV_HUGEPAGE
    (void)madvise(p, span, MADV_HUGEPAGE); /* refused (THP never): ordinary pages */
#endif
    return p;
}

void als_huge_free(void *p, size_t bytes, int want)
{
    if (!p)
        return;
    if (!want || bytes < ALS_HUGE_PAGE)
        free(p);
    else
        munmap(p, huge_span(bytes));
}

/* The bracketed word of a /sys/kernel/mm/transparent_hugepage file
 * ("always [madvise] never"), one of words[], or "unknown". */
static const char *thp_setting(const char *path, const char *const *words, int nwords)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return "unknown";
    char line[256] = "", want[64];
    const char *mode = "unknown";
    if (fgets(line, sizeof line, f))
        for (int i = 0; i < nwords; i++) {
            snprintf(want, sizeof want, "[%s]", words[i]);
            if (strstr(line, want))
                mode = words[i];
        }
    fclose(f);
    return mode;
}

const char *als_huge_thp_mode(void)
{
    static const char *const w[] = {"always", "madvise", "never"};
    return thp_setting("/sys/kernel/mm/transparent_hugepage/enabled", w, 3);
}

int als_huge_available(void)
{
    const char *m = als_huge_thp_mode();
    return strcmp(m, "always") == 0 || strcmp(m, "madvise") == 0;
}

const char *als_huge_shmem_mode(void)
{
    static const char *const w[] = {"always", "within_size", "advise", "never", "deny", "force"};
    return thp_setting("/sys/kernel/mm/transparent_hugepage/shmem_enabled", w, 6);
}

void als_huge_mount_option(const char *mounts, const char *dir, char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen(mounts, "r");
    if (!f)
        return;
    char line[1024];
    size_t best = 0;
    while (fgets(line, sizeof line, f)) {
        char dev[256], mnt[512], type[64], opts[512];
        if (sscanf(line, "%255s %511s %63s %511s", dev, mnt, type, opts) != 4)
            continue;
        size_t n = strlen(mnt);
        int prefix = strncmp(dir, mnt, n) == 0 &&
                     (dir[n] == '\0' || dir[n] == '/' || (n == 1 && mnt[0] == '/'));
        if (!prefix || n < best)
            continue;
        best = n;
        const char *h = strstr(opts, "huge=");
        if (h) {
            size_t len = strcspn(h + 5, ",");
            snprintf(out, cap, "%.*s", (int)(len < 32 ? len : 32), h + 5);
        } else {
            snprintf(out, cap, "never");
        }
    }
    fclose(f);
}

int als_huge_shm_available(const char *dir, char *why, size_t cap)
{
    const char *sys = als_huge_shmem_mode();
    char mnt[64];
    als_huge_mount_option("/proc/mounts", dir, mnt, sizeof mnt);
    if (why)
        snprintf(why, cap, "%s mounted huge=%s, shmem_enabled %s", dir, mnt, sys);
    if (strcmp(sys, "force") == 0)
        return 1;
    if (strcmp(sys, "deny") == 0)
        return 0;
    return strcmp(mnt, "always") == 0 || strcmp(mnt, "within_size") == 0 ||
           strcmp(mnt, "advise") == 0;
}

void als_huge_advise(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    if (!p || bytes == 0)
        return;
    const uintptr_t pg = 4096, a = (uintptr_t)p & ~(pg - 1);
    const uintptr_t e = ((uintptr_t)p + bytes + pg - 1) & ~(pg - 1);
    (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p, (void)bytes;
#endif
}

int64_t als_huge_backed(const void *p, size_t bytes)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    const uintptr_t lo = (uintptr_t)p, hi = lo + bytes;
    uintptr_t a = 0, b = 0;
    int in = 0;
    int64_t total = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        uintptr_t s, e;
        int64_t kb;
        /* A mapping's header line: "start-end perms offset dev inode path". */
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &s, &e) == 2) {
            a = s, b = e;
            in = s < hi && e > lo;
        } else if (in && (sscanf(line, "AnonHugePages: %" SCNd64 " kB", &kb) == 1 ||
                          sscanf(line, "ShmemPmdMapped: %" SCNd64 " kB", &kb) == 1)) {
            uintptr_t os = a > lo ? a : lo, oe = b < hi ? b : hi;
            int64_t huge = kb * 1024, overlap = (int64_t)(oe - os);
            total += huge < overlap ? huge : overlap;
        }
    }
    fclose(f);
    return total;
}
