using ActorLab.Model.Capacity;
using ActorLab.Model.Common;

namespace ActorLab.Model.Tests.Capacity;

/// <summary>
/// Hand-worked capacities on <see cref="CapacityTestData"/> (N = 8, R = 2, H = [3, 2, 1, 1, 2, 2]); Sn and Sd are
/// the name and birth-date selection entropies of the selection scheme. Every expected value below is worked out
/// in the comment beside it, subject by subject in the order birth_date, birth_city, university, employer, parent, child.
/// </summary>
public class CapacityCalculatorTests
{
    // 1-hop losses (bits): below entropy for most, above for university (2 > 1) and child (3 > 2).
    static readonly double[] L = [1, 0.5, 2, 0, 1, 3];

    public static TheoryData<CapacityScheme, SelectionScheme> AllSchemes()
    {
        var data = new TheoryData<CapacityScheme, SelectionScheme>();
        foreach (var s in Enum.GetValues<CapacityScheme>())
            foreach (var sel in Enum.GetValues<SelectionScheme>())
                data.Add(s, sel);
        return data;
    }

    static (DatasetEntropy E, double Sn, double Sd) Setup(SelectionScheme sel) =>
        (CapacityTestData.Entropy(sel), CapacityTestData.NameSelection(sel), CapacityTestData.DateSelection(sel));

    [Theory]
    [MemberData(nameof(AllSchemes))]
    public void Hops1_per_subject_is_the_same_under_every_scheme(CapacityScheme scheme, SelectionScheme sel)
    {
        var (e, sn, sd) = Setup(sel);
        var c = CapacityCalculator.PerSubject(e, L, 1, scheme, incremental: false);
        // bd (3-1)8 + Sd; city 1.5*8; univ (1-2)8 (no clamp for plain attributes); emp 1*8;
        // parent (2-1)8 + Sn/2; child (Sn - (3-2)8)/2.
        double[] expected = [16 + sd, 12, -8, 8, 8 + sn / 2, (sn - 8) / 2];
        Assert.Equal(expected, c.PerSubject.ToArray(), new ToleranceComparer(1e-9));
        Assert.Equal(32 + sd + sn, c.Total, 9);

        var inc = CapacityCalculator.PerSubject(e, L, 1, scheme, incremental: true);
        // Incremental: no selection terms, and a relation or birth date above entropy counts 0.
        Assert.Equal([16, 12, -8, 8, 8, 0], inc.PerSubject.ToArray(), new ToleranceComparer(1e-9));
        Assert.Equal(36, inc.Total, 9);
    }

    [Theory]
    [InlineData(SelectionScheme.Optimal)]
    [InlineData(SelectionScheme.Enumerate)]
    [InlineData(SelectionScheme.Independent)]
    public void Hops2_optimal_costs_the_same_as_hops1(SelectionScheme sel)
    {
        var (e, sn, sd) = Setup(sel);
        Assert.Equal(32 + sd + sn, CapacityCalculator.PerSubject(e, L, 2, CapacityScheme.Optimal, false).Total, 9);
        Assert.Equal(36, CapacityCalculator.PerSubject(e, L, 2, CapacityScheme.Optimal, true).Total, 9);
    }

    [Theory]
    [InlineData(SelectionScheme.Optimal)]
    [InlineData(SelectionScheme.Enumerate)]
    [InlineData(SelectionScheme.Independent)]
    public void Hops2_big_hash_multiplies_stored_bits_by_R(SelectionScheme sel)
    {
        var (e, sn, sd) = Setup(sel);
        var c = CapacityCalculator.PerSubject(e, L, 2, CapacityScheme.TwoHopBigHash, false);
        // k = R = 2 on (H - l) N, but not on the excess-loss branch: bd 2*2*8 + Sd; city 1.5*2*8; univ -1*2*8;
        // emp 1*2*8; parent 1*2*8 + Sn/2; child (Sn - 1*8)/2.
        double[] expected = [32 + sd, 24, -16, 16, 16 + sn / 2, (sn - 8) / 2];
        Assert.Equal(expected, c.PerSubject.ToArray(), new ToleranceComparer(1e-9));
        Assert.Equal(68 + sd + sn, c.Total, 9);
        Assert.Equal(72, CapacityCalculator.PerSubject(e, L, 2, CapacityScheme.TwoHopBigHash, true).Total, 9);
    }

