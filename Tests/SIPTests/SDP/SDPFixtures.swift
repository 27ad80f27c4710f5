/// Session descriptions used across the SDP tests, written with LF in source and converted to
/// CRLF (the canonical form ``SDPSessionDescription/serialized()`` produces).
enum SDPFixtures {
    static func crlf(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
    }

    /// A Chrome offer: audio and video, BUNDLE, trickle ICE with host/srflx/tcp candidates,
    /// DTLS fingerprint, extmap, rtcp-fb, RTX, SSRC groups, msid.
    static let chromeOffer = crlf(
        """
        v=0
        o=- 4215775240449105457 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0 1
        a=extmap-allow-mixed
        a=msid-semantic: WMS 7f3a2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b
        m=audio 54400 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
        c=IN IP4 203.0.113.45
        a=rtcp:9 IN IP4 0.0.0.0
        a=candidate:1467250027 1 udp 2122260223 192.168.1.23 54400 typ host generation 0 network-id 1 network-cost 10
        a=candidate:2442220432 1 udp 1686052607 203.0.113.45 54400 typ srflx raddr 192.168.1.23 rport 54400 generation 0 network-id 1 network-cost 10
        a=candidate:3810264587 1 tcp 1518280447 192.168.1.23 9 typ host tcptype active generation 0 network-id 1 network-cost 10
        a=ice-ufrag:Xq3v
        a=ice-pwd:Vw6Jk3zq9aLm2Rt8Yp1Nc4Hd
        a=ice-options:trickle
        a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
        a=setup:actpass
        a=mid:0
        a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
        a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
        a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
        a=sendrecv
        a=msid:7f3a2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b 0b1c2d3e-4f50-4a6b-9c7d-8e9f0a1b2c3d
        a=rtcp-mux
        a=rtpmap:111 opus/48000/2
        a=rtcp-fb:111 transport-cc
        a=fmtp:111 minptime=10;useinbandfec=1
        a=rtpmap:63 red/48000/2
        a=fmtp:63 111/111
        a=rtpmap:9 G722/8000
        a=rtpmap:0 PCMU/8000
        a=rtpmap:8 PCMA/8000
        a=rtpmap:13 CN/8000
        a=rtpmap:110 telephone-event/48000
        a=rtpmap:126 telephone-event/8000
        a=ssrc:3735928559 cname:4TOk42mSjXCkVIa6
        a=ssrc:3735928559 msid:7f3a2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b 0b1c2d3e-4f50-4a6b-9c7d-8e9f0a1b2c3d
        m=video 54400 UDP/TLS/RTP/SAVPF 96 97 102 103
        c=IN IP4 203.0.113.45
        a=rtcp:9 IN IP4 0.0.0.0
        a=candidate:1467250027 1 udp 2122260223 192.168.1.23 54400 typ host generation 0 network-id 1 network-cost 10
        a=ice-ufrag:Xq3v
        a=ice-pwd:Vw6Jk3zq9aLm2Rt8Yp1Nc4Hd
        a=ice-options:trickle
        a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
        a=setup:actpass
        a=mid:1
        a=extmap:14 urn:ietf:params:rtp-hdrext:toffset
        a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
        a=extmap:13 urn:3gpp:video-orientation
        a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
        a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
        a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
        a=sendrecv
        a=msid:7f3a2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b 5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9
        a=rtcp-mux
        a=rtcp-rsize
        a=rtpmap:96 VP8/90000
        a=rtcp-fb:96 goog-remb
        a=rtcp-fb:96 transport-cc
        a=rtcp-fb:96 ccm fir
        a=rtcp-fb:96 nack
        a=rtcp-fb:96 nack pli
        a=rtpmap:97 rtx/90000
        a=fmtp:97 apt=96
        a=rtpmap:102 H264/90000
        a=rtcp-fb:102 goog-remb
        a=rtcp-fb:102 transport-cc
        a=rtcp-fb:102 ccm fir
        a=rtcp-fb:102 nack
        a=rtcp-fb:102 nack pli
        a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
        a=rtpmap:103 rtx/90000
        a=fmtp:103 apt=102
        a=ssrc-group:FID 2271533371 4016735372
        a=ssrc:2271533371 cname:4TOk42mSjXCkVIa6
        a=ssrc:2271533371 msid:7f3a2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b 5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9
        a=ssrc:4016735372 cname:4TOk42mSjXCkVIa6
        a=ssrc:4016735372 msid:7f3a2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b 5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9

        """
    )

