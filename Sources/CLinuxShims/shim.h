#ifndef CLINUXSHIMS_H
#define CLINUXSHIMS_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Linux APIs that Glibc's Swift overlay does not export. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>

/* The number of CPUs in this process's affinity mask (honours taskset), at least 1. */
static inline int clinux_available_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
    int count = CPU_COUNT(&set);
    return count > 0 ? count : 1;
}

extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
#endif
