import Foundation
import Testing
@testable import TMSRender

/// A decoded PNG: size, palette and one palette index per pixel (row-major).
struct DecodedPNG {
    var width: Int
    var height: Int
    var palette: [RGB]
    var pixels: [UInt8]
}

/// Decodes an 8-bit indexed PNG whose IDAT is a zlib stream of fixed-Huffman or stored DEFLATE blocks
/// (what ``PNG`` writes), checking every CRC and the Adler-32; nil on any problem.
func decodePNG(_ file: [UInt8]) -> DecodedPNG? {
    guard file.count > 8, Array(file[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { return nil }
    func u32(_ at: Int) -> Int { Int(file[at]) << 24 | Int(file[at + 1]) << 16 | Int(file[at + 2]) << 8 | Int(file[at + 3]) }
    var at = 8, width = 0, height = 0, palette: [RGB] = [], idat: [UInt8] = []
    while at + 12 <= file.count {
        let length = u32(at)
        let type = String(decoding: file[(at + 4)..<(at + 8)], as: UTF8.self)
        let body = Array(file[(at + 8)..<(at + 8 + length)])
        guard PNG.crc32(Array(file[(at + 4)..<(at + 8)]) + body) == UInt32(u32(at + 8 + length)) else { return nil }
        switch type {
        case "IHDR":
            width = Int(body[0]) << 24 | Int(body[1]) << 16 | Int(body[2]) << 8 | Int(body[3])
            height = Int(body[4]) << 24 | Int(body[5]) << 16 | Int(body[6]) << 8 | Int(body[7])
            guard body[8] == 8, body[9] == 3 else { return nil }
        case "PLTE": palette = stride(from: 0, to: body.count, by: 3).map { RGB(red: body[$0], green: body[$0 + 1], blue: body[$0 + 2]) }
        case "IDAT": idat += body
        default: break
        }
        at += 12 + length
    }
    guard idat.count > 6, let raw = inflate(Array(idat[2..<(idat.count - 4)])) else { return nil }
    let adler = idat.suffix(4).reduce(0) { $0 << 8 | UInt32($1) }
    guard adler == PNG.adler32(raw), raw.count == (width + 1) * height else { return nil }
    var pixels: [UInt8] = []
    for row in 0..<height {
        guard raw[row * (width + 1)] == 0 else { return nil }
        pixels += raw[(row * (width + 1) + 1)..<((row + 1) * (width + 1))]
    }
    return DecodedPNG(width: width, height: height, palette: palette, pixels: pixels)
}

/// Inflates raw DEFLATE with stored and fixed-Huffman blocks (RFC 1951); nil on dynamic blocks or errors.
func inflate(_ data: [UInt8]) -> [UInt8]? {
    var position = 0
    func bit() -> Int? {
        guard position / 8 < data.count else { return nil }
        defer { position += 1 }
        return Int(data[position / 8] >> UInt8(position % 8) & 1)
    }
    func bits(_ count: Int) -> Int? {
        var value = 0
        for k in 0..<count { guard let b = bit() else { return nil }; value |= b << k }
        return value
    }
    func symbol() -> Int? {
        var code = 0
        for length in 1...9 {
            guard let b = bit() else { return nil }
            code = code << 1 | b
            switch length {
            case 7 where code <= 0b0010111: return 256 + code
            case 8 where code >= 0x30 && code <= 0xBF: return code - 0x30
            case 8 where code >= 0xC0 && code <= 0xC7: return 280 + code - 0xC0
            case 9 where code >= 0x190: return 144 + code - 0x190
            default: continue
            }
        }
        return nil
    }
    var out: [UInt8] = []
    while true {
        guard let final = bits(1), let type = bits(2) else { return nil }
        if type == 0 {
            position = (position + 7) / 8 * 8
            guard let length = bits(16), bits(16) != nil else { return nil }
            for _ in 0..<length { guard let byte = bits(8) else { return nil }; out.append(UInt8(byte)) }
        } else if type == 1 {
            while true {
                guard let s = symbol() else { return nil }
                if s < 256 { out.append(UInt8(s)); continue }
                if s == 256 { break }
                guard let extraLength = bits(PNG.lengthExtra[s - 257]) else { return nil }
                let length = PNG.lengthBases[s - 257] + extraLength
                var code = 0
                for _ in 0..<5 { guard let b = bit() else { return nil }; code = code << 1 | b }
                guard code < 30, let extraDistance = bits(PNG.distanceExtra[code]) else { return nil }
                let distance = PNG.distanceBases[code] + extraDistance
                guard distance <= out.count else { return nil }
                for _ in 0..<length { out.append(out[out.count - distance]) }
            }
        } else {
            return nil
        }
        if final == 1 { return out }
    }
}

/// The PNG bytes of the first `data:image/png;base64,` URI in `svg`.
func embeddedPNG(in svg: String) -> [UInt8]? {
    guard let start = svg.range(of: "data:image/png;base64,") else { return nil }
    let text = svg[start.upperBound...].prefix { $0 != "\"" }
    return Data(base64Encoded: String(text)).map { [UInt8]($0) }
}

struct PNGTests {
    @Test func checksumsMatchTheirStandardCheckValues() {
        #expect(PNG.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(PNG.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
        #expect(PNG.base64(Array("foobar".utf8)) == "Zm9vYmFy" && PNG.base64(Array("fo".utf8)) == "Zm8=")
    }

    @Test(arguments: [0, 1, 2, 3, 17, 300, 70_000])
    func deflateRoundTrips(length: Int) {
        // Runs, repeats at long distances and noise, so literals, short and long matches all occur.
        let data = (0..<length).map { (i: Int) -> UInt8 in
            if i % 1000 < 300 { return 7 }
            let noise = (i &* 2_654_435_761) >> 7
            return UInt8(noise % 251 % (i % 3 == 0 ? 5 : 200))
        }
        #expect(inflate(PNG.deflate(data)) == data)
    }

    @Test func repetitiveDataCompresses() {
        let data = [UInt8](repeating: 42, count: 100_000)
        #expect(PNG.deflate(data).count < 1_000)
    }

    @Test func indexedImageDecodesToTheSamePixelsAndPalette() throws {
        let palette = [RGB(red: 255, green: 0, blue: 0), RGB(red: 0, green: 0, blue: 255), RGB(red: 1, green: 2, blue: 3)]
        let pixels: [UInt8] = (0..<(7 * 5)).map { UInt8($0 % 3) }
        let image = try #require(decodePNG(PNG.indexed(width: 7, height: 5, pixels: pixels, palette: palette)))
        #expect(image.width == 7 && image.height == 5)
        #expect(image.palette == palette)
        #expect(image.pixels == pixels)
    }
}

struct RasterHeatmapTests {
    /// A 60×60 Gram-like matrix: 1 on the diagonal, −1 just above it, 0 elsewhere.
    static let values: [[Double]] = (0..<60).map { i in (0..<60).map { j in i == j ? 1 : (j == i + 1 ? -1 : 0) } }

    @Test func largeHeatmapIsOneImageWithOnePixelPerCell() throws {
        let svg = Figures.gramAndNorms(gram: Self.values, norms: Array(repeating: 1, count: 60),
                                       superposition: Array(repeating: 0, count: 60), hiddenCount: 5, title: "t")
        #expect(xmlProblem(svg) == nil)
        #expect(occurrences(of: "<image ", in: svg) == 1)
        #expect(!svg.contains(": Wᵢ·Wⱼ = "))
        let file = try #require(embeddedPNG(in: svg))
        let image = try #require(decodePNG(file))
        #expect(image.width == 60 && image.height == 60 && image.pixels.count == 3600)
        let colour = { (i: Int, j: Int) in image.palette[Int(image.pixels[i * 60 + j])].hex }
        #expect(colour(3, 3) == "#2166ac" && colour(3, 4) == "#b2182b" && colour(4, 3) == "#ffffff")
        let distinct = Set(image.pixels.map { image.palette[Int($0)] })
        #expect(distinct.count == 3)
        #expect(svg.contains("image-rendering:pixelated") && svg.contains("<script>"))
    }

    @Test func smallHeatmapKeepsOneRectPerCell() {
        let svg = Figures.gramAndNorms(gram: gram, norms: [1, 1, 1, 1, 1], superposition: [], hiddenCount: 2, title: "t")
        #expect(!svg.contains("<image") && !svg.contains("<script"))
    }

    @Test func subsetOfFeaturesIsLabelledByFeatureNumber() {
        let svg = Figures.gramAndNorms(gram: Self.values, norms: Array(repeating: 1, count: 60),
                                       superposition: [], hiddenCount: 5, title: "t", featureIDs: Array((100..<160).reversed()))
        #expect(svg.contains("data-row-ids=\"159,158,"))
        #expect(!svg.contains(">m = 5<"))
    }

    @Test func unrepresentedFeaturesAreGrey() {
        let svg = Figures.gramAndNorms(gram: gram, norms: [1, 1, 0.3, 0.2, 0], superposition: [0, 0, 0, 0, 0], hiddenCount: 2, title: "t")
        #expect(occurrences(of: "fill=\"\(Figures.unrepresentedColor)\"", in: svg) == 3)
    }
}

struct GramColumnsTests {
    @Test func sweepLayoutHasOneColumnPerModelAndSharedColourBars() {
        let panels = ["1 − S = 1", "1 − S = 0.1", "1 − S = 0.01"].map {
            GramPanel(title: $0, gram: gram, norms: [1, 1, 0.9, 0.2, 0], superposition: [0, 0.3, 1, 0.5, 0])
        }
        let svg = Figures.gramColumns(title: "ReLU output", panels: panels, hiddenCount: 2)
        #expect(xmlProblem(svg) == nil)
        for title in panels.map(\.title) { #expect(occurrences(of: ">\(title)</text>", in: svg) == 1) }
        #expect(occurrences(of: ">superposition (grey: ‖W", in: svg) == 1)
        #expect(occurrences(of: ": Wᵢ·Wⱼ = ", in: svg) == 75)
        // Per column: features 3 and 4 are not represented (grey); 0–2 keep their superposition colour.
        #expect(occurrences(of: "fill=\"\(Figures.unrepresentedColor)\"", in: svg) == 6)
        #expect(svg.contains("fill=\"\(ColorMap.viridis.hex(at: 1))\""))
    }
}
