/// The RTP module: RTP (RFC 3550) and RTCP packets read and written in place, header extensions
/// (RFC 8285), per-stream statistics (loss, jitter, RTT, MOS estimate), the adaptive jitter
/// buffer, and telephone-event (RFC 4733).
///
/// - Packets: ``RTPHeader`` (parse), ``RTPMutablePacket`` (rewrite in place),
///   ``RTPPacketWriter`` (build); ``RTCPCompoundPacket`` (validate and iterate),
///   ``RTCPMessage`` (decoded packets), ``RTCPCompoundWriter`` (build).
/// - Statistics: ``RTPReceiveStatistics``, ``RTPSendStatistics``, ``RoundTripTime``,
///   ``VoiceQualityEstimate``, ``NTPTimestamp``.
/// - Reporting: ``RTCPReporter`` (one participant's SR/RR, SDES and BYE, LSR and round-trip
///   time from the peer's reports), ``RTCPReportInterval`` (RFC 3550 §6.2–6.3 schedule).
/// - Playout: ``JitterBuffer``. Events: ``TelephoneEvent``, ``TelephoneEventRateConverter``.
///
/// Everything on the packet path works on caller-owned `UnsafeRawBufferPointer` and
/// `UnsafeMutableRawBufferPointer` views, does not allocate, takes no locks, uses no
/// existentials, and rejects bad input with typed errors instead of trapping.
///
/// Imports NIOCore only (for `NIODeadline` and `TimeAmount`). Knows nothing of SIP, HTTP, the
/// store or the domain.
enum RTPModule {}
