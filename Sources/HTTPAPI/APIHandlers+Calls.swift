import Control
import Foundation
import OpenAPIRuntime

extension APIHandlers {
    // MARK: Trunks

    func listTrunks(_ input: Operations.ListTrunks.Input) async throws -> Operations.ListTrunks.Output {
        _ = try RequestInfo.current.requirePrincipal()
        let page = try await trunks.list(limit: input.query.limit, after: input.query.after)
        return .ok(.init(body: .json(ListPage(data: page.items.map(Components.Schemas.Trunk.init), nextCursor: page.nextCursor))))
    }

    func createTrunk(_ input: Operations.CreateTrunk.Input) async throws -> Operations.CreateTrunk.Output {
        _ = try RequestInfo.current.requirePrincipal()
        guard case .json(let body) = input.body else { throw ControlError.badRequest("send the trunk as application/json") }
        let trunk = try await trunks.create(
            TrunkFields(
                name: body.name, uri: body.uri, transport: body.transport.flatMap { Trunk.Transport(rawValue: $0.rawValue) },
                username: body.username, password: body.password, codecs: body.codecs?.map(\.rawValue),
                maxConcurrentCalls: body.maxConcurrentCalls, inbound: body.inbound.map(Trunk.Inbound.init), tls: body.tls.map(Trunk.TLS.init),
                srtp: body.srtp.flatMap { Trunk.SRTP(rawValue: $0.rawValue) }
            )
        )
        return .created(.init(headers: .init(location: "/v1/trunks/\(trunk.id)"), body: .json(.init(trunk))))
    }

    func getTrunk(_ input: Operations.GetTrunk.Input) async throws -> Operations.GetTrunk.Output {
        _ = try RequestInfo.current.requirePrincipal()
        return .ok(.init(body: .json(.init(try await trunks.get(id: input.path.trunkId)))))
    }

    func updateTrunk(_ input: Operations.UpdateTrunk.Input) async throws -> Operations.UpdateTrunk.Output {
        _ = try RequestInfo.current.requirePrincipal()
        guard case .json(let body) = input.body else { throw ControlError.badRequest("send the changes as application/json") }
        let trunk = try await trunks.update(
            id: input.path.trunkId,
            TrunkFields(
                name: body.name, uri: body.uri, transport: body.transport.flatMap { Trunk.Transport(rawValue: $0.rawValue) },
                username: body.username, password: body.password, codecs: body.codecs?.map(\.rawValue),
                maxConcurrentCalls: body.maxConcurrentCalls, inbound: body.inbound.map(Trunk.Inbound.init), tls: body.tls.map(Trunk.TLS.init),
                srtp: body.srtp.flatMap { Trunk.SRTP(rawValue: $0.rawValue) }
            )
        )
        return .ok(.init(body: .json(.init(trunk))))
    }

    func deleteTrunk(_ input: Operations.DeleteTrunk.Input) async throws -> Operations.DeleteTrunk.Output {
        _ = try RequestInfo.current.requirePrincipal()
        try await trunks.delete(id: input.path.trunkId)
        return .noContent(.init())
    }

    // MARK: Calls

    func listCalls(_ input: Operations.ListCalls.Input) async throws -> Operations.ListCalls.Output {
        _ = try RequestInfo.current.requirePrincipal()
        let filter = CallFilter(
            status: input.query.status.flatMap { CallStatus(rawValue: $0.rawValue) },
            widgetId: input.query.widgetId, trunkId: input.query.trunkId
        )
        let page = try await calls.list(filter: filter, limit: input.query.limit, after: input.query.after)
        return .ok(.init(body: .json(ListPage(data: page.items.map(Components.Schemas.Call.init), nextCursor: page.nextCursor))))
    }

    func getCall(_ input: Operations.GetCall.Input) async throws -> Operations.GetCall.Output {
        _ = try RequestInfo.current.requirePrincipal()
        return .ok(.init(body: .json(.init(try await calls.get(id: input.path.callId)))))
    }

