/// The SRTP module: the gateway's DTLS certificate, DTLS 1.2 handshakes through system OpenSSL
/// with memory BIOs (DTLS-SRTP, RFC 5764), SRTP and SRTCP through libsrtp2, and SDES keys
/// (RFC 4568) for the SIP leg.
///
/// - ``DTLSCertificate``: ECDSA P-256 key and self-signed certificate, kept in a directory.
/// - ``DTLSFingerprint``: `a=fingerprint` values and certificate digests.
/// - ``DTLSEndpoint``: the sans-I/O DTLS driver (datagrams and clock in; datagrams, timer and
///   ``DTLSEvent`` out); on connect it yields ``SRTPKeys``.
/// - ``SRTPSession``: in-place protect/unprotect of RTP and RTCP for one association.
/// - ``SRTPMasterKey``, ``SRTPProfile``: key || salt bytes and protection profiles, shared by
///   DTLS-SRTP and SDES (the SIP module parses `a=crypto`; this module only takes bytes).
///
/// Imports NIOCore, OpenSSL and libsrtp2. Knows nothing of SIP, HTTP, the store or the domain.
enum SRTPModule {}
