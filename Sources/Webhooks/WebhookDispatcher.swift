import AsyncHTTPClient
public import Control
import Foundation
public import Logging
import Metrics
import NIOCore
import NIOHTTP1
public import ServiceLifecycle
import Synchronization

/// How deliveries are attempted.
public struct WebhookDispatchConfiguration: Sendable {
    /// One attempt's limit, connection and answer included.
    public var timeout: Duration
    /// The wait after the first failed attempt; each later wait is four times longer (capped at
    /// ``maxRetryDelay``), with ±20 % jitter.
    public var retryBase: Duration
    public var maxRetryDelay: Duration
    /// Attempts before a delivery is given up (10 with the defaults spans about a day).
    public var maxAttempts: Int
    /// Attempts in flight at once, over all subscriptions.
    public var concurrency: Int
    /// The longest `Retry-After` honoured.
    public var maxRetryAfter: Duration

    public init(
        timeout: Duration = .seconds(10), retryBase: Duration = .seconds(5), maxRetryDelay: Duration = .seconds(8 * 3600),
        maxAttempts: Int = 10, concurrency: Int = 32, maxRetryAfter: Duration = .seconds(3600)
    ) {
        self.timeout = timeout
        self.retryBase = retryBase
        self.maxRetryDelay = maxRetryDelay
        self.maxAttempts = maxAttempts
        self.concurrency = concurrency
        self.maxRetryAfter = maxRetryAfter
    }

    /// The wait after failed attempt `number` (from 1), before jitter.
    public func backoff(afterAttempt number: Int) -> Duration {
        let base = Double(retryBase.components.seconds) + Double(retryBase.components.attoseconds) / 1e18
        let cap = Double(maxRetryDelay.components.seconds)
        let seconds = min(cap, base * pow(4, Double(max(0, number - 1))))
        return .milliseconds(Int64(seconds * 1000))
    }
}

/// Sends the outbox: picks due deliveries from the store, signs and sends them, and stores each
/// attempt's outcome. It runs apart from call handling; a slow or dead endpoint only delays its
/// own deliveries. After a crash every delivery not yet stored as done is sent again with the
/// same `webhook-id` (at least once).
public final class WebhookDispatcher: Service, Sendable {
    let storage: any Storage
    let webhooks: WebhookService
    let configuration: WebhookDispatchConfiguration
    let logger: Logger
    let client: HTTPClient
    private let wakeUps: AsyncStream<Void>
    private let wakeUpSink: AsyncStream<Void>.Continuation
    private let inFlight = Mutex<Set<String>>([])
    private let succeeded = Counter(label: "switchboard_webhook_attempts_total", dimensions: [("result", "success")])
    private let failedAttempts = Counter(label: "switchboard_webhook_attempts_total", dimensions: [("result", "failure")])
    private let abandoned = Counter(label: "switchboard_webhook_deliveries_failed_total")