    func hangupCall(_ input: Operations.HangupCall.Input) async throws -> Operations.HangupCall.Output {
        _ = try RequestInfo.current.requirePrincipal()
        return .ok(.init(body: .json(.init(try await calls.hangup(id: input.path.callId)))))
    }
}

extension Components.Schemas.Trunk {
    init(_ trunk: Trunk) {
        self.init(
            id: trunk.id, name: trunk.name, uri: trunk.uri, transport: .init(rawValue: trunk.transport.rawValue) ?? .udp,
            username: trunk.username, hasCredentials: trunk.sealedPassword != nil, codecs: trunk.codecs,
            maxConcurrentCalls: trunk.maxConcurrentCalls,
            inbound: trunk.inbound.map { .init(allowedSources: $0.allowedSources, destination: $0.destination) },
            tls: trunk.tls.map { .init(caCertificates: $0.caCertificates, verifyCertificate: $0.verifyCertificate, serverName: $0.serverName) },
            srtp: .init(rawValue: trunk.srtp.rawValue) ?? .required, createdAt: trunk.createdAt, updatedAt: trunk.updatedAt
        )
    }
}

extension Trunk.TLS {
    init(_ tls: Components.Schemas.TrunkTLS) {
        self.init(caCertificates: tls.caCertificates, verifyCertificate: tls.verifyCertificate ?? true, serverName: tls.serverName)
    }
}

extension Trunk.Inbound {
    init(_ inbound: Components.Schemas.TrunkInbound) {
        self.init(allowedSources: inbound.allowedSources, destination: inbound.destination)
    }
}

extension Components.Schemas.Call {
    init(_ call: Call) {
        let context = call.contextJSON.flatMap { try? JSONDecoder().decode(OpenAPIObjectContainer.self, from: Data($0.utf8)) }
        self.init(
            id: call.id, status: .init(rawValue: call.status.rawValue) ?? .failed,
            source: .init(_type: call.source.kind == .widget ? .widget : .trunk, widgetId: call.source.widgetId, sessionId: call.source.sessionId, trunkId: call.source.trunkId),
            from: call.from, to: call.to, destination: call.destination, sipCode: call.sipCode, hangupCause: call.hangupCause,
            hangupBy: call.hangupBy.flatMap { .init(rawValue: $0.rawValue) },
            context: context.map { .init(additionalProperties: $0) }, contextVerified: call.contextVerified, userAgent: call.userAgent,
            createdAt: call.createdAt, answeredAt: call.answeredAt, endedAt: call.endedAt, durationSeconds: call.durationSeconds,
            media: call.media.map(Components.Schemas.CallMedia.init)
        )
    }
}

extension Components.Schemas.CallMedia {
    init(_ media: CallMedia) {
        self.init(
            mode: media.mode == "relay" ? .relay : .transcode, browserCodec: media.browserCodec, calleeCodec: media.calleeCodec,
            browser: .init(media.browser), callee: .init(media.callee), meanOpinionScore: media.meanOpinionScore,
            video: media.video.map {
                .init(
                    codec: $0.codec, packetsToCallee: $0.packetsToCallee, packetsToBrowser: $0.packetsToBrowser,
                    feedbackToCallee: $0.feedbackToCallee, feedbackToBrowser: $0.feedbackToBrowser
                )
            }
        )
    }
}

extension Components.Schemas.CallMediaLeg {
    init(_ leg: CallMediaLeg) {
        self.init(
            packetsReceived: leg.packetsReceived, packetsSent: leg.packetsSent, packetsLost: leg.packetsLost,
            jitterMilliseconds: leg.jitterMilliseconds, roundTripMilliseconds: leg.roundTripMilliseconds,
            authenticationFailures: leg.authenticationFailures, srtp: leg.srtp
        )
    }
}
