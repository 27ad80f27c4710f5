import Control
import Foundation
import NIOCore
import SIP

/// A browser connected over SIP-over-WebSocket (RFC 7118), authorised by a widget session: it
/// may call its widget's destination and nothing else, whatever its Request-URI says.
struct BrowserEndpoint {
    var session: WidgetSession
    var widget: Widget
    var userAgent: String?
    var send: @Sendable ([UInt8]) -> Void
}

extension SignallingCore {
    func connectBrowser(session: WidgetSession, widget: Widget, userAgent: String?, send: @escaping @Sendable ([UInt8]) -> Void) -> Int {
        let id = nextBrowserID
        nextBrowserID += 1
        browsers[id] = BrowserEndpoint(session: session, widget: widget, userAgent: userAgent, send: send)
        return id
    }

    func receiveFromBrowser(_ bytes: [UInt8], browser id: Int) {
        guard browsers[id] != nil else { return }
        // A CRLF CRLF ping (RFC 5626 style) is answered with CRLF.
        if bytes.allSatisfy({ $0 == 13 || $0 == 10 }) {
            if bytes.count >= 4 { browsers[id]?.send([13, 10]) }
            return
        }
        do {
            receive(try SIPMessage.parse(datagram: bytes), from: .browser(id))
        } catch {
            receiveUnparsable(error, from: .browser(id))
        }
    }

    /// How long an answered call outlives its browser's WebSocket: a browser that changes network
    /// reconnects with the same session and continues the dialog (an ICE-restart re-INVITE).
    static let browserReconnectGrace: Duration = .seconds(20)

    /// The WebSocket closed: calls still being set up end at once; answered calls end unless the
    /// browser is back on a new connection within ``browserReconnectGrace``.
    func disconnectBrowser(_ id: Int) {
        for (callId, bridge) in bridges.calls where bridge.caller.peer == .browser(id) {
            guard bridge.record.answeredAt != nil else {
                hangup(callId: callId, by: .caller, cause: "browser connection closed")
                continue
            }
            // A re-INVITE on this connection can no longer be answered; the browser hears of
            // the hold once it is back.
            abandonBrowserReoffer(callId: callId)
            after(Self.browserReconnectGrace) { [self] in
                guard let current = bridges.calls[callId], current.caller.peer == .browser(id) else { return }
                hangup(callId: callId, by: .caller, cause: "browser connection closed")
            }
        }
        browsers[id] = nil
    }

    /// An out-of-dialog request from a browser.
    func browserRequest(_ request: SIPMessage, serverKey: SIPTransactionKey, browser id: Int) {
        guard let endpoint = browsers[id], let method = request.method else { return }
        switch method {
        case .invite:
            guard endpoint.widget.enabled, endpoint.session.expiresAt > Date() else {
                respond(to: serverKey, with: SIPMessage.response(to: request, statusCode: 403, reasonPhrase: "Widget Session Not Valid"))
                return
            }
            var headers: [(SIPHeaderName, String)] = [
                ("X-Switchboard-Widget-Id", endpoint.widget.id),
                ("X-Switchboard-Context-Verified", endpoint.session.verified ? "true" : "false"),
            ]
            headers += Self.contextHeaders(endpoint.session.contextJSON)
            if let webhook = endpoint.widget.routingWebhook, let callRouting {
                routeByCRM(request, serverKey: serverKey, browser: id, endpoint: endpoint, webhook: webhook, router: callRouting, headers: headers)
                return
            }
            bridgeCall(
                request, serverKey: serverKey, from: .browser(id),
                source: CallSource(kind: .widget, widgetId: endpoint.widget.id, sessionId: endpoint.session.id),
                destination: endpoint.widget.destination, extraHeaders: headers,
                contextJSON: endpoint.session.contextJSON, contextVerified: endpoint.session.verified, userAgent: endpoint.userAgent
            )
        case .register:
            // Browser user agents often register first; the binding is this connection itself.
            var response = SIPMessage.response(to: request, statusCode: 200, toTag: CallBridges.makeTag())
            if let contact = request.headers[.contact] { response.headers.add(.contact, contact + ";expires=600") }
            response.headers.add(.expires, "600")
            respond(to: serverKey, with: response)
        case .options:
            respond(to: serverKey, with: withAllow(SIPMessage.response(to: request, statusCode: 200, toTag: CallBridges.makeTag())))
        case .bye, .info, .update, .prack:
            respond(to: serverKey, with: SIPMessage.response(to: request, statusCode: 481))
        default:
            let status = Self.knownMethods.contains(method) ? 405 : 501
            respond(to: serverKey, with: withAllow(SIPMessage.response(to: request, statusCode: status)))
        }
    }

