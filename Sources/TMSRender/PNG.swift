/// A minimal PNG writer for indexed-colour (palette) images, so that large heatmaps can be embedded in an
/// SVG as one `<image>` instead of one `<rect>` per cell.
///
/// Everything is written here, without zlib: the pixel rows (filter type 0) are compressed with DEFLATE
/// (RFC 1951) using fixed Huffman codes and greedy LZ77 matching, wrapped in a zlib stream (RFC 1950,
/// Adler-32 checksum), and each PNG chunk carries its CRC-32. Output is deterministic: the same pixels and
/// palette always give the same bytes.
public enum PNG {
    /// The PNG file of a `width`×`height` image, 8 bits per pixel, `pixels[row * width + column]` indexing
    /// `palette` (1…256 colours; row 0 on top).
    ///
    /// Pixels beyond the palette are clamped to its last entry; missing pixels count as 0.
    public static func indexed(width: Int, height: Int, pixels: [UInt8], palette: [RGB]) -> [UInt8] {
        let colours = palette.isEmpty ? [RGB(red: 0, green: 0, blue: 0)] : Array(palette.prefix(256))
        let (w, h) = (max(width, 1), max(height, 1))
        let last = UInt8(colours.count - 1)
        var raw = [UInt8]()
        raw.reserveCapacity((w + 1) * h)
        for row in 0..<h {
            raw.append(0)
            for column in 0..<w {
                let index = row * w + column
                raw.append(index < pixels.count ? min(pixels[index], last) : 0)
            }
        }
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndian(UInt32(w)) + bigEndian(UInt32(h))
        header += [8, 3, 0, 0, 0]  // bit depth 8, colour type 3 (palette), deflate, filter 0, no interlace
        appendChunk("IHDR", header, to: &file)
        appendChunk("PLTE", colours.flatMap { [$0.red, $0.green, $0.blue] }, to: &file)
        appendChunk("IDAT", zlib(raw), to: &file)
        appendChunk("IEND", [], to: &file)
        return file
    }

    /// `data:image/png;base64,…` of ``indexed(width:height:pixels:palette:)``.
    public static func dataURI(width: Int, height: Int, pixels: [UInt8], palette: [RGB]) -> String {
        "data:image/png;base64," + base64(indexed(width: width, height: height, pixels: pixels, palette: palette))
    }