    /// <summary>The 2-hop loss of per-hop success p over n candidates: p^2 + (1 - p)/n (the forward model).</summary>
    static double TwoHopLoss(double perHopLossBits, double n)
    {
        double p = Math.Pow(2, -perHopLossBits);
        return -Math.Log2(p * p + (1 - p) / n);
    }

    [Theory]
    [InlineData(SelectionScheme.Optimal)]
    [InlineData(SelectionScheme.Enumerate)]
    [InlineData(SelectionScheme.Independent)]
    public void Hops2_double_inverts_losses_and_counts_relations_twice(SelectionScheme sel)
    {
        var (e, sn, sd) = Setup(sel);
        // Per-hop losses 1, 1, 0, -, 1, - ; employer (1.5 > log2 2) and child (2.5 > log2 4) are clamped to H.
        double[] twoHop = [TwoHopLoss(1, 8), TwoHopLoss(1, 4), 0, 1.5, TwoHopLoss(1, 4), 2.5];
        var c = CapacityCalculator.PerSubject(e, twoHop, 2, CapacityScheme.TwoHopDouble, false);
        // bd (3-1)8 + Sd; city (2-1)8; univ (1-0)8; emp (1-1)8; parent (2-1)*2*8 + Sn/2; child clamped: (Sn - 0)/2.
        double[] expected = [16 + sd, 8, 8, 0, 16 + sn / 2, sn / 2];
        Assert.Equal(expected, c.PerSubject.ToArray(), new ToleranceComparer(1e-9));
        Assert.Equal(48 + sd + sn, CapacityCalculator.PerSubject(e, twoHop, 2, CapacityScheme.TwoHopDouble, false).Total, 9);
        Assert.Equal(48, CapacityCalculator.PerSubject(e, twoHop, 2, CapacityScheme.TwoHopDouble, true).Total, 9);
        // At hops 1 the scheme inverts nothing: same as optimal.
        Assert.Equal(32 + sd + sn, CapacityCalculator.PerSubject(e, L, 1, CapacityScheme.TwoHopDouble, false).Total, 9);
    }

    [Fact]
    public void Inversion_recovers_the_per_hop_loss_and_clamps()
    {
        // p_x = 1/2 over n = 4: p_y = 1/4 + 1/8 = 3/8.
        Assert.Equal(1, CapacityCalculator.InvertTwoHopLoss(-Math.Log2(0.375), 4), 12);
        Assert.Equal(0, CapacityCalculator.InvertTwoHopLoss(0, 100), 12);
        // p_x = 0.9 over n = 100: p_y = 0.81 + 0.001.
        Assert.Equal(-Math.Log2(0.9), CapacityCalculator.InvertTwoHopLoss(-Math.Log2(0.811), 100), 12);
        // Worse than guessing: clamped to log2 n; exactly log2 n maps to log2 n (continuous at the clamp).
        Assert.Equal(2, CapacityCalculator.InvertTwoHopLoss(5, 4), 12);
        Assert.Equal(Math.Log2(100), CapacityCalculator.InvertTwoHopLoss(Math.Log2(100), 100), 9);
        // A per-hop loss is never above the 2-hop loss it explains.
        for (double l = 0.01; l < 6.6; l += 0.1)
            Assert.True(CapacityCalculator.InvertTwoHopLoss(l, 100) <= l + 1e-12);
    }

