/* als_hugepage.h - the factor matrices on transparent huge pages (local).
 *
 * Every rating reads one random row of the other side's factors: over a U of
 * 25 MB on 4 KiB pages that is a TLB miss and a page walk per row, paid
 * again by every tile pass of a Gram that reads the rows in place. On 2 MiB
 * pages the whole matrix needs a few dozen TLB entries. Linux gives such
 * pages to anonymous memory that asks for them (madvise(MADV_HUGEPAGE)) when
 * /sys/kernel/mm/transparent_hugepage/enabled is "madvise" or "always"; with
 * "never" the request is a no-op and the memory is ordinary.
 */
#ifndef ALS_HUGEPAGE_H
#define ALS_HUGEPAGE_H

#include <stddef.h>
#include <stdint.h>

#define ALS_HUGE_PAGE ((size_t)2 << 20)

/* malloc(bytes), or, when want != 0 and bytes >= ALS_HUGE_PAGE, a fresh
 * anonymous mapping aligned to and rounded up to 2 MiB, with
 * madvise(MADV_HUGEPAGE) (a refused madvise leaves ordinary pages: not an
 * error). NULL when out of memory. Release with als_huge_free and the same
 * bytes and want. Local. */
void *als_huge_alloc(size_t bytes, int want);
void als_huge_free(void *p, size_t bytes, int want);

/* The system's transparent huge page mode: "always", "madvise", "never", or
 * "unknown" when /sys does not say (not Linux, or no THP support). Local. */
const char *als_huge_thp_mode(void);

/* 1 when als_huge_alloc(.., 1) can get huge pages here (mode always or
 * madvise). Local. */
int als_huge_available(void);

/* Shared memory. Open MPI's shared windows are files in a tmpfs (/dev/shm);
 * a tmpfs file gets huge pages according to its mount's huge= option
 * (never, the default, always, within_size or advise), unless
 * .../transparent_hugepage/shmem_enabled is "force" (all) or "deny" (none).
 * als_huge_shmem_mode returns that sysfs word ("always", "within_size",
 * "advise", "never", "deny", "force" or "unknown");
 * als_huge_shm_available says whether a madvised mapping of a file in dir
 * can get huge pages, and writes "DIR mounted huge=X, shmem_enabled Y" to
 * why (if not NULL). Local. */
const char *als_huge_shmem_mode(void);
int als_huge_shm_available(const char *dir, char *why, size_t cap);

/* The huge= option of the mount holding dir (the longest mount point in
 * the mounts file, /proc/mounts format, that is dir or a parent of it) into
 * out: its value, "never" when the option is absent (tmpfs's default), or
 * "unknown" when no mount holds dir or the file cannot be read. Local. */
void als_huge_mount_option(const char *mounts, const char *dir, char *out, size_t cap);

/* madvise(MADV_HUGEPAGE) over the 4 KiB pages covering [p, p + bytes) of
 * an existing mapping (a shared window); failures are ignored. Local. */
void als_huge_advise(void *p, size_t bytes);

/* Bytes of [p, p + bytes) that the kernel currently backs with huge pages,
 * from the AnonHugePages (private memory) and ShmemPmdMapped (shared
 * memory) of the mappings in /proc/self/smaps that overlap the range (a
 * mapping only partly inside counts at most the overlap); -1 when smaps
 * cannot be read. Only touched pages can be backed. Local. */
int64_t als_huge_backed(const void *p, size_t bytes);

#endif
