import Control
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// The context of a WebSocket upgrade request on `/sip`.
struct SIPWebSocketContext: WebSocketRequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
    }
}

/// `/sip?token=…`: SIP over WebSocket (RFC 7118, subprotocol `sip`) for a browser holding a
/// widget session token. Frames go to the signalling plane, which only ever routes the calls of
/// this connection to the session's widget destination.
///
/// A handshake without the `sip` subprotocol is refused (400). A missing, unknown or expired
/// token is refused after the handshake with close code 1008 and the reason: a page's script
/// cannot read the HTTP status of a failed handshake, but it can read a close code.
func makeSIPWebSocketRouter(widgets: WidgetService, signalling: any BrowserSignalling, logger: Logger) -> Router<SIPWebSocketContext> {
    let router = Router(context: SIPWebSocketContext.self)
    let protocolHeader = HTTPField.Name.secWebSocketProtocol
    router.ws("/sip") { request, _ in
        let offered = request.headers[values: protocolHeader].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        guard offered.contains("sip") else {
            throw HTTPError(.badRequest, message: "the WebSocket subprotocol must be 'sip' (RFC 7118)")
        }
        return .upgrade([protocolHeader: "sip"])
    } onUpgrade: { inbound, outbound, context in
        guard let token = context.request.uri.queryParameters["token"].map(String.init),
            let session = try await widgets.session(token: token),
            let widget = try? await widgets.get(id: session.widgetId)
        else {
            try await outbound.close(.policyViolation, reason: "a valid widget session token is required: /sip?token=…")
            return
        }
        let (frames, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let userAgent = context.request.headers[.userAgent].map { String($0.prefix(512)) }
        guard let connection = await signalling.connect(session: session, widget: widget, userAgent: userAgent, send: { continuation.yield($0) }) else {
            return
        }
        context.logger.info("browser connected", metadata: ["session": "\(session.id)", "widget": "\(widget.id)"])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await bytes in frames {
                    try await outbound.write(.text(String(decoding: bytes, as: UTF8.self)))
                }
            }
            defer {
                connection.close()
                continuation.finish()
            }
            for try await message in inbound.messages(maxSize: 64 * 1024) {
                switch message {
                case .text(let text): connection.receive(Array(text.utf8))
                case .binary(let buffer): connection.receive(Array(buffer: buffer))
                }
            }
            group.cancelAll()
        }
        context.logger.info("browser disconnected", metadata: ["session": "\(session.id)"])
    }
    return router
}
