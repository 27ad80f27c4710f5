import Control
import Foundation
import NIOCore
import NIOSSL
import SIP

/// SIP over TLS (RFC 3261 §26.2, RFC 5630): the stream transport of SIP over TCP with a TLS
/// handler first in the pipeline. This is what the core keeps about it.
struct SIPTLSState {
    /// Stream connections that run over TLS: accepted on the TLS port, or opened to a TLS target.
    var secureStreams: Set<Int> = []
    /// TLS connections opened (or being opened) by the gateway, by where they go and how the
    /// peer is verified.
    var outbound: [SIPTLSDestination: Int] = [:]
    /// Client contexts by trust settings. Building one reads the trust store, so each is built once.
    var clientContexts: [SIPTLSTrust: NIOSSLContext] = [:]
}

/// How the certificate of a TLS peer the gateway connects to is checked.
struct SIPTLSTrust: Hashable {
    /// PEM CA certificates that replace the system trust store; nil trusts the system store.
    var trustedCAs: String?
    /// False accepts any certificate (a lab set-up with no usable CA).
    var verify: Bool

    init(trunk: Trunk?) {
        trustedCAs = trunk?.tls?.caCertificates
        verify = trunk?.tls?.verifyCertificate ?? true
    }

    func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if !verify {
            configuration.certificateVerification = .none
        } else if let trustedCAs {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(trustedCAs.utf8)))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}

struct SIPTLSDestination: Hashable {
    var address: SocketAddress
    /// The name the certificate must carry (and the SNI); nil checks the address itself.
    var serverName: String?
    var trust: SIPTLSTrust
}

extension SignallingCore {
    /// The TLS connection for requests to `uri` at `address`, opening one if there is none; nil
    /// when the trunk's trust settings cannot be used (the reason is logged).
    ///
    /// The certificate is checked against the trunk's `serverName`, else the URI's host name
    /// (RFC 5922 §7.2), else — for an IP literal — the address itself.
    func outboundSecureStream(to address: SocketAddress, uri: SIPURI, trunk: Trunk?) -> SIPPeer? {
        let trust = SIPTLSTrust(trunk: trunk)
        let destination = SIPTLSDestination(address: address, serverName: trunk?.tls?.serverName ?? Self.serverName(of: uri.host), trust: trust)
        if let id = tls.outbound[destination], streams[id] != nil || pendingStreamMessages[id] != nil {
            return .stream(id, remote: address)
        }
        let context: NIOSSLContext
        if let cached = tls.clientContexts[trust] {
            context = cached
        } else {
            do {
                context = try trust.makeContext()
            } catch {
                logger.warning("TLS trust settings of the trunk cannot be used", metadata: ["trunk": "\(trunk?.id ?? "none")", "error": "\(error)"])
                return nil
            }
            tls.clientContexts[trust] = context
        }
        let id = makeStreamID()
        tls.outbound[destination] = id
        tls.secureStreams.insert(id)
        pendingStreamMessages[id] = []
        if let eventLoop {
            SIPStreamConnection.connect(
                to: address, id: id, core: self, coreLoop: eventLoop, group: eventLoop,
                tls: SIPStreamConnection.ClientTLS(context: context, serverHostname: destination.serverName)
            )
        }
        return .stream(id, remote: address)
    }

    /// A host name to check a certificate against; IP literals have none (SNI cannot carry them).
    static func serverName(of host: String) -> String? {
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        return IPNetwork(bare) == nil ? bare : nil
    }

    /// An outbound connection that could not be opened (refused, or its TLS handshake failed):
    /// what was queued for it is dropped, and the calls waiting for it fail at once with 503
    /// (RFC 3261 §8.1.3.1) instead of when their transactions time out.
    func streamFailed(id: Int, cause: String) {
        logger.warning("SIP connection failed", metadata: ["connection": "\(id)", "cause": "\(cause)"])
        pendingStreamMessages[id] = nil
        forgetOutboundStream(id)
        let waiting = bridges.calls.values.filter { bridge in
            guard case .stream(id, _) = bridge.callee.peer else { return false }
            return bridge.record.answeredAt == nil && !bridge.record.status.isFinal
        }
        for bridge in waiting {
            calleeFailed(status: 503, response: SIPMessage.response(statusCode: 503, reasonPhrase: cause), callId: bridge.record.id)
            // The call is gone, so ending its transaction reports nothing more.
            if let key = bridge.calleeInvite { drive(.client, key) { $0.transportFailed() } }
        }
    }

    func forgetOutboundStream(_ id: Int) {
        outboundStreams = outboundStreams.filter { $0.value != id }
        tls.outbound = tls.outbound.filter { $0.value != id }
    }

    func isSecure(_ peer: SIPPeer) -> Bool {
        guard case .stream(let id, _) = peer else { return false }
        return tls.secureStreams.contains(id)
    }

    /// The gateway's Contact for a leg over `peer`. Over TLS it is a `sips:` URI at the TLS port
    /// (RFC 5630 §3.1.3), so that the peer comes back over TLS; otherwise `sip:` at the SIP port.
    func contact(towards peer: SIPPeer) -> String {
        let host = configuration.advertisedHost
        if isSecure(peer), let tlsPort = configuration.tlsPort {
            var uri = Self.localURI(user: "b2bua", host: host, port: tlsPort)
            uri.scheme = .sips
            return "<\(uri)>"
        }
        return "<\(Self.localURI(user: "b2bua", host: host, port: configuration.port))>"
    }
}

extension Transaction {
    /// The transport could not deliver the transaction's messages.
    mutating func transportFailed() -> SIPTransactionActions {
        switch consume self {
        case .inviteClient(var t, let peer):
            let actions = t.transportFailed()
            self = .inviteClient(t, peer: peer)
            return actions
        case .nonInviteClient(var t, let peer):
            let actions = t.transportFailed()
            self = .nonInviteClient(t, peer: peer)
            return actions
        case let other:
            self = other
            return .none
        }
    }
}
