import Foundation

// Strict JSON for run folders: one encoding (sorted keys, non-finite numbers as null) and one reader that
// turns every way a file can be wrong into one line naming the file and the field (docs/errors.md).

extension RunFolder {
    /// A stable JSON encoding: sorted keys, pretty-printed; NaN and ±infinity are written as `null` (JSON has
    /// no non-finite numbers; readers of `metrics.json` read `null` back as NaN).
    public static func json<T: Encodable>(_ value: T) throws -> Foundation.Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: nonFinite, negativeInfinity: nonFinite, nan: nonFinite)
        let data = try encoder.encode(value)
        guard contains(data, nonFinite.utf8) else { return data }
        let text = String(decoding: data, as: UTF8.self)
        return Foundation.Data(text.replacingOccurrences(of: "\"\(nonFinite)\"", with: "null").utf8)
    }

    /// Whether `data` contains `marker`, by a plain byte scan (`String.utf8.firstRange(of:)`, a generic
    /// search, was ~5 % of a `tms train --steps 1` profile for a 50 KB metrics.json;
    /// docs/performance.md#whole-job-third-pass).
    private static func contains(_ data: Foundation.Data, _ marker: String.UTF8View) -> Bool {
        let pattern = Array(marker)
        return data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let first = pattern.first, bytes.count >= pattern.count else { return pattern.isEmpty }
            for start in 0...(bytes.count - pattern.count) where bytes[start] == first {
                if pattern.indices.allSatisfy({ bytes[start + $0] == pattern[$0] }) { return true }
            }
            return false
        }
    }

    /// A marker no finite number or field of ours encodes to; replaced by `null` in `json(_:)`.
    private static let nonFinite = "tms:non-finite:5f0c2a"

    /// Reads and decodes a JSON file strictly: a missing file, a folder, an empty file, invalid JSON, a field
    /// of the wrong type, a missing field or an unknown field each give one `RunFolderError` line naming the
    /// file and the field (e.g. `config.featureProbability[1]`). With `nullIsNaN`, `null` numbers read as NaN
    /// (how `json(_:)` writes non-finite values).
    public static func decodeJSON<T: Codable>(_ type: T.Type, from url: URL, nullIsNaN: Bool = false) throws -> T {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw RunFolderError("\(url.path) does not exist")
        }
        if isFolder.boolValue { throw RunFolderError("\(url.path) is a folder, not a JSON file") }
        if let type = try? fm.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType, type != .typeRegular {
            throw RunFolderError("\(url.path) is not a regular file (a device, pipe or socket); expected a JSON file")
        }
        let data: Foundation.Data
        do { data = try Foundation.Data(contentsOf: url) } catch {
            throw RunFolderError("cannot read \(url.path): \(describe(error))")
        }
        guard !data.isEmpty else { throw RunFolderError("\(url.path) is empty; expected a JSON object") }
        guard data.count <= 1 << 30 else { throw RunFolderError("\(url.path) is larger than 1 GB; not a file tms wrote") }
        let raw: Any
        do { raw = try JSONSerialization.jsonObject(with: data) } catch {
            throw RunFolderError("\(url.path) is not valid JSON\(jsonDetail(error))")
        }
        guard raw is [String: Any] else { throw RunFolderError("\(url.path) is not a JSON object") }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var value: T?
        var tree = raw, current = data
        // `null` where a Float or Double is expected reads as NaN. The decoder says where it met one; every
        // null at that position of every element of the enclosing arrays (arrays are homogeneous) becomes
        // "nan" and decoding restarts. A null anywhere else (e.g. an optional integer) is left alone.
        for _ in 0..<64 where value == nil {
            do { value = try decoder.decode(type, from: current) } catch let error as DecodingError {
                if nullIsNaN, case .valueNotFound(let expected, let context) = error,
                   expected == Float.self || expected == Double.self {
                    tree = nullsAsNaN(in: tree, along: context.codingPath[...])
                    if let next = try? JSONSerialization.data(withJSONObject: tree) { current = next; continue }  // cannot fail: it was parsed
                }
                throw RunFolderError("\(url.path): \(describe(error))")
            } catch {
                throw RunFolderError("\(url.path): \(describe(error))")
            }
        }
        guard let value else { throw RunFolderError("\(url.path): too many kinds of null numbers") }
        // Unknown fields: anything in the file that the decoded value does not write back.
        if let encoded = try? JSONSerialization.jsonObject(with: JSONEncoder.forComparison.encode(value)),
           let extra = unknownField(raw, known: encoded, path: "") {
            throw RunFolderError("\(url.path): unknown field '\(extra)'")
        }
        return value
    }

    /// The first key path present (and not null) in `raw` but absent from `known`.
    static func unknownField(_ raw: Any, known: Any, path: String) -> String? {
        if let r = raw as? [String: Any], let k = known as? [String: Any] {
            for key in r.keys.sorted() {
                let sub = path.isEmpty ? key : "\(path).\(key)"
                guard let kv = k[key] else {
                    if r[key] is NSNull { continue }
                    return sub
                }
                if let found = unknownField(r[key]!, known: kv, path: sub) { return found }
            }
        } else if let r = raw as? [Any], let k = known as? [Any] {
            for (i, element) in r.enumerated() where i < k.count {
                if let found = unknownField(element, known: k[i], path: "\(path)[\(i)]") { return found }
            }
        }
        return nil
    }

    /// Replaces `null` by `"nan"` at `path` in `node`, where an index stands for every element of its array.
    static func nullsAsNaN(in node: Any, along path: ArraySlice<CodingKey>) -> Any {
        guard let key = path.first else { return node is NSNull ? "nan" : node }
        if key.intValue != nil, let array = node as? [Any] {
            return array.map { nullsAsNaN(in: $0, along: path.dropFirst()) }
        }
        if var object = node as? [String: Any], let child = object[key.stringValue] {
            object[key.stringValue] = nullsAsNaN(in: child, along: path.dropFirst())
            return object
        }
        return node
    }

    /// A decoding error as words: the field's path and what was wrong with it.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let i = key.intValue { text += "[\(i)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return text.isEmpty ? "top level" : "field '\(text)'"
        }
        func kind(_ type: Any.Type) -> String {
            switch type {
            case is Float.Type, is Double.Type: return "a number"
            case is Int.Type, is UInt64.Type, is Int32.Type: return "an integer"
            case is String.Type: return "a string"
            case is Bool.Type: return "true or false"
            default:
                let name = String(describing: type)
                if name.hasPrefix("Array") { return "a list" }
                if name.hasPrefix("Dictionary") { return "an object" }
                return "a value of type \(name)"
            }
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) must be \(kind(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) is null; it must be \(kind(type))"
        case .keyNotFound(let key, let context):
            return "missing \(path(context.codingPath + [key]))"
        case .dataCorrupted(let context):
            let detail = context.debugDescription
            if context.codingPath.isEmpty { return "not valid JSON (\(detail))" }
            return "\(path(context.codingPath)) is invalid: \(detail)"
        @unknown default:
            return "cannot be decoded"
        }
    }

    /// An error's own words, never a bare Cocoa error code.
    static func describe(_ error: Swift.Error) -> String {
        if let decoding = error as? DecodingError { return describe(decoding) }
        if !(error is CocoaError), !(type(of: error) is NSError.Type) { return String(describing: error) }
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
           let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileWriteVolumeReadOnlyError: return "the file system is read-only"
        case NSFileWriteFileExistsError: return "the file already exists"
        default: return ns.localizedDescription
        }
    }

    static func jsonDetail(_ error: Swift.Error) -> String {
        let ns = error as NSError
        if let detail = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return " (\(detail))" }
        return ""
    }
}

extension JSONEncoder {
    /// Encodes non-finite numbers as strings, so a decoded value can always be written back to compare keys.
    static var forComparison: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }
}
