import Testing
@testable import TMSRender

@Suite struct ScaleTests {
    @Test func linearTicksOfUnitIntervalAreFifths() {
        #expect(Scale(.linear, domain: 0...1).ticks() == [0, 0.2, 0.4, 0.6, 0.8, 1])
    }

    @Test func linearTicksUseNiceSteps() {
        #expect(Scale(.linear, domain: 0...1.1).ticks() == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(Scale(.linear, domain: -3...7).ticks() == [-2, 0, 2, 4, 6])
        #expect(Scale(.linear, domain: 0...10_000).ticks() == [0, 2000, 4000, 6000, 8000, 10_000])
        #expect(Scale(.linear, domain: 0.003...0.021).ticks() == [0.005, 0.01, 0.015, 0.02])
    }

    @Test func logTicksArePowersOfTen() {
        #expect(Scale(.log, domain: 0.01...100).ticks() == [0.01, 0.1, 1, 10, 100])
        #expect(Scale(.log, domain: 0.5...300).ticks() == [1, 10, 100])
    }

    @Test func logTicksWithinOneDecadeUseOneTwoFive() {
        #expect(Scale(.log, domain: 1...9).ticks() == [1, 2, 5])
    }

    @Test func logMinorTicksAreTwoToNineTimesPowersOfTen() {
        #expect(Scale(.log, domain: 1...100).minorTicks() == [2, 3, 4, 5, 6, 7, 8, 9, 20, 30, 40, 50, 60, 70, 80, 90])
    }

    @Test func logMidpointOfOneToHundredIsTen() {
        let scale = Scale(.log, domain: 1...100, range: (0, 200))
        #expect(abs(scale.map(10) - 100) < 1e-12)
        #expect(scale.map(1) == 0 && abs(scale.map(100) - 200) < 1e-12)
    }

    @Test func linearMapHandlesAReversedPixelRange() {
        let y = Scale(.linear, domain: 0...2, range: (300, 100))
        #expect(y.map(0) == 300 && y.map(1) == 200 && y.map(2) == 100)
    }

    @Test func nicedWidensToWholeTicksAndDecades() {
        let linear = Scale(.linear, domain: 0.03...0.97).niced()
        #expect(linear.lower == 0 && linear.upper == 1)
        let log = Scale(.log, domain: 0.003...47).niced()
        #expect(log.lower == 0.001 && log.upper == 100)
    }

    @Test func degenerateDomainsAreWidened() {
        #expect(Scale(.linear, domain: 0...0).lower == -1)
        let log = Scale(.log, domain: 5...5)
        #expect(log.lower == 0.5 && log.upper == 50)
        #expect(Scale(.log, domain: -1...10).lower == 0.01)
    }

    @Test(arguments: [(0.01, "0.01"), (100.0, "100"), (0.6, "0.6"), (1e-5, "1e-5"), (2e7, "2e7"), (-0.5, "-0.5"), (0.0, "0")])
    func tickLabelsAreShortAndLocaleFree(value: Double, expected: String) {
        #expect(Scale(.linear, domain: 0...1).label(value) == expected)
    }
}
