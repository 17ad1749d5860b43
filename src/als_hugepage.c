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

const char *als_huge_thp_mode(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return "unknown";
    char line[128] = "";
    const char *mode = "unknown";
    if (fgets(line, sizeof line, f)) {
        /* e.g. "always [madvise] never": the bracketed word is in force. */
        if (strstr(line, "[always]"))
            mode = "always";
        else if (strstr(line, "[madvise]"))
            mode = "madvise";
        else if (strstr(line, "[never]"))
            mode = "never";
    }
    fclose(f);
    return mode;
}

int als_huge_available(void)
{
    const char *m = als_huge_thp_mode();
    return strcmp(m, "always") == 0 || strcmp(m, "madvise") == 0;
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
        } else if (in && sscanf(line, "AnonHugePages: %" SCNd64 " kB", &kb) == 1) {
            uintptr_t os = a > lo ? a : lo, oe = b < hi ? b : hi;
            int64_t huge = kb * 1024, overlap = (int64_t)(oe - os);
            total += huge < overlap ? huge : overlap;
        }
    }
    fclose(f);
    return total;
}
