import Foundation
public import XMLRPC

/// The mapping between JSON (as `JSONSerialization` reads and writes it) and XML-RPC values, used
/// wherever the XML-RPC faces carry what the REST API and the webhooks carry as JSON:
/// objects ↔ structs, arrays ↔ arrays, strings, integral numbers ↔ int, other numbers ↔ double,
/// booleans, null ↔ nil. Going to JSON, dateTime.iso8601 becomes an RFC 3339 string and base64 a
/// base64 string.
public enum XMLRPCJSON {
    public static func value(fromJSON object: Any) -> XMLRPCValue {
        switch object {
        case let dictionary as [String: Any]:
            return .structure(XMLRPCStruct(dictionary.keys.sorted().map { ($0, value(fromJSON: dictionary[$0]!)) }))
        case let array as [Any]:
            return .array(array.map(value(fromJSON:)))
        case let string as String:
            return .string(string)
        case let number as NSNumber:
            // JSONSerialization gives booleans as char-typed numbers, integers as integer-typed ones.
            switch String(cString: number.objCType) {
            case "c", "B": return .bool(number.boolValue)
            case "d", "f": return .double(number.doubleValue)
            default: return .int(number.intValue)
            }
        case is NSNull:
            return .nil
        default:
            return .string("\(object)")
        }
    }

    /// JSON text (an object or array) as an XML-RPC value; nil when it is not JSON.
    public static func value(fromJSONText text: [UInt8]) -> XMLRPCValue? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed]) else { return nil }
        return value(fromJSON: object)
    }

    /// An XML-RPC value as a JSON-serialisable object.
    public static func jsonObject(_ value: XMLRPCValue) -> Any {
        switch value {
        case .int(let int): return int
        case .bool(let bool): return bool
        case .string(let string): return string
        case .double(let double): return double
        case .dateTime(let date):
            return Date(timeIntervalSince1970: TimeInterval(date.secondsSince1970)).formatted(Date.ISO8601FormatStyle())
        case .base64(let bytes): return Data(bytes).base64EncodedString()
        case .array(let items): return items.map(jsonObject)
        case .structure(let members):
            var dictionary: [String: Any] = [:]
            for member in members.members { dictionary[member.name] = jsonObject(member.value) }
            return dictionary
        case .nil: return NSNull()
        }
    }
}
