import Foundation

/// A named Float32 tensor: shape plus row-major values.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count,
                     "tensor of shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
        self.shape = shape
        self.values = values
    }
}

/// Errors reading a safetensors file; each description is one line naming the problem.
public enum SafetensorsError: Swift.Error, CustomStringConvertible, Equatable {
    case truncated(String)
    case badHeader(String)
    case unsupportedDType(name: String, dtype: String)

    public var description: String {
        switch self {
        case .truncated(let what): return "safetensors file is truncated: \(what)"
        case .badHeader(let what): return "safetensors header is invalid: \(what)"
        case .unsupportedDType(let name, let dtype): return "tensor '\(name)' has dtype \(dtype); only F32 is supported"
        }
    }
}

/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
/// `{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {string: string}}`
/// (padded with spaces to a multiple of 8), then the raw little-endian data. Tensors are written in the order
/// of their names so the bytes are deterministic. Only F32 is written or read.
public enum Safetensors {
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) -> [UInt8] {
        let names = tensors.keys.sorted()
        var header = "{"
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let bytes = t.values.count * 4
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for name in names {
            for v in tensors[name]!.values {
                withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    /// Decodes tensors and metadata; throws `SafetensorsError` with one-line descriptions.
    public static func decode(_ bytes: [UInt8]) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard bytes.count >= 8 else { throw SafetensorsError.truncated("\(bytes.count) bytes, need at least 8") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(bytes.count - 8) else {
            throw SafetensorsError.truncated("header length \(n) exceeds file size \(bytes.count)")
        }
        let headerEnd = 8 + Int(n)
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Foundation.Data(bytes[8..<headerEnd])) } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw SafetensorsError.badHeader("not valid JSON" + (detail.map { " (\($0))" } ?? ""))
        }
        guard let object = parsed as? [String: Any] else { throw SafetensorsError.badHeader("not a JSON object") }
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw SafetensorsError.badHeader("__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw SafetensorsError.badHeader("entry '\(name)' lacks dtype, shape or data_offsets") }
            guard dtype == "F32" else { throw SafetensorsError.unsupportedDType(name: name, dtype: dtype) }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw SafetensorsError.badHeader("entry '\(name)' has a negative dimension in shape \(shape)")
            }
            var count = 1
            for d in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, product <= bytes.count else {
                    throw SafetensorsError.badHeader("entry '\(name)' shape \(shape) is larger than the file")
                }
                count = product
            }
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= bytes.count else {
                throw SafetensorsError.badHeader("entry '\(name)' offsets \(offsets) are out of range")
            }
            guard Double(headerEnd) + Double(offsets[1]) <= Double(bytes.count) else {
                throw SafetensorsError.truncated("tensor '\(name)' ends at byte \(offsets[1]) of the data, file has \(bytes.count - headerEnd) data bytes")
            }
            let begin = headerEnd + offsets[0], end = headerEnd + offsets[1]
            guard end - begin == count * 4 else {
                throw SafetensorsError.badHeader("entry '\(name)' offsets \(offsets) do not match shape \(shape)")
            }
            guard end <= bytes.count else { throw SafetensorsError.truncated("tensor '\(name)' ends at \(end), file has \(bytes.count) bytes") }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { dst in
                bytes.withUnsafeBytes { src in
                    dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[begin..<end]))
                }
            }
            #if _endian(big)
            values = values.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
            #endif
            tensors[name] = Tensor(shape: shape, values: values)
        }
        return (tensors, metadata)
    }

    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try Foundation.Data(encode(tensors, metadata: metadata)).write(to: url, options: .atomic)
    }

    public static func read(from url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        try decode([UInt8](try Foundation.Data(contentsOf: url)))
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
