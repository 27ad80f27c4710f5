import NIOCore
import SRTP

@testable import MediaPlane

/// For tests that drive a real-socket call without ICE and DTLS: waits until the session has its
/// plan and both audio channels (the loop registers them first), then gives it the browser's
/// address and SRTP keys, as if ICE had picked that address and DTLS had exported the keys.
/// False when the session is not ready within 5 s.
enum SessionKeying {
    static func install(on session: MediaSession, browserAddress: SocketAddress, keys: SRTPKeys) async throws -> Bool {
        for _ in 0..<500 {
            let ready = try await session.loop.submit { () throws -> Bool in
                guard session.plan != nil, session.channels[.browser] != nil, session.channels[.callee] != nil else { return false }
                session.browserAddress = browserAddress
                session.srtp = try SRTPSession(keys: keys)
                return true
            }.get()
            if ready { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
