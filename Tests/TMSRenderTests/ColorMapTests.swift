import Testing
@testable import TMSRender

@Suite struct ColorMapTests {
    @Test(arguments: [(0.0, "#440154"), (0.5, "#21918c"), (1.0, "#fde725"), (-3.0, "#440154"), (7.0, "#fde725")])
    func viridisMatchesMatplotlibReferenceValues(t: Double, hex: String) {
        #expect(ColorMap.viridis.hex(at: t) == hex)
    }

    @Test(arguments: [(-1.0, "#b2182b"), (0.0, "#ffffff"), (1.0, "#2166ac")])
    func divergingRunsRedWhiteBlue(value: Double, hex: String) {
        #expect(ColorMap.diverging(value).hex == hex)
    }

    @Test func interpolationIsLinearBetweenStops() {
        let map = ColorMap(stops: [RGB(red: 0, green: 0, blue: 0), RGB(red: 200, green: 100, blue: 50)])
        #expect(map.color(at: 0.5) == RGB(red: 100, green: 50, blue: 25))
        #expect(map.color(at: .nan) == RGB(red: 0, green: 0, blue: 0))
    }

    @Test func hexRoundTrips() {
        #expect(RGB(hex: "#2166AC")?.hex == "#2166ac")
        #expect(RGB(hex: "2166ac") == nil)
    }

    @Test func firstFortyCategoriesAreDistinct() {
        #expect(Set((0..<40).map { ColorMap.category($0) }).count == 40)
        #expect(ColorMap.category(0).hex == "#4e79a7")
    }
}
