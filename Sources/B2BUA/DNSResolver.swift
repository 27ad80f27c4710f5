import Logging
import NIOCore
import NIOPosix
import SIP

/// Why a name could not be turned into addresses.
enum DNSResolutionError: Error, Hashable {
    /// The name does not exist, or has no records of the type asked for.
    case noRecords
    /// The server did not answer in time, or answered with an error.
    case unavailable
    case badName
}

/// A small stub resolver: DNS over UDP (RFC 1035) to one recursive server, with retransmission,
/// a timeout and a short TTL cache. It lives on the signalling core's event loop and is only
/// used from there, so it takes no locks; answers are delivered on that loop.
final class DNSResolver: @unchecked Sendable {
    typealias Completion = (Result<[DNSResourceRecord], DNSResolutionError>) -> Void

    struct Question: Hashable {
        var name: String
        var type: DNSRecordType
    }

    private struct Pending {
        var question: Question
        var query: [UInt8]
        var attempts: Int
        var completions: [Completion]
        var timeout: Scheduled<Void>?
    }

    private struct CacheEntry {
        var result: Result<[DNSResourceRecord], DNSResolutionError>
        var expires: NIODeadline
    }

    static let attemptTimeout: TimeAmount = .milliseconds(800)
    static let maximumAttempts = 3
    /// Answers are kept for their TTL, at most this long; negative answers this long.
    static let maximumTTL: Int64 = 60
    static let negativeTTL: Int64 = 5
    static let cacheCapacity = 1024

    let server: SocketAddress
    private let eventLoop: any EventLoop
    private let logger: Logger
    private var channel: (any Channel)?
    private var binding = false
    private var unsent: [UInt16] = []
    private var pending: [UInt16: Pending] = [:]
    private var byQuestion: [Question: UInt16] = [:]
    private var cache: [Question: CacheEntry] = [:]
    private var generator = SystemRandomNumberGenerator()

    init(server: SocketAddress, eventLoop: any EventLoop, logger: Logger) {
        self.server = server
        self.eventLoop = eventLoop
        self.logger = logger
    }

    func close() {
        channel?.close(promise: nil)
        channel = nil
    }

    /// Looks `name` up as `type`. Answers (including CNAME records of the chain) come from the
    /// cache when they are fresh.
    func lookup(_ name: String, _ type: DNSRecordType, completion: @escaping Completion) {
        let question = Question(name: name.lowercased(), type: type)
        if let entry = cache[question] {
            if entry.expires > .now() {
                completion(entry.result)
                return
            }
            cache[question] = nil
        }
        if let id = byQuestion[question] {
            pending[id]?.completions.append(completion)
            return
        }
        let query: [UInt8]
        var id: UInt16 = 0
        repeat { id = generator.next() } while pending[id] != nil
        do {
            query = try DNSMessage.query(id: id, name: question.name, type: type)
        } catch {
            completion(.failure(.badName))
            return
        }
        pending[id] = Pending(question: question, query: query, attempts: 0, completions: [completion], timeout: nil)
        byQuestion[question] = id
        transmit(id)
    }

    private func transmit(_ id: UInt16) {
        guard var entry = pending[id] else { return }
        guard let channel else {
            unsent.append(id)
            bind()
            return
        }
        entry.attempts += 1
        entry.timeout = eventLoop.scheduleTask(in: Self.attemptTimeout) { [self] in attemptTimedOut(id) }
        pending[id] = entry
        let buffer = channel.allocator.buffer(bytes: entry.query)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: buffer), promise: nil)
    }

    private func bind() {
        guard !binding else { return }
        binding = true
        let host = server.protocol == .inet6 ? "::" : "0.0.0.0"
        DatagramBootstrap(group: eventLoop)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DNSResponseHandler(resolver: self)) }
            }
            .bind(host: host, port: 0)
            .hop(to: eventLoop)
            .whenComplete { [self] result in
                binding = false
                switch result {
                case .success(let bound):
                    channel = bound
                    let waiting = unsent
                    unsent = []
                    for id in waiting { transmit(id) }
                case .failure(let error):
                    logger.warning("DNS socket could not be opened", metadata: ["error": "\(error)"])
                    let waiting = unsent
                    unsent = []
                    for id in waiting { finish(id, with: .failure(.unavailable), ttl: 0) }
                }
            }
    }

    private func attemptTimedOut(_ id: UInt16) {
        guard let entry = pending[id] else { return }
        if entry.attempts < Self.maximumAttempts {
            transmit(id)
        } else {
            logger.debug("DNS query timed out", metadata: ["name": "\(entry.question.name)", "type": "\(entry.question.type)"])
            finish(id, with: .failure(.unavailable), ttl: 0)
        }
    }

    /// A datagram on the resolver's socket.
    func received(_ bytes: [UInt8], from source: SocketAddress) {
        guard source == server, let message = try? DNSMessage(parsing: bytes), message.isResponse,
            let entry = pending[message.id],
            message.questions.count == 1, message.questions[0].name == entry.question.name, message.questions[0].type == entry.question.type
        else { return }
        switch message.responseCode {
        case DNSMessage.noError:
            let wanted = message.answers.filter { $0.type == entry.question.type }
            if wanted.isEmpty {
                finish(message.id, with: .failure(.noRecords), ttl: Self.negativeTTL)
            } else {
                // The additional section (targets of SRV records) rides along for the caller.
                let ttl = min(Self.maximumTTL, Int64(wanted.map(\.ttl).min() ?? 0))
                finish(message.id, with: .success(wanted + message.additionals), ttl: ttl)
            }
        case DNSMessage.nameError:
            finish(message.id, with: .failure(.noRecords), ttl: Self.negativeTTL)
        default:
            finish(message.id, with: .failure(.unavailable), ttl: 0)
        }
    }

    private func finish(_ id: UInt16, with result: Result<[DNSResourceRecord], DNSResolutionError>, ttl: Int64) {
        guard let entry = pending.removeValue(forKey: id) else { return }
        entry.timeout?.cancel()
        byQuestion[entry.question] = nil
        if ttl > 0 {
            if cache.count >= Self.cacheCapacity {
                let now = NIODeadline.now()
                cache = cache.filter { $0.value.expires > now }
                if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
            }
            cache[entry.question] = CacheEntry(result: result, expires: .now() + .seconds(ttl))
        }
        for completion in entry.completions { completion(result) }
    }
}

/// Hands the resolver's datagrams to it (on the core's loop, where the socket lives).
private final class DNSResponseHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let resolver: DNSResolver

    init(resolver: DNSResolver) {
        self.resolver = resolver
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        resolver.received(Array(buffer: envelope.data), from: envelope.remoteAddress)
    }
}
