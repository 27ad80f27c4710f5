import Foundation
import Logging
import NIOCore
import NIOPosix
import RTP
import Testing
@testable import MediaPlane
import SIP

@Suite("Video through the bridge")
struct VideoPlanTests {
    static func calleeAnswer(video: String?) throws -> SDPSessionDescription {
        var lines = ["v=0", "o=cc 1 1 IN IP4 127.0.0.2", "s=-", "c=IN IP4 127.0.0.2", "t=0 0", "m=audio 6000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=sendrecv"]
        if let video { lines += video.split(separator: "\n").map(String.init) }
        return try SDPSessionDescription(parsing: MediaPlanTests.crlf((lines + [""]).joined(separator: "\n")))
    }

    static let vp8Answer = "m=video 7000 RTP/AVP 100\na=rtpmap:100 VP8/90000\na=rtcp-fb:100 nack pli\na=sendrecv"

    @Test func theBundledVideoOfTheOfferIsRead() throws {
        let video = try #require(try MediaPlanTests.browser().video)
        #expect(video.index == 1)
        #expect(video.mid == "1")
        #expect(video.formats.map(\.payloadType) == [96])
        #expect(video.direction == .sendrecv)
        // Outside the audio's BUNDLE group it cannot share the one transport.
        let unbundled = MediaPlanTests.chromeOffer.replacingOccurrences(of: "a=group:BUNDLE 0 1", with: "a=group:BUNDLE 0")
        #expect(try MediaPlanTests.browser(unbundled).video == nil)
    }

    @Test func theCallCentreIsOfferedTheBrowsersVideoOverPlainRTP() throws {
        let offer = try MediaPlan.calleeOffer(
            for: MediaPlanTests.browser(), codecs: [.pcmu], host: "127.0.0.1", port: 20000, sessionID: "1", videoPort: 20004
        )
        #expect(offer.media.count == 2)
        let video = offer.media[1]
        #expect(video.media == .video && video.port == 20004 && video.transportProtocol == .rtpAVP)
        #expect(video.payloadFormats.map(\.codec.name) == ["VP8"])
        #expect(video.attributes.rtcpFeedback.map(\.feedback) == ["nack", "nack pli", "ccm fir"])
        #expect(video.attributes.direction == .sendrecv)
        // Without a video port (a widget without video) the offer has audio only.
        let audioOnly = try MediaPlan.calleeOffer(for: MediaPlanTests.browser(), codecs: [.pcmu], host: "127.0.0.1", port: 20000, sessionID: "1")
        #expect(audioOnly.media.map(\.media) == [.audio])
    }

    @Test func theBrowserGetsTheVideoTheCallCentreAccepted() throws {
        let (answer, plan) = try MediaPlan.browserAnswer(
            for: MediaPlanTests.browser(), calleeAnswer: Self.calleeAnswer(video: Self.vp8Answer), local: MediaPlanTests.local, sessionID: "7",
            browserSSRC: 1111, videoSSRC: 2222
        )
        let video = try #require(plan.video)
        #expect(video.browserFormat.payloadType == 96 && video.calleeFormat.payloadType == 100)
        #expect(video.calleeHost == "127.0.0.2" && video.calleePort == 7000 && video.calleeRTCPPort == 7001)
        #expect(video.mid == "1" && video.browserSSRC == 2222 && video.browserDirection == .sendrecv)
        // On the audio's transport, in its BUNDLE group, with its own SSRC and the relayed feedback.
        #expect(answer.media[1].port == MediaPlanTests.local.port)
        #expect(answer.attributes.bundleGroup?.identificationTags == ["0", "1"])
        #expect(answer.media[1].attributes.values("ssrc").contains("2222 cname:\(plan.browserCNAME)"))
        #expect(answer.media[0].attributes.values("ssrc").contains("1111 cname:\(plan.browserCNAME)"))
        #expect(!answer.media[0].attributes.values("ssrc").contains { $0.hasPrefix("2222") })
        #expect(answer.media[1].attributes.contains("ice-ufrag") && answer.media[1].attributes.contains("fingerprint"))
        #expect(answer.media[1].attributes.direction == .sendrecv)
    }