    [Theory]
    [InlineData(SelectionScheme.Optimal)]
    [InlineData(SelectionScheme.Enumerate)]
    [InlineData(SelectionScheme.Independent)]
    public void Averaged_form_below_and_above_entropy(SelectionScheme sel)
    {
        var (e, sn, sd) = Setup(sel);
        double s = sn + sd;
        // Mean loss 1 over S = 6 subjects: sum H 11 > 6: (11 - 6) k 8 + Sn + Sd.
        Assert.Equal(40 + s, CapacityCalculator.Averaged(e, 1, 1, CapacityScheme.Optimal, false), 9);
        Assert.Equal(40 + s, CapacityCalculator.Averaged(e, 1, 2, CapacityScheme.Optimal, false), 9);
        Assert.Equal(40 + s, CapacityCalculator.Averaged(e, 1, 1, CapacityScheme.TwoHopBigHash, false), 9);
        Assert.Equal(80 + s, CapacityCalculator.Averaged(e, 1, 2, CapacityScheme.TwoHopBigHash, false), 9);
        Assert.Equal(40, CapacityCalculator.Averaged(e, 1, 1, CapacityScheme.Optimal, true), 9);
        Assert.Equal(80, CapacityCalculator.Averaged(e, 1, 2, CapacityScheme.TwoHopBigHash, true), 9);
        // Mean loss 2: 12 > 11: Sn + Sd - (12 - 11) 8, or 0 when incremental (no multiplier on the excess).
        Assert.Equal(s - 8, CapacityCalculator.Averaged(e, 2, 1, CapacityScheme.Optimal, false), 9);
        Assert.Equal(s - 8, CapacityCalculator.Averaged(e, 2, 2, CapacityScheme.TwoHopBigHash, false), 9);
        Assert.Equal(0, CapacityCalculator.Averaged(e, 2, 2, CapacityScheme.TwoHopBigHash, true), 9);
    }

    [Fact]
    public void Averaged_form_refuses_2_hop_double()
    {
        var e = CapacityTestData.Entropy(SelectionScheme.Optimal);
        var ex = Assert.Throws<UserInputException>(() => CapacityCalculator.Averaged(e, 1, 2, CapacityScheme.TwoHopDouble, false));
        Assert.Contains("--subjectwise", ex.Message);
    }

    [Theory]
    [InlineData(SelectionScheme.Optimal)]
    [InlineData(SelectionScheme.Enumerate)]
    [InlineData(SelectionScheme.Independent)]
    public void Dataset_entropy_is_capacity_at_zero_loss(SelectionScheme sel)
    {
        var (e, sn, sd) = Setup(sel);
        // 1-hop, not incremental: sum H N + Sn + Sd = 88 + ..., whatever the scheme.
        foreach (var scheme in Enum.GetValues<CapacityScheme>())
            Assert.Equal(88 + sn + sd, CapacityCalculator.DatasetEntropy1Hop(e, scheme), 9);
        // 2-hop, incremental: optimal 88; big hash 2 * 88; double: attributes (3+2+1+1)8 + relations 2 (2+2) 8 = 120.
        Assert.Equal(88, CapacityCalculator.DatasetEntropy2Hop(e, CapacityScheme.Optimal), 9);
        Assert.Equal(176, CapacityCalculator.DatasetEntropy2Hop(e, CapacityScheme.TwoHopBigHash), 9);
        Assert.Equal(120, CapacityCalculator.DatasetEntropy2Hop(e, CapacityScheme.TwoHopDouble), 9);
        // The averaged form agrees at zero loss.
        Assert.Equal(88 + sn + sd, CapacityCalculator.Averaged(e, 0, 1, CapacityScheme.Optimal, false), 9);
    }

    [Theory]
    [InlineData(SelectionScheme.Optimal)]
    [InlineData(SelectionScheme.Independent)]
    public void Two_point_one_hop_adds_incremental_1hop_to_2hop(SelectionScheme sel)
    {
        var (e, sn, sd) = Setup(sel);
        double[] twoHop = [2, 1, 1, 1, 1, 1];
        var c = CapacityCalculator.TwoPointOneHop(e, L, twoHop, CapacityScheme.Optimal);
        // incremental 1-hop [16, 12, -8, 8, 8, 0] + 2-hop [(3-2)8 + Sd, 8, 0, 0, 8 + Sn/2, 8 + Sn/2].
        double[] expected = [24 + sd, 20, -8, 8, 16 + sn / 2, 8 + sn / 2];
        Assert.Equal(expected, c.PerSubject.ToArray(), new ToleranceComparer(1e-9));
        Assert.Equal(68 + sd + sn, c.Total, 9);
        // Averaged: incremental 1-hop at mean 1 (40) + 2-hop at mean 7/6: (11 - 7) 8 + Sn + Sd.
        Assert.Equal(40 + 32 + sn + sd, CapacityCalculator.TwoPointOneHop(e, [1], [7.0 / 6], CapacityScheme.Optimal).Total, 9);
    }

