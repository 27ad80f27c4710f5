/// The WebRTC module: STUN messages (RFC 8489), the ICE-lite agent (RFC 8445, always
/// controlled), consent freshness (RFC 7675) and the demultiplexing of one UDP port into STUN,
/// DTLS, RTP and RTCP (RFC 7983).
///
/// - `STUN/`: ``STUNMessage`` (parser), ``STUNMessageWriter``, integrity and fingerprint,
///   ``STUNDatagram`` (an inline answer).
/// - `ICE/`: ``ICELiteAgent``, ``ICECredentials``, ``ICEHostCandidate``.
/// - ``DatagramKind``: which protocol a datagram on the media port carries.
///
/// Imports NIOCore and Crypto. Knows nothing of SIP, HTTP, the store or the domain.
enum WebRTCModule {}