    @Test func theVideoGoesAsTheCallCentreSaid() throws {
        let receiving = Self.vp8Answer.replacingOccurrences(of: "a=sendrecv", with: "a=recvonly")
        let (answer, plan) = try MediaPlan.browserAnswer(
            for: MediaPlanTests.browser(), calleeAnswer: Self.calleeAnswer(video: receiving), local: MediaPlanTests.local, sessionID: "7"
        )
        // The call centre only receives: the gateway receives from the browser, sends it nothing.
        #expect(answer.media[1].attributes.direction == .recvonly)
        #expect(plan.video?.browserDirection == .recvonly)
        #expect(plan.video?.browserDirection.sends == false)
    }

    @Test func aRefusedVideoIsRefusedToTheBrowser() throws {
        for refusal in [nil, "m=video 0 RTP/AVP 100\na=rtpmap:100 VP8/90000", "m=video 7000 RTP/AVP 99\na=rtpmap:99 H263/90000"] {
            let (answer, plan) = try MediaPlan.browserAnswer(
                for: MediaPlanTests.browser(), calleeAnswer: Self.calleeAnswer(video: refusal), local: MediaPlanTests.local, sessionID: "7"
            )
            #expect(plan.video == nil)
            #expect(answer.media[1].port == 0)
            #expect(answer.attributes.bundleGroup?.identificationTags == ["0"])
        }
    }

    @Test func onlyTheLiveOfTwoVideoStreamsIsRelayed() throws {
        // A camera turned on after a refused one: Chrome adds a second video m= line.
        let second = MediaPlanTests.chromeOffer
            .replacingOccurrences(of: "a=group:BUNDLE 0 1", with: "a=group:BUNDLE 0 1 2")
            .replacingOccurrences(of: "a=mid:1\r\na=sendrecv", with: "a=mid:1\r\na=inactive")
            + MediaPlanTests.crlf(
                """
                m=video 54400 UDP/TLS/RTP/SAVPF 98
                c=IN IP4 127.0.0.1
                a=mid:2
                a=sendrecv
                a=rtcp-mux
                a=rtpmap:98 VP8/90000

                """
            )
        let browser = try MediaPlanTests.browser(second)
        #expect(browser.video?.index == 2 && browser.video?.mid == "2")
        let (answer, plan) = try MediaPlan.browserAnswer(
            for: browser, calleeAnswer: Self.calleeAnswer(video: Self.vp8Answer), local: MediaPlanTests.local, sessionID: "7"
        )
        #expect(plan.video?.mid == "2" && plan.video?.browserFormat.payloadType == 98)
        #expect(answer.media[1].port == 0 && answer.media[2].port == MediaPlanTests.local.port)
        #expect(answer.attributes.bundleGroup?.identificationTags == ["0", "2"])
    }

    @Test func anIPv6HostCandidateFollowsTheIPv4One() throws {
        var local = MediaPlanTests.local
        local.host6 = "2001:db8::7"
        local.port6 = 20010
        let (answer, _) = try MediaPlan.browserAnswer(
            for: MediaPlanTests.browser(), calleeAnswer: Self.calleeAnswer(video: nil), local: local, sessionID: "7"
        )
        let candidates = answer.media[0].attributes.values(of: SDPICECandidate.self)
        #expect(candidates.map(\.address) == ["127.0.0.1", "2001:db8::7"])
        #expect(candidates.map(\.port) == [20002, 20010])
        #expect(candidates[0].priority > candidates[1].priority)
        #expect(Set(candidates.map(\.foundation)).count == 2)
    }

    // MARK: Feedback between the legs

    static func compound(_ build: (inout RTCPCompoundWriter) throws -> Void) throws -> [UInt8] {
        var storage = [UInt8](repeating: 0, count: 512)
        let count = try storage.withUnsafeMutableBytes { raw -> Int in
            var writer = RTCPCompoundWriter(into: raw)
            try build(&writer)
            return writer.count
        }
        return Array(storage[..<count])
    }