    [Theory]
    [InlineData(SelectionScheme.Optimal)]
    [InlineData(SelectionScheme.Independent)]
    public void A_missing_subject_is_left_out_of_capacity_and_entropy(SelectionScheme sel)
    {
        var (e, sn, sd) = Setup(sel);
        double nan = double.NaN;
        // 2-hop, university not evaluated: bd (3-2)8 + Sd; city (2-1)8; univ absent; emp 0; parent, child (2-1)8 + Sn/2.
        double[] twoHop = [2, 1, nan, 1, 1, 1];
        var c = CapacityCalculator.Group(e, twoHop, 2, CapacityScheme.Optimal, incremental: false);
        Assert.Equal([8 + sd, 8, nan, 0, 8 + sn / 2, 8 + sn / 2], c.PerSubject.ToArray(), new ToleranceComparer(1e-9));
        Assert.Equal(32 + sd + sn, c.Total, 9);
        // Entropy of the subjects present: (3 + 2 + 1 + 2 + 2) 8 + Sd + Sn = 80 + ... (the full 88 less university's 8).
        Assert.Equal(80 + sd + sn, CapacityCalculator.GroupEntropy(e, twoHop, 2, CapacityScheme.Optimal, incremental: false), 9);

        // 2-hop-double, university missing, employer's loss 5 clamped to its entropy 1, the rest 0 (inverts to 0):
        // bd 3*8 + Sd; city 2*8; emp 0; parent, child 2*2*8 + Sn/2. Entropy adds employer's 1*8.
        double[] twoHopDouble = [0, 0, nan, 5, 0, 0];
        var d = CapacityCalculator.Group(e, twoHopDouble, 2, CapacityScheme.TwoHopDouble, incremental: false);
        Assert.Equal(24 + 16 + 0 + 32 + 32 + sd + sn, d.Total, 9);
        Assert.Equal(24 + 16 + 8 + 32 + 32 + sd + sn, CapacityCalculator.GroupEntropy(e, twoHopDouble, 2, CapacityScheme.TwoHopDouble, false), 9);

        // 2.1: incremental 1-hop over all six [16, 12, -8, 8, 8, 0] + that 2-hop-double part; university keeps its 1-hop -8.
        var t = CapacityCalculator.TwoPointOneHop(e, L, twoHopDouble, CapacityScheme.TwoHopDouble);
        Assert.Equal([40 + sd, 28, -8, 8, 40 + sn / 2, 32 + sn / 2], t.PerSubject.ToArray(), new ToleranceComparer(1e-9));
        Assert.Equal(36 + 104 + sd + sn, t.Total, 9);
        // Its entropy: incremental 1-hop 88 + 2-hop-double 112 + Sd + Sn.
        Assert.Equal(88 + 112 + sd + sn, CapacityCalculator.TwoPointOneHopEntropy(e, L, twoHopDouble, CapacityScheme.TwoHopDouble), 9);
    }