    public init(storage: any Storage, webhooks: WebhookService, configuration: WebhookDispatchConfiguration = .init(), logger: Logger) {
        self.storage = storage
        self.webhooks = webhooks
        self.configuration = configuration
        self.logger = logger
        var clientConfiguration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)))
        clientConfiguration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 8)
        // Its own event loop: connections to slow or many CRM endpoints never share a thread with
        // the SIP core or the media sessions.
        client = HTTPClient(eventLoopGroup: OutboundHTTP.group, configuration: clientConfiguration)
        (wakeUps, wakeUpSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// New deliveries may be due: look now rather than at the next tick.
    public func wake() { wakeUpSink.yield() }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                // Wake-ups and a 1 s tick (for retries) both lead to a look at the store.
                group.addTask { [wakeUpSink] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        wakeUpSink.yield()
                    }
                }
                for await _ in wakeUps {
                    await dispatchDue(into: &group)
                }
                group.cancelAll()
            }
        } onGracefulShutdown: { [wakeUpSink] in
            wakeUpSink.finish()
        }
        try? await client.shutdown()
    }

    private func dispatchDue(into group: inout DiscardingTaskGroup) async {
        let busy = inFlight.withLock { $0 }
        let room = configuration.concurrency - busy.count
        guard room > 0 else { return }
        let due: [DueDelivery]
        do {
            due = try await storage.dueDeliveries(at: Date(), excluding: busy, limit: room)
        } catch {
            logger.warning("could not read due webhook deliveries", metadata: ["error": "\(error)"])
            return
        }
        for item in due {
            guard inFlight.withLock({ $0.insert(item.delivery.id).inserted }) else { continue }
            group.addTask { [self] in
                await attempt(item)
                inFlight.withLock { _ = $0.remove(item.delivery.id) }
                // The next event of the same call may be due now.
                wakeUpSink.yield()
            }
        }
    }

    // MARK: One attempt

    struct Outcome {
        var statusCode: Int?
        var error: String?
        var retryAfter: Duration?
        var success: Bool { error == nil }
    }

    func attempt(_ item: DueDelivery) async {
        let started = ContinuousClock.now
        let outcome = await send(item)
        let elapsed = ContinuousClock.now - started
        var delivery = item.delivery
        let number = delivery.attemptCount + 1
        let now = Date()
        delivery.attempts.append(DeliveryAttempt(
            number: number, at: now, statusCode: outcome.statusCode, error: outcome.error,
            durationMilliseconds: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        ))
        if delivery.attempts.count > WebhookDelivery.keptAttempts { delivery.attempts.removeFirst(delivery.attempts.count - WebhookDelivery.keptAttempts) }
        var disabling: String?
        if outcome.success {
            succeeded.increment()
            delivery.status = .succeeded
            delivery.completedAt = now
            delivery.nextAttemptAt = nil
        } else {
            failedAttempts.increment()
            if outcome.statusCode == 410 {
                disabling = "the endpoint answered 410 Gone"
                delivery.status = .failed
                delivery.completedAt = now
                delivery.nextAttemptAt = nil
            } else if number >= configuration.maxAttempts {
                delivery.status = .failed
                delivery.completedAt = now
                delivery.nextAttemptAt = nil
            } else {
                var wait = configuration.backoff(afterAttempt: number) * Double.random(in: 0.8...1.2)
                if let retryAfter = outcome.retryAfter { wait = max(wait, min(retryAfter, configuration.maxRetryAfter)) }
                delivery.nextAttemptAt = now.addingTimeInterval(Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
            }
            if delivery.status == .failed { abandoned.increment() }
            logger.info(
                "webhook attempt failed",
                metadata: [
                    "delivery": "\(delivery.id)", "webhook": "\(item.webhook.id)", "event": "\(item.event.id)", "attempt": "\(number)",
                    "error": "\(outcome.error ?? "")", "status": "\(delivery.status.rawValue)",
                ]
            )
        }
        do {
            try await storage.update(delivery: delivery, disablingWebhook: disabling)
        } catch {
            // Not stored: the delivery stays pending and is sent again (same webhook-id).
            logger.warning("could not store a webhook attempt", metadata: ["delivery": "\(delivery.id)", "error": "\(error)"])
        }
    }

    func send(_ item: DueDelivery) async -> Outcome {
        let secret: String
        do {
            secret = try webhooks.secret(of: item.webhook)
        } catch {
            return Outcome(statusCode: nil, error: "the subscription's secret cannot be opened")
        }
        let body: [UInt8]
        let contentType: String
        switch item.webhook.format {
        case .json:
            body = Array(item.event.envelopeJSON.utf8)
            contentType = "application/json"
        case .xmlrpc:
            body = XMLRPCPush.body(method: item.webhook.xmlrpcMethod, event: item.event)
            contentType = "text/xml"
        }
        let timestamp = Int(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: item.webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.headers.add(name: "User-Agent", value: "Switchboard-Webhooks/1")
        request.headers.add(name: "webhook-id", value: item.event.id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: WebhookSignature.sign(secret: secret, id: item.event.id, timestamp: timestamp, body: body) ?? "")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let timeout = TimeAmount.nanoseconds(
                configuration.timeout.components.seconds * 1_000_000_000 + configuration.timeout.components.attoseconds / 1_000_000_000
            )
            let response = try await client.execute(request, timeout: timeout)
            let answer = try await response.body.collect(upTo: 256 * 1024)
            let code = Int(response.status.code)
            var outcome = Outcome(statusCode: code, error: nil)
            if !(200...299).contains(code) {
                outcome.error = "the endpoint answered \(code)"
                if let value = response.headers.first(name: "Retry-After"), let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 {
                    outcome.retryAfter = .seconds(seconds)
                }
            } else if item.webhook.format == .xmlrpc, let fault = XMLRPCPush.fault(in: Array(buffer: answer)) {
                outcome.error = fault
            }
            return outcome
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return Outcome(statusCode: nil, error: "no answer within the timeout")
        } catch {
            return Outcome(statusCode: nil, error: "\(error)")
        }
    }
}
