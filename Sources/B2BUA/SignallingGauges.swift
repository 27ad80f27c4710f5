import Metrics
import NIOCore

/// What one signalling core holds, sampled on its loop once a second into `/metrics`: live
/// transactions by side, bridged calls, and the entries of the indexes that find a call from
/// its messages. The last two follow the live calls and fall back to zero when they have all
/// ended; anything left there after that is state that outlived its call.
struct SignallingGauges {
    static let interval = TimeAmount.seconds(1)

    let serverTransactions: Gauge
    let clientTransactions: Gauge
    let calls: Gauge
    let callIndexEntries: Gauge

    init(core: Int) {
        let core = ("core", String(core))
        serverTransactions = Gauge(label: "switchboard_sip_transactions", dimensions: [core, ("side", "server")])
        clientTransactions = Gauge(label: "switchboard_sip_transactions", dimensions: [core, ("side", "client")])
        calls = Gauge(label: "switchboard_sip_calls", dimensions: [core])
        callIndexEntries = Gauge(label: "switchboard_sip_call_index_entries", dimensions: [core])
    }

    func sample(_ core: SignallingCore) {
        serverTransactions.record(core.table.serverCount)
        clientTransactions.record(core.table.clientCount)
        calls.record(core.bridges.calls.count)
        callIndexEntries.record(core.bridges.indexEntries)
    }
}

extension CallBridges {
    /// Entries of the indexes by dialog and by transaction (not the calls themselves).
    var indexEntries: Int {
        dialogs.count + byCallerInvite.count + byCalleeInvite.count + relays.count + refreshes.count
            + browserReoffers.count + resolving.count
    }
}
