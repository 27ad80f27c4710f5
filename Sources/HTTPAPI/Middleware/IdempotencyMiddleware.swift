import Control
import Crypto
import HTTPTypes
import Hummingbird
import NIOCore

/// `Idempotency-Key` on POST: the first request with a key runs and its response is kept (24 h);
/// a repeat with the same body gets that response again (`Idempotent-Replayed: true`), a repeat
/// with another body a 422, a repeat while the first still runs a 409. Failed requests (problems,
/// server errors) release the key so the caller can retry with it.
///
/// Responses can carry secrets (a new API key, a session token), so the store keeps only a
/// digest of the idempotency key and the response body sealed with AES-GCM under a key derived
/// from the idempotency key itself: whoever reads the database cannot replay or read them.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = SwitchboardRequestContext
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotent-Replayed")!

    let storage: any Storage
    let clock: WallClock

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let keyText = request.headers[Self.header] else {
            return try await next(request, context)
        }
        guard (1...255).contains(keyText.utf8.count) else {
            throw ControlError.badRequest("Idempotency-Key must be 1 to 255 characters")
        }
        let info = RequestInfo.current
        let scope = info.principal.map { "key:\($0.id)" } ?? "addr:\(info.clientAddress)"
        let key = IdempotencyKey(scope: scope, key: Self.hex(SHA256.hash(data: Array(keyText.utf8))))
        let sealing = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Array(keyText.utf8)), salt: Array(scope.utf8),
            info: Array("switchboard idempotent response".utf8), outputByteCount: 32
        )
        var hasher = SHA256()
        hasher.update(data: Array("\(request.method.rawValue) \(request.uri.path)\n".utf8))
        if let body = info.body { hasher.update(data: Array(buffer: body)) }
        let fingerprint = Self.hex(hasher.finalize())

        if let earlier = try await storage.claimIdempotencyKey(key, fingerprint: fingerprint, at: clock.now()) {
            guard earlier.fingerprint == fingerprint else {
                throw ControlError.validation([FieldError(pointer: "/", detail: "this Idempotency-Key was used with a different request")])
            }
            guard let stored = earlier.stored else {
                throw ControlError.conflict("a request with this Idempotency-Key is still being processed")
            }
            guard let body = try? AES.GCM.open(AES.GCM.SealedBox(combined: stored.body), using: sealing) else {
                throw ControlError.unavailable("the stored response for this Idempotency-Key cannot be read")
            }
            var headers: HTTPFields = [Self.replayed: "true"]
            if let type = stored.contentType { headers[.contentType] = type }
            if let location = stored.location { headers[.location] = location }
            return Response(status: .init(code: stored.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }

        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            try? await storage.releaseIdempotencyKey(key)
            throw error
        }
        guard response.status.code < 400 else {
            try? await storage.releaseIdempotencyKey(key)
            return response
        }
        let collector = ResponseCollector()
        try await response.body.write(collector)
        let body = collector.buffer.value
        guard let sealed = try AES.GCM.seal(Array(buffer: body), using: sealing).combined else {
            throw ControlError.unavailable("the response could not be sealed")
        }
        try await storage.completeIdempotencyKey(
            key,
            response: .init(status: response.status.code, contentType: response.headers[.contentType], location: response.headers[.location], body: Array(sealed))
        )
        var replay = response
        replay.body = .init(byteBuffer: body)
        return replay
    }
}

extension IdempotencyMiddleware {
    static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// A response body writer that keeps what is written.
struct ResponseCollector: ResponseBodyWriter {
    final class Box { var value = ByteBuffer() }
    let buffer = Box()

    mutating func write(_ buffer: ByteBuffer) async throws {
        var copy = buffer
        self.buffer.value.writeBuffer(&copy)
    }

    mutating func write(contentsOf buffers: some Sequence<ByteBuffer>) async throws {
        for buffer in buffers { try await write(buffer) }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
