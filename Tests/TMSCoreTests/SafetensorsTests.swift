import Foundation
import Testing
import TMSCore

// Safetensors.swift: the byte layout of huggingface/safetensors, round trips and decoding errors.

private func littleEndianUInt64(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
}

@Test func tinyTensorHasTheExactSafetensorsBytes() {
    let bytes = Safetensors.encode(["a": Tensor(shape: [2], values: [1, -2])])
    let expectedJSON = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    let headerLength = Int(littleEndianUInt64(bytes[0..<8]))
    // Padded with spaces to a multiple of 8.
    #expect(headerLength % 8 == 0)
    #expect(headerLength == (expectedJSON.utf8.count + 7) / 8 * 8)
    let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
    #expect(header == expectedJSON + String(repeating: " ", count: headerLength - expectedJSON.utf8.count))
    // 1.0 = 0x3F800000, −2.0 = 0xC0000000, little-endian.
    #expect(Array(bytes[(8 + headerLength)...]) == [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
    #expect(bytes.count == 8 + headerLength + 8)
}

@Test func headerListsTensorsInNameOrderWithMetadataFirst() {
    let bytes = Safetensors.encode(["b": Tensor(shape: [1, 1], values: [3]), "a": Tensor(shape: [], values: [0.5])],
                                   metadata: ["tool": "tms", "seed": "7"])
    let headerLength = Int(littleEndianUInt64(bytes[0..<8]))
    let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self).trimmingCharacters(in: .whitespaces)
    #expect(header == #"{"__metadata__":{"seed":"7","tool":"tms"},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1,1],"data_offsets":[4,8]}}"#)
    // Data of "a" then "b".
    #expect(Array(bytes[(8 + headerLength)...]) == [0x00, 0x00, 0x00, 0x3F, 0x00, 0x00, 0x40, 0x40])
}

@Test func tensorsAndMetadataSurviveARoundTrip() throws {
    let tensors = [
        "W": Tensor(shape: [2, 3, 5], values: (0..<30).map { Float($0) * 0.37 - 4 }),
        "b_final": Tensor(shape: [2, 5], values: [.pi, -Float(0), 1e-30, -1e30, .greatestFiniteMagnitude, 1, 2, 3, 4, 5]),
        "empty": Tensor(shape: [0, 4], values: []),
        "scalar": Tensor(shape: [], values: [42]),
    ]
    let metadata = ["model": "relu-output", "quote \"and\" \\ slash": "line\nbreak\ttab é"]
    let decoded = try Safetensors.decode(Safetensors.encode(tensors, metadata: metadata))
    #expect(decoded.tensors == tensors)
    #expect(decoded.metadata == metadata)
    // Bit patterns survive too (−0 stays −0).
    #expect(decoded.tensors["b_final"]!.values[1].sign == .minus)
}

@Test func writeAndReadGoThroughAFile() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tms-safetensors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("weights.safetensors")
    let tensors = ["W": Tensor(shape: [1, 2, 2], values: [1, 2, 3, 4])]
    try Safetensors.write(tensors, metadata: ["seed": "0"], to: url)
    let back = try Safetensors.read(from: url)
    #expect(back.tensors == tensors)
    #expect(back.metadata == ["seed": "0"])
    #expect(try Data(contentsOf: url) == Data(Safetensors.encode(tensors, metadata: ["seed": "0"])))
}

@Test func decodesAnUnpaddedHeaderFromAnotherWriter() throws {
    // Other writers need not pad: an 8-byte length, the JSON, then the data.
    let json = Array(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
    bytes += json + [0x00, 0x00, 0x20, 0x41]  // 10.0
    let decoded = try Safetensors.decode(bytes)
    #expect(decoded.tensors["x"] == Tensor(shape: [1], values: [10]))
    #expect(decoded.metadata.isEmpty)
}

private func header(_ json: String, data: [UInt8] = []) -> [UInt8] {
    let j = Array(json.utf8)
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(j.count).littleEndian) { bytes.append(contentsOf: $0) }
    return bytes + j + data
}