    @Test func feedbackAboutTheGatewaysStreamIsRewrittenForTheOtherLeg() throws {
        let about: UInt32 = 0xAAAA_0001, other: UInt32 = 0xBBBB_0002
        let input = try Self.compound { writer in
            try writer.appendReceiverReport(ssrc: 0x1234, reportBlocks: [RTCPReportBlock]())
            try writer.appendPictureLossIndication(senderSSRC: 0x1234, mediaSSRC: about)
            try writer.appendPictureLossIndication(senderSSRC: 0x1234, mediaSSRC: other)
            try writer.appendGenericNACK(senderSSRC: 0x1234, mediaSSRC: about, lostSequenceNumbers: [100, 101, 117, 300])
            try writer.appendFullIntraRequest(senderSSRC: 0x1234, mediaSSRC: about, sequenceNumber: 7)
        }
        var output = [UInt8](repeating: 0, count: 512)
        let written = try input.withUnsafeBytes { bytes in
            try output.withUnsafeMutableBytes { raw in
                MediaSession.writeFeedback(
                    from: try RTCPCompoundPacket(validating: bytes), about: about, into: raw, sender: 0x5555, source: 0x7777
                )
            }
        }
        let result = try #require(written)
        #expect(result.messages == 3)
        try output.withUnsafeBytes { raw in
            let packets = Array(try RTCPCompoundPacket(validating: UnsafeRawBufferPointer(rebasing: raw[..<result.length])))
            #expect(packets.count == 4)
            guard packets.count == 4 else { return }
            guard case .receiverReport(let report) = try packets[0].message() else { Issue.record("no RR first"); return }
            #expect(report.ssrc == 0x5555 && report.reportBlocks.count == 0)
            guard case .pictureLossIndication(let pli) = try packets[1].message() else { Issue.record("no PLI"); return }
            #expect(pli.senderSSRC == 0x5555 && pli.mediaSSRC == 0x7777)
            guard case .genericNACK(let nack) = try packets[2].message() else { Issue.record("no NACK"); return }
            #expect(nack.senderSSRC == 0x5555 && nack.mediaSSRC == 0x7777)
            #expect(Array(nack) == [100, 101, 117, 300])
            guard case .fullIntraRequest(let fir) = try packets[3].message() else { Issue.record("no FIR"); return }
            #expect(fir.senderSSRC == 0x5555)
            #expect(fir.entry(at: 0)?.ssrc == 0x7777 && fir.entry(at: 0)?.sequenceNumber == 7)
        }
    }

    @Test func reportsAloneAreNotPassedOn() throws {
        let input = try Self.compound { writer in
            try writer.appendReceiverReport(ssrc: 0x1234, reportBlocks: [RTCPReportBlock]())
            try writer.appendPictureLossIndication(senderSSRC: 0x1234, mediaSSRC: 0xDEAD)
        }
        var output = [UInt8](repeating: 0, count: 512)
        let written = try input.withUnsafeBytes { bytes in
            try output.withUnsafeMutableBytes { raw in
                MediaSession.writeFeedback(from: try RTCPCompoundPacket(validating: bytes), about: 0xAAAA, into: raw, sender: 1, source: 2)
            }
        }
        #expect(written == nil)
    }
}

@Suite("Video asked for by the call centre")
struct VideoUpgradeTests {
    static func plane() throws -> (MediaPlane, MultiThreadedEventLoopGroup, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("video-upgrade-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let plane = try MediaPlane(
            // No browser does ICE here: long timeouts keep a slowly run test's session open.
            configuration: MediaPlaneConfiguration(
                bindHost: "127.0.0.1", advertisedHost: "127.0.0.1", ports: 41000...41999, mediaTimeout: .seconds(600),
                iceTimeout: .seconds(600), certificateDirectory: directory
            ),
            group: group, logger: Logger(label: "test")
        )
        return (plane, group, directory)
    }

    /// Chrome's audio-only offer (the widget starts with audio).
    static let audioOnly = MediaPlanTests.chromeOffer
        .replacingOccurrences(of: "a=group:BUNDLE 0 1", with: "a=group:BUNDLE 0")
        .components(separatedBy: "m=video")[0]

    static let calleeVideoReoffer = MediaPlanTests.crlf(
        """
        v=0
        o=cc 1 2 IN IP4 127.0.0.2
        s=-
        c=IN IP4 127.0.0.2
        t=0 0
        m=audio 6000 RTP/AVP 0
        a=rtpmap:0 PCMU/8000
        a=sendrecv
        m=video 7000 RTP/AVP 0 111 34
        a=rtpmap:111 VP8/90000
        a=rtcp-fb:111 nack pli
        a=rtpmap:34 H263/90000
        a=sendrecv

        """
    )

