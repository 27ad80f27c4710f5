#define _GNU_SOURCE
#include "CSwitchboardSocket.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

int cswitchboard_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cswitchboard_epoll_add(int epoll, int descriptor, uint64_t token) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLIN;
    event.data.u64 = token;
    return epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event);
}

int cswitchboard_epoll_remove(int epoll, int descriptor) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    return epoll_ctl(epoll, EPOLL_CTL_DEL, descriptor, &event);
}

int cswitchboard_epoll_poll(int epoll, uint64_t *tokens, int capacity) {
    struct epoll_event events[256];
    if (capacity > 256) capacity = 256;
    int count;
    do {
        count = epoll_wait(epoll, events, capacity, 0);
    } while (count < 0 && errno == EINTR);
    for (int i = 0; i < count; i++) tokens[i] = events[i].data.u64;
    return count;
}

int cswitchboard_recv_batch(
    int descriptor, uint8_t *data, size_t size, struct sockaddr_storage *sources, uint32_t *lengths, unsigned count
) {
    struct mmsghdr messages[CSWITCHBOARD_RECV_BATCH_MAX];
    struct iovec vectors[CSWITCHBOARD_RECV_BATCH_MAX];
    if (count > CSWITCHBOARD_RECV_BATCH_MAX) count = CSWITCHBOARD_RECV_BATCH_MAX;
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned i = 0; i < count; i++) {
        vectors[i].iov_base = data + i * size;
        vectors[i].iov_len = size;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &sources[i];
        messages[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
    }
    int read;
    do {
        read = recvmmsg(descriptor, messages, count, MSG_DONTWAIT, NULL);
    } while (read < 0 && errno == EINTR);
    for (int i = 0; i < read; i++) {
        // A datagram larger than the buffer is cut (MSG_TRUNC): its length says so.
        lengths[i] = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) ? (uint32_t)size + 1 : messages[i].msg_len;
    }
    return read;
}
