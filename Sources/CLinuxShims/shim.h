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
#include <sched.h>

extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
#endif