    static let maxContextHeaders = 32
    static let maxContextValueLength = 256

    /// The caller context as `X-Switchboard-Context-<Key>` headers: top-level scalars, and
    /// scalars one level down as `<Key>-<Subkey>`. Bounded in count and length; names reduced to
    /// token characters, values to one line.
    static func contextHeaders(_ json: String) -> [(SIPHeaderName, String)] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return [] }
        var headers: [(SIPHeaderName, String)] = []
        func add(_ name: String, _ value: Any) {
            guard headers.count < maxContextHeaders else { return }
            let text: String
            switch value {
            case let string as String: text = string
            case let number as NSNumber: text = number.stringValue
            default: return
            }
            let token = name.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "-" }
            guard !token.isEmpty else { return }
            let line = String(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" }.prefix(maxContextValueLength))
            headers.append((SIPHeaderName("X-Switchboard-Context-" + String(String.UnicodeScalarView(token))), line))
        }
        for key in object.keys.sorted() {
            if let nested = object[key] as? [String: Any] {
                for subkey in nested.keys.sorted() { add("\(key)-\(subkey)", nested[subkey] as Any) }
            } else if let value = object[key] {
                add(key, value)
            }
        }
        return headers
    }
}

extension SignallingCore {
    /// Asks the widget's routing webhook where the call goes, then bridges it there (or to the
    /// widget's destination when the CRM does not answer in time, answers something unusable, or
    /// picks a destination the widget does not allow). The caller has its 100 Trying meanwhile;
    /// a CANCEL in the meantime ends it with 487.
    func routeByCRM(
        _ invite: SIPMessage, serverKey: SIPTransactionKey, browser id: Int, endpoint: BrowserEndpoint, webhook: RoutingWebhook,
        router: any CallRouting, headers: [(SIPHeaderName, String)]
    ) {
        guard let loop = eventLoop else { return }
        respond(to: serverKey, with: SIPMessage.tryingResponse(to: invite))
        let callId = Identifier.make(Call.idPrefix, millis: UInt64(Date().timeIntervalSince1970 * 1000))
        let query = RoutingQuery(
            callId: callId, widgetId: endpoint.widget.id, sessionId: endpoint.session.id, contextJSON: endpoint.session.contextJSON,
            contextVerified: endpoint.session.verified, userAgent: endpoint.userAgent, from: (try? invite.from)?.uri.description ?? ""
        )
        bridges.resolving.insert(serverKey)
        Task {
            let decision = await router.route(query, webhook: webhook)
            loop.execute { [self] in
                guard bridges.resolving.remove(serverKey) != nil, browsers[id] != nil else { return }
                var destination = endpoint.widget.destination
                var extra = headers
                if let decision {
                    if webhook.allowedDestinations.contains(decision.destination) {
                        destination = decision.destination
                        for (name, value) in decision.headers.sorted(by: { $0.key < $1.key }) { extra.append((SIPHeaderName(name), value)) }
                    } else {
                        logger.warning(
                            "the routing webhook chose a destination the widget does not allow",
                            metadata: ["call": "\(callId)", "destination": "\(decision.destination)"]
                        )
                    }
                }
                extra.append(("X-Switchboard-Routed-By", decision != nil && destination == decision?.destination ? "crm" : "default"))
                bridgeCall(
                    invite, serverKey: serverKey, from: .browser(id),
                    source: CallSource(kind: .widget, widgetId: endpoint.widget.id, sessionId: endpoint.session.id),
                    destination: destination, extraHeaders: extra,
                    contextJSON: endpoint.session.contextJSON, contextVerified: endpoint.session.verified, userAgent: endpoint.userAgent,
                    callId: callId
                )
            }
        }
    }
}
