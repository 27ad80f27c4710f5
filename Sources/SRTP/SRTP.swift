/// The SRTP module: the gateway's DTLS certificate, DTLS 1.2 handshakes through system OpenSSL
/// with memory BIOs (DTLS-SRTP, RFC 5764), SRTP and SRTCP through libsrtp2, and SDES keys
/// (RFC 4568) for the SIP leg.
///
/// Imports NIOCore, OpenSSL and libsrtp2. Knows nothing of SIP, HTTP, the store or the domain.
enum SRTPModule {}
