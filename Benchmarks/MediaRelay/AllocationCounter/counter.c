// Counts heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) per
// thread in the process it is preloaded into (LD_PRELOAD), so the relay benchmark can report
// allocations per relayed packet in the gateway process. Built and used by
// Benchmarks/media_relay.sh; the gateway finds the counters with dlsym.
//
// Each thread takes a slot of a static table on its first allocation (no allocation, no lock:
// an atomic index) and counts into it without atomics; the slot stays when the thread ends, so a
// reader never touches freed memory. Threads beyond the table share its last slot, atomically.
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SLOTS 512

struct slot {
    _Atomic long count;
    _Atomic int tid;
    char padding[64 - sizeof(long) - sizeof(int)];
};

static struct slot slots[SLOTS];
static atomic_int used;
static __thread __attribute__((tls_model("initial-exec"))) struct slot *own;

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static inline void counted(void) {
    struct slot *slot = own;
    if (__builtin_expect(slot == NULL, 0)) {
        int index = atomic_load_explicit(&used, memory_order_relaxed) >= SLOTS - 1
            ? SLOTS - 1 : atomic_fetch_add_explicit(&used, 1, memory_order_relaxed);
        if (index >= SLOTS - 1) {
            atomic_fetch_add_explicit(&slots[SLOTS - 1].count, 1, memory_order_relaxed);
            return;
        }
        slot = &slots[index];
        atomic_store_explicit(&slot->tid, (int)syscall(SYS_gettid), memory_order_relaxed);
        own = slot;
    }
    // Only this thread writes its slot: a relaxed load and store, no locked instruction.
    atomic_store_explicit(&slot->count, atomic_load_explicit(&slot->count, memory_order_relaxed) + 1, memory_order_relaxed);
}

/// Allocations by every thread so far.
long switchboard_allocation_count(void) {
    long total = 0;
    for (int index = 0; index < SLOTS; index++) total += atomic_load_explicit(&slots[index].count, memory_order_relaxed);
    return total;
}

/// Allocations by the thread `tid` so far (0 when it has not allocated).
long switchboard_allocation_count_of_thread(int tid) {
    int count = atomic_load_explicit(&used, memory_order_relaxed);
    if (count > SLOTS - 1) count = SLOTS - 1;
    for (int index = 0; index < count; index++) {
        if (atomic_load_explicit(&slots[index].tid, memory_order_relaxed) == tid) {
            return atomic_load_explicit(&slots[index].count, memory_order_relaxed);
        }
    }
    return 0;
}

void *malloc(size_t size) { counted(); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { counted(); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { counted(); return __libc_realloc(p, size); }
void *memalign(size_t alignment, size_t size) { counted(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { counted(); return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    counted();
    void *p = __libc_memalign(alignment, size);
    if (!p) return 12;
    *out = p;
    return 0;
}
