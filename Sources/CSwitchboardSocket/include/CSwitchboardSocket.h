#ifndef CSWITCHBOARD_SOCKET_H
#define CSWITCHBOARD_SOCKET_H
// epoll(7) and recvmmsg(2), which Swift's Glibc module does not import, for the media sockets'
// receive path (socket.c; libc, nothing to link).
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/// The most datagrams one cswitchboard_recv_batch reads.
#define CSWITCHBOARD_RECV_BATCH_MAX 8

/// epoll_create1(EPOLL_CLOEXEC).
int cswitchboard_epoll_create(void);

/// Watches `descriptor` for input (level-triggered); its events carry `token`.
int cswitchboard_epoll_add(int epoll, int descriptor, uint64_t token);

/// Stops watching `descriptor` (which must still be open).
int cswitchboard_epoll_remove(int epoll, int descriptor);

/// epoll_wait(2) without blocking: the tokens of up to `capacity` (at most 256) ready
/// descriptors are written to `tokens`; returns how many, or -1 (errno).
int cswitchboard_epoll_poll(int epoll, uint64_t *tokens, int capacity);

/// recvmmsg(2) with MSG_DONTWAIT of up to `count` (at most CSWITCHBOARD_RECV_BATCH_MAX)
/// datagrams: the i-th lands at `data + i * size`, its length in `lengths[i]` (size + 1 when it
/// was longer than `size` and cut) and its source in `sources[i]`. One system call reads what
/// is queued, up to `count`. Returns how many were read, or -1 (errno; EAGAIN when none was
/// queued).
int cswitchboard_recv_batch(int descriptor, uint8_t *data, size_t size, struct sockaddr_storage *sources, uint32_t *lengths, unsigned count);
#endif