@Test func truncatedInputGivesTruncatedErrors() {
    let good = Safetensors.encode(["W": Tensor(shape: [2, 2], values: [1, 2, 3, 4])])
    // Shorter than the length prefix.
    #expect(throws: SafetensorsError.truncated("5 bytes, need at least 8")) { try Safetensors.decode(Array(good[0..<5])) }
    #expect(throws: SafetensorsError.truncated("0 bytes, need at least 8")) { try Safetensors.decode([]) }
    // Header cut short.
    #expect(throws: SafetensorsError.truncated("header length \(good.count - 24) exceeds file size 20")) {
        try Safetensors.decode(Array(good[0..<20]))
    }
    // Data cut short: every proper prefix that still holds the header fails as truncated.
    let headerEnd = 8 + Int(littleEndianUInt64(good[0..<8]))
    for cut in headerEnd..<good.count {
        #expect(throws: SafetensorsError.self) { try Safetensors.decode(Array(good[0..<cut])) }
        do { _ = try Safetensors.decode(Array(good[0..<cut])) } catch let error as SafetensorsError {
            guard case .truncated = error else { Issue.record("cut at \(cut): \(error)"); continue }
        } catch { Issue.record("unexpected \(error)") }
    }
}

@Test func malformedHeadersGiveOneLineErrors() {
    #expect(throws: SafetensorsError.badHeader("not a JSON object")) { try Safetensors.decode(header("[1, 2]")) }
    // The JSON parser's own detail is kept (it was hidden behind "not a JSON object").
    do {
        _ = try Safetensors.decode(header("{not json"))
        Issue.record("invalid JSON accepted")
    } catch let error as SafetensorsError {
        guard case .badHeader(let what) = error, what.hasPrefix("not valid JSON") else { Issue.record("\(error)"); return }
        #expect(!error.description.contains("\n"))
    } catch { Issue.record("unexpected \(error)") }
    #expect(throws: SafetensorsError.badHeader("entry 'x' lacks dtype, shape or data_offsets")) {
        try Safetensors.decode(header(#"{"x":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0]))
    }
    #expect(throws: SafetensorsError.badHeader("entry 'x' offsets [0, 8] do not match shape [1]")) {
        try Safetensors.decode(header(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)))
    }
    #expect(throws: SafetensorsError.badHeader("__metadata__ must map strings to strings")) {
        try Safetensors.decode(header(#"{"__metadata__":{"seed":7}}"#))
    }
    #expect(throws: SafetensorsError.unsupportedDType(name: "x", dtype: "F16")) {
        try Safetensors.decode(header(#"{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))
    }
    for error in [SafetensorsError.truncated("x"), .badHeader("y"), .unsupportedDType(name: "W", dtype: "I8")] {
        #expect(!error.description.contains("\n"))
    }
    #expect(SafetensorsError.unsupportedDType(name: "W", dtype: "I8").description == "tensor 'W' has dtype I8; only F32 is supported")
}

@Test func negativeOrOverflowingShapesAreRejectedWithoutCrashing() async {
    // A header whose shape has a negative dimension (with offsets "matching" it, end − begin = 4·count < 0) or
    // whose element count overflows must give a SafetensorsError, never a trap. Run in a child process so a
    // crash fails this test alone.
    await #expect(processExitsWith: .success) {
        let json = #"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[4,0]}}"#
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += Array(json.utf8) + [0, 0, 0, 0]
        do { _ = try Safetensors.decode(bytes) } catch is SafetensorsError { return } catch { exit(2) }
        exit(3)  // accepted
    }
    await #expect(processExitsWith: .success) {
        let json = #"{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += Array(json.utf8) + [0, 0, 0, 0]
        do { _ = try Safetensors.decode(bytes) } catch is SafetensorsError { return } catch { exit(2) }
        exit(3)
    }
}
