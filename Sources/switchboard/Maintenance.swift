import Control
import Foundation
import Logging
import ServiceLifecycle

/// Periodic work: writing call state behind the signalling plane, and cleaning up what expires
/// (widget sessions past their lifetime, idempotency keys older than a day, events and their
/// deliveries older than the retention).
struct Maintenance: Service {
    let widgets: WidgetService
    let callLog: CallLog
    let logger: Logger
    /// How long events (and their finished deliveries) are kept.
    var eventRetention: TimeInterval = 30 * 86_400
    var interval: Duration = .seconds(60)

    func run() async throws {
        async let calls: Void = cancelWhenGracefulShutdown { await callLog.run() }
        await sweepUntilShutdown()
        await calls
    }

    private func sweepUntilShutdown() async {
        // Sleeping is cancelled when shutdown starts; that ends the loop, not the process.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweep()
                try? await Task.sleep(for: interval)
            }
        }
    }

    private func sweep() async {
        do {
            let now = widgets.clock.now()
            let sessions = try await widgets.storage.deleteSessions(expiredBefore: now)
            let keys = try await widgets.storage.deleteIdempotencyKeys(before: now.addingTimeInterval(-86_400))
            let events = try await widgets.storage.deleteEvents(before: now.addingTimeInterval(-eventRetention))
            if sessions + keys + events > 0 {
                logger.debug("expired rows removed", metadata: ["sessions": "\(sessions)", "idempotencyKeys": "\(keys)", "events": "\(events)"])
            }
        } catch {
            logger.warning("clean-up failed", metadata: ["error": "\(error)"])
        }
    }
}
