import Control
import Foundation
import Testing
@testable import Webhooks

@Suite struct WebhookSigningTests {
    /// The Standard Webhooks reference vector.
    @Test func signsLikeTheStandardWebhooksReference() {
        let signature = WebhookSignature.sign(
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
            body: Array(#"{"test": 2432232314}"#.utf8)
        )
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func refusesSecretsThatAreNotWhsecBase64() {
        #expect(WebhookSignature.sign(secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "x", timestamp: 1, body: []) == nil)
        #expect(WebhookSignature.sign(secret: "whsec_not base64!", id: "x", timestamp: 1, body: []) == nil)
    }

    @Test func backoffGrowsFourfoldUpToTheCap() {
        let configuration = WebhookDispatchConfiguration(retryBase: .seconds(5), maxRetryDelay: .seconds(8 * 3600))
        #expect(configuration.backoff(afterAttempt: 1) == .seconds(5))
        #expect(configuration.backoff(afterAttempt: 2) == .seconds(20))
        #expect(configuration.backoff(afterAttempt: 3) == .seconds(80))
        #expect(configuration.backoff(afterAttempt: 9) == .seconds(8 * 3600))
        // Ten attempts with the defaults span more than a day.
        let total = (1..<10).map { configuration.backoff(afterAttempt: $0) }.reduce(Duration.zero, +)
        #expect(total > .seconds(20 * 3600))
    }

    @Test func xmlrpcPushCarriesTheEnvelopeAsAStruct() throws {
        let event = Event(
            id: "evt_1", type: "call.initiated", createdAt: Date(timeIntervalSince1970: 1_700_000_000), sequence: 1, subjectId: "cal_1",
            dataJSON: #"{"call":{"id":"cal_1","status":"initiated"},"context":{"customer":"Ada","order":42,"vip":true,"total":9.5},"page":null}"#
        )
        let body = String(decoding: XMLRPCPush.body(method: "crm.event", event: event), as: UTF8.self)
        #expect(body.contains("<methodName>crm.event</methodName>"))
        #expect(body.contains("<dateTime.iso8601>20231114T22:13:20</dateTime.iso8601>"))
        #expect(body.contains("<name>order</name><value><int>42</int></value>"))
        #expect(body.contains("<name>vip</name><value><boolean>1</boolean></value>"))
        #expect(body.contains("<name>total</name><value><double>9.5</double></value>"))
        #expect(body.contains("<nil/>"))
    }
}

@Suite struct CRMRouterTests {
    @Test func readsTheDestinationAndOnlyExtensionHeaders() throws {
        let body = #"{"destination":"sip:agent7@cc.example","headers":{"X-Agent":"7","X-Switchboard-Call-Id":"forged","Via":"x","X-Bad":"a\r\nVia: evil","X-Queue":"gold"}}"#
        let decision = try #require(CRMRouter.decision(from: Array(body.utf8)))
        #expect(decision.destination == "sip:agent7@cc.example")
        #expect(decision.headers == ["X-Agent": "7", "X-Queue": "gold"])
    }

    @Test func unusableAnswersGiveNoDecision() {
        for body in ["", "[]", "{}", #"{"destination":""}"#, #"{"destination":42}"#, "not json"] {
            #expect(CRMRouter.decision(from: Array(body.utf8)) == nil, "\(body)")
        }
    }
}
