import Testing
@testable import RTP

@Suite struct RTPHeaderTests {}
