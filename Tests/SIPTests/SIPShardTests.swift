import Testing
@testable import SIP

@Suite("Call-ID shards")
struct SIPShardTests {
    /// The published FNV-1a 64-bit vectors: the same in every process, so a core can be chosen
    /// from a Call-ID's bytes alone (the end-to-end tests compute it in Python too).
    @Test func hashIsFNV1a64() {
        #expect(SIPShard.hash("") == 0xcbf2_9ce4_8422_2325)
        #expect(SIPShard.hash("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(SIPShard.hash("foobar") == 0x8594_4171_f739_67e8)
    }

    @Test func ownerIsTheHashModuloTheCount() {
        #expect(SIPShard.owner(ofCallID: "a", count: 2) == 0)
        #expect(SIPShard.owner(ofCallID: "a", count: 3) == 1)
        #expect(SIPShard.owner(ofCallID: "", count: 2) == 1)
        #expect(SIPShard.owner(ofCallID: "843210-1234@127.0.0.1", count: 3) == 1)
        // One core owns everything.
        #expect(SIPShard.owner(ofCallID: "", count: 1) == 0)
        #expect(SIPShard.single.owns(callID: "anything@host"))
    }

    @Test func madeCallIDsRouteToTheirCore() {
        for count in 1...4 {
            for index in 0..<count {
                let shard = SIPShard(index: index, count: count)
                for _ in 0..<50 {
                    let callID = shard.makeCallID(host: "gw.example")
                    #expect(SIPShard.owner(ofCallID: callID, count: count) == index)
                    #expect(callID.hasSuffix("@gw.example"))
                }
            }
        }
    }

    @Test func callIDsSpreadOverCores() {
        // Call-IDs of one peer (SIPp's `n-pid@host`) fall on every core, near evenly.
        var perCore = [0, 0]
        for number in 1...1000 { perCore[SIPShard.owner(ofCallID: "\(number)-4242@127.0.0.1", count: 2)] += 1 }
        #expect(perCore.allSatisfy { (400...600).contains($0) }, "\(perCore)")
    }
}
