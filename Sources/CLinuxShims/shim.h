#ifndef CLINUXSHIMS_H
#define CLINUXSHIMS_H
/* Linux APIs that Glibc's Swift overlay does not export. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <sys/syscall.h>

/* The number of CPUs in this process's affinity mask (honours taskset), at least 1.
   Uses the raw system call: defining _GNU_SOURCE here for cpu_set_t would give glibc types
   (fd_set) a different shape than in other modules and break clang's module merging. */
static inline int clinux_available_cpus(void) {
    unsigned long mask[64];
    long bytes = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);
    if (bytes <= 0) return 1;
    int count = 0;
    for (long i = 0; i < bytes / (long)sizeof(unsigned long); i++) count += __builtin_popcountl(mask[i]);
    return count > 0 ? count : 1;
}

/* ThreadSanitizer's annotations of a happens-before edge at `addr`, for a lock it cannot see (a futex).
   Weak: in a process without TSan's runtime the symbols are null and these do nothing. */
extern void __tsan_acquire(void *addr) __attribute__((weak));
extern void __tsan_release(void *addr) __attribute__((weak));
static inline void clinux_tsan_acquire(void *addr) { if (__tsan_acquire) __tsan_acquire(addr); }
static inline void clinux_tsan_release(void *addr) { if (__tsan_release) __tsan_release(addr); }

extern int sched_getcpu(void);
extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
#endif