    /// A Firefox offer: session-level fingerprint and ICE options, mDNS host candidate,
    /// end-of-candidates, extmap with a direction, `G722/8000/1`, braces in msid.
    static let firefoxOffer = crlf(
        """
        v=0
        o=mozilla...THIS_IS_SDPARTA-128.0 6418285315925397406 0 IN IP4 0.0.0.0
        s=-
        t=0 0
        a=fingerprint:sha-256 2C:1B:9A:71:6E:04:3D:C8:55:B0:F2:9E:4A:17:D6:83:60:AF:0B:E5:3C:98:21:7D:44:F1:A6:0E:B3:52:CD:19
        a=group:BUNDLE 0
        a=ice-options:trickle
        a=msid-semantic:WMS *
        m=audio 56422 UDP/TLS/RTP/SAVPF 109 9 0 8 101
        c=IN IP4 198.51.100.7
        a=candidate:0 1 UDP 2122252543 2d3f4c0e-8f7a-4b6c-9d1e-0a2b3c4d5e6f.local 56422 typ host
        a=candidate:1 1 UDP 1686052863 198.51.100.7 56422 typ srflx raddr 0.0.0.0 rport 0
        a=sendrecv
        a=end-of-candidates
        a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
        a=extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level
        a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid
        a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1
        a=fmtp:101 0-15
        a=ice-pwd:6a3c1e7b9d2f4a8c0e5b7d9f1a3c5e7b
        a=ice-ufrag:9f2b7c4e
        a=mid:0
        a=msid:{5a8c1b2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d} {e1d2c3b4-a5f6-4e7d-8c9b-0a1b2c3d4e5f}
        a=rtcp-mux
        a=rtpmap:109 opus/48000/2
        a=rtpmap:9 G722/8000/1
        a=rtpmap:0 PCMU/8000
        a=rtpmap:8 PCMA/8000
        a=rtpmap:101 telephone-event/8000
        a=setup:actpass
        a=ssrc:1893473921 cname:{4b9d7e2a-1c3f-4e5d-a6b7-c8d9e0f1a2b3}

        """
    )

    /// A desk phone's offer: RTP/AVP, G.711, G.729 and RFC 4733 DTMF.
    static let sipPhoneOffer = crlf(
        """
        v=0
        o=- 20518 0 IN IP4 192.0.2.10
        s=SDP data
        c=IN IP4 192.0.2.10
        t=0 0
        m=audio 11780 RTP/AVP 0 8 18 101
        a=rtpmap:0 PCMU/8000
        a=rtpmap:8 PCMA/8000
        a=rtpmap:18 G729/8000
        a=fmtp:18 annexb=no
        a=rtpmap:101 telephone-event/8000
        a=fmtp:101 0-15
        a=ptime:20
        a=maxptime:150
        a=sendrecv

        """
    )

    /// An SBC's SDES-SRTP offer (RFC 4568 keys).
    static let sdesOffer = crlf(
        """
        v=0
        o=sbc 1747923412 1747923412 IN IP4 192.0.2.50
        s=Talk
        c=IN IP4 192.0.2.50
        b=AS:80
        t=0 0
        m=audio 40376 RTP/SAVP 8 0 101
        a=rtpmap:8 PCMA/8000
        a=rtpmap:0 PCMU/8000
        a=rtpmap:101 telephone-event/8000
        a=fmtp:101 0-16
        a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32
        a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32
        a=ptime:20
        a=sendrecv

        """
    )

