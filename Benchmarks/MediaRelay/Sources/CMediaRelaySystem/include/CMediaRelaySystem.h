#ifndef CMEDIARELAYSYSTEM_H
#define CMEDIARELAYSYSTEM_H

#include <stddef.h>
#include <stdint.h>

/// One datagram of a batch for cmr_recvmmsg / cmr_sendmmsg: a sockaddr_in and a buffer.
/// `length` is the buffer's size going in to cmr_recvmmsg and the datagram's length coming out.
typedef struct cmr_datagram {
    void *address;
    uint32_t address_length;
    void *data;
    size_t length;
} cmr_datagram;

/// recvmmsg(2) with MSG_DONTWAIT of at most 64 datagrams: how many were read, or -1 (errno).
int cmr_recvmmsg(int descriptor, cmr_datagram *datagrams, unsigned count);
/// sendmmsg(2) of at most 64 datagrams: how many were sent, or -1 (errno).
int cmr_sendmmsg(int descriptor, const cmr_datagram *datagrams, unsigned count);

/// epoll_create1(EPOLL_CLOEXEC).
int cmr_epoll_create(void);
/// Adds `descriptor` for EPOLLIN (level-triggered).
int cmr_epoll_add(int epoll, int descriptor);
/// epoll_wait(2); the ready descriptors are written to `descriptors`.
int cmr_epoll_wait(int epoll, int *descriptors, int capacity, int timeout);

/// Bytes the process's malloc holds for live allocations (mallinfo2: in use in the arenas plus
/// mmapped chunks), whatever of the heap is resident.
size_t cmr_heap_in_use(void);
/// gettid(2).
int cmr_gettid(void);
/// Line-buffers stdout, so progress shows through a pipe.
void cmr_line_buffer_stdout(void);
/// Writes `text` to stderr.
void cmr_write_stderr(const char *text);

#endif
