import AsyncHTTPClient
public import Control
import Foundation
public import Logging
import NIOCore
import NIOPosix

/// Routing by the CRM over HTTP: POSTs `{callId, widgetId, sessionId, context, contextVerified,
/// userAgent, from}` as JSON and reads `{destination, headers}` from a 2xx answer. Anything
/// else — a timeout, a refused connection, another status, a malformed body — gives `nil`:
/// the widget's own destination.
public final class CRMRouter: CallRouting {
    let client: HTTPClient
    let logger: Logger
    /// Headers the CRM may add: `X-` names, at most this many, values without line breaks.
    static let maxHeaders = 10
    static let maxHeaderValueBytes = 512

    public init(logger: Logger) {
        self.logger = logger
        client = HTTPClient(
            eventLoopGroup: OutboundHTTP.group,
            configuration: HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2)))
        )
    }

    public func route(_ query: RoutingQuery, webhook: RoutingWebhook) async -> RoutingDecision? {
        var object: [String: Any] = [
            "callId": query.callId, "widgetId": query.widgetId, "sessionId": query.sessionId,
            "contextVerified": query.contextVerified, "from": query.from,
        ]
        object["context"] = (try? JSONSerialization.jsonObject(with: Data(query.contextJSON.utf8))) ?? [String: Any]()
        object["userAgent"] = query.userAgent ?? NSNull()
        guard let body = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return nil }
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Switchboard-Routing/1")
        request.body = .bytes(ByteBuffer(bytes: body))
        let started = ContinuousClock.now
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(webhook.timeoutMilliseconds)))
            let answer = try await response.body.collect(upTo: 64 * 1024)
            guard (200...299).contains(Int(response.status.code)) else {
                logger.info("routing webhook answered \(response.status.code); the widget's destination is used", metadata: ["call": "\(query.callId)"])
                return nil
            }
            guard let decision = Self.decision(from: Array(buffer: answer)) else {
                logger.info("routing webhook answer has no usable destination; the widget's destination is used", metadata: ["call": "\(query.callId)"])
                return nil
            }
            logger.debug("routed by the CRM", metadata: ["call": "\(query.callId)", "destination": "\(decision.destination)", "took": "\(ContinuousClock.now - started)"])
            return decision
        } catch {
            logger.info("routing webhook failed (\(error)); the widget's destination is used", metadata: ["call": "\(query.callId)"])
            return nil
        }
    }

    /// `{destination, headers?}` with a destination string and `X-` headers; nil otherwise.
    static func decision(from body: [UInt8]) -> RoutingDecision? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let destination = object["destination"] as? String, !destination.isEmpty
        else { return nil }
        var headers: [String: String] = [:]
        if let given = object["headers"] as? [String: Any] {
            for (name, value) in given {
                guard headers.count < maxHeaders, let text = value as? String, isExtensionHeader(name),
                    text.utf8.count <= maxHeaderValueBytes,
                    !text.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 })
                else { continue }
                headers[name] = text
            }
        }
        return RoutingDecision(destination: destination, headers: headers)
    }

    /// An `X-` header name (RFC 3261 token characters) that is not one of the gateway's own.
    static func isExtensionHeader(_ name: String) -> Bool {
        let lower = name.lowercased()
        guard lower.hasPrefix("x-"), !lower.hasPrefix("x-switchboard-"), (3...64).contains(name.utf8.count) else { return false }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || Array("-.!%*_+`'~".utf8).contains(byte)
        }
    }
}

/// The threads of the gateway's outbound HTTP (webhook deliveries, routing queries), apart from
/// the event loops that carry SIP and media.
enum OutboundHTTP {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
}