    [Theory]
    [InlineData(SelectionScheme.Optimal)]
    [InlineData(SelectionScheme.Independent)]
    public void Reference_formulas_reproduce_the_reference_numbers(SelectionScheme sel)
    {
        var (e, sn, sd) = Setup(sel);
        double s = sn + sd;
        const CapacityFormulas Ref = CapacityFormulas.Reference;
        // Averaged 2.1 at 1-hop mean 1, 2-hop mean 7/6: the reference's "incremental" 1-hop part keeps its selection
        // terms ((11 - 6) 8 + S = 40 + S), so the sum counts S twice.
        Assert.Equal(72 + s, CapacityCalculator.TwoPointOneHop(e, [1], [7.0 / 6], CapacityScheme.Optimal).Total, 6);
        Assert.Equal(72 + 2 * s, CapacityCalculator.TwoPointOneHop(e, [1], [7.0 / 6], CapacityScheme.Optimal, Ref).Total, 6);
        // Every loss 3 bits (above the mean entropy 11/6): ActorLab's incremental 1-hop part is 0, the reference's S - (18 - 11) 8.
        Assert.Equal(s - 56, CapacityCalculator.TwoPointOneHop(e, [3], [3], CapacityScheme.Optimal).Total, 6);
        Assert.Equal(2 * (s - 56), CapacityCalculator.TwoPointOneHop(e, [3], [3], CapacityScheme.Optimal, Ref).Total, 6);
        // 2.1 entropy: ActorLab 88 (incremental 1-hop) + 88 + S (2-hop); the reference its 1-hop part alone, which
        // the averaged form makes 88 + S and the per-subject form 88.
        Assert.Equal(88 + 88 + s, CapacityCalculator.TwoPointOneHopEntropy(e, [1], [7.0 / 6], CapacityScheme.Optimal), 6);
        Assert.Equal(88 + s, CapacityCalculator.TwoPointOneHopEntropy(e, [1], [7.0 / 6], CapacityScheme.Optimal, Ref), 6);
        Assert.Equal(88, CapacityCalculator.TwoPointOneHopEntropy(e, L, [2, 1, 1, 1, 1, 1], CapacityScheme.Optimal, Ref), 6);
        // `entropy`'s 2-hop: ActorLab incremental 88 / 176 / 120; the reference adds S (its averaged form drops incremental).
        Assert.Equal(88 + s, CapacityCalculator.DatasetEntropy2Hop(e, CapacityScheme.Optimal, Ref), 6);
        Assert.Equal(176 + s, CapacityCalculator.DatasetEntropy2Hop(e, CapacityScheme.TwoHopBigHash, Ref), 6);
        Assert.Equal(120 + s, CapacityCalculator.DatasetEntropy2Hop(e, CapacityScheme.TwoHopDouble, Ref), 6);
        // 1-hop rows do not change.
        Assert.Equal(32 + s, CapacityCalculator.Group(e, L, 1, CapacityScheme.Optimal, false, Ref).Total, 6);

        // Per subject, parent not evaluated at hops 2: R is 2 for ActorLab (child (2-1)8 + Sn/2), 1 relation present
        // for the reference (8 + Sn). Its 2.1 keeps only the 2-hop group's subjects in the 1-hop part:
        // [16, 12, -8, 8, -, 0] = 28 + 2-hop [8 + Sd, 8, 0, 0, -, 8 + Sn] = 52 + S; ActorLab 36 + 24 + Sd + Sn/2.
        double[] twoHop = [2, 1, 1, 1, double.NaN, 1];
        Assert.Equal(8 + sn / 2, CapacityCalculator.PerSubject(e, twoHop, 2, CapacityScheme.Optimal, false).PerSubject[5], 6);
        Assert.Equal(8 + sn, CapacityCalculator.PerSubject(e, twoHop, 2, CapacityScheme.Optimal, false, Ref).PerSubject[5], 6);
        Assert.Equal(60 + sd + sn / 2, CapacityCalculator.TwoPointOneHop(e, L, twoHop, CapacityScheme.Optimal).Total, 6);
        Assert.Equal(52 + s, CapacityCalculator.TwoPointOneHop(e, L, twoHop, CapacityScheme.Optimal, Ref).Total, 6);
        // and its entropy: incremental 1-hop at zero loss without parent, 88 - 2*8.
        Assert.Equal(72, CapacityCalculator.TwoPointOneHopEntropy(e, L, twoHop, CapacityScheme.Optimal, Ref), 6);
    }

    [Fact]
    public void Per_subject_needs_one_loss_per_subject()
    {
        var e = CapacityTestData.Entropy(SelectionScheme.Optimal);
        Assert.Throws<ArgumentException>(() => CapacityCalculator.PerSubject(e, [1, 2, 3], 1, CapacityScheme.Optimal, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => CapacityCalculator.PerSubject(e, L, 3, CapacityScheme.Optimal, false));
    }

    [Fact]
    public void Nats_are_converted_to_bits()
    {
        Assert.Equal(1, CapacityCalculator.NatsToBits(Math.Log(2)), 12);
    }
}
