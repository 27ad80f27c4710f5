#define _GNU_SOURCE
#include "CMediaRelaySystem.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define CMR_BATCH 64

int cmr_recvmmsg(int descriptor, cmr_datagram *datagrams, unsigned count) {
    struct mmsghdr headers[CMR_BATCH];
    struct iovec vectors[CMR_BATCH];
    if (count > CMR_BATCH) count = CMR_BATCH;
    memset(headers, 0, sizeof(struct mmsghdr) * count);
    for (unsigned index = 0; index < count; index++) {
        vectors[index].iov_base = datagrams[index].data;
        vectors[index].iov_len = datagrams[index].length;
        headers[index].msg_hdr.msg_name = datagrams[index].address;
        headers[index].msg_hdr.msg_namelen = datagrams[index].address_length;
        headers[index].msg_hdr.msg_iov = &vectors[index];
        headers[index].msg_hdr.msg_iovlen = 1;
    }
    int received;
    do {
        received = recvmmsg(descriptor, headers, count, MSG_DONTWAIT, NULL);
    } while (received < 0 && errno == EINTR);
    for (int index = 0; index < received; index++) {
        datagrams[index].length = headers[index].msg_len;
        datagrams[index].address_length = headers[index].msg_hdr.msg_namelen;
    }
    return received;
}

int cmr_sendmmsg(int descriptor, const cmr_datagram *datagrams, unsigned count) {
    struct mmsghdr headers[CMR_BATCH];
    struct iovec vectors[CMR_BATCH];
    if (count > CMR_BATCH) count = CMR_BATCH;
    memset(headers, 0, sizeof(struct mmsghdr) * count);
    for (unsigned index = 0; index < count; index++) {
        vectors[index].iov_base = datagrams[index].data;
        vectors[index].iov_len = datagrams[index].length;
        headers[index].msg_hdr.msg_name = datagrams[index].address;
        headers[index].msg_hdr.msg_namelen = datagrams[index].address_length;
        headers[index].msg_hdr.msg_iov = &vectors[index];
        headers[index].msg_hdr.msg_iovlen = 1;
    }
    int sent;
    do {
        sent = sendmmsg(descriptor, headers, count, 0);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

int cmr_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cmr_epoll_add(int epoll, int descriptor) {
    struct epoll_event event;
    memset(&event, 0, sizeof(event));
    event.events = EPOLLIN;
    event.data.fd = descriptor;
    return epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event);
}

int cmr_epoll_wait(int epoll, int *descriptors, int capacity, int timeout) {
    struct epoll_event events[256];
    if (capacity > 256) capacity = 256;
    int ready;
    do {
        ready = epoll_wait(epoll, events, capacity, timeout);
    } while (ready < 0 && errno == EINTR);
    for (int index = 0; index < ready; index++) descriptors[index] = events[index].data.fd;
    return ready;
}

int cmr_gettid(void) { return (int)syscall(SYS_gettid); }

void cmr_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

void cmr_write_stderr(const char *text) {
    fputs(text, stderr);
    fflush(stderr);
}

size_t cmr_heap_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}
