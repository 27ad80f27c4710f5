internal import CSwitchboardSRTP

/// Why an SRTP operation or an SRTP session set-up failed.
public enum SRTPError: Error, Hashable, Sendable {
    /// The authentication tag did not verify: the packet was altered or keyed differently.
    case authenticationFailed
    /// The packet index was already seen (a replayed packet).
    case replayed
    /// The packet index is older than the replay window.
    case tooOld
    /// The packet is too short, not RTP/RTCP version 2, or its header does not fit its length.
    case malformedPacket
    /// The buffer has no room for the bytes protection appends.
    case insufficientCapacity(required: Int, available: Int)
    /// The master key || salt has the wrong length for the profile.
    case invalidKeyLength(expected: Int, actual: Int)
    /// The outbound and inbound keys name different profiles.
    case profileMismatch
    /// The replay window is outside libsrtp2's 64...32768 packets.
    case invalidReplayWindow(Int)
    /// The system random generator failed.
    case randomGenerationFailed
    /// Any other libsrtp2 status (`srtp_err_status_t` raw value).
    case library(status: UInt32)

    init(status: srtp_err_status_t) {
        switch status {
        case srtp_err_status_auth_fail, srtp_err_status_cipher_fail: self = .authenticationFailed
        case srtp_err_status_replay_fail: self = .replayed
        case srtp_err_status_replay_old, srtp_err_status_pkt_idx_old: self = .tooOld
        case srtp_err_status_bad_param, srtp_err_status_parse_err: self = .malformedPacket
        default: self = .library(status: status.rawValue)
        }
    }
}
