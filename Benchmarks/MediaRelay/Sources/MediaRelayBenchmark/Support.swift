import CMediaRelaySystem
import Glibc

/// Fails the benchmark with a message on stderr (a benchmark that cannot measure says why).
func fail(_ message: String) -> Never {
    cmr_write_stderr("media-relay: \(message)\n")
    exit(1)
}

/// The monotonic clock, in nanoseconds.
func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// The calling thread's CPU time, in nanoseconds.
func threadCPUNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// This process's CPU time (user + system, all threads), in nanoseconds.
func processCPUNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// The kernel thread id of the caller.
func currentThreadID() -> Int32 {
    cmr_gettid()
}

/// The time a thread of this process has run on a CPU, in nanoseconds: the first field of
/// `/proc/self/task/<tid>/schedstat` (the scheduler's `sum_exec_runtime`, user and system).
func threadRuntimeNanoseconds(_ tid: Int32) -> Int64 {
    guard let text = readSmallFile("/proc/self/task/\(tid)/schedstat"),
        let first = text.split(separator: " ").first, let value = Int64(first)
    else { fail("cannot read the schedstat of thread \(tid)") }
    return value
}

/// This process's resident set (`VmRSS`), in KiB.
func residentKiB() -> Int {
    guard let text = readSmallFile("/proc/self/status") else { fail("cannot read /proc/self/status") }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        if let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ Int($0) }) {
            return value
        }
    }
    fail("no VmRSS in /proc/self/status")
}

func readSmallFile(_ path: String) -> String? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes = [UInt8](repeating: 0, count: 4096)
    var total = 0
    while total < bytes.count {
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + total, $0.count - total) }
        if count <= 0 { break }
        total += count
    }
    return String(decoding: bytes[..<total], as: UTF8.self)
}

/// The machine's load averages, as `uptime` prints them.
func loadAverages() -> String {
    readSmallFile("/proc/loadavg").map { $0.split(separator: " ").prefix(3).joined(separator: " ") } ?? "?"
}

// MARK: Sockets

