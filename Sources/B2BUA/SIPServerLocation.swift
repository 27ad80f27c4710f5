import Control
import NIOCore
import NIOPosix
import SIP

/// Where a request for a SIP URI goes: an address and a transport (RFC 3263 §4, without NAPTR).
struct LocatedServer: Hashable {
    var address: SocketAddress
    var transport: Trunk.Transport
}

extension SignallingCore {
    /// Starts resolving a destination (SIP URI or trunk id) whose host is a name, for a caller's
    /// INVITE: `body` runs with the target once it is known; if it cannot be found the caller
    /// gets 502. False (and nothing started) when the host is not a name.
    func lookUp(destination: String, for invite: SIPMessage, serverKey: SIPTransactionKey, then body: @escaping (ResolvedTarget) -> Void) -> Bool {
        var trunk: Trunk?
        var text = destination
        if destination.hasPrefix(Destination.trunkPrefix + "_") {
            guard let found = trunks.trunk(id: destination) else { return false }
            trunk = found
            text = found.uri
        }
        guard let uri = try? SIPURI(text) else { return false }
        var host = uri.host
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.lowercased() != "localhost", (try? SocketAddress(ipAddress: host, port: 0)) == nil else { return false }
        bridges.resolving.insert(serverKey)
        locate(uri, trunkTransport: trunk?.transport) { [self] result in
            // Gone when the caller cancelled meanwhile (answered with 487 then).
            guard bridges.resolving.remove(serverKey) != nil else { return }
            if case .success(let server) = result, let peer = peer(for: server, uri: uri, trunk: trunk) {
                logger.debug("destination resolved", metadata: ["host": "\(host)", "address": "\(server.address)", "transport": "\(server.transport)"])
                body(ResolvedTarget(uri: uri, peer: peer, trunk: trunk))
                return
            }
            logger.warning("destination cannot be resolved", metadata: ["destination": "\(text)"])
            var failure = SIPMessage.response(to: invite, statusCode: 502, toTag: CallBridges.makeTag())
            failure.headers.add(.server, configuration.product)
            respond(to: serverKey, with: failure)
        }
        return true
    }

    /// The peer for a located server, over its transport. A TLS server's certificate is checked
    /// against the URI's host name (RFC 5922 §7.2) or the trunk's `serverName`.
    func peer(for server: LocatedServer, uri: SIPURI, trunk: Trunk?) -> SIPPeer? {
        switch server.transport {
        case .udp: return .udp(server.address)
        case .tcp: return outboundStream(to: server.address)
        case .tls: return outboundSecureStream(to: server.address, uri: uri, trunk: trunk)
        }
    }

    /// Locates the server for `uri`:
    /// - a numeric host is used as it is (`localhost` is 127.0.0.1);
    /// - the transport is the URI's `transport` parameter, else the trunk's, else what SRV
    ///   finds (`sips:` means `_sips._tcp`), else UDP;
    /// - with an explicit port, the host's A (then AAAA) records;
    /// - without one, SRV (`_sip._udp`, `_sip._tcp` or `_sips._tcp`; priority and weight per
    ///   RFC 2782), then the host's A/AAAA records with the default port;
    /// - names DNS does not know are tried with getaddrinfo (for /etc/hosts) on the thread pool.
    ///
    /// Numeric hosts complete at once; names complete later on the core's loop.
    func locate(_ uri: SIPURI, trunkTransport: Trunk.Transport?, completion: @escaping (Result<LocatedServer, DNSResolutionError>) -> Void) {
        var host = uri.host
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.lowercased() == "localhost" { host = "127.0.0.1" }
        let secure = uri.scheme == .sips
        let explicit = uri.transport.flatMap { Trunk.Transport(rawValue: $0) } ?? trunkTransport
        let fallbackTransport = explicit ?? (secure ? .tls : .udp)
        if let address = try? SocketAddress(ipAddress: host, port: uri.port ?? uri.defaultPort) {
            completion(.success(LocatedServer(address: address, transport: fallbackTransport)))
            return
        }
        if let port = uri.port {
            addresses(of: host, port: port, transport: fallbackTransport, completion: completion)
            return
        }
        var services: [(String, Trunk.Transport)]
        if secure {
            services = [("_sips._tcp", .tls)]
        } else if let explicit {
            services = [(explicit == .tls ? "_sips._tcp" : "_sip._\(explicit.rawValue)", explicit)]
        } else {
            services = [("_sip._udp", .udp), ("_sip._tcp", .tcp)]
        }
        services.reverse()
        serviceLookup(host: host, remaining: services, defaultPort: uri.defaultPort, fallbackTransport: fallbackTransport, completion: completion)
    }

    private func serviceLookup(
        host: String, remaining: [(String, Trunk.Transport)], defaultPort: Int, fallbackTransport: Trunk.Transport,
        completion: @escaping (Result<LocatedServer, DNSResolutionError>) -> Void
    ) {
        var remaining = remaining
        guard let service = remaining.popLast(), let resolver = dnsResolver else {
            addresses(of: host, port: defaultPort, transport: fallbackTransport, completion: completion)
            return
        }
        let (prefix, transport) = service
        let name = "\(prefix).\(host)".lowercased()
        resolver.lookup(name, .srv) { [self] result in
            guard case .success(let records) = result else {
                serviceLookup(host: host, remaining: remaining, defaultPort: defaultPort, fallbackTransport: fallbackTransport, completion: completion)
                return
            }
            var services: [DNSServiceRecord] = []
            for record in records where record.name == name {
                if case .srv(let service) = record.data { services.append(service) }
            }
            var generator = SystemRandomNumberGenerator()
            let ordered = DNSServiceRecord.ordered(services, using: &generator)
            guard !ordered.isEmpty else {
                // Only "." targets: the service is decidedly not offered here (RFC 2782).
                completion(.failure(.noRecords))
                return
            }
            tryTargets(ordered[...], additionals: records, transport: transport, completion: completion)
        }
    }

    private func tryTargets(
        _ targets: ArraySlice<DNSServiceRecord>, additionals: [DNSResourceRecord], transport: Trunk.Transport,
        completion: @escaping (Result<LocatedServer, DNSResolutionError>) -> Void
    ) {
        guard let target = targets.first else {
            completion(.failure(.noRecords))
            return
        }
        let port = Int(target.port)
        for record in additionals where record.name == target.target {
            if let address = Self.address(of: record, port: port) {
                completion(.success(LocatedServer(address: address, transport: transport)))
                return
            }
        }
        addresses(of: target.target, port: port, transport: transport) { [self] result in
            if case .success = result {
                completion(result)
            } else {
                tryTargets(targets.dropFirst(), additionals: additionals, transport: transport, completion: completion)
            }
        }
    }

    /// A, then AAAA, then getaddrinfo.
    private func addresses(
        of host: String, port: Int, transport: Trunk.Transport, completion: @escaping (Result<LocatedServer, DNSResolutionError>) -> Void
    ) {
        guard let resolver = dnsResolver else {
            systemLookup(host, port: port, transport: transport, completion: completion)
            return
        }
        resolver.lookup(host, .a) { [self] result in
            if let address = Self.firstAddress(result, port: port) {
                completion(.success(LocatedServer(address: address, transport: transport)))
                return
            }
            resolver.lookup(host, .aaaa) { [self] result in
                if let address = Self.firstAddress(result, port: port) {
                    completion(.success(LocatedServer(address: address, transport: transport)))
                    return
                }
                systemLookup(host, port: port, transport: transport, completion: completion)
            }
        }
    }

    /// getaddrinfo, which also reads /etc/hosts: blocking, so on the thread pool.
    private func systemLookup(_ host: String, port: Int, transport: Trunk.Transport, completion: @escaping (Result<LocatedServer, DNSResolutionError>) -> Void) {
        guard let eventLoop else {
            completion(.failure(.unavailable))
            return
        }
        let bound = NIOLoopBound(completion, eventLoop: eventLoop)
        NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) {
            try SocketAddress.makeAddressResolvingHost(host, port: port)
        }.whenComplete { result in
            switch result {
            case .success(let address): bound.value(.success(LocatedServer(address: address, transport: transport)))
            case .failure: bound.value(.failure(.noRecords))
            }
        }
    }

    private static func firstAddress(_ result: Result<[DNSResourceRecord], DNSResolutionError>, port: Int) -> SocketAddress? {
        guard case .success(let records) = result else { return nil }
        for record in records {
            if let address = address(of: record, port: port) { return address }
        }
        return nil
    }

    private static func address(of record: DNSResourceRecord, port: Int) -> SocketAddress? {
        switch record.data {
        case .a(let bytes), .aaaa(let bytes):
            return try? SocketAddress(packedIPAddress: ByteBuffer(bytes: bytes), port: port)
        default:
            return nil
        }
    }
}
