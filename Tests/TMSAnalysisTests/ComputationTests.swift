import Testing
import TMSCore
@testable import TMSAnalysis

@Test func absPairsFindsTheReluPlusMinusSolution() {
    // 3→6, the exact solution: neuron 2i reads +x_i, neuron 2i+1 reads −x_i, both write +1 to feature i.
    var w1 = [[Float]](repeating: [0, 0, 0], count: 6), w2 = [[Float]](repeating: [Float](repeating: 0, count: 6), count: 3)
    for i in 0..<3 { w1[2 * i][i] = 1; w1[2 * i + 1][i] = -1; w2[i][2 * i] = 1; w2[i][2 * i + 1] = 1 }
    w1[0][1] = 0.1  // a small leak keeps neuron 0 monosemantic (1/1.01 ≥ 0.9)
    let pairs = absNeuronPairs(W1: Matrix(rows: w1), W2: Matrix(rows: w2))
    #expect(pairs == [AbsNeuronPair(feature: 0, positiveNeuron: 0, negativeNeuron: 1),
                      AbsNeuronPair(feature: 1, positiveNeuron: 2, negativeNeuron: 3),
                      AbsNeuronPair(feature: 2, positiveNeuron: 4, negativeNeuron: 5)])
    // Same sign on both neurons of feature 2: no pair; a negative output weight breaks feature 1's pair.
    var broken = w1; broken[5][2] = 1
    var brokenOut = w2; brokenOut[1][3] = -1
    let none = absNeuronPairs(W1: Matrix(rows: broken), W2: Matrix(rows: brokenOut))
    #expect(none[0] != nil && none[1] == nil && none[2] == nil)
    // A polysemantic neuron (0.6² / (0.6² + 0.5²) = 0.59 < 0.9) does not count.
    var poly = w1; poly[0][1] = 0.5; poly[0][0] = 0.6
    #expect(absNeuronPairs(W1: Matrix(rows: poly), W2: Matrix(rows: w2))[0] == nil)
}

@Test func polysemanticFractionCountsLiveNeurons() {
    // Neuron 0 monosemantic (1.0), neuron 1 polysemantic (0.5), neuron 2 dead.
    let W = Matrix(rows: [[1, 0, 0], [1, 1, 0], [0, 0, 0]])
    let r = polysemanticFraction(of: W)
    #expect(r.polysemantic == 1 && r.live == 2 && r.fraction == 0.5)
    #expect(polysemanticFraction(of: Matrix(rows: [[0, 0]])).fraction == 0)
}

@Test func asymmetricMotifIsDetected() {
    // Features a = 0, b = 1; neuron 0: W₁ [2, −½], W₂ [½, 2] (gains 1 and 1, interference 4 on b when a is on);
    // neuron 1 reads a (+1) and writes b (−4): the inhibitor. Neuron 2 is an unrelated monosemantic neuron.
    let W1 = Matrix(rows: [[2, -0.5, 0], [1, 0, 0], [0, 0, 1]])
    let W2 = Matrix(rows: [[0.5, 0, 0], [2, -4, 0], [0, 0, 1]])  // [feature][neuron]
    let motifs = asymmetricMotifs(W1: W1, W2: W2)
    #expect(motifs == [AsymmetricMotif(neuron: 0, strong: 0, weak: 1, inhibitor: 1, inputRatio: 4, outputRatio: 4)])
    // Without the inhibitor there is no motif; nor when the inhibitor reads a with the opposite sign.
    let noInhibitor = Matrix(rows: [[0.5, 0, 0], [2, 0, 0], [0, 0, 1]])
    #expect(asymmetricMotifs(W1: W1, W2: noInhibitor).isEmpty)
    let wrongSign = Matrix(rows: [[2, -0.5, 0], [-1, 0, 0], [0, 0, 1]])
    #expect(asymmetricMotifs(W1: wrongSign, W2: W2).isEmpty)
    // Symmetric loadings (W₁ [1, −1], W₂ [1, 1]) are not asymmetric.
    let symmetric = Matrix(rows: [[1, -1, 0], [1, 0, 0], [0, 0, 1]])
    let symmetricOut = Matrix(rows: [[1, 0, 0], [1, -4, 0], [0, 0, 1]])
    #expect(asymmetricMotifs(W1: symmetric, W2: symmetricOut).isEmpty)
}

@Test func carryingNeuronsFindsThePair() {
    // Feature 0 on neurons 1 and 3 (0.7² + 0.7² of 0.99 + 0.01); feature 1 on neuron 0 alone; feature 2 zero.
    let W = Matrix(rows: [[0.1, 1, 0], [0.7, 0, 0], [0, 0, 0], [-0.7, 0.2, 0]])
    #expect(carryingNeurons(of: W, feature: 0) == [1, 3])
    #expect(carryingNeurons(of: W, feature: 1) == [0])  // 1 / 1.04 = 0.96 ≥ 0.9
    #expect(carryingNeurons(of: W, feature: 1, share: 0.99) == [0, 3])
    #expect(carryingNeurons(of: W, feature: 2).isEmpty)
}