    @Test func theBrowserIsOfferedTheCallCentresVideoOnItsTransport() throws {
        let (plane, group, directory) = try Self.plane()
        defer {
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let media = try plane.openBrowserCall(offer: MediaPlanTests.browser(Self.audioOnly), calleeCodecs: [.pcmu], callId: "c1", allowsVideo: true) { _ in }
        defer { media.close() }
        #expect(media.calleeOffer.media.map(\.media) == [.audio], "an audio-only call offers no video")
        _ = try media.answer(VideoPlanTests.calleeAnswer(video: nil))
        let reoffer = try SDPSessionDescription(parsing: Self.calleeVideoReoffer)
        #expect(media.calleeReofferAddsVideo(reoffer))

        let offer = try #require(media.browserVideoOffer(for: reoffer))
        #expect(offer.media.count == 2)
        let audio = offer.media[0], video = offer.media[1]
        #expect(video.media == .video && video.port == audio.port && video.transportProtocol == audio.transportProtocol)
        #expect(offer.attributes.bundleGroup?.identificationTags == ["0", "1"])
        #expect(video.attributes.mid == "1")
        // VP8 only (H263 is not a browser codec), and 111 is Opus on the audio: another number.
        let formats = video.payloadFormats
        #expect(formats.map(\.codec.name) == ["VP8"])
        #expect(formats.allSatisfy { !audio.payloadTypes.contains($0.payloadType) && $0.payloadType >= 96 })
        #expect(video.attributes.setup == .actpass && audio.attributes.setup == .actpass)
        #expect(video.attributes.iceUsernameFragment == audio.attributes.iceUsernameFragment)
        #expect(video.attributes.direction == .sendrecv)
        #expect(!media.calleeReofferAddsVideo(reoffer), "one upgrade at a time")

        // The browser answers with the camera off.
        let vp8 = try #require(formats.first?.payloadType)
        let answer = try SDPSessionDescription(parsing: MediaPlanTests.crlf(
            """
            v=0
            o=- 42 3 IN IP4 127.0.0.1
            s=-
            t=0 0
            a=group:BUNDLE 0 1
            m=audio 9 UDP/TLS/RTP/SAVPF 0
            c=IN IP4 0.0.0.0
            a=ice-ufrag:Xq3v
            a=ice-pwd:Vw6Jk3zq9aLm2Rt8Yp1Nc4Hd
            a=setup:passive
            a=mid:0
            a=sendrecv
            a=rtcp-mux
            a=rtpmap:0 PCMU/8000
            m=video 9 UDP/TLS/RTP/SAVPF \(vp8)
            c=IN IP4 0.0.0.0
            a=mid:1
            a=inactive
            a=rtcp-mux
            a=rtpmap:\(vp8) VP8/90000

            """
        ))
        let calleeAnswer = try media.calleeAnswer(afterBrowser: answer)
        let calleeVideo = try #require(calleeAnswer.media.first { $0.media == .video })
        #expect(calleeVideo.port != 0 && calleeVideo.formats == ["111"])
        #expect(calleeVideo.attributes.direction == .inactive)
        #expect(calleeVideo.attributes.rtcpFeedback.map(\.feedback) == ["nack pli"])
        let plan = try #require(media.plan?.video)
        #expect(plan.browserFormat.payloadType == vp8 && plan.calleeFormat.payloadType == 111)
        #expect(plan.calleePort == 7000 && plan.calleeRTCPPort == 7001 && plan.browserDirection == .inactive)
        #expect(!media.calleeReofferAddsVideo(reoffer), "the video is there now")
    }

    @Test func aWidgetWithoutVideoIsNotAsked() throws {
        let (plane, group, directory) = try Self.plane()
        defer {
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let media = try plane.openBrowserCall(offer: MediaPlanTests.browser(Self.audioOnly), calleeCodecs: [.pcmu], callId: "c2") { _ in }
        defer { media.close() }
        _ = try media.answer(VideoPlanTests.calleeAnswer(video: nil))
        let reoffer = try SDPSessionDescription(parsing: Self.calleeVideoReoffer)
        #expect(!media.calleeReofferAddsVideo(reoffer))
        #expect(media.browserVideoOffer(for: reoffer) == nil)
        // Its answer refuses the video and keeps the audio.
        let answer = try #require(media.answerCalleeReoffer(reoffer))
        #expect(answer.media.map(\.port).last == 0 && answer.media[0].port != 0)
    }
}
