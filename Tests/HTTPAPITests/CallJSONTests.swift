import Control
import Foundation
@testable import HTTPAPI
import Testing

/// Event payloads carry the call as `GET /v1/calls/{id}` shows it; the hand-written renderer must
/// say exactly what the generated schema and `JSONEncoder` say.
@Suite struct CallJSONTests {
    static let leg = CallMediaLeg(
        packetsReceived: 1200, packetsSent: 1190, packetsLost: 3, jitterMilliseconds: 2.5, roundTripMilliseconds: 41.25, authenticationFailures: 1
    )
    static let calls: [Call] = {
        let created = Date(timeIntervalSince1970: 1_764_633_600.731)
        var calls: [Call] = [
            Call(id: "cal_a", status: .initiated, source: CallSource(kind: .trunk, trunkId: "trk_1"), from: "sip:+15550100@192.0.2.1",
                 to: "sip:queue@cc.example", destination: "trk_2", createdAt: created),
            Call(id: "cal_b", status: .completed, source: CallSource(kind: .widget, widgetId: "wid_1", sessionId: "wss_1"),
                 from: "sip:shopper@switchboard.invalid", to: "sip:sales@cc.example;transport=tcp", destination: "sip:sales@cc.example",
                 sipCode: 200, hangupCause: "caller hung up \"politely\"\n", hangupBy: .caller,
                 contextJSON: #"{"customer":{"name":"Zoë \"Z\" Müller","vip":true,"id":42,"score":0.5},"cart":[1,"two",null,{"x":[]}],"pageUrl":"https://shop.example/a/b?c=d&e=f","note":"tab\there \\ back\u0001"}"#,
                 contextVerified: true, userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/120 ☎",
                 createdAt: created, answeredAt: created.addingTimeInterval(3.2), endedAt: created.addingTimeInterval(65.9),
                 media: CallMedia(mode: "transcode", browserCodec: "opus/48000/2", calleeCodec: "PCMU/8000", browser: leg, callee: leg, meanOpinionScore: 4.1)),
            Call(id: "cal_c", status: .busy, source: CallSource(kind: .widget, widgetId: "wid_2"), from: "sip:a@b", to: "sip:c@d",
                 destination: "sip:c@d", sipCode: 486, hangupBy: .callee, contextJSON: "{}", contextVerified: false, createdAt: created,
                 endedAt: created.addingTimeInterval(1)),
        ]
        var noRTT = leg
        noRTT.roundTripMilliseconds = nil
        var dtls = leg
        dtls.srtp = "AEAD_AES_128_GCM"
        var sdes = leg
        sdes.srtp = "AES_CM_128_HMAC_SHA1_80"
        calls.append(Call(id: "cal_e", status: .completed, source: CallSource(kind: .widget), from: "sip:x@y", to: "sip:z@w",
                          destination: "trk_3", createdAt: Date(timeIntervalSince1970: 0),
                          media: CallMedia(mode: "relay", browserCodec: "PCMU/8000", calleeCodec: "PCMU/8000", browser: dtls, callee: sdes, meanOpinionScore: 4.3)))
        calls.append(Call(id: "cal_d", status: .inProgress, source: CallSource(kind: .widget), from: "sip:x@y", to: "sip:z@w",
                          destination: "sip:z@w", createdAt: Date(timeIntervalSince1970: 0), answeredAt: Date(timeIntervalSince1970: 59.999),
                          media: CallMedia(mode: "relay", browserCodec: nil, calleeCodec: "PCMA/8000", browser: noRTT, callee: leg, meanOpinionScore: 1)))
        for status in CallStatus.allCases {
            calls.append(Call(id: "cal_s", status: status, source: CallSource(kind: .trunk), from: "f", to: "t", destination: "d",
                              hangupBy: status.isFinal ? .system : nil, createdAt: created))
        }
        return calls
    }()

    static func object(_ json: String) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary)
    }

    @Test(arguments: calls)
    func rendersWhatTheSchemaEncoderRenders(call: Call) throws {
        let fast = try Self.object(restCallJSON(call))
        let encoded = try Self.object(restCallJSONEncoded(call))
        #expect(fast == encoded, "\(restCallJSON(call))\n\(restCallJSONEncoded(call))")
    }

    @Test func theLegsSRTPSuiteIsShownWhenThereIsOne() throws {
        let call = try #require(Self.calls.first { $0.id == "cal_e" })
        let media = try #require(try Self.object(restCallJSON(call))["media"] as? NSDictionary)
        #expect((media["callee"] as? NSDictionary)?["srtp"] as? String == "AES_CM_128_HMAC_SHA1_80")
        #expect((media["browser"] as? NSDictionary)?["srtp"] as? String == "AEAD_AES_128_GCM")
        let plain = try #require(Self.calls.first { $0.id == "cal_b" })
        let plainMedia = try #require(try Self.object(restCallJSON(plain))["media"] as? NSDictionary)
        #expect((plainMedia["callee"] as? NSDictionary)?["srtp"] == nil)
    }
}