/// A non-blocking UDP socket bound to 127.0.0.1 (`port` 0: any free port), with large buffers.
func bindLoopbackUDP(port: UInt16 = 0, buffer: Int32 = 4 << 20) -> (descriptor: CInt, port: UInt16) {
    let descriptor = socket(AF_INET, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { fail("socket: errno \(errno)") }
    var size = buffer
    // Above rmem_max where allowed (CAP_NET_ADMIN), so a load generator that is not scheduled
    // for a moment does not lose what arrived meanwhile.
    if setsockopt(descriptor, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    var address = loopbackAddress(port: port)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { fail("bind 127.0.0.1:\(port): errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return (descriptor, UInt16(bigEndian: address.sin_port))
}

func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}

/// Preallocated datagram slots with their addresses, for `recvmmsg` and `sendmmsg` (at most
/// 64 at a time). Owned by one thread.
final class DatagramBatch {
    let capacity: Int
    let slotSize: Int
    let datagrams: UnsafeMutablePointer<cmr_datagram>
    let names: UnsafeMutablePointer<sockaddr_in>
    let storage: UnsafeMutableRawPointer
    /// Datagrams queued for sending.
    private(set) var count = 0
    /// Datagrams the kernel refused to send, and the last errno it gave.
    private(set) var refused = 0
    private(set) var lastError: CInt = 0

    init(capacity: Int, slotSize: Int) {
        precondition(capacity <= 64)
        self.capacity = capacity
        self.slotSize = slotSize
        datagrams = .allocate(capacity: capacity)
        names = .allocate(capacity: capacity)
        storage = .allocate(byteCount: capacity * slotSize, alignment: 16)
        for index in 0..<capacity {
            names[index] = sockaddr_in()
            datagrams[index] = cmr_datagram(
                address: UnsafeMutableRawPointer(names + index), address_length: UInt32(MemoryLayout<sockaddr_in>.size),
                data: storage + index * slotSize, length: slotSize
            )
        }
    }

    deinit {
        datagrams.deallocate()
        names.deallocate()
        storage.deallocate()
    }

    func slot(_ index: Int) -> UnsafeMutableRawPointer { storage + index * slotSize }

    /// Length of received datagram `index`.
    func length(_ index: Int) -> Int { datagrams[index].length }

    /// Source port of received datagram `index`.
    func sourcePort(_ index: Int) -> UInt16 { UInt16(bigEndian: names[index].sin_port) }

    /// Receives up to ``capacity`` datagrams without blocking; returns how many.
    func receive(from descriptor: CInt) -> Int {
        for index in 0..<capacity {
            datagrams[index].length = slotSize
            datagrams[index].address_length = UInt32(MemoryLayout<sockaddr_in>.size)
        }
        let received = cmr_recvmmsg(descriptor, datagrams, UInt32(capacity))
        return received > 0 ? Int(received) : 0
    }

    /// Sends the first `count` datagrams back to where they came from, each with its length.
    func echo(on descriptor: CInt, count: Int) {
        var sent = 0
        while sent < count {
            let result = cmr_sendmmsg(descriptor, datagrams + sent, UInt32(count - sent))
            if result <= 0 { break }
            sent += Int(result)
        }
    }

    /// Room for the next datagram to send, or nil when full.
    var nextSlot: UnsafeMutableRawPointer? { count < capacity ? slot(count) : nil }

    /// Queues the datagram written in ``nextSlot`` for `port` on 127.0.0.1.
    func queue(length: Int, to port: UInt16) {
        names[count] = loopbackAddress(port: port)
        datagrams[count].length = length
        datagrams[count].address_length = UInt32(MemoryLayout<sockaddr_in>.size)
        count += 1
    }

    /// Sends what is queued; returns how many datagrams the kernel took.
    @discardableResult
    func send(on descriptor: CInt) -> Int {
        var sent = 0
        while sent < count {
            let result = cmr_sendmmsg(descriptor, datagrams + sent, UInt32(count - sent))
            if result <= 0 {
                lastError = errno
                // This datagram is dropped; the rest are tried.
                refused += 1
                sent += 1
                continue
            }
            sent += Int(result)
        }
        count = 0
        return sent
    }
}

// MARK: The control pipe between the load generator and the gateway process

/// Line-oriented reading and writing over a pair of descriptors.
final class LineChannel {
    private let input: UnsafeMutablePointer<FILE>
    private let output: UnsafeMutablePointer<FILE>

    init(input: CInt, output: CInt) {
        guard let reading = fdopen(input, "r"), let writing = fdopen(output, "w") else { fail("fdopen failed") }
        self.input = reading
        self.output = writing
    }

    func send(_ line: String) {
        fputs(line + "\n", output)
        fflush(output)
    }

    /// The next line without its newline, or nil at end of file.
    func receive() -> String? {
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        guard getline(&line, &capacity, input) > 0, let line else { return nil }
        var text = String(cString: line)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}

/// `key=value` fields of a control line.
func fields(_ line: String) -> [String: String] {
    var result: [String: String] = [:]
    for word in line.split(separator: " ") {
        guard let equals = word.firstIndex(of: "=") else { continue }
        result[String(word[..<equals])] = String(word[word.index(after: equals)...])
    }
    return result
}

/// A child process running this executable with `arguments`, talking over its stdin and stdout.
final class ChildProcess {
    let pid: pid_t
    let channel: LineChannel

    /// `environment` is added to this process's environment for the child (`NAME=value`).
    init(arguments: [String], environment: [String] = []) {
        var toChild: [CInt] = [0, 0]
        var fromChild: [CInt] = [0, 0]
        guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else { fail("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        for descriptor in toChild + fromChild { posix_spawn_file_actions_addclose(&actions, descriptor) }
        let executable = "/proc/self/exe"
        let argv: [UnsafeMutablePointer<CChar>?] = ([CommandLine.arguments[0]] + arguments).map { strdup($0) } + [nil]
        var pid: pid_t = 0
        var inherited: [UnsafeMutablePointer<CChar>?] = []
        var index = 0
        while let entry = environ[index] {
            inherited.append(entry)
            index += 1
        }
        let added: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) }
        let envp = inherited + added + [nil]
        let status = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        for pointer in argv + added { free(pointer) }
        posix_spawn_file_actions_destroy(&actions)
        guard status == 0 else { fail("posix_spawn: \(status)") }
        close(toChild[0])
        close(fromChild[1])
        self.pid = pid
        channel = LineChannel(input: fromChild[0], output: toChild[1])
    }

    /// Sends `line` and returns the answer's fields; fails the run on end of file or an ERROR line.
    func request(_ line: String) -> [String: String] {
        channel.send(line)
        guard let answer = channel.receive() else { fail("the gateway process ended (request: \(line.prefix(40)))") }
        if answer.hasPrefix("ERROR") { fail("gateway: \(answer)") }
        return fields(answer)
    }

    func finish() {
        channel.send("QUIT")
        var status: CInt = 0
        waitpid(pid, &status, 0)
    }
}

// MARK: Allocations

/// The heap-allocation counters of `AllocationCounter/counter.c` when it is preloaded into this
/// process (the gateway, `--allocation-counter`), found with `dlsym`; nil otherwise.
struct AllocationCounter {
    private let total: @convention(c) () -> Int
    private let ofThread: @convention(c) (Int32) -> Int

    static let preloaded: AllocationCounter? = {
        guard let total = dlsym(nil, "switchboard_allocation_count"), let ofThread = dlsym(nil, "switchboard_allocation_count_of_thread")
        else { return nil }
        return AllocationCounter(
            total: unsafeBitCast(total, to: (@convention(c) () -> Int).self),
            ofThread: unsafeBitCast(ofThread, to: (@convention(c) (Int32) -> Int).self)
        )
    }()

    /// Allocations by every thread of the process so far.
    var process: Int { total() }

    /// Allocations by the thread `tid` so far.
    func thread(_ tid: Int32) -> Int { ofThread(tid) }
}
