// The workers behind parallelFor: threads that stay awake between the short parallel regions of a
// training step. On the 2-core VMs this project runs on, handing a region to a sleeping dispatch
// worker costs ~50 µs, longer than most of the graph network's products take; a worker that spins
// for a while after each region picks the next one up in well under a microsecond.
#include "kernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#define SRGNN_POOL_MAX 64
// How long an idle worker spins before it sleeps: longer than the serial gaps inside a step,
// short enough that an idle service does not keep a core busy.
#define SRGNN_POOL_SPIN_NS 300000L

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static atomic_int pool_busy = 0;      // one region at a time; a second caller falls back
static atomic_int pool_sleeping = 0;  // workers waiting on pool_wake
static int pool_threads = 0;          // workers started so far (guarded by pool_busy)

// Worker i's mailbox: the caller posts a region by writing body and context, then bumping
// posted; the worker runs it and sets completed to the same number. Own cache line each.
typedef struct {
    _Alignas(64) atomic_long posted;
    atomic_long completed;
    srgnn_parallel_body body;
    void *context;
} pool_slot;
static pool_slot pool_slots[SRGNN_POOL_MAX];

// One wait step of a spinning thread. Every 64th step yields the core: when more threads are
// runnable than there are cores (a neighbour's process, the service's event loops), a spinner
// that never yields can push the thread doing the work off its core for a whole time slice.
static inline void pool_pause(unsigned step) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
    if (step % 64 == 63) sched_yield();
}

static long pool_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void *pool_worker(void *argument) {
    pool_slot *slot = &pool_slots[(intptr_t)argument];
    long seen = 0;
    for (;;) {
        // Spin for the next region, then sleep until one is posted.
        long start = pool_now_ns();
        unsigned spins = 0;
        while (atomic_load_explicit(&slot->posted, memory_order_acquire) == seen) {
            pool_pause(spins);
            if (++spins % 256 == 0 && pool_now_ns() - start > SRGNN_POOL_SPIN_NS) {
                pthread_mutex_lock(&pool_lock);
                atomic_fetch_add(&pool_sleeping, 1);
                // seq_cst with the caller's bump-then-check: one of the two sees the other.
                while (atomic_load(&slot->posted) == seen) pthread_cond_wait(&pool_wake, &pool_lock);
                atomic_fetch_sub(&pool_sleeping, 1);
                pthread_mutex_unlock(&pool_lock);
            }
        }
        seen = atomic_load_explicit(&slot->posted, memory_order_acquire);
        slot->body(slot->context, (int)(slot - pool_slots));
        atomic_store_explicit(&slot->completed, seen, memory_order_release);
    }
    return NULL;
}

int srgnn_parallel_run(int workers, srgnn_parallel_body body, void *context) {
    if (workers < 2 || workers > SRGNN_POOL_MAX) return 0;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&pool_busy, &expected, 1)) return 0;  // in use, or nested
    while (pool_threads < workers - 1) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, pool_worker, (void *)(intptr_t)(pool_threads + 1)) != 0) break;
        pthread_detach(thread);
        pool_threads++;
    }
    if (pool_threads < workers - 1) {
        atomic_store(&pool_busy, 0);
        return 0;
    }
    for (int i = 1; i < workers; i++) {
        pool_slots[i].body = body;
        pool_slots[i].context = context;
        atomic_fetch_add(&pool_slots[i].posted, 1);
    }
    if (atomic_load(&pool_sleeping) > 0) {
        pthread_mutex_lock(&pool_lock);
        pthread_cond_broadcast(&pool_wake);
        pthread_mutex_unlock(&pool_lock);
    }
    body(context, 0);
    for (int i = 1; i < workers; i++) {
        long posted = atomic_load_explicit(&pool_slots[i].posted, memory_order_relaxed);
        for (unsigned step = 0; atomic_load_explicit(&pool_slots[i].completed, memory_order_acquire) != posted; step++)
            pool_pause(step);
    }
    atomic_store_explicit(&pool_busy, 0, memory_order_release);
    return 1;
}

int64_t srgnn_take_next(int64_t *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }
