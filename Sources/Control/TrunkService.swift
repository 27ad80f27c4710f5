import Foundation
import SIP
import Synchronization

/// The fields of a trunk as a caller gives them. `nil` means "unset" on create and "unchanged"
/// on update.
public struct TrunkFields: Sendable {
    public var name: String?
    public var uri: String?
    public var transport: Trunk.Transport?
    public var username: String?
    public var password: String?
    public var codecs: [String]?
    public var maxConcurrentCalls: Int?
    public var inbound: Trunk.Inbound?
    /// Replaces the TLS settings as a whole.
    public var tls: Trunk.TLS?
    public var srtp: Trunk.SRTP?

    public init(
        name: String? = nil, uri: String? = nil, transport: Trunk.Transport? = nil, username: String? = nil, password: String? = nil,
        codecs: [String]? = nil, maxConcurrentCalls: Int? = nil, inbound: Trunk.Inbound? = nil, tls: Trunk.TLS? = nil,
        srtp: Trunk.SRTP? = nil
    ) {
        self.name = name
        self.uri = uri
        self.transport = transport
        self.username = username
        self.password = password
        self.codecs = codecs
        self.maxConcurrentCalls = maxConcurrentCalls
        self.inbound = inbound
        self.tls = tls
        self.srtp = srtp
    }
}

/// Trunks, and the in-memory directory the signalling plane consults on every new call.
public final class TrunkService: Sendable {
    public let storage: any Storage
    public let clock: WallClock
    let secrets: SecretBox
    private let directory = Mutex<[Trunk]>([])

    public init(storage: any Storage, secrets: SecretBox, clock: WallClock = .system) {
        self.storage = storage
        self.secrets = secrets
        self.clock = clock
    }

    /// Loads every trunk into the directory; call at start-up.
    public func reload() async throws {
        var all: [Trunk] = []
        var after: String?
        repeat {
            let rows = try await storage.trunks(after: after, limit: 500)
            all += rows
            after = rows.count == 500 ? rows.last?.id : nil
        } while after != nil
        directory.withLock { $0 = all }
    }

    public func create(_ fields: TrunkFields) async throws -> Trunk {
        guard let name = fields.name, let uri = fields.uri else {
            throw ControlError.validation([FieldError(pointer: fields.name == nil ? "/name" : "/uri", detail: "is required")])
        }
        try validate(fields)
        let now = clock.now()
        let trunk = Trunk(
            id: Identifier.make(Trunk.idPrefix, millis: clock.millis), name: name, uri: uri, transport: fields.transport ?? .udp,
            username: fields.username, sealedPassword: try fields.password.map(secrets.seal), codecs: fields.codecs ?? ["PCMU", "PCMA"],
            maxConcurrentCalls: fields.maxConcurrentCalls, inbound: fields.inbound, tls: fields.tls, srtp: fields.srtp ?? .off,
            createdAt: now, updatedAt: now
        )
        try await storage.insert(trunk: trunk)
        try await reload()
        return trunk
    }

    public func get(id: String) async throws -> Trunk {
        guard let trunk = try await storage.trunk(id: id) else { throw ControlError.notFound(kind: "trunk", id: id) }
        return trunk
    }

    public func list(limit: Int?, after: String?) async throws -> Page<Trunk> {
        let request = try PageRequest(limit: limit, after: after, idPrefix: Trunk.idPrefix)
        return request.page(try await storage.trunks(after: request.after, limit: request.limit + 1), id: \.id)
    }

    public func update(id: String, _ fields: TrunkFields) async throws -> Trunk {
        try validate(fields)
        var trunk = try await get(id: id)
        if let name = fields.name { trunk.name = name }
        if let uri = fields.uri { trunk.uri = uri }
        if let transport = fields.transport { trunk.transport = transport }
        if let username = fields.username { trunk.username = username }
        if let password = fields.password { trunk.sealedPassword = try secrets.seal(password) }
        if let codecs = fields.codecs { trunk.codecs = codecs }
        if let limit = fields.maxConcurrentCalls { trunk.maxConcurrentCalls = limit }
        if let inbound = fields.inbound { trunk.inbound = inbound }
        if let tls = fields.tls { trunk.tls = tls }
        if let srtp = fields.srtp { trunk.srtp = srtp }
        trunk.updatedAt = clock.now()
        guard try await storage.update(trunk: trunk) else { throw ControlError.notFound(kind: "trunk", id: id) }
        try await reload()
        return trunk
    }

    public func delete(id: String) async throws {
        guard try await storage.deleteTrunk(id: id) else { throw ControlError.notFound(kind: "trunk", id: id) }
        try await reload()
    }

    // MARK: For the signalling plane (synchronous, from memory)

    /// The trunk whose inbound sources admit `address`, if any.
    public func inboundTrunk(forSource address: String) -> Trunk? {
        directory.withLock { trunks in trunks.first { $0.inbound?.admits(address) ?? false } }
    }

    public func trunk(id: String) -> Trunk? {
        directory.withLock { trunks in trunks.first { $0.id == id } }
    }

    /// The digest credentials of a trunk, opened for use in a challenge answer.
    public func credentials(of trunk: Trunk) -> (username: String, password: String)? {
        guard let username = trunk.username, let sealed = trunk.sealedPassword, let password = try? secrets.open(sealed) else { return nil }
        return (username, password)
    }

    // MARK: Validation

    private func validate(_ fields: TrunkFields) throws {
        var errors: [FieldError] = []
        if let name = fields.name, name.trimmingCharacters(in: .whitespaces).isEmpty || name.count > 200 {
            errors.append(FieldError(pointer: "/name", detail: "must be 1 to 200 characters"))
        }
        if let uri = fields.uri {
            if !(uri.hasPrefix("sip:") || uri.hasPrefix("sips:")) {
                errors.append(FieldError(pointer: "/uri", detail: "must be a sip: or sips: URI"))
            } else if let problem = Destination.problem(uri) {
                errors.append(FieldError(pointer: "/uri", detail: problem))
            }
        }
        if let codecs = fields.codecs {
            for (index, codec) in codecs.enumerated() where !Trunk.knownCodecs.contains(codec) {
                errors.append(FieldError(pointer: "/codecs/\(index)", detail: "\(codec) is not one of \(Trunk.knownCodecs.sorted().joined(separator: ", "))"))
            }
        }
        if let limit = fields.maxConcurrentCalls, !(1...100_000).contains(limit) {
            errors.append(FieldError(pointer: "/maxConcurrentCalls", detail: "must be 1 to 100000"))
        }
        if let inbound = fields.inbound {
            for (index, source) in inbound.allowedSources.enumerated() where IPNetwork(source) == nil {
                errors.append(FieldError(pointer: "/inbound/allowedSources/\(index)", detail: "\(source) is not an address or address/prefix"))
            }
            if let problem = Destination.problem(inbound.destination) {
                errors.append(FieldError(pointer: "/inbound/destination", detail: problem))
            }
        }
        if let tls = fields.tls {
            if let pem = tls.caCertificates, let problem = Trunk.TLS.caCertificatesProblem(pem) {
                errors.append(FieldError(pointer: "/tls/caCertificates", detail: problem))
            }
            if let name = tls.serverName, let problem = Trunk.TLS.serverNameProblem(name) {
                errors.append(FieldError(pointer: "/tls/serverName", detail: problem))
            }
        }
        guard errors.isEmpty else { throw ControlError.validation(errors) }
    }
}
