@testable import Control
import Foundation
import Testing

@Suite struct ValidationTests {
    @Test(arguments: [
        "sip:alice@example.com", "sips:+4930123@[2001:db8::1]:5061;transport=tls", "sip:queue@10.0.0.1;lr",
        "sip:example.com", "sip:agent@127.0.0.1:5080", "trk_01M80QTCC5R7DF16VF0HZEMHVX",
    ])
    func validDestinations(_ text: String) {
        #expect(Destination.problem(text) == nil, "\(text): \(Destination.problem(text) ?? "")")
    }

    @Test(arguments: [
        "sip:", "sip:alice@", "sip:a@b:99999", "sips:a b@c", "http://x", "sip:a@exa mple.com", "tel:+49301234",
        "sip:a@-bad-.com", "sip:a@b:0", "trk_nope", "sip:a@[zz::1]", "",
    ])
    func invalidDestinations(_ text: String) {
        #expect(Destination.problem(text) != nil, "\(text) should be rejected")
    }

    @Test(arguments: ["https://shop.example", "http://127.0.0.1:8080", "https://SHOP.example:8443", "http://[::1]:3000"])
    func validOrigins(_ text: String) {
        #expect(Origin.problem(text) == nil, "\(text): \(Origin.problem(text) ?? "")")
    }

    @Test(arguments: ["https://shop.example/", "https://shop.example/path", "ftp://x", "https://", "https://a:99999", "https://u@host", "shop.example", "https://a b"])
    func invalidOrigins(_ text: String) {
        #expect(Origin.problem(text) != nil, "\(text) should be rejected")
    }

    @Test func originsCompareCaseInsensitively() {
        let widget = Widget(
            id: "wid_x", name: "n", label: nil, appearance: .defaults, destination: "sip:a@b", allowedOrigins: ["https://shop.example"],
            video: false, recording: .init(), enabled: true, createdAt: Date(), updatedAt: Date()
        )
        #expect(widget.allows(origin: "https://Shop.Example"))
        #expect(!widget.allows(origin: "https://shop.example:444"))
        #expect(!widget.allows(origin: "http://shop.example"))
    }

    @Test func appearanceValidationNamesEachBadField() {
        var errors: [FieldError] = []
        Appearance(primaryColor: "blue", textColor: "#FFFFFF", position: "middle", shape: "blob", language: "english-x-y-z-long-tag-that-is-bad")
            .validate(at: "/appearance", into: &errors)
        #expect(Set(errors.map(\.pointer)) == ["/appearance/primaryColor", "/appearance/position", "/appearance/shape", "/appearance/language"])
    }

    @Test func appearanceMergeKeepsUnsetFields() {
        let merged = Appearance.defaults.merging(Appearance(shape: "round"))
        #expect(merged.shape == "round")
        #expect(merged.primaryColor == Appearance.defaults.primaryColor)
        #expect(merged.language == "en")
    }

    @Test func defaultLabelFollowsLanguage() {
        var widget = Widget(
            id: "wid_x", name: "n", label: nil, appearance: .defaults, destination: "sip:a@b", allowedOrigins: [],
            video: false, recording: .init(), enabled: true, createdAt: Date(), updatedAt: Date()
        )
        #expect(widget.effectiveLabel == "Call us")
        widget.appearance.language = "de-CH"
        #expect(widget.effectiveLabel == "Rückruf anfordern")
        widget.label = "Hallo"
        #expect(widget.effectiveLabel == "Hallo")
    }

    @Test func pageRequestChecksLimitAndCursor() throws {
        #expect(try PageRequest(limit: nil, after: nil, idPrefix: "wid").limit == PageRequest.defaultLimit)
        #expect(throws: ControlError.self) { try PageRequest(limit: 0, after: nil, idPrefix: "wid") }
        #expect(throws: ControlError.self) { try PageRequest(limit: 101, after: nil, idPrefix: "wid") }
        #expect(throws: ControlError.self) { try PageRequest(limit: 5, after: "garbage", idPrefix: "wid") }
        let request = try PageRequest(limit: 2, after: nil, idPrefix: "wid")
        let page = request.page(["a", "b", "c"], id: { $0 })
        #expect(page.items == ["a", "b"])
        #expect(page.nextCursor == "b")
        #expect(request.page(["a", "b"], id: { $0 }).nextCursor == nil)
    }
}