    /// RFC 3264 §10.1, Alice's offer: one audio and two video streams.
    static let rfc3264BasicOffer = crlf(
        """
        v=0
        o=alice 2890844526 2890844526 IN IP4 host.anywhere.com
        s=
        c=IN IP4 host.anywhere.com
        t=0 0
        m=audio 49170 RTP/AVP 0
        a=rtpmap:0 PCMU/8000
        m=video 51372 RTP/AVP 31
        a=rtpmap:31 H261/90000
        m=video 53000 RTP/AVP 32
        a=rtpmap:32 MPV/90000

        """
    )

    /// RFC 3264 §10.1, Bob's answer: the first video stream rejected.
    static let rfc3264BasicAnswer = crlf(
        """
        v=0
        o=bob 2890844730 2890844730 IN IP4 host.example.com
        s=
        c=IN IP4 host.example.com
        t=0 0
        m=audio 49920 RTP/AVP 0
        a=rtpmap:0 PCMU/8000
        m=video 0 RTP/AVP 31
        m=video 53000 RTP/AVP 32
        a=rtpmap:32 MPV/90000

        """
    )

    /// RFC 3264 §10.1, Bob's re-offer: new audio port and an added receive-only event stream
    /// (the RFC spells the format `telephone-events`).
    static let rfc3264BasicReoffer = crlf(
        """
        v=0
        o=bob 2890844730 2890844731 IN IP4 host.example.com
        s=
        c=IN IP4 host.example.com
        t=0 0
        m=audio 65422 RTP/AVP 0
        a=rtpmap:0 PCMU/8000
        m=video 0 RTP/AVP 31
        m=video 53000 RTP/AVP 32
        a=rtpmap:32 MPV/90000
        m=audio 51434 RTP/AVP 110
        a=rtpmap:110 telephone-events/8000
        a=recvonly

        """
    )

    /// RFC 3264 §10.2, Alice's inactive offer of three codecs.
    static let rfc3264OneOfNOffer = crlf(
        """
        v=0
        o=alice 2890844526 2890844526 IN IP4 host.anywhere.com
        s=
        c=IN IP4 host.anywhere.com
        t=0 0
        m=audio 62986 RTP/AVP 0 4 18
        a=rtpmap:0 PCMU/8000
        a=rtpmap:4 G723/8000
        a=rtpmap:18 G729/8000
        a=inactive

        """
    )

    /// RFC 3264 §10.2, Alice's follow-up offer locking the codec down to G.723.
    static let rfc3264OneOfNLockOffer = crlf(
        """
        v=0
        o=alice 2890844526 2890844527 IN IP4 host.anywhere.com
        s=
        c=IN IP4 host.anywhere.com
        t=0 0
        m=audio 62986 RTP/AVP 4
        a=rtpmap:4 G723/8000
        a=sendrecv

        """
    )

    /// A session description using every RFC 8866 line type.
    static let allFields = crlf(
        """
        v=0
        o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1
        s=Call to John Smith
        i=SDP Offer #1
        u=http://www.jdoe.example.com/home.html
        e=Jane Doe <jane@jdoe.example.com>
        p=+1 617 555-6011
        c=IN IP4 198.51.100.1
        b=CT:128
        t=3034423619 3042462419
        r=7d 1h 0 25h
        r=604800 3600 0 90000
        z=2882844526 -1h 2898848070 0
        k=clear:secret
        a=recvonly
        m=audio 49170 RTP/AVP 0
        i=Voice
        c=IN IP4 224.2.1.1/127/3
        b=AS:64
        k=prompt
        m=video 51372/2 RTP/AVP 99
        c=IN IP6 FF15::101/3
        a=rtpmap:99 h263-1998/90000
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=sctp-port:5000

        """
    )
}