    /// CRC-32 (ISO 3309, polynomial 0xEDB88320 reflected), as PNG chunks use: "123456789" → 0xCBF43926.
    public static func crc32<S: Sequence>(_ bytes: S) -> UInt32 where S.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// Adler-32 (RFC 1950): "Wikipedia" → 0x11E60398.
    public static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var (a, b): (UInt32, UInt32) = (1, 0)
        var index = 0
        while index < bytes.count {
            // 5552 is the largest block for which b cannot overflow 32 bits before the modulo.
            let end = min(index + 5552, bytes.count)
            while index < end {
                a += UInt32(bytes[index])
                b += a
                index += 1
            }
            a %= 65521
            b %= 65521
        }
        return (b << 16) | a
    }

    /// A zlib stream (RFC 1950) of `data`: header 0x78 0x01, one fixed-Huffman DEFLATE block, Adler-32.
    public static func zlib(_ data: [UInt8]) -> [UInt8] {
        [0x78, 0x01] + deflate(data) + bigEndian(adler32(data))
    }

    /// Raw DEFLATE (RFC 1951) of `data` as a single final block with the fixed Huffman codes.
    ///
    /// LZ77 is greedy: a hash of the next three bytes finds earlier positions (up to 32 candidates within
    /// 32 KiB) and the longest match of 3…258 bytes is taken, else a literal.
    public static func deflate(_ data: [UInt8]) -> [UInt8] {
        var bits = BitWriter()
        bits.write(1, count: 1)  // BFINAL
        bits.write(1, count: 2)  // BTYPE = 01, fixed Huffman
        let window = 32768, hashSize = 1 << 15, count = data.count
        // Raw pointers: a report's heatmaps are MBs of pixels, and the bounds checks were a third of the time.
        let head = UnsafeMutablePointer<Int>.allocate(capacity: hashSize)
        let previous = UnsafeMutablePointer<Int>.allocate(capacity: window)
        head.initialize(repeating: -1, count: hashSize)
        previous.initialize(repeating: -1, count: window)
        defer { head.deallocate(); previous.deallocate() }
        data.withUnsafeBufferPointer { buffer in
            guard let d = buffer.baseAddress else { return }
            func hash(_ i: Int) -> Int {
                (Int(d[i]) << 10 ^ Int(d[i + 1]) << 5 ^ Int(d[i + 2])) & (hashSize - 1)
            }
            func insert(_ i: Int) {
                guard i + 2 < count else { return }
                let h = hash(i)
                previous[i & (window - 1)] = head[h]
                head[h] = i
            }
            var i = 0
            while i < count {
                var (bestLength, bestDistance) = (0, 0)
                if i + 2 < count {
                    var candidate = head[hash(i)]
                    var tries = 32
                    let limit = min(258, count - i)
                    while candidate >= 0 && i - candidate <= window - 1 && tries > 0 {
                        var length = 0
                        while length < limit && d[candidate + length] == d[i + length] { length += 1 }
                        if length > bestLength {
                            (bestLength, bestDistance) = (length, i - candidate)
                            if length == limit { break }
                        }
                        let next = previous[candidate & (window - 1)]
                        guard next < candidate else { break }
                        candidate = next
                        tries -= 1
                    }
                }
                if bestLength >= 3 {
                    bits.writeLength(bestLength)
                    bits.writeDistance(bestDistance)
                    for k in i..<(i + bestLength) { insert(k) }
                    i += bestLength
                } else {
                    bits.writeSymbol(Int(d[i]))
                    insert(i)
                    i += 1
                }
            }
        }
        bits.writeSymbol(256)
        return bits.finish()
    }

    /// Standard base64 (RFC 4648) with padding.
    public static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(triple >> 18 & 63)])
            out.append(alphabet[Int(triple >> 12 & 63)])
            out.append(index + 1 < bytes.count ? alphabet[Int(triple >> 6 & 63)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(triple & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func appendChunk(_ type: String, _ body: [UInt8], to file: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        file += bigEndian(UInt32(body.count))
        file += typeBytes
        file += body
        file += bigEndian(crc32(typeBytes + body))
    }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// DEFLATE's length codes 257…285: base lengths and extra bits (RFC 1951, 3.2.5).
    static let lengthBases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
                              131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    /// DEFLATE's distance codes 0…29.
    static let distanceBases = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
                                1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
                                13, 13]

    /// Packs bits least-significant first into bytes, as DEFLATE requires; Huffman codes go in most
    /// significant bit first.
    struct BitWriter {
        var bytes: [UInt8] = []
        var buffer: UInt64 = 0
        var used = 0

        mutating func write(_ value: Int, count: Int) {
            buffer |= UInt64(value) << UInt64(used)
            used += count
            while used >= 8 {
                bytes.append(UInt8(buffer & 0xFF))
                buffer >>= 8
                used -= 8
            }
        }

        mutating func writeCode(_ code: Int, length: Int) {
            var reversed = 0
            for k in 0..<length where code >> k & 1 == 1 { reversed |= 1 << (length - 1 - k) }
            write(reversed, count: length)
        }

        /// A literal/length symbol 0…287 in the fixed code.
        mutating func writeSymbol(_ symbol: Int) {
            switch symbol {
            case 0...143: writeCode(0x30 + symbol, length: 8)
            case 144...255: writeCode(0x190 + symbol - 144, length: 9)
            case 256...279: writeCode(symbol - 256, length: 7)
            default: writeCode(0xC0 + symbol - 280, length: 8)
            }
        }

        mutating func writeLength(_ length: Int) {
            var code = PNG.lengthBases.count - 1
            while PNG.lengthBases[code] > length { code -= 1 }
            writeSymbol(257 + code)
            write(length - PNG.lengthBases[code], count: PNG.lengthExtra[code])
        }

        mutating func writeDistance(_ distance: Int) {
            var code = PNG.distanceBases.count - 1
            while PNG.distanceBases[code] > distance { code -= 1 }
            writeCode(code, length: 5)
            write(distance - PNG.distanceBases[code], count: PNG.distanceExtra[code])
        }

        mutating func finish() -> [UInt8] {
            if used > 0 { bytes.append(UInt8(buffer & 0xFF)) }
            (buffer, used) = (0, 0)
            return bytes
        }
    }
}
