import CSwitchboardOpenSSL
import CSwitchboardOpus
import CSwitchboardSRTP
import CSwitchboardXML2
import Glibc
import Testing

/// The system C libraries link and answer: each test calls into the real library.
@Suite struct SystemLibraryTests {
    @Test func openSSLIsVersion3() {
        let text = String(cString: cswitchboard_OpenSSL_version_text())
        #expect(text.hasPrefix("OpenSSL 3"), "got \(text)")
        #expect(OpenSSL_version_num() >= 0x3000_0000)
    }

    @Test func srtpInitialises() {
        // The SRTP module initialises libsrtp2 once per process; other suites may have done so
        // already (then srtp_init answers bad_param), and it is never shut down under them.
        let status = srtp_init()
        #expect(status == srtp_err_status_ok || status == srtp_err_status_bad_param, "got \(status)")
        let version = String(cString: srtp_get_version_string())
        #expect(version.contains("2."), "got \(version)")
    }

    @Test func opusEncodesAndDecodesAFrame() throws {
        var error: Int32 = 0
        let encoder = try #require(opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &error))
        #expect(error == OPUS_OK)
        defer { opus_encoder_destroy(encoder) }
        #expect(cswitchboard_opus_set_complexity(encoder, 5) == OPUS_OK)
        let decoder = try #require(opus_decoder_create(48000, 1, &error))
        #expect(error == OPUS_OK)
        defer { opus_decoder_destroy(decoder) }

        var pcm = [Int16](repeating: 0, count: 960)
        for index in pcm.indices {
            let phase = 2 * Double.pi * 440 * Double(index) / 48000
            pcm[index] = Int16(8000 * sin(phase))
        }
        var packet = [UInt8](repeating: 0, count: 1500)
        let bytes = opus_encode(encoder, pcm, 960, &packet, 1500)
        #expect(bytes > 0)
        var out = [Int16](repeating: 0, count: 960)
        let samples = opus_decode(decoder, packet, bytes, &out, 960, 0)
        #expect(samples == 960)
    }

    @Test func libxml2DoesNotExpandExternalEntitiesWithSafeOptions() {
        let document = #"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>"#
        let doc = document.withCString { xmlReadMemory($0, Int32(strlen($0)), nil, nil, cswitchboard_xml_safe_options()) }
        defer { if let doc { xmlFreeDoc(doc) } }
        guard let doc, let root = xmlDocGetRootElement(doc) else {
            return  // rejected outright is also safe
        }
        let content = xmlNodeGetContent(root)
        defer { free(content) }
        let text = content.map { String(cString: $0) } ?? ""
        #expect(!text.contains("root:"), "external entity was expanded")
    }
}
