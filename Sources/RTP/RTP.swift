/// The RTP module: RTP (RFC 3550) and RTCP packets read and written in place, header extensions
/// (RFC 8285), per-stream statistics (loss, jitter, RTT, MOS estimate), the adaptive jitter
/// buffer, and telephone-event (RFC 4733).
///
/// Imports NIOCore only. Knows nothing of SIP, HTTP, the store or the domain.
enum RTPModule {}
